"""Index-like lookups for the embedded engine (mongomock-ng, used only when MONGODB_URI is unset).

mongomock-ng answers every query by scanning every document, and ``aggregate`` copies the whole
collection before its first ``$match``. Our queries are shaped for a real server's indexes (an ``_id``,
or a time range on an indexed field), so without help the embedded engine makes batch and report costs
grow with all history. Here:

* a string ``_id`` (or ``{"$in": [strings]}``) in a filter reads the documents stored under those keys;
* a datetime range (``$gt/$gte/$lt/$lte``) on a top-level field that some index of the collection
  includes reads candidates from a sorted key list, and a string (or ``$in`` of strings) on a field that
  leads an index reads them from a value table — the smaller candidate set wins, as a planner would
  (both rebuilt lazily after writes to that collection);
* ``aggregate`` with a leading ``$match`` runs it through ``find`` and only processes what matched;
* ``find_one_and_update`` is atomic, as on a server (mongomock-ng finds, then updates by ``_id`` alone).

Every candidate is still checked with the engine's own ``filter_applies``, so answers are the same as a
scan (tests compare both on random data); results keep insertion order. A real MongoDB needs none of this.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

_RANGE_OPERATORS = {"$gt", "$gte", "$lt", "$lte"}
_lock = threading.Lock()
enabled = True  # tests switch the lookups off to compare with the engine's own scan


def _normalised(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _range_field(filter: Mapping[str, Any], indexed: set) -> tuple[str, dt.datetime | None, dt.datetime | None] | None:
    for field, condition in filter.items():
        if field.startswith("$") or "." in field or field not in indexed:
            continue
        if not isinstance(condition, Mapping) or not condition or set(condition) - _RANGE_OPERATORS:
            continue
        if not all(isinstance(v, dt.datetime) for v in condition.values()):
            continue
        lows = [_normalised(condition[op]) for op in ("$gt", "$gte") if op in condition]
        highs = [_normalised(condition[op]) for op in ("$lt", "$lte") if op in condition]
        return field, (max(lows) if lows else None), (min(highs) if highs else None)
    return None


def _indexed_fields(store: Any) -> tuple[set, set]:
    """(fields in any index, fields leading an index)."""
    fields, leading = set(), set()
    for index in store.indexes.values():
        keys = [name for name, _ in index.get("key", ())]
        fields.update(keys)
        if keys:
            leading.add(keys[0])
    return fields, leading


def _equality_field(filter: Mapping[str, Any], leading: set) -> tuple[str, set] | None:
    for field, condition in filter.items():
        if field.startswith("$") or "." in field or field == "_id" or field not in leading:
            continue
        if isinstance(condition, str):
            return field, {condition}
        if not isinstance(condition, Mapping) or condition.get("$type", "string") != "string":
            continue  # ($type "string" beside the equality is what a partial index on strings needs; it narrows nothing)
        rest = {k: v for k, v in condition.items() if k != "$type"}
        if (
            set(rest) == {"$in"}
            and isinstance(rest["$in"], (list, tuple))
            and all(isinstance(v, str) for v in rest["$in"])
        ):
            return field, set(rest["$in"])
        if set(rest) == {"$eq"} and isinstance(rest["$eq"], str):
            return field, {rest["$eq"]}
    return None


def _version(store: Any) -> tuple[int, int]:
    return id(store._documents), getattr(store, "_share_funnel_version", 0)


def _keys_by_value(store: Any, field: str) -> dict[str, list[tuple[int, Any]]] | None:
    """value → [(insertion position, store key)] for string values of ``field``; None when some document
    holds an array there."""
    cache: dict[str, Any] = store.__dict__.setdefault("_share_funnel_hashed", {})
    entry = cache.get(field)
    if entry is not None and entry[0] == _version(store):
        return entry[1]
    table: dict[str, list[tuple[int, Any]]] = {}
    for position, (key, document) in enumerate(list(store._documents.items())):
        value = document.get(field)
        if isinstance(value, list):
            cache[field] = (_version(store), None)
            return None
        if isinstance(value, str):
            table.setdefault(value, []).append((position, key))
    cache[field] = (_version(store), table)
    return table


def _sorted_keys(store: Any, field: str) -> tuple[list[dt.datetime], list[tuple[int, Any]]] | None:
    """(sorted values, matching (insertion position, store key)) for ``field``; None when some document
    holds an array there (an array can match a range through any element: scan instead)."""
    version = _version(store)
    cache: dict[str, Any] = store.__dict__.setdefault("_share_funnel_sorted", {})
    entry = cache.get(field)
    if entry is not None and entry[0] == version:
        return entry[1]
    pairs = []
    for position, (key, document) in enumerate(list(store._documents.items())):
        value = document.get(field)
        if isinstance(value, list):
            cache[field] = (version, None)
            return None
        if isinstance(value, dt.datetime):
            pairs.append((_normalised(value), position, key))
    pairs.sort(key=lambda p: (p[0], p[1]))
    built = ([p[0] for p in pairs], [(p[1], p[2]) for p in pairs])
    cache[field] = (version, built)
    return built


def install() -> None:
    """Patch mongomock-ng once per process (idempotent)."""
    from mongomock_ng import aggregate as aggregation
    from mongomock_ng.collection import Collection
    from mongomock_ng.filtering import filter_applies
    from mongomock_ng.store import CollectionStore

    with _lock:
        if getattr(Collection, "_share_funnel_lookups", False):
            return
        scan = Collection._iter_documents
        full_aggregate = Collection.aggregate

        def bump(method: Any) -> Any:
            def wrapper(self: Any, *args: Any) -> Any:
                self._share_funnel_version = getattr(self, "_share_funnel_version", 0) + 1
                return method(self, *args)

            return wrapper

        for name in ("__setitem__", "__delitem__", "drop", "abort_transaction"):
            setattr(CollectionStore, name, bump(getattr(CollectionStore, name)))

        # mongomock-ng's find_one_and_update finds a document, then updates it by _id alone: two threads can both
        # take one lapsed lease. A server does it atomically; so does this engine, with every update serialised.
        atomic = threading.RLock()

        def atomically(method: Any) -> Any:
            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                with atomic:
                    return method(self, *args, **kwargs)

            return wrapper

        for name in ("_find_and_modify", "_update"):
            setattr(Collection, name, atomically(getattr(Collection, name)))

        def iter_documents(self: Any, filter: Any) -> Any:
            if not enabled or not isinstance(filter, Mapping):
                return scan(self, filter)
            key = filter.get("_id")
            if (
                isinstance(key, Mapping)
                and set(key) == {"$in"}
                and isinstance(key["$in"], (list, tuple))
                and all(isinstance(k, str) for k in key["$in"])
            ):
                wanted = set(key["$in"])
            elif isinstance(key, str):
                wanted = {key}
            else:
                wanted = None
            if wanted is not None:
                with self._store._rwlock.reader():
                    documents = self._store._documents
                    order = {k: n for n, k in enumerate(documents)} if len(wanted) > 1 else {}
                    hits = sorted((k for k in wanted if k in documents), key=lambda k: order.get(k, 0))
                    candidates = [documents[k] for k in hits]
                return (document for document in candidates if filter_applies(filter, document))
            indexed, leading = _indexed_fields(self._store)
            ranged, equal = _range_field(filter, indexed), _equality_field(filter, leading)
            if ranged is None and equal is None:
                return scan(self, filter)
            with self._store._rwlock.reader():
                options = []
                if equal is not None:
                    table = _keys_by_value(self._store, equal[0])
                    if table is not None:
                        options.append([entry for value in equal[1] for entry in table.get(value, ())])
                if ranged is not None:
                    index = _sorted_keys(self._store, ranged[0])
                    if index is not None:
                        values, keys = index
                        start = 0 if ranged[1] is None else bisect.bisect_left(values, ranged[1])
                        stop = len(values) if ranged[2] is None else bisect.bisect_right(values, ranged[2])
                        options.append(keys[start:stop])
                if not options:
                    return scan(self, filter)
                documents = self._store._documents
                smallest: list[Any] = min(options, key=len)
                candidates = [documents[key] for _, key in sorted(smallest)]
            return (document for document in candidates if filter_applies(filter, document))

        def aggregate(self: Any, pipeline: Any, session: Any = None, **options: Any) -> Any:
            if (
                not enabled
                or options
                or not pipeline
                or not isinstance(pipeline[0], Mapping)
                or set(pipeline[0]) != {"$match"}
            ):
                return full_aggregate(self, pipeline, session=session, **options)
            matched = list(self.find(pipeline[0]["$match"]))
            return aggregation.process_pipeline(matched, self.database, list(pipeline[1:]), session)

        # Patching the engine's class is the point of this module (it is never shipped).
        Collection._iter_documents = iter_documents  # type: ignore[method-assign]
        Collection.aggregate = aggregate  # type: ignore[method-assign]
        Collection._share_funnel_lookups = True  # type: ignore[attr-defined]
