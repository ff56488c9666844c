"""Benchmark: deploy package sizes and cold import time of each built function.

    python bench/deploy.py [--runs 21]

Builds every function (tools/build.py; genWxacode also for the cos backend), then, in fresh Python 3.10
interpreters (``-I -S``: only the unzipped tree and the standard library), times the cold import of the
built entry (``import index``: config validated, handler ready) against the cold import of only the
third-party packages the function vendors, side by side, alternating, in one run. Goal: entry ≤ 1.10× its
packages; zips within each function's budget (shared/ops/deployment.py). Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from typing import Any

from bench import publish
from shared.ops.deployment import FUNCTIONS
from tools.build import probe_environment, python310

ROOT = pathlib.Path(__file__).resolve().parents[1]

PACKAGE_IMPORTS = {
    "pymongo": "pymongo",
    "requests": "requests",
    "tencentcloud-sdk-python-common": "tencentcloud.common.credential",
    "tencentcloud-sdk-python-scf": "tencentcloud.scf.v20180416.scf_client",
    "boto3": "boto3",
    "wechatpayv3": "wechatpayv3",
}
TIMER = (
    "import sys, time; t, c = time.perf_counter(), time.process_time(); {stmt}; "
    "print(time.perf_counter() - t, time.process_time() - c)"
)


def timed(python: str, tree: pathlib.Path, statement: str, env: dict) -> tuple:
    """(wall, CPU) seconds of one cold import in a fresh interpreter. CPU time is the steadier measure on a
    shared 2-core VM, where wall time of a 200 ms import swings by ±50 %."""
    # -E -s -S: no site-packages, no PYTHONPATH; the current folder (the built package) first, as SCF loads it.
    result = subprocess.run(
        [python, "-E", "-s", "-S", "-c", TIMER.format(stmt=statement)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    wall, cpu = result.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


MODULES = (
    "import sys, index; print(' '.join(sorted(m for m in sys.modules if m == 'shared' or m.startswith('shared.'))))"
)


def our_modules(python: str, tree: pathlib.Path, env: dict) -> list:
    """The product's modules a cold start of the built entry loads."""
    result = subprocess.run(
        [python, "-E", "-s", "-S", "-c", MODULES], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def payout_environment() -> dict[str, str]:
    """The rewards function's variables for PAYOUT_MODE=wechatpay, with a merchant's keys (the emulator's)."""
    from tools.wechatpay_emulator import WeChatPayEmulator

    merchant = WeChatPayEmulator()
    settings = {k: v for k, v in merchant.settings().items() if v}  # no API endpoint: WeChat Pay's own
    return {
        **settings,
        "PAYOUT_MODE": "wechatpay",
        "WECHAT_APPID": merchant.appid,
        "WECHAT_APPSECRET": "s" * 32,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    python = python310()
    if python is None:
        sys.exit("needs a Python 3.10 (set PYTHON310)")
    subprocess.run([sys.executable, "tools/build.py", "--require-py310"], cwd=ROOT, check=True)
    cos_dir = pathlib.Path(tempfile.mkdtemp(prefix="build-cos-"))
    subprocess.run(
        [
            sys.executable,
            "tools/build.py",
            "--require-py310",
            "--storage",
            "cos",
            "--only",
            "genWxacode",
            "--out",
            str(cos_dir),
        ],
        cwd=ROOT,
        check=True,
    )
    rows, failures, modules = [], [], []
    rewards = next(f for f in FUNCTIONS if f.name == "rewards")
    variants: list[tuple[Any, pathlib.Path, str, dict[str, str], tuple[str, ...]]] = [
        (f, ROOT / "build" / f"{f.name}.zip", f.name, {}, ()) for f in FUNCTIONS
    ] + [
        (next(f for f in FUNCTIONS if f.name == "genWxacode"), cos_dir / "genWxacode.zip", "genWxacode (cos)", {}, ()),
        # PAYOUT_MODE=wechatpay validates the merchant's keys at cold start: wechatpayv3 and cryptography load then.
        (rewards, ROOT / "build" / "rewards.zip", "rewards (wechatpay)", payout_environment(), ("wechatpayv3",)),
    ]
    for function, archive, label, extra_env, extra_packages in variants:
        tree = pathlib.Path(tempfile.mkdtemp(prefix="unzipped-"))
        zipfile.ZipFile(archive).extractall(tree)
        packages = list(function.packages) + (list(function.cos_packages) if "cos" in label else [])
        packages += list(extra_packages)
        baseline_stmt = "; ".join(f"import {PACKAGE_IMPORTS[p]}" for p in packages)
        env = {**probe_environment(function.name), **extra_env}
        timed(python, tree, "import index", env)  # warm the OS file cache for both
        entry, baseline = [], []
        for _ in range(args.runs):
            entry.append(timed(python, tree, "import index", env))
            baseline.append(timed(python, tree, baseline_stmt, env))
        size = archive.stat().st_size / 1e6
        wall = statistics.median(e[0] for e in entry) / statistics.median(b[0] for b in baseline)
        cpu_entry, cpu_base = statistics.median(e[1] for e in entry), statistics.median(b[1] for b in baseline)
        ratio = cpu_entry / cpu_base
        budget = function.zip_budget_mb if "cos" not in label and "(" not in label else None
        rows.append((label, size, budget, cpu_entry * 1000, cpu_base * 1000, ratio, wall, ", ".join(packages)))
        modules.append((label, our_modules(python, tree, env)))
        if (budget and size > budget) or ratio > 1.10:
            failures.append(label)
    lines = [
        f"## Deploy packages and cold imports — {dt.date.today().isoformat()}",
        "",
        f"Command: `python bench/deploy.py` · build host Python {platform.python_version()} · imports timed with "
        f"{subprocess.run([python, '-V'], capture_output=True, text=True).stdout.strip()} (`-I -S`, unzipped "
        f"tree, unchecked-hash .pyc) · median of {args.runs} alternating runs · {os.cpu_count()} cores",
        "",
        "| function | zip | budget | cold import of the entry (CPU) | of its packages only (CPU) | ratio (CPU) | ratio (wall) | packages |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, size, budget, entry_ms, base_ms, ratio, wall, vendored in rows:
        lines.append(
            f"| {label} | {size:.2f} MB | {f'{budget:.0f} MB' if budget else '—'} | {entry_ms:.1f} ms | "
            f"{base_ms:.1f} ms | {ratio:.2f} | {wall:.2f} | {vendored} |"
        )
    lines += ["", "Modules of ours loaded by the cold start of each built entry:", ""]
    lines += [
        f"- {label}: {len(names)} — {', '.join(n[len('shared.') :] if n != 'shared' else n for n in names)}"
        for label, names in modules
    ]
    lines += [
        "",
        "Goals: entry ≤ 1.10× its packages (CPU time medians; wall-time ratio shown for reference); "
        "zips within their budgets (genWxacode, with Pillow for posters: 10.5 MB). The entry of genWxacode imports the "
        "SCF SDK only when a batch continues, so its packages-only import includes more than the entry's.",
        "",
    ]
    text = "\n".join(lines)
    publish(text, write=not args.no_write)
    if failures:
        sys.exit(f"deploy benchmark missed its goals: {', '.join(failures)}")


if __name__ == "__main__":
    main()
