"""Bench-only instrumentation: a database wrapper that counts the round trips, time and documents of every
collection call an adapter makes, so production adapters carry no counters. Works on either engine."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

READS = {"find_one", "find", "distinct", "aggregate", "count_documents"}
WRITES = {
    "insert_one",
    "insert_many",
    "update_one",
    "update_many",
    "replace_one",
    "delete_one",
    "delete_many",
    "find_one_and_update",
    "bulk_write",
}


class Meter:
    def __init__(self) -> None:
        self.round_trips: Counter = Counter()
        self.seconds = 0.0
        self.documents = 0  # documents shipped to the function (a $facet result counts its groups)

    def clear(self) -> None:
        self.round_trips.clear()
        self.seconds, self.documents = 0.0, 0


def _documents(method: str, result: Any) -> int:
    if method == "find_one" or method == "find_one_and_update":
        return int(result is not None)
    if method in ("find", "distinct"):
        return len(result)
    if method == "aggregate":
        return sum(sum(len(v) for v in doc.values() if isinstance(v, list)) or 1 for doc in result)
    return 0


class MeteredCollection:
    def __init__(self, collection: Any, meter: Meter) -> None:
        self._collection, self._meter = collection, meter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        kind = "reads" if name in READS else "writes" if name in WRITES else None
        if kind is None:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._meter.round_trips[kind] += 1
            started = time.perf_counter()
            try:
                result = attr(*args, **kwargs)
                if name == "find":
                    return MeteredCursor(result, self._meter)  # documents and time counted as it is drained
                if name == "aggregate":
                    result = list(result)  # fetch the cursor inside the timed call
                self._meter.documents += _documents(name, result)
                return result
            finally:
                self._meter.seconds += time.perf_counter() - started

        return call


class MeteredCursor:
    """A find cursor: chaining (hint, sort, limit…) passes through; draining it counts documents and time."""

    def __init__(self, cursor: Any, meter: Meter) -> None:
        self._cursor, self._meter = cursor, meter

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._cursor, name)

        def chained(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            return MeteredCursor(result, self._meter) if result is self._cursor else result

        return chained if callable(attr) else attr

    def __iter__(self):
        iterator = iter(self._cursor)
        while True:
            started = time.perf_counter()
            try:
                document = next(iterator)
            except StopIteration:
                return
            finally:
                self._meter.seconds += time.perf_counter() - started
            self._meter.documents += 1
            yield document


class MeteredDatabase:
    def __init__(self, database: Any, meter: Meter) -> None:
        self._database, self._meter = database, meter

    def __getitem__(self, name: str) -> MeteredCollection:
        return MeteredCollection(self._database[name], self._meter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)
