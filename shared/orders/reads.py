"""The app's orders as this product reads them: the funnel's credit, the reward ledger's settlement and refunds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from shared.orders.settings import Order, OrderMapping
from shared.platform.db import CollectionSpec, aware, driver_errors, field_at, index, provision
from shared.platform.documents import Database

ORDERS_TIME_INDEX = "share_funnel_time"
IN_LIMIT = 2000  # up to this many users the server filters orders with $in


def orders_collection(orders: OrderMapping) -> CollectionSpec:
    """The indexes this product adds to the app's own orders collection (it writes no order)."""
    return CollectionSpec(
        orders.collection,
        (
            index(orders.user_field, orders.time_field, name="share_funnel_user_time"),
            index(orders.time_field, name=ORDERS_TIME_INDEX),
        ),
    )


def _amount(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


class OrderReads:
    """Reads of the app's orders through the mapping (the database may be the environment's own while the product's
    data lives in MongoDB: ``ORDERS_SOURCE=cloudbase``)."""

    def __init__(self, database: Database, mapping: OrderMapping) -> None:
        self.mapping = mapping
        self._orders = database[mapping.collection]
        self._database = database

    def ensure_indexes(self) -> None:
        """The index the reads hint at (once per instance: ``provision`` remembers)."""
        provision(self._database, [orders_collection(self.mapping)])

    def _paid(self, query: dict[str, Any]) -> dict[str, Any]:
        if self.mapping.status_field:
            query[self.mapping.status_field] = {"$in": list(self.mapping.paid_values)}
        return query

    def order_of(self, doc: Mapping[str, Any]) -> Order:
        m = self.mapping
        return Order(
            order_id=str(doc["_id"]),
            user=field_at(doc, m.user_field),
            at=aware(field_at(doc, m.time_field)),
            amount=_amount(field_at(doc, m.amount_field)),
        )

    def orders_of(self, users: Iterable[str], start: dt.datetime, until: dt.datetime) -> list[Order]:
        """Paid orders of ``users`` in [start, until], read through the time index. Few users: the server filters
        them (``$in``); many: the window's orders are read and filtered here — a ``$in`` of 100 000 ids costs
        FerretDB more than reading the window (0.8 s against 0.2 s for a 100 000-landing day)."""
        self.ensure_indexes()
        m = self.mapping
        wanted = set(users)
        query: dict[str, Any] = {m.time_field: {"$gte": start, "$lte": until}}
        if len(wanted) <= IN_LIMIT:
            query[m.user_field] = {"$in": sorted(wanted)}
        with driver_errors("read orders"):
            docs = [
                doc
                for doc in self._orders.find(
                    self._paid(query), {"_id": 1, m.user_field: 1, m.time_field: 1, m.amount_field: 1}
                ).hint(ORDERS_TIME_INDEX)
                if field_at(doc, m.user_field) in wanted
            ]
        return [self.order_of(doc) for doc in docs]

    def paid_orders_after(self, at: dt.datetime, key: str, until: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """The next paid orders by (time, id) after the cursor (``at``, ``key``), up to ``until``."""
        self.ensure_indexes()
        m = self.mapping
        query = self._paid({m.time_field: {"$gte": at, "$lte": until}})
        with driver_errors("read orders to settle"):
            docs = list(
                self._orders.find(query, {"_id": 1, m.user_field: 1, m.time_field: 1, m.amount_field: 1})
                .sort([(m.time_field, 1), ("_id", 1)])
                .limit(limit + 200)
                .hint(ORDERS_TIME_INDEX)
            )
        after = [d for d in docs if (aware(field_at(d, m.time_field)), str(d["_id"])) > (at, key)]
        return after[:limit]

    def still_paid(self, order_keys: list[Any]) -> set[str]:
        """Which of these orders still exist with a paid status (the rest were refunded or cancelled)."""
        with driver_errors("check orders"):
            return {str(d["_id"]) for d in self._orders.find(self._paid({"_id": {"$in": order_keys}}), {"_id": 1})}
