"""Settlement: the rewards function's timer run (or an admin's). Bounded work per run, resumable, replayable.

1. New credited orders after the cursor (at most ``batch``): each paid order the funnel's attribution credits to an
   inviter (same model and window as dailyFunnel, ``credit_orders``) gets one ledger entry — pending, or rejected with
   a reason — inserted on its unique key, then the cursor moves past the batch.
2. Matured pending rewards whose order is still paid → approved (and noticed); refunded ones → reversed.
3. Approved rewards whose order was refunded → reversed; paid ones → a clawback entry.

A run that stops halfway (a crash, a lost lease) leaves every entry in a valid state and the cursor before what it
had not finished; the next run redoes it, and inserts on existing keys and transitions from states already left
change nothing — running settlement twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

from shared.funnel import Order, credit_orders, first_touches_of
from shared.platform import log
from shared.platform.clock import Clock
from shared.rewards.ledger import (
    APPROVED,
    PAID,
    PENDING,
    REVERSED,
    Credit,
    clawback_entry,
    day_and_month,
    new_reward,
    rejection,
    reward_fen,
)
from shared.rewards.settings import RewardSettings

LEASE = dt.timedelta(minutes=10)
ORDER_LAG = dt.timedelta(minutes=1)  # orders younger than this wait for the next run (their writes may be in flight)

Notify = Callable[[dict[str, Any]], None]


def credited(store: Any, settings: RewardSettings, orders: list[dict[str, Any]]) -> list[Credit]:
    """The batch's orders the funnel's attribution credits to an inviter (others earn nothing)."""
    window = dt.timedelta(days=settings.funnel.window_days)
    parsed = [store.order_fields(doc) + (doc["_id"],) for doc in orders]
    keyed = {order_id: key for order_id, _, _, _, key in parsed}
    typed = [
        Order(order_id=order_id, user=user, at=at, amount=amount)
        for order_id, user, at, amount, _ in parsed
        if isinstance(user, str)
    ]
    if not typed:
        return []
    buyers = sorted({order.user for order in typed})
    landings = store.landings_of(buyers, min(o.at for o in typed) - window, max(o.at for o in typed))
    touches = first_touches_of(landings) if settings.funnel.model == "first_touch" else {}
    pairs = credit_orders(typed, landings, touches, settings.funnel.model, window)
    owners = store.inviter_openids(landing.inviter for _, landing in pairs)
    return [
        Credit(
            order_key=keyed[order.order_id],
            order_id=order.order_id,
            invitee=order.user,
            inviter=landing.inviter,
            inviter_openid=owners.get(landing.inviter),
            amount=order.amount,
            at=order.at,
        )
        for order, landing in pairs
    ]


def settle(store: Any, clock: Clock, settings: RewardSettings, by: str, notify: Notify | None = None) -> dict[str, Any]:
    began = time.perf_counter()
    owner = uuid.uuid4().hex
    now = clock.now()
    lease = store.take_lease(settings.programme, owner, now, now + LEASE)
    if lease is None:
        return {"ok": True, "settled": False, "reason": "another settlement is running"}
    counts = {"created": 0, "rejected": 0, "approved": 0, "reversed": 0, "clawbacks": 0, "noticed": 0, "orders": 0}
    status = "failed"
    try:
        orders = store.paid_orders_after(lease["cursorAt"], lease.get("cursorKey", ""), now - ORDER_LAG, settings.batch)
        counts["orders"] = len(orders)
        # Per-inviter tallies are read once per run and kept up to date here (a run holds the lease, so nobody
        # else adds rewards meanwhile): a new reward then costs one insert, not a count per order.
        tallies: dict[Any, int] = {}
        credits = credited(store, settings, orders)
        history = store.settled_counts({credit.inviter for credit in credits}) if credits else {}

        def live(inviter: str, period: str, value: str, cap: int) -> int:
            if not cap:
                return 0
            if (inviter, period, value) not in tallies:
                tallies[(inviter, period, value)] = store.live_count(inviter, period, value)
            return tallies[(inviter, period, value)]

        for credit in credits:
            periods = day_and_month(credit.at)
            today = live(credit.inviter, "day", periods["day"], settings.cap_per_day)
            month = live(credit.inviter, "month", periods["month"], settings.cap_per_month)
            settled, reversed_ = history[credit.inviter]
            reason = rejection(credit, today, month, settled, reversed_, settings.cap_per_day, settings.cap_per_month)
            scale = settings.funnel.amount_scale
            fen = reward_fen(settings.fixed, settings.percent, credit.amount, scale, settings.rounding)
            doc = new_reward(
                settings.programme, credit, fen, scale, reason, now, settings.holding_days, settings.orders, by
            )
            if store.insert(doc):
                counts["rejected" if reason else "created"] += 1
                if not reason:
                    for key in ((credit.inviter, "day", periods["day"]), (credit.inviter, "month", periods["month"])):
                        if key in tallies:
                            tallies[key] += 1
        if orders:
            last = store.order_fields(orders[-1])
            store.advance(settings.programme, owner, last[2], last[0])
        more_orders = len(orders) == settings.batch

        due = store.due([PENDING], now, settings.batch, matured_only=True)
        if due:
            paid = store.still_paid([r["orderKey"] for r in due])
            for reward in due:
                if reward["orderId"] in paid:
                    if store.transition(reward["_id"], APPROVED, now, by, extra={"approvedAt": now}):
                        counts["approved"] += 1
                        if notify is not None and notify(reward):
                            counts["noticed"] += 1
                elif store.transition(reward["_id"], REVERSED, now, by, reason="refunded"):
                    counts["reversed"] += 1

        checked = {reward["_id"] for reward in due}  # their orders were just looked at
        open_ = [
            r
            for r in store.due([PENDING, APPROVED], now, settings.batch, matured_only=False)
            if r["_id"] not in checked
        ]
        paid_recently = store.paid_not_clawed(now - dt.timedelta(days=settings.holding_days * 4 + 30), settings.batch)
        watched = open_ + paid_recently
        if watched:
            paid = store.still_paid([r["orderKey"] for r in watched])
            for reward in watched:
                if reward["orderId"] in paid:
                    continue
                if reward["state"] == PAID:
                    if store.insert(clawback_entry(reward, now, by)):
                        counts["clawbacks"] += 1
                    store.mark_clawed(reward["_id"], now)
                elif store.transition(reward["_id"], REVERSED, now, by, reason="refunded"):
                    counts["reversed"] += 1
        status = "done"
        return {
            "ok": True,
            "settled": True,
            **counts,
            "more": more_orders or len(due) == settings.batch,
            "durationMs": round((time.perf_counter() - began) * 1000, 1),
        }
    finally:
        store.release(settings.programme, owner, {"lastRun": {"status": status, "at": now, "by": by, **counts}})
        log.event("reward_settlement", status=status, by=by, **counts)
