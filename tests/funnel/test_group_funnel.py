"""The funnel's group dimension, hand-computed: landings opened from WeChat groups (resolved by recordShare through
the WeChat emulator), per group alias and chat type, and how many groups each inviter's shares reached."""

import datetime as dt

import pytest

from shared.funnel.definition import SHANGHAI
from shared.platform import instance
from shared.platform.clock import FixedClock
from tests.conftest import configured_handler, openid_for, record_share_handler, scf_context
from tests.funnel.test_daily_funnel import ORDER_ENV, admin_run, rows

DAY = "2026-11-10"


@pytest.fixture(scope="module")
def grouped(emulator):
    with record_share_handler(emulator) as module:
        yield module


@pytest.fixture(scope="module")
def funnel():
    with configured_handler("dailyFunnel", **ORDER_ENV) as module:
        yield module


def test_groups_are_a_funnel_dimension_with_groups_reached_per_inviter(grouped, funnel, emulator, database):
    """alice's card: u1, u2 open it in group G1, u3 in group G2; bob's card: u4 in G1, u5 in a single chat,
    u6 with an expired cloudID (kept, no group). u1 and u5 buy."""
    emulator.reset()
    clock = FixedClock(dt.datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI))
    instance.use_clock(clock)
    try:

        def share(user):
            return grouped.main_handler({"action": "share", "productId": "sku-1"}, scf_context(openid_for(user)))[
                "inviterCode"
            ]

        def land(user, code, **cloud):
            clock.advance(minutes=10)
            cloud_id = emulator.issue_group_cloud_id(openid_for(user), **cloud)
            response = grouped.main_handler(
                {"action": "land", "query": {"id": "sku-1", "i": code}, "launchScene": 1044, "groupCloudID": cloud_id},
                scf_context(openid_for(user)),
            )
            assert response["recorded"], response
            return response["group"]

        alice, bob = share("alice"), share("bob")
        g1 = land("u1", alice, opengid="G1")["alias"]
        land("u2", alice, opengid="G1")
        g2 = land("u3", alice, opengid="G2")["alias"]
        land("u4", bob, opengid="G1")
        room = land("u5", bob, single_roomid="R5", chat_type=1)["alias"]
        assert land("u6", bob, opengid="G3", age_seconds=600) is None  # expired: kept without a group
        for user, amount in (("u1", 100), ("u5", 30)):
            database.orders.insert_one(
                {
                    "_openid": openid_for(user),
                    "amount": amount,
                    "status": "paid",
                    "createdAt": clock.now() + dt.timedelta(hours=1),
                }
            )
        clock.set(dt.datetime(2026, 11, 20, 2, 17, tzinfo=SHANGHAI))
        assert admin_run(funnel, {"date": DAY})["ok"]
    finally:
        instance.reset()
    day = rows(database, DAY)

    def of(key):
        row = day[key]
        return row["landings"], row["invitees"], row["converters"], row["revenue"], row["groupsReached"]

    assert of(f"group|{g1}") == (3, 3, 1, 100, 1)
    assert of(f"group|{g2}") == (1, 1, 0, 0, 1)
    assert of(f"group|{room}") == (1, 1, 1, 30, 0)  # a single chat is a room, not a group reached
    assert of("group|(none)") == (1, 1, 0, 0, 0)
    assert of("chatType|group") == (4, 4, 1, 100, 2)
    assert of("chatType|single") == (1, 1, 1, 30, 0)
    assert of(f"inviter|{alice}")[4] == 2 and of(f"inviter|{bob}")[4] == 1
    assert of("total|*") == (6, 6, 2, 130, 2)
    assert not any("G1" in key or "R5" in key for key in day)  # rows carry aliases, never raw ids


def test_the_report_shows_a_group_leaderboard_by_alias(database):
    from shared.funnel.report import html_report, text_report

    rows = [
        {
            "_id": f"{DAY}|{dim}|{key}",
            "date": DAY,
            "dim": dim,
            "key": key,
            "intents": 0,
            "sharers": 0,
            "landings": n,
            "invitees": n,
            "newUsers": n,
            "groupsReached": reached,
            "converters": 0,
            "conversions": 0,
            "revenue": 0.0,
            "rates": {"landingsPerIntent": None, "newUserRate": 1.0, "conversionRate": 0.0},
            "timeToConvert": {"medianSeconds": None, "p90Seconds": None},
            "window": 7,
            "model": "first_touch",
            "matured": True,
        }
        for dim, key, n, reached in (
            ("total", "*", 5, 2),
            ("group", "g-aaaa", 3, 1),
            ("group", "g-bbbb", 2, 1),
            ("inviter", "Ab3dE9", 5, 2),
        )
    ]
    page = html_report(DAY, rows)
    assert '<table class="group">' in page and page.index("g-aaaa") < page.index("g-bbbb")
    assert "by group:" in text_report(DAY, rows)
