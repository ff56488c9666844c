"""`make demo` keeps working: it runs the campaign on the embedded engine and prints its summary."""

import os
import subprocess
import sys

import zxingcpp
from PIL import Image

from tests.conftest import ROOT


def _demo_output_state():
    folder = ROOT / "demo-output"
    return sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*")) if folder.exists() else None


def test_demo_campaign_runs_and_reports(tmp_path):
    # make test never writes into the user's demo-output/: the demo's output goes to a throwaway folder here
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env["DEMO_OUTPUT"] = str(tmp_path)
    before = _demo_output_state()
    result = subprocess.run(
        [sys.executable, "tools/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Per sharer" in result.stdout and "duplicate 8" in result.stdout and "self_invite 1" in result.stdout
    assert "UNKNOWN_INVITER 1" in result.stdout and "BAD_INPUT 1" in result.stdout
    assert "WeChat calls: 4 codes" in result.stdout and result.stdout.count("local://wxacodes/") == 4
    assert "dave   shares via share" in result.stdout  # the tutorial's own link (channel=share) lands
    assert "Groups: 6 landings opened from 2 WeChat groups" in result.stdout
    payout = next(line for line in result.stdout.splitlines() if line.startswith("Payout into WeChat 零钱"))
    withdrawn = payout.split(" withdrew ¥", 1)[1].split(" ", 1)[0]
    assert f"paid ¥{withdrawn}, available ¥0.00, no payout open" in result.stdout  # paid exactly once, in full
    assert (
        "Campaign poster (the default template, 1080x1920" in result.stdout and "(0 new WeChat codes)" in result.stdout
    )
    poster = next(tmp_path.glob("codes/posters/*/*.jpg"))
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(poster))][0].startswith("pages/product/product?scene=1p")
    pages = "".join(p.read_text(encoding="utf-8") for p in tmp_path.glob("funnel-*.html"))
    assert '<table class="group">' in pages and "demo-tea-lovers" not in pages  # by alias, never the raw id
    assert "demo-tea-lovers" not in (tmp_path / "functions.log").read_text(encoding="utf-8")
    assert "Daily funnel" in result.stdout and f"HTML report of the busiest day: {tmp_path}/funnel-" in result.stdout
    header = next(line for line in result.stdout.splitlines() if "-day campaign" in line)
    pages = sorted(p.name for p in tmp_path.glob("funnel-*.html"))
    days = int(header.split("A ", 1)[1].split("-day", 1)[0])
    assert len(pages) == days, (header, pages)  # the header's day count matches the data
    assert _demo_output_state() == before


def test_demo_runs_the_same_campaign_on_the_cloudbase_backend(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env["DEMO_OUTPUT"] = str(tmp_path)
    embedded = subprocess.run(
        [sys.executable, "tools/demo.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    cloudbase = subprocess.run(
        [sys.executable, "tools/demo.py", "--cloudbase"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert cloudbase.returncode == 0, cloudbase.stderr
    assert "on the CloudBase database (tcb API emulator)" in cloudbase.stdout
    assert "CloudBase database (tcb API emulator):" in cloudbase.stdout and "RunCommands" in cloudbase.stdout

    def table(output: str) -> list[str]:  # the per-sharer summary and the daily funnel agree, engine aside
        lines = output.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("Per sharer"))
        return [line for line in lines[start:] if line.startswith("  20") or line.startswith("  ") and "new" in line]

    assert table(cloudbase.stdout) == table(embedded.stdout)
