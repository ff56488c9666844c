"""Benchmark: a genWxacode batch against the WeChat emulator with network-like latency.

    python bench/wxacode_batch.py [--items 2000] [--latency-ms 50] [--rate 4500]

Measures the achieved WeChat call rate as a fraction of the configured cap (goal ≥ 0.9) and the WeChat
calls of a second run of the same batch (goal 0: every code is a cache hit). Everything runs through
genWxacode's main_handler, the emulator over real HTTP, and the embedded engine (or MONGODB_URI).
Results are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("LOG_LEVEL", "ERROR")

import requests

from bench import publish


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _calls(base_url: str) -> int:
    return requests.get(f"{base_url}/__emulator/calls", timeout=5).json().get("getwxacodeunlimit", 0)


def measure(items: int, latency_ms: int, rate: int, concurrency: int, kind: str = "code") -> dict:
    from tools.wechat_emulator import WeChatEmulator
    from tools.wxclient import load_handler, openid_for, scf_context

    # The emulator runs in its own process, like WeChat: drawing QR codes must not compete for our GIL.
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tools" / "wechat_emulator.py"),
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
    )
    assert server.stdout is not None
    server.stdout.readline()  # the "WeChat emulator at ..." line: it is listening
    emulator = WeChatEmulator()
    base_url = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "WECHAT_APPID": emulator.appid,
            "WECHAT_APPSECRET": emulator.secret,
            "WECHAT_API_BASE": base_url,
            "STORAGE_BACKEND": "local",
            "LOCAL_STORAGE_DIR": tempfile.mkdtemp(prefix="wxacode-bench-"),
            "ADMIN_OPENIDS": openid_for("ops"),
            "WXACODE_RATE_PER_MIN": str(rate),
            "WXACODE_CONCURRENCY": str(concurrency),
            "WXACODE_POSTER_LANES": "1",  # one invocation: bench/posters.py measures lanes on their own
            "MONGODB_DB": f"bench_wxacode_{time.time_ns()}",  # a throwaway database on a server (dropped below)
        }
    )
    from shared.platform import config, db, instance

    instance.reset()  # a new WeChat endpoint: services built for an earlier measurement are forgotten
    config.reset()  # the settings and database of an earlier measurement in this process
    db.reset()
    record_share = load_handler("recordShare")
    gen = load_handler("genWxacode")
    codes = []
    for n in range(20):
        shared = record_share.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "poster"}, scf_context(openid_for(f"sharer{n}"))
        )
        codes.append(shared["inviterCode"])
    prefix = "sku" if kind == "code" else f"{kind}-sku"  # a poster batch never finds its codes made by a code batch
    batch = [{"inviter": codes[i % len(codes)], "productId": f"{prefix}-{i}", "kind": kind} for i in range(items)]
    context = scf_context(openid_for("ops"), function_name="genWxacode", time_limit_in_ms=900_000)
    try:
        started = time.perf_counter()
        first = gen.main_handler({"batch": batch}, context)
        first_seconds = time.perf_counter() - started
        first_calls = _calls(base_url)
        started = time.perf_counter()
        second = gen.main_handler({"batch": batch}, context)
        second_seconds = time.perf_counter() - started
        second_calls = _calls(base_url) - first_calls
    finally:
        server.terminate()
        server.wait()
        if os.environ.get("MONGODB_URI"):
            import pymongo

            client: pymongo.MongoClient = pymongo.MongoClient(os.environ["MONGODB_URI"])
            with client:
                client.drop_database(os.environ["MONGODB_DB"])
    assert first["status"] == "done" and second["status"] == "done", (first, second)
    achieved = first_calls / first_seconds * 60
    return {
        "items": items,
        "latency_ms": latency_ms,
        "rate": rate,
        "concurrency": concurrency,
        "first_seconds": first_seconds,
        "first_calls": first_calls,
        "achieved_per_min": achieved,
        "fraction": achieved / rate,
        "second_seconds": second_seconds,
        "second_calls": second_calls,
        "second_cached": second["cached"],
    }


def report(r: dict, command: str) -> str:
    engine = "mongodb" if os.environ.get("MONGODB_URI") else "embedded (mongomock-ng)"
    return "\n".join(
        [
            f"## genWxacode batch — {dt.date.today().isoformat()}",
            "",
            f"Command: `{command}` · Python {platform.python_version()} · engine: {engine} · "
            f"{os.cpu_count()} cores · WeChat emulator over HTTP with {r['latency_ms']} ms latency per request",
            "",
            "| run | items | WeChat getUnlimited calls | wall time | rate |",
            "|---|---|---|---|---|",
            f"| first | {r['items']} | {r['first_calls']} | {r['first_seconds']:.1f} s | "
            f"{r['achieved_per_min']:.0f}/min = {r['fraction']:.3f} of the {r['rate']}/min cap "
            f"(concurrency {r['concurrency']}) |",
            f"| second (same batch) | {r['items']} | {r['second_calls']} | {r['second_seconds']:.1f} s | "
            f"{r['second_cached']} cache hits |",
            "",
            "Goals: achieved rate ≥ 0.9 of the cap; a second run makes 0 WeChat calls.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rate", type=int, default=4500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    result = measure(args.items, args.latency_ms, args.rate, args.concurrency)
    text = report(result, "python bench/wxacode_batch.py")
    publish(text, write=not args.no_write)
    if result["fraction"] < 0.9 or result["second_calls"] != 0:
        sys.exit("wxacode batch benchmark missed its goals")


if __name__ == "__main__":
    main()
