"""`make demo` keeps working: it runs the campaign on the embedded engine and prints its summary."""
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_demo_campaign_runs_and_reports():
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    result = subprocess.run([sys.executable, "tools/demo.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Per sharer" in result.stdout and "duplicate 8" in result.stdout and "self_invite 1" in result.stdout
    assert "UNKNOWN_INVITER 1" in result.stdout and "BAD_INPUT 1" in result.stdout
    assert "WeChat calls: 3 codes" in result.stdout and result.stdout.count("local://wxacodes/") == 3
    assert "Daily funnel" in result.stdout and "HTML report of the busiest day: demo-output/funnel-" in result.stdout
