"""The reward ledger through the rewards function: earned only by invitees' paid orders the funnel's attribution
credits, settled by conditional transitions (replayable, concurrent-safe, crash-safe), paid out by admins, noticed
once through subscribe messages (WeChat emulator over real HTTP)."""

import datetime as dt

import pytest

from shared.platform.admin import SCOPES, make_admin_token
from shared.platform.calendar import SHANGHAI
from shared.rewards.ledger import Credit, rejection
from tests.conftest import (
    ADMIN_SECRET,
    configured_handler,
    fixed_clock,
    openid_for,
    run_together,
    scf_context,
    snapshot,
)

T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI)
TEMPLATE = "tmpl-reward-approved"


@pytest.fixture(scope="module")
def rewards_module(emulator):
    with configured_handler(
        "rewards",
        REWARD_FIXED="5",
        REWARD_PERCENT="10",
        REWARD_HOLDING_DAYS="7",
        REWARD_REFUND_WINDOW_DAYS="7",
        REWARD_CAP_PER_DAY="3",
        ORDER_STATUS_FIELD="status",
        ORDER_PAID_VALUES="paid",
        REWARD_NOTICE_TEMPLATE=TEMPLATE,
        WECHAT_APPID=emulator.appid,
        WECHAT_APPSECRET=emulator.secret,
        WECHAT_API_BASE=emulator.base_url,
    ) as module:
        yield module


@pytest.fixture
def clock(database):
    with fixed_clock(T0) as clock:
        yield clock


@pytest.fixture
def world(invoke, sharer_code, database, clock, emulator, rewards_module):
    """alice shares; bob and carol land through her link at T0."""
    emulator.reset()
    alice = sharer_code("alice")
    for user in ("bob", "carol"):
        assert invoke({"action": "land", "query": {"id": "sku-42", "i": alice}}, as_user=user)["recorded"]
    return {"alice": alice}


def order(database, user, amount, at, status="paid", number=None):
    key = number or f"ord-{user}-{int(at.timestamp())}"
    database.orders.insert_one(
        {"_id": key, "_openid": openid_for(user), "amount": amount, "status": status, "createdAt": at}
    )
    return key


def call(module, event, user=None, admin=False):
    if admin:
        event = {**event, "adminToken": make_admin_token(ADMIN_SECRET, SCOPES)}
    return module.main_handler(event, scf_context(openid_for(user) if user else None, function_name="rewards"))


def settle(module):
    return call(module, {"action": "settle"}, admin=True)


def rewards(database):
    return {r["_id"]: r for r in database.rewards.find()}


def test_a_paid_order_by_an_invitee_earns_one_pending_reward_and_a_replay_changes_nothing(
    rewards_module, world, database, clock
):
    key = order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    first = settle(rewards_module)
    assert first["ok"] and first["created"] == 1, first
    (reward,) = rewards(database).values()
    assert (reward["state"], reward["amount"], reward["inviter"], reward["orderId"]) == (
        "pending",
        15.0,
        world["alice"],
        key,
    )
    assert reward["history"][0]["by"] == "admin"
    before = snapshot(database)["rewards"]
    again = settle(rewards_module)
    assert again["created"] == 0 and snapshot(database)["rewards"] == before


def test_shares_and_landings_alone_earn_nothing(rewards_module, world, invoke, database, clock):
    invoke({"action": "share", "productId": "sku-42"}, as_user="alice")
    clock.set(T0 + dt.timedelta(days=1))
    assert settle(rewards_module)["created"] == 0 and database.rewards.count_documents({}) == 0


def test_only_the_first_credited_order_of_an_invitee_earns(rewards_module, world, database, clock):
    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    order(database, "bob", 300, T0 + dt.timedelta(hours=3))
    clock.set(T0 + dt.timedelta(hours=4))
    assert settle(rewards_module)["created"] == 1
    assert [r["orderAmount"] for r in rewards(database).values()] == [100]


def test_an_order_outside_the_window_or_by_an_organic_user_earns_nothing(
    rewards_module, world, invoke, database, clock
):
    invoke({"action": "land", "query": {"id": "sku-42"}}, as_user="walkin")
    order(database, "walkin", 50, T0 + dt.timedelta(hours=1))
    order(database, "carol", 50, T0 + dt.timedelta(days=7, seconds=1))
    clock.set(T0 + dt.timedelta(days=8))
    assert settle(rewards_module)["created"] == 0


def test_a_matured_reward_is_approved_and_noticed_exactly_once(rewards_module, world, database, clock, emulator):
    assert (
        call(
            rewards_module, {"action": "subscribe", "templates": {TEMPLATE: "accept", "other": "reject"}}, user="alice"
        )["counted"]
        == 1
    )
    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    settle(rewards_module)
    clock.set(T0 + dt.timedelta(days=7, hours=2))
    result = settle(rewards_module)
    assert result["approved"] == 1 and result["noticed"] == 1
    (reward,) = rewards(database).values()
    assert reward["state"] == "approved" and reward["notice"]["state"] == "sent"
    assert [m["touser"] for m in emulator.messages] == [openid_for("alice")]
    assert database.rewards_subscriptions.find_one({})["accepts"] == 0  # one accept = one send
    settle(rewards_module)
    assert len(emulator.messages) == 1


def test_a_refused_notice_is_terminal_and_consumes_no_accept(rewards_module, world, database, clock, emulator):
    call(rewards_module, {"action": "subscribe", "templates": {TEMPLATE: "accept"}}, user="alice")
    emulator.refusing_users.add(openid_for("alice"))
    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    settle(rewards_module)
    clock.set(T0 + dt.timedelta(days=8))
    assert settle(rewards_module)["noticed"] == 0
    (reward,) = rewards(database).values()
    assert reward["state"] == "approved" and reward["notice"] == {
        "state": "refused",
        "at": reward["notice"]["at"],
        "errcode": 43101,
    }
    assert database.rewards_subscriptions.find_one({})["accepts"] == 1 and emulator.messages == []


def test_no_accept_means_no_notice(rewards_module, world, database, clock, emulator):
    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    settle(rewards_module)
    clock.set(T0 + dt.timedelta(days=8))
    assert settle(rewards_module)["approved"] == 1 and emulator.messages == []


def test_a_refund_before_payout_reverses_and_after_payout_claws_back(rewards_module, world, database, clock):
    bob = order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    carol = order(database, "carol", 200, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    settle(rewards_module)
    database.orders.update_one({"_id": bob}, {"$set": {"status": "refunded"}})
    clock.set(T0 + dt.timedelta(days=8))
    result = settle(rewards_module)
    assert result["reversed"] == 1 and result["approved"] == 1
    paid = call(rewards_module, {"action": "markPaid", "approvedBefore": "2026-11-19"}, admin=True)
    assert paid["marked"] == 1
    database.orders.update_one({"_id": carol}, {"$set": {"status": "refunded"}})
    clock.set(T0 + dt.timedelta(days=9))
    assert settle(rewards_module)["clawbacks"] == 1
    assert settle(rewards_module)["clawbacks"] == 0  # replayed: still one clawback
    states = sorted((r["state"], r["amount"]) for r in rewards(database).values())
    assert states == [("clawback", -25.0), ("paid", 25.0), ("reversed", 15.0)]
    export = call(rewards_module, {"action": "export"}, admin=True)
    assert export["payout"] == [
        {"inviter": world["alice"], "amount": -25.0, "amountFen": -2500, "rewards": 0, "clawbacks": 1, "flags": []}
    ]


def test_caps_per_inviter_per_day_reject_with_a_reason(rewards_module, world, invoke, database, clock):
    for user in ("dave", "erin", "fred"):
        invoke({"action": "land", "query": {"id": "sku-42", "i": world["alice"]}}, as_user=user)
    for user in ("bob", "carol", "dave", "erin", "fred"):
        order(database, user, 10, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    result = settle(rewards_module)
    assert (result["created"], result["rejected"]) == (3, 2)
    assert sorted(r["reason"] for r in rewards(database).values() if r["state"] == "rejected") == ["cap_day", "cap_day"]


def test_self_dealing_and_refund_heavy_inviters_are_rejected_with_reasons():
    credit = Credit("o1", "o1", openid_for("alice"), "Ab3dE9", openid_for("alice"), 10.0, T0)
    assert rejection(credit, 0, 0, 0, 0, 0, 0) == "self_dealing"
    honest = credit._replace(invitee=openid_for("bob"))
    assert rejection(honest, 0, 0, 6, 4, 0, 0) == "refund_heavy"
    assert rejection(honest, 0, 0, 6, 3, 0, 0) is None
    assert rejection(honest, 3, 0, 0, 0, 3, 0) == "cap_day" and rejection(honest, 0, 30, 0, 0, 0, 30) == "cap_month"


def test_fifty_concurrent_settlements_create_one_reward_per_order(rewards_module, world, database, clock):
    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    order(database, "carol", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    responses = run_together(50, lambda: settle(rewards_module))
    assert all(r["ok"] for r in responses), responses
    assert database.rewards.count_documents({}) == 2
    assert sum(r.get("created", 0) for r in responses) == 2


def test_a_run_that_fails_midway_is_completed_by_the_next_run(rewards_module, world, database, clock):
    for user in ("bob", "carol"):
        order(database, user, 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    # A real failure on the second insert: a unique index the ledger does not know about.
    database.rewards.create_index([("inviter", 1), ("state", 1)], name="sabotage", unique=True)
    try:
        failed = settle(rewards_module)
        assert failed["ok"] is False and failed["error"]["code"] == "UNAVAILABLE"
        assert database.rewards.count_documents({}) == 1
        lease = database.rewards_state.find_one({})
        assert lease["lastRun"]["status"] == "failed" and lease["cursorKey"] == ""  # the cursor did not move
    finally:
        database.rewards.drop_index("sabotage")
    done = settle(rewards_module)
    assert done["ok"] and done["created"] == 1 and database.rewards.count_documents({"state": "pending"}) == 2


def test_an_inviter_sees_only_their_own_rewards(rewards_module, world, database, clock):
    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    settle(rewards_module)
    mine = call(rewards_module, {"action": "myRewards"}, user="alice")
    assert mine["inviterCode"] == world["alice"] and mine["amounts"]["pending"] == 15.0
    assert mine["convertedInvitees"] == 1 and len(mine["rewards"]) == 1
    assert "invitee" not in mine["rewards"][0] and "inviterOpenid" not in mine["rewards"][0]
    theirs = call(rewards_module, {"action": "myRewards", "inviter": world["alice"]}, user="bob")
    assert theirs["inviterCode"] is None and theirs["rewards"] == []


def test_the_timer_settles_and_a_forged_timer_is_forbidden(rewards_module, world, database, clock, monkeypatch):
    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    before = snapshot(database)
    forged = rewards_module.main_handler({"Type": "Timer"}, scf_context(openid_for("mallory"), function_name="rewards"))
    assert forged["error"]["code"] == "FORBIDDEN" and snapshot(database) == before
    monkeypatch.setenv("TRIGGER_SRC", "timer")
    timed = rewards_module.main_handler(
        {"Type": "Timer", "TriggerName": "daily"}, scf_context(None, function_name="rewards")
    )
    assert timed["ok"] and timed["created"] == 1


BAD = [
    ("settle by a user", {"action": "settle"}, "alice", "FORBIDDEN"),
    ("markPaid by a user", {"action": "markPaid", "rewardIds": ["x:y"]}, "alice", "FORBIDDEN"),
    ("export by a user", {"action": "export"}, "alice", "FORBIDDEN"),
    ("unknown action", {"action": "payMe"}, "alice", "BAD_INPUT"),
    ("action spelled Action", {"Action": "settle"}, "alice", "BAD_INPUT"),
    ("subscribe without templates", {"action": "subscribe"}, "alice", "BAD_INPUT"),
    ("subscribe with a list", {"action": "subscribe", "templates": [TEMPLATE]}, "alice", "BAD_INPUT"),
    ("subscribe with a bad result", {"action": "subscribe", "templates": {TEMPLATE: "yes"}}, "alice", "BAD_INPUT"),
    (
        "subscribe with six templates",
        {"action": "subscribe", "templates": {f"t{i}": "accept" for i in range(6)}},
        "alice",
        "BAD_INPUT",
    ),
    ("myRewards without identity", {"action": "myRewards"}, None, "NO_IDENTITY"),
    ("operator in ids", {"action": "markPaid", "rewardIds": {"$gt": ""}}, "admin", "BAD_INPUT"),
    (
        "ids and a date",
        {"action": "markPaid", "rewardIds": ["a:b"], "approvedBefore": "2026-11-10"},
        "admin",
        "BAD_INPUT",
    ),
    ("a year-1 date", {"action": "markPaid", "approvedBefore": "0001-01-01"}, "admin", "BAD_INPUT"),
    ("a non-ASCII id", {"action": "markPaid", "rewardIds": ["奖励:1"]}, "admin", "BAD_INPUT"),
    ("a lone surrogate", {"action": "markPaid", "rewardIds": ["a:\ud800"]}, "admin", "BAD_INPUT"),
    ("too many ids", {"action": "markPaid", "rewardIds": [f"a:{i}" for i in range(1001)]}, "admin", "BAD_INPUT"),
    ("export format", {"action": "export", "format": "xlsx"}, "admin", "BAD_INPUT"),
]


@pytest.mark.parametrize("case,event,user,code", BAD, ids=[c for c, *_ in BAD])
def test_bad_calls_get_a_stable_code_and_write_nothing(rewards_module, world, database, clock, case, event, user, code):
    before = snapshot(database)
    response = call(rewards_module, event, user=user)
    assert response["ok"] is False and response["error"]["code"] == code, response
    assert snapshot(database) == before


def test_the_ops_report_shows_rewards_per_inviter_and_the_liability(
    rewards_module, world, database, clock, capsys, monkeypatch
):
    from shared.ops import cli

    order(database, "bob", 100, T0 + dt.timedelta(hours=1))
    clock.set(T0 + dt.timedelta(hours=2))
    settle(rewards_module)
    for key, value in {
        "REWARD_FIXED": "5",
        "REWARD_PERCENT": "10",
        "ORDER_STATUS_FIELD": "status",
        "ORDER_PAID_VALUES": "paid",
    }.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["rewards"]) == 0
    out = capsys.readouterr().out
    assert "liability 15.00 (pending 15.00" in out and world["alice"] in out
