"""Benchmark: the CloudBase database backend's cost on the environment's quota, and a landing's wall time.

    python bench/cloudbase.py [--landings 300] [--orders 2000]

The tcb API emulator runs in its own process (over the embedded engine, or over MONGODB_URI's server) and the
functions reach it over real HTTP with TC3 signatures, as they reach ``tcb.tencentcloudapi.com``. Requests are
counted by the adapter (``TcbApi.requests``), commands by kind. Results are appended to bench/RESULTS.md.
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
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("LOG_LEVEL", "ERROR")
ENV_ID = "bench-env-1a2b"

from bench import publish
from shared.platform import config, db, instance
from shared.platform.cloudbase_db import TcbApi
from tools.wxclient import load_handler, openid_for, scf_context

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def start_emulator() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.tcb_api_emulator", "--env-id", ENV_ID, "--tables", "orders"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def configure(endpoint: str) -> None:
    os.environ.update(
        DATABASE="cloudbase",
        TCB_ENV=ENV_ID,
        TCB_API_ENDPOINT=endpoint,
        TENCENTCLOUD_SECRETID="AKIDtcbemulator",
        TENCENTCLOUD_SECRETKEY="tcb-emulator-secret-key",
        TENCENTCLOUD_SESSIONTOKEN="tcb-emulator-session-token",
        ORDER_STATUS_FIELD="status",
        ORDER_PAID_VALUES="paid",
        REWARD_FIXED="5",
        ADMIN_OPENIDS=openid_for("admin"),
    )
    os.environ.pop("MONGODB_URI", None)
    config.reset()
    db.reset()
    instance.reset()


def api() -> TcbApi:
    return db.database().api


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--landings", type=int, default=300)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    engine = "FerretDB/MongoDB (MONGODB_URI)" if os.environ.get("MONGODB_URI") else "embedded (mongomock-ng)"
    emulator, endpoint = start_emulator()
    try:
        configure(endpoint)
        share = load_handler("recordShare")
        code = share.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "chat"}, scf_context(openid_for("alice"))
        )["inviterCode"]

        def land(user: str) -> dict:
            event = {"action": "land", "query": {"id": "sku-1", "i": code, "c": "chat"}, "launchScene": 1007}
            return share.main_handler(event, scf_context(openid_for(user)))

        land("warm-up")
        # Requests per landing, by path.
        costs = {}
        for path, users in (
            ("new invitee (the common path)", [f"new{i}" for i in range(50)]),
            ("repeat open (duplicate)", [f"new{i}" for i in range(50)]),
        ):
            before = api().requests
            for user in users:
                land(user)
            costs[path] = (api().requests - before) / len(users)
        for i in range(20):
            share.main_handler({"action": "land", "query": {"id": "sku-1"}}, scf_context(openid_for(f"known{i}")))
        before = api().requests
        for i in range(20):
            land(f"known{i}")
        costs["known user's first landing from this link"] = (api().requests - before) / 20
        # A takeover under last touch (BIND_PROTECT_DAYS=0): bob's link taking over alice's invitees.
        os.environ["BIND_PROTECT_DAYS"] = "0"
        last_touch = load_handler("recordShare")
        bob = last_touch.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "chat"}, scf_context(openid_for("bob"))
        )["inviterCode"]
        before = api().requests
        for i in range(20):
            event = {"action": "land", "query": {"id": "sku-1", "i": bob, "c": "chat"}, "launchScene": 1007}
            taken = last_touch.main_handler(event, scf_context(openid_for(f"new{i}")))
            assert taken["relationship"] == "taken", taken
        costs["takeover by another inviter's link (BIND_PROTECT_DAYS=0)"] = (api().requests - before) / 20
        os.environ.pop("BIND_PROTECT_DAYS")

        # A landing's wall time against the two bare UpdateItem round trips it cannot do without (the user inserted
        # if absent, the landing inserted if absent: each outcome read from its own answer).
        raw = api()
        ours, floor = [], []
        for i in range(args.landings):
            t0 = time.perf_counter()
            land(f"timed{i}")
            ours.append(time.perf_counter() - t0)
            now = dt.datetime.now(dt.timezone.utc)
            t0 = time.perf_counter()
            raw.update_item("users", {"_id": f"floor{i}"}, {"$setOnInsert": {"firstSeenAt": now}}, False, True)
            raw.update_item(
                "share_events",
                {"inviter": code, "invitee": f"floor{i}", "productId": "sku-1"},
                {"$setOnInsert": {"enteredAt": now}},
                False,
                True,
            )
            floor.append(time.perf_counter() - t0)
        landing_ms, floor_ms = statistics.median(ours) * 1000, statistics.median(floor) * 1000

        # A funnel day and a settlement: requests against their size.
        at = dt.datetime.now(dt.timezone.utc)  # just after the landings: every order is credited to alice
        day = at.astimezone(SHANGHAI).date()
        orders = db.database()["orders"]
        buyers = [openid_for(f"new{i}") for i in range(50)] + [openid_for(f"timed{i}") for i in range(args.landings)]
        orders.insert_many(
            [
                {"_id": f"o{i}", "_openid": buyers[i % len(buyers)], "createdAt": at, "amount": 10, "status": "paid"}
                for i in range(args.orders)
            ]
        )
        funnel = load_handler("dailyFunnel")
        before = api().requests
        answer = funnel.main_handler(
            {"date": day.isoformat()},
            scf_context(openid_for("admin"), function_name="dailyFunnel", time_limit_in_ms=60_000),
        )
        assert answer["ok"], answer
        funnel_requests = api().requests - before
        landings_today = db.database()["share_events"].count_documents({})
        # Settlement waits a minute for orders' writes in flight: run it two minutes later.
        from shared.platform.clock import FixedClock

        instance.use_clock(FixedClock(at + dt.timedelta(minutes=2)))
        rewards = load_handler("rewards")
        before = api().requests
        settled = rewards.main_handler(
            {"action": "settle"}, scf_context(openid_for("admin"), function_name="rewards", time_limit_in_ms=60_000)
        )
        assert settled["ok"], settled
        settle_requests = api().requests - before
    finally:
        emulator.terminate()
    lines = [
        f"\n## CloudBase database backend — {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"Command: `python bench/cloudbase.py --landings {args.landings} --orders {args.orders}` · tcb API emulator in its"
        f" own process over {engine}, real HTTP + TC3 · Python {platform.python_version()}",
        "",
        "| path | API requests per landing (RunCommands reads, Item writes) |",
        "|---|---|",
        *[f"| {path} | {cost:.2f} |" for path, cost in costs.items()],
        "",
        f"Landing through `main_handler`: median **{landing_ms:.2f} ms** against **{floor_ms:.2f} ms** for one bare"
        f" UpdateItem round trips carrying the same two writes: **{landing_ms / floor_ms:.2f}×** (goal ≤ 1.2).",
        "",
        f"dailyFunnel, one day ({landings_today} landings, {args.orders} orders): **{funnel_requests}** requests. "
        f"rewards settlement ({settled.get('created', settled.get('settled'))} new rewards from {args.orders} orders):"
        f" **{settle_requests}** requests ({settle_requests / args.orders:.3f} per order; "
        f"{settled.get('batches', '?')} batches, status `{settled.get('status')}`).",
    ]
    publish("\n".join(lines), write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
