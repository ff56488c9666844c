"""Benchmark: every job finishes at any size (issue 24).

    python bench/runs.py settlement [--orders 100000] [--batch 2000]
    python bench/runs.py backfill [--days 400] [--landings 10000] [--lanes 2]

``settlement``: a backlog of ``--orders`` credited orders (each invitee landed through one of 500 inviters) settles
to completion through continuations — every invocation a 60 s function (the rewards function's limit) handing the
rest on through SCF ``Invoke`` to the SCF API emulator over real HTTP — then the very ledger documents it wrote are
bulk-inserted (``insert_many``, batches of the same size) into a collection with the ledger's indexes on the same
server: the floor. Goal: settlement ≤ 1.5× the floor, every order once.

``backfill``: ``--days`` days of ``--landings`` landings each (with their users, intents and orders), backfilled by
one admin run that fans out: chunks of days claimed by ``--lanes`` lanes of 60 s invocations running side by side
(threads, each a fresh invocation as SCF would start it), handing on before their deadline. Reports the slowest
invocation against its 60 s limit. Then a run is killed (its continuations never run) and the next run must find it
``abandoned`` and redo its days to the same rows.

Runs on the embedded engine, or on a throwaway database of MONGODB_URI when set. Appends to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import platform
import random
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("LOG_LEVEL", "ERROR")

from bench import publish
from bench.datasets import fresh_database, provision_for_reading
from bench.funnel import populate as populate_day
from shared.funnel import FunnelSettings
from shared.funnel.definition import VOLATILE_FIELDS
from shared.funnel.run import Invocation, continue_run, run_funnel
from shared.funnel.store import MongoFunnelStore
from shared.orders import OrderMapping
from shared.platform import log
from shared.platform.calendar import SHANGHAI
from shared.platform.clock import FixedClock, SystemClock
from shared.platform.config import Settings
from shared.platform.continuation import ScfInvokeContinuation, deadline_for, lease_until
from shared.platform.db import provision
from shared.rewards.settings import RewardSettings
from shared.rewards.settle import SettlementRun, settle
from shared.rewards.store import MongoRewardStore, rewards_collections
from tools.scf_api_emulator import ScfApiEmulator

START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI)
LIMIT_MS = 60_000  # CloudBase's largest time limit, the rewards' and dailyFunnel's own
CONTEXT = {"time_limit_in_ms": LIMIT_MS}


def emulated_invoke(function: str) -> tuple[ScfApiEmulator, ScfInvokeContinuation]:
    """The SCF API emulator and a continuation that invokes ``function`` through it (TC3-signed, model-checked)."""
    api = ScfApiEmulator()
    endpoint = api.start()
    env = {
        "TENCENTCLOUD_SECRETID": api.secret_id,
        "TENCENTCLOUD_SECRETKEY": api.secret_key,
        "TENCENTCLOUD_SESSIONTOKEN": api.session_token or "",
    }
    return api, ScfInvokeContinuation(function, "ap-shanghai", "bench-env", endpoint, env)


# --- settlement --------------------------------------------------------------------------------------------
def populate_orders(database, orders: int, relationships: bool = False) -> None:
    """``orders`` paid orders by as many invitees of 500 inviters. With ``relationships``, each invitee also holds
    the relationship the landing began, and every tenth was taken over by the next inviter an hour before buying
    (a history entry): the order belongs to the new inviter, which only the history can tell."""
    inviters = [f"inv{i:04d}" for i in range(500)]
    database.users.insert_many([{"_id": f"o-sharer-{i:04d}", "code": code} for i, code in enumerate(inviters)])
    for offset in range(0, orders, 10000):  # FerretDB refuses write batches over 25 000 operations
        landings, buyers, users, changes = [], [], [], []
        for n in range(offset, min(orders, offset + 10000)):
            at = START + dt.timedelta(seconds=n * 3)
            invitee = f"o-invitee-{n:07d}"
            if relationships:
                began, inviter = at - dt.timedelta(days=2), inviters[n % 500]
                binding = {"inviter": inviter, "productId": "sku-1", "channel": "chat", "at": began, "expiresAt": None}
                if n % 10 == 0:
                    taker = inviters[(n + 1) % 500]
                    taken_at = at - dt.timedelta(hours=1)
                    changes.append(
                        {"invitee": invitee, "inviter": taker, "from": inviter, "fromAt": began, "fromExpiresAt": None}
                        | {"kind": "taken", "by": "landing", "at": taken_at}
                    )
                    binding = {**binding, "inviter": taker, "at": taken_at}
                users.append({"_id": invitee, "firstSeenAt": began, "binding": binding})
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
                {"_id": f"order-{n:07d}", "_openid": invitee, "amount": 100, "status": "paid", "createdAt": at}
            )
        database.share_events.insert_many(landings)
        database.orders.insert_many(buyers)
        if users:
            database.users.insert_many(users)
        if changes:
            database.users_relationships.insert_many(changes)


def bench_settlement(args) -> str:
    database, engine = fresh_database()
    names = Settings.from_env({}).collections
    mapping = OrderMapping(status_field="status", paid_values=("paid",))
    api, continuation = emulated_invoke("rewards")
    try:
        provision_for_reading(database, names)
        store = MongoRewardStore(database, names, mapping)
        store.ensure_indexes()  # before the data, as in production
        by_relationship = args.attribution == "relationship"
        populate_orders(database, args.orders, relationships=by_relationship)
        settings = RewardSettings(
            fixed=5.0, percent=10.0, holding_days=7, batch=args.batch, order_source=mapping, credit_by=args.attribution
        )
        clock = FixedClock(START + dt.timedelta(seconds=args.orders * 3, days=1))

        floor_name = names.rewards + "_floor"
        provision(database, [rewards_collections(names)[0]._replace(name=floor_name)])
        floor_seconds, floor_documents = 0.0, 0
        last_id = ""

        def floor() -> None:
            """The floor, interleaved with settlement so both meet the same collection sizes and the same machine:
            the documents the last invocation wrote, bulk-inserted into a collection with the ledger's indexes."""
            nonlocal floor_seconds, floor_documents, last_id
            # Orders settle in time order, which is their ids' order here: an invocation's entries follow the last.
            documents = list(database.rewards.find({"_id": {"$gt": last_id}}).sort("_id", 1))
            last_id = documents[-1]["_id"] if documents else last_id
            started = time.perf_counter()
            for offset in range(0, len(documents), args.batch):
                database[floor_name].insert_many(documents[offset : offset + args.batch], ordered=False)
            floor_seconds += time.perf_counter() - started
            floor_documents += len(documents)

        def invocation(resume_key=None):
            began = time.perf_counter()
            run = SettlementRun(
                by="timer",
                deadline=deadline_for(CONTEXT),
                lease_until=lease_until(clock.now(), CONTEXT),
                continuation=continuation,
                resume_key=resume_key,
            )
            result = settle(store, clock, settings, run)
            seconds = time.perf_counter() - began
            floor()
            return result, seconds

        result, slowest = invocation()
        settle_seconds, invocations = slowest, 1
        while api.invocations:
            event = api.invocations.pop(0)["event"]
            result, seconds = invocation(event["resumeKey"])
            invocations, slowest, settle_seconds = invocations + 1, max(slowest, seconds), settle_seconds + seconds
        assert result["status"] == "done", result
        created = database.rewards.count_documents({})
        distinct = len(database.rewards.distinct("orderId"))
        assert created == distinct == args.orders == floor_documents, (created, distinct, floor_documents)
        if by_relationship:  # the taken-over tenth belongs to its new inviter: the history was read
            taken = database.rewards.find_one({"orderId": "order-0000010"}) or {}
            assert taken.get("inviter") == "inv0011", taken
    finally:
        api.stop()
        database.client.drop_database(database.name)
    ratio = settle_seconds / floor_seconds
    return "\n".join(
        [
            f"## Settlement of a backlog through continuations — {dt.date.today().isoformat()}",
            "",
            f"Command: `python bench/runs.py settlement --orders {args.orders} --batch {args.batch} --attribution "
            f"{args.attribution}` · REWARD_ATTRIBUTION={args.attribution}"
            + (" (every invitee holds a relationship, a tenth taken over before buying)" if by_relationship else "")
            + f" · Python "
            f"{platform.python_version()} · engine: {engine} · {os.cpu_count()} cores · each invocation a 60 s "
            "function (deadline 45 s), continuations through SCF Invoke to the SCF API emulator over HTTP",
            "",
            "| what | documents | invocations | slowest invocation | time |",
            "|---|---|---|---|---|",
            f"| settle {args.orders} credited orders (read orders, landings, inviters; judge caps; insert) | "
            f"{created} rewards, every order once | {invocations} ({invocations - 1} hand-offs) | {slowest:.1f} s of 60 s "
            f"| {settle_seconds:.1f} s |",
            f"| floor: insert_many the same documents, batches of {args.batch}, same indexes, after each invocation "
            f"| {floor_documents} | — | — "
            f"| {floor_seconds:.1f} s |",
            "",
            f"Settlement / floor: **{ratio:.2f}×** (goal ≤ 1.5×).",
            "",
        ]
    )


# --- backfill ----------------------------------------------------------------------------------------------
def stable_rows(database, days: set[str]) -> dict:
    return {
        r["_id"]: {k: v for k, v in r.items() if k not in VOLATILE_FIELDS}
        for r in database.funnel_daily.find({"date": {"$in": sorted(days)}})
    }


def bench_backfill(args) -> str:
    database, engine = fresh_database()
    names = Settings.from_env({}).collections
    settings = FunnelSettings(chunk_days=args.chunk_days, lanes=args.lanes)
    api, continuation = emulated_invoke("dailyFunnel")
    first = dt.date(2025, 10, 1)
    days = [first + dt.timedelta(days=n) for n in range(args.days)]
    clock = SystemClock()
    try:
        provision_for_reading(database, names)
        store = MongoFunnelStore(database, names, settings.orders)
        store.ensure_indexes()
        rng = random.Random(7)
        database.users.insert_many([{"_id": f"seed{n:03d}", "code": f"inv{n:03d}"} for n in range(200)])
        load_started = time.perf_counter()
        for number, day in enumerate(days):
            populate_day(database, day, args.landings, f"d{number}-", rng)
        load_seconds = time.perf_counter() - load_started

        durations: list[float] = []
        lock = threading.Lock()

        def invoke(event=None):
            began = time.perf_counter()
            invocation = Invocation(deadline_for(CONTEXT), lease_until(clock.now(), CONTEXT), continuation)
            if event is None:
                result = run_funnel(store, clock, settings, days, "admin", invocation)
            else:
                result = continue_run(store, clock, settings, event["continueFunnel"], event["resumeKey"], invocation)
            with lock:
                durations.append(time.perf_counter() - began)
            return result

        def lane_worker(stop: threading.Event) -> None:
            while not stop.is_set():
                with lock:
                    event = api.invocations.pop(0)["event"] if api.invocations else None
                if event is None:
                    time.sleep(0.05)
                    continue
                invoke(event)

        started = time.perf_counter()
        stop = threading.Event()
        workers = [threading.Thread(target=lane_worker, args=(stop,)) for _ in range(args.lanes)]
        for worker in workers:
            worker.start()
        first_result = invoke()
        run_id = first_result["runId"]
        while (store.run(run_id) or {}).get("status") == "running":
            time.sleep(0.2)
        stop.set()
        for worker in workers:
            worker.join()
        wall = time.perf_counter() - started
        run = store.run(run_id) or {}
        assert run["status"] == "done" and len(run["finishedDays"]) == args.days, run
        rows = database.funnel_daily.count_documents({})

        # A run killed after its first invocation: its continuations never run.
        killed_days = days[: min(len(days) - 1, 3 * args.chunk_days)]  # the next run names a day of its own
        clean = stable_rows(database, {d.isoformat() for d in killed_days})
        api.invocations.clear()
        short = Invocation(time.monotonic(), lease_until(clock.now(), CONTEXT), continuation)  # one day, then hand on
        killed = run_funnel(store, clock, settings, killed_days, "admin", short)
        api.invocations.clear()
        database.funnel_daily.delete_many({"date": {"$in": [d.isoformat() for d in killed_days[1:]]}})
        store._runs.update_one(
            {"_id": killed["runId"]}, {"$set": {"leaseUntil": clock.now() - dt.timedelta(seconds=1)}}
        )  # lapsed
        redo = run_funnel(store, clock, settings, days[-1:], "admin", Invocation(None, None, None))
        abandoned = (store.run(killed["runId"]) or {}).get("status")
        same = stable_rows(database, {d.isoformat() for d in killed_days}) == clean
    finally:
        api.stop()
        database.client.drop_database(database.name)
    over = [d for d in durations if d > LIMIT_MS / 1000]
    return "\n".join(
        [
            f"## dailyFunnel backfill through fan-out — {dt.date.today().isoformat()}",
            "",
            f"Command: `python bench/runs.py backfill --days {args.days} --landings {args.landings} --lanes "
            f"{args.lanes} --chunk-days {args.chunk_days}` · Python {platform.python_version()} · engine: {engine} · "
            f"{os.cpu_count()} cores · 60 s invocations (deadline 45 s), lanes as threads of this process, "
            "continuations through SCF Invoke to the SCF API emulator over HTTP",
            "",
            "| days × landings | loaded in | run | invocations | slowest invocation | median invocation | report rows |",
            "|---|---|---|---|---|---|---|",
            f"| {args.days} × {args.landings} | {load_seconds:.0f} s | {wall:.0f} s, `{run['status']}`, "
            f"{len(run['finishedDays'])} days | {len(durations)} ({run.get('handoffs', 0)} hand-offs) | "
            f"**{max(durations):.1f} s** of 60 s | {sorted(durations)[len(durations) // 2]:.1f} s | {rows} |",
            "",
            f"Invocations over their 60 s limit: {len(over)}. A run killed after its first invocation "
            f"({len(killed_days)} days): after the next run it is `{abandoned}`; the next run redid "
            f"{redo['days'] - 1} of its days and its rows are "
            f"{'identical to' if same else 'DIFFERENT from'} the clean backfill's.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("settlement")
    one.add_argument("--orders", type=int, default=100_000)
    one.add_argument("--batch", type=int, default=2000)
    one.add_argument("--attribution", choices=("funnel", "relationship"), default="funnel")
    two = sub.add_parser("backfill")
    two.add_argument("--days", type=int, default=400)
    two.add_argument("--landings", type=int, default=10_000)
    two.add_argument("--lanes", type=int, default=2)
    two.add_argument("--chunk-days", type=int, default=4)
    for each in (one, two):
        each.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    log.set_level("ERROR")
    text = bench_settlement(args) if args.what == "settlement" else bench_backfill(args)
    publish(text, write=not args.no_write)


if __name__ == "__main__":
    main()
