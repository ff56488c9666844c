"""The MongoDB entry point: one client per warm instance, indexes ensured once per cold start.

``MONGODB_URI`` set → pymongo against that server. Unset → mongomock-ng, an embedded in-memory
engine that speaks the pymongo API (development, the demo and tests only; not shipped in function
packages, and refused on SCF by ``Settings.from_env``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pymongo
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.platform import log
from shared.platform.config import Collections, Settings
from shared.platform.config import settings as current_settings
from shared.platform.errors import ConfigError, Unavailable

# The driver's timeouts come from the invocation's time limit (SCF's context ``time_limit_in_ms``, the function's
# configured timeout): an unreachable server is answered UNAVAILABLE (retryable) after 30 % of it, capped by
# MONGODB_TIMEOUT_MS, well before the platform kills the call; a slow reply may use up to 30 % (capped at 120 s,
# so dailyFunnel's aggregations have room). Timeouts written in MONGODB_URI win over these. The client is made
# once per instance, and an instance always runs the same function, so its first invocation's limit holds.
SHARE_OF_INVOCATION = 0.3
MAX_SOCKET_MS = 120_000
_time_limit_ms: ContextVar[float | None] = ContextVar("share_funnel_time_limit_ms", default=None)


def time_limit_ms(context: Any) -> float | None:
    """The invocation's time limit from SCF's context (``time_limit_in_ms``), or None when absent or malformed."""
    limit_ms = context.get("time_limit_in_ms") if isinstance(context, Mapping) else None
    if isinstance(limit_ms, bool) or not isinstance(limit_ms, (int, float)) or limit_ms <= 0:
        return None
    return float(limit_ms)


@contextmanager
def invocation_deadline(context: Any) -> Iterator[None]:
    """Make this invocation's time limit known to the connection made during it (if any)."""
    token = _time_limit_ms.set(time_limit_ms(context))
    try:
        yield
    finally:
        _time_limit_ms.reset(token)


def driver_timeouts(config: Settings, limit_ms: float | None) -> dict[str, int]:
    """serverSelection/connect/socket timeouts for the client, from the invocation's time limit when known."""
    wait = config.mongodb_timeout_ms
    if limit_ms is None:
        return {"serverSelectionTimeoutMS": wait, "connectTimeoutMS": wait, "socketTimeoutMS": wait * 2}
    share = int(limit_ms * SHARE_OF_INVOCATION)
    return {
        "serverSelectionTimeoutMS": min(wait, share),
        "connectTimeoutMS": min(wait, share),
        "socketTimeoutMS": min(MAX_SOCKET_MS, share),
    }


def uri_options(uri: str | None) -> dict[str, str]:
    """The query options of a ``mongodb://`` URI, names lower-cased (MongoDB's options are case-insensitive)."""
    if not uri:
        return {}
    return {key.lower(): values[-1] for key, values in parse_qs(urlsplit(uri).query).items()}


def aware(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC datetime (a client without tz_aware, or the embedded engine, reads naive ones)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def field_at(doc: Any, path: str) -> Any:
    """The value at a dotted field path of a document (the app's own field mappings may be nested), or None."""
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, Mapping) else None
    return doc


@contextmanager
def driver_errors(what: str) -> Iterator[None]:
    """Driver failures become ``Unavailable`` (``raise … from``); ``DuplicateKeyError`` passes through for the
    caller to read."""
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError as exc:
        raise Unavailable(f"database error while trying to {what}") from exc


_lock = threading.Lock()
_client: Any = None
_database: Any = None


# The users' inviter-code index is partial (organic users have no code). FerretDB/DocumentDB uses a partial index
# only when the query repeats its filter: a bare {"code": x} scans every user (31 ms against 2 ms at 60 000 users).
_CODE_INDEXED = {"$type": "string"}


def code_matches(codes: str | Iterable[str]) -> dict[str, Any]:
    """The ``code`` condition for one inviter code or several that the partial unique index serves on both engines."""
    if isinstance(codes, str):
        return {**_CODE_INDEXED, "$eq": codes}
    return {**_CODE_INDEXED, "$in": list(codes)}


def _index_specs(names: Collections) -> list[tuple[str, list[tuple[str, int]], dict[str, Any]]]:
    """(collection, keys, options). Listed in the README's data model; change both together."""
    return [
        # Inviter codes are unique among users that have one (organic users have none).
        (
            names.users,
            [("code", 1)],
            {"name": "code_unique", "unique": True, "partialFilterExpression": {"code": _CODE_INDEXED}},
        ),
        (names.users, [("firstSeenAt", 1)], {"name": "firstSeenAt"}),
        (names.users, [("binding.inviter", 1), ("binding.at", 1)], {"name": "binding_inviter_at"}),
        # One landing record per (inviter, invitee, product): the dedup rule itself.
        (
            names.share_events,
            [("inviter", 1), ("invitee", 1), ("productId", 1)],
            {"name": "landing_unique", "unique": True},
        ),
        (names.share_events, [("enteredAt", 1)], {"name": "enteredAt"}),
        (names.share_events, [("invitee", 1), ("enteredAt", 1)], {"name": "invitee_enteredAt"}),
        (names.share_intents, [("at", 1)], {"name": "at"}),
        (names.share_intents, [("sharer", 1), ("at", 1)], {"name": "sharer_at"}),
        # One token per (inviter, product, channel), so regenerating a code reuses its token.
        (
            names.scene_tokens,
            [("inviter", 1), ("productId", 1), ("channel", 1)],
            {"name": "claim_unique", "unique": True},
        ),
        # Code cache: _id is the hash of everything that changes the image; lookups are by _id.
        (names.wxacodes, [("inviter", 1), ("createdAt", 1)], {"name": "inviter_createdAt"}),
        (names.wxacode_jobs, [("createdAt", 1)], {"name": "createdAt"}),
    ]


def ensure_indexes(database: Any, names: Collections) -> None:
    for collection, keys, options in _index_specs(names):
        database[collection].create_index(keys, **options)


def _connect(config: Settings) -> Any:
    if config.embedded:
        try:
            import mongomock_ng
        except ImportError as exc:  # a function package without MONGODB_URI: a deployment mistake
            raise ConfigError(
                "MONGODB_URI is not set and the embedded engine (mongomock-ng, a dev dependency) is not installed"
            ) from exc
        log.event("database_engine", engine="embedded", note="in-memory mongomock-ng; data is lost on exit")
        from shared.dev import embedded_engine

        embedded_engine.install()  # index-like lookups: costs stay bounded by what a query selects
        return mongomock_ng.MongoClient(tz_aware=True)
    log.event("database_engine", engine="mongodb", database=config.mongodb_db)
    # Timeouts written in MONGODB_URI win over the ones derived from the invocation.
    given = uri_options(config.mongodb_uri)
    defaults: dict[str, Any] = driver_timeouts(config, _time_limit_ms.get())
    return pymongo.MongoClient(
        config.mongodb_uri,
        tz_aware=True,
        appname="share-funnel",
        retryWrites=True,
        **{name: value for name, value in defaults.items() if name.lower() not in given},
    )


def database(config: Settings | None = None) -> Any:
    """The configured ``pymongo.database.Database`` (or its embedded equivalent).

    Created on first use and kept for the life of the instance; indexes are ensured then, once.
    A failure to reach the server raises ``Unavailable`` and is retried on the next call.
    """
    global _client, _database
    if _database is not None:
        return _database
    with _lock:
        if _database is None:
            config = config or current_settings()
            client = _connect(config)
            candidate = client[config.mongodb_db]
            try:
                with driver_errors("prepare the indexes"):
                    ensure_indexes(candidate, config.collections)
            except BaseException:
                client.close()
                raise
            _client, _database = client, candidate
    return _database


def reset() -> None:
    """Drop the cached client (tests and ops scripts that switch configuration)."""
    global _client, _database
    with _lock:
        if _client is not None:
            _client.close()
        _client, _database = None, None
