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

from pymongo import DeleteMany, ReplaceOne

from shared.funnel.definition import Intent, Landing, Order
from shared.funnel.settings import OrderMapping
from shared.platform.config import Collections
from shared.platform.db import CollectionSpec, aware, code_matches, driver_errors, field_at, index, provision
from shared.platform.money import from_fen

ORDERS_TIME_INDEX = "share_funnel_time"


def orders_collection(orders: OrderMapping) -> CollectionSpec:
    """The app's orders as this product reads them (the funnel's credit, the rewards' settlement): the indexes it
    adds to the app's own collection. Published for the rewards wing, which reads orders through it."""
    return CollectionSpec(
        orders.collection,
        (
            index(orders.user_field, orders.time_field, name="share_funnel_user_time"),
            index(orders.time_field, name=ORDERS_TIME_INDEX),
        ),
    )


def funnel_collections(names: Collections) -> list[CollectionSpec]:
    """The collections the funnel wing owns (it also adds indexes to the app's orders: ``orders_collection``)."""
    return [
        CollectionSpec(names.funnel_daily, (index("date", "dim", name="date_dim"),)),
        CollectionSpec(names.funnel_runs, (index("startedAt", name="startedAt"),)),
    ]


IN_LIMIT = 2000  # up to this many users the server filters orders with $in
_INTENT_FIELDS = {"_id": 0, "sharer": 1, "sharerOpenid": 1, "productId": 1, "channel": 1, "at": 1}
_LANDING_FIELDS = {
    "_id": 0,
    "inviter": 1,
    "invitee": 1,
    "productId": 1,
    "channel": 1,
    "entry": 1,
    "enteredAt": 1,
    "newUser": 1,
    "group.alias": 1,
    "group.chatType": 1,
}


def _landing(d: Mapping[str, Any]) -> Landing:
    return Landing(
        inviter=d["inviter"],
        invitee=d["invitee"],
        product=d["productId"],
        channel=d.get("channel"),
        entry=d.get("entry"),
        at=aware(d["enteredAt"]),
        new_user=d.get("newUser") is True,
        group=(d.get("group") or {}).get("alias"),
        chat_type=(d.get("group") or {}).get("chatType"),
    )


class MongoFunnelStore:
    def __init__(self, database: Any, names: Collections, orders: OrderMapping, orders_database: Any = None) -> None:
        self._landings = database[names.share_events]
        self._intents = database[names.share_intents]
        self._users = database[names.users]
        self._orders_database = database if orders_database is None else orders_database
        self._orders = self._orders_database[orders.collection]
        self._rows = database[names.funnel_daily]
        self._runs = database[names.funnel_runs]
        self._rewards = database[names.rewards]
        self._mapping = orders
        self._database, self._names = database, names

    def ensure_indexes(self) -> None:
        provision(self._database, funnel_collections(self._names))
        provision(self._orders_database, [orders_collection(self._mapping)])

    # --- reads ---------------------------------------------------------------------------------------
    # Cursors keep the driver's default batches: on FerretDB every getMore of a cursor costs more than the last
    # (100 000 landings: 1.7 s with default batches, 4 s in batches of 5 000, 15 s in batches of 1 000).
    # The day's landings and intents are streamed from their time index and grouped in Python (one pass, see
    # group_landings): on FerretDB a $facet of per-dimension $groups cost ~6x the plain fetch, and the fetch is
    # what the credits need anyway.
    def day_landings(self, start: dt.datetime, end: dt.datetime) -> Iterator[Landing]:
        with driver_errors("read the day's landings"):
            for d in self._landings.find({"enteredAt": {"$gte": start, "$lt": end}}, _LANDING_FIELDS):
                yield _landing(d)

    def intents_between(self, start: dt.datetime, until: dt.datetime) -> Iterator[Intent]:
        """Share intents in [start, until), streamed through the time index: the day's for its rows and the
        window's for the viral loop, in one read."""
        with driver_errors("read the share intents"):
            for d in self._intents.find({"at": {"$gte": start, "$lt": until}}, _INTENT_FIELDS):
                yield Intent(
                    sharer=d["sharer"],
                    product=d["productId"],
                    channel=d.get("channel"),
                    at=aware(d["at"]),
                    sharer_openid=d.get("sharerOpenid"),
                )

    def _order_query(self, users: list[str] | None, start: dt.datetime, until: dt.datetime) -> dict[str, Any]:
        query: dict[str, Any] = {self._mapping.time_field: {"$gte": start, "$lte": until}}
        if users is not None:
            query[self._mapping.user_field] = {"$in": users}
        if self._mapping.status_field:
            query[self._mapping.status_field] = {"$in": list(self._mapping.paid_values)}
        return query

    def orders_of(self, users: Iterable[str], start: dt.datetime, until: dt.datetime) -> list[Order]:
        """Qualifying orders of ``users`` in [start, until], read through the time index. Few users: the server
        filters them (``$in``); many: the window's orders are read and filtered here — a ``$in`` of 100 000 ids
        costs FerretDB more than reading the window (0.8 s against 0.2 s for a 100 000-landing day)."""
        m = self._mapping
        wanted = set(users)
        query = self._order_query(sorted(wanted) if len(wanted) <= IN_LIMIT else None, start, until)
        with driver_errors("read orders"):
            docs = [
                doc
                for doc in self._orders.find(
                    query, {"_id": 1, m.user_field: 1, m.time_field: 1, m.amount_field: 1}
                ).hint(ORDERS_TIME_INDEX)
                if field_at(doc, m.user_field) in wanted
            ]
        orders = []
        for doc in docs:
            amount = field_at(doc, m.amount_field)
            orders.append(
                Order(
                    order_id=str(doc["_id"]),
                    user=field_at(doc, m.user_field),
                    at=aware(field_at(doc, m.time_field)),
                    amount=float(amount) if isinstance(amount, (int, float)) and not isinstance(amount, bool) else 0.0,
                )
            )
        return orders

    def users_by_code(self, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
        """code → {openid, inviter}: the code's owner and the code that invited them (None for a seed), through
        the unique index on ``code``, in chunks of IN_LIMIT."""
        wanted, found = sorted(set(codes)), {}
        with driver_errors("read the inviters"):
            for first in range(0, len(wanted), IN_LIMIT):
                for d in self._users.find(
                    {"code": code_matches(wanted[first : first + IN_LIMIT])}, {"code": 1, "binding.inviter": 1}
                ):
                    found[d["code"]] = {"openid": d["_id"], "inviter": (d.get("binding") or {}).get("inviter")}
        return found

    def landings_of(self, users: list[str], start: dt.datetime, until: dt.datetime) -> list[Landing]:
        with driver_errors("read the buyers' landings"):
            docs = list(
                self._landings.find(
                    {"invitee": {"$in": users}, "enteredAt": {"$gte": start, "$lte": until}}, _LANDING_FIELDS
                )
            )
        return [_landing(d) for d in docs]

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
        """code → the name the app keeps in ``field`` of the users collection (when it is a non-empty string)."""
        wanted, names = sorted(set(codes)), {}
        with driver_errors("read inviter names"):
            for first in range(0, len(wanted), IN_LIMIT):
                for d in self._users.find(
                    {"code": code_matches(wanted[first : first + IN_LIMIT])}, {"code": 1, field: 1}
                ):
                    name = field_at(d, field)
                    if isinstance(name, str) and name.strip():
                        names[d["code"]] = name.strip()[:40]
        return names

    def rewards_by_inviter(
        self, codes: Iterable[str], start: dt.datetime, end: dt.datetime, amount_scale: int = 1
    ) -> dict[str, float]:
        """code → rewards earned on orders placed in [start, end): pending, approved and paid entries net of
        clawbacks (rejected and reversed ones earned nothing), from the reward ledger (shared/rewards)."""
        wanted, totals = sorted(set(codes)), {}
        with driver_errors("read the rewards"):
            for first in range(0, len(wanted), IN_LIMIT):
                for d in self._rewards.aggregate(
                    [
                        {
                            "$match": {
                                "inviter": {"$in": wanted[first : first + IN_LIMIT]},
                                "orderAt": {"$gte": start, "$lt": end},
                                "state": {"$in": ["pending", "approved", "paid", "clawback"]},
                            }
                        },
                        # Whole fen, summed exactly by the server (integers: no float drift).
                        {"$group": {"_id": "$inviter", "fen": {"$sum": "$amountFen"}}},
                    ]
                ):
                    totals[d["_id"]] = from_fen(int(d["fen"]), amount_scale)
        return totals

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

    def start_run(self, run: dict[str, Any]) -> None:
        with driver_errors("record the funnel run"):
            self._runs.insert_one(dict(run))

    def finish_run(self, run_id: str, fields: dict[str, Any]) -> None:
        with driver_errors("record the funnel run"):
            self._runs.update_one({"_id": run_id}, {"$set": fields})
