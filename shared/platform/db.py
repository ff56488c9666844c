"""The MongoDB entry point: one client per warm instance, indexes ensured once per cold start.

``MONGODB_URI`` set → pymongo against that server. Unset → mongomock-ng, an embedded in-memory
engine that speaks the pymongo API (development, the demo and tests only; not shipped in function
packages, and refused on SCF by ``Settings.from_env``).
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from shared.platform import deadline, log
from shared.platform.config import Settings
from shared.platform.config import settings as current_settings
from shared.platform.documents import DatabaseError, DuplicateKeyError
from shared.platform.errors import ConfigError, Unavailable

# The driver's timeouts come from the invocation's time limit (SCF's context ``time_limit_in_ms``, the function's
# configured timeout): an unreachable server is answered UNAVAILABLE (retryable) after 30 % of it, capped by
# MONGODB_TIMEOUT_MS, well before the platform kills the call; a slow reply may use up to 30 % (capped at 120 s,
# so dailyFunnel's aggregations have room). Timeouts written in MONGODB_URI win over these. The client is made
# once per instance, and an instance always runs the same function, so its first invocation's limit holds.
SHARE_OF_INVOCATION = 0.3
MAX_SOCKET_MS = 120_000
# Kept where callers have always found them (shared.platform.deadline holds them, free of any driver import).
time_limit_ms = deadline.time_limit_ms
invocation_deadline = deadline.invocation_deadline


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
def driver_errors(what: str, within_s: float | None = None) -> Iterator[None]:
    """Backend failures become ``Unavailable`` (``raise … from``); the port's ``DuplicateKeyError`` passes through
    for the caller to read (a ``BulkWriteError`` is read inside the block, where the bulk write was made).

    On MongoDB each operation runs under the driver's own deadline (``pymongo.timeout``), a share of the invocation's
    time limit: server selection, the connection handshakes it retries and the operation itself together, so an outage
    is answered in time on a warm instance too (whose monitor still believes the server is up until its next
    heartbeat); on CloudBase each request carries its share itself. Once one operation of the invocation lost the
    database, the following ones answer at once (``deadline``). ``within_s`` bounds it tighter (a cold instance's
    first contact: no longer than the driver's own server-selection wait)."""
    if deadline.database_down():
        raise Unavailable(f"database error while trying to {what}: the database did not answer this invocation")
    limit_ms = deadline.current_limit_ms()
    limits = [s for s in (deadline.OPERATION_SHARE * limit_ms / 1000 if limit_ms else None, within_s) if s]
    driver = sys.modules.get("pymongo")  # loaded only by the MongoDB backend
    bound = driver.timeout(min(limits)) if limits and driver is not None else nullcontext()
    try:
        with bound:
            yield
    except DuplicateKeyError:
        raise
    except DatabaseError as exc:
        if exc.timeout:
            deadline.mark_database_down()
        raise Unavailable(f"database error while trying to {what}") from exc
    except Exception as exc:
        errors = sys.modules.get("pymongo.errors")
        if errors is None or not isinstance(exc, errors.PyMongoError):
            raise
        from shared.platform.mongo_db import translated

        port_error = translated(exc)  # an error from a pymongo object used directly (ops scripts)
        if isinstance(port_error, DuplicateKeyError):
            raise port_error from exc
        if port_error.timeout:
            deadline.mark_database_down()
        raise Unavailable(f"database error while trying to {what}") from exc


_lock = threading.Lock()
_client: Any = None
_database: Any = None


# The users' inviter-code index is partial (organic users have no code). FerretDB/DocumentDB uses a partial index
# only when the query repeats its filter: a bare {"code": x} scans every user (31 ms against 2 ms at 60 000 users).
CODE_INDEXED = {"$type": "string"}


def code_matches(codes: str | Iterable[str]) -> dict[str, Any]:
    """The ``code`` condition for one inviter code or several that the partial unique index serves on both engines."""
    if isinstance(codes, str):
        return {**CODE_INDEXED, "$eq": codes}
    return {**CODE_INDEXED, "$in": list(codes)}


class IndexSpec(NamedTuple):
    """One index, as its owning wing declares it."""

    keys: tuple[tuple[str, int], ...]
    name: str
    unique: bool = False
    partial: dict[str, Any] | None = None  # partialFilterExpression

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"name": self.name}
        if self.unique:
            options["unique"] = True
        if self.partial is not None:
            options["partialFilterExpression"] = self.partial
        return options


class CollectionSpec(NamedTuple):
    """A collection and its indexes, declared once by the wing that owns it (listed in docs/data-model.md)."""

    name: str
    indexes: tuple[IndexSpec, ...] = ()


def index(*keys: str, name: str, unique: bool = False, partial: dict[str, Any] | None = None) -> IndexSpec:
    """An ascending index on ``keys``."""
    return IndexSpec(tuple((key, 1) for key in keys), name, unique, partial)


_provisioned_lock = threading.Lock()


def _selection_wait_ms(config: Settings) -> float:
    written = uri_options(config.mongodb_uri).get("serverselectiontimeoutms")
    return float(written) if written and written.isdigit() else float(config.mongodb_timeout_ms)


def provision(database: Any, specs: Iterable[CollectionSpec]) -> None:
    """Create the collections and indexes idempotently, once per instance and database: a cold instance's first use
    (``CreateTable`` + one ``UpdateTable`` a collection on CloudBase, ``create_index`` on MongoDB)."""
    done: set[str] = database.__dict__.setdefault("_share_funnel_provisioned", set())
    with _provisioned_lock:
        wanted = [spec for spec in specs if spec.name not in done]
    if not wanted:
        return
    # Looked up on the class: a pymongo Database answers any attribute with a collection of that name.
    cloudbase = hasattr(type(database), "provision_all")
    if not cloudbase:
        # On MongoDB, reaching the server at first contact waits no longer than selecting it may (MONGODB_TIMEOUT_MS,
        # or the URI's own serverSelectionTimeoutMS): a closed port answers within it. Building an index may then
        # take an operation's whole share (a new index on a large collection).
        with driver_errors("reach the database", _selection_wait_ms(current_settings()) / 1000):
            database.command("ping")
    with driver_errors("prepare the collections"):
        if cloudbase:
            from shared.platform.cloudbase_db import index_spec

            database.provision_all(
                [(spec.name, [index_spec(list(i.keys), i.options()) for i in spec.indexes]) for spec in wanted]
            )
            with _provisioned_lock:
                done.update(spec.name for spec in wanted)
            return
        for spec in wanted:
            for i in spec.indexes:
                database[spec.name].create_index(list(i.keys), **i.options())
            with _provisioned_lock:
                done.add(spec.name)


def _connect_cloudbase(config: Settings) -> Any:
    from shared.platform.cloudbase_db import CloudBaseDatabase, TcbApi

    access = config.cloudbase
    assert access is not None  # Settings.from_env requires it with either cloudbase setting
    # Outside an invocation a request may wait MONGODB_TIMEOUT_MS; inside one, its share of the invocation's limit.
    api = TcbApi(
        access.env_id,
        access.secret_id,
        access.secret_key,
        access.session_token,
        access.region,
        access.endpoint,
        timeout_s=config.mongodb_timeout_ms / 1000,
        tag=access.tag,
    )
    return CloudBaseDatabase(api)


_orders_database: Any = None


def orders_database(config: Settings | None = None) -> Any:
    """Where the app's orders are read: the configured database, or the environment's own one with
    ``ORDERS_SOURCE=cloudbase`` (a team whose product data moved to MongoDB while the mini program keeps writing
    its orders with ``wx.cloud.database()``)."""
    global _orders_database
    config = config or current_settings()
    if config.orders_source != "cloudbase" or config.backend == "cloudbase":
        return database(config)
    with _lock:
        if _orders_database is None:
            log.event("orders_source", engine="cloudbase")
            _orders_database = _connect_cloudbase(config)
    return _orders_database


def _connect(config: Settings) -> Any:
    if config.backend == "cloudbase":
        log.event("database_engine", engine="cloudbase")
        return _SingleDatabase(_connect_cloudbase(config))
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
        return _PortClient(mongomock_ng.MongoClient(tz_aware=True))
    import pymongo

    log.event("database_engine", engine="mongodb", database=config.mongodb_db)
    # Timeouts written in MONGODB_URI win over the ones derived from the invocation.
    given = uri_options(config.mongodb_uri)
    defaults: dict[str, Any] = driver_timeouts(config, deadline.current_limit_ms())
    return _PortClient(
        pymongo.MongoClient(
            config.mongodb_uri,
            tz_aware=True,
            appname="share-funnel",
            retryWrites=True,
            **{name: value for name, value in defaults.items() if name.lower() not in given},
        )
    )


class _PortClient:
    """A pymongo client whose databases speak the document-database port."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getitem__(self, name: str) -> Any:
        from shared.platform.mongo_db import MongoDatabase

        return MongoDatabase(self.client[name])

    def close(self) -> None:
        self.client.close()


class _SingleDatabase:
    """A CloudBase environment has one database: the client's ``[name]`` is it, whatever the name."""

    def __init__(self, database: Any) -> None:
        self._database = database

    def __getitem__(self, name: str) -> Any:
        return self._database

    def close(self) -> None:
        pass


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
            _client, _database = client, client[config.mongodb_db]
    return _database


def reset() -> None:
    """Drop the cached client (tests and ops scripts that switch configuration)."""
    global _client, _database, _orders_database
    with _lock:
        if _client is not None:
            _client.close()
        _client, _database, _orders_database = None, None, None
    if "shared.platform.cloudbase_db" in sys.modules:
        sys.modules["shared.platform.cloudbase_db"].forget_answer_shapes()
