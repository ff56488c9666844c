"""Paying inviters into WeChat 零钱 (PAYOUT_MODE=wechatpay): withdrawals, WeChat Pay's 商家转账 with the user's
confirmation, risk holds, callbacks and reconciliation. The rules live here, once.

A payout's life (``state``):

* ``reserving`` — recorded; its rewards are being reserved (a payout left here by a dead instance is cancelled by the
  next reconciliation and its rewards released);
* ``held`` — waiting for an admin's review: WeChat's ``getuserriskrank`` said rank ≥ RISK_HOLD_RANK, could not be
  asked, or the amount is above PAYOUT_REVIEW_ABOVE_FEN;
* ``sending`` — its bill is being created (or WeChat Pay answered ACCEPTED / PROCESSING, or did not answer: the same
  bill number is queried and re-sent, never a new one);
* ``waiting`` — WAIT_USER_CONFIRM: the user opens ``wx.requestMerchantTransfer`` with the ``package``;
* ``transferring`` — the user confirmed (TRANSFERING); ``canceling`` — an admin or the 24 h rule asked to cancel;
* ``paid`` (SUCCESS: its rewards become ``paid``), ``failed`` (FAIL, also WeChat's 24 h close), ``cancelled``
  (CANCELLED), ``rejected`` (an admin's review): the last three give the rewards back (``approved``) with the reason.

The bill number (``out_bill_no``) is the payout's id: one payout, one bill, whatever is retried. A new bill is only
ever a new payout, possible once the first one is definitely closed (its ``open`` key is released only then).
Every callback is verified by wechatpayv3 and then the bill is re-read from WeChat Pay: what is applied is always WeChat
Pay's own answer, applied by conditional updates that never move a payout backwards, so a replayed or out-of-order
callback changes nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from shared.platform import log
from shared.platform.calendar import shanghai_date
from shared.platform.clock import Clock
from shared.platform.db import aware
from shared.platform.errors import (
    Conflict,
    NotFound,
    PayoutRefused,
    PayRefused,
    PayUnavailable,
    ShareFunnelError,
    WeChatError,
)
from shared.rewards.ledger import fen_of
from shared.rewards.payout_settings import PayoutSettings
from shared.rewards.payout_store import PayoutStore
from shared.wechat import Bill, PayGateway, Transfer

RESERVING, HELD, SENDING, WAITING, TRANSFERRING, CANCELING = (
    "reserving",
    "held",
    "sending",
    "waiting",
    "transferring",
    "canceling",
)
PAID, FAILED, CANCELLED, REJECTED = "paid", "failed", "cancelled", "rejected"
OPEN = (RESERVING, HELD, SENDING, WAITING, TRANSFERRING, CANCELING)
UNPAID_ENDS = (FAILED, CANCELLED, REJECTED)
ENDS = (PAID, *UNPAID_ENDS)
# WeChat Pay's bill state → ours; and from which of ours each may be reached (never backwards).
BY_BILL = {
    "ACCEPTED": SENDING,
    "PROCESSING": SENDING,
    "WAIT_USER_CONFIRM": WAITING,
    "TRANSFERING": TRANSFERRING,
    "CANCELING": CANCELING,
    "SUCCESS": PAID,
    "FAIL": FAILED,
    "CANCELLED": CANCELLED,
}
REACHED_FROM = {
    SENDING: (SENDING,),
    WAITING: (SENDING,),
    TRANSFERRING: (SENDING, WAITING),
    CANCELING: (SENDING, WAITING),
    PAID: (SENDING, WAITING, TRANSFERRING, CANCELING),
    FAILED: (SENDING, WAITING, TRANSFERRING, CANCELING),
    CANCELLED: (SENDING, WAITING, TRANSFERRING, CANCELING),
}
# WeChat Pay's refusals of a create that mean "no bill, and this request will never make one".
DEFINITE_REFUSALS = ("PARAM_ERROR", "INVALID_REQUEST", "NO_AUTH", "NOT_FOUND", "SIGN_ERROR", "INVALID_APPID")
RESERVING_GRACE = dt.timedelta(minutes=2)  # a payout still reserving after this was left by a dead instance
CONFIRM_WINDOW = dt.timedelta(hours=24)  # WeChat Pay closes an unconfirmed bill after this (sometimes later)
CHECK_AFTER = dt.timedelta(seconds=30)  # reconciliation leaves a payout alone this long after its last change
NOT_CREATED_AFTER = dt.timedelta(days=1)  # a bill WeChat Pay still does not know after this was never made
PAGE = 20
RECONCILE_BATCH = 100


class Plan(NamedTuple):
    """What a withdrawal would pay: these approved rewards, net of these clawbacks, in whole fen."""

    reward_ids: tuple[str, ...]
    clawback_ids: tuple[str, ...]
    net_fen: int
    available_fen: int


def plan_payout(
    rewards: Sequence[Mapping[str, Any]],
    clawbacks: Sequence[Mapping[str, Any]],
    requested_fen: int | None,
    settings: PayoutSettings,
    amount_scale: int = 1,
) -> Plan:
    """Every open clawback is netted; approved rewards are taken oldest first while the net stays within what was asked
    (everything by default) and PAYOUT_MAX_FEN. Rewards are whole entries: the net may be below the request."""
    owed = sum(fen_of(c, amount_scale) for c in clawbacks)  # negative
    available = owed + sum(fen_of(r, amount_scale) for r in rewards)
    ceiling = min(settings.max_fen, requested_fen if requested_fen is not None else settings.max_fen)
    taken, net = [], owed
    for reward in rewards:
        fen = fen_of(reward, amount_scale)
        if net + fen <= ceiling:
            taken.append(str(reward["_id"]))
            net += fen
    return Plan(tuple(taken), tuple(str(c["_id"]) for c in clawbacks), net, available)


def new_payout_id(now: dt.datetime) -> str:
    """Also the bill's ``out_bill_no``: digits and letters, at most 32 (WeChat Pay's rule)."""
    return f"SF{shanghai_date(now).strftime('%Y%m%d')}{secrets.token_hex(8).upper()}"


def public_payout(payout: Mapping[str, Any], mchid: str | None, appid: str | None) -> dict[str, Any]:
    """A payout as its inviter (or an admin) may see it: no openid. While WeChat Pay waits for the user, what
    ``wx.requestMerchantTransfer`` needs."""
    answer: dict[str, Any] = {
        "payoutId": payout["_id"],
        "state": payout["state"],
        "amountFen": payout.get("amountFen", 0),
        "createdAt": aware(payout["createdAt"]).isoformat(),
        "updatedAt": aware(payout["updatedAt"]).isoformat(),
    }
    for field in ("reason", "hold"):
        if payout.get(field):
            answer[field] = payout[field]
    package = (payout.get("bill") or {}).get("packageInfo")
    if payout["state"] == WAITING and package:
        answer.update(mchId=mchid, appId=appid, package=package)
    return answer


class PayoutService:
    def __init__(
        self,
        store: PayoutStore,
        clock: Clock,
        settings: PayoutSettings,
        appid: str | None,
        inviter_code_of: Callable[[str], str | None],
        gateway: Callable[[], PayGateway],
        risk_rank: Callable[[str, str | None], int],
        amount_scale: int = 1,
    ) -> None:
        self.store, self.clock, self.settings, self.appid = store, clock, settings, appid
        self._code_of, self._gateway, self._risk_rank = inviter_code_of, gateway, risk_rank
        self.amount_scale = amount_scale

    @property
    def mchid(self) -> str | None:
        return self.settings.merchant.mchid if self.settings.merchant else None

    def view(self, payout: Mapping[str, Any]) -> dict[str, Any]:
        return public_payout(payout, self.mchid, self.appid)

    # --- the inviter's side ----------------------------------------------------------------------------------
    def withdraw(self, openid: str, client_ip: str | None, requested_fen: int | None) -> dict[str, Any]:
        if self.settings.mode != "wechatpay":
            raise PayoutRefused("payouts_manual", "payouts are made by the operator (PAYOUT_MODE=manual)")
        code = self._code_of(openid)
        if code is None:
            raise PayoutRefused("nothing_available", "nothing to withdraw yet", availableFen=0)
        current = self.store.open_of(code)
        if current is not None:
            return {"ok": True, "existing": True, **self.view(current)}
        now = self.clock.now()
        rewards, clawbacks = self.store.payable(code)
        plan = plan_payout(rewards, clawbacks, requested_fen, self.settings, self.amount_scale)
        if plan.net_fen < self.settings.min_fen:
            current = self.store.open_of(code)
            if current is not None:  # a concurrent withdrawal reserved them meanwhile: that is the payout
                return {"ok": True, "existing": True, **self.view(current)}
            raise PayoutRefused(
                "below_minimum",
                f"at least {self.settings.min_fen} fen can be withdrawn; {max(plan.available_fen, 0)} available",
                availableFen=max(plan.available_fen, 0),
                minFen=self.settings.min_fen,
            )
        payout = self._record(code, openid, now)
        if payout is None:
            current = self.store.open_of(code)
            if current is not None:  # a concurrent withdrawal made it: one payout
                return {"ok": True, "existing": True, **self.view(current)}
            raise PayoutRefused(
                "daily_limit",
                f"at most {self.settings.daily_limit} withdrawal(s) a day",
                limit=self.settings.daily_limit,
            )
        self.store.reserve(payout["_id"], code, list(plan.reward_ids), list(plan.clawback_ids), now)
        carried = self.store.carried(payout["_id"])
        net = sum(fen_of(entry, self.amount_scale) for entry in carried)
        if net < self.settings.min_fen or net > self.settings.max_fen:  # another call took some rewards meanwhile
            self._end_unpaid(payout, RESERVING, CANCELLED, "available_changed")
            raise PayoutRefused("below_minimum", "what is available changed meanwhile; try again", availableFen=0)
        hold = self._hold(openid, client_ip, net)
        fields = {"amountFen": net, "rewards": sum(1 for e in carried if e.get("state") != "clawback")}
        if hold is not None:
            self.store.move(payout["_id"], (RESERVING,), HELD, now, {**fields, "hold": hold}, note={"hold": hold})
            log.event("payout_held", payout=payout["_id"], reason=hold["reason"], amount_fen=net)
        else:
            self.store.move(payout["_id"], (RESERVING,), SENDING, now, fields)
            self._send(payout["_id"])
        return {"ok": True, "existing": False, **self.view(self._get(payout["_id"]))}

    def _record(self, code: str, openid: str, now: dt.datetime) -> dict[str, Any] | None:
        """The payout document in one of the day's slots (None: the day's slots are taken, or a payout is open)."""
        day = shanghai_date(now).isoformat()
        # Every slot is tried: one freed by a payout that ended unpaid may sit below one that is taken.
        for n in range(self.settings.daily_limit):
            payout = {
                "_id": new_payout_id(now),
                "inviter": code,
                "openid": openid,  # the receiver: stored for the transfer, never answered or logged
                "state": RESERVING,
                "open": code,
                "slot": f"{code}|{day}|{n}",
                "day": day,
                "amountFen": 0,
                "ledger": "pending",
                "createdAt": now,
                "updatedAt": now,
                "history": [{"state": RESERVING, "at": now}],
            }
            if self.store.insert(payout):
                return payout
            if self.store.open_of(code) is not None:
                return None
        return None

    def _hold(self, openid: str, client_ip: str | None, net_fen: int) -> dict[str, Any] | None:
        if self.settings.review_above_fen and net_fen > self.settings.review_above_fen:
            return {"reason": "amount_review"}
        try:
            rank = self._risk_rank(openid, client_ip)
        except (WeChatError, ShareFunnelError) as exc:
            log.event("payout_risk_unavailable", code=exc.code)
            return {"reason": "risk_unavailable"}  # not known: held rather than paid
        if rank >= self.settings.risk_hold_rank:
            return {"reason": "risk_rank", "riskRank": rank}
        return None

    def open_payout(self, code: str) -> dict[str, Any] | None:
        """The inviter's open payout as they may see it (the promoter's centre shows it), or None."""
        current = self.store.open_of(code)
        return self.view(current) if current is not None else None

    def status(self, openid: str, payout_id: str) -> dict[str, Any]:
        payout = self.store.get(payout_id)
        if payout is None or payout.get("openid") != openid:
            raise NotFound("no such payout of yours")
        if payout["state"] in (SENDING, WAITING, TRANSFERRING, CANCELING):
            try:
                payout = self._check(payout)
            except PayUnavailable as exc:  # WeChat Pay is away: what we know, said to be possibly behind
                log.event("payout_check_failed", payout=payout_id, code=exc.code)
                return {"ok": True, "stale": True, **self.view(payout)}
        return {"ok": True, **self.view(payout)}

    def payouts_of(self, openid: str, offset: int) -> dict[str, Any]:
        code = self._code_of(openid)
        page = self.store.of_inviter(code, offset, PAGE + 1) if code else []
        return {
            "ok": True,
            "payouts": [self.view(p) for p in page[:PAGE]],
            "cursor": str(offset + PAGE) if len(page) > PAGE else None,
        }

    # --- admins ---------------------------------------------------------------------------------------------
    def review(self, payout_id: str, approve: bool, reason: str | None) -> dict[str, Any]:
        payout = self._get(payout_id)
        if payout["state"] != HELD:
            raise Conflict(f"the payout is {payout['state']}, not held for review")
        now = self.clock.now()
        note = {"review": "approve" if approve else "reject", **({"reason": reason} if reason else {})}
        if approve:
            if self.store.move(payout_id, (HELD,), SENDING, now, {"review": note}, note=note):
                self._send(payout_id)
        else:
            self._end_unpaid(payout, HELD, REJECTED, reason or "rejected_by_review")
        return {"ok": True, **self.view(self._get(payout_id))}

    def cancel(self, payout_id: str) -> dict[str, Any]:
        payout = self._get(payout_id)
        state = payout["state"]
        if state in (RESERVING, HELD):
            self._end_unpaid(payout, state, CANCELLED, "cancelled_by_admin")
        elif state in (SENDING, WAITING, CANCELING):
            try:
                bill = self._gateway().cancel(payout_id)
            except PayRefused as exc:
                unknown = exc.details.get("wechatpayCode") == "NOT_FOUND"
                if unknown and self.clock.now() - aware(payout["createdAt"]) > NOT_CREATED_AFTER:
                    # WeChat Pay never made the bill (a day of asking): nothing can be confirmed any more.
                    self._end_unpaid(payout, state, CANCELLED, "cancelled_by_admin")
                    return {"ok": True, **self.view(self._get(payout_id))}
                if unknown:  # a bill still being accepted answers NOT_FOUND too: ending now could pay it twice
                    raise Conflict("WeChat Pay does not know the bill yet; cancel again in a few minutes") from exc
                payout = self._check(payout)
                raise Conflict(f"WeChat Pay would not cancel the payout ({payout['state']})") from exc
            self._apply(self._get(payout_id), bill)
            self._check(self._get(payout_id))  # CANCELING turns CANCELLED shortly: read it back once
        elif state == TRANSFERRING:
            raise Conflict("the user confirmed the transfer: it can no longer be cancelled")
        return {"ok": True, **self.view(self._get(payout_id))}

    # --- WeChat Pay ------------------------------------------------------------------------------------------
    def callback(self, headers: Mapping[str, str], body: str) -> bool:
        """A MCHTRANSFER.BILL.FINISHED callback: False when it is not WeChat Pay's (forged, stale, tampered) — then
        nothing changes. Otherwise the bill is read back from WeChat Pay and applied (``PayUnavailable`` if it cannot
        be: WeChat Pay retries the callback)."""
        told = self._gateway().open_callback(headers, body)
        if told is None:
            log.event("payout_callback_refused")
            return False
        payout = self.store.get(told.out_bill_no)
        if payout is None:
            log.event("payout_callback_unknown_bill")
            return True  # not ours to apply; answered so that WeChat Pay stops
        if payout["state"] in OPEN:
            self._check(payout)
        else:
            self._finish_ledger(payout)
        return True

    def reconcile(self, out_of_time: Callable[[], bool] = lambda: False) -> dict[str, int]:
        """One pass over what is not final: every open payout is asked about by bill number (a lost callback delays
        nothing past this pass), a payout left reserving is cancelled, an unconfirmed bill past 24 h is cancelled,
        and an ended payout whose ledger moves did not all happen gets them."""
        now = self.clock.now()
        done = {"checked": 0, "abandoned": 0, "finished": 0}
        for payout in self.store.in_states((RESERVING,), now - RESERVING_GRACE, RECONCILE_BATCH):
            self._end_unpaid(payout, RESERVING, CANCELLED, "interrupted")
            done["abandoned"] += 1
        for payout in self.store.in_states(
            (SENDING, WAITING, TRANSFERRING, CANCELING), now - CHECK_AFTER, RECONCILE_BATCH
        ):
            if out_of_time():
                break
            try:
                self._check(payout, resend=True)
            except (PayUnavailable, PayRefused) as exc:
                log.event("payout_check_failed", payout=payout["_id"], code=exc.code)
                continue
            done["checked"] += 1
        for payout in self.store.ledger_unfinished(ENDS, RECONCILE_BATCH):
            self._finish_ledger(payout)
            done["finished"] += 1
        return done

    def _send(self, payout_id: str) -> None:
        """Create the bill (or re-enter it: the same number, the same request) and apply WeChat Pay's answer. A
        timeout, a 5xx or an unknown answer leaves the payout ``sending`` and asks by bill number first."""
        payout = self._get(payout_id)
        merchant = self.settings.merchant
        transfer = Transfer(
            out_bill_no=payout_id,
            openid=payout["openid"],
            amount_fen=int(payout["amountFen"]),
            remark=self.settings.remark,
            scene_id=self.settings.scene_id,
            report_infos=self.settings.scene_infos,
            perception=self.settings.perception,
            notify_url=merchant.notify_url if merchant else None,
        )
        now = self.clock.now()
        self.store.touch(payout_id, SENDING, now, {"lastSentAt": now})
        try:
            bill = self._gateway().create(transfer)
        except PayUnavailable as exc:
            log.event("payout_send_unknown", payout=payout_id, error=exc.message)
            try:
                self._check(self._get(payout_id))
            except PayUnavailable:
                pass  # still unknown: the next reconciliation asks again
            return
        except PayRefused as exc:
            code = exc.details.get("wechatpayCode")
            known = None
            try:
                known = self._gateway().query(payout_id)
            except PayUnavailable:
                return  # unknown whether a bill exists: keep the number, ask again later
            if known is not None:
                self._apply(self._get(payout_id), known)
            elif code in DEFINITE_REFUSALS:
                log.event("payout_refused", payout=payout_id, wechatpay_code=code)
                self._end_unpaid(self._get(payout_id), SENDING, FAILED, f"refused:{code}")
            else:  # NOT_ENOUGH (top up the 运营账户), limits…: the same bill is retried by reconciliation
                self.store.touch(payout_id, SENDING, self.clock.now(), {"bill": {"lastRefusal": code}})
            return
        self._apply(self._get(payout_id), bill)

    def _check(self, payout: Mapping[str, Any], resend: bool = False) -> dict[str, Any]:
        """Ask WeChat Pay about the payout's bill and apply the answer; the payout as it now is."""
        gateway = self._gateway()
        bill = gateway.query(str(payout["_id"]))
        now = self.clock.now()
        if bill is None:
            if payout["state"] == SENDING and resend:
                if now - aware(payout["createdAt"]) > NOT_CREATED_AFTER:
                    self._end_unpaid(payout, SENDING, FAILED, "not_created")
                else:
                    self._send(str(payout["_id"]))  # never made (or not yet known): the same number again
            return self._get(str(payout["_id"]))
        updated = self._apply(payout, bill)
        if (
            resend
            and updated["state"] == WAITING
            and now - aware(updated.get("waitingSince") or updated["updatedAt"]) > CONFIRM_WINDOW
        ):
            try:  # WeChat Pay closes it itself, sometimes late: ask, so the rewards come back
                self._apply(updated, gateway.cancel(str(updated["_id"])))
            except PayRefused:
                pass  # confirmed meanwhile: the next check reads it
            updated = self._get(str(updated["_id"]))
        return updated

    def _apply(self, payout: Mapping[str, Any], bill: Bill) -> dict[str, Any]:
        """Move the payout to what WeChat Pay says, only forwards; on an end, move the ledger."""
        payout_id = str(payout["_id"])
        if bill.amount_fen is not None and bill.amount_fen != payout.get("amountFen"):
            log.event("payout_bill_mismatch", payout=payout_id)  # never ours: left for a person to look at
            return dict(payout)
        target, now = BY_BILL[bill.state], self.clock.now()
        recorded = {
            "bill": {
                "state": bill.state,
                "transferBillNo": bill.transfer_bill_no,
                "packageInfo": bill.package_info,
                "failReason": bill.fail_reason,
                "checkedAt": now,
            }
        }
        if target == payout["state"]:
            self.store.touch(payout_id, target, now, recorded)
        elif target in UNPAID_ENDS:
            self._end_unpaid(payout, payout["state"], target, bill.fail_reason or bill.state.lower(), recorded)
        else:
            extra = {"waitingSince": now} if target == WAITING else {}
            unset = ("open",) if target == PAID else ()
            if self.store.move(payout_id, REACHED_FROM[target], target, now, {**recorded, **extra}, unset):
                log.event("payout_state", payout=payout_id, state=target, bill_state=bill.state)
        updated = self._get(payout_id)
        if updated["state"] in ENDS and updated.get("ledger") != "done":
            self._finish_ledger(updated)
            updated = self._get(payout_id)
        return updated

    def _end_unpaid(
        self,
        payout: Mapping[str, Any],
        from_state: str,
        to: str,
        reason: str,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        """End a payout unpaid: its open key and day slot are freed, then its rewards released."""
        moved = self.store.move(
            str(payout["_id"]),
            (*REACHED_FROM.get(to, ()), from_state),
            to,
            self.clock.now(),
            {"reason": reason, **(fields or {})},
            unset=("open", "slot"),
            note={"reason": reason},
        )
        if moved:
            log.event("payout_state", payout=payout["_id"], state=to, reason=reason)
        self._finish_ledger(self._get(str(payout["_id"])))

    def _finish_ledger(self, payout: Mapping[str, Any]) -> None:
        """The ledger moves of an ended payout (idempotent; reconciliation repeats them if an instance died)."""
        if payout.get("ledger") == "done" or payout["state"] not in ENDS:
            return
        now = self.clock.now()
        if payout["state"] == PAID:
            self.store.pay_reserved(str(payout["_id"]), now)
        else:
            self.store.release(str(payout["_id"]), now, str(payout.get("reason") or payout["state"]))
        self.store.ledger_done(str(payout["_id"]), now)

    def _get(self, payout_id: str) -> dict[str, Any]:
        payout = self.store.get(payout_id)
        if payout is None:
            raise NotFound("no such payout")
        return payout
