"""Benchmark: settling a backlog of credited orders into the reward ledger.

    python bench/rewards.py [--orders 100000] [--batch 10000]

A throwaway database (random name, dropped at the end) with ``--orders`` invitees, each with a first-touch landing
and one paid order; settlement runs repeatedly (each run bounded by ``--batch``) until the backlog is done, then
once more after the holding period (approvals). Reports documents written per order (goal: one insert per new
reward, one update per transition), run time per 10 000 orders, and the largest run. Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("LOG_LEVEL", "ERROR")

from bench.metering import Meter, MeteredDatabase
from shared.funnel import SHANGHAI, FunnelSettings, OrderMapping
from shared.platform import log
from shared.platform.clock import FixedClock
from shared.platform.config import Settings
from shared.platform.db import ensure_indexes
from shared.rewards.settings import RewardSettings
from shared.rewards.settle import settle
from shared.rewards.store import MongoRewardStore

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI)


def fresh_database():
    name = f"share_funnel_bench_{uuid.uuid4().hex[:10]}"
    if os.environ.get("MONGODB_URI"):
        import pymongo

        return pymongo.MongoClient(os.environ["MONGODB_URI"], tz_aware=True)[name], "FerretDB/MongoDB at MONGODB_URI"
    import mongomock_ng

    from shared.dev import embedded_engine

    embedded_engine.install()
    return mongomock_ng.MongoClient(tz_aware=True)[name], "embedded (mongomock-ng)"


def populate(database, orders: int) -> None:
    inviters = [f"inv{i:04d}" for i in range(500)]
    database.users.insert_many([{"_id": f"o-sharer-{i:04d}", "code": code} for i, code in enumerate(inviters)])
    for offset in range(0, orders, 10000):
        landings, buyers = [], []
        for n in range(offset, min(orders, offset + 10000)):
            at = START + dt.timedelta(seconds=n * 3)
            invitee = f"o-invitee-{n:07d}"
            landings.append(
                {
                    "inviter": inviters[n % 500],
                    "invitee": invitee,
                    "productId": "sku-1",
                    "channel": "chat",
                    "entry": "chat",
                    "enteredAt": at,
                    "newUser": True,
                }
            )
            buyers.append(
                {
                    "_id": f"order-{n:07d}",
                    "_openid": invitee,
                    "amount": 100,
                    "status": "paid",
                    "createdAt": at + dt.timedelta(hours=1),
                }
            )
        database.share_events.insert_many(landings)
        database.orders.insert_many(buyers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100000)
    parser.add_argument("--batch", type=int, default=10000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    log.set_level("ERROR")
    database, engine = fresh_database()
    try:
        names = Settings.from_env({}).collections
        mapping = OrderMapping(status_field="status", paid_values=("paid",))
        ensure_indexes(database, names)  # before the data: DocumentDB builds an index over 100 000 documents slowly
        MongoRewardStore(database, names, mapping).ensure_indexes()
        populate(database, args.orders)
        settings = RewardSettings(
            fixed=5.0, percent=10.0, holding_days=7, batch=args.batch, funnel=FunnelSettings(orders=mapping)
        )
        meter = Meter()
        store = MongoRewardStore(MeteredDatabase(database, meter), names, mapping)
        store.ensure_indexes()
        clock = FixedClock(START + dt.timedelta(seconds=args.orders * 3, days=1))
        runs, largest, started = 0, 0, time.perf_counter()
        while True:
            result = settle(store, clock, settings, "bench")
            runs += 1
            largest = max(largest, result["orders"])
            if not result["more"]:
                break
        settle_seconds = time.perf_counter() - started
        writes_create = meter.round_trips["writes"]
        created = database.rewards.count_documents({})
        meter.clear()
        clock.set(clock.now() + dt.timedelta(days=8))
        started = time.perf_counter()
        approvals, approve_runs = 0, 0
        while True:
            result = settle(store, clock, settings, "bench")
            approvals += result["approved"]
            approve_runs += 1
            if not result["more"]:
                break
        approve_seconds = time.perf_counter() - started
        approve_writes = meter.round_trips["writes"]
    finally:
        database.client.drop_database(database.name)
    text = "\n".join(
        [
            f"## Reward settlement of a backlog — {dt.date.today().isoformat()}",
            "",
            f"Command: `python bench/rewards.py --orders {args.orders} --batch {args.batch}` · Python "
            f"{platform.python_version()} · engine: {engine} · {os.cpu_count()} cores",
            "",
            "| phase | orders / rewards | runs (each ≤ batch) | largest run | time | per 10 000 | writes |",
            "|---|---|---|---|---|---|---|",
            f"| create pending rewards | {args.orders} orders → {created} rewards | {runs} | {largest} orders | "
            f"{settle_seconds:.1f} s | {settle_seconds / args.orders * 10000:.2f} s | {writes_create} "
            f"({writes_create / max(created, 1):.3f} per reward, incl. {2 * runs} lease/cursor updates) |",
            f"| approve after the holding period | {approvals} transitions | {approve_runs} | — | {approve_seconds:.1f} s | "
            f"{approve_seconds / max(approvals, 1) * 10000:.2f} s | {approve_writes} "
            f"({approve_writes / max(approvals, 1):.3f} per transition, incl. lease/cursor updates) |",
            "",
            "Goal: one insert per new reward and one update per transition (plus the run's lease and cursor), work per "
            "run bounded by the batch.",
            "",
        ]
    )
    print(text)
    if not args.no_write:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
