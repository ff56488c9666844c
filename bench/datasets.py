"""Throwaway databases for the benchmarks, and the sharing wing's collections indexed for reading.

On FerretDB 2.5 (DocumentDB) a unique secondary index costs time in proportion to the collection's size on every
insert (measured here: 5 000 inserts took 2.5 s into a collection with the landing key's unique index against
0.13–0.23 s with a plain index on one or two fields; building the unique index over 50 000 landings took 195 s,
plain ones 0.2–0.4 s). Loading millions of synthetic documents under those indexes is impractical, so the benchmarks
build them as plain indexes on the same keys: every read they time uses the same keys either way.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from shared.platform.config import Collections
from shared.platform.db import provision
from shared.sharing.store import sharing_collections


def fresh_database(prefix: str = "share_funnel_bench") -> tuple[Any, str]:
    """A database of its own (dropped by the caller) on MONGODB_URI, or the embedded engine; and the engine's name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    if os.environ.get("MONGODB_URI"):
        import pymongo

        client: Any = pymongo.MongoClient(os.environ["MONGODB_URI"], tz_aware=True)
        info = client.server_info()
        engine = ("FerretDB " + info["ferretdb"]["version"]) if "ferretdb" in info else "MongoDB " + info["version"]
        return client[name], engine + " at MONGODB_URI"
    import mongomock_ng

    from shared.dev import embedded_engine

    embedded_engine.install()
    return mongomock_ng.MongoClient(tz_aware=True)[name], "embedded (mongomock-ng with shared/dev/embedded_engine.py)"


def provision_for_reading(database: Any, names: Collections) -> None:
    """The sharing wing's collections with their indexes, unique ones built as plain ones (see above)."""
    provision(
        database,
        [
            spec._replace(indexes=tuple(index._replace(unique=False) for index in spec.indexes))
            for spec in sharing_collections(names)
        ],
    )
