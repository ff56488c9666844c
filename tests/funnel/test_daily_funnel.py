"""dailyFunnel through main_handler: a small campaign recorded through recordShare at fixed instants, orders
in the app's own collection, and report rows checked against numbers computed by hand."""

import datetime as dt
import json

import pytest

from shared.funnel.definition import SHANGHAI, VOLATILE_FIELDS
from shared.platform.admin import make_admin_token
from tests.conftest import ADMIN_SECRET, configured_handler, fixed_clock, openid_for, scf_context, snapshot

D1, D2 = "2026-11-10", "2026-11-11"
ORDER_ENV = {"ORDER_STATUS_FIELD": "status", "ORDER_PAID_VALUES": "paid"}


def at(day, hh, mm=0, ss=0):
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hh, mm, ss), SHANGHAI)


@pytest.fixture(scope="module")
def first_touch():
    with configured_handler("dailyFunnel", **ORDER_ENV) as module:
        yield module


@pytest.fixture(scope="module")
def last_touch():
    with configured_handler("dailyFunnel", FUNNEL_MODEL="last_touch", **ORDER_ENV) as module:
        yield module


@pytest.fixture
def clock():
    with fixed_clock(at(D1, 8)) as clock:
        yield clock


@pytest.fixture
def campaign(invoke, database, clock):
    """Hand-checked scenario (Shanghai times; window 7 days):

    D1 09:00 alice shares sku-1 (chat); 10:00 bob shares sku-1 (chat); u4 opens the app organically at 08:00.
    D1 12:00 u3 lands via alice (1007); 13:00 alice opens her own link (self-invite, not recorded);
    D1 15:00 u3 lands via bob (1008); 16:00 u4 lands via bob (1007); 23:59:59 u1 lands via alice (1007).
    D2 00:00:00 u2 lands via alice (1007); 08:00 alice shares sku-2 (poster).
    Orders: u3 D1 18:00 100 paid; u4 D1 17:00 20 paid; alice D1 20:00 30 paid (self order);
    u2 D2 01:00 50 paid and D2 02:00 999 refunded; u1 one second after its window closes, 70 paid.
    """

    def share(user, product, channel, moment):
        clock.set(moment)
        response = invoke({"action": "share", "productId": product, "channel": channel}, as_user=user)
        assert response["ok"], response
        return response["inviterCode"]

    def land(user, code, scene, moment, product="sku-1"):
        clock.set(moment)
        query = {"id": product} if code is None else {"id": product, "i": code, "c": "chat"}
        response = invoke({"action": "land", "query": query, "launchScene": scene}, as_user=user)
        assert response["ok"], response
        return response

    land("u4", None, 1001, at(D1, 8))
    alice = share("alice", "sku-1", "chat", at(D1, 9))
    bob = share("bob", "sku-1", "chat", at(D1, 10))
    land("u3", alice, 1007, at(D1, 12))
    assert land("alice", alice, 1007, at(D1, 13))["recorded"] is False
    land("u3", bob, 1008, at(D1, 15))
    land("u4", bob, 1007, at(D1, 16))
    land("u1", alice, 1007, at(D1, 23, 59, 59))
    land("u2", alice, 1007, at(D2, 0))
    share("alice", "sku-2", "poster", at(D2, 8))

    def order(oid, user, moment, amount, status="paid"):
        database.orders.insert_one(
            {
                "_id": oid,
                "_openid": openid_for(user),
                "createdAt": moment.astimezone(dt.timezone.utc),
                "amount": amount,
                "status": status,
            }
        )

    order("o-u3", "u3", at(D1, 18), 100)
    order("o-u4", "u4", at(D1, 17), 20)
    order("o-self", "alice", at(D1, 20), 30)
    order("o-u2", "u2", at(D2, 1), 50)
    order("o-u2-refund", "u2", at(D2, 2), 999, status="refunded")
    order("o-u1-late", "u1", at(D1, 23, 59, 59) + dt.timedelta(days=7, seconds=1), 70)
    clock.set(at("2026-12-15", 2, 17))
    return {"alice": alice, "bob": bob}


def admin_run(module, event):
    return module.main_handler(
        {**event, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
        scf_context(None, function_name="dailyFunnel"),
    )


def rows(database, day):
    return {row["_id"].split("|", 1)[1]: row for row in database.funnel_daily.find({"date": day})}


def stable_rows(database):
    """Every report row without the fields a rerun may change (computedAt, runId)."""
    return {r["_id"]: {k: v for k, v in r.items() if k not in VOLATILE_FIELDS} for r in database.funnel_daily.find()}


STEP_FIELDS = ("intents", "sharers", "landings", "invitees", "newUsers", "converters", "conversions", "revenue")


def counts(row):
    return tuple(row[field] for field in STEP_FIELDS)


def test_first_touch_report_matches_the_hand_computed_numbers(first_touch, database, campaign):
    response = admin_run(first_touch, {"from": D1, "to": D2})
    assert response["ok"] and response["days"] == 2, response
    a, b = campaign["alice"], campaign["bob"]
    day1 = rows(database, D1)
    assert counts(day1["total|*"]) == (2, 2, 4, 3, 2, 1, 1, 100)
    assert counts(day1[f"inviter|{a}"]) == (1, 1, 2, 2, 2, 1, 1, 100)
    assert counts(day1[f"inviter|{b}"]) == (1, 1, 2, 2, 0, 0, 0, 0)
    assert counts(day1["entry|chat"]) == (0, 0, 3, 3, 2, 1, 1, 100)
    assert counts(day1["entry|group"]) == (0, 0, 1, 1, 0, 0, 0, 0)
    assert counts(day1["channel|chat"]) == (2, 2, 4, 3, 2, 1, 1, 100)
    assert counts(day1["product|sku-1"]) == (2, 2, 4, 3, 2, 1, 1, 100)
    assert set(day1) == {
        "total|*",
        f"inviter|{a}",
        f"inviter|{b}",
        "entry|chat",
        "entry|group",
        "channel|chat",
        "product|sku-1",
        "group|(none)",
        "chatType|(none)",
    }  # no landing of this campaign had a group
    assert counts(day1["group|(none)"]) == (0, 0, 4, 3, 2, 1, 1, 100) and day1["total|*"]["groupsReached"] == 0
    total = day1["total|*"]
    assert total["timeToConvert"] == {
        "medianSeconds": 6 * 3600,
        "p90Seconds": 6 * 3600,
        "histogram": [0, 0, 1, 0, 0, 0],
    }
    # Viral loop: alice and bob are seeds, so both new users (u3, u1) are generation 1; no invitee shared.
    assert total["rates"] == {
        "landingsPerIntent": 2.0,
        "newUserRate": 0.6667,
        "conversionRate": 0.3333,
        "kFactor": 1.0,
        "reproductionRate": 0.0,
        "gen2PlusShare": 0.0,
    }
    assert (total["generations"], total["cascadeDepth"], total["sharingInvitees"]) == ({"1": 2}, 1, 0)
    assert (total["window"], total["model"], total["matured"]) == (7, "first_touch", True)
    day2 = rows(database, D2)
    assert counts(day2["total|*"]) == (1, 1, 1, 1, 1, 1, 1, 50)  # the 23:59:59 / 00:00:00 pair split correctly
    assert counts(day2["product|sku-2"]) == (1, 1, 0, 0, 0, 0, 0, 0)
    assert counts(day2["channel|poster"]) == (1, 1, 0, 0, 0, 0, 0, 0)
    assert counts(day2["product|sku-1"]) == (0, 0, 1, 1, 1, 1, 1, 50)  # the refund is filtered out
    assert day2["total|*"]["timeToConvert"]["medianSeconds"] == 3600


def test_last_touch_credits_the_latest_landing_before_the_order(last_touch, database, campaign):
    admin_run(last_touch, {"from": D1, "to": D2})
    a, b = campaign["alice"], campaign["bob"]
    day1 = rows(database, D1)
    assert counts(day1["total|*"]) == (2, 2, 4, 3, 2, 2, 2, 120)  # u3 → bob, u4 → bob; alice's self order: no one
    assert counts(day1[f"inviter|{a}"]) == (1, 1, 2, 2, 2, 0, 0, 0)
    assert counts(day1[f"inviter|{b}"]) == (1, 1, 2, 2, 0, 2, 2, 120)
    assert counts(day1["entry|group"]) == (0, 0, 1, 1, 0, 1, 1, 100)
    assert day1["total|*"]["timeToConvert"] == {
        "medianSeconds": 3600,
        "p90Seconds": 3 * 3600,
        "histogram": [0, 2, 0, 0, 0, 0],
    }  # 1 h and 3 h: both in 1–6 h
    assert day1["total|*"]["model"] == "last_touch"


def test_a_share_cascade_gives_generations_k_factor_and_reproduction(first_touch, database, invoke, clock):
    """seed shares on D1 09:00; u-a lands via seed at 10:00 (new: generation 1) and shares at 11:00; u-b lands via
    u-a at 12:00 (new: generation 2) and shares on D2 09:00 (within the window); u-c lands via u-b on D2 10:00
    (new: generation 3); u-d, already seen organically, lands via seed on D1 13:00 (not new)."""

    def share(user, moment):
        clock.set(moment)
        return invoke({"action": "share", "productId": "sku-9", "channel": "chat"}, as_user=user)["inviterCode"]

    def land(user, code, moment):
        clock.set(moment)
        assert invoke(
            {"action": "land", "query": {"id": "sku-9", "i": code, "c": "chat"}, "launchScene": 1007}, as_user=user
        )["ok"]

    land("u-d", None, at(D1, 8))
    seed = share("seed", at(D1, 9))
    land("u-a", seed, at(D1, 10))
    a = share("u-a", at(D1, 11))
    land("u-b", a, at(D1, 12))
    land("u-d", seed, at(D1, 13))
    b = share("u-b", at(D2, 9))
    land("u-c", b, at(D2, 10))
    clock.set(at("2026-12-15", 2, 17))
    assert admin_run(first_touch, {"from": D1, "to": D2})["ok"]
    day1, day2 = rows(database, D1), rows(database, D2)
    total = day1["total|*"]
    # D1: sharers seed, u-a (2); new users u-a (gen 1), u-b (gen 2); invitees u-a, u-b, u-d; u-a and u-b shared.
    assert (total["sharers"], total["newUsers"], total["invitees"], total["sharingInvitees"]) == (2, 2, 3, 2)
    assert (total["generations"], total["cascadeDepth"]) == ({"1": 1, "2": 1}, 2)
    assert (total["rates"]["kFactor"], total["rates"]["reproductionRate"], total["rates"]["gen2PlusShare"]) == (
        1.0,
        1.0,
        0.5,
    )
    assert day1[f"inviter|{seed}"]["generations"] == {"1": 1} and day1[f"inviter|{a}"]["generations"] == {"2": 1}
    assert day1[f"inviter|{seed}"]["sharingInvitees"] == 1  # u-a; u-d never shared
    # D2: sharer u-b; new user u-c of generation 3, all growth from generation ≥ 2.
    total2 = day2["total|*"]
    assert (total2["sharers"], total2["newUsers"], total2["generations"], total2["cascadeDepth"]) == (1, 1, {"3": 1}, 3)
    assert (total2["rates"]["kFactor"], total2["rates"]["gen2PlusShare"], total2["rates"]["reproductionRate"]) == (
        1.0,
        1.0,
        0.0,
    )
    # Intents stored before they carried the sharer's openid: the codes are looked up instead, same numbers.
    before = stable_rows(database)
    database.share_intents.update_many({}, {"$unset": {"sharerOpenid": ""}})
    assert admin_run(first_touch, {"from": D1, "to": D2})["ok"] and stable_rows(database) == before


def test_generations_follow_the_inviter_chain_and_stop_at_a_loop():
    from shared.funnel.definition import MAX_GENERATION, generations_of

    chain = {"c3": "c2", "c2": "c1", "c1": None, "x": "y", "y": "x"}
    lookups = []

    def inviter_of(codes):
        lookups.append(list(codes))
        return {code: chain[code] for code in codes if code in chain}

    assert generations_of(["c3", "c1"], inviter_of) == {"c1": 0, "c2": 1, "c3": 2}
    assert len(lookups) == 2  # one batched lookup per generation
    looped = generations_of(["x"], inviter_of)
    assert set(looped) == {"x", "y"} and max(looped.values()) <= MAX_GENERATION


def test_rerun_produces_identical_rows(first_touch, database, campaign):
    first = admin_run(first_touch, {"from": D1, "to": D2})
    before = stable_rows(database)
    again = admin_run(first_touch, {"from": D1, "to": D2})
    after = stable_rows(database)
    assert before == after and first["checksum"] == again["checksum"] and first["runId"] != again["runId"]
    runs = list(database.funnel_runs.find().sort("startedAt", 1))
    assert [r["status"] for r in runs] == ["done", "done"] and runs[0]["checksum"] == runs[1]["checksum"]


def test_young_cohorts_are_not_matured(first_touch, database, campaign, clock):
    clock.set(at(D2, 12))
    admin_run(first_touch, {"date": D1})
    assert rows(database, D1)["total|*"]["matured"] is False


def test_rows_that_lose_their_data_are_removed(first_touch, database, campaign):
    admin_run(first_touch, {"date": D2})
    assert "product|sku-2" in rows(database, D2)
    database.share_intents.delete_many({"productId": "sku-2"})
    admin_run(first_touch, {"date": D2})
    assert "product|sku-2" not in rows(database, D2) and "channel|poster" not in rows(database, D2)


def test_timer_run_recomputes_the_trailing_window_ending_yesterday(first_touch, database, campaign, clock, monkeypatch):
    clock.set(at("2026-11-13", 2, 17))
    monkeypatch.setenv("TRIGGER_SRC", "timer")
    response = first_touch.main_handler(
        {"Type": "Timer", "TriggerName": "daily", "Time": "2026-11-12T18:17:00Z"},
        scf_context(None, function_name="dailyFunnel"),
    )
    assert response["ok"] and (response["from"], response["to"], response["days"]) == ("2026-11-05", "2026-11-12", 8)
    assert counts(rows(database, D1)["total|*"]) == (2, 2, 4, 3, 2, 1, 1, 100)


def test_a_forged_timer_event_is_forbidden_and_writes_nothing(first_touch, database, campaign, monkeypatch, capsys):
    monkeypatch.setenv("TRIGGER_SRC", "timer")  # even a warm instance that last ran the timer
    before = snapshot(database)
    capsys.readouterr()
    response = first_touch.main_handler(
        {"Type": "Timer"}, scf_context(openid_for("mallory"), function_name="dailyFunnel")
    )
    assert response["error"]["code"] == "FORBIDDEN" and snapshot(database) == before
    rejected = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "timer_event_rejected" in line]
    assert rejected and rejected[0]["level"] == "ERROR" and "WX_OPENID" in rejected[0]["environment_keys"]
    assert openid_for("mallory") not in json.dumps(rejected)  # key names only, never values
    monkeypatch.delenv("TRIGGER_SRC")
    response = first_touch.main_handler({"Type": "Timer"}, scf_context(None, function_name="dailyFunnel"))
    assert response["error"]["code"] == "FORBIDDEN" and snapshot(database) == before


def test_backfills_are_for_admins_only(first_touch, database, campaign):
    before = snapshot(database)
    response = first_touch.main_handler({"date": D1}, scf_context(openid_for("alice"), function_name="dailyFunnel"))
    assert response["error"]["code"] == "FORBIDDEN" and snapshot(database) == before
    by_openid = first_touch.main_handler({"date": D1}, scf_context(openid_for("admin"), function_name="dailyFunnel"))
    assert by_openid["ok"]


BAD = [
    ("range of 401 days", {"from": "2025-01-01", "to": "2026-02-05"}),
    ("to before from", {"from": D2, "to": D1}),
    ("not a date", {"date": "2026-13-01"}),
    ("date as number", {"date": 20261110}),
    ("no date at all", {}),
    ("future date", {"date": "2027-01-01"}),
    ("operator in date", {"date": {"$gt": ""}}),
    ("year 1", {"date": "0001-01-01"}),
    ("year 1 range", {"from": "0001-01-01", "to": "0001-01-03"}),
    ("before mini programs existed", {"date": "2014-12-31"}),
    ("year 9999", {"date": "9999-12-31"}),
    ("basic ISO form 3.11 accepts", {"date": "20261110"}),
    ("ISO week date 3.11 accepts", {"date": "2026-W46-2"}),
    ("datetime", {"date": "2026-11-10T00:00:00"}),
    ("single-digit month", {"date": "2026-1-10"}),
    ("full-width digits", {"date": "２０２６-１１-１０"}),
    ("Arabic-Indic digits", {"date": "٢٠٢٦-١١-١٠"}),
    ("February 30", {"date": "2026-02-30"}),
    ("lone surrogate", {"date": "2026-11-1\ud800"}),
    ("trailing space", {"date": "2026-11-10 "}),
]


@pytest.mark.parametrize("case,event", BAD, ids=[c for c, _ in BAD])
def test_bad_backfill_requests_write_nothing(first_touch, database, campaign, case, event):
    before = snapshot(database)
    response = admin_run(first_touch, event)
    assert response["error"]["code"] == "BAD_INPUT", response
    assert snapshot(database) == before


@pytest.mark.parametrize("token", ["\ud800.\udc00", "é.ü", "x" * 600, 7, "\udfff"], ids=repr)
def test_any_admin_token_that_is_not_ours_is_forbidden_and_writes_nothing(first_touch, database, campaign, token):
    before = snapshot(database)
    response = first_touch.main_handler(
        {"date": D1, "adminToken": token}, scf_context(None, function_name="dailyFunnel")
    )
    assert response["error"]["code"] in ("FORBIDDEN", "BAD_INPUT"), response
    assert snapshot(database) == before


@pytest.mark.parametrize(
    "dates",
    [
        ["0001-01-01", "0001-01-02"],
        ["20261110", "20261110"],
        ["2026-11-10", "2014-01-01"],
        ["2026-11-10", "2099-01-01"],
    ],
    ids=repr,
)
def test_the_cli_refuses_what_the_handler_refuses(database, campaign, dates, capsys):
    from shared.ops import cli

    before = snapshot(database)
    assert cli.main(["funnel", "--from", dates[0], "--to", dates[1]]) == 1
    assert "BAD_INPUT" in capsys.readouterr().err
    assert snapshot(database) == before


def test_a_run_that_fails_midway_reruns_to_the_same_rows(first_touch, database, campaign):
    admin_run(first_touch, {"from": D1, "to": D2})
    clean = stable_rows(database)
    database.funnel_daily.delete_many({})
    # The second day's previous report: one row, then a real database failure on that day (a constraint
    # that rejects any further row dated D2).
    previous = {"_id": f"{D2}|total|*", "date": D2, "dim": "total", "key": "*", "landings": 999}
    database.funnel_daily.insert_one(previous)
    database.funnel_daily.create_index(
        [("date", 1)], unique=True, name="sabotage", partialFilterExpression={"date": {"$eq": D2}}
    )
    failed = admin_run(first_touch, {"from": D1, "to": D2})
    assert failed["error"]["code"] == "UNAVAILABLE"
    run = database.funnel_runs.find_one({"status": "failed"})
    assert run["finishedDays"] == [D1] and "error" in run
    assert {r["runId"] for r in rows(database, D1).values()} == {run["_id"]}  # the finished day is new
    assert rows(database, D2) == {"total|*": previous}  # the unfinished day keeps its previous rows
    database.funnel_daily.drop_index("sabotage")
    assert admin_run(first_touch, {"from": D1, "to": D2})["ok"]
    rerun = stable_rows(database)
    assert rerun == clean


def test_a_failed_timer_run_raises_so_scf_retries(first_touch, database, campaign, clock, monkeypatch):
    clock.set(at(D2, 2, 17) + dt.timedelta(days=1))
    monkeypatch.setenv("TRIGGER_SRC", "timer")
    database.funnel_daily.create_index(
        [("date", 1)], unique=True, name="sabotage", partialFilterExpression={"date": {"$eq": D1}}
    )
    database.funnel_daily.insert_one({"_id": "blocker", "date": D1})
    try:
        with pytest.raises(RuntimeError, match="UNAVAILABLE"):
            first_touch.main_handler({"Type": "Timer"}, scf_context(None, function_name="dailyFunnel"))
    finally:
        database.funnel_daily.drop_index("sabotage")


def test_cli_backfills_and_writes_an_html_report_with_one_bar_per_step(
    database, campaign, tmp_path, monkeypatch, capsys
):
    from html.parser import HTMLParser

    from shared.ops import cli

    for key, value in ORDER_ENV.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["funnel", "--from", D1, "--to", D2]) == 0
    assert database.funnel_runs.find_one({"trigger": "cli", "status": "done"})
    page = tmp_path / "report.html"
    assert cli.main(["report", "--date", D1, "--html", str(page)]) == 0
    assert cli.main(["report", "--date", D1]) == 0
    text = capsys.readouterr().out
    assert "Landings" in text and campaign["alice"] in text

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.bars, self.inviter_rows, self.tags, self._in_inviters = [], 0, [], False

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            self.tags.append(tag)
            if tag == "rect" and attrs.get("class") == "step":
                self.bars.append(attrs["data-step"])
            if tag == "table":
                self._in_inviters = attrs.get("class") == "inviter"
            if tag == "tr" and self._in_inviters:
                self.inviter_rows += 1

    parser = Collect()
    parser.feed(page.read_text(encoding="utf-8"))
    assert parser.bars == ["intents", "landings", "invitees", "newUsers", "converters"]
    assert parser.inviter_rows == 1 + 2  # header + alice + bob
    assert "script" not in parser.tags and "http" not in page.read_text(encoding="utf-8").replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert cli.main(["report", "--date", D1, "--json"]) == 0
    import json

    rows = json.loads(capsys.readouterr().out)
    assert {r["_id"] for r in rows} == {r["_id"] for r in database.funnel_daily.find({"date": D1})}


def test_cli_writes_the_multi_day_dashboard_in_either_language(database, campaign, tmp_path, monkeypatch):
    from shared.ops import cli

    for key, value in {
        **ORDER_ENV,
        "FUNNEL_MODEL": "first_touch",
    }.items():  # a module's last_touch handler may be alive
        monkeypatch.setenv(key, value)
    assert cli.main(["funnel", "--from", D1, "--to", D2]) == 0
    zh, en = tmp_path / "zh.html", tmp_path / "en.html"
    assert cli.main(["dashboard", "--from", D1, "--to", D2, "--out", str(zh)]) == 0
    assert cli.main(["dashboard", "--from", D1, "--to", D2, "--lang", "en", "--out", str(en)]) == 0
    page = zh.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and '<html lang="en">' in en.read_text(encoding="utf-8")
    assert campaign["alice"] in page and "¥150.00" in page  # the leaderboard, and the range's revenue (100 + 50)
    with pytest.raises(SystemExit):
        cli.main(["dashboard", "--days", "0"])


@pytest.mark.parametrize("model", ["first_touch", "last_touch"])
@pytest.mark.parametrize(
    "shared_after,counted",
    [
        (dt.timedelta(days=7) - dt.timedelta(minutes=31), 1),  # D1 00:30 landing, share at D8 23:59: inside
        (dt.timedelta(days=7) - dt.timedelta(minutes=30), 0),  # D9 00:00: the window from D1's start is over
        (dt.timedelta(days=7, hours=19), 0),  # the reported case: 7 days 19 hours after the landing
    ],
)
def test_sharing_invitees_count_shares_within_the_window_from_the_landing_days_start(
    model, shared_after, counted, first_touch, last_touch, database, invoke, clock
):
    """Hand-computed (window 7 days): bob lands via alice on D1 at 00:30 and shares ``shared_after`` later; the
    window runs from D1 00:00 to D8 24:00 (Shanghai), so a share counts only before D9 begins."""
    clock.set(at(D1, 0, 10))
    alice = invoke({"action": "share", "productId": "sku-7", "channel": "chat"}, as_user="alice")["inviterCode"]
    landed = at(D1, 0, 30)
    clock.set(landed)
    assert invoke(
        {"action": "land", "query": {"id": "sku-7", "i": alice, "c": "chat"}, "launchScene": 1007}, as_user="bob"
    )["recorded"]
    clock.set(landed + shared_after)
    assert invoke({"action": "share", "productId": "sku-7", "channel": "chat"}, as_user="bob")["ok"]
    clock.set(at("2026-12-15", 2, 17))
    module = first_touch if model == "first_touch" else last_touch
    assert admin_run(module, {"from": D1, "to": D1})["ok"]
    total = rows(database, D1)["total|*"]
    assert total["sharingInvitees"] == counted
    assert total["rates"]["reproductionRate"] == (1.0 if counted else 0.0)
