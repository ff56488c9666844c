"""The CloudBase environment's own document database, behind the subset of pymongo's API the stores use.

Why this seam (a database adapter, not one store port per backend): the stores, the funnel and the ledger already
speak pymongo's ``Collection`` API and their rules (conditional updates, unique indexes answering "already there")
are the same on every backend, so one adapter keeps the business code unforked; the test suite then runs the same
scenarios on the embedded engine, MongoDB and CloudBase.

The database has no MongoDB wire-protocol endpoint: it is reached through Tencent's cloud API, service ``tcb``
2018-06-08, as Tencent's newest tooling (CloudBase-AI-Toolkit, 2026) and the ``tcb db nosql`` reference speak it:

* **Reads** are ``RunCommands`` (typed in ``tencentcloud-sdk-python-tcb``): ``find`` as ``QUERY``, ``aggregate``
  (with ``cursor: {}``) as ``COMMAND``; counts are aggregations. The command is plain JSON — numbers as numbers —
  with Extended JSON wrappers only for what JSON cannot carry (dates, ObjectIds, decimals, binary).
* **Writes** are ``PutItem`` / ``UpdateItem`` / ``DeleteItem`` (the toolkit's actions; not in the SDK's models, so
  sent through the SDK's generic signed call), because their answers carry the only write outcomes any Tencent code
  reads: ``InsertedIds``, ``MatchedNum`` / ``ModifiedNum`` / ``UpsertedId``, ``Deleted``. Claims, leases,
  transitions and "already there" decide from those fields, never from a ``RunCommands`` write reply nobody
  documents. ``find_one_and_update`` (no such action) is a read, then a conditional ``UpdateItem`` on that document's
  ``_id`` and the caller's filter, retried when another writer got there first.
* A duplicate key is pymongo's ``DuplicateKeyError`` whether it comes back as the API error
  ``FailedOperation.DuplicatedData`` or as a MongoDB error (code 11000 / E11000) in a message or a reply.
* Collections are provisioned as the toolkit does it: ``DescribeTable`` first, ``CreateTable`` only when missing,
  then a probe write until the new collection accepts data (bounded by the invocation's deadline); indexes that
  ``DescribeTable`` does not list are created with ``UpdateTable``.

Every option a store passes is honoured or refused at once (``TypeError``): nothing is silently dropped. Failures
are ``CloudBaseError`` (a ``PyMongoError``: the stores' ``driver_errors`` turn it into ``UNAVAILABLE``) carrying the
request id; an answer of a shape we do not know is logged once per instance as ``cloudbase_answer_shape`` (key names
only) and is an error, never a guess.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bson import ObjectId, json_util
from bson.json_util import DatetimeRepresentation, JSONMode, JSONOptions

from shared.platform import deadline, log
from shared.platform.documents import (
    BulkWriteError,
    DatabaseError,
    DeleteMany,
    DeleteResult,
    DuplicateKeyError,
    InsertManyResult,
    InsertOneResult,
    ReplaceOne,
    ReturnDocument,
    UpdateResult,
)

# A query returns at most this many documents (CloudBase's limit for a function; QueryRecords' MgoLimit ≤ 1000).
MAX_PAGE = 1000
# Documents a PutItem carries at once (the toolkit sends one array; we keep requests well under the API's size).
PUT_BATCH = 100
# Plain JSON out (numbers as numbers, as the CLI reference and the toolkit send them); dates as canonical
# {"$date": {"$numberLong": …}} (the documented answer's own form), ObjectIds and decimals in their wrappers.
_OUT = JSONOptions(
    json_mode=JSONMode.LEGACY,
    datetime_representation=DatetimeRepresentation.NUMBERLONG,
    tz_aware=True,
    tzinfo=dt.timezone.utc,
)
# Any mode on the way back (numbers may come back wrapped), dates as aware UTC datetimes like the MongoDB client's.
_IN = JSONOptions(tz_aware=True, tzinfo=dt.timezone.utc)
DUPLICATE_KEY = 11000
DUPLICATED_DATA = "FailedOperation.DuplicatedData"  # in the SDK's error list for tcb
# A collection that does not exist (both codes are in the SDK's error list): a read answers empty, as MongoDB does.
TABLE_MISSING = ("ResourceNotFound.TableNotFound", "ResourceNotFound.Table")
# Transport failures: the API could not be reached or answered in time.
_UNREACHABLE = ("ClientNetworkError", "ServerNetworkError", "ClientError.NetworkError")
# How often a new collection is probed while it is not yet usable (the toolkit waits up to 10 s).
READY_POLL_S = 0.1
READY_WAIT_S = 10.0
READY_PROBE_ID = "_share_funnel_ready_probe"
# find_one_and_update: a read and a conditional write; another writer between them makes it read again.
RACE_RETRIES = 8


class CloudBaseError(DatabaseError):
    """The tcb API refused a request, failed, or answered in a shape we do not know (the request id is logged);
    ``timeout``: it could not be reached in time."""

    def __init__(
        self, message: str, code: str | None = None, request_id: str | None = None, timeout: bool = False
    ) -> None:
        super().__init__(message, timeout)
        self.code, self.request_id = code, request_id


_shapes_logged: set[str] = set()
_shapes_lock = threading.Lock()


def answer_shape(what: str, value: Any, request_id: str | None) -> CloudBaseError:
    """An answer we cannot read: logged once per instance and kind (key names only), then an error."""
    if isinstance(value, Mapping):
        shape = sorted(str(key) for key in value if key != "RequestId")
    elif isinstance(value, list):
        shape = [f"list[{len(value)}]"]
    else:
        shape = [type(value).__name__]
    with _shapes_lock:
        first = what not in _shapes_logged
        _shapes_logged.add(what)
    if first:
        log.event("cloudbase_answer_shape", what=what, keys=shape, request_id=request_id)
    return CloudBaseError(f"the tcb API answered {what} in a shape we do not know", request_id=request_id)


def forget_answer_shapes() -> None:
    """A new instance logs unknown shapes afresh (tests and ops scripts that reconnect)."""
    with _shapes_lock:
        _shapes_logged.clear()


def dumps(value: Any) -> str:
    """A command, filter, update or document in the dialect Tencent's tools send."""
    return json_util.dumps(value, json_options=_OUT)


def _loads(text: Any) -> Any:
    try:
        return json_util.loads(text, json_options=_IN) if isinstance(text, str) else None
    except (ValueError, TypeError):
        return None


def _is_duplicate(code: str | None, message: str) -> bool:
    """``FailedOperation.DuplicatedData``, or a failed operation whose message is MongoDB's own duplicate-key error."""
    return code == DUPLICATED_DATA or (str(code).startswith("FailedOperation") and "E11000" in message)


class TcbApi:
    """The transport: tcb 2018-06-08 requests signed with the function role's temporary keys
    (``shared.platform.cloud_api``).

    ``endpoint``: a host (``tcb.tencentcloudapi.com``) or, for emulators, ``http://127.0.0.1:PORT``. ``timeout_s``:
    a request's limit outside an invocation; inside one, each request waits at most its share of the invocation's
    time limit (``shared.platform.deadline``), in fractions of a second.
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
        tag: str | None = None,
    ) -> None:
        from shared.platform.cloud_api import CloudApi

        self.env_id, self.tag, self.timeout_s = env_id, tag, timeout_s
        self._api = CloudApi("tcb", "2018-06-08", region, secret_id, secret_key, session_token, endpoint)
        self.requests = 0  # API requests made (benchmarks read it)
        self.shapes: dict[str, list[str]] = {}  # the key names of each action's last answer (the smoke probe's report)
        self._lock = threading.Lock()

    def _scope(self, tagged: bool) -> dict[str, Any]:
        return {"EnvId": self.env_id, "Tag": self.tag} if tagged and self.tag else {"EnvId": self.env_id}

    def call(self, action: str, params: dict[str, Any], tagged: bool = True) -> dict[str, Any]:
        """One request's ``Response`` (its ``RequestId`` included)."""
        from shared.platform.cloud_api import CloudApiError

        with self._lock:
            self.requests += 1
        try:
            response = self._api.call(
                action, {**self._scope(tagged), **params}, deadline.operation_timeout_s(self.timeout_s)
            )
        except CloudApiError as exc:
            if _is_duplicate(exc.code, exc.message):
                raise DuplicateKeyError(f"tcb {action}: {exc.message}") from exc
            if exc.code not in TABLE_MISSING:  # a missing table is answered where it arises
                log.event("cloudbase_api_error", action=action, code=exc.code, request_id=exc.request_id)
            raise CloudBaseError(f"tcb {action} failed: {exc.code}", exc.code, exc.request_id, exc.unreachable) from exc
        self.shapes[action] = sorted(str(key) for key in response if key != "RequestId")
        return response

    # --- reads: RunCommands ----------------------------------------------------------------------------------
    def run(self, table: str, command_type: str, command: Mapping[str, Any]) -> tuple[Any, str]:
        """One native command (``QUERY`` for find, ``COMMAND`` for aggregate): its raw answer and the request id."""
        response = self.call(
            "RunCommands",
            {"MgoCommands": [{"TableName": table, "CommandType": command_type, "Command": dumps(command)}]},
        )
        data, request_id = response.get("Data"), str(response.get("RequestId", ""))
        if not isinstance(data, list) or len(data) != 1:
            raise answer_shape("RunCommands", {"Data": data}, request_id)
        self.shapes[f"RunCommands {command_type}"] = [_describe(data[0])]
        return data[0], request_id

    # --- writes: the toolkit's Item actions ------------------------------------------------------------------
    def put_items(self, table: str, documents: Sequence[Mapping[str, Any]]) -> int:
        """``PutItem``: how many documents went in (``InsertedIds``)."""
        answer = self.call("PutItem", {"TableName": table, "MgoDocs": [dumps(d) for d in documents]})
        inserted = answer.get("InsertedIds")
        if not isinstance(inserted, list) or len(inserted) != len(documents):
            raise answer_shape("PutItem", answer, answer.get("RequestId"))
        return len(inserted)

    def update_item(
        self, table: str, query: Mapping[str, Any], update: Any, multi: bool, upsert: bool
    ) -> tuple[int, int, Any]:
        """``UpdateItem``: (``MatchedNum``, ``ModifiedNum``, the upserted ``_id`` or None)."""
        answer = self.call(
            "UpdateItem",
            {
                "TableName": table,
                "MgoQuery": dumps(query),
                "MgoUpdate": dumps(update),
                "MgoIsMulti": multi,
                "MgoUpsert": upsert,
            },
        )
        matched, modified = _count(answer.get("MatchedNum")), _count(answer.get("ModifiedNum"))
        if matched is None or modified is None:
            raise answer_shape("UpdateItem", answer, answer.get("RequestId"))
        return matched, modified, _upserted_id(answer.get("UpsertedId"))

    def delete_items(self, table: str, query: Mapping[str, Any], multi: bool) -> int:
        """``DeleteItem``: how many documents went (``Deleted``)."""
        answer = self.call("DeleteItem", {"TableName": table, "MgoQuery": dumps(query), "MgoIsMulti": multi})
        deleted = _count(answer.get("Deleted"))
        if deleted is None:
            raise answer_shape("DeleteItem", answer, answer.get("RequestId"))
        return deleted

    # --- collections -----------------------------------------------------------------------------------------
    def describe_table(self, name: str) -> dict[str, dict[str, Any]] | None:
        """The collection's indexes in pymongo's shape, or None when it does not exist."""
        try:
            response = self.call("DescribeTable", {"TableName": name}, tagged=False)
        except CloudBaseError as exc:
            if exc.code and exc.code.startswith("ResourceNotFound"):
                return None
            raise
        return {
            str(index.get("Name")): {
                "key": [(key.get("Name"), int(key.get("Direction", 1))) for key in (index.get("Keys") or [])],
                "unique": bool(index.get("Unique")),
            }
            for index in (response.get("Indexes") or [])
        }

    def create_table(self, name: str) -> None:
        self.call("CreateTable", {"TableName": name}, tagged=False)

    def create_indexes(self, name: str, indexes: list[dict[str, Any]]) -> None:
        self.call("UpdateTable", {"TableName": name, "CreateIndexes": indexes}, tagged=False)

    def drop_index(self, name: str, index: str) -> None:
        self.call("UpdateTable", {"TableName": name, "DropIndexes": [{"IndexName": index}]}, tagged=False)

    def table_names(self) -> list[str]:
        names: list[str] = []
        while True:
            response = self.call("ListTables", {"MgoOffset": len(names), "MgoLimit": 100}, tagged=False)
            page = [str(table.get("TableName")) for table in (response.get("Tables") or [])]
            names += page
            if len(page) < 100:
                return names


def _describe(raw: Any) -> str:
    """What a RunCommands answer looked like, in words (no values): for the smoke probe's report."""
    value = _loads(raw)
    if isinstance(value, list):
        kinds = sorted({type(item).__name__ for item in value})
        return f"JSON array of {'/'.join(kinds) or 'nothing'}"
    if isinstance(value, Mapping):
        return "JSON object with " + ", ".join(sorted(str(key) for key in value))
    return type(raw).__name__


def _count(value: Any) -> int | None:
    """A count field of an Item answer: a number (or a numeric string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _upserted_id(value: Any) -> Any:
    """``UpsertedId``: absent or empty when nothing was inserted; an id, or an id in Extended JSON."""
    if value in (None, "", [], {}):
        return None
    if isinstance(value, str) and value[:1] in '{["':
        parsed = _loads(value)
        if isinstance(parsed, Mapping) and "_id" in parsed:
            return parsed["_id"]
        return parsed if parsed is not None else value
    if isinstance(value, Mapping) and "_id" in value:
        return value["_id"]
    return value


def _documents(raw: Any, request_id: str) -> list[dict[str, Any]]:
    """A query's documents: the documented array of JSON-string documents (or of documents), or a server reply
    carrying ``cursor.firstBatch``."""
    value = _loads(raw)
    if isinstance(value, Mapping):
        if value.get("ok") not in (None, 1, 1.0, True):
            log.event("cloudbase_command_failed", code=value.get("code"), request_id=request_id)
            raise CloudBaseError(f"command failed: {value.get('codeName') or value.get('code')}", request_id=request_id)
        cursor = value.get("cursor")
        value = cursor.get("firstBatch") if isinstance(cursor, Mapping) else value
    if not isinstance(value, list):
        raise answer_shape("a query", value if value is not None else raw, request_id)
    documents = []
    for item in value:
        document = _loads(item) if isinstance(item, str) else item
        if not isinstance(document, Mapping):
            raise answer_shape("a query's document", document, request_id)
        documents.append(dict(document))
    return documents


def _sort_spec(sort: Any) -> dict[str, int] | None:
    if sort is None:
        return None
    if isinstance(sort, str):
        return {sort: 1}
    return {key: int(direction) for key, direction in (sort.items() if isinstance(sort, Mapping) else sort)}


def _projection(projection: Any) -> dict[str, Any]:
    if isinstance(projection, Mapping):
        return dict(projection)
    return dict.fromkeys(projection, 1)


def _refuse(method: str, options: Mapping[str, Any], honoured: tuple[str, ...] = ()) -> None:
    """Options the adapter does not implement raise at once instead of being dropped."""
    unknown = sorted(name for name, value in options.items() if name not in honoured and value is not None)
    if unknown:
        raise TypeError(f"the CloudBase backend does not implement {method}({', '.join(unknown)}=…)")


def _apply_projection(document: Mapping[str, Any] | None, projection: Any) -> dict[str, Any] | None:
    """pymongo's inclusion/exclusion projection (top-level fields, ``_id`` kept unless excluded)."""
    if document is None:
        return None
    if projection is None:
        return dict(document)
    spec = _projection(projection)
    included = [field for field, on in spec.items() if on and field != "_id"]
    if included:
        keep = set(included) | ({"_id"} if spec.get("_id", 1) else set())
        return {key: value for key, value in document.items() if key.split(".")[0] in keep}
    dropped = {field for field, on in spec.items() if not on}
    return {key: value for key, value in document.items() if key not in dropped}


class CloudBaseCursor:
    """``find``'s cursor: ``sort``, ``skip``, ``limit``, and the plan hints ``hint`` / ``batch_size`` (CloudBase
    plans its own queries), read page by page (at most ``MAX_PAGE`` documents a request; pages are ordered by
    ``_id`` when no order is given, so paging is stable)."""

    def __init__(self, collection: CloudBaseCollection, filter: Mapping[str, Any], projection: Any) -> None:
        self._collection, self._filter, self._projection = collection, dict(filter), projection
        self._sort: dict[str, int] | None = None
        self._skip, self._limit = 0, 0

    def sort(self, key_or_list: Any, direction: int | None = None) -> CloudBaseCursor:
        self._sort = {key_or_list: direction or 1} if isinstance(key_or_list, str) else _sort_spec(key_or_list)
        return self

    def skip(self, count: int) -> CloudBaseCursor:
        self._skip = int(count)
        return self

    def limit(self, count: int) -> CloudBaseCursor:
        self._limit = abs(int(count))
        return self

    def hint(self, index: Any) -> CloudBaseCursor:
        return self

    def batch_size(self, size: int) -> CloudBaseCursor:
        return self

    def __iter__(self) -> Iterator[dict[str, Any]]:
        served, skip = 0, self._skip
        order = dict(self._sort or {})
        order.setdefault("_id", 1)  # a total order: pages neither repeat nor skip documents
        while True:
            wanted = MAX_PAGE if not self._limit else min(MAX_PAGE, self._limit - served)
            if wanted <= 0:
                return
            command: dict[str, Any] = {"find": self._collection.name, "filter": self._filter, "sort": order}
            if self._projection is not None:
                command["projection"] = _projection(self._projection)
            command.update(skip=skip, limit=wanted)
            page = self._collection.query("QUERY", command)
            yield from page
            served, skip = served + len(page), skip + len(page)
            if len(page) < wanted:
                return


class CloudBaseCollection:
    def __init__(self, database: CloudBaseDatabase, name: str) -> None:
        self.database, self.name = database, name

    @property
    def _api(self) -> TcbApi:
        return self.database.api

    def query(self, command_type: str, command: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            raw, request_id = self._api.run(self.name, command_type, command)
        except CloudBaseError as exc:
            if exc.code in TABLE_MISSING:
                return []  # as MongoDB answers a collection nobody created yet
            raise
        return _documents(raw, request_id)

    # --- reads -------------------------------------------------------------------------------------------------
    def find(self, filter: Mapping[str, Any] | None = None, projection: Any = None, **options: Any) -> CloudBaseCursor:
        _refuse("find", options, ("sort", "limit", "skip"))
        cursor = CloudBaseCursor(self, filter or {}, projection)
        if options.get("sort") is not None:
            cursor.sort(options["sort"])
        if options.get("skip"):
            cursor.skip(options["skip"])
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
        _refuse("count_documents", options, ("skip", "limit"))
        stages: list[dict[str, Any]] = [{"$match": dict(filter)}]
        if options.get("skip"):
            stages.append({"$skip": int(options["skip"])})
        if options.get("limit"):
            stages.append({"$limit": int(options["limit"])})
        stages.append({"$count": "n"})
        rows = self.query("COMMAND", {"aggregate": self.name, "pipeline": stages, "cursor": {}})
        if not rows:
            return 0
        count = _count(rows[0].get("n"))
        if count is None:
            raise answer_shape("a count", rows[0], None)
        return count

    def estimated_document_count(self) -> int:
        return self.count_documents({})

    def aggregate(self, pipeline: Sequence[Mapping[str, Any]], **options: Any) -> Iterator[dict[str, Any]]:
        _refuse("aggregate", options, ("allowDiskUse",))
        # Results page like finds: the same pipeline with $skip/$limit stages appended.
        skip = 0
        while True:
            stages = [*pipeline, {"$skip": skip}, {"$limit": MAX_PAGE}]
            page = self.query("COMMAND", {"aggregate": self.name, "pipeline": stages, "cursor": {}})
            yield from page
            skip += len(page)
            if len(page) < MAX_PAGE:
                return

    def distinct(self, key: str, filter: Mapping[str, Any] | None = None) -> list[Any]:
        rows = self.aggregate([{"$match": dict(filter or {})}, {"$group": {"_id": f"${key}"}}])
        return [row["_id"] for row in rows]

    # --- writes ------------------------------------------------------------------------------------------------
    def insert_one(self, document: dict[str, Any], **options: Any) -> InsertOneResult:
        _refuse("insert_one", options)
        document.setdefault("_id", ObjectId())  # as pymongo does: the caller's document gets its _id
        self.database.writable(self.name)
        self._api.put_items(self.name, [document])
        return InsertOneResult(document["_id"])

    def insert_many(
        self, documents: Sequence[dict[str, Any]], ordered: bool = True, **options: Any
    ) -> InsertManyResult:
        """``PutItem`` in batches, duplicates reported by their place as pymongo reports them (``BulkWriteError``,
        code 11000). Whether a refused batch went in partly is not documented, so a batch is sent only with the
        documents whose ``_id`` is not there yet (one read); a batch refused all the same (a concurrent writer) is
        sent again one document at a time, and a duplicate identical to ours is one our batch wrote."""
        _refuse("insert_many", options)
        for document in documents:
            document.setdefault("_id", ObjectId())
        self.database.writable(self.name)
        ids: list[Any] = []
        write_errors: list[dict[str, Any]] = []
        for start in range(0, len(documents), PUT_BATCH):
            batch = list(enumerate(documents[start : start + PUT_BATCH], start))
            present = {d["_id"] for d in self.find({"_id": {"$in": [doc["_id"] for _, doc in batch]}}, {"_id": 1})}
            stop = next((index for index, doc in batch if doc["_id"] in present), None) if ordered else None
            fresh = [(i, doc) for i, doc in batch if doc["_id"] not in present and (stop is None or i < stop)]
            write_errors += [
                {"index": i, "code": DUPLICATE_KEY, "errmsg": "E11000 duplicate key"}
                for i, doc in batch
                if doc["_id"] in present and (stop is None or i <= stop)
            ]
            if fresh:
                try:
                    self._api.put_items(self.name, [doc for _, doc in fresh])
                    ids += [doc["_id"] for _, doc in fresh]
                except DuplicateKeyError:
                    for index, document in fresh:
                        try:
                            self._api.put_items(self.name, [document])
                        except DuplicateKeyError as exc:
                            if self.find_one({"_id": document["_id"]}) != document:
                                write_errors.append({"index": index, "code": DUPLICATE_KEY, "errmsg": str(exc)})
                                if ordered:
                                    break
                                continue
                        ids.append(document["_id"])
            if write_errors and ordered:
                break
        if write_errors:
            write_errors.sort(key=lambda error: int(error["index"]))
            raise BulkWriteError({"writeErrors": write_errors, "nInserted": len(ids), "writeConcernErrors": []})
        return InsertManyResult(ids)

    def _update(self, filter: Mapping[str, Any], update: Any, upsert: bool, multi: bool) -> UpdateResult:
        if upsert:
            self.database.writable(self.name)
        matched, modified, upserted = self._api.update_item(self.name, dict(filter), update, multi, upsert)
        return UpdateResult(matched, modified, upserted)

    def update_one(self, filter: Mapping[str, Any], update: Any, upsert: bool = False, **options: Any) -> UpdateResult:
        _refuse("update_one", options)
        return self._update(filter, update, upsert, False)

    def update_many(self, filter: Mapping[str, Any], update: Any, upsert: bool = False, **options: Any) -> UpdateResult:
        _refuse("update_many", options)
        return self._update(filter, update, upsert, True)

    def replace_one(self, filter: Mapping[str, Any], replacement: Any, upsert: bool = False, **o: Any) -> UpdateResult:
        _refuse("replace_one", o)
        if any(str(key).startswith("$") for key in replacement):
            raise ValueError("replacement can not include $ operators")
        return self._update(filter, replacement, upsert, False)

    def delete_one(self, filter: Mapping[str, Any]) -> DeleteResult:
        return DeleteResult(self._api.delete_items(self.name, dict(filter), False))

    def delete_many(self, filter: Mapping[str, Any]) -> DeleteResult:
        return DeleteResult(self._api.delete_items(self.name, dict(filter), True))

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
        """No Item action finds and modifies at once: the document is read, then changed only if it still matches
        the filter (``UpdateItem`` on its ``_id`` and the filter, decided by ``MatchedNum``); another writer in
        between makes it read again. An upsert that finds nothing inserts (``UpsertedId``)."""
        _refuse("find_one_and_update", options)
        after = bool(return_document)
        insert_only = isinstance(update, Mapping) and set(update) == {"$setOnInsert"}
        if upsert:
            self.database.writable(self.name)
        for _ in range(RACE_RETRIES):
            if upsert and insert_only:
                # Inserting if absent changes nothing that exists: try it first (a new document costs one request).
                matched, _, upserted = self._api.update_item(self.name, dict(filter), update, False, True)
                if upserted is not None:
                    return _apply_projection(self.find_one({"_id": upserted}), projection) if after else None
                current = self.find_one(filter, sort=sort)
                if current is not None:
                    return _apply_projection(current, projection)
                continue  # it went away in between: once more
            current = self.find_one(filter, sort=sort)
            if current is None:
                if not upsert:
                    return None
                matched, _, upserted = self._api.update_item(self.name, dict(filter), update, False, True)
                if upserted is None:
                    continue  # another writer inserted a match meanwhile: this update met it; read it again
                return _apply_projection(self.find_one({"_id": upserted}), projection) if after else None
            this_one = {"$and": [{"_id": current["_id"]}, dict(filter)]}
            matched, _, _ = self._api.update_item(self.name, this_one, update, False, False)
            if matched == 1:
                if not after:
                    return _apply_projection(current, projection)
                return _apply_projection(self.find_one({"_id": current["_id"]}), projection)
        raise CloudBaseError(f"find_one_and_update on {self.name} kept meeting other writers")

    def bulk_write(self, requests: Sequence[ReplaceOne | DeleteMany], ordered: bool = True, **options: Any) -> Any:
        """The port's bulk operations. Replacements by ``_id`` (a day's report rows) go together in ``RunCommands``
        ``update`` commands of up to 1000 — whose answer nobody documents, so it is not read: the documents are read
        back by ``_id`` and any that is not what was sent is written again on its own (``UpdateItem``, which answers
        what happened, duplicates included). Every other operation goes one by one (ordered: the first error stops
        the rest)."""
        _refuse("bulk_write", options)
        done, errors = 0, []
        pending = list(enumerate(requests))
        singly: set[int] = set()  # replacements the bulk path could not confirm: written on their own
        while pending:
            together = []
            while pending and pending[0][0] not in singly and _replaces_by_id(pending[0][1]):
                together.append(pending.pop(0))
            if together:
                again = self._replace_by_id(together)
                singly.update(index for index, _ in again)
                pending = again + pending
                done += len(together) - len(again)
                continue
            index, request = pending.pop(0)
            try:
                if isinstance(request, ReplaceOne):
                    result = self.replace_one(request.filter, request.replacement, upsert=request.upsert)
                    done += result.matched_count + (1 if result.upserted_id is not None else 0)
                elif isinstance(request, DeleteMany):
                    done += self.delete_many(request.filter).deleted_count
                else:
                    raise TypeError(f"bulk_write does not support {type(request).__name__}")
            except DuplicateKeyError as exc:
                errors.append({"index": index, "code": DUPLICATE_KEY, "errmsg": str(exc)})
                if ordered:
                    break
        if errors:
            raise BulkWriteError({"writeErrors": errors, "nInserted": 0, "writeConcernErrors": []})
        return DeleteResult(done)

    def _replace_by_id(self, replacements: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """Send the replacements in bulk, read them back: the ones not stored as sent, to be written one by one."""
        self.database.writable(self.name)
        unconfirmed: list[tuple[int, Any]] = []
        for start in range(0, len(replacements), MAX_PAGE):
            chunk = replacements[start : start + MAX_PAGE]
            wanted = {r.filter["_id"]: {**r.replacement, "_id": r.filter["_id"]} for _, r in chunk}
            updates = [{"q": {"_id": key}, "u": doc, "upsert": True, "multi": False} for key, doc in wanted.items()]
            try:
                self._api.run(self.name, "UPDATE", {"update": self.name, "updates": updates, "ordered": False})
            except CloudBaseError as exc:
                if exc.timeout:
                    raise
                unconfirmed += chunk  # refused as a whole: each goes on its own
                continue
            stored = {d["_id"]: d for d in self.find({"_id": {"$in": list(wanted)}}).limit(len(wanted))}
            unconfirmed += [(i, r) for i, r in chunk if not _same(stored.get(r.filter["_id"]), wanted[r.filter["_id"]])]
        if unconfirmed:
            log.event("cloudbase_bulk_unconfirmed", collection=self.name, documents=len(unconfirmed))
        return unconfirmed

    def create_index(self, keys: Any, **options: Any) -> str:
        _refuse("create_index", options, ("name", "unique", "sparse", "partialFilterExpression"))
        self.database.provision(self.name, [index_spec(keys, options)])
        return str(options.get("name"))

    def drop_index(self, name: str) -> None:
        self._api.drop_index(self.name, name)
        self.database.forget_index(self.name, name)

    def index_information(self) -> dict[str, dict[str, Any]]:
        """pymongo's shape, from ``DescribeTable``: {name: {"key": [(field, direction)], "unique": bool}}."""
        return self._api.describe_table(self.name) or {}

    def drop(self) -> None:
        self._api.delete_items(self.name, {}, True)


def _replaces_by_id(request: Any) -> bool:
    return (
        isinstance(request, ReplaceOne)
        and request.upsert
        and set(request.filter) == {"_id"}
        and not isinstance(request.filter["_id"], Mapping)
    )


def _same(stored: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> bool:
    """A document as read back equals what was sent (both through the same Extended JSON, so dates compare alike)."""
    return stored is not None and _loads(dumps(stored)) == _loads(dumps(wanted))


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
    """The environment's database: ``db[name]`` is a collection. Collections are provisioned once per instance
    (``DescribeTable``, ``CreateTable`` when missing, a wait until it accepts data, missing indexes)."""

    def __init__(self, api: TcbApi, sleep: Any = time.sleep) -> None:
        self.api = api
        self.name = api.env_id
        self._ready: set[str] = set()
        self._indexed: dict[str, set[str]] = {}  # index names known to exist, per collection
        self._unconfirmed: set[str] = set()  # created by this instance, not yet seen taking data
        self._lock = threading.RLock()
        self._sleep = sleep
        self.waits: dict[str, float] = {}  # seconds a collection took to accept data after CreateTable (smoke)

    def __getitem__(self, name: str) -> CloudBaseCollection:
        return CloudBaseCollection(self, name)

    def __getattr__(self, name: str) -> CloudBaseCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return CloudBaseCollection(self, name)  # db.users, as pymongo allows

    def writable(self, name: str) -> None:
        """The collection exists and accepts data (a write to a collection nobody created creates it first)."""
        if name not in self._ready:
            self.provision_all([(name, [])])

    def provision(self, name: str, indexes: list[dict[str, Any]]) -> None:
        self.provision_all([(name, indexes)])

    def provision_all(self, collections: Sequence[tuple[str, list[dict[str, Any]]]]) -> None:
        """Collections and their indexes as Tencent's toolkit makes them: ``DescribeTable`` first, ``CreateTable``
        only for what is missing (all of them before any wait, so they get ready together), then a probe write until
        each new one takes data — bounded by one operation's share of the invocation; a collection this instance
        created and could not yet confirm is probed again next time — and ``UpdateTable`` for the indexes
        ``DescribeTable`` does not list."""
        wanted = [
            (name, indexes)
            for name, indexes in collections
            if name not in self._ready or not {i["IndexName"] for i in indexes} <= self._indexed.get(name, set())
        ]
        if not wanted:
            return
        with self._lock:
            described = {name: self.api.describe_table(name) for name, _ in wanted}
            for name, existing in described.items():
                if existing is None:
                    self._create(name)
                    self._unconfirmed.add(name)
            self._await_ready([name for name, _ in wanted if name in self._unconfirmed])
            for name, indexes in wanted:
                self._ready.add(name)
                existing = described[name] or {}
                missing = [index for index in indexes if index["IndexName"] not in existing]
                if missing:
                    self.api.create_indexes(name, missing)
                known = self._indexed.setdefault(name, set())
                known.update(existing, (index["IndexName"] for index in indexes))

    def _create(self, name: str) -> None:
        try:
            self.api.create_table(name)
        except CloudBaseError:
            # No decision on an error code nobody documents: whatever it said, is the collection there now?
            if self.api.describe_table(name) is None:
                raise

    def _await_ready(self, names: list[str]) -> None:
        """Probe each collection with a write until it takes data, as Tencent's toolkit does (``DescribeTable`` may
        list a collection before it does)."""
        started = time.monotonic()
        budget = deadline.operation_timeout_s(READY_WAIT_S)
        for name in names:
            while True:
                try:
                    self.api.put_items(name, [{"_id": READY_PROBE_ID}])
                except DuplicateKeyError:
                    pass  # a probe of another instance: the collection takes data
                except CloudBaseError as exc:
                    if exc.timeout or time.monotonic() - started + READY_POLL_S > budget:
                        log.event("cloudbase_collection_not_ready", collection=name, code=exc.code)
                        raise
                    self._sleep(READY_POLL_S)
                    continue
                self.waits[name] = round(time.monotonic() - started, 3)
                self.api.delete_items(name, {"_id": READY_PROBE_ID}, False)
                self._unconfirmed.discard(name)
                break

    def forget_index(self, collection: str, index: str) -> None:
        self._indexed.get(collection, set()).discard(index)

    def list_collection_names(self) -> list[str]:
        return self.api.table_names()


PROBE_COLLECTION = "share_funnel_probe"


def first_contact(database: CloudBaseDatabase) -> dict[str, Any]:
    """What the smoke probe reads off a real environment, in names and facts, never data: the collection it owns
    made ready (how long a new collection took to take data), one document written, changed, read back and
    removed, and the key names of every answer on the way. Raises ``CloudBaseError`` as any operation does."""
    key = f"probe-{ObjectId()}"
    at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    collection = database[PROBE_COLLECTION]
    collection.insert_one({"_id": key, "at": at, "n": 1})
    collection.update_one({"_id": key}, {"$inc": {"n": 1}})
    back = collection.find_one({"_id": key}) or {}
    counted = collection.count_documents({"_id": key})
    deleted = collection.delete_one({"_id": key}).deleted_count
    return {
        "newCollectionReadyS": database.waits.get(PROBE_COLLECTION),
        "datesRoundTrip": back.get("at") == at,
        "numbersRoundTrip": back.get("n") == 2 and counted == 1 and deleted == 1,
        "tag": database.api.tag,
        "answerShapes": dict(sorted(database.api.shapes.items())),
    }
