"""Benchmark: what a cold recordShare instance imports up to the end of its first landing, CloudBase against MongoDB.

    MONGODB_URI=mongodb://… python bench/cold_start.py [--runs 15]

Builds recordShare, unzips it, and in fresh Python 3.10 interpreters (``-E -s -S -X importtime``: only the unzipped
tree and the standard library, as SCF loads it) imports the entry and records one landing: once with
``DATABASE=cloudbase`` against the tcb API emulator (its own process, real HTTP + TC3), once with ``MONGODB_URI``
against the real server, alternating, in one run. The measure is the import time of every module loaded (the sum of
the top-level cumulative times ``-X importtime`` reports), so the network and the servers do not count. Goal: the
CloudBase path ≤ 1.0× the MongoDB path. Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import zipfile

from bench import publish
from tools.build import python310
from tools.wxclient import openid_for, scf_context

ROOT = pathlib.Path(__file__).resolve().parents[1]
LANDING = (
    "import json, sys, index; "
    "answer = index.main_handler(json.loads(sys.argv[1]), json.loads(sys.argv[2])); "
    "assert answer.get('ok'), answer; "
    "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('pymongo', 'tencentcloud', 'bson'))))"
)
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def import_ms(stderr: str) -> float:
    """The sum of the top-level cumulative import times (microseconds in the report) in milliseconds."""
    total = 0
    for line in stderr.splitlines():
        found = _LINE.match(line)
        if found and not found.group(3):  # no indent: a top-level import
            total += int(found.group(2))
    return total / 1000


def landing(python: str, tree: pathlib.Path, env: dict[str, str], invitee: str) -> tuple[float, list[str]]:
    event = {"action": "land", "query": {"id": "sku-1", "c": "chat"}, "launchScene": 1001}
    context = scf_context(openid_for(invitee), function_name="recordShare", time_limit_in_ms=5000)
    result = subprocess.run(
        [python, "-E", "-s", "-S", "-X", "importtime", "-c", LANDING, json.dumps(event), json.dumps(context)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"the landing failed: {result.stderr[-1500:]}")
    return import_ms(result.stderr), result.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    python, uri = python310(), os.environ.get("MONGODB_URI")
    if python is None or not uri:
        sys.exit("needs a Python 3.10 (PYTHON310) and MONGODB_URI (a real server, e.g. ../shared/realdb)")
    subprocess.run([sys.executable, "tools/build.py", "--require-py310", "--only", "recordShare"], cwd=ROOT, check=True)
    tree = pathlib.Path(tempfile.mkdtemp(prefix="cold-start-"))
    zipfile.ZipFile(ROOT / "build" / "recordShare.zip").extractall(tree)
    emulator = subprocess.Popen(
        [sys.executable, "tools/tcb_api_emulator.py", "--env-id", "bench-cold-1a2b"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint = (emulator.stdout.readline() if emulator.stdout else "").strip()
        base = {"PATH": os.environ.get("PATH", ""), "TENCENTCLOUD_RUNENV": "SCF", "LOG_LEVEL": "ERROR"}
        cloudbase = {
            **base,
            "DATABASE": "cloudbase",
            "TCB_ENV": "bench-cold-1a2b",
            "TCB_API_ENDPOINT": endpoint,
            "TENCENTCLOUD_SECRETID": "AKIDtcbemulator",
            "TENCENTCLOUD_SECRETKEY": "tcb-emulator-secret-key",
            "TENCENTCLOUD_SESSIONTOKEN": "tcb-emulator-session-token",
        }
        mongodb = {**base, "MONGODB_URI": uri, "MONGODB_DB": "bench_cold_start"}
        landing(python, tree, cloudbase, "warm-0")  # the OS file cache, and both databases' collections
        landing(python, tree, mongodb, "warm-0")
        times: dict[str, list[float]] = {"cloudbase": [], "mongodb": []}
        loaded: dict[str, list[str]] = {}
        for run in range(args.runs):
            for name, env in (("cloudbase", cloudbase), ("mongodb", mongodb)):
                spent, modules = landing(python, tree, env, f"invitee-{run}")
                times[name].append(spent)
                loaded[name] = modules
    finally:
        emulator.terminate()
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["cloudbase"] / medians["mongodb"]

    def families(names: list[str]) -> str:
        roots = sorted({".".join(n.split(".")[:2]) if n.startswith("tencentcloud") else n.split(".")[0] for n in names})
        return ", ".join(roots) or "—"

    lines = [
        "## Cold start of recordShare to the end of its first landing — CloudBase against MongoDB",
        "",
        f"Command: `MONGODB_URI=… python bench/cold_start.py --runs {args.runs}` · built package on "
        f"{subprocess.run([python, '-V'], capture_output=True, text=True).stdout.strip()} (`-E -s -S -X importtime`) · "
        f"host Python {platform.python_version()} · MongoDB side: the real server at MONGODB_URI (FerretDB 2.5 here); "
        "CloudBase side: the tcb API emulator in its own process · median of alternating runs · "
        f"{os.cpu_count()} cores",
        "",
        "| backend | import time to the end of the first landing (median) | third-party families loaded |",
        "|---|---|---|",
        f"| `DATABASE=cloudbase` | {medians['cloudbase']:.1f} ms | {families(loaded['cloudbase'])} |",
        f"| `MONGODB_URI` | {medians['mongodb']:.1f} ms | {families(loaded['mongodb'])} |",
        "",
        f"Ratio CloudBase / MongoDB: **{ratio:.2f}×** (goal ≤ 1.0).",
        "",
    ]
    publish("\n".join(lines), write=not args.no_write)
    if ratio > 1.0:
        sys.exit(f"cold start goal missed: {ratio:.2f}×")


if __name__ == "__main__":
    main()
