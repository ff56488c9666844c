"""Customer relationships (锁客), decided by recordShare's one rule (shared/sharing/relationship.py) on a fixed clock:
who may be bound, how long it lasts, when another inviter may take a user over, and what is never allowed."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import configured_handler, fixed_clock, openid_for, scf_context

START = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock(database):
    with fixed_clock(START) as clock:
        yield clock


def _world(rule):
    """recordShare with ``rule`` (BIND_* variables); ``share(user)`` → their code, ``land(user, code)`` → answer."""
    handler = configured_handler("recordShare", **rule)
    module = handler.__enter__()

    def share(user):
        answer = module.main_handler({"action": "share", "productId": "sku-1"}, scf_context(openid_for(user)))
        assert answer["ok"], answer
        return answer["inviterCode"]

    def land(user, code, product="sku-1"):
        event = {"action": "land", "query": {"id": product, "i": code, "c": "chat"}, "launchScene": 1007}
        answer = module.main_handler(event, scf_context(openid_for(user)))
        assert answer["ok"], answer
        return answer

    def organic(user):
        assert module.main_handler({"action": "land", "query": {"id": "sku-1"}}, scf_context(openid_for(user)))["ok"]

    return handler, share, land, organic


@pytest.fixture
def world():
    opened = []

    def make(**rule):
        handler, *calls = _world(rule)
        opened.append(handler)
        return calls

    yield make
    for handler in opened:
        handler.__exit__(None, None, None)


def _binding(database, user):
    return (database.users.find_one({"_id": openid_for(user)}) or {}).get("binding") or {}


def test_an_organic_user_is_bound_under_unbound_and_not_under_new(world, database, clock):
    share, land, organic = world(BIND_WHO="new")
    alice = share("alice")
    organic("erin")
    assert land("erin", alice)["relationship"] == "not_new" and not _binding(database, "erin")
    share, land, organic = world(BIND_WHO="unbound")
    organic("frank")
    assert land("frank", alice)["relationship"] == "bound"
    assert _binding(database, "frank")["inviter"] == alice
    changes = list(database.users_relationships.find({"invitee": openid_for("frank")}))
    assert [(c["kind"], c["from"], c["inviter"]) for c in changes] == [("bound", None, alice)]


def test_a_takeover_is_refused_during_protection_and_accepted_after(world, database, clock):
    share, land, _ = world(BIND_PROTECT_DAYS="15")
    alice, bob = share("alice"), share("bob")
    assert land("carol", alice)["relationship"] == "bound"
    clock.set(START + dt.timedelta(days=14, hours=23))
    answer = land("carol", bob)
    assert answer["relationship"] == "protected" and answer["recorded"]  # the landing is a touch all the same
    assert _binding(database, "carol")["inviter"] == alice
    clock.set(START + dt.timedelta(days=15))
    assert land("carol", bob, "sku-2")["relationship"] == "taken"
    assert _binding(database, "carol")["inviter"] == bob
    change = database.users_relationships.find_one({"invitee": openid_for("carol")})
    assert (change["kind"], change["from"], change["inviter"], change["at"]) == ("taken", alice, bob, clock.now())
    # The first touch stays alice's: the funnel's "new user" landing is still hers, never bob's.
    assert database.users.find_one({"_id": openid_for("carol")})["firstTouch"]["inviter"] == alice


def test_by_default_nobody_is_ever_taken_over(world, database, clock):
    share, land, _ = world()
    alice, bob = share("alice"), share("bob")
    land("carol", alice)
    clock.set(START + dt.timedelta(days=3650))
    assert land("carol", bob)["relationship"] == "protected"
    assert _binding(database, "carol")["inviter"] == alice and _binding(database, "carol")["expiresAt"] is None


def test_an_ended_relationship_frees_the_user_for_the_next_inviter(world, database, clock):
    share, land, _ = world(BIND_VALIDITY_DAYS="30")
    alice, bob = share("alice"), share("bob")
    land("carol", alice)
    assert _binding(database, "carol")["expiresAt"] == START + dt.timedelta(days=30)
    clock.set(START + dt.timedelta(days=29))
    assert land("carol", bob)["relationship"] == "protected"
    clock.set(START + dt.timedelta(days=30))
    assert land("carol", bob, "sku-2")["relationship"] == "rebound"
    binding = _binding(database, "carol")
    assert binding["inviter"] == bob and binding["expiresAt"] == clock.now() + dt.timedelta(days=30)
    change = database.users_relationships.find_one({"invitee": openid_for("carol")})
    assert (change["kind"], change["from"], change["fromExpiresAt"]) == (
        "rebound",
        alice,
        START + dt.timedelta(days=30),
    )


def test_a_user_is_never_bound_to_themselves_or_into_their_own_downline(world, database, clock):
    # Sharers are users already (sharing registers them), so they can be bound only under "unbound"; last touch
    # (BIND_PROTECT_DAYS=0): any other inviter's landing would take a user over — but never into a loop.
    share, land, _ = world(BIND_WHO="unbound", BIND_PROTECT_DAYS="0")
    a, b, c = share("a"), share("b"), share("c")
    assert land("b", a)["relationship"] == "bound"  # a → b
    assert land("c", b)["relationship"] == "bound"  # a → b → c
    assert land("a", c)["relationship"] == "loop"  # c is in a's downline: a → b → c → a refused
    assert land("a", b)["relationship"] == "loop"
    assert not _binding(database, "a")
    self_landing = land("b", b)
    assert self_landing["reason"] == "self_invite" and _binding(database, "b")["inviter"] == a
    d = share("d")
    assert land("c", d)["relationship"] == "taken"  # outside the chain: a takeover as usual
    assert land("a", c)["relationship"] == "bound"  # c left a's downline: no loop any more


def test_an_admin_sets_moves_and_clears_a_relationship_and_it_holds(world, database, clock):
    from shared.platform.admin import make_admin_token
    from tests.conftest import ADMIN_SECRET, load_handler

    share, land, _ = world(BIND_WHO="unbound", BIND_PROTECT_DAYS="0", BIND_VALIDITY_DAYS="30")
    alice, bob = share("alice"), share("bob")
    land("carol", alice)
    record_share = load_handler("recordShare")

    def bind(code, **who):
        event = {"action": "bind", "openid": openid_for("carol"), "inviterCode": code, **who}
        return record_share.main_handler(event, scf_context(None))  # an ops call: the admin token decides

    token = make_admin_token(ADMIN_SECRET, ["operate"])
    refused = record_share.main_handler(
        {"action": "bind", "openid": openid_for("carol"), "inviterCode": bob}, scf_context(openid_for("mallory"))
    )
    assert refused["error"]["code"] == "FORBIDDEN" and _binding(database, "carol")["inviter"] == alice
    moved = bind(bob, adminToken=token)
    assert moved == {"ok": True, "inviterCode": bob, "locked": True}
    binding = _binding(database, "carol")
    assert (binding["inviter"], binding["locked"], binding["expiresAt"]) == (bob, True, None)
    clock.set(START + dt.timedelta(days=400))
    assert land("carol", alice, "sku-3")["relationship"] == "locked"  # no rule moves or ends it
    assert bind(None, adminToken=token) == {"ok": True, "inviterCode": None, "locked": False}
    assert not _binding(database, "carol")
    assert land("carol", alice, "sku-4")["relationship"] == "bound"  # cleared: free to be bound again
    kinds = [c["kind"] for c in database.users_relationships.find({"invitee": openid_for("carol")}).sort("at", 1)]
    assert kinds == ["admin", "admin", "bound"]
    carol = share("carol")
    looped = record_share.main_handler(
        {"action": "bind", "openid": openid_for("alice"), "inviterCode": carol, "adminToken": token},
        scf_context(None),
    )
    assert looped["error"]["code"] == "BAD_INPUT" and looped["error"]["field"] == "inviterCode"  # alice → carol → alice
    missing = record_share.main_handler(
        {"action": "bind", "openid": openid_for("nobody"), "inviterCode": bob, "adminToken": token}, scf_context(None)
    )
    assert missing["error"]["code"] == "NOT_FOUND"


def test_my_team_lists_who_i_brought_with_their_orders_and_never_an_openid(world, database, clock):
    import json

    share, land, _ = world(
        BIND_PROTECT_DAYS="10",
        BIND_VALIDITY_DAYS="30",
        ORDER_STATUS_FIELD="status",
        ORDER_PAID_VALUES="paid",
        REPORT_AMOUNT_SCALE="1",
    )
    alice, dave = share("alice"), share("dave")
    land("bob", alice)
    clock.set(START + dt.timedelta(days=1))
    land("carol", alice)
    clock.set(START + dt.timedelta(days=2))
    land("erin", alice)
    for key, user, day, amount, status in (
        ("o1", "bob", 3, 12.34, "paid"),
        ("o2", "bob", 4, 1, "refunded"),  # not paid: not counted
        ("o3", "carol", 5, 20, "paid"),  # alice's time
        ("o4", "carol", 20, 30, "paid"),  # dave's time: not alice's
    ):
        database.orders.insert_one(
            {
                "_id": key,
                "_openid": openid_for(user),
                "amount": amount,
                "status": status,
                "createdAt": START + dt.timedelta(days=day),
            }
        )
    clock.set(START + dt.timedelta(days=15))
    assert land("carol", dave, "sku-2")["relationship"] == "taken"
    clock.set(START + dt.timedelta(days=31))  # bob's (day 0 + 30) has ended; erin's (day 2 + 30) has not
    answer = _team(world, "alice")
    assert answer["ok"] and answer["total"] == 3 and answer["cursor"] is None
    by_status = {m["status"]: m for m in answer["members"]}
    assert [m["status"] for m in answer["members"]] == ["active", "taken", "expired"]  # newest relationship first
    assert by_status["expired"] == {
        "code": None,
        "boundAt": START.isoformat(),
        "expiresAt": (START + dt.timedelta(days=30)).isoformat(),
        "protectedUntil": (START + dt.timedelta(days=10)).isoformat(),
        "status": "expired",
        "orders": 1,
        "amountFen": 1234,
    }
    taken = by_status["taken"]
    assert (taken["orders"], taken["amountFen"], taken["expiresAt"]) == (
        1,
        2000,
        (START + dt.timedelta(days=15)).isoformat(),
    )
    assert (
        by_status["active"]["orders"] == 0
        and by_status["active"]["boundAt"] == (START + dt.timedelta(days=2)).isoformat()
    )
    text = json.dumps(answer)
    assert not any(openid_for(user) in text for user in ("bob", "carol", "erin", "alice", "dave"))
    assert _team(world, "nobody-shared") == {"ok": True, "total": 0, "members": [], "cursor": None}


def _team(world, user):
    from tests.conftest import load_handler

    return load_handler("recordShare").main_handler({"action": "myTeam"}, scf_context(openid_for(user)))
