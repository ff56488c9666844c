"""The reward ledger's rules. Pure: no I/O.

States: ``pending`` → ``approved`` (the holding period, at least the refund window, has passed and the order is
still paid) → ``paid`` (an admin marks it when the app paid by hand, or — PAYOUT_MODE=wechatpay — WeChat Pay reported
the transfer that carried it ``SUCCESS``; while a transfer is open its rewards are ``reserved``). ``reversed``: the order left
the paid values (refund, cancellation) before payout. ``rejected``: never payable, with a reason (``self_dealing``,
``cap_day``, ``cap_month``, ``refund_heavy``). A paid reward whose order is refunded afterwards gets a **clawback**
entry: a separate ledger document with the negative amount, netted from the inviter's next payout.

Every transition is one conditional atomic update from the expected state (``TRANSITIONS``), recording who made it
and when; nothing relies on multi-document transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from shared.platform.calendar import SHANGHAI
from shared.platform.money import decimal, from_fen, to_fen

PENDING, APPROVED, RESERVED, PAID, REVERSED, REJECTED, CLAWBACK = (
    "pending",
    "approved",
    "reserved",
    "paid",
    "reversed",
    "rejected",
    "clawback",
)
STATES = (PENDING, APPROVED, RESERVED, PAID, REVERSED, REJECTED, CLAWBACK)
# Manual transitions. A payout moves its own rewards (shared/rewards/payouts.py): approved → reserved (with its
# ``payoutId``), then reserved → paid on WeChat Pay's SUCCESS or back to approved; nothing else touches a reserved
# reward, so a refund while it is being paid is clawed back after, never lost.
TRANSITIONS = {APPROVED: (PENDING,), PAID: (APPROVED,), REVERSED: (PENDING, APPROVED)}
LIVE = (PENDING, APPROVED, RESERVED, PAID)  # counted against caps
EARNING = (*LIVE, CLAWBACK)  # what an inviter has earned: live rewards net of clawbacks
REFUND_HEAVY_SAMPLE = 5  # an inviter with at least this many settled rewards…
REFUND_HEAVY_SHARE = 0.5  # …more than half of them reversed: new rewards are rejected


class Credit(NamedTuple):
    """A paid order credited to an inviter by the funnel's attribution."""

    order_key: Any  # the order document's _id as stored (ObjectId or string)
    order_id: str
    invitee: str
    inviter: str  # inviter code
    inviter_openid: str | None
    amount: float  # the order's amount
    at: dt.datetime
    relationship_since: dt.datetime | None = None  # REWARD_ATTRIBUTION=relationship: when the one credited began
    product_id: str | None = None  # the product whose landing brought the buyer (the credited landing's)


def reward_id(programme: str, credit: Credit, orders: str) -> str:
    """The idempotency key: one reward per (programme, order) — or, for "first", per (programme, invitee), so only an
    invitee's first credited paid order ever earns."""
    if orders != "first":
        return f"{programme}:order:{credit.order_id}"
    if credit.relationship_since is not None:  # the first order of that relationship (a new one earns again)
        since = int(credit.relationship_since.timestamp() * 1000)
        return f"{programme}:first:{credit.invitee}:{credit.inviter}:{since}"
    return f"{programme}:first:{credit.invitee}"


def reward_fen(
    fixed: float, percent: float, order_amount: float, amount_scale: int = 1, rounding: str = "half_up"
) -> int:
    """The reward in whole fen: ``fixed`` plus ``percent`` % of the order's amount (both in the orders' unit),
    computed exactly and rounded once by ``rounding`` (half-up by default)."""
    exact = decimal(fixed) + decimal(order_amount) * decimal(percent) / 100
    return to_fen(exact, amount_scale, rounding)


def rejection(
    credit: Credit, live_today: int, live_this_month: int, settled: int, reversed_: int, cap_day: int, cap_month: int
) -> str | None:
    """Why a new reward may not be paid (it is recorded as rejected with this reason), or None."""
    if credit.inviter_openid is not None and credit.inviter_openid == credit.invitee:
        return "self_dealing"
    if cap_day and live_today >= cap_day:
        return "cap_day"
    if cap_month and live_this_month >= cap_month:
        return "cap_month"
    if settled >= REFUND_HEAVY_SAMPLE and reversed_ > REFUND_HEAVY_SHARE * settled:
        return "refund_heavy"
    return None


def day_and_month(at: dt.datetime) -> dict[str, str]:
    local = at.astimezone(SHANGHAI)
    return {"day": local.strftime("%Y-%m-%d"), "month": local.strftime("%Y-%m")}


def new_reward(
    programme: str,
    credit: Credit,
    fen: int,
    amount_scale: int,
    reason: str | None,
    now: dt.datetime,
    holding_days: int,
    orders: str,
    by: str,
) -> dict[str, Any]:
    state = REJECTED if reason else PENDING
    return {
        "_id": reward_id(programme, credit, orders),
        "kind": "reward",
        "programme": programme,
        "orderId": credit.order_id,
        "orderKey": credit.order_key,
        "invitee": credit.invitee,
        "inviter": credit.inviter,
        "inviterOpenid": credit.inviter_openid,
        "orderAmount": credit.amount,
        "productId": credit.product_id,
        "amountFen": fen,  # the exact amount, in whole fen: what sums and payouts use
        "amount": from_fen(fen, amount_scale),  # the same in the orders' unit, for display
        "state": state,
        "reason": reason,
        "orderAt": credit.at,
        "approveAfter": credit.at + dt.timedelta(days=holding_days),
        "createdAt": now,
        "updatedAt": now,
        **day_and_month(credit.at),
        "history": [{"state": state, "at": now, "by": by, **({"reason": reason} if reason else {})}],
    }


def clawback_entry(reward: Mapping[str, Any], now: dt.datetime, by: str) -> dict[str, Any]:
    return {
        "_id": f"{reward['_id']}:clawback",
        "kind": "clawback",
        "programme": reward["programme"],
        "orderId": reward["orderId"],
        "orderKey": reward["orderKey"],
        "invitee": reward["invitee"],
        "inviter": reward["inviter"],
        "inviterOpenid": reward.get("inviterOpenid"),
        "orderAmount": reward["orderAmount"],
        "amountFen": -fen_of(reward),
        "amount": -reward["amount"],
        "state": CLAWBACK,
        "reason": "refunded_after_payout",
        "clawbackOf": reward["_id"],
        "orderAt": reward["orderAt"],
        "createdAt": now,
        "updatedAt": now,
        "day": reward.get("day"),
        "month": reward.get("month"),
        "history": [{"state": CLAWBACK, "at": now, "by": by}],
    }


def fen_of(reward: Mapping[str, Any], amount_scale: int = 1) -> int:
    """A ledger entry's exact amount in fen (entries written before ``amountFen`` existed: from ``amount``)."""
    fen = reward.get("amountFen")
    return (
        fen if isinstance(fen, int) and not isinstance(fen, bool) else to_fen(reward.get("amount") or 0, amount_scale)
    )


def summary(rewards: Iterable[Mapping[str, Any]], amount_scale: int = 1) -> dict[str, Any]:
    """Amounts per state (clawbacks are negative and owed back), summed exactly in fen, and the count of converted
    invitees."""
    fen = dict.fromkeys(STATES, 0)
    counts = dict.fromkeys(STATES, 0)
    invitees = set()
    for reward in rewards:
        fen[reward["state"]] += fen_of(reward, amount_scale)
        counts[reward["state"]] += 1
        if reward["state"] in LIVE:
            invitees.add(reward["invitee"])
    return {
        "amounts": {state: from_fen(total, amount_scale) for state, total in fen.items()},
        "counts": counts,
        "convertedInvitees": len(invitees),
        "liability": from_fen(fen[PENDING] + fen[APPROVED] + fen[RESERVED], amount_scale),
        "toPay": from_fen(fen[APPROVED] + fen[CLAWBACK], amount_scale),
    }
