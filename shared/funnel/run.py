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
from shared.platform.admin import is_admin
from shared.platform.clock import Clock
from shared.platform.errors import BadInput, Forbidden
from shared.platform.identity import Invoker
from shared.platform.validation import check_document


class FunnelRequest(NamedTuple):
    days: tuple[dt.date, ...]
    trigger: str  # "timer" | "admin"
    action: str = "run"  # "run": compute the days; "dashboard": read them (admins)
    dims: tuple[str, ...] = ("total",)
    deadline: float | None = None  # time.monotonic() by which the invocation must have answered


MAX_VIEW_ROWS = 5000  # an admin view's rows in one answer (the summary covers any range)


def parse_funnel_request(event: Any, timer: bool, now: dt.datetime, settings: FunnelSettings) -> FunnelRequest:
    """A timer run recomputes the trailing window + late tolerance ending yesterday; an admin names a
    ``date`` or a ``from``–``to`` range (at most 400 days, not after today)."""
    if timer:
        return FunnelRequest(tuple(trailing_dates(now, settings.window_days, settings.late_days)), "timer")
    if not isinstance(event, Mapping):
        raise BadInput("the event must be an object")
    check_document(event)
    action = event.get("action", "run")
    if action == "dashboard":
        return parse_dashboard_view(event, now)
    if action != "run":
        raise BadInput("action must be run (the default) or dashboard", field="action")
    if "date" in event:
        days = requested_days(event["date"], event["date"], now, ("date", "date"))
    elif "from" in event or "to" in event:
        days = requested_days(event.get("from"), event.get("to"), now)
    else:
        raise BadInput("name a date, or a from/to range", field="date")
    return FunnelRequest(tuple(days), "admin")


def parse_dashboard_view(event: Mapping[str, Any], now: dt.datetime) -> FunnelRequest:
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
    return FunnelRequest(tuple(days), "admin", "dashboard", tuple(dict.fromkeys(dims)))


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
    """True for a genuine timer run (``invoker_of`` already refused forged ones); anything else must come
    from an admin."""
    if invoker.timer:
        return True
    token = event.get("adminToken") if isinstance(event, Mapping) else None
    openid = invoker.caller.openid if invoker.caller else None
    if not is_admin(openid, token, settings.admin_openids, settings.admin_token_secret):
        raise Forbidden("funnel runs are for the timer and admins only")
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


def run_funnel(
    store: Any, clock: Clock, settings: FunnelSettings, days: Sequence[dt.date], trigger: str
) -> dict[str, Any]:
    run_id = uuid.uuid4().hex
    started, began = clock.now(), time.perf_counter()
    store.start_run(
        {
            "_id": run_id,
            "from": days[0].isoformat(),
            "to": days[-1].isoformat(),
            "days": len(days),
            "trigger": trigger,
            "model": settings.model,
            "window": settings.window_days,
            "status": "running",
            "startedAt": started,
        }
    )
    checksums, rows_written, finished = [], 0, []
    try:
        for day in days:
            rows = compute_day(store, settings, day, clock.now())
            stamp = {"computedAt": clock.now(), "runId": run_id}
            store.write_day(day.isoformat(), [{**row, **stamp} for row in rows])
            checksums.append(f"{day.isoformat()}:{rows_checksum(rows)}")
            rows_written += len(rows)
            finished.append(day.isoformat())
    except Exception as exc:
        store.finish_run(
            run_id,
            {
                "status": "failed",
                "finishedDays": finished,
                "rows": rows_written,
                "error": f"{type(exc).__name__}: {exc}",
                "finishedAt": clock.now(),
                "durationMs": round((time.perf_counter() - began) * 1000, 1),
            },
        )
        log.event("funnel_run_failed", run=run_id, finished=len(finished), days=len(days), error=repr(exc))
        raise
    summary = {
        "runId": run_id,
        "from": days[0].isoformat(),
        "to": days[-1].isoformat(),
        "days": len(days),
        "rows": rows_written,
        "checksum": hashlib.sha256("\n".join(checksums).encode()).hexdigest(),
        "durationMs": round((time.perf_counter() - began) * 1000, 1),
    }
    store.finish_run(
        run_id,
        {
            "status": "done",
            "finishedDays": finished,
            "rows": rows_written,
            "checksum": summary["checksum"],
            "durationMs": summary["durationMs"],
            "finishedAt": clock.now(),
        },
    )
    log.event(
        "funnel_run", run=run_id, trigger=trigger, days=len(days), rows=rows_written, duration_ms=summary["durationMs"]
    )
    return {"ok": True, **summary}
