"""Deploys through the real Serverless CLI to the SCF API emulator: per function, the first deploy (create) and a
second one with nothing changed — wall time and the SCF API calls each makes. Needs `make build` and node_modules.

    python bench/scf_deploy.py
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from shared.ops.deployment import FUNCTIONS
from tools.scf_api_emulator import ScfApiEmulator

ROOT = pathlib.Path(__file__).resolve().parents[1]

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")


def main() -> int:
    api = ScfApiEmulator(
        secret_id="AKIDbench", secret_key="bench-key", session_token=None, namespaces=("default", "bench-env")
    )
    api.start()
    lines = []
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TENCENTCLOUD_", "MONGODB_"))}
            env.update(
                {
                    "HOME": home,
                    "SHARE_FUNNEL_PYTHON": sys.executable,
                    "SCF_API_ENDPOINT": api.endpoint,
                    "TCB_API_ENDPOINT": api.endpoint,
                    "DEPLOY_COS_ENDPOINT": api.endpoint,  # the environment bucket, emulated
                    "TENCENTCLOUD_SECRET_ID": "AKIDbench",
                    "TENCENTCLOUD_SECRET_KEY": "bench-key",
                    "TCB_ENV": "bench-env",
                    "MONGODB_URI": "mongodb://10.0.0.8:27017/",
                }
            )
            for function in FUNCTIONS:
                for attempt in ("first (create)", "second (unchanged)"):
                    before = len(api.actions)
                    started = time.perf_counter()
                    result = subprocess.run(
                        [
                            str(ROOT / "node_modules" / ".bin" / "serverless"),
                            "deploy",
                            "function",
                            "-f",
                            function.name,
                            "--stage",
                            "bench",
                        ],
                        cwd=ROOT,
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=300,
                    )
                    seconds = time.perf_counter() - started
                    if result.returncode != 0:
                        print(result.stdout + result.stderr)
                        return 1
                    calls = collections.Counter(action for action, _ in api.actions[before:])
                    lines.append(
                        f"| {function.name} | {attempt} | {seconds:.1f} s | "
                        + ", ".join(f"{name} {n}" for name, n in sorted(calls.items()))
                        + " |"
                    )
    finally:
        api.stop()
    table = "\n".join(lines)
    print(table)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(
            f"\n## Deploy through the SCF API emulator ({dt.date.today().isoformat()}; real Serverless CLI, "
            f"no database)\n\n| function | deploy | wall time | SCF API calls |\n|---|---|---|---|\n{table}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
