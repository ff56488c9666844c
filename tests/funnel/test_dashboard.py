"""The operator's dashboard: its numbers from report rows (summed by hand here), and the page as a person sees
it in real headless Chromium at phone and desktop widths (skipped with a message when chromium is absent; CI
installs it)."""

import datetime as dt
import re

import pytest

from shared.funnel.dashboard import MIN_SAMPLE, SECTIONS, Money, dashboard_model, render_dashboard
from tools import page_check
from tools.synthetic import synthetic_rows

D = dt.date(2026, 11, 10)


def total(date, **fields):
    row = {"_id": f"{date}|total|*", "date": date, "dim": "total", "key": "*", "window": 7, "matured": True}
    row.update(fields)
    return row


def test_the_period_sums_its_days_and_compares_with_the_one_before():
    rows = [
        total("2026-11-08", newUsers=4, revenue=100.0, landings=10),  # previous period (2 days)
        total("2026-11-09", newUsers=6, revenue=100.0, landings=10),
        total(
            "2026-11-10",
            newUsers=9,
            sharers=3,
            landings=30,
            intents=10,
            invitees=20,
            converters=5,
            revenue=300.0,
            generations={"1": 6, "2": 3},
            cascadeDepth=2,
            sharingInvitees=3,
        ),
        total(
            "2026-11-11",
            newUsers=6,
            sharers=3,
            landings=20,
            intents=5,
            invitees=10,
            converters=1,
            revenue=100.0,
            generations={"1": 6},
            cascadeDepth=1,
            matured=False,
        ),
        {
            "_id": "2026-11-10|inviter|abc",
            "date": "2026-11-10",
            "dim": "inviter",
            "key": "abc",
            "newUsers": 2,
            "revenue": 50.0,
        },
        {
            "_id": "2026-11-11|inviter|abc",
            "date": "2026-11-11",
            "dim": "inviter",
            "key": "abc",
            "newUsers": 1,
            "revenue": 25.0,
        },
    ]
    model = dashboard_model(rows, D, D + dt.timedelta(days=1), names={"abc": "Ann"})
    p = model["period"]
    assert (p["newUsers"], p["landings"], p["revenue"], p["converters"]) == (15, 50, 400.0, 6)
    assert (
        model["change"]["newUsers"] == 0.5 and model["change"]["revenue"] == 1.0 and model["change"]["landings"] == 1.5
    )
    # viral: K = 15 new users / 6 sharers; reproduction 3 / 6; generation ≥ 2: 3 of 15; deepest 2
    assert model["viral"] | {"byCampaign": []} == {
        "kFactor": 2.5,
        "reproductionRate": 0.5,
        "cascadeDepth": 2,
        "gen2PlusShare": 0.2,
        "generations": {"1": 12, "2": 3},
        "byCampaign": [],
    }
    assert model["maturingDays"] == ["2026-11-11"]
    assert model["leaderboard"] == [
        {"key": "abc", "name": "Ann", **model["leaderboard"][0], "newUsers": 3, "revenue": 75.0}
    ]
    page = render_dashboard(model, Money("¥", 100))
    assert "¥4.00" in page and "Ann" in page and 'name="viewport"' in page and "http" not in page.split("<body>")[1]


def test_a_median_is_shown_only_for_a_large_enough_sample():
    few = dashboard_model([total("2026-11-10", timeToConvert={"histogram": [3, 2, 0, 0, 0, 0]})], D, D)
    assert few["timeToConvert"]["medianBucket"] is None and few["timeToConvert"]["converters"] == 5
    many = dashboard_model([total("2026-11-10", timeToConvert={"histogram": [3, 5, 12, 1, 0, 0]})], D, D)
    assert (
        MIN_SAMPLE <= 21 and many["timeToConvert"]["medianBucket"] == 2 and many["timeToConvert"]["p90Bucket"] == 2
    )  # the 11th and 19th of 21: 6–24 h


def test_english_is_a_toggle_and_a_flag_away():
    page = render_dashboard(dashboard_model([total("2026-11-10", newUsers=1)], D, D), lang="en")
    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    assert "New users" in page and "新用户" in page  # both languages ship; CSS shows one


needs_chromium = pytest.mark.skipif(
    page_check.chromium() is None, reason="chromium is not installed (Debian: apt install chromium); CI installs it"
)
pytestmark = pytest.mark.no_database


def _check_both_widths(page, screenshots_to, days=None):
    for name, size in (("phone", page_check.PHONE), ("desktop", page_check.DESKTOP)):
        found = page_check.check(page, size)
        assert found["width"] == size[0]
        assert found["problems"] == [], found
        assert found["overflow"] <= 0, f"{name}: {found['overflow']} px of horizontal overflow"
        assert found["sections"] == list(SECTIONS), found["sections"]
        # Trend charts an operator can read: axes, a few round ticks, the first and last dates, one mark per day,
        # and the value of a day on tap (the check taps each chart's first mark).
        charts = found["charts"]
        assert len(charts) >= 2, charts
        for chart in charts:
            assert chart["axes"] == 2 and chart["marks"] == (days or charts[0]["marks"]) >= 2, chart
            assert len(chart["ticks"]) >= 4 and chart["ticks"][0] in ("0", "¥0", "¥0.00", "0.00"), chart["ticks"]
            assert ":" in chart["picked"] and chart["width"] >= 150, chart
        shot = page_check.screenshot(page, screenshots_to / f"{page.stem}-{name}.png", size)
        assert shot.stat().st_size > 10_000


@needs_chromium
def test_a_90_day_range_with_1000_inviters_reads_well_on_a_phone_and_a_desktop(tmp_path):
    first = D - dt.timedelta(days=89)
    model = dashboard_model(synthetic_rows(first - dt.timedelta(days=90), 180, 1000), first, D)
    page = tmp_path / "dashboard-90d.html"
    page.write_text(render_dashboard(model, Money("¥", 100)), encoding="utf-8")
    _check_both_widths(page, tmp_path, days=90)


@needs_chromium
def test_the_demo_dashboard_reads_well_and_leaves_screenshots_beside_it(tmp_path, monkeypatch):
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run(
        [sys.executable, "tools/demo.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "DEMO_OUTPUT": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    _check_both_widths(tmp_path / "dashboard.html", tmp_path)
    assert (tmp_path / "dashboard-phone.png").exists()


@needs_chromium
def test_the_check_itself_catches_overflow_and_script_errors(tmp_path):
    good = render_dashboard(dashboard_model([total("2026-11-10", newUsers=1)], D, D))
    broken = tmp_path / "broken.html"
    broken.write_text(
        good.replace("<main>", '<main><div style="width:1400px">wide</div><script>missing()</script>'), encoding="utf-8"
    )
    found = page_check.check(broken, page_check.PHONE)
    assert found["overflow"] > 0 and any(re.search("missing", p) for p in found["problems"])
