"""Settlement: the rewards function's timer run (or an admin's). Drains any backlog: batch after batch until the
invocation's deadline, then the rest continues itself in a fresh invocation (shared/platform/continuation.py).

A round walks four phases, a batch (``REWARD_BATCH``) at a time:

1. ``orders``: new credited orders after the cursor. Each paid order the funnel's attribution credits to an inviter
   (same model and window as dailyFunnel, ``credit_orders``) gets one ledger entry — pending, or rejected with a
   reason — all of a batch's new entries in one bulk insert on their unique keys; then the cursor moves past the
   batch.
2. ``approvals``: matured pending rewards whose order is still paid → approved (and noticed); refunded → reversed.
3. ``refunds``: every open (pending or approved) reward whose order was refunded → reversed.
4. ``clawbacks``: paid rewards whose order was refunded → a clawback entry.

A round that stops halfway (a crash, a killed invocation) leaves every entry in a valid state and the cursor before
what it had not finished; the next run redoes it, and inserts on existing keys and transitions from states already
left change nothing — settling twice changes nothing the second time. One round runs at a time: the lease lasts
until its holder is certainly dead (``lease_until``), and a round handed off stays owned while its continuation
waits in the platform's queue.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.platform import log
from shared.platform.clock import Clock
from shared.platform.continuation import Continuation, hand_off, handoff_until, key_hash
from shared.platform.errors import Busy, ShareFunnelError
from shared.rewards.ledger import (
    APPROVED,
    PENDING,
    REVERSED,
    Credit,
    clawback_entry,
    day_and_month,
    new_reward,
    rejection,
    reward_fen,
    reward_id,
)
from shared.rewards.settings import RewardSettings
from shared.sharing import Extension, Order, Period, credit_orders, first_touches_of, inviter_at

MIN_BATCH = 50  # the smallest batch a slow database is given (every batch still makes progress)
ORDER_LAG = dt.timedelta(minutes=1)  # orders younger than this wait for the next run (their writes may be in flight)
PHASES = ("orders", "approvals", "refunds", "clawbacks")
COUNTS = ("orders", "created", "rejected", "approved", "reversed", "clawbacks", "noticed", "batches")

Notify = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class SettlementRun:
    """One invocation's part of a round: who started it, until when it may take new batches (``time.monotonic``),
    when its lease ends, and how it hands the rest on. ``resume_key``: this invocation is a continuation."""

    by: str  # "timer" | "admin" (a continuation keeps its round's)
    deadline: float
    lease_until: dt.datetime
    continuation: Continuation | None = None
    resume_key: str | None = None


@dataclass
class Round:
    """A round's progress as the settlement document keeps it (``round``): the phase, the position inside it, the
    counts so far and how many invocations it took."""

    by: str
    started_at: dt.datetime
    phase: str | None = PHASES[0]  # None: the round is finished
    after: str | None = None  # the last reward id of a paged phase
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    handoffs: int = 0

    def document(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "startedAt": self.started_at,
            "phase": self.phase,
            "after": self.after,
            "counts": self.counts,
            "handoffs": self.handoffs,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Round:
        return cls(
            by=doc["by"],
            started_at=doc["startedAt"],
            phase=doc["phase"],
            after=doc.get("after"),
            counts={**dict.fromkeys(COUNTS, 0), **doc.get("counts", {})},
            handoffs=doc.get("handoffs", 0),
        )


def credited(store: Any, settings: RewardSettings, orders: list[dict[str, Any]]) -> list[Credit]:
    """The batch's orders the funnel's attribution credits to an inviter (others earn nothing)."""
    window = dt.timedelta(days=settings.attribution.window_days)
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
    if settings.credit_by == "relationship":
        return _credits(store, keyed, _credited_by_relationship(store, typed, buyers, settings.extend_days))
    landings = store.landings_of(buyers, min(o.at for o in typed) - window, max(o.at for o in typed))
    touches = first_touches_of(landings) if settings.attribution.model == "first_touch" else {}
    pairs = credit_orders(typed, landings, touches, settings.attribution.model, window)
    return _credits(
        store, keyed, [(order, landing.inviter, {"product_id": landing.product}) for order, landing in pairs]
    )


def _credits(store: Any, keyed: dict[str, Any], credited: list[tuple[Order, str, dict[str, Any]]]) -> list[Credit]:
    """Ledger credits for (order, inviter code, what else the credit carries), with each inviter's openid."""
    owners = store.inviter_openids(inviter for _, inviter, _ in credited)
    return [
        Credit(
            order_key=keyed[order.order_id],
            order_id=order.order_id,
            invitee=order.user,
            inviter=inviter,
            inviter_openid=owners.get(inviter),
            amount=order.amount,
            at=order.at,
            **extra,
        )
        for order, inviter, extra in credited
    ]


def _credited_by_relationship(
    store: Any, orders: list[Order], buyers: list[str], extend_days: int
) -> list[tuple[Order, str, dict[str, Any]]]:
    """Each order credited to the relationship in force when it was placed (rebuilt from the history, however late
    settlement runs: a later takeover does not move it); an order placed while the buyer was free earns nothing.
    With ``extend_days``, a credited order keeps its relationship at least that long after it — also for the batch's
    later orders, taken in time order — and the users' relationships are extended with it."""
    periods = store.relationships_of(buyers)
    pairs: list[tuple[Order, Period]] = []
    extensions: dict[str, Extension] = {}
    for order in sorted(orders, key=lambda o: (o.at, o.order_id)):
        own = periods.get(order.user, [])
        period = inviter_at(own, order.at)
        if period is None:
            continue
        pairs.append((order, period))
        if extend_days and period.end is not None and period is own[-1]:
            until = order.at + dt.timedelta(days=extend_days)
            if until > period.end:
                own[-1] = period._replace(end=until)
                extensions[order.user] = Extension(order.user, period.inviter, period.start, until)
    if extensions:
        store.extend_relationships(extensions.values())
    return [(order, period.inviter, {"relationship_since": period.start}) for order, period in pairs]


def settle(
    store: Any, clock: Clock, settings: RewardSettings, run: SettlementRun, notify: Notify | None = None
) -> dict[str, Any]:
    began = time.perf_counter()
    owner = uuid.uuid4().hex
    now = clock.now()
    resumed = run.resume_key is not None
    state = store.take_lease(
        settings.programme, owner, now, run.lease_until, key_hash(run.resume_key) if run.resume_key else None
    )
    if state is None:
        if resumed:  # the round was taken over (its hand-off outlived its grace) or already continued
            return {"ok": True, "settled": False, "reason": "this continuation's round is no longer waiting for it"}
        if run.by == "timer":  # not a success: SCF retries the timer run, by when the holder is done or dead
            raise Busy("another settlement is running; the timer's retry settles")
        return {"ok": True, "settled": False, "reason": "another settlement is running", **status_of(store, settings)}
    round_ = Round.from_document(state["round"]) if resumed and state.get("round") else Round(run.by, now)
    step = _Steps(store, clock, settings, round_, owner, notify, (state["cursorAt"], state.get("cursorKey", "")))
    outcome = "failed"
    try:
        target = max(1.0, (run.deadline - time.monotonic()) / 4)
        while round_.phase is not None:  # at least one batch per invocation: a chain always progresses
            batch_began = time.monotonic()
            step.run_one()
            # Progress after every batch: visible to an admin, and where a continuation or a rerun carries on.
            store.save_round(settings.programme, owner, round_.document(), clock.now())
            step.fit_to(time.monotonic() - batch_began, target)
            if time.monotonic() + step.next_seconds >= run.deadline:
                break  # the next batch would end past the deadline: hand the rest on
        if round_.phase is None:
            outcome = "done"
            store.end_round(settings.programme, owner, "done", {"lastRun": _last_run(round_, clock.now(), "done")})
        else:
            round_.handoffs += 1
            outcome = hand_off(
                run.continuation,
                lambda key: {"continueSettlement": settings.programme, "resumeKey": key},
                lambda status, fields: store.end_round(
                    settings.programme,
                    owner,
                    status,
                    {"round": round_.document(), **fields},
                    handoff_until(clock.now()) if status == "continuing" else None,
                ),
            )
    except Exception as exc:
        try:  # give the lease back when the database lets us; otherwise this instance's next invocation does
            store.end_round(
                settings.programme,
                owner,
                "failed",
                {"lastRun": _last_run(round_, clock.now(), "failed"), "lastError": _error(exc)},
            )
        except ShareFunnelError:
            log.event("reward_settlement_lease_kept", until=run.lease_until.isoformat())
        raise
    finally:
        log.event("reward_settlement", status=outcome, by=round_.by, phase=round_.phase, **round_.counts)
    return {
        "ok": True,
        "settled": True,
        "status": outcome,
        **round_.counts,
        "handoffs": round_.handoffs,
        "more": outcome != "done",
        "durationMs": round((time.perf_counter() - began) * 1000, 1),
    }


def status_of(store: Any, settings: RewardSettings) -> dict[str, Any]:
    """Where settlement stands, for an admin: the round in progress (phase, counts, hand-offs), the last finished
    round, the last error and how far the order cursor has come."""
    doc = store.settlement_state(settings.programme) or {}
    keep = ("status", "round", "lastRun", "lastError", "cursorAt", "leaseUntil")
    return {"settlement": _as_json({k: v for k, v in doc.items() if k in keep})}


def _as_json(value: Any) -> Any:
    """Times as ISO strings, at any depth (the round and the last run carry theirs): the answer is JSON."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    return value


def _last_run(round_: Round, at: dt.datetime, status: str) -> dict[str, Any]:
    return {"status": status, "at": at, "by": round_.by, "handoffs": round_.handoffs, **round_.counts}


def _error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ShareFunnelError):
        return {"code": exc.code, "message": exc.message}
    return {"code": "INTERNAL", "message": type(exc).__name__}


class _Steps:
    """One batch of the round's current phase per call; a phase whose batch came back short is finished."""

    def __init__(
        self,
        store: Any,
        clock: Clock,
        settings: RewardSettings,
        round_: Round,
        owner: str,
        notify: Notify | None,
        cursor: tuple[dt.datetime, str],
    ) -> None:
        self.store, self.clock, self.settings, self.round, self.owner = store, clock, settings, round_, owner
        self.notify, self.cursor = notify, cursor
        self.limit = settings.batch  # this invocation's batch size: REWARD_BATCH, smaller when batches run long
        self.next_seconds = 0.0  # how long the next batch is expected to take

    def fit_to(self, seconds: float, target: float) -> None:
        """After a batch that took ``seconds``: a batch should take at most ``target`` (a quarter of the invocation's
        working time), so the deadline check between batches keeps the invocation inside its time limit — a batch
        that ran long makes the next ones smaller, quick ones let them grow back to ``REWARD_BATCH``."""
        before = self.limit
        if seconds > target:
            self.limit = max(MIN_BATCH, int(self.limit * target / seconds))
        elif seconds < target / 2:
            self.limit = min(self.settings.batch, self.limit * 2)
        self.next_seconds = seconds * self.limit / before

    def run_one(self) -> None:
        phase = self.round.phase
        assert phase is not None, "a finished round has no next batch"
        finished = getattr(self, f"_{phase}")()
        self.round.counts["batches"] += 1
        if finished:
            following = PHASES.index(phase) + 1
            self.round.phase = PHASES[following] if following < len(PHASES) else None
            self.round.after = None

    def _count(self, name: str, n: int) -> None:
        self.round.counts[name] += n

    # --- 1. new credited orders ---------------------------------------------------------------------------
    def _orders(self) -> bool:
        store, settings, programme = self.store, self.settings, self.settings.programme
        until = self.round.started_at - ORDER_LAG
        orders = store.paid_orders_after(*self.cursor, until, self.limit)
        self._count("orders", len(orders))
        docs = self._ledger_entries(credited(store, settings, orders), self.clock.now())
        created = store.insert_many(docs)
        for doc in docs:
            if doc["_id"] in created:
                self._count("rejected" if doc["reason"] else "created", 1)
        if orders:
            last = store.order_fields(orders[-1])
            store.advance(programme, self.owner, last[2], last[0])
            self.cursor = (last[2], last[0])
        return len(orders) < self.limit

    def _ledger_entries(self, credits: list[Credit], now: dt.datetime) -> list[dict[str, Any]]:
        """The batch's new ledger entries, judged against the caps as if inserted in order (entries that already
        exist — a replayed batch — are left out, so they are not counted twice)."""
        settings, store = self.settings, self.store
        scale = settings.amount_scale
        drafts: dict[str, tuple[Credit, str]] = {}
        for credit in credits:
            doc_id = reward_id(settings.programme, credit, settings.orders)
            drafts.setdefault(doc_id, (credit, doc_id))  # "first" orders: one entry per invitee, the earliest
        existing = store.existing_rewards(list(drafts)) if drafts else set()
        fresh = [credit for doc_id, (credit, _) in drafts.items() if doc_id not in existing]
        if not fresh:
            return []
        history = store.settled_counts({credit.inviter for credit in fresh})
        tallies = (
            store.live_counts({credit.inviter for credit in fresh}, {day_and_month(c.at)["month"] for c in fresh})
            if settings.cap_per_day or settings.cap_per_month
            else {}
        )
        docs = []
        for credit in fresh:
            periods = day_and_month(credit.at)
            day_key, month_key = (credit.inviter, periods["day"]), (credit.inviter, periods["month"])
            settled, reversed_ = history[credit.inviter]
            reason = rejection(
                credit,
                tallies.get(day_key, 0),
                tallies.get(month_key, 0),
                settled,
                reversed_,
                settings.cap_per_day,
                settings.cap_per_month,
            )
            fen = reward_fen(settings.fixed, settings.percent, credit.amount, scale, settings.rounding)
            docs.append(
                new_reward(
                    settings.programme,
                    credit,
                    fen,
                    scale,
                    reason,
                    now,
                    settings.holding_days,
                    settings.orders,
                    self.round.by,
                )
            )
            if not reason:
                tallies[day_key] = tallies.get(day_key, 0) + 1
                tallies[month_key] = tallies.get(month_key, 0) + 1
        return docs

    # --- 2. matured pending rewards ---------------------------------------------------------------------
    def _approvals(self) -> bool:
        store, now, by = self.store, self.clock.now(), self.round.by
        due = store.due([PENDING], now, self.limit, matured_only=True)
        if due:
            paid = store.still_paid([r["orderKey"] for r in due])
            approve = [r for r in due if r["orderId"] in paid]
            refunded = [r["_id"] for r in due if r["orderId"] not in paid]
            self._count(
                "approved",
                store.transition_many([r["_id"] for r in approve], APPROVED, now, by, extra={"approvedAt": now}),
            )
            self._count("reversed", store.transition_many(refunded, REVERSED, now, by, reason="refunded"))
            if self.notify is not None:
                self._count("noticed", sum(1 for reward in approve if self.notify(reward)))
        return len(due) < self.limit

    # --- 3. open rewards whose order was refunded ---------------------------------------------------------
    def _refunds(self) -> bool:
        store, now = self.store, self.clock.now()
        page = store.open_rewards_after(self.round.after, self.limit)
        if page:
            paid = store.still_paid([r["orderKey"] for r in page])
            refunded = [r["_id"] for r in page if r["orderId"] not in paid]
            self._count("reversed", store.transition_many(refunded, REVERSED, now, self.round.by, reason="refunded"))
            self.round.after = page[-1]["_id"]
        return len(page) < self.limit

    # --- 4. paid rewards whose order was refunded ----------------------------------------------------------
    def _clawbacks(self) -> bool:
        store, now, settings = self.store, self.clock.now(), self.settings
        since = now - dt.timedelta(days=settings.holding_days * 4 + 30)
        page = store.paid_not_clawed(since, self.round.after, self.limit)
        if page:
            paid = store.still_paid([r["orderKey"] for r in page])
            refunded = [r for r in page if r["orderId"] not in paid]
            if refunded:
                self._count(
                    "clawbacks", len(store.insert_many([clawback_entry(r, now, self.round.by) for r in refunded]))
                )
                store.mark_clawed([r["_id"] for r in refunded], now)
            self.round.after = page[-1]["_id"]
        return len(page) < self.limit
