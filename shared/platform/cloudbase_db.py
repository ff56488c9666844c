"""The CloudBase environment's own document database, behind the subset of pymongo's API the stores use.

Why this seam (a database adapter, not one store port per backend): the stores, the funnel and the ledger already
speak pymongo's ``Collection`` API and their rules (conditional updates, unique indexes answering "already there")
are the same on every backend, so one adapter keeps the business code unforked; the test suite then runs the same
scenarios on the embedded engine, MongoDB and CloudBase.

The database has no MongoDB wire-protocol endpoint. It is reached through Tencent's cloud API, service ``tcb``
2018-06-08, with ``tencentcloud-sdk-python-tcb``: ``RunCommands`` runs native MongoDB commands given as Extended
JSON strings (``CommandType`` must match the command: the platform charges reads and writes by it), ``CreateTable``
/ ``UpdateTable`` create collections and indexes. Answers are parsed defensively (see ``_documents`` and
``_reply``): the documented ``find`` answer is a JSON array of JSON-string documents; write answers are not
documented, so either that form or the server's reply document is accepted, and anything else is an error carrying
the request id (``CloudBaseError``, a ``PyMongoError``: the stores' ``driver_errors`` turn it into ``UNAVAILABLE``).
A duplicate key answers pymongo's own ``DuplicateKeyError``, so "already there" means the same on every backend.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bson import ObjectId, json_util
from bson.json_util import JSONMode, JSONOptions
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError
from pymongo.results import InsertManyResult, InsertOneResult, UpdateResult

from shared.platform import log

# A query returns at most this many documents (CloudBase's limit for a function): reads page by it.
MAX_PAGE = 1000
# Extended JSON both ways: canonical on the way out (dates as {"$date": {"$numberLong": …}}, longs as
# {"$numberLong": …}), any mode on the way back, dates as aware UTC datetimes like the MongoDB client's tz_aware.
_OUT = JSONOptions(json_mode=JSONMode.CANONICAL, tz_aware=True, tzinfo=dt.timezone.utc)
_IN = JSONOptions(tz_aware=True, tzinfo=dt.timezone.utc)
DUPLICATE_KEY = 11000
# A command on a collection that does not exist yet (the emulator's code; see "what to check on the first real
# deployment"): a read answers empty, as MongoDB does, and a write creates the collection and is sent again.
TABLE_MISSING = ("ResourceNotFound.TableNotFound", "ResourceNotFound.Table")
_EMPTY_ANSWER = {"find": "[]", "aggregate": "[]", "count": '{"n": 0, "ok": 1}'}


class CloudBaseError(PyMongoError):
    """The tcb API refused a request, failed, or answered in a shape we do not know (the request id is logged)."""

    def __init__(self, message: str, code: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.request_id = code, request_id


class Command(tuple):
    """One native command of a ``RunCommands`` request: (collection, CommandType, command document)."""

    def __new__(cls, table: str, command_type: str, command: Mapping[str, Any]) -> Command:
        return super().__new__(cls, (table, command_type, command))


class TcbApi:
    """The transport: ``tencentcloud-sdk-python-tcb`` with the function role's temporary keys.

    ``endpoint``: a host (``tcb.tencentcloudapi.com``) or, for emulators, ``http://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        env_id: str,
        secret_id: str,
        secret_key: str,
        session_token: str | None,
        region: str,
        endpoint: str,
        timeout_s: float,
    ) -> None:
        from tencentcloud.common import credential
        from tencentcloud.tcb.v20180608 import models, tcb_client

        from shared.platform.cloud_api import client_profile

        self.env_id = env_id
        self._models = models
        self._client = tcb_client.TcbClient(
            credential.Credential(secret_id, secret_key, session_token), region, client_profile(endpoint, timeout_s)
        )
        self.requests = 0  # RunCommands requests made (benchmarks read it)

    def _call(self, action: str, params: dict[str, Any]) -> Any:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        request = getattr(self._models, f"{action}Request")()
        request._deserialize({"EnvId": self.env_id, **params})
        try:
            return getattr(self._client, action)(request)
        except TencentCloudSDKException as exc:
            code, request_id = exc.get_code(), exc.get_request_id()
            if not (_already_exists(code) or code in TABLE_MISSING):  # those two are answered where they arise
                log.event("cloudbase_api_error", action=action, code=code, request_id=request_id)
            raise CloudBaseError(f"tcb {action} failed: {code}", code, request_id) from exc
        except (OSError, ValueError) as exc:  # transport failures and unreadable bodies
            log.event("cloudbase_api_error", action=action, code=type(exc).__name__)
            raise CloudBaseError(f"tcb {action} failed: {type(exc).__name__}") from exc

    def run(self, commands: Sequence[Command]) -> tuple[list[Any], str]:
        """Every command in one ``RunCommands`` request: (one raw answer per command, request id)."""
        self.requests += 1
        response = self._call(
            "RunCommands",
            {
                "MgoCommands": [
                    {"TableName": table, "CommandType": kind, "Command": json_util.dumps(command, json_options=_OUT)}
                    for table, kind, command in commands
                ]
            },
        )
        data, request_id = response.Data, response.RequestId
        if not isinstance(data, list) or len(data) != len(commands):
            log.event(
                "cloudbase_unknown_answer", action="RunCommands", request_id=request_id, shape=type(data).__name__
            )
            raise CloudBaseError("RunCommands answered an unknown shape", request_id=request_id)
        return data, request_id

    def create_table(self, name: str) -> None:
        try:
            self._call("CreateTable", {"TableName": name})
        except CloudBaseError as exc:
            if not _already_exists(exc.code):
                raise

    def create_indexes(self, name: str, indexes: list[dict[str, Any]]) -> None:
        if not indexes:
            return
        try:
            self._call("UpdateTable", {"TableName": name, "CreateIndexes": indexes})
        except CloudBaseError as exc:
            if not _already_exists(exc.code):
                raise

    def indexes(self, name: str) -> dict[str, dict[str, Any]]:
        response = self._call("DescribeTable", {"TableName": name})
        return {
            index.Name: {
                "key": [(key.Name, int(key.Direction)) for key in (index.Keys or [])],
                "unique": bool(index.Unique),
            }
            for index in (response.Indexes or [])
        }

    def drop_index(self, name: str, index: str) -> None:
        self._call("UpdateTable", {"TableName": name, "DropIndexes": [{"IndexName": index}]})

    def table_names(self) -> list[str]:
        names: list[str] = []
        while True:
            response = self._call("ListTables", {"MgoOffset": len(names), "MgoLimit": 100})
            page = [table.TableName for table in (response.Tables or [])]
            names += page
            if len(page) < 100:
                return names


def _already_exists(code: str | None) -> bool:
    # Creating what exists is success: provisioning runs on every cold instance.
    return bool(code) and ("Exist" in str(code) or "InUse" in str(code))


def _parse(text: Any, request_id: str) -> Any:
    try:
        return json_util.loads(text, json_options=_IN) if isinstance(text, str) else None
    except (ValueError, TypeError):
        return None


def _unknown(what: str, request_id: str) -> CloudBaseError:
    log.event("cloudbase_unknown_answer", what=what, request_id=request_id)
    return CloudBaseError(f"RunCommands answered {what} in an unknown shape", request_id=request_id)


def _documents(raw: Any, request_id: str) -> list[dict[str, Any]]:
    """A query's documents: the documented array of JSON-string documents (or of documents), or a server reply
    carrying ``cursor.firstBatch``."""
    value = _parse(raw, request_id)
    if isinstance(value, Mapping):
        _raise_for_errors(value, request_id)
        batch = (value.get("cursor") or {}).get("firstBatch") if isinstance(value.get("cursor"), Mapping) else None
        value = batch
    if not isinstance(value, list):
        raise _unknown("a query", request_id)
    documents = []
    for item in value:
        document = _parse(item, request_id) if isinstance(item, str) else item
        if not isinstance(document, Mapping):
            raise _unknown("a query's document", request_id)
        documents.append(dict(document))
    return documents


def _reply(raw: Any, request_id: str) -> dict[str, Any]:
    """A write's reply document: the server's own reply, or the same inside a one-element array."""
    value = _parse(raw, request_id)
    if isinstance(value, list) and len(value) == 1:
        value = _parse(value[0], request_id) if isinstance(value[0], str) else value[0]
    if not isinstance(value, Mapping):
        raise _unknown("a write", request_id)
    _raise_for_errors(value, request_id)
    return dict(value)


def _raise_for_errors(reply: Mapping[str, Any], request_id: str) -> None:
    errors = reply.get("writeErrors") or []
    if reply.get("code") == DUPLICATE_KEY or "E11000" in str(reply.get("errmsg", "")):
        raise DuplicateKeyError(str(reply.get("errmsg", "duplicate key")), DUPLICATE_KEY, dict(reply))
    if errors and all(isinstance(e, Mapping) for e in errors):
        if errors[0].get("code") == DUPLICATE_KEY:
            raise DuplicateKeyError(str(errors[0].get("errmsg", "duplicate key")), DUPLICATE_KEY, dict(errors[0]))
        log.event("cloudbase_write_error", code=errors[0].get("code"), request_id=request_id)
        raise CloudBaseError(f"write error {errors[0].get('code')}", request_id=request_id)
    if reply.get("ok") not in (None, 1, 1.0, True):
        log.event("cloudbase_command_failed", code=reply.get("code"), request_id=request_id)
        raise CloudBaseError(f"command failed: {reply.get('codeName') or reply.get('code')}", request_id=request_id)


def _sort_spec(sort: Any) -> dict[str, int] | None:
    if sort is None:
        return None
    return dict(sort)  # a mapping or pymongo's [(key, direction), …]


class CloudBaseCursor:
    """``find``'s cursor: ``sort``, ``skip``, ``limit`` and the no-op ``hint`` / ``batch_size``, read page by page
    (at most ``MAX_PAGE`` documents a request; pages are ordered by ``_id`` when no order is given, so paging is
    stable)."""

    def __init__(self, collection: CloudBaseCollection, filter: Mapping[str, Any], projection: Any) -> None:
        self._collection, self._filter, self._projection = collection, dict(filter), projection
        self._sort: dict[str, int] | None = None
        self._skip, self._limit = 0, 0

    def sort(self, key_or_list: Any, direction: int | None = None) -> CloudBaseCursor:
        self._sort = {key_or_list: direction or 1} if isinstance(key_or_list, str) else _sort_spec(key_or_list)
        return self

    def skip(self, count: int) -> CloudBaseCursor:
        self._skip = count
        return self

    def limit(self, count: int) -> CloudBaseCursor:
        self._limit = count
        return self

    def hint(self, index: Any) -> CloudBaseCursor:
        return self  # CloudBase plans its own queries; the hint is for FerretDB

    def batch_size(self, size: int) -> CloudBaseCursor:
        return self

    def __iter__(self) -> Iterator[dict[str, Any]]:
        served, skip = 0, self._skip
        order = self._sort or {"_id": 1}
        while True:
            wanted = MAX_PAGE if not self._limit else min(MAX_PAGE, self._limit - served)
            if wanted <= 0:
                return
            command: dict[str, Any] = {"find": self._collection.name, "filter": self._filter, "sort": order}
            if self._projection is not None:
                command["projection"] = _projection(self._projection)
            command.update(skip=skip, limit=wanted)
            page = self._collection.query(command)
            yield from page
            served, skip = served + len(page), skip + len(page)
            if len(page) < wanted:
                return


def _projection(projection: Any) -> dict[str, Any]:
    if isinstance(projection, Mapping):
        return dict(projection)
    return dict.fromkeys(projection, 1)


class CloudBaseCollection:
    def __init__(self, database: CloudBaseDatabase, name: str) -> None:
        self.database, self.name = database, name

    # --- the wire --------------------------------------------------------------------------------------------
    def query(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        (raw,), request_id = self.database.run([Command(self.name, "QUERY", command)])
        return _documents(raw, request_id)

    def _write(self, kind: str, command: dict[str, Any]) -> dict[str, Any]:
        (raw,), request_id = self.database.run([Command(self.name, kind, command)])
        return _reply(raw, request_id)

    # --- reads -------------------------------------------------------------------------------------------------
    def find(self, filter: Mapping[str, Any] | None = None, projection: Any = None, **options: Any) -> CloudBaseCursor:
        cursor = CloudBaseCursor(self, filter or {}, projection)
        if options.get("sort") is not None:
            cursor.sort(options["sort"])
        if options.get("limit"):
            cursor.limit(options["limit"])
        return cursor

    def find_one(self, filter: Any = None, projection: Any = None, **options: Any) -> dict[str, Any] | None:
        if filter is not None and not isinstance(filter, Mapping):
            filter = {"_id": filter}
        for document in self.find(filter, projection, **options).limit(1):
            return document
        return None

    def count_documents(self, filter: Mapping[str, Any], **options: Any) -> int:
        reply = self._count(dict(filter))
        return int(reply)

    def _count(self, filter: dict[str, Any]) -> int:
        (raw,), request_id = self.database.run([Command(self.name, "QUERY", {"count": self.name, "query": filter})])
        value = _parse(raw, request_id)
        if isinstance(value, list) and len(value) == 1:
            value = _parse(value[0], request_id) if isinstance(value[0], str) else value[0]
        if isinstance(value, Mapping):
            _raise_for_errors(value, request_id)
            if isinstance(value.get("n"), int):
                return int(value["n"])
        raise _unknown("a count", request_id)

    def estimated_document_count(self) -> int:
        return self._count({})

    def aggregate(self, pipeline: Sequence[Mapping[str, Any]], **options: Any) -> Iterator[dict[str, Any]]:
        # Results page like finds: the same pipeline with $skip/$limit stages appended.
        skip = 0
        while True:
            stages = [*pipeline, {"$skip": skip}, {"$limit": MAX_PAGE}]
            page = self.query({"aggregate": self.name, "pipeline": stages, "cursor": {}})
            yield from page
            skip += len(page)
            if len(page) < MAX_PAGE:
                return

    def distinct(self, key: str, filter: Mapping[str, Any] | None = None) -> list[Any]:
        rows = self.aggregate([{"$match": dict(filter or {})}, {"$group": {"_id": f"${key}"}}])
        return [row["_id"] for row in rows]

    # --- writes ------------------------------------------------------------------------------------------------
    def insert_one(self, document: dict[str, Any], **options: Any) -> InsertOneResult:
        document.setdefault("_id", ObjectId())  # as pymongo does: the caller's document gets its _id
        self._write("INSERT", {"insert": self.name, "documents": [document]})
        return InsertOneResult(document["_id"], True)

    def insert_many(
        self, documents: Sequence[dict[str, Any]], ordered: bool = True, **options: Any
    ) -> InsertManyResult:
        ids, write_errors, inserted = [], [], 0
        for start in range(0, len(documents), MAX_PAGE):
            chunk = list(documents[start : start + MAX_PAGE])
            for document in chunk:
                document.setdefault("_id", ObjectId())
            command = {"insert": self.name, "documents": chunk, "ordered": ordered}
            (raw,), request_id = self.database.run([Command(self.name, "INSERT", command)])
            value = _parse(raw, request_id)
            if isinstance(value, list) and len(value) == 1:
                value = _parse(value[0], request_id) if isinstance(value[0], str) else value[0]
            if not isinstance(value, Mapping):
                raise _unknown("an insert", request_id)
            if value.get("writeErrors"):
                # As the server does for one command: indexes count from the first document; unordered goes on.
                write_errors += [{**error, "index": error["index"] + start} for error in value["writeErrors"]]
                inserted += value.get("n", 0)
                if ordered:
                    break
                continue
            _raise_for_errors(value, request_id)
            inserted += len(chunk)
            ids += [document["_id"] for document in chunk]
        if write_errors:
            raise BulkWriteError({"writeErrors": write_errors, "nInserted": inserted, "writeConcernErrors": []})
        return InsertManyResult(ids, True)

    def _update(self, filter: Mapping[str, Any], update: Any, upsert: bool, multi: bool) -> UpdateResult:
        change = {"q": dict(filter), "u": update, "upsert": upsert, "multi": multi}
        return _update_result(self._write("UPDATE", {"update": self.name, "updates": [change]}))

    def update_one(self, filter: Mapping[str, Any], update: Any, upsert: bool = False, **options: Any) -> UpdateResult:
        return self._update(filter, update, upsert, False)

    def update_many(self, filter: Mapping[str, Any], update: Any, upsert: bool = False, **options: Any) -> UpdateResult:
        return self._update(filter, update, upsert, True)

    def replace_one(self, filter: Mapping[str, Any], replacement: Any, upsert: bool = False, **o: Any) -> UpdateResult:
        return self._update(filter, replacement, upsert, False)

    def _delete(self, filter: Mapping[str, Any], limit: int) -> int:
        reply = self._write("DELETE", {"delete": self.name, "deletes": [{"q": dict(filter), "limit": limit}]})
        return int(reply.get("n") or 0)

    def delete_one(self, filter: Mapping[str, Any]) -> Any:
        return _Deleted(self._delete(filter, 1))

    def delete_many(self, filter: Mapping[str, Any]) -> Any:
        return _Deleted(self._delete(filter, 0))

    def find_one_and_update(
        self,
        filter: Mapping[str, Any],
        update: Any,
        projection: Any = None,
        sort: Any = None,
        upsert: bool = False,
        return_document: bool = ReturnDocument.BEFORE,
        **options: Any,
    ) -> dict[str, Any] | None:
        command = find_and_modify(self.name, filter, update, projection, sort, upsert, return_document)
        return find_and_modify_value(self._write("UPDATE", command), "")

    def bulk_write(self, requests: Sequence[Any], ordered: bool = True, **options: Any) -> Any:
        """As MongoDB's drivers do: consecutive operations of one kind become one command (``updates`` /
        ``documents`` / ``deletes`` lists, ``ordered``: the server stops at the first error). Unordered, every command
        goes in one request; ordered, a command is sent only after the one before it succeeded."""
        commands = _bulk_commands(self.name, requests, ordered)
        groups = [commands] if not ordered else [[command] for command in commands]
        done = 0
        for group in groups:
            answers, request_id = self.database.run(group)
            for raw in answers:
                try:
                    reply = _reply(raw, request_id)
                except DuplicateKeyError as exc:  # as pymongo: a bulk write's duplicate is a BulkWriteError
                    error = {"index": done, "code": DUPLICATE_KEY, "errmsg": str(exc)}
                    raise BulkWriteError({"writeErrors": [error], "nInserted": 0, "writeConcernErrors": []}) from exc
                done += int(reply.get("n") or 0)
        return _Deleted(done)

    def create_index(self, keys: Any, **options: Any) -> str:
        self.database.provision(self.name, [index_spec(keys, options)])
        return str(options.get("name"))

    def drop_index(self, name: str) -> None:
        self.database.api.drop_index(self.name, name)

    def index_information(self) -> dict[str, dict[str, Any]]:
        """pymongo's shape, from ``DescribeTable``: {name: {"key": [(field, direction)], "unique": bool}}."""
        return self.database.api.indexes(self.name)

    def drop(self) -> None:
        self._delete({}, 0)


def find_and_modify(
    name: str,
    filter: Mapping[str, Any],
    update: Any,
    projection: Any = None,
    sort: Any = None,
    upsert: bool = False,
    return_document: bool = ReturnDocument.BEFORE,
) -> dict[str, Any]:
    command: dict[str, Any] = {
        "findAndModify": name,
        "query": dict(filter),
        "update": update,
        "upsert": upsert,
        "new": bool(return_document),
    }
    if projection is not None:
        command["fields"] = _projection(projection)
    if sort is not None:
        command["sort"] = _sort_spec(sort)
    return command


def find_and_modify_value(reply: Mapping[str, Any], request_id: str) -> dict[str, Any] | None:
    if "value" not in reply:
        raise _unknown("a findAndModify", request_id)
    value = reply["value"]
    if value is not None and not isinstance(value, Mapping):
        raise _unknown("a findAndModify's value", request_id)
    return dict(value) if value is not None else None


def _update_result(reply: dict[str, Any]) -> UpdateResult:
    raw = dict(reply)
    upserted = raw.get("upserted")
    if isinstance(upserted, list):  # the server's form; pymongo's result reads the first _id
        raw["upserted"] = upserted[0]["_id"] if upserted else None
        if not upserted:
            raw.pop("upserted")
    raw.setdefault("n", 0)
    raw.setdefault("nModified", 0)
    return UpdateResult(raw, True)


def _bulk_commands(name: str, requests: Sequence[Any], ordered: bool) -> list[Command]:
    """pymongo's bulk operations (their documented constructor arguments, kept on the instance) as commands."""
    commands: list[Command] = []
    for request in requests:
        kind = type(request).__name__
        if kind == "InsertOne":
            document = request._doc
            document.setdefault("_id", ObjectId())
            verb, field, item, command_type = "insert", "documents", document, "INSERT"
        elif kind in ("UpdateOne", "UpdateMany", "ReplaceOne"):
            item = {
                "q": request._filter,
                "u": request._doc,
                "upsert": bool(request._upsert),
                "multi": kind == "UpdateMany",
            }
            verb, field, command_type = "update", "updates", "UPDATE"
        elif kind in ("DeleteOne", "DeleteMany"):
            item = {"q": request._filter, "limit": int(kind == "DeleteOne")}
            verb, field, command_type = "delete", "deletes", "DELETE"
        else:
            raise TypeError(f"bulk_write does not support {kind}")
        last = commands[-1][2] if commands else None
        if last is not None and verb in last and len(last[field]) < MAX_PAGE:
            last[field].append(item)
        else:
            commands.append(Command(name, command_type, {verb: name, field: [item], "ordered": ordered}))
    return commands


class _Deleted:
    def __init__(self, count: int) -> None:
        self.deleted_count = count
        self.acknowledged = True


def index_spec(keys: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """pymongo's ``create_index`` arguments as the tcb model's ``CreateIndex``."""
    pairs = [(keys, 1)] if isinstance(keys, str) else list(keys)
    schema: dict[str, Any] = {
        "MgoIndexKeys": [{"Name": field, "Direction": str(direction)} for field, direction in pairs],
        "MgoIsUnique": bool(options.get("unique")),
        "MgoIsSparse": bool(options.get("sparse")),
    }
    if options.get("partialFilterExpression"):
        schema["PartialFilterExpression"] = json.dumps(options["partialFilterExpression"])
    name = options.get("name") or "_".join(f"{field}_{direction}" for field, direction in pairs)
    return {"IndexName": name, "MgoKeySchema": schema}


class CloudBaseDatabase:
    """The environment's database: ``db[name]`` is a collection; collections are created on first use of each name
    (a cold instance's provisioning), once per instance."""

    def __init__(self, api: TcbApi) -> None:
        self.api = api
        self.name = api.env_id
        self._provisioned: set[str] = set()
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> CloudBaseCollection:
        return CloudBaseCollection(self, name)

    def __getattr__(self, name: str) -> CloudBaseCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return CloudBaseCollection(self, name)  # db.users, as pymongo allows

    def provision(self, name: str, indexes: list[dict[str, Any]]) -> None:
        with self._lock:
            if name not in self._provisioned:
                self.api.create_table(name)
                self._provisioned.add(name)
        self.api.create_indexes(name, indexes)

    def list_collection_names(self) -> list[str]:
        return self.api.table_names()

    def run(self, commands: Sequence[Command]) -> tuple[list[Any], str]:
        """Several commands in one request (one round trip, one QPS unit), on collections that may not exist yet."""
        try:
            return self.api.run(commands)
        except CloudBaseError as exc:
            if exc.code not in TABLE_MISSING:
                raise
            if all(kind == "QUERY" for _, kind, _ in commands):
                return [
                    _EMPTY_ANSWER.get(next(iter(command)), "[]") for _, _, command in commands
                ], exc.request_id or ""
            for table in dict.fromkeys(table for table, _, _ in commands):
                self.api.create_table(table)
            return self.api.run(commands)


class Pending:
    """The answer of one command of a batch, known once the batch has been sent."""

    def __init__(self, parse: Any) -> None:
        self._parse, self._raw, self._request_id, self._sent = parse, None, "", False

    def _set(self, raw: Any, request_id: str) -> None:
        self._raw, self._request_id, self._sent = raw, request_id, True

    def result(self) -> Any:
        if not self._sent:
            raise RuntimeError("the batch has not been sent")
        return self._parse(self._raw, self._request_id)


class CloudBaseBatch:
    """Writes queued and sent together in one ``RunCommands`` request when the ``with`` block ends (one round trip,
    one QPS unit against the environment's quota). Each call answers a ``Pending``; ``result()`` after the block
    gives pymongo's answer or raises its error (``DuplicateKeyError``)."""

    def __init__(self, database: CloudBaseDatabase) -> None:
        self._database = database
        self._queued: list[tuple[Command, Pending]] = []

    def find_one_and_update(self, collection: str, filter: Mapping[str, Any], update: Any, **options: Any) -> Pending:
        command = find_and_modify(
            collection,
            filter,
            update,
            options.get("projection"),
            options.get("sort"),
            bool(options.get("upsert")),
            options.get("return_document", ReturnDocument.BEFORE),
        )
        return self._queue(
            Command(collection, "UPDATE", command), lambda raw, rid: find_and_modify_value(_reply(raw, rid), rid)
        )

    def update_one(self, collection: str, filter: Mapping[str, Any], update: Any, upsert: bool = False) -> Pending:
        change = {"q": dict(filter), "u": update, "upsert": upsert, "multi": False}
        command = Command(collection, "UPDATE", {"update": collection, "updates": [change]})
        return self._queue(command, lambda raw, rid: _update_result(_reply(raw, rid)))

    def _queue(self, command: Command, parse: Any) -> Pending:
        pending = Pending(parse)
        self._queued.append((command, pending))
        return pending

    def send(self) -> None:
        if not self._queued:
            return
        answers, request_id = self._database.run([command for command, _ in self._queued])
        for (_, pending), raw in zip(self._queued, answers, strict=True):
            pending._set(raw, request_id)
