"""dailyFunnel's use case: recompute report rows for a list of days, idempotently, with a run record.

Each day is computed from the database, then written at once (upsert by deterministic id, stale rows
removed). A failure stops the run: days already written keep their new rows, days not reached keep
their previous rows, and the run document says ``failed`` (the error is re-raised so SCF retries).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from shared.funnel.definition import (
    DIMENSIONS,
    Landing,
    build_rows,
    credit_orders,
    dates_between,
    day_bounds,
    first_touches_of,
    generations_of,
    group_intents,
    group_landings,
    group_viral,
    parse_date,
    rows_checksum,
    shanghai_date,
    shared_in_window,
    trailing_dates,
)
from shared.funnel.settings import MAX_BACKFILL_DAYS, FunnelSettings
from shared.platform import log
from shared.platform.admin import OPERATE, READ, require_scope
from shared.platform.clock import Clock
from shared.platform.continuation import Continuation, hand_off, handoff_until, key_hash, parse_resume_key
from shared.platform.db import aware
from shared.platform.errors import BadInput, ShareFunnelError
from shared.platform.identity import Invoker
from shared.platform.lease import remember_unrecorded_end, status_of
from shared.platform.validation import check_document, require_id


# One typed request per action, parsed once at the edge (``parse_funnel_request``).
class RunDays(NamedTuple):
    """Compute these days: the timer's trailing window, or an admin's backfill."""

    days: tuple[dt.date, ...]
    trigger: str  # "timer" | "admin"


class ViewDashboard(NamedTuple):
    """An admin reads the latest dashboard and a range's rows."""

    days: tuple[dt.date, ...]
    dims: tuple[str, ...] = ("total",)


class RunStatus(NamedTuple):
    run_id: str


class ResumeRun(NamedTuple):
    run_id: str


class ContinueRun(NamedTuple):
    """A lane of a run this function started, with the single-use key it was handed."""

    run_id: str
    resume_key: str


FunnelRequest = RunDays | ViewDashboard | RunStatus | ResumeRun | ContinueRun


class FunnelCall(NamedTuple):
    request: FunnelRequest
    deadline: float | None = None  # time.monotonic() by which the invocation must have answered
    context: Any = None  # SCF's context: the invocation's time limit and function name, for the run's lanes


MAX_VIEW_ROWS = 5000  # an admin view's rows in one answer (the summary covers any range)


def parse_funnel_request(event: Any, timer: bool, now: dt.datetime, settings: FunnelSettings) -> FunnelRequest:
    """A timer run recomputes the trailing window + late tolerance ending yesterday; an admin names a
    ``date`` or a ``from``–``to`` range (at most 400 days, not after today)."""
    if timer:
        return RunDays(tuple(trailing_dates(now, settings.window_days, settings.late_days)), "timer")
    if not isinstance(event, Mapping):
        raise BadInput("the event must be an object")
    check_document(event)
    if "continueFunnel" in event:
        run_id = require_id(event["continueFunnel"], "continueFunnel")
        return ContinueRun(run_id, parse_resume_key(event.get("resumeKey")))
    action = event.get("action", "run")
    if action == "dashboard":
        return parse_dashboard_view(event, now)
    if action in ("status", "resume"):
        run_id = require_id(event.get("runId"), "runId")
        return RunStatus(run_id) if action == "status" else ResumeRun(run_id)
    if action != "run":
        raise BadInput("action must be run (the default), dashboard, status or resume", field="action")
    if "date" in event:
        days = requested_days(event["date"], event["date"], now, ("date", "date"))
    elif "from" in event or "to" in event:
        days = requested_days(event.get("from"), event.get("to"), now)
    else:
        raise BadInput("name a date, or a from/to range", field="date")
    return RunDays(tuple(days), "admin")


def parse_dashboard_view(event: Mapping[str, Any], now: dt.datetime) -> ViewDashboard:
    """``{"action": "dashboard", "from"?, "to"?, "dims"?}``: the latest dashboard and the rows of a range (default
    the last 14 days; ``dims`` default ``["total"]``)."""
    from shared.funnel.dashboard import default_range

    first, last = default_range(now)
    days = requested_days(event.get("from", first.isoformat()), event.get("to", last.isoformat()), now)
    dims = event.get("dims", ["total"])
    if (
        not isinstance(dims, list)
        or not dims
        or len(dims) > len(DIMENSIONS)
        or not all(isinstance(d, str) and d in DIMENSIONS for d in dims)
    ):
        raise BadInput(f"dims must be a list of {', '.join(DIMENSIONS)}", field="dims")
    return ViewDashboard(tuple(days), tuple(dict.fromkeys(dims)))


def requested_days(
    first_raw: Any, last_raw: Any, now: dt.datetime, fields: tuple[str, str] = ("from", "to")
) -> list[dt.date]:
    """The days of a backfill, as the handler and the CLI both accept them: valid dates, in order, not after
    today (Asia/Shanghai), at most 400 of them. Checked before anything is written."""
    first, last = parse_date(first_raw, fields[0]), parse_date(last_raw, fields[1])
    if last < first:
        raise BadInput(f"{fields[1]} must not be before {fields[0]}", field=fields[1])
    if last > shanghai_date(now):
        raise BadInput("the range must not end after today (Asia/Shanghai)", field=fields[1])
    days = dates_between(first, last)
    if len(days) > MAX_BACKFILL_DAYS:
        raise BadInput(
            f"at most {MAX_BACKFILL_DAYS} days per call (got {len(days)}); split the backfill", field=fields[0]
        )
    return days


def authorize_funnel_call(invoker: Invoker, event: Any, settings: FunnelSettings) -> bool:
    """True for a genuine timer run (``invoker_of`` already refused forged ones); a lane of a run this function
    started is authenticated by its resume key later; anything else must come from an admin."""
    if invoker.timer:
        return True
    if isinstance(event, Mapping) and "continueFunnel" in event:
        return False
    token = event.get("adminToken") if isinstance(event, Mapping) else None
    openid = invoker.caller.openid if invoker.caller else None
    action = event.get("action", "run") if isinstance(event, Mapping) else "run"
    scope, what = (READ, f"the funnel's {action}") if action in ("dashboard", "status") else (OPERATE, "a funnel run")
    require_scope(openid, token, settings.admin_openids, settings.admin_token_secret, scope, what)
    return False


def compute_day(store: Any, settings: FunnelSettings, day: dt.date, now: dt.datetime) -> list[dict[str, Any]]:
    """One day's rows from one streamed, indexed pass over the day's landings and intents, the invitees' orders
    in the window (and, for last touch, the buyers' later landings) — close to the cost of fetching the day's
    landings."""
    start, end = day_bounds(day)
    window = dt.timedelta(days=settings.window_days)
    by_invitee: dict[str, list[Landing]] = {}
    landing_groups = group_landings(store.day_landings(start, end), by_invitee)
    intents = list(store.intents_between(start, end + window))  # the day's, and the window's sharers
    intent_groups = group_intents(intent for intent in intents if intent.at < end)
    credits: list[Any] = []
    orders = store.orders_of(by_invitee.keys(), start, end + window) if by_invitee else []
    buyers = sorted({order.user for order in orders})
    if buyers:
        # A buyer's candidates: their landings of this day and, for last touch, later ones in the window (a later
        # landing before the order takes the credit away from this day). First touch needs only the binding's
        # landing, the one marked newUser (see first_touches_of).
        landings = [landing for buyer in buyers for landing in by_invitee[buyer]]
        if settings.model == "first_touch":
            touches = first_touches_of(landings)
        else:
            touches = {}
            landings += store.landings_of(buyers, end, end + window)
        credits = [
            (order, landing)
            for order, landing in credit_orders(orders, landings, touches, settings.model, window)
            if start <= landing.at < end
        ]
    return build_rows(
        day,
        landing_groups,
        intent_groups,
        credits,
        settings.model,
        settings.window_days,
        now,
        viral_loop(store, by_invitee, [intent for intent in intents if shared_in_window(intent.at, start, window)]),
        store.relationship_day(start, end, now),
    )


def viral_loop(store: Any, by_invitee: dict[str, list[Landing]], intents: Sequence[Any]) -> Any:
    """The day's viral-loop groups: which invitees shared within the window (the openids their share intents
    carry), and each new user's inviter's generation (one batched lookup per generation)."""
    if not by_invitee:
        return {}
    sharers: dict[str, str | None] = {}
    for intent in intents:
        sharers[intent.sharer] = intent.sharer_openid or sharers.get(intent.sharer)
    unnamed = [code for code, openid in sharers.items() if openid is None]  # intents older than sharerOpenid
    owners = store.users_by_code(unnamed) if unnamed else {}
    openids = {openid for openid in sharers.values() if openid} | {user["openid"] for user in owners.values()}
    sharing = [openid for openid in openids if openid in by_invitee]
    inviters = {landing.inviter for own in by_invitee.values() for landing in own if landing.new_user}
    known = {code: user["inviter"] for code, user in owners.items()}

    def inviter_of(codes: list[str]) -> dict[str, Any]:
        missing = [code for code in codes if code not in known]
        known.update({code: user["inviter"] for code, user in store.users_by_code(missing).items()} if missing else {})
        return {code: known.get(code) for code in codes}

    return group_viral(by_invitee, sharing, generations_of(inviters, inviter_of))


# --- runs: chunks of days, computed by lanes of invocations ------------------------------------------------
CLI_LEASE = dt.timedelta(hours=1)  # a run from the ops CLI has no time limit: its claims are renewed at this length
MAX_STALLS = 2  # holders in a row that died on the same day: it is too large for one invocation (docs/scaling.md)


@dataclass(frozen=True)
class Invocation:
    """What a run may spend in this invocation: until when it takes new days (``time.monotonic``; None: no limit,
    the CLI), when its claims lapse if it dies (None: the CLI's, renewed per claim), and how it hands on."""

    deadline: float | None = None
    lease_end: dt.datetime | None = None
    continuation: Continuation | None = None

    def lease_until(self, now: dt.datetime) -> dt.datetime:
        return self.lease_end if self.lease_end is not None else now + CLI_LEASE

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def chunks_of(days: Sequence[dt.date], size: int) -> list[list[str]]:
    iso = [day.isoformat() for day in days]
    return [iso[first : first + size] for first in range(0, len(iso), size)]


def run_funnel(
    store: Any,
    clock: Clock,
    settings: FunnelSettings,
    days: Sequence[dt.date],
    trigger: str,
    invocation: Invocation | None = None,
) -> dict[str, Any]:
    """Start a run over ``days`` — and over what runs that died left undone, marking them ``abandoned`` — split into
    chunks; start the run's other lanes, then compute chunks as its first lane."""
    invocation = invocation or Invocation()
    now = clock.now()
    adopted = store.abandon_stale_runs(now)
    every_day = sorted(set(days) | {parse_date(day, "date") for _, undone in adopted for day in undone})
    chunks = chunks_of(every_day, settings.chunk_days)
    run_id = uuid.uuid4().hex
    store.start_run(
        {
            "_id": run_id,
            "from": every_day[0].isoformat(),
            "to": every_day[-1].isoformat(),
            "days": len(every_day),
            "trigger": trigger,
            "model": settings.model,
            "window": settings.window_days,
            "status": "running",
            "startedAt": now,
            "leaseUntil": invocation.lease_until(now),
            "chunks": len(chunks),
            "lanes": min(settings.lanes, len(chunks)),
            "invocations": 1,
            "handoffs": 0,
            "adopted": [run for run, _ in adopted],
        },
        chunks,
    )
    if adopted:
        log.event("funnel_runs_abandoned", run=run_id, abandoned=len(adopted), days=len(every_day) - len(days))
    for _ in range(1, min(settings.lanes, len(chunks))):
        _hand_on(store, clock, run_id, invocation, "lane")
    return work_on_run(store, clock, settings, run_id, invocation)


def continue_run(
    store: Any, clock: Clock, settings: FunnelSettings, run_id: str, resume_key: str, invocation: Invocation
) -> dict[str, Any]:
    """A lane's next invocation (or an extra lane): its key, issued by this function for this run, is used once."""
    if not store.join_run(run_id, key_hash(resume_key), invocation.lease_until(clock.now())):
        return {
            "ok": True,
            "runId": run_id,
            "status": "not_waiting",
            "reason": "no lane of this run waits for that key",
        }
    return work_on_run(store, clock, settings, run_id, invocation)


def work_on_run(
    store: Any, clock: Clock, settings: FunnelSettings, run_id: str, invocation: Invocation
) -> dict[str, Any]:
    """Claim chunks and compute their days until none is left or time runs out (then hand the lane on); at least
    one day per invocation, so a lane always progresses. The lane that sees the last chunk finished ends the run."""
    owner, computed, out_of_time = uuid.uuid4().hex, 0, False
    while not out_of_time:
        chunk = store.claim_chunk(run_id, owner, clock.now(), invocation.lease_until(clock.now()))
        if chunk is None:
            break
        if chunk["stalls"] >= MAX_STALLS:
            day = chunk["days"][chunk["next"]]
            _fail(store, clock, run_id, chunk["_id"], owner, day, DayTooLarge(day, chunk["stalls"]))
            break
        for day in chunk["days"][chunk["next"] :]:
            if computed and invocation.out_of_time():
                store.release_chunk(chunk["_id"], owner)
                out_of_time = True
                break
            try:
                rows = compute_day(store, settings, parse_date(day, "date"), clock.now())
                stamp = {"computedAt": clock.now(), "runId": run_id}
                store.write_day(day, [{**row, **stamp} for row in rows])
            except Exception as exc:
                _fail(store, clock, run_id, chunk["_id"], owner, day, exc)
                raise
            store.day_done(chunk["_id"], owner, day, len(rows), rows_checksum(rows))
            computed += 1
        else:
            store.finish_chunk(chunk["_id"], owner)
    if out_of_time:
        _hand_on(store, clock, run_id, invocation, "handoff")
    return finish_run(store, clock, run_id)


class DayTooLarge(Exception):
    """Every invocation that took this day died computing it (out of memory or time): the run fails naming it."""

    def __init__(self, day: str, stalls: int) -> None:
        super().__init__(
            f"{day}: {stalls} invocations in a row died computing it — too large for one invocation "
            "(more memory, or split the day: docs/scaling.md)"
        )


def _hand_on(store: Any, clock: Clock, run_id: str, invocation: Invocation, why: str) -> str:
    """Start one more invocation of this run's lanes; the run stays alive for its continuation's grace. A failed
    start is recorded (``lastError``): the lanes still running carry on, and if none is left the run is abandoned
    once its lease lapses and the next run redoes its days."""
    status = hand_off(
        invocation.continuation,
        lambda key: {"continueFunnel": run_id, "resumeKey": key},
        lambda status, fields: store.lane_handed_on(run_id, status, fields, handoff_until(clock.now()), why),
    )
    log.event("funnel_lane_" + ("started" if status == "continuing" else "not_started"), run=run_id, why=why)
    return status


def _fail(store: Any, clock: Clock, run_id: str, chunk_id: str, owner: str, day: str, exc: Exception) -> None:
    """A day that could not be computed fails the run: the other lanes stop at their next claim, days already
    written keep their new rows and days not reached keep their previous ones. Recorded when the database lets us;
    otherwise this instance records it at the start of its next invocation, and if it never runs again the run's lease
    lapses and it reads ``abandoned`` (the next run marks it so and redoes its days)."""
    error = f"{type(exc).__name__}: {exc}"

    def record() -> None:
        store.fail_run(run_id, chunk_id, owner, day, error, clock.now())

    try:
        record()
    except ShareFunnelError:
        # The database is away: this instance records it first thing in its next invocation.
        remember_unrecorded_end(record, f"funnel run {run_id}")
    log.event("funnel_run_failed", run=run_id, day=day, error=repr(exc))


def finish_run(store: Any, clock: Clock, run_id: str) -> dict[str, Any]:
    """The run as it stands; when no chunk is left to compute, it ends ``done`` (one lane wins that update) with its
    rows and checksum over every day, in day order."""
    run = store.run(run_id) or {"_id": run_id, "status": "unknown"}
    finalized = False
    if run["status"] == "running":
        chunks = store.chunks_of(run_id)
        if all(chunk["state"] == "done" for chunk in chunks):
            per_day = sorted(pair for chunk in chunks for pair in chunk.get("checksums", []))
            fields = {
                "status": "done",
                "rows": sum(chunk.get("rows", 0) for chunk in chunks),
                "finishedDays": [day for day, _ in per_day],
                "checksum": hashlib.sha256("\n".join(f"{day}:{sum_}" for day, sum_ in per_day).encode()).hexdigest(),
                "finishedAt": clock.now(),
                "durationMs": round((clock.now() - aware(run["startedAt"])).total_seconds() * 1000, 1),
            }
            finalized = store.end_run(run_id, fields)
            run = {**run, **fields} if finalized else store.run(run_id) or run
            if finalized:
                log.event(
                    "funnel_run",
                    run=run_id,
                    trigger=run.get("trigger"),
                    days=run.get("days"),
                    rows=fields["rows"],
                    invocations=run.get("invocations"),
                    handoffs=run.get("handoffs"),
                )
    return {"ok": True, **run_summary(run, clock.now()), "finalized": finalized}


def run_summary(run: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """A run as an admin reads it: ``running`` only while a lane can still be working on it (its lease is live)."""
    keep = ("from", "to", "days", "trigger", "rows", "checksum", "chunks", "lanes", "invocations")
    summary = {"runId": run["_id"], **{key: run[key] for key in keep if key in run}}
    if "status" in run:
        summary["status"] = status_of(run, now)
    summary["handoffs"] = run.get("handoffs", 0)
    summary["finishedDays"] = len(run.get("finishedDays", []))
    for key in ("lastError", "error", "durationMs"):
        if run.get(key) is not None:
            summary[key] = run[key]
    return summary
