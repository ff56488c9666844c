"""Settlement drains any backlog: batch after batch within the invocation's deadline, then it continues itself through
the SCF Invoke API (the emulator over real HTTP); a killed or failed run holds its lease no longer than it lives, and
a timer run refused because another is running is retried by the platform, not reported as a success."""

import datetime as dt
import json

import pytest

from shared.platform.admin import make_admin_token
from shared.platform.calendar import SHANGHAI
from tests.conftest import ADMIN_SECRET, configured_handler, drain, fixed_clock, openid_for, scf_context, snapshot

T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI)
ORDERS = 60
BATCH = 10


@pytest.fixture(scope="module")
def rewards_module():
    with configured_handler(
        "rewards",
        REWARD_FIXED="5",
        REWARD_ORDERS="every",
        REWARD_BATCH=str(BATCH),
        REWARD_HOLDING_DAYS="7",
        ORDER_STATUS_FIELD="status",
        ORDER_PAID_VALUES="paid",
    ) as module:
        yield module


@pytest.fixture
def clock(database):
    with fixed_clock(T0) as clock:
        yield clock


@pytest.fixture
def backlog(invoke, sharer_code, database, clock, rewards_module):
    """Six invitees of alice's, each with ten paid orders: a backlog of six batches."""
    alice = sharer_code("alice")
    for n in range(6):
        assert invoke({"action": "land", "query": {"id": "sku-42", "i": alice}}, as_user=f"buyer{n}")["recorded"]
    database.orders.insert_many(
        [
            {
                "_id": f"ord-{n}-{k:02}",
                "_openid": openid_for(f"buyer{n}"),
                "amount": 10 + k,
                "status": "paid",
                "createdAt": T0 + dt.timedelta(hours=1, minutes=k),
            }
            for n in range(6)
            for k in range(ORDERS // 6)
        ]
    )
    clock.set(T0 + dt.timedelta(hours=3))
    return alice


def admin(module, event, **context):
    return module.main_handler(
        {**event, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
        scf_context(None, function_name="rewards", **context),
    )


def timer(module, monkeypatch, **context):
    monkeypatch.setenv("TRIGGER_SRC", "timer")
    return module.main_handler(
        {"Type": "Timer", "TriggerName": "daily"}, scf_context(None, function_name="rewards", **context)
    )


def test_a_backlog_of_many_batches_settles_in_one_run_when_time_allows(rewards_module, backlog, database, scf_api):
    done = admin(rewards_module, {"action": "settle"}, time_limit_in_ms=60_000)
    assert done["status"] == "done" and done["created"] == ORDERS and done["orders"] == ORDERS, done
    assert done["batches"] >= ORDERS // BATCH and done["handoffs"] == 0 and scf_api.invocations == []
    assert database.rewards.count_documents({"state": "pending"}) == ORDERS


def test_a_backlog_longer_than_the_deadline_continues_itself_and_settles_every_order_once(
    rewards_module, backlog, database, scf_api
):
    first = admin(rewards_module, {"action": "settle"}, time_limit_in_ms=1)  # one batch, then hand off
    assert first["status"] == "continuing" and first["created"] == BATCH and first["more"], first
    (invocation,) = scf_api.invocations
    assert set(invocation["event"]) == {"continueSettlement", "resumeKey"} and invocation["type"] == "Event"
    state = admin(rewards_module, {"action": "settlement"})["settlement"]
    json.dumps(state)  # the answer travels as JSON: every time in it is a string
    assert state["status"] == "continuing" and state["round"]["phase"] == "orders"
    assert state["round"]["counts"]["created"] == BATCH and state["round"]["handoffs"] == 1
    last, hops = drain(scf_api, rewards_module, time_limit_in_ms=1)
    assert last["status"] == "done" and hops >= ORDERS // BATCH, last
    assert last["created"] == ORDERS and last["handoffs"] == hops  # the round's counts, across its invocations
    assert database.rewards.count_documents({}) == ORDERS and scf_api.rejections == []
    status = admin(rewards_module, {"action": "settlement"})["settlement"]
    assert status["status"] == "done" and "round" not in status and status["lastRun"]["created"] == ORDERS


def test_a_forged_or_replayed_continuation_writes_nothing(rewards_module, backlog, database, scf_api):
    admin(rewards_module, {"action": "settle"}, time_limit_in_ms=1)
    (invocation,) = scf_api.invocations
    before = snapshot(database)
    forged = rewards_module.main_handler(
        {"continueSettlement": "default", "resumeKey": "guessed-key-0123456789"}, scf_context(openid_for("mallory"))
    )
    assert forged["ok"] and forged["settled"] is False and snapshot(database) == before
    drain(scf_api, rewards_module, time_limit_in_ms=60_000)
    settled = snapshot(database)
    replayed = rewards_module.main_handler(invocation["event"], scf_context(None, function_name="rewards"))
    assert replayed["settled"] is False and snapshot(database) == settled  # a key is used once


def test_a_failed_hand_off_pauses_and_the_next_timer_run_carries_on(
    rewards_module, backlog, database, scf_api, monkeypatch
):
    scf_api.fail_with = "ResourceNotFound.Function"
    paused = admin(rewards_module, {"action": "settle"}, time_limit_in_ms=1)
    assert paused["status"] == "paused" and paused["created"] == BATCH
    state = admin(rewards_module, {"action": "settlement"})["settlement"]
    assert state["status"] == "paused" and state["lastError"]["code"] == "UNAVAILABLE"
    scf_api.fail_with = None
    done = timer(rewards_module, monkeypatch, time_limit_in_ms=60_000)
    assert done["status"] == "done" and done["created"] == ORDERS - BATCH
    assert database.rewards.count_documents({}) == ORDERS


def test_a_killed_run_holds_the_lease_only_while_it_could_live_and_a_refused_timer_run_is_retried(
    rewards_module, backlog, database, clock, monkeypatch
):
    # A settlement that took the lease at T and was killed by the platform: its lease says when it is surely dead.
    killed = admin(rewards_module, {"action": "settlement"})
    assert killed["ok"]
    lease_taken = clock.now()
    database.rewards_state.update_one(
        {"_id": "settlement:default"},
        {
            "$set": {"leaseOwner": "killed", "leaseUntil": lease_taken + dt.timedelta(seconds=60 + 30)},
            "$setOnInsert": {"cursorAt": dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), "cursorKey": ""},
        },
        upsert=True,
    )
    clock.set(lease_taken + dt.timedelta(seconds=45))
    with pytest.raises(RuntimeError, match="BUSY"):  # the platform records a failure and retries the timer run
        timer(rewards_module, monkeypatch, time_limit_in_ms=60_000)
    assert database.rewards.count_documents({}) == 0
    refused = admin(rewards_module, {"action": "settle"})  # an admin is told, with where the running one stands
    assert refused["settled"] is False and refused["settlement"]["leaseUntil"] > lease_taken.isoformat()
    clock.set(lease_taken + dt.timedelta(seconds=91))
    retried = timer(rewards_module, monkeypatch, time_limit_in_ms=60_000)
    assert retried["status"] == "done" and retried["created"] == ORDERS


def test_a_failed_run_gives_its_lease_back_at_once_and_the_next_run_completes_it(
    rewards_module, backlog, database, clock
):
    database.rewards.create_index([("inviter", 1), ("state", 1)], name="sabotage", unique=True)
    try:
        failed = admin(rewards_module, {"action": "settle"}, time_limit_in_ms=20_000)
    finally:
        database.rewards.drop_index("sabotage")
    assert failed["error"]["code"] == "UNAVAILABLE"
    state = database.rewards_state.find_one({"_id": "settlement:default"})
    assert state["status"] == "failed" and state["lastError"]["code"] == "UNAVAILABLE"
    assert state["leaseUntil"].year == 1970  # given back at once: the next run need not wait
    assert database.rewards.count_documents({}) == 1  # the one insert the sabotage let through
    assert admin(rewards_module, {"action": "settle"}, time_limit_in_ms=60_000)["created"] == ORDERS - 1
    assert database.rewards.count_documents({}) == ORDERS


def test_refunds_on_every_page_of_open_and_paid_rewards_are_found(rewards_module, backlog, database, clock):
    assert admin(rewards_module, {"action": "settle"}, time_limit_in_ms=60_000)["created"] == ORDERS
    paid_ids = sorted(r["_id"] for r in database.rewards.find({}, {"_id": 1}))[::4]  # 15, spread over the pages
    database.rewards.update_many({"_id": {"$in": paid_ids}}, {"$set": {"state": "paid"}})
    refunded = [f"ord-{n}-{k:02}" for n in range(6) for k in range(0, ORDERS // 6, 3)]  # 24, spread likewise
    database.orders.update_many({"_id": {"$in": refunded}}, {"$set": {"status": "refunded"}})
    clock.set(clock.now() + dt.timedelta(days=1))
    again = admin(rewards_module, {"action": "settle"}, time_limit_in_ms=60_000)
    paid_and_refunded = {r["orderId"] for r in database.rewards.find({"_id": {"$in": paid_ids}})} & set(refunded)
    assert again["status"] == "done" and again["batches"] > ORDERS // BATCH
    assert again["reversed"] == len(set(refunded) - paid_and_refunded)
    assert again["clawbacks"] == len(paid_and_refunded) > 0
    assert database.rewards.count_documents({"kind": "clawback"}) == len(paid_and_refunded)
    assert (
        admin(rewards_module, {"action": "settle"}, time_limit_in_ms=60_000)["reversed"] == 0
    )  # settled twice: no change


def test_a_batch_that_ran_long_makes_the_next_ones_smaller_and_quick_ones_let_them_grow_back():
    from shared.rewards.settings import RewardSettings
    from shared.rewards.settle import MIN_BATCH, Round, _Steps

    steps = _Steps(None, None, RewardSettings(batch=2000), Round("timer", T0), "me", None, (T0, ""))
    steps.fit_to(40.0, target=10.0)  # a 2 000-order batch took 40 s where 10 s fit: the next is a quarter
    assert steps.limit == 500 and steps.next_seconds == 10.0
    steps.fit_to(1.0, target=10.0)
    assert steps.limit == 1000 and steps.next_seconds == 2.0
    steps.fit_to(10_000.0, target=10.0)
    assert steps.limit == MIN_BATCH  # a very slow database still gets batches that progress
