"""recordShare's use cases: hand a sharer their link, and record an invitee's landing once.

Requests are parsed into typed values before anything touches the store, so a bad request
writes nothing. The rules themselves live in ``shared.attribution``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.platform import log
from shared.platform.clock import Clock
from shared.platform.errors import BadInput, BadScene, NotFound, ShareFunnelError, UnknownInviter
from shared.platform.identity import Caller
from shared.platform.validation import (
    check_document,
    check_field_names,
    optional_int,
    require_id,
    require_page,
    require_product_id,
    required,
)
from shared.sharing.attribution import (
    LANDING_KEY,
    attributed_inviter,
    entry_for,
    is_self_invite,
    landing_is_first_sighting,
)
from shared.sharing.groups import Group, Resolver, optional_chat_type, require_cloud_id, resolve_group
from shared.sharing.ids import new_inviter_code, new_scene_token
from shared.sharing.links import claim_from_query, share_path, share_query
from shared.sharing.ports import ShareStore
from shared.sharing.profile import SharerProfile, parse_profile_request
from shared.sharing.relationship import (
    ADMIN,
    BOUND,
    DEFAULT_RULE,
    KEPT,
    RelationshipRule,
    as_aware,
    decide,
    in_downline,
    is_live,
    new_binding,
)
from shared.sharing.scene import (
    INVITER_CODE,
    Decoded,
    SceneToken,
    SceneTooLong,
    ShareClaim,
    encode_scene,
    encode_token_scene,
    require_channel,
)

ACTIONS = ("land", "share", "profile", "bind", "myTeam")
TEAM_PAGE = 50
BIND_FIELDS = ("action", "openid", "inviterCode", "adminToken")
SHARE_FIELDS = ("action", "productId", "channel", "page")
LAND_FIELDS = ("action", "query", "page", "launchScene", "groupCloudID", "chatType")
_CODE_ATTEMPTS_PER_LENGTH = 4


class ShareRequest(NamedTuple):
    product_id: str
    channel: str
    page: str


class LandingRequest(NamedTuple):
    claim: Decoded | None
    page: str | None
    launch_scene: int | None
    group_cloud_id: str | None = None
    chat_type: int | None = None  # the client's word: logged, never stored


class TeamRequest(NamedTuple):
    """A promoter's own team (the caller is the inviter), a page from ``offset``."""

    offset: int = 0


class BindRequest(NamedTuple):
    """An admin sets, moves (``inviter_code``) or clears (None) a user's relationship; the result is locked."""

    openid: str
    inviter_code: str | None
    admin_token: str | None


def parse_request(
    event: Any, default_page: str
) -> ShareRequest | LandingRequest | SharerProfile | BindRequest | TeamRequest:
    """The recordShare event as a typed request; ``BadInput`` for anything malformed."""
    if not isinstance(event, Mapping):
        raise BadInput("the event must be an object")
    check_document(event)
    action = event.get("action", "land")
    if action not in ACTIONS:
        raise BadInput(f"action must be one of {', '.join(ACTIONS)}", field="action")
    if action == "profile":
        return parse_profile_request(event)
    if action == "myTeam":
        check_field_names(event, ("action", "cursor"))
        cursor = event.get("cursor")
        if cursor is not None and not (isinstance(cursor, str) and cursor.isdigit() and len(cursor) <= 9):
            raise BadInput("cursor must be the cursor a previous page answered", field="cursor")
        return TeamRequest(int(cursor or 0))
    if action == "bind":
        check_field_names(event, BIND_FIELDS)
        openid = require_id(required(event, "openid"), "openid")
        code = event.get("inviterCode")
        if code is not None and not (isinstance(code, str) and INVITER_CODE.fullmatch(code)):
            raise BadInput("inviterCode must be an inviter code (6-8 base62 characters) or null", field="inviterCode")
        token = event.get("adminToken")
        return BindRequest(openid, code, token if isinstance(token, str) else None)
    if action == "share":
        check_field_names(event, SHARE_FIELDS)
        product_id = require_product_id(required(event, "productId"))
        channel = require_channel(event.get("channel", "chat"))
        page = event.get("page")
        return ShareRequest(
            product_id=product_id,
            channel=channel,
            page=default_page if page is None else require_page(page),
        )
    check_field_names(event, LAND_FIELDS)
    query = event.get("query")
    if query is None:
        query = {}
    if not isinstance(query, Mapping):
        raise BadInput("query must be the page's onLoad options object", field="query")
    page = event.get("page")
    return LandingRequest(
        claim=claim_from_query(query),
        page=None if page is None else require_page(page),
        launch_scene=optional_int(event.get("launchScene"), "launchScene", 1000, 99999),
        group_cloud_id=require_cloud_id(event.get("groupCloudID")),
        chat_type=optional_chat_type(event.get("chatType")),
    )


class ShareResult(NamedTuple):
    inviter_code: str
    product_id: str
    channel: str
    path: str
    query: str

    def to_response(self) -> dict[str, Any]:
        return {
            "ok": True,
            "inviterCode": self.inviter_code,
            "productId": self.product_id,
            "channel": self.channel,
            "path": self.path,
            "query": self.query,
        }


class LandingResult(NamedTuple):
    recorded: bool
    duplicate: bool
    new_user: bool
    attributed_to: str | None
    channel: str | None
    entry: str
    reason: str | None = None
    product_id: str | None = None  # the claim's product (a scanned token scene tells the page which one)
    group: Group | None = None
    relationship: str | None = None  # bound / rebound / taken / kept, or why not (not_new, protected, locked, loop)

    def to_response(self) -> dict[str, Any]:
        response: dict[str, Any] = {
            "ok": True,
            "recorded": self.recorded,
            "duplicate": self.duplicate,
            "newUser": self.new_user,
            "attributedTo": self.attributed_to,
            "channel": self.channel,
            "entry": self.entry,
        }
        if self.product_id is not None:
            response["productId"] = self.product_id
            response["group"] = self.group.response() if self.group else None
        if self.reason:
            response["reason"] = self.reason
        if self.relationship is not None:
            response["relationship"] = self.relationship
        return response


def ensure_inviter_code(store: ShareStore, openid: str, clock: Clock, length: int) -> str:
    """The user's inviter code, created on first use. Collision-safe: a taken code is retried, and
    after a few collisions the code grows a character (up to 8)."""
    existing = store.inviter_code_of(openid)
    if existing:
        return existing
    for size in range(length, 9):
        for _ in range(_CODE_ATTEMPTS_PER_LENGTH):
            code = store.assign_inviter_code(openid, new_inviter_code(size), clock.now())
            if code is not None:
                return code
    raise ShareFunnelError("could not allocate a unique inviter code")


def share_intent(
    code: str, openid: str, product_id: str, channel: str | None, page: str, at: Any, source: str | None = None
) -> dict[str, Any]:
    """A share intent as stored: the sharer's code, and their openid so the funnel can tell which invitees went on
    to share without looking codes up (the viral loop)."""
    return {
        "sharer": code,
        "sharerOpenid": openid,
        "productId": product_id,
        "channel": channel,
        "page": page,
        "at": at,
        **({"source": source} if source else {}),
    }


def start_share(
    store: ShareStore, clock: Clock, caller: Caller, request: ShareRequest, code_length: int
) -> ShareResult:
    code = ensure_inviter_code(store, caller.openid, clock, code_length)
    store.add_share_intent(
        share_intent(code, caller.openid, request.product_id, request.channel, request.page, clock.now())
    )
    log.event("share_intent", sharer=code, productId=request.product_id, channel=request.channel)
    return ShareResult(
        inviter_code=code,
        product_id=request.product_id,
        channel=request.channel,
        path=share_path(request.page, request.product_id, code, request.channel),
        query=share_query(request.product_id, code, request.channel),
    )


def resolve_claim(store: ShareStore, claim: Decoded | None) -> ShareClaim | None:
    if isinstance(claim, SceneToken):
        resolved = store.resolve_scene_token(claim.token)
        if resolved is None:
            raise BadScene("unknown_token")
        return resolved
    return claim


def record_landing(
    store: ShareStore,
    clock: Clock,
    caller: Caller,
    request: LandingRequest,
    resolver: Resolver | None = None,
    rule: RelationshipRule = DEFAULT_RULE,
) -> LandingResult:
    entry = entry_for(request.launch_scene)
    claim = resolve_claim(store, request.claim)
    if claim is None:
        # Organic open: remember the user as seen so a later invite does not count them as new.
        before = store.register_user(caller.openid, clock.now(), binding=None)
        return LandingResult(
            recorded=False,
            duplicate=False,
            new_user=before is None,
            attributed_to=attributed_inviter(before, None),
            channel=None,
            entry=entry,
            reason="no_inviter",
        )

    inviter_openid = store.inviter_openid(claim.inviter)
    if inviter_openid is None:
        raise UnknownInviter(f"no sharer has the inviter code {claim.inviter!r}")
    if is_self_invite(inviter_openid, caller.openid):
        before = store.register_user(caller.openid, clock.now(), binding=None)
        return LandingResult(
            recorded=False,
            duplicate=False,
            new_user=False,
            attributed_to=attributed_inviter(before, None),
            channel=claim.channel,
            entry=entry,
            reason="self_invite",
            product_id=claim.product_id,
        )

    # The group is read before any write, so the one landing insert carries it (the first landing's group is the
    # one kept: a later landing for the same key, from whatever group, is a duplicate and changes nothing).
    group = resolve_group(resolver, request.group_cloud_id, caller.openid)
    now = clock.now()
    record = {
        "inviter": claim.inviter,
        "invitee": caller.openid,
        "productId": claim.product_id,
        "channel": claim.channel,
        "entry": entry,
        "launchScene": request.launch_scene,
        "page": request.page,
        "form": claim.form,
        "enteredAt": now,
        # The common case, written with the user in one request; corrected below when the user was seen before.
        "newUser": True,
        **({"group": group.record()} if group else {}),
    }
    binding = new_binding(rule, claim.inviter, claim.product_id, claim.channel, now)
    before, recorded = store.record_landing(caller.openid, now, binding, record)
    relationship = BOUND if before is None else _relationship(store, rule, caller.openid, before, claim, now)
    first_sighting = landing_is_first_sighting(before, claim)
    if not first_sighting:
        # Also on a duplicate: a retry after a failed correction completes it (the update is conditional).
        store.mark_not_new({field: record[field] for field in LANDING_KEY})
    result = LandingResult(
        recorded=recorded,
        duplicate=not recorded,
        new_user=recorded and first_sighting,
        attributed_to=attributed_inviter(before, claim),
        channel=claim.channel,
        entry=entry,
        reason=None if recorded else "duplicate",
        product_id=claim.product_id,
        group=group,
        relationship=relationship,
    )
    log.event(
        "landing",
        inviter=claim.inviter,
        invitee=log.redact(caller.openid),
        productId=claim.product_id,
        channel=claim.channel,
        entry=entry,
        recorded=recorded,
        newUser=result.new_user,
        form=claim.form,
        group=group.alias if group else None,
        clientChatType=request.chat_type,
        relationship=relationship,
    )
    return result


def _relationship(
    store: ShareStore, rule: RelationshipRule, openid: str, before: Mapping[str, Any], claim: ShareClaim, now: Any
) -> str:
    """What this landing does to an existing user's relationship (shared/sharing/relationship.py decides)."""
    user = {**before, "_id": openid}
    decision = decide(rule, user, claim.inviter, claim.product_id, claim.channel, now, store.upline_of)
    if decision.binding is None:
        return decision.outcome
    if not store.change_relationship(user, decision.binding, {"kind": decision.outcome, "by": "landing"}, now):
        return KEPT  # another landing changed it first: this one is a touch
    return decision.outcome


def scene_for(store: ShareStore, clock: Clock, claim: ShareClaim) -> str:
    """The scene for a Mini Program Code: inline when it fits in 32 characters, else a stored token."""
    try:
        return encode_scene(claim.inviter, claim.product_id, claim.channel)
    except SceneTooLong:
        pass
    for _ in range(_CODE_ATTEMPTS_PER_LENGTH):
        token = store.scene_token_for(claim, new_scene_token(), clock.now())
        if token is not None:
            return encode_token_scene(token)
    raise ShareFunnelError("could not allocate a unique scene token")


def bind_by_admin(store: ShareStore, clock: Clock, rule: RelationshipRule, request: BindRequest) -> dict[str, Any]:
    """Set, move or clear a user's relationship as an admin: locked (no landing moves it, it never expires), kept in
    the history as ``admin``. Never to the user themselves or into their own downline."""
    user = store.user(request.openid)
    if user is None:
        raise NotFound("no such user (they have not opened the mini program)")
    binding: dict[str, Any] | None = None
    if request.inviter_code is not None:
        inviter_openid = store.inviter_openid(request.inviter_code)
        if inviter_openid is None:
            raise UnknownInviter(f"no sharer has the inviter code {request.inviter_code!r}")
        if is_self_invite(inviter_openid, request.openid) or in_downline(
            user.get("code"), request.inviter_code, store.upline_of
        ):
            raise BadInput("that inviter is the user or in their own downline", field="inviterCode")
        now = clock.now()
        binding = {**new_binding(rule, request.inviter_code, "", None, now), "expiresAt": None, "locked": True}
    now = clock.now()
    for _ in range(3):  # a landing may change the relationship between the read and the write: read it again
        if store.change_relationship(user, binding, {"kind": ADMIN, "by": "admin"}, now):
            log.event("relationship_set_by_admin", user=log.redact(request.openid), inviter=request.inviter_code)
            return {"ok": True, "inviterCode": request.inviter_code, "locked": binding is not None}
        user = store.user(request.openid) or user
    raise ShareFunnelError("the relationship kept changing; try again")


def my_team(
    store: ShareStore,
    orders: Any,
    clock: Clock,
    rule: RelationshipRule,
    caller: Caller,
    request: TeamRequest,
    amount_scale: int = 1,
) -> dict[str, Any]:
    """The promoter's centre's team: the people the caller brought, newest relationship first, with their credited
    orders during it — never an openid."""
    code = store.inviter_code_of(caller.openid)
    if code is None:
        return {"ok": True, "total": 0, "members": [], "cursor": None}
    now = clock.now()
    members = sorted(store.team_of(code), key=lambda m: (_aware_or_epoch(m["period"][0]), m["_id"]), reverse=True)
    page = members[request.offset : request.offset + TEAM_PAGE]
    spent = _orders_in_periods(orders, page, now, amount_scale)
    answer = []
    for member in page:
        began, left = (as_aware(t) for t in member["period"])
        binding = member.get("binding") or {}
        locked = bool(binding.get("locked")) and not member["taken"] and left is None
        expires = None if locked else as_aware(binding.get("expiresAt")) if left is None else left
        status = "taken" if member["taken"] else "active" if left is None and is_live(binding, now) else "expired"
        protected = None if locked or began is None else rule.protected_until(began)
        entry: dict[str, Any] = {
            "code": member.get("code"),
            "boundAt": began.isoformat() if began else None,
            "expiresAt": expires.isoformat() if expires else None,
            "protectedUntil": protected.isoformat() if protected else None,
            "status": status,
            **spent.get(member["_id"], {"orders": 0, "amountFen": 0}),
        }
        for field in ("nickname", "avatarFileID"):
            if member.get(field):
                entry[field] = member[field]
        answer.append(entry)
    following = request.offset + TEAM_PAGE
    return {
        "ok": True,
        "total": len(members),
        "members": answer,
        "cursor": str(following) if following < len(members) else None,
    }


def _aware_or_epoch(value: Any) -> dt.datetime:
    return as_aware(value) or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _orders_in_periods(orders: Any, members: list[dict[str, Any]], now: Any, amount_scale: int) -> dict[str, Any]:
    """Each member's paid orders during their relationship with the caller: count and exact amount in fen."""
    from shared.platform.money import to_fen

    spans = {}
    for member in members:
        began = as_aware(member["period"][0])
        if began is not None:
            spans[member["_id"]] = (began, as_aware(member["period"][1]) or now)
    if not spans or orders is None:
        return {}
    earliest = min(start for start, _ in spans.values())
    totals: dict[str, Any] = {}
    for order in orders.orders_of(list(spans), earliest, now):
        start, end = spans[order.user]
        if start <= order.at < end or (order.at == end == now):
            entry = totals.setdefault(order.user, {"orders": 0, "amountFen": 0})
            entry["orders"] += 1
            entry["amountFen"] += to_fen(order.amount, amount_scale)
    return totals
