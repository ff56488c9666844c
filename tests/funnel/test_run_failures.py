"""A funnel run that fails because the database went away never reads ``running`` afterwards: the instance that ran it
records the failure at the start of its next invocation, and if that instance never returns, the run reads
``abandoned`` as soon as its lease lapses (the next run then marks it so and redoes its days). The database is the
CloudBase backend's tcb emulator, which this test takes down in the middle of the run's second day."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from shared.funnel.definition import SHANGHAI
from shared.platform import lease
from shared.platform.admin import make_admin_token
from tests.conftest import ADMIN_SECRET, configured_handler, fixed_clock, openid_for, scf_context

ENV_ID = "run-failures-5c6d"
FIRST = dt.date(2026, 11, 1)


@pytest.fixture
def tcb(own_cloudbase):
    emulator = own_cloudbase(ENV_ID, {"FUNNEL_CHUNK_DAYS": "3", "FUNNEL_LANES": "1"})
    emulator.create_table("orders")
    return emulator


@pytest.fixture
def clock(tcb):
    with fixed_clock(dt.datetime.combine(FIRST, dt.time(9), SHANGHAI)) as clock:
        yield clock


def _admin(funnel, event):
    return funnel.main_handler(
        {**event, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
        scf_context(None, function_name="dailyFunnel", time_limit_in_ms=60_000),
    )


def _outage_on_the_second_days_landings(tcb):
    """Down at the second read of the day's landings (the run's second day), until restored."""
    seen = []

    def when(request):
        commands = request.get("MgoCommands") or []
        if any(c.get("TableName") == "share_events" and '"find"' in c.get("Command", "") for c in commands):
            seen.append(1)
        return len(seen) >= 2

    tcb.outage_when = when


@pytest.fixture
def failed_run(tcb, clock):
    """A three-day run whose database goes away in the middle of its second day."""
    with configured_handler("recordShare") as share:
        code = share.main_handler({"action": "share", "productId": "sku-1"}, scf_context(openid_for("alice")))
        for n in range(3):
            clock.set(dt.datetime.combine(FIRST + dt.timedelta(days=n), dt.time(10), SHANGHAI))
            event = {"action": "land", "query": {"id": "sku-1", "i": code["inviterCode"]}}
            assert share.main_handler(event, scf_context(openid_for(f"u{n}")))["recorded"]
    clock.set(dt.datetime.combine(FIRST + dt.timedelta(days=5), dt.time(3), SHANGHAI))
    funnel = configured_handler("dailyFunnel")
    module = funnel.__enter__()
    _outage_on_the_second_days_landings(tcb)
    days = {"from": FIRST.isoformat(), "to": (FIRST + dt.timedelta(days=2)).isoformat()}
    answer = _admin(module, days)
    assert answer["ok"] is False and answer["error"]["code"] == "UNAVAILABLE", answer
    tcb.restore()
    run = next(tcb.database["funnel_runs"].find({}))
    assert run["status"] == "running"  # nothing could be written while the database was away
    yield module, run["_id"]
    funnel.__exit__(None, None, None)
    lease._unrecorded.clear()


def test_the_same_instance_records_the_failure_at_its_next_invocation(failed_run, tcb, capsys):
    funnel, run_id = failed_run
    status = _admin(funnel, {"action": "status", "runId": run_id})
    assert status["ok"] and status["status"] == "failed", status
    stored = tcb.database["funnel_runs"].find_one({"_id": run_id})
    assert stored["status"] == "failed" and stored["finishedDays"] == [FIRST.isoformat()]
    assert "database error" in stored["error"] or "Unavailable" in stored["error"]
    logged = [json.loads(line)["message"] for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert "lease_end_recorded_late" in logged


def test_a_run_whose_instance_never_returns_reads_abandoned_once_its_lease_lapses(failed_run, tcb, clock):
    funnel, run_id = failed_run
    lease._unrecorded.clear()  # that instance died: what it meant to record died with it
    still = _admin(funnel, {"action": "status", "runId": run_id})
    assert still["status"] == "running"  # its lease is live: its holder may yet record it
    clock.set(clock.now() + dt.timedelta(minutes=10))  # past the invocation's life and grace
    assert _admin(funnel, {"action": "status", "runId": run_id})["status"] == "abandoned"
    redo = _admin(funnel, {"from": FIRST.isoformat(), "to": FIRST.isoformat()})
    assert redo["ok"] and redo["status"] == "done", redo
    assert tcb.database["funnel_runs"].find_one({"_id": run_id})["status"] == "abandoned"
    assert tcb.database["funnel_runs"].find_one({"_id": redo["runId"]})["adopted"] == [run_id]
    assert redo["days"] == 3  # the abandoned run's undone days were redone too
