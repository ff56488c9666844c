"""MongoDB adapter for the funnel: every query is bounded by a time range on an indexed field; the day's landings
and intents are streamed once (grouped in Python by the funnel definition), then only the invitees' orders in the
window (and, for last touch, the buyers' later landings) are read.

Indexes used: ``share_events.enteredAt``, ``share_events (invitee, enteredAt)`` (last touch), ``share_intents.at``,
``<orders>.<time field>`` (ensured here, hinted), ``funnel_daily (date, dim)``,
``funnel_runs.startedAt``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shared.funnel.definition import Intent, Landing, Order, dates_between, parse_date
from shared.funnel.settings import OrderMapping
from shared.orders import OrderReads
from shared.platform.config import Collections
from shared.platform.db import (
    CollectionSpec,
    driver_errors,
    index,
    provision,
)
from shared.platform.documents import ASCENDING, Database, DeleteMany, ReplaceOne, ReturnDocument
from shared.platform.lease import (
    ABANDONED,
    DONE,
    EPOCH,
    FAILED,
    OWNER,
    PENDING,
    RUNNING,
    UNTIL,
    LeaseLost,
    Leases,
    lapsed,
)
from shared.platform.money import from_fen
from shared.rewards import RewardReads
from shared.sharing import SharingReads


def funnel_collections(names: Collections) -> list[CollectionSpec]:
    """The collections the funnel wing owns."""
    return [
        CollectionSpec(names.funnel_daily, (index("date", "dim", name="date_dim"),)),
        CollectionSpec(
            names.funnel_runs,
            (index("startedAt", name="startedAt"), index("status", "leaseUntil", name="status_leaseUntil")),
        ),
        # A run's days in chunks: what each lane claims, computes and marks done (see shared/funnel/run.py).
        CollectionSpec(chunks_collection(names), (index("run", "index", name="run_index"),)),
    ]


def chunks_collection(names: Collections) -> str:
    return f"{names.funnel_runs}_chunks"


LEGACY_RUN_AGE = dt.timedelta(days=1)  # a run recorded before runs had leases is dead after this long


class MongoFunnelStore:
    def __init__(
        self, database: Database, names: Collections, orders: OrderMapping, orders_database: Database | None = None
    ) -> None:
        # Landings, intents and users (the sharing wing's), the app's orders (the orders wing's) and the ledger (the
        # rewards wing's): read through what each publishes, never opened here.
        self._sharing = SharingReads(database, names)
        self._orders = OrderReads(database if orders_database is None else orders_database, orders)
        self._ledger = RewardReads(database, names)
        self._rows = database[names.funnel_daily]
        self._runs = database[names.funnel_runs]
        self._chunks = database[chunks_collection(names)]
        self._chunk_leases = Leases(self._chunks, "a chunk of days")
        self._run_leases = Leases(self._runs, "a funnel run")  # shared by the run's lanes: extended, never owned
        self._mapping = orders
        self._database, self._names = database, names

    def ensure_indexes(self) -> None:
        provision(self._database, funnel_collections(self._names))
        self._orders.ensure_indexes()

    # --- reads ---------------------------------------------------------------------------------------
    # Cursors keep the driver's default batches: on FerretDB every getMore of a cursor costs more than the last
    # (100 000 landings: 1.7 s with default batches, 4 s in batches of 5 000, 15 s in batches of 1 000).
    # The day's landings and intents are streamed from their time index and grouped in Python (one pass, see
    # group_landings): on FerretDB a $facet of per-dimension $groups cost ~6x the plain fetch, and the fetch is
    # what the credits need anyway.
    def day_landings(self, start: dt.datetime, end: dt.datetime) -> Iterator[Landing]:
        return self._sharing.day_landings(start, end)

    def intents_between(self, start: dt.datetime, until: dt.datetime) -> Iterator[Intent]:
        """Share intents in [start, until): the day's for its rows and the window's for the viral loop, in one read."""
        return self._sharing.intents_between(start, until)

    def relationship_day(self, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> dict[str, dict[str, int]]:
        """The day's relationships per inviter code; the lapses up to ``now`` are recorded first (the sharing wing
        keeps them in its history, once)."""
        self._sharing.record_lapses(start, end, now)
        return self._sharing.relationship_day(start, end)

    def orders_of(self, users: Iterable[str], start: dt.datetime, until: dt.datetime) -> list[Order]:
        return self._orders.orders_of(users, start, until)

    def users_by_code(self, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._sharing.users_by_code(codes)

    def landings_of(self, users: list[str], start: dt.datetime, until: dt.datetime) -> list[Landing]:
        return self._sharing.landings_of(users, start, until)

    def rows_for(self, date: str, dim: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"date": date}
        if dim:
            query["dim"] = dim
        with driver_errors("read report rows"):
            return sorted(self._rows.find(query), key=lambda r: r["_id"])

    def rows_between(self, first: str, last: str) -> list[dict[str, Any]]:
        """Report rows of the days [first, last] (``YYYY-MM-DD`` strings sort as dates), through (date, dim)."""
        with driver_errors("read report rows"):
            return list(self._rows.find({"date": {"$gte": first, "$lte": last}}, {"computedAt": 0, "runId": 0}))

    def inviter_names(self, codes: Iterable[str], field: str) -> dict[str, str]:
        return self._sharing.inviter_names(codes, field)

    def rewards_by_inviter(
        self, codes: Iterable[str], start: dt.datetime, end: dt.datetime, amount_scale: int = 1
    ) -> dict[str, float]:
        """code → rewards earned on orders placed in [start, end), exact (summed in fen by the ledger's wing), in the
        orders' unit for display."""
        return {code: from_fen(fen, amount_scale) for code, fen in self._ledger.earned_fen(codes, start, end).items()}

    def payouts_between(self, start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
        """Payouts into WeChat 零钱 made in [start, end), per state (the rewards wing's)."""
        return self._ledger.payout_totals(start, end)

    def write_day(self, date: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the day's rows: upsert every row by its deterministic id, then drop rows of that day
        that no longer have data."""
        rows = list(rows)
        ids = [row["_id"] for row in rows]
        operations: list[Any] = [ReplaceOne({"_id": row["_id"]}, dict(row), upsert=True) for row in rows]
        operations.append(DeleteMany({"date": date, "_id": {"$nin": ids}}))
        with driver_errors(f"write the report rows of {date}"):
            self._rows.bulk_write(operations, ordered=True)

    def record_dashboard(self, run_id: str, record: Mapping[str, Any]) -> None:
        """Where the run published its dashboard (or why it did not), kept in the run's document."""
        with driver_errors("record the dashboard"):
            self._runs.update_one({"_id": run_id}, {"$set": {"dashboard": dict(record)}})

    def latest_dashboard(self) -> dict[str, Any] | None:
        with driver_errors("read the latest dashboard"):
            for doc in (
                self._runs.find({"dashboard.status": "published"}, {"dashboard": 1}).sort("startedAt", -1).limit(1)
            ):
                return doc["dashboard"]
        return None

    # --- runs and their chunks: every change a conditional atomic update -------------------------------------
    def start_run(self, run: dict[str, Any], chunks: list[list[str]]) -> None:
        with driver_errors("record the funnel run"):
            self._runs.insert_one({**run, "resumeKeyHashes": []})
            self._chunks.insert_many(
                [
                    {
                        "_id": f"{run['_id']}:{number:04d}",
                        "run": run["_id"],
                        "index": number,
                        "days": days,
                        "next": 0,
                        "state": PENDING,
                        UNTIL: EPOCH,
                        "rows": 0,
                        "checksums": [],
                    }
                    for number, days in enumerate(chunks)
                ]
            )

    def run(self, run_id: str) -> dict[str, Any] | None:
        with driver_errors("read the funnel run"):
            return self._runs.find_one({"_id": run_id}, {"resumeKeyHashes": 0})

    def chunks_of(self, run_id: str) -> list[dict[str, Any]]:
        with driver_errors("read the run's chunks"):
            return list(self._chunks.find({"run": run_id}).sort("index", ASCENDING))

    def abandon_stale_runs(self, now: dt.datetime) -> list[tuple[str, list[str]]]:
        """Runs still ``running`` though no invocation can be working on them any more (their lease lapsed: every
        lane died, was killed, or failed to record its failure): marked ``abandoned``, with the days they left
        undone, for the new run to redo."""
        stale = {
            "status": RUNNING,
            "$or": [
                lapsed(now),
                {UNTIL: {"$exists": False}, "startedAt": {"$lt": now - LEGACY_RUN_AGE}},
            ],
        }
        adopted = []
        with driver_errors("find abandoned funnel runs"):
            runs = list(self._runs.find(stale, {"from": 1, "to": 1}).limit(100))
        for run in runs:
            with driver_errors("mark a funnel run abandoned"):
                taken = self._runs.update_one(
                    {"_id": run["_id"], **stale}, {"$set": {"status": ABANDONED, "abandonedAt": now}}
                )
            if taken.modified_count != 1:
                continue  # another run adopted it first
            chunks = self.chunks_of(run["_id"])
            if chunks:
                undone = [day for chunk in chunks if chunk["state"] != DONE for day in chunk["days"][chunk["next"] :]]
                with driver_errors("mark a funnel run's chunks abandoned"):
                    self._chunks.update_many(
                        {"run": run["_id"], "state": {"$ne": DONE}}, {"$set": {"state": ABANDONED}}
                    )
            else:  # recorded before runs had chunks: all of its days
                first, last = parse_date(run["from"], "from"), parse_date(run["to"], "to")
                undone = [day.isoformat() for day in dates_between(first, last)]
            adopted.append((run["_id"], undone))
        return adopted

    def join_run(self, run_id: str, resume_hash: str, lease_until: dt.datetime) -> bool:
        """A continuation joins its run with the key issued for it (used once); the run stays alive with it."""
        return self._run_leases.extend(
            {"_id": run_id, "status": RUNNING, "resumeKeyHashes": resume_hash},
            lease_until,
            **{"$pull": {"resumeKeyHashes": resume_hash}, "$inc": {"invocations": 1}},
        )

    def lane_handed_on(self, run_id: str, status: str, fields: Mapping[str, Any], until: dt.datetime, why: str) -> None:
        if status == "continuing":
            also: dict[str, Any] = {"$push": {"resumeKeyHashes": fields["resumeKeyHash"]}}
            if why == "handoff":
                also["$inc"] = {"handoffs": 1}
            self._run_leases.extend({"_id": run_id, "status": RUNNING}, until, **also)
            return
        if fields.get("lastError"):
            update = {"$set": {"lastError": fields["lastError"]}}
        else:
            return  # nobody to hand to (not on SCF): the lanes running carry on
        with driver_errors("record the run's hand-off"):
            self._runs.update_one({"_id": run_id, "status": RUNNING}, update)

    def claim_chunk(self, run_id: str, owner: str, now: dt.datetime, until: dt.datetime) -> dict[str, Any] | None:
        """The run's first chunk that nobody is computing (pending, or its holder's lease lapsed), now this owner's,
        with ``stalls``: how many holders in a row died on its next day (left it running without finishing a day) —
        a day too large for one invocation kills every holder, and the lane must stop retrying it."""
        before = self._chunk_leases.acquire(
            {"run": run_id, "state": {"$in": [PENDING, RUNNING]}},
            owner,
            now,
            until,
            set={"state": RUNNING},
            sort=[("index", ASCENDING)],
            answer=ReturnDocument.BEFORE,
        )
        if before is None:
            return None
        died_on_it = before["state"] == RUNNING and before["next"] == before.get("nextAtClaim")
        stalls = before.get("stalls", 0) + 1 if died_on_it else 0
        self._chunk_leases.renew({"_id": before["_id"]}, owner, set={"nextAtClaim": before["next"], "stalls": stalls})
        self._run_leases.extend({"_id": run_id}, until)
        return {**before, "state": RUNNING, OWNER: owner, UNTIL: until, "stalls": stalls}

    def day_done(self, chunk_id: str, owner: str, day: str, rows: int, checksum: str) -> None:
        self._chunk_leases.renew(
            {"_id": chunk_id, "state": RUNNING},
            owner,
            inc={"next": 1, "rows": rows},
            also={"$push": {"checksums": [day, checksum]}},
        )

    def finish_chunk(self, chunk_id: str, owner: str) -> None:
        if not self._chunk_leases.release({"_id": chunk_id, "state": RUNNING}, owner, set={"state": DONE}):
            raise LeaseLost("the chunk's claim was lost")

    def release_chunk(self, chunk_id: str, owner: str) -> None:
        if not self._chunk_leases.release({"_id": chunk_id, "state": RUNNING}, owner, set={"state": PENDING}):
            raise LeaseLost("the chunk's claim was lost")

    def end_run(self, run_id: str, fields: Mapping[str, Any]) -> bool:
        """Close a running run (one lane wins); False when it was already closed."""
        with driver_errors("record the funnel run"):
            result = self._runs.update_one({"_id": run_id, "status": RUNNING}, {"$set": dict(fields)})
        return result.modified_count == 1

    def fail_run(self, run_id: str, chunk_id: str, owner: str, day: str, error: str, now: dt.datetime) -> None:
        self._chunk_leases.release({"_id": chunk_id}, owner, set={"state": FAILED, "error": error, "failedDay": day})
        with driver_errors("record the failed funnel run"):
            self._chunks.update_many({"run": run_id, "state": PENDING}, {"$set": {"state": "skipped"}})
        chunks = self.chunks_of(run_id)
        finished = sorted(pair[0] for chunk in chunks for pair in chunk.get("checksums", []))
        self.end_run(
            run_id,
            {
                "status": FAILED,
                "error": error,
                "failedDays": [day],
                "finishedDays": finished,
                # Every other day of the run: not reached (its previous rows stand), so a rerun redoes them.
                "unfinishedDays": sorted({d for chunk in chunks for d in chunk["days"]} - set(finished) - {day}),
                "rows": sum(chunk.get("rows", 0) for chunk in chunks),
                "finishedAt": now,
            },
        )
