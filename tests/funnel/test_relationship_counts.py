"""The funnel counts customer relationships (锁客) per day: begun, taken over, lost, run out, and in force at the
day's end — per inviter and in total — and the daily run keeps each lapse in the sharing wing's history, once."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.platform.admin import make_admin_token
from tests.conftest import ADMIN_SECRET, configured_handler, fixed_clock, openid_for, scf_context

START = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.timezone.utc)  # 18:00 in Shanghai
RULE = {"BIND_VALIDITY_DAYS": "10", "BIND_PROTECT_DAYS": "0"}


@pytest.fixture
def campaign(database):
    """alice brings carol and dave on 11-01; bob takes carol over on 11-02; dave's relationship runs out on 11-11."""
    with fixed_clock(START) as clock, configured_handler("recordShare", **RULE) as record_share:

        def call(user, event):
            answer = record_share.main_handler(event, scf_context(openid_for(user)))
            assert answer["ok"], answer
            return answer

        def land(user, code):
            return call(user, {"action": "land", "query": {"id": "sku-1", "i": code, "c": "chat"}, "launchScene": 1007})

        alice = call("alice", {"action": "share", "productId": "sku-1"})["inviterCode"]
        bob = call("bob", {"action": "share", "productId": "sku-1"})["inviterCode"]
        assert land("carol", alice)["relationship"] == "bound" and land("dave", alice)["relationship"] == "bound"
        clock.set(START + dt.timedelta(days=1))
        assert land("carol", bob)["relationship"] == "taken"
        clock.set(START + dt.timedelta(days=11))
        yield {"alice": alice, "bob": bob, "clock": clock}


def run_days(first, last):
    with configured_handler("dailyFunnel", **RULE) as module:
        event = {"from": first, "to": last, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])}
        answer = module.main_handler(event, scf_context(None, function_name="dailyFunnel"))
    assert answer["ok"], answer
    return answer


def relationships(database, day):
    return {
        row["key"]: row["relationships"]
        for row in database.funnel_daily.find({"date": day, "dim": {"$in": ["total", "inviter"]}})
        if "relationships" in row
    }


def counts(new=0, taken=0, lost=0, expired=0, live=0):
    return {"new": new, "taken": taken, "lost": lost, "expired": expired, "live": live}


def test_each_day_counts_relationships_begun_taken_lost_and_run_out(campaign, database):
    run_days("2026-11-01", "2026-11-11")
    alice, bob = campaign["alice"], campaign["bob"]
    # carol's relationship with alice was still in force at the end of 11-01: the history says so.
    assert relationships(database, "2026-11-01") == {
        "*": counts(new=2, live=2),
        alice: counts(new=2, live=2),
        bob: counts(),  # bob shared that day: a row, nothing of his in force yet
    }
    assert relationships(database, "2026-11-02") == {
        "*": counts(taken=1, lost=1, live=2),
        alice: counts(lost=1, live=1),
        bob: counts(taken=1, live=1),
    }
    # A quiet day has no rows at all; relationships merely in force give none.
    assert relationships(database, "2026-11-05") == {}
    # dave's ran out on 11-11 (10 days after 11-01 18:00); carol's with bob lasts until 11-12 18:00.
    assert relationships(database, "2026-11-11") == {"*": counts(expired=1, live=1), alice: counts(expired=1)}


def test_a_lapse_is_kept_in_the_history_once_however_often_the_day_is_run(campaign, database):
    run_days("2026-11-11", "2026-11-11")
    run_days("2026-11-01", "2026-11-11")
    lapses = list(database.users_relationships.find({"kind": "expired"}))
    assert [(c["invitee"], c["from"], c["inviter"], c["at"]) for c in lapses] == [
        (openid_for("dave"), campaign["alice"], None, START + dt.timedelta(days=10))
    ]
    # The relationship still in force is not a lapse, however far the run reaches.
    assert database.users_relationships.count_documents({"kind": "expired", "invitee": openid_for("carol")}) == 0


def test_a_relationship_that_ran_out_before_a_rebinding_is_counted_on_the_day_it_ran_out(campaign, database):
    clock = campaign["clock"]
    with configured_handler("recordShare", **RULE) as record_share:
        event = {"action": "land", "query": {"id": "sku-1", "i": campaign["bob"], "c": "chat"}, "launchScene": 1007}
        answer = record_share.main_handler(event, scf_context(openid_for("dave")))
    assert answer["relationship"] == "rebound" and clock.now() > START + dt.timedelta(days=10)
    run_days("2026-11-11", "2026-11-12")
    assert relationships(database, "2026-11-11")[campaign["alice"]] == counts(expired=1)
    assert relationships(database, "2026-11-12")[campaign["bob"]]["new"] == 1


def test_the_dashboard_shows_the_periods_relationships_and_each_inviters_in_force(campaign, database):
    from shared.funnel.dashboard import dashboard_model, render_dashboard

    run_days("2026-11-01", "2026-11-11")
    model = dashboard_model(database.funnel_daily.find(), dt.date(2026, 11, 1), dt.date(2026, 11, 11))
    assert model["relationships"] == {"new": 2, "taken": 1, "expired": 1, "live": 1, "liveOn": "2026-11-11"}
    live = {entry["key"]: entry.get("live") for entry in model["leaderboard"]}
    assert live == {campaign["alice"]: 0, campaign["bob"]: 1}  # each inviter's latest day with a row
    page = render_dashboard(model)
    section = page.split('<section id="relationships">', 1)[1].split("</section>", 1)[0]
    assert "新绑定" in section and "2026-11-11 日末仍锁定的客户" in section
    assert section.split('<div class="value">')[4].startswith("1<")  # the fourth card: in force
