"""REWARD_ATTRIBUTION=relationship: an order earns for the relationship in force when it was placed, rebuilt from the
history however late settlement runs — a later takeover does not move it, an order placed while free earns nothing,
and REWARD_ORDERS=every rewards every paid order during the relationship."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.platform.admin import make_admin_token
from shared.platform.calendar import SHANGHAI
from tests.conftest import ADMIN_SECRET, configured_handler, fixed_clock, openid_for, scf_context

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI)
RULE = {"BIND_PROTECT_DAYS": "10", "BIND_VALIDITY_DAYS": "30"}


@pytest.fixture
def clock(database):
    with fixed_clock(T0) as clock:
        yield clock


@pytest.fixture
def shop(database, clock):
    """recordShare under RULE and the rewards function crediting by relationship (``every`` order or the ``first``)."""
    opened = []

    def open_(orders, **extra):
        share = configured_handler("recordShare", **RULE, **extra)
        rewards = configured_handler(
            "rewards",
            **extra,
            REWARD_FIXED="5",
            REWARD_ATTRIBUTION="relationship",
            REWARD_ORDERS=orders,
            ORDER_STATUS_FIELD="status",
            ORDER_PAID_VALUES="paid",
        )
        opened.extend((share, rewards))
        return share.__enter__(), rewards.__enter__()

    yield open_
    for handler in reversed(opened):
        handler.__exit__(None, None, None)


def _share(module, user):
    return module.main_handler({"action": "share", "productId": "sku-1"}, scf_context(openid_for(user)))["inviterCode"]


def _land(module, user, code, product="sku-1"):
    event = {"action": "land", "query": {"id": product, "i": code}, "launchScene": 1007}
    return module.main_handler(event, scf_context(openid_for(user)))


def _order(database, key, at):
    database.orders.insert_one(
        {"_id": key, "_openid": openid_for("carol"), "amount": 100, "status": "paid", "createdAt": at}
    )


def _settle(module):
    event = {"action": "settle", "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])}
    answer = module.main_handler(event, scf_context(None, function_name="rewards"))
    assert answer["ok"], answer
    return answer


def test_orders_earn_for_the_relationship_of_their_time_and_nothing_while_free(shop, database, clock):
    share, rewards = shop("every")
    alice, bob = _share(share, "alice"), _share(share, "bob")
    assert _land(share, "carol", alice)["relationship"] == "bound"
    _order(database, "o1", T0 + dt.timedelta(days=2))  # alice's (day 2)
    clock.set(T0 + dt.timedelta(days=12))
    assert _land(share, "carol", bob, "sku-2")["relationship"] == "taken"  # bob's from day 12
    _order(database, "o2", T0 + dt.timedelta(days=13))  # bob's
    _order(database, "o3", T0 + dt.timedelta(days=50))  # bob's relationship ended on day 42: carol was free
    clock.set(T0 + dt.timedelta(days=60))  # settlement runs late: the history still says whose each order was
    assert _settle(rewards)["created"] == 2
    earned = {r["orderId"]: r["inviter"] for r in database.rewards.find()}
    assert earned == {"o1": alice, "o2": bob}


def test_first_means_the_first_order_of_each_relationship(shop, database, clock):
    share, rewards = shop("first")
    alice, bob = _share(share, "alice"), _share(share, "bob")
    _land(share, "carol", alice)
    _order(database, "o1", T0 + dt.timedelta(days=1))
    _order(database, "o2", T0 + dt.timedelta(days=2))  # a second order of the same relationship: nothing more
    clock.set(T0 + dt.timedelta(days=11))
    assert _land(share, "carol", bob, "sku-2")["relationship"] == "taken"
    _order(database, "o3", T0 + dt.timedelta(days=11, hours=1))  # the first of bob's relationship
    clock.set(T0 + dt.timedelta(days=12))
    assert _settle(rewards)["created"] == 2
    assert {r["orderId"]: r["inviter"] for r in database.rewards.find()} == {"o1": alice, "o3": bob}


def test_a_credited_order_keeps_its_relationship_alive(shop, database, clock):
    """BIND_ORDER_EXTEND_DAYS=40: an order on day 20 keeps alice's 30-day relationship until day 60, so the order of
    day 50 is hers too (in the same settlement batch) and keeps it until day 90; an order on day 95 is nobody's."""
    share, rewards = shop("every", BIND_ORDER_EXTEND_DAYS="40")
    alice = _share(share, "alice")
    _land(share, "carol", alice)
    _order(database, "o1", T0 + dt.timedelta(days=20))
    _order(database, "o2", T0 + dt.timedelta(days=50))
    _order(database, "o3", T0 + dt.timedelta(days=95))  # past day 90: free again
    clock.set(T0 + dt.timedelta(days=100))
    assert _settle(rewards)["created"] == 2
    assert {r["orderId"] for r in database.rewards.find()} == {"o1", "o2"}
    binding = database.users.find_one({"_id": openid_for("carol")})["binding"]
    assert binding["expiresAt"] == T0 + dt.timedelta(days=50 + 40)


def test_the_promoter_centre_and_orders_answer_in_fen_and_name_no_buyer(shop, database, clock):
    import json

    share, rewards = shop("every")
    alice, bob = _share(share, "alice"), _share(share, "bob")
    _land(share, "carol", alice)
    _land(share, "dan", bob)
    for key, day in (("o1", 1), ("o2", 2)):
        _order(database, key, T0 + dt.timedelta(days=day))
    database.orders.insert_one(
        {"_id": "o3", "_openid": openid_for("dan"), "amount": 100, "status": "paid", "createdAt": T0}
    )
    clock.set(T0 + dt.timedelta(days=3))
    assert _settle(rewards)["created"] == 3
    clock.set(T0 + dt.timedelta(days=4))

    def mine(action, user, **extra):
        answer = rewards.main_handler(
            {"action": action, **extra}, scf_context(openid_for(user), function_name="rewards")
        )
        assert answer["ok"], answer
        assert not any(openid_for(u) in json.dumps(answer) for u in ("carol", "dan", "alice", "bob"))
        return answer

    centre = mine("myCentre", "alice")
    assert centre == {
        "ok": True,
        "earnedFen": 1000,
        "pendingFen": 1000,
        "availableFen": 0,
        "payingFen": 0,
        "paidFen": 0,
        "yesterdayFen": 1000,  # settled on day 3 (Shanghai), read on day 4
        "members": 1,
        "rank": {"byMembers": 1, "byEarned": 1},  # alice 2 rewards, bob 1; one member each (a tie ranks both first)
    }
    assert mine("myCentre", "bob")["rank"] == {"byMembers": 1, "byEarned": 2}
    orders = mine("myOrders", "alice")
    placed = [dt.datetime.fromisoformat(o["placedAt"]) for o in orders["orders"]]
    assert orders["cursor"] is None and placed == [T0 + dt.timedelta(days=2), T0 + dt.timedelta(days=1)]
    assert orders["orders"][0] == {
        "placedAt": orders["orders"][0]["placedAt"],
        "productId": None,  # credited by relationship: the order's product is the app's own
        "amountFen": 10000,
        "state": "pending",
        "rewardFen": 500,
    }
    assert mine("myCentre", "nobody") == {
        "ok": True,
        "earnedFen": 0,
        "pendingFen": 0,
        "availableFen": 0,
        "payingFen": 0,
        "paidFen": 0,
        "yesterdayFen": 0,
        "members": 0,
        "rank": {"byMembers": None, "byEarned": None},
    }
