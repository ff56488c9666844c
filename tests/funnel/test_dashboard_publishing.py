"""Where the operator opens the dashboard: after a successful timer run dailyFunnel stores the page (CloudBase
storage through the WeChat emulator, or a local folder) and records where; a failed upload never fails the run and
the next run publishes again; admins get the latest dashboard's link and a range's rows as JSON."""

import datetime as dt
import json

import pytest
import requests

from shared.funnel.definition import SHANGHAI
from shared.platform.admin import make_admin_token
from tests.conftest import ADMIN_SECRET, configured_handler, fixed_clock, openid_for, scf_context, snapshot

TIMER = {"Type": "Timer", "TriggerName": "daily", "Time": "2026-11-12T18:17:00Z"}
NOW = dt.datetime(2026, 11, 13, 2, 17, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    with fixed_clock(NOW) as clock:
        yield clock


@pytest.fixture
def landed(invoke, clock):
    """One share and one landing on 2026-11-12, so the report has rows."""
    clock.set(dt.datetime(2026, 11, 12, 9, tzinfo=SHANGHAI))
    code = invoke({"action": "share", "productId": "sku-1", "channel": "chat"}, as_user="alice")["inviterCode"]
    clock.set(dt.datetime(2026, 11, 12, 10, tzinfo=SHANGHAI))
    assert invoke(
        {"action": "land", "query": {"id": "sku-1", "i": code, "c": "chat"}, "launchScene": 1007}, as_user="bob"
    )["ok"]
    clock.set(NOW)
    return code


def timer_run(module, monkeypatch, time_limit_in_ms=60000):
    monkeypatch.setenv("TRIGGER_SRC", "timer")
    try:
        return module.main_handler(
            dict(TIMER), scf_context(None, function_name="dailyFunnel", time_limit_in_ms=time_limit_in_ms)
        )
    finally:
        monkeypatch.delenv("TRIGGER_SRC")


def admin_view(module, **fields):
    return module.main_handler(
        {"action": "dashboard", **fields, "adminToken": make_admin_token(ADMIN_SECRET, ["read"])},
        scf_context(None, function_name="dailyFunnel"),
    )


def tcb_funnel(emulator):
    return configured_handler(
        "dailyFunnel",
        WECHAT_APPID=emulator.appid,
        WECHAT_APPSECRET=emulator.secret,
        WECHAT_API_BASE=emulator.base_url,
        TCB_ENV=emulator.tcb_env,
        STORAGE_BACKEND="",
    )


def test_a_timer_run_publishes_the_dashboard_to_cloudbase_and_admins_get_a_link(
    emulator, database, landed, monkeypatch
):
    with tcb_funnel(emulator) as module:
        result = timer_run(module, monkeypatch)
        assert result["ok"] and result["dashboard"]["status"] == "published", result
        key = "share-funnel/dashboard/2026-10-30_2026-11-12.html"  # the last 14 days: a stable path per range
        assert result["dashboard"]["key"] == key and key in emulator.files
        assert result["dashboard"]["fileId"].startswith(f"cloud://{emulator.tcb_env}.")
        assert "分享裂变看板" in emulator.files[key].decode("utf-8")
        run = database.funnel_runs.find_one({"_id": result["runId"]})
        assert run["status"] == "done" and run["dashboard"]["status"] == "published"

        view = admin_view(module, dims=["total", "inviter"])
    assert view["ok"] and view["dashboard"]["fileId"] == result["dashboard"]["fileId"]
    page = requests.get(view["dashboard"]["url"], timeout=5)
    assert page.status_code == 200 and page.content == emulator.files[key]
    assert (view["from"], view["to"]) == ("2026-10-30", "2026-11-12")
    assert {(r["date"], r["dim"]) for r in view["rows"]} == {("2026-11-12", "total"), ("2026-11-12", "inviter")}
    assert view["summary"]["period"]["landings"] == 1 and json.dumps(view)  # plain JSON for an app's admin page
    assert openid_for("bob") not in json.dumps(view)


def test_a_failed_upload_keeps_the_run_and_the_next_run_publishes(emulator, database, landed, monkeypatch):
    with tcb_funnel(emulator) as module:
        emulator.fail_next("storage_500")
        failed = timer_run(module, monkeypatch)
        assert failed["ok"] and failed["dashboard"] == {
            "from": "2026-10-30",
            "to": "2026-11-12",
            "status": "failed",
            "error": "STORAGE_UNAVAILABLE",
        }
        assert database.funnel_daily.count_documents({"date": "2026-11-12"}) > 0  # the report rows stand
        assert admin_view(module)["dashboard"] is None
        again = timer_run(module, monkeypatch)
        assert again["dashboard"]["status"] == "published"
        assert admin_view(module)["dashboard"]["fileId"] == again["dashboard"]["fileId"]


def test_with_little_time_left_the_next_run_publishes(tmp_path, database, landed, monkeypatch):
    with configured_handler("dailyFunnel", STORAGE_BACKEND="local", LOCAL_STORAGE_DIR=str(tmp_path)) as module:
        deferred = timer_run(module, monkeypatch, time_limit_in_ms=5000)
        assert deferred["ok"] and deferred["dashboard"]["status"] == "deferred"
        assert not list(tmp_path.rglob("*.html"))
        published = timer_run(module, monkeypatch)
        assert published["dashboard"]["status"] == "published"
        assert (tmp_path / published["dashboard"]["key"]).read_text(encoding="utf-8").startswith("<!doctype html>")
        assert admin_view(module)["dashboard"]["url"].startswith("file://")


def test_without_storage_nothing_is_published_and_the_cold_start_says_why(database, landed, monkeypatch, capsys):
    for name in ("STORAGE_BACKEND", "TCB_ENV", "WECHAT_APPID", "WECHAT_APPSECRET"):
        monkeypatch.delenv(name, raising=False)
    capsys.readouterr()
    with configured_handler("dailyFunnel") as module:
        said = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "dashboard_publishing_off" in line]
        assert said and "STORAGE_BACKEND" in said[0]["reason"]
        result = timer_run(module, monkeypatch)
        assert result["ok"] and "dashboard" not in result
        assert admin_view(module)["dashboard"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"dims": ["total", "nope"]},
        {"dims": "total"},
        {"dims": []},
        {"from": "2026-11-12", "to": "2026-11-01"},
        {"action": "publish"},
    ],
)
def test_a_bad_view_request_is_bad_input_and_writes_nothing(database, landed, fields):
    with configured_handler("dailyFunnel") as module:
        before = snapshot(database)
        response = (
            admin_view(module, **fields)
            if "action" not in fields
            else module.main_handler(
                {**fields, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
                scf_context(None, function_name="dailyFunnel"),
            )
        )
        assert response["error"]["code"] == "BAD_INPUT" and snapshot(database) == before


def test_the_view_is_for_admins_only(database, landed):
    with configured_handler("dailyFunnel") as module:
        response = module.main_handler(
            {"action": "dashboard"}, scf_context(openid_for("mallory"), function_name="dailyFunnel")
        )
    assert response["error"]["code"] == "FORBIDDEN"


def test_tcb_storage_without_wechat_credentials_fails_the_cold_start_naming_them(monkeypatch):
    from shared.funnel.settings import FunnelSettings
    from shared.platform.errors import ConfigError

    with pytest.raises(ConfigError, match="WECHAT_APPID, WECHAT_APPSECRET"):
        FunnelSettings.from_env({"STORAGE_BACKEND": "tcb", "TCB_ENV": "prod-1"})
    assert FunnelSettings.from_env({"TCB_ENV": "prod-1"}).dashboard_storage is None  # implicit: off, not an error


def test_the_leaderboard_shows_rewards_earned_net_of_clawbacks(database, landed):
    at = dt.datetime(2026, 11, 12, 4, tzinfo=dt.timezone.utc)
    for number, (state, amount) in enumerate(
        (("pending", 5.0), ("paid", 2.0), ("rejected", 7.0), ("clawback", -2.0), ("reversed", 9.0))
    ):
        database.rewards.insert_one(
            {
                "_id": f"r{number}",
                "programme": "default",
                "orderId": f"o{number}",
                "kind": "clawback" if state == "clawback" else "reward",
                "inviter": landed,
                "state": state,
                "amount": amount,
                "amountFen": round(amount * 100),
                "orderAt": at,
            }
        )
    database.rewards.insert_one(
        {
            "_id": "old",
            "programme": "default",
            "orderId": "o-old",
            "kind": "reward",
            "inviter": landed,
            "state": "paid",
            "amount": 50.0,
            "amountFen": 5000,
            "orderAt": at - dt.timedelta(days=30),
        }
    )  # before the range
    with configured_handler("dailyFunnel") as module:
        assert admin_run_ok(module)
        view = admin_view(module)
    leader = view["summary"]["leaderboard"][0]
    assert (leader["key"], leader["rewards"]) == (landed, 5.0)


def admin_run_ok(module):
    return module.main_handler(
        {"from": "2026-11-12", "to": "2026-11-12", "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
        scf_context(None, function_name="dailyFunnel"),
    )["ok"]
