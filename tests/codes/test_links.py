"""genWxacode's links — URL Link, URL Scheme, Short Link — against the WeChat emulator over real HTTP: the sharer's
share query, cached until a day before expiry, counted against the daily quota, and a landing through one recorded
and attributed like any other with the entry its launch scene says."""

import datetime as dt

import pytest

from tests.conftest import fixed_clock, gen_wxacode_handler, openid_for, snapshot

T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def gen_module(emulator):
    with gen_wxacode_handler(emulator, WXALINK_DAILY_QUOTA="3") as module:
        yield module


@pytest.fixture
def clock(gen):
    with fixed_clock(T0) as clock:
        yield clock


def link(gen, kind, user="alice", **fields):
    return gen({"action": "link", "kind": kind, "productId": "sku-42", **fields}, as_user=user)


@pytest.mark.parametrize(
    "kind,scene,entry", [("urllink", 1194, "urllink"), ("scheme", 1065, "urlscheme"), ("shortlink", 1179, "shortlink")]
)
def test_a_landing_through_a_link_is_attributed_to_the_sharer_with_its_entry(
    gen, invoke, emulator, database, clock, kind, scene, entry
):
    made = link(gen, kind, channel="chat", title="春季上新")
    assert made["ok"] and made["kind"] == kind and made["cached"] is False, made
    code = database.users.find_one({"_id": openid_for("alice")})["code"]
    assert made["path"] == f"/pages/product/product?id=sku-42&i={code}&c=chat"
    opened = emulator.open_link(made["link"])  # someone taps it in an SMS, a browser or a chat
    assert opened["scene"] == scene and opened["path"] == "pages/product/product"
    landed = invoke({"action": "land", "query": opened["query"], "launchScene": opened["scene"]}, as_user="bob")
    assert landed["recorded"] and landed["attributedTo"] == code and landed["entry"] == entry, landed
    event = database.share_events.find_one({"invitee": openid_for("bob")})
    assert event["entry"] == entry and event["inviter"] == code and event["channel"] == "chat"
    intent = database.share_intents.find_one({"sharer": code})
    assert intent["source"] == "link"  # making a link is the sharer's share intent, as a poster code is


def test_the_same_link_twice_calls_wechat_once(gen, emulator, clock):
    first = link(gen, "urllink")
    again = link(gen, "urllink")
    assert again["cached"] is True and again["link"] == first["link"]
    assert emulator.calls["generate_urllink"] == 1


def test_a_link_near_its_expiry_is_made_again(gen, emulator, clock):
    first = link(gen, "urllink")
    clock.set(T0 + dt.timedelta(days=29, hours=1))  # less than a day left of its 30
    renewed = link(gen, "urllink")
    assert renewed["cached"] is False and renewed["link"] != first["link"]
    assert emulator.calls["generate_urllink"] == 2


def test_a_spent_daily_quota_is_answered_without_calling_wechat(gen, emulator, clock):
    for product in ("a1", "a2", "a3"):
        assert gen({"action": "link", "kind": "scheme", "productId": product}, as_user="alice")["ok"]
    spent = gen({"action": "link", "kind": "urllink", "productId": "a4"}, as_user="alice")  # links + schemes: one quota
    assert spent["error"]["code"] == "QUOTA_EXHAUSTED" and emulator.calls["generate_urllink"] == 0
    cached = gen({"action": "link", "kind": "scheme", "productId": "a1"}, as_user="alice")
    assert cached["ok"] and cached["cached"]  # made links are still handed out
    clock.set(T0 + dt.timedelta(days=1))  # a new day (Beijing time)
    assert gen({"action": "link", "kind": "urllink", "productId": "a4"}, as_user="alice")["ok"]


def test_wechats_own_quota_error_is_answered_and_its_count_given_back(gen, emulator, database, clock):
    emulator.fail_next("link_quota")
    refused = link(gen, "urllink")
    assert refused["error"]["code"] == "QUOTA_EXHAUSTED" and refused["error"]["errcode"] == 45009
    assert database.wxacodes_link_quota.find_one({})["count"] == 0 and database.wxacodes_links.count_documents({}) == 0
    assert link(gen, "urllink")["ok"]


def test_an_unpublished_page_is_refused_and_nothing_is_stored(gen, emulator, database, clock):
    refused = link(gen, "urllink", page="pages/draft/draft")
    assert refused["error"]["code"] == "BAD_PAGE" and database.wxacodes_links.count_documents({}) == 0


BAD = [
    ("unknown kind", {"kind": "sms"}),
    ("no kind", {}),
    ("page with a query", {"kind": "urllink", "page": "pages/product/product?x=1"}),
    ("operator product", {"kind": "urllink", "productId": {"$ne": ""}}),
    ("long title", {"kind": "shortlink", "title": "标" * 65}),
    ("a field in the wrong case", {"kind": "urllink", "Channel": "chat"}),
    ("bad env", {"kind": "scheme", "envVersion": "beta"}),
]


@pytest.mark.parametrize("case,fields", BAD, ids=[case for case, _ in BAD])
def test_bad_link_requests_write_nothing(gen, emulator, database, clock, case, fields):
    before = snapshot(database)
    refused = gen({"action": "link", "productId": "sku-42", **fields}, as_user="alice")
    assert refused["error"]["code"] == "BAD_INPUT", refused
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0


def test_links_for_other_sharers_are_for_admins_only(gen, sharer_code, emulator, clock):
    bobs = sharer_code("bob")
    refused = link(gen, "urllink", user="mallory", inviter=bobs)
    assert refused["error"]["code"] == "FORBIDDEN" and emulator.calls["generate_urllink"] == 0
    made = link(gen, "urllink", user="admin", inviter=bobs)
    assert made["ok"] and f"i={bobs}" in made["path"]
