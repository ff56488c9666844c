"""The rewards function's composition: who may do what (the platform's timer or an admin settles and pays out; a
mini program user reads their own rewards and records subscribe-message accepts), then one call."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from shared.platform import config, db, log
from shared.platform.admin import OPERATE, PAY, READ, require_scope
from shared.platform.calendar import day_bounds, parse_date, shanghai_date
from shared.platform.clock import Clock
from shared.platform.config import EnvReader
from shared.platform.continuation import deadline_for, lease_until, parse_resume_key
from shared.platform.db import aware
from shared.platform.errors import BadInput, NoIdentity, PayoutRefused
from shared.platform.identity import Invoker, invoker_of
from shared.platform.instance import PerInstance, clock
from shared.platform.money import from_fen, to_fen
from shared.platform.validation import check_document, check_field_names, require_id
from shared.rewards.ledger import APPROVED, CLAWBACK, EARNING, PAID, PENDING, RESERVED, fen_of, summary
from shared.rewards.payout_settings import PayoutSettings, read_payout_settings
from shared.rewards.settings import RewardSettings
from shared.rewards.settle import SettlementRun, settle, status_of
from shared.wechat import WeChatSettings, read_wechat_settings

if TYPE_CHECKING:  # loaded with payouts on only (PAYOUT_MODE=wechatpay): not at a manual-mode cold start
    from shared.rewards.payouts import PayoutService

ACTIONS = (
    "settle",
    "settlement",
    "myRewards",
    "myCentre",
    "myOrders",
    "subscribe",
    "markPaid",
    "export",
    "withdraw",
    "payout",
    "payouts",
    "cancelPayout",
    "review",
)
CLIENT_ACTIONS = ("myRewards", "myCentre", "myOrders", "subscribe", "withdraw", "payout", "payouts")
DECISIONS = ("approve", "reject")
# The admin scope each admin action needs (shared/platform/admin.py): money moves only with ``pay``.
SCOPE_OF = {
    "settle": OPERATE,
    "settlement": READ,
    "markPaid": PAY,
    "export": PAY,
    "review": PAY,
    "cancelPayout": PAY,
}
ORDERS_PAGE = 50
RANK_DAYS = 30
MAX_IDS = 1000
SUBSCRIBE_RESULTS = ("accept", "reject", "ban", "filter")
PAYOUT_ID = re.compile(r"SF[0-9]{8}[0-9A-F]{16}")
MAX_CALLBACK_BYTES = 65536


class RewardsConfig(NamedTuple):
    common: config.Settings
    rewards: RewardSettings
    wechat: WeChatSettings | None
    payouts: PayoutSettings = PayoutSettings()


# One typed request per action, parsed once at the edge (``parse_event``): the service reads fields, never the event.
class Settle(NamedTuple):
    by: str  # "timer" | "admin" | "continuation"
    resume_key: str | None = None  # a continuation's single-use key


class SettlementStatus(NamedTuple):
    """An admin reads the settlement's state."""


class MyRewards(NamedTuple):
    openid: str  # the caller, as the platform asserts them


class MyCentre(NamedTuple):
    openid: str


class MyOrders(NamedTuple):
    openid: str
    offset: int = 0


class Subscribe(NamedTuple):
    openid: str
    accepted: tuple[str, ...]  # the template ids the user accepted


class MarkPaid(NamedTuple):
    ids: tuple[str, ...] | None = None  # these approved rewards…
    before: dt.datetime | None = None  # …or every one approved before this instant


class Export(NamedTuple):
    format: str  # "json" | "csv"


class Withdraw(NamedTuple):
    openid: str
    client_ip: str | None  # as the platform saw the caller (getuserriskrank)
    amount_fen: int | None = None  # None: everything available


class PayoutStatus(NamedTuple):
    openid: str
    payout_id: str


class MyPayouts(NamedTuple):
    openid: str
    offset: int = 0


class CancelPayout(NamedTuple):
    payout_id: str


class Review(NamedTuple):
    payout_id: str
    approve: bool
    reason: str | None


class PayoutCallback(NamedTuple):
    """WeChat Pay's MCHTRANSFER.BILL.FINISHED, as CloudBase's HTTP access hands it over."""

    headers: dict[str, str]
    body: str


RewardRequest = (
    Settle
    | SettlementStatus
    | MyRewards
    | MyCentre
    | MyOrders
    | Subscribe
    | MarkPaid
    | Export
    | Withdraw
    | PayoutStatus
    | MyPayouts
    | CancelPayout
    | Review
    | PayoutCallback
)


class RewardCall(NamedTuple):
    request: RewardRequest
    invoker: Invoker
    context: Any = None  # SCF's context: the invocation's time limit and function name, for continuations


def configure(env: Mapping[str, str] | None = None) -> RewardsConfig:
    """Cold start: validate the configuration now, naming any bad variable."""
    common = config.settings()
    rewards = RewardSettings.from_env(env)
    read = EnvReader(env)
    payouts = read_payout_settings(read)
    wechat = read_wechat_settings(read, required=payouts.mode == "wechatpay")  # the bill's appid; the risk check
    read.check("rewards configuration")
    log.set_level(common.log_level)
    if rewards.notice_template and wechat is None:
        log.event(
            "reward_notices_off", reason="REWARD_NOTICE_TEMPLATE is set but WECHAT_APPID/WECHAT_APPSECRET are not"
        )
    return RewardsConfig(common, rewards, wechat, payouts)


def parse_event(event: Any, context: Any, settings: RewardsConfig) -> RewardCall:
    invoker = invoker_of(event, context)
    if invoker.timer:
        return RewardCall(Settle("timer"), invoker, context)
    if not isinstance(event, Mapping):
        raise BadInput("the event must be an object")
    check_document(event)
    if "continueSettlement" in event:  # a continuation this function started: its resume key authenticates it
        check_field_names(event, ("continueSettlement", "resumeKey"))
        if event["continueSettlement"] != settings.rewards.programme:
            raise BadInput("continueSettlement must name this function's programme", field="continueSettlement")
        return RewardCall(Settle("continuation", parse_resume_key(event.get("resumeKey"))), invoker, context)
    check_field_names(
        event,
        (
            "action",
            "adminToken",
            "rewardIds",
            "approvedBefore",
            "format",
            "state",
            "templates",
            "cursor",
            "amountFen",
            "payoutId",
            "decision",
            "reason",
        ),
    )
    action = event.get("action", "myRewards")
    if action not in ACTIONS:
        raise BadInput(f"action must be one of {', '.join(ACTIONS)}", field="action")
    openid = invoker.caller.openid if invoker.caller else None
    if action not in CLIENT_ACTIONS:
        rewards = settings.rewards
        require_scope(
            openid, event.get("adminToken"), rewards.admin_openids, rewards.admin_token_secret, SCOPE_OF[action], action
        )
    if action in CLIENT_ACTIONS and openid is None:
        raise NoIdentity("no caller identity from the platform")
    client_ip = invoker.caller.client_ip if invoker.caller else None
    return RewardCall(_request(action, event, openid or "", client_ip), invoker, context)


def is_http_request(event: Any) -> bool:
    """An event CloudBase's HTTP access made from an HTTP request (its "integrated request")."""
    return isinstance(event, Mapping) and isinstance(event.get("httpMethod"), str) and "headers" in event


def parse_http_event(event: Mapping[str, Any], context: Any) -> RewardCall:
    """The rewards function's one HTTP path: WeChat Pay's transfer callback (a POST; its signature is checked by
    the service, never trusted from here)."""
    if event.get("httpMethod") != "POST":
        raise BadInput("only WeChat Pay's callback (POST) is served over HTTP")
    headers = event.get("headers")
    body = event.get("body")
    if not isinstance(headers, Mapping) or not isinstance(body, str) or len(body) > MAX_CALLBACK_BYTES:
        raise BadInput("a callback has headers and a body of at most 64 KB")
    if event.get("isBase64Encoded") in (True, "true"):
        import base64
        import binascii

        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise BadInput("the callback's body is not base64 of UTF-8 text") from exc
    return RewardCall(
        PayoutCallback({str(k): str(v) for k, v in headers.items()}, body), invoker_of({}, context), context
    )


def callback_answer(response: Mapping[str, Any]) -> dict[str, Any]:
    """The HTTP answer WeChat Pay expects (CloudBase's integrated response): 200 once applied (or not ours); 401
    for a callback that is not WeChat Pay's; 500 when it could not be applied now — WeChat Pay sends it again."""
    if response.get("ok") and response.get("accepted"):
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": ""}
    error = response.get("error") or {}
    status = 401 if response.get("ok") else 500 if error.get("retryable") else 400
    message = "签名验证失败" if status == 401 else "失败"
    body = json.dumps({"code": "FAIL", "message": message}, ensure_ascii=False)
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}


def _payout_id(event: Mapping[str, Any]) -> str:
    value = event.get("payoutId")
    if not isinstance(value, str) or not PAYOUT_ID.fullmatch(value):
        raise BadInput("payoutId must be a payout id a withdrawal answered", field="payoutId")
    return value


def _offset(event: Mapping[str, Any]) -> int:
    cursor = event.get("cursor")
    if cursor is not None and not (isinstance(cursor, str) and cursor.isdigit() and len(cursor) <= 9):
        raise BadInput("cursor must be the cursor a previous page answered", field="cursor")
    return int(cursor or 0)


def _request(action: str, event: Mapping[str, Any], openid: str, client_ip: str | None = None) -> RewardRequest:
    """The action's typed request from its fields (who may call it was decided before)."""
    if action == "withdraw":
        amount = event.get("amountFen")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= 10**9):
            raise BadInput("amountFen must be a whole number of fen", field="amountFen")
        return Withdraw(openid, client_ip, amount)
    if action == "payout":
        return PayoutStatus(openid, _payout_id(event))
    if action == "payouts":
        return MyPayouts(openid, _offset(event))
    if action == "cancelPayout":
        return CancelPayout(_payout_id(event))
    if action == "review":
        decision, reason = event.get("decision"), event.get("reason")
        if decision not in DECISIONS:
            raise BadInput("decision must be approve or reject", field="decision")
        if reason is not None and (not isinstance(reason, str) or not 1 <= len(reason) <= 200):
            raise BadInput("reason must be 1-200 characters", field="reason")
        return Review(_payout_id(event), decision == "approve", reason)
    if action == "settle":
        return Settle("admin")
    if action == "settlement":
        return SettlementStatus()
    if action == "myRewards":
        return MyRewards(openid)
    if action == "myCentre":
        return MyCentre(openid)
    if action == "myOrders":
        return MyOrders(openid, _offset(event))
    if action == "markPaid":
        ids, before = event.get("rewardIds"), event.get("approvedBefore")
        if (ids is None) == (before is None):
            raise BadInput("name rewardIds or approvedBefore (YYYY-MM-DD), not both", field="rewardIds")
        if ids is not None:
            if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS:
                raise BadInput(f"rewardIds must be a list of 1-{MAX_IDS} reward ids", field="rewardIds")
            return MarkPaid(ids=tuple(require_reward_id(value) for value in ids))
        return MarkPaid(before=day_bounds(parse_date(before, "approvedBefore"))[0])
    if action == "export":
        fmt = event.get("format", "json")
        if fmt not in ("json", "csv"):
            raise BadInput("format must be json or csv", field="format")
        return Export(fmt)
    templates = event.get("templates")  # subscribe
    if not isinstance(templates, Mapping) or not templates or len(templates) > 5:
        raise BadInput(
            "templates must be wx.requestSubscribeMessage's result: {templateId: 'accept', …} (at most 5)",
            field="templates",
        )
    accepted = []
    for template, result in templates.items():
        require_id(template, "templates")
        if result not in SUBSCRIBE_RESULTS:
            raise BadInput(f"templates.{template} must be one of {', '.join(SUBSCRIBE_RESULTS)}", field="templates")
        if result == "accept":
            accepted.append(template)
    return Subscribe(openid, tuple(accepted))


def require_reward_id(value: Any) -> str:
    if not isinstance(value, str) or not 3 <= len(value) <= 160 or not value.isascii() or not value.isprintable():
        raise BadInput("each reward id must be a ledger id from an export", field="rewardIds")
    return value


class RewardService:
    def __init__(
        self, store: Any, clock: Clock, settings: RewardsConfig, notify: Any = None, payouts: Any = None
    ) -> None:
        self.store, self.clock, self.settings, self.notify = store, clock, settings, notify
        self.payouts: PayoutService | None = payouts

    def _payout_service(self) -> PayoutService:
        if self.payouts is None:
            raise PayoutRefused("payouts_manual", "payouts are made by the operator (PAYOUT_MODE=manual)")
        return self.payouts

    def execute(self, call: RewardCall) -> dict[str, Any]:
        now, request = self.clock.now(), call.request
        if isinstance(request, Settle):
            # A timer run reconciles the open payouts first (a lost callback waits no longer than this), then settles.
            reconciled = None
            if request.by == "timer" and self.payouts is not None:
                started = time.monotonic()
                halfway = started + (deadline_for(call.context) - started) / 2  # settlement keeps the other half
                reconciled = self.payouts.reconcile(lambda: time.monotonic() > halfway)
            result = settle(
                self.store, self.clock, self.settings.rewards, self._settlement_run(request, call, now), self.notify
            )
            return {**result, "payouts": reconciled} if reconciled is not None else result
        if isinstance(request, Withdraw):
            return self._payout_service().withdraw(request.openid, request.client_ip, request.amount_fen)
        if isinstance(request, PayoutStatus):
            return self._payout_service().status(request.openid, request.payout_id)
        if isinstance(request, MyPayouts):
            return self._payout_service().payouts_of(request.openid, request.offset)
        if isinstance(request, CancelPayout):
            return self._payout_service().cancel(request.payout_id)
        if isinstance(request, Review):
            return self._payout_service().review(request.payout_id, request.approve, request.reason)
        if isinstance(request, PayoutCallback):
            return {"ok": True, "accepted": self._payout_service().callback(request.headers, request.body)}
        if isinstance(request, SettlementStatus):
            return {"ok": True, **status_of(self.store, self.settings.rewards)}
        if isinstance(request, MyRewards):
            code = self.store.inviter_code_of(request.openid)
            every, latest = self.store.rewards_of(code) if code else ([], [])
            scale = self.settings.rewards.amount_scale
            return {"ok": True, "inviterCode": code, **summary(every, scale), "rewards": [_public(r) for r in latest]}
        if isinstance(request, MyCentre):
            return self._centre(request, now)
        if isinstance(request, MyOrders):
            return self._orders(request)
        if isinstance(request, Subscribe):
            template = self.settings.rewards.notice_template
            accepted = [t for t in request.accepted if t == template] if template else []
            self.store.add_accepts(request.openid, accepted, now)
            return {"ok": True, "counted": len(accepted)}
        if isinstance(request, MarkPaid):
            ids = self.store.paid_ids(list(request.ids) if request.ids else None, request.before, MAX_IDS)
            marked = [i for i in ids if self.store.transition(i, PAID, now, "admin", extra={"paidAt": now})]
            return {"ok": True, "marked": len(marked), "rewardIds": marked}
        return self._export(request)

    def _centre(self, request: MyCentre, now: dt.datetime) -> dict[str, Any]:
        """The promoter's centre: exact earnings in fen by state, yesterday's, the live team, and where they rank
        among the programme's promoters over the last 30 days (1 = first)."""
        code = self.store.inviter_code_of(request.openid)
        zero = {
            "earnedFen": 0,
            "pendingFen": 0,
            "availableFen": 0,
            "payingFen": 0,
            "paidFen": 0,
            "yesterdayFen": 0,
            "members": 0,
        }
        if code is None:
            return {"ok": True, **zero, "rank": {"byMembers": None, "byEarned": None}}
        scale = self.settings.rewards.amount_scale
        every, _ = self.store.rewards_of(code, limit=1)
        fen = dict.fromkeys((PENDING, APPROVED, RESERVED, PAID, CLAWBACK), 0)
        for reward in every:
            if reward.get("state") in fen and not reward.get("nettedBy"):  # a netted clawback was paid back
                fen[reward["state"]] += fen_of(reward, scale)
        start, end = day_bounds(shanghai_date(now) - dt.timedelta(days=1))
        yesterday = sum(
            fen_of(r, scale)
            for r in every
            if r.get("state") in EARNING and start <= aware(r.get("createdAt") or start - dt.timedelta(1)) < end
        )
        since = now - dt.timedelta(days=RANK_DAYS)
        return {
            "ok": True,
            "earnedFen": fen[PENDING] + fen[APPROVED] + fen[RESERVED] + fen[PAID],
            "pendingFen": fen[PENDING],
            # Approved, less the clawbacks no payout has netted yet and less what an open payout reserved.
            "availableFen": fen[APPROVED] + fen[CLAWBACK],
            "payingFen": fen[RESERVED],  # in an open payout (waiting for the user, for WeChat Pay or for a review)
            "paidFen": fen[PAID],
            "yesterdayFen": yesterday,
            "members": self.store.live_members(code, now),
            # PAYOUT_MODE=wechatpay: the payout in progress (waiting for the user, for WeChat Pay or for a review).
            **({"openPayout": self.payouts.open_payout(code)} if self.payouts is not None else {}),
            "rank": {
                "byMembers": _rank(self.store.new_members_by_inviter(since), code),
                "byEarned": _rank(self.store.earned_since(since), code),
            },
        }

    def _orders(self, request: MyOrders) -> dict[str, Any]:
        """The promoter's credited orders, newest first: what was bought, for how much, and the reward — no buyer."""
        code = self.store.inviter_code_of(request.openid)
        if code is None:
            return {"ok": True, "orders": [], "cursor": None}
        scale = self.settings.rewards.amount_scale
        page = self.store.credited_orders(code, request.offset, ORDERS_PAGE + 1)
        orders = [
            {
                "placedAt": aware(r["orderAt"]).isoformat(),
                "productId": r.get("productId"),
                "amountFen": to_fen(r.get("orderAmount") or 0, scale),
                "state": r["state"],
                "rewardFen": fen_of(r, scale),
            }
            for r in page[:ORDERS_PAGE]
        ]
        more = len(page) > ORDERS_PAGE
        return {"ok": True, "orders": orders, "cursor": str(request.offset + ORDERS_PAGE) if more else None}

    def _export(self, request: Export) -> dict[str, Any]:
        rows = self.store.export(APPROVED)
        scale = self.settings.rewards.amount_scale
        per_inviter: dict[str, dict[str, Any]] = {}
        for row in rows:
            entry = per_inviter.setdefault(
                row["inviter"], {"inviter": row["inviter"], "amountFen": 0, "rewards": 0, "clawbacks": 0, "flags": []}
            )
            entry["amountFen"] += fen_of(row, scale)  # summed exactly, in whole fen: what a payout transfers
            entry["clawbacks" if fen_of(row, scale) < 0 else "rewards"] += 1
        for entry in per_inviter.values():
            entry["amount"] = from_fen(entry["amountFen"], scale)
        payout = sorted(per_inviter.values(), key=lambda e: -e["amountFen"])
        if request.format == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["inviter", "amount", "amount_fen", "rewards", "clawbacks"])
            for entry in payout:
                writer.writerow(
                    [entry["inviter"], str(entry["amount"]), entry["amountFen"], entry["rewards"], entry["clawbacks"]]
                )
            return {"ok": True, "format": "csv", "csv": out.getvalue(), "rewardIds": [r["_id"] for r in rows]}
        return {
            "ok": True,
            "format": "json",
            "payout": payout,
            "rewards": [_public(r) for r in rows],
            "rewardIds": [r["_id"] for r in rows],
        }

    @staticmethod
    def _settlement_run(request: Settle, call: RewardCall, now: dt.datetime) -> SettlementRun:
        from shared.platform.continuation import ScfInvokeContinuation

        return SettlementRun(
            by=request.by,
            deadline=deadline_for(call.context),
            lease_until=lease_until(now, call.context),
            continuation=ScfInvokeContinuation.from_context(call.context),
            resume_key=request.resume_key,
        )


def _rank(scores: Mapping[str, int], code: str) -> int | None:
    """1 + how many promoters scored more than ``code`` (None: no score in the period)."""
    mine = scores.get(code)
    return None if not mine else 1 + sum(1 for score in scores.values() if score > mine)


def _public(reward: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger entry as a caller may see it: no openids."""
    keep = (
        "_id",
        "orderId",
        "inviter",
        "amount",
        "amountFen",
        "orderAmount",
        "state",
        "reason",
        "orderAt",
        "createdAt",
        "approvedAt",
        "paidAt",
    )
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in reward.items() if k in keep}


_service: PerInstance[RewardService] = PerInstance()


def reward_service(settings: RewardsConfig) -> RewardService:
    def build() -> RewardService:
        from shared.rewards.notices import subscribe_notifier
        from shared.rewards.store import MongoRewardStore

        common = settings.common
        store = MongoRewardStore(
            db.database(common), common.collections, settings.rewards.order_source, db.orders_database(common)
        )
        store.ensure_indexes()
        notify = (
            subscribe_notifier(store, settings, clock())
            if settings.rewards.notice_template and settings.wechat
            else None
        )
        payouts = payout_service(settings, store) if settings.payouts.mode == "wechatpay" else None
        return RewardService(store, clock(), settings, notify, payouts)

    return _service.get(build)


def payout_service(settings: RewardsConfig, store: Any) -> PayoutService:
    """WeChat Pay payouts: the payouts store, the merchant's gateway (built on first use: a cloud:// key is read
    from storage then) and WeChat's risk rank through the app's shared token."""
    from shared.rewards.payout_store import PayoutStore, payout_collection_spec
    from shared.rewards.payouts import PayoutService
    from shared.wechat import client_with_shared_token

    common, merchant, wechat = settings.common, settings.payouts.merchant, settings.wechat
    assert merchant is not None and wechat is not None  # configure() refused wechatpay without them
    database = db.database(common)
    db.provision(database, [payout_collection_spec(common.collections)])
    client = client_with_shared_token(wechat, database, common.collections, clock())
    gateways: list[Any] = []

    def gateway() -> Any:
        if not gateways:
            from shared.wechat import WechatPayV3Gateway

            key = merchant.private_key
            if key.startswith("cloud://"):  # a file in the environment's own storage (cloud://<env>.<bucket>/…)
                from shared.platform.storage import TcbStorage

                env = key[len("cloud://") :].split(".", 1)[0]
                key = TcbStorage(client, env).read(key, 16 * 1024).decode("utf-8")
            gateways.append(
                WechatPayV3Gateway(
                    merchant.mchid,
                    wechat.appid,
                    key,
                    merchant.cert_serial,
                    merchant.apiv3_key,
                    merchant.public_key,
                    merchant.public_key_id,
                    merchant.endpoint,
                    merchant.timeout_s,
                )
            )
        return gateways[0]

    def risk_rank(openid: str, client_ip: str | None) -> int:
        if not client_ip:
            raise PayoutRefused("risk_unavailable", "the platform gave no client IP to ask WeChat's risk rank with")
        return int(client.risk_rank(openid, client_ip))

    return PayoutService(
        PayoutStore(database, common.collections),
        clock(),
        settings.payouts,
        wechat.appid,
        store.inviter_code_of,
        gateway,
        risk_rank,
        settings.rewards.amount_scale,
    )
