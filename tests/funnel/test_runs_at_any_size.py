"""dailyFunnel runs at any size: a run's days are split into chunks that lanes of invocations claim and compute, each
lane handing itself on (SCF Invoke, the emulator over real HTTP) before its deadline; one run record ends ``done`` or
``failed`` with every day accounted for, and a run nobody works on any more is ``abandoned`` by the next run, which
redoes its days."""

import datetime as dt

import pytest

from shared.funnel.definition import SHANGHAI, VOLATILE_FIELDS
from shared.platform.admin import make_admin_token
from tests.conftest import ADMIN_SECRET, configured_handler, drain, fixed_clock, openid_for, scf_context, snapshot

FIRST = dt.date(2026, 11, 1)
DAYS = 10


@pytest.fixture(scope="module")
def funnel():
    with configured_handler("dailyFunnel", FUNNEL_CHUNK_DAYS="2", FUNNEL_LANES="3") as module:
        yield module


@pytest.fixture
def clock():
    with fixed_clock(dt.datetime.combine(FIRST, dt.time(8), SHANGHAI)) as clock:
        yield clock


@pytest.fixture
def ten_days(invoke, database, clock):
    """alice shares on the first day; each day two new invitees land through her link and one of them buys."""
    code = invoke({"action": "share", "productId": "sku-1", "channel": "chat"}, as_user="alice")["inviterCode"]
    for n in range(DAYS):
        day = FIRST + dt.timedelta(days=n)
        for k in range(2):
            clock.set(dt.datetime.combine(day, dt.time(10 + k), SHANGHAI))
            landed = invoke({"action": "land", "query": {"id": "sku-1", "i": code}}, as_user=f"u{n}-{k}")
            assert landed["recorded"], landed
        database.orders.insert_one(
            {
                "_id": f"o{n}",
                "_openid": openid_for(f"u{n}-0"),
                "amount": 10 + n,
                "createdAt": dt.datetime.combine(day, dt.time(15), SHANGHAI).astimezone(dt.timezone.utc),
            }
        )
    clock.set(dt.datetime.combine(FIRST + dt.timedelta(days=30), dt.time(3), SHANGHAI))
    return {"from": FIRST.isoformat(), "to": (FIRST + dt.timedelta(days=DAYS - 1)).isoformat()}


def admin(funnel, event, **context):
    return funnel.main_handler(
        {**event, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
        scf_context(None, function_name="dailyFunnel", **context),
    )


def stable_rows(database):
    return {r["_id"]: {k: v for k, v in r.items() if k not in VOLATILE_FIELDS} for r in database.funnel_daily.find()}


@pytest.fixture
def clean(funnel, ten_days, database, scf_api):
    """The rows and checksum of the days computed in one invocation with time to spare, then forgotten."""
    done = admin(funnel, ten_days, time_limit_in_ms=60_000)
    assert done["status"] == "done" and done["days"] == DAYS, done
    scf_api.invocations.clear()  # the extra lanes it started found nothing left to do
    rows = stable_rows(database)
    database.funnel_daily.delete_many({})
    database.funnel_runs.delete_many({})
    database.funnel_runs_chunks.delete_many({})
    return rows, done["checksum"]


def test_a_run_longer_than_an_invocation_fans_out_in_lanes_and_ends_done_with_every_day(
    funnel, ten_days, clean, database, scf_api
):
    rows, checksum = clean
    started = admin(funnel, ten_days, time_limit_in_ms=1)  # one day, then hand on
    assert started["status"] == "running" and started["chunks"] == 5 and started["lanes"] == 3, started
    lanes = [i["event"] for i in scf_api.invocations]
    assert len(lanes) == 3 and all(set(event) == {"continueFunnel", "resumeKey"} for event in lanes)  # 2 lanes + 1
    last, hops = drain(scf_api, funnel, time_limit_in_ms=1)
    run = database.funnel_runs.find_one({"_id": started["runId"]})
    assert run["status"] == "done" and run["checksum"] == checksum and len(run["finishedDays"]) == DAYS, run
    # One day per invocation at this time limit; lanes that arrive after the last day find the run over.
    assert DAYS <= run["invocations"] <= hops + 1 and run["handoffs"] >= DAYS - 3
    assert stable_rows(database) == rows and scf_api.rejections == []
    status = admin(funnel, {"action": "status", "runId": started["runId"]})
    assert status["status"] == "done" and status["chunkStates"] == {"done": 5} and status["daysDone"] == DAYS


def test_a_run_whose_lanes_died_is_abandoned_by_the_next_run_which_redoes_its_days(
    funnel, ten_days, clean, database, scf_api, clock
):
    rows, checksum = clean
    killed = admin(funnel, ten_days, time_limit_in_ms=1)
    scf_api.invocations.clear()  # the platform never ran its continuations: every lane is gone
    assert database.funnel_runs.find_one({"_id": killed["runId"]})["status"] == "running"
    clock.set(clock.now() + dt.timedelta(minutes=6))  # past the hand-off's grace: nobody can still be working on it
    redo = admin(funnel, {"date": ten_days["from"]}, time_limit_in_ms=60_000)
    scf_api.invocations.clear()
    dead = database.funnel_runs.find_one({"_id": killed["runId"]})
    assert dead["status"] == "abandoned" and redo["status"] == "done" and redo["days"] == DAYS, redo
    assert database.funnel_runs.find_one({"_id": redo["runId"]})["adopted"] == [killed["runId"]]
    assert stable_rows(database) == rows and redo["checksum"] == checksum
    assert database.funnel_runs.count_documents({"status": "running"}) == 0


def test_a_live_run_is_not_abandoned(funnel, ten_days, clean, database, scf_api, clock):
    running = admin(funnel, ten_days, time_limit_in_ms=1)
    clock.set(clock.now() + dt.timedelta(minutes=1))  # its continuations are still within their grace
    admin(funnel, {"date": ten_days["from"]}, time_limit_in_ms=60_000)
    assert database.funnel_runs.find_one({"_id": running["runId"]})["status"] == "running"
    last, _ = drain(scf_api, funnel, time_limit_in_ms=60_000)
    assert database.funnel_runs.find_one({"_id": running["runId"]})["status"] == "done"


def test_a_failed_hand_off_is_recorded_and_an_admin_resumes_the_run(funnel, ten_days, clean, database, scf_api):
    rows, checksum = clean
    scf_api.fail_with = "ResourceNotFound.Function"
    paused = admin(funnel, ten_days, time_limit_in_ms=1)
    status = admin(funnel, {"action": "status", "runId": paused["runId"]})
    assert status["status"] == "running" and status["lastError"]["code"] == "UNAVAILABLE"
    assert status["daysDone"] == 1 and scf_api.invocations == []
    scf_api.fail_with = None
    resumed = admin(funnel, {"action": "resume", "runId": paused["runId"]}, time_limit_in_ms=60_000)
    assert resumed["status"] == "done" and resumed["checksum"] == checksum and stable_rows(database) == rows


def test_a_forged_continuation_writes_nothing(funnel, ten_days, clean, database, scf_api):
    started = admin(funnel, ten_days, time_limit_in_ms=1)
    before = snapshot(database)
    forged = funnel.main_handler(
        {"continueFunnel": started["runId"], "resumeKey": "guessed-key-0123456789"},
        scf_context(openid_for("mallory"), function_name="dailyFunnel"),
    )
    assert forged["ok"] and forged["status"] == "not_waiting" and snapshot(database) == before
    bad = funnel.main_handler({"continueFunnel": {"$ne": ""}, "resumeKey": "x" * 20}, scf_context(None))
    assert bad["error"]["code"] == "BAD_INPUT" and snapshot(database) == before


def test_status_of_an_unknown_run_is_not_found(funnel, database):
    assert admin(funnel, {"action": "status", "runId": "nope"})["error"]["code"] == "NOT_FOUND"


def test_a_day_that_kills_every_invocation_fails_the_run_naming_it(funnel, ten_days, clean, database, scf_api, clock):
    from shared.funnel.settings import OrderMapping
    from shared.funnel.store import MongoFunnelStore
    from shared.platform.config import Collections

    started = admin(funnel, ten_days, time_limit_in_ms=1)  # day 1 computed, the chunk released
    scf_api.invocations.clear()
    store = MongoFunnelStore(database, Collections(), OrderMapping())
    for holder in ("died-once", "died-twice"):  # two invocations in a row die on day 2 (out of memory, say)
        lapsed = clock.now() - dt.timedelta(seconds=1)
        assert store.claim_chunk(started["runId"], holder, clock.now(), lapsed)["index"] == 0
    failed = admin(funnel, {"action": "resume", "runId": started["runId"]}, time_limit_in_ms=60_000)
    assert failed["error"]["code"] == "UNAVAILABLE"
    run = database.funnel_runs.find_one({"_id": started["runId"]})
    day_two = (FIRST + dt.timedelta(days=1)).isoformat()
    assert run["status"] == "failed" and run["failedDays"] == [day_two] and "too large" in run["error"], run
    assert run["finishedDays"] == [FIRST.isoformat()]  # every day accounted for: done, failed, or not reached
    assert len(run["unfinishedDays"]) == DAYS - 2 and day_two not in run["unfinishedDays"]
