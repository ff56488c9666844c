"""recordShare's composition: its settings, its store on the configured database, and the one call the
handler makes (identity from the platform, the event parsed into a typed request, one use case)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.orders import OrderMapping, OrderReads, read_amount_scale, read_order_mapping
from shared.platform import config, db, log
from shared.platform.admin import OPERATE, admin_settings, require_scope
from shared.platform.clock import Clock, SystemClock
from shared.platform.config import EnvReader
from shared.platform.errors import NoIdentity
from shared.platform.identity import Caller, caller_identity
from shared.platform.instance import PerInstance, clock
from shared.sharing.groups import Resolver, wechat_resolver
from shared.sharing.profile import SharerProfile, TextCheck, save_profile
from shared.sharing.relationship import DEFAULT_RULE, RelationshipRule, read_relationship_rule
from shared.sharing.store import MongoShareStore
from shared.sharing.use_cases import (
    BindRequest,
    LandingRequest,
    ShareRequest,
    TeamRequest,
    bind_by_admin,
    my_team,
    parse_request,
    record_landing,
    start_share,
)
from shared.wechat import ENV_APPID, ENV_APPSECRET, WeChatSettings, read_wechat_settings


class ShareCall(NamedTuple):
    caller: Caller | None  # None only for an admin's bind with an admin token (no user calls it)
    request: ShareRequest | LandingRequest | SharerProfile | BindRequest | TeamRequest


class ShareSettings(NamedTuple):
    common: config.Settings
    wechat: WeChatSettings | None  # only for group resolution; None: landings are recorded without a group
    relationships: RelationshipRule = DEFAULT_RULE
    admin_openids: frozenset[str] = frozenset()
    admin_token_secret: str | None = None
    orders: OrderMapping = OrderMapping()  # where the app keeps its orders (a promoter's team's orders)
    amount_scale: int = 1


def configure(env: Mapping[str, str] | None = None) -> ShareSettings:
    """Cold start: validate the configuration now so a bad deployment fails its init, naming the variable."""
    common = config.settings()
    read = EnvReader(env)
    wechat = read_wechat_settings(read, required=False)
    relationships = read_relationship_rule(read)
    admins, secret = admin_settings(read)
    orders, scale = read_order_mapping(read), read_amount_scale(read)
    read.check("recordShare configuration")
    log.set_level(common.log_level)
    if wechat is None:
        log.event(
            "group_resolution_off", reason=f"{ENV_APPID}/{ENV_APPSECRET} not set: landings are recorded without a group"
        )
    return ShareSettings(common, wechat, relationships, admins, secret, orders, scale)


def parse_event(event: Any, context: Any, settings: ShareSettings) -> ShareCall:
    request = parse_request(event, settings.common.default_share_page)
    if not isinstance(request, BindRequest):
        return ShareCall(caller_identity(event, context), request)
    try:
        caller: Caller | None = caller_identity(event, context)
    except NoIdentity:
        caller = None  # an ops call: its admin token decides
    openid = caller.openid if caller else None
    require_scope(
        openid, request.admin_token, settings.admin_openids, settings.admin_token_secret, OPERATE, "a relationship"
    )
    return ShareCall(caller, request)


class ShareService:
    def __init__(
        self,
        store: MongoShareStore,
        clock: Clock,
        config: config.Settings,
        resolver: Resolver | None = None,
        text_check: TextCheck | None = None,
        relationships: RelationshipRule = DEFAULT_RULE,
        orders: OrderReads | None = None,
        amount_scale: int = 1,
    ) -> None:
        self.relationships, self.orders, self.amount_scale = relationships, orders, amount_scale
        self.store = store
        self.clock = clock
        self.config = config
        self.resolver = resolver
        self.text_check = text_check

    def execute(self, call: ShareCall) -> dict[str, Any]:
        if isinstance(call.request, BindRequest):  # parse_event let only an admin through
            return bind_by_admin(self.store, self.clock, self.relationships, call.request)
        if call.caller is None:
            raise NoIdentity("no caller identity from the platform")
        if isinstance(call.request, TeamRequest):
            return my_team(
                self.store, self.orders, self.clock, self.relationships, call.caller, call.request, self.amount_scale
            )
        if isinstance(call.request, SharerProfile):
            return save_profile(self.store, self.clock, call.caller, call.request, self.text_check)
        if isinstance(call.request, ShareRequest):
            return start_share(
                self.store, self.clock, call.caller, call.request, self.config.inviter_code_length
            ).to_response()
        return record_landing(
            self.store, self.clock, call.caller, call.request, self.resolver, self.relationships
        ).to_response()


# Group resolution's time budget: recordShare runs 5 s, so one attempt of at most 0.5 s connect + 1 s read per
# WeChat request (a shared token usually makes it one request); a failure costs the group, never the landing.
GROUP_TIMEOUT = (0.5, 1.0)
GROUP_ATTEMPTS = 1

# One service per configuration (a handler module's SETTINGS), so tests and the demo can run handlers configured
# differently side by side; a deployed instance has exactly one.
_services: dict[ShareSettings | None, PerInstance[ShareService]] = {}


def lazy_group_resolver(wechat: WeChatSettings, database: Any, collections: config.Collections) -> Resolver:
    """Resolves through the WeChat client, which (with ``requests``) is imported on the first cloudID only; the
    resolver is built once per service (a new service, after a clock swap or reset, builds a new one)."""
    built: list = []

    def resolve(cloud_id: str, openid: str) -> Any:
        if not built:
            from shared.wechat import client_with_shared_token

            client = client_with_shared_token(
                wechat, database, collections, clock(), attempts=GROUP_ATTEMPTS, timeout=GROUP_TIMEOUT
            )
            # The watermark is checked against wall time (a cloudID lives 5 real minutes), not the business clock.
            built.append(wechat_resolver(wechat.appid, client.open_data, SystemClock().now))
        return built[0](cloud_id, openid)

    return resolve


def lazy_text_check(wechat: WeChatSettings, database: Any, collections: config.Collections) -> TextCheck:
    """WeChat's content check for nicknames, through a client built on the first profile (as groups' is)."""
    built: list = []

    def check(openid: str, text: str) -> str:
        if not built:
            from shared.wechat import client_with_shared_token

            built.append(
                client_with_shared_token(
                    wechat, database, collections, clock(), attempts=GROUP_ATTEMPTS, timeout=GROUP_TIMEOUT
                )
            )
        verdict: str = built[0].check_text(openid, text)
        return verdict

    return check


def share_service(settings: ShareSettings | None = None) -> ShareService:
    def build() -> ShareService:
        common = config.settings()
        database = db.database(common)
        wechat = settings.wechat if settings else None
        resolver = lazy_group_resolver(wechat, database, common.collections) if wechat else None
        text_check = lazy_text_check(wechat, database, common.collections) if wechat else None
        rule = settings.relationships if settings else DEFAULT_RULE
        store = MongoShareStore(database, common.collections)
        orders = OrderReads(db.orders_database(common), settings.orders) if settings else None
        scale = settings.amount_scale if settings else 1
        return ShareService(store, clock(), common, resolver, text_check, rule, orders, scale)

    holder = _services.get(settings)
    if holder is None:
        holder = _services.setdefault(settings, PerInstance())
    return holder.get(build)
