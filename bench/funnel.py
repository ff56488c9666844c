"""Benchmark: the cost of one day's funnel does not grow with older history.

    python bench/funnel.py [--landings 10000] [--repeat 3]

One target day with N landings (and their users, share intents and orders), plus 1× and then 10× as much
older history spread over the previous 60 days. For each, compute the target day's report rows (the same
``compute_day`` the timer runs) and report the median time, the time ratio 10× / 1× (goal ≤ 1.2 on the same
engine) and the documents shipped to the function for that day. Runs on the embedded engine, or on a
throwaway database of MONGODB_URI when set. Results are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("LOG_LEVEL", "ERROR")

from bench import publish
from bench.datasets import provision_for_reading
from bench.metering import Meter, MeteredDatabase
from shared.funnel.definition import (
    SHANGHAI,
    day_bounds,
    rows_checksum,
)
from shared.funnel.run import compute_day
from shared.funnel.settings import FunnelSettings
from shared.funnel.store import MongoFunnelStore
from shared.platform.config import Settings

TARGET = dt.date(2026, 11, 10)
SHARING = [0.1]  # share of the target day's new users who share in turn (--sharing)
CHANNELS = ("chat", "poster", "timeline")
SCENES = {1007: "chat", 1008: "group", 1047: "scan", 1154: "timeline"}


def fresh_database():
    if os.environ.get("MONGODB_URI"):
        import pymongo

        client: pymongo.MongoClient = pymongo.MongoClient(os.environ["MONGODB_URI"], tz_aware=True)
        return client[f"share_funnel_bench_{uuid.uuid4().hex[:8]}"], True
    import mongomock_ng

    from shared.dev import embedded_engine

    embedded_engine.install()
    return mongomock_ng.MongoClient(tz_aware=True)["share_funnel_bench"], False


def populate(database, day: dt.date, landings: int, prefix: str, rng: random.Random) -> None:
    start, _ = day_bounds(day)
    events, users, orders, intents = [], [], [], []
    sharing_codes: list = []  # codes of this day's invitees who share in turn: the viral loop's generation 2+
    for n in range(landings):
        invitee = f"o{prefix}{n:07d}"
        inviter = rng.choice(sharing_codes) if sharing_codes and rng.random() < 0.3 else f"inv{rng.randrange(200):03d}"
        product = f"sku-{rng.randrange(50)}"
        scene = rng.choice(list(SCENES))
        at = start + dt.timedelta(seconds=rng.randrange(86400))
        new = rng.random() < 0.7
        events.append(
            {
                "inviter": inviter,
                "invitee": invitee,
                "productId": product,
                "channel": rng.choice(CHANNELS),
                "entry": SCENES[scene],
                "launchScene": scene,
                "page": "pages/product/product",
                "form": "query",
                "enteredAt": at,
                "newUser": new,
            }
        )
        user = {"_id": invitee, "firstSeenAt": at}
        if new:
            user["binding"] = {"inviter": inviter, "productId": product, "channel": "chat", "at": at}
            if prefix == "t" and rng.random() < SHARING[0]:  # one new user in ten shares within two days (target day
                # only: older history must not reach into the target day, so its rows stay comparable)
                user["code"] = f"c{prefix}{n:07d}"
                sharing_codes.append(user["code"])
                intents.append(
                    {
                        "sharer": user["code"],
                        "sharerOpenid": invitee,
                        "productId": product,
                        "channel": "chat",
                        "page": "pages/product/product",
                        "at": at + dt.timedelta(hours=rng.randrange(1, 48)),
                    }
                )
        users.append(user)
        if rng.random() < 0.2:
            orders.append(
                {
                    "_id": f"ord-{prefix}-{n}",
                    "_openid": invitee,
                    "amount": rng.choice((88, 128, 288)),
                    "createdAt": at + dt.timedelta(hours=rng.randrange(1, 240)),
                    "status": "paid",
                }
            )
    for _ in range(landings * 3 // 10):
        intents.append(
            {
                "sharer": f"inv{rng.randrange(200):03d}",
                "productId": f"sku-{rng.randrange(50)}",
                "channel": rng.choice(CHANNELS),
                "page": "pages/product/product",
                "at": start + dt.timedelta(seconds=rng.randrange(86400)),
            }
        )
    for collection, docs in (
        ("share_events", events),
        ("users", users),
        ("orders", orders),
        ("share_intents", intents),
    ):
        for offset in range(0, len(docs), 10000):  # FerretDB refuses write batches over 25 000 operations
            database[collection].insert_many(docs[offset : offset + 10000])


def prepared_store(database, meter=None):
    names = Settings.from_env({}).collections
    provision_for_reading(database, names)
    settings = FunnelSettings(orders=FunnelSettings().orders)
    store = MongoFunnelStore(MeteredDatabase(database, meter) if meter else database, names, settings.orders)
    store.ensure_indexes()
    return store, settings


def indexed_fetch(database) -> float:
    """The floor: one indexed fetch of the target day's landings (the fields the funnel reads), fully drained."""
    start, end = day_bounds(TARGET)
    started = time.perf_counter()
    for _ in database["share_events"].find(
        {"enteredAt": {"$gte": start, "$lt": end}},
        {"_id": 0, "inviter": 1, "invitee": 1, "productId": 1, "channel": 1, "entry": 1, "newUser": 1, "enteredAt": 1},
    ):
        pass
    return time.perf_counter() - started


NOW = dt.datetime(2026, 12, 1, 2, 17, tzinfo=SHANGHAI)


def measure(landings: int, factor: int, repeat: int) -> dict:
    database, real = fresh_database()
    try:
        database["users"].insert_many([{"_id": f"seed{n:03d}", "code": f"inv{n:03d}"} for n in range(200)])
        populate(database, TARGET, landings, "t", random.Random(1))  # the same target day for every factor
        rng = random.Random(factor)
        history_days = 60
        for back in range(1, history_days + 1):  # older history: factor × landings spread over 60 days
            populate(database, TARGET - dt.timedelta(days=back), landings * factor // history_days, f"h{back}-", rng)
        meter = Meter()
        store, settings = prepared_store(database, meter)
        plain, _ = prepared_store(database)
        times, fetches, rows = [], [], []
        compute_day(store, settings, TARGET, NOW)  # warm-up: first queries build the engine's lookups
        for _ in range(repeat):  # alternating, so the machine's noise hits both alike
            meter.clear()
            rows = compute_day(store, settings, TARGET, NOW)  # metered: documents shipped
            started = time.perf_counter()
            compute_day(plain, settings, TARGET, NOW)
            times.append(time.perf_counter() - started)
            fetches.append(indexed_fetch(database))
        total = next(r for r in rows if r["dim"] == "total")
        result = {
            "factor": factor,
            "documents": sum(
                database[c].estimated_document_count() for c in ("share_events", "users", "orders", "share_intents")
            ),
            "seconds": statistics.median(times),
            "fetch_seconds": statistics.median(fetches),
            "documents_read": meter.documents,
            "rows": len(rows),
            "landings": total["landings"],
            "converters": total["converters"],
            "checksum": rows_checksum(rows),
        }
        if real:
            result["peak_mb"] = function_peak_mb(database.name)
        return result
    finally:
        if real:
            database.client.drop_database(database.name)


def function_peak_mb(database_name: str) -> float:
    """Peak resident memory of a fresh process that does what the function does for one day: import, connect,
    compute the day (as a 512 MB SCF function would hold it)."""
    code = (
        "import resource, sys; sys.argv = ['x', '--peak-of', sys.argv[1]]; "
        "import runpy; runpy.run_path(" + repr(str(pathlib.Path(__file__))) + ", run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, database_name],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return float(result.stdout.strip().splitlines()[-1])


def peak_of(database_name: str) -> None:
    import resource

    import pymongo

    client: pymongo.MongoClient = pymongo.MongoClient(os.environ["MONGODB_URI"], tz_aware=True)
    database = client[database_name]
    store, settings = prepared_store(database)
    compute_day(store, settings, TARGET, NOW)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux


def engine_name(database) -> str:
    if not os.environ.get("MONGODB_URI"):
        return "embedded (mongomock-ng with shared/dev/embedded_engine.py)"
    info = database.client.server_info()
    return (
        "FerretDB " + info["ferretdb"]["version"] if "ferretdb" in info else "MongoDB " + info["version"]
    ) + " at MONGODB_URI"


def report(results: list, landings: int, repeat: int, engine: str, scale: list) -> str:
    ratio = results[1]["seconds"] / results[0]["seconds"]
    lines = [
        f"## dailyFunnel: one day against growing history — {dt.date.today().isoformat()}",
        "",
        f"Command: `python bench/funnel.py` · Python {platform.python_version()} · engine: {engine} · "
        f"{os.cpu_count()} cores · target day {landings} landings ({SHARING[0]:.0%} of its new users share in turn: "
        f"generation 2 and a reproduction rate to compute), median of {repeat} runs",
        "",
        "| older history | documents in the database | compute_day time | one indexed fetch of the day's landings | ratio | documents shipped to the function | report rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['factor']}× | {r['documents']} | {r['seconds'] * 1000:.0f} ms | {r['fetch_seconds'] * 1000:.0f} ms "
            f"| {r['seconds'] / r['fetch_seconds']:.2f} | {r['documents_read']} | {r['rows']} |"
        )
    lines += [
        "",
        f"Time ratio 10× / 1×: **{ratio:.2f}** (goal ≤ 1.2). Documents shipped per day: "
        f"{results[1]['documents_read']} for {results[1]['landings']} landings and {results[1]['converters']} "
        "converters — the day's landings and intents, and the orders in the window (a day with over 2 000 invitees reads "
        "the window's orders through the time index and filters them in the function, so other users' orders in "
        "the window are read too).",
        "",
    ]
    if scale:
        lines += [
            "| landings that day | compute_day | indexed fetch of the day | ratio (goal ≤ 3) | peak memory of a fresh "
            "process computing the day (512 MB function) |",
            "|---|---|---|---|---|",
        ]
        for r in scale:
            peak = f"{r['peak_mb']:.0f} MB" if "peak_mb" in r else "— (real server only)"
            lines.append(
                f"| {r['landings']} | {r['seconds'] * 1000:.0f} ms | {r['fetch_seconds'] * 1000:.0f} ms | "
                f"{r['seconds'] / r['fetch_seconds']:.2f} | {peak} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--landings", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--sharing",
        type=float,
        default=0.1,
        help="share of the target day's new users who share in turn (0: no viral loop, as before)",
    )
    parser.add_argument(
        "--scale",
        type=int,
        action="append",
        default=[],
        help="also measure a day of this many landings (1x history): time, floor ratio, peak memory",
    )
    parser.add_argument("--peak-of", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    SHARING[0] = args.sharing
    if args.peak_of:
        return peak_of(args.peak_of)
    results = [measure(args.landings, factor, args.repeat) for factor in (1, 10)]
    scale = [measure(n, 1, args.repeat) for n in args.scale]
    probe, _ = fresh_database()
    text = report(results, args.landings, args.repeat, engine_name(probe), [results[0]] + scale if scale else [])
    publish(text, write=not args.no_write)
    if results[0]["checksum"] != results[1]["checksum"]:
        sys.exit("the target day's rows differ between histories")
    ratios = [r["seconds"] / r["fetch_seconds"] for r in [results[0]] + scale] if os.environ.get("MONGODB_URI") else []
    if (
        results[1]["seconds"] / results[0]["seconds"] > 1.2
        or results[1]["documents_read"] > 1.2 * results[0]["documents_read"]
        or any(ratio > 3 for ratio in ratios)
    ):
        sys.exit("funnel benchmark missed its goals")


if __name__ == "__main__":
    main()
