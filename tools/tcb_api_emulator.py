"""A local emulator of the Tencent Cloud tcb API (2018-06-08) database actions over real HTTP on 127.0.0.1.

It checks what the real API checks first — the TC3-HMAC-SHA256 signature, the session token of temporary
credentials, action and version — then validates the body against ``tencentcloud-sdk-python-tcb``'s own model class
(``tools/tencent_api.py``: unknown fields, wrong types and missing required fields are the API's errors; the Item
actions, which have no model in the SDK, against the fields Tencent's CloudBase toolkit sends), and runs:

* ``RunCommands``: each ``MgoCommands`` entry's native MongoDB command on a pymongo-API database — the embedded engine
  or a real server — after checking the dialect of the ``tcb db nosql`` reference: plain JSON (a number wrapped as
  ``$numberInt`` / ``$numberLong`` / ``$numberDouble`` outside a date is refused), ``CommandType`` as that reference
  gives it (``QUERY`` find, ``COMMAND`` count and aggregate — which needs ``cursor`` —, ``INSERT``, ``UPDATE`` with an
  ``updates`` array, ``DELETE`` with a ``deletes`` array), ``Tag`` naming the environment's instance when sent. A
  query answers the documented array of JSON-string documents (at most 1000); a write answers as ``write_answers``
  says: ``"reply"`` the server's reply document, ``"empty"`` ``Data: []``, ``"blank"`` ``Data: [""]`` (nobody
  documents these answers: a client must not depend on any of them).
* ``PutItem`` / ``UpdateItem`` / ``DeleteItem`` (the toolkit's writes) with their typed answers (``InsertedIds``;
  ``MatchedNum``, ``ModifiedNum``, ``UpsertedId``; ``Deleted``). A duplicate key answers, as ``duplicates`` says,
  the API error ``FailedOperation.DuplicatedData`` (``"api"``) or a ``FailedOperation`` whose message carries
  MongoDB's E11000 (``"message"``).
* ``CreateTable``, ``UpdateTable`` (indexes, unique and partial ones included), ``DescribeTable``, ``ListTables``. A
  created collection is listed at once but takes data only ``ready_after_s`` later (``ResourceNotFound.TableNotFound``
  until then), as the toolkit found on Tencent's side.

Quotas (``read_quota`` / ``write_quota`` requests, answered ``LimitExceeded.*``) and faults (``fail_next``: an API
error code, ``"http500"``, ``"garbage"`` or ``"sleep:<s>"``, each for the next request) are injectable. ``requests``
counts the authenticated requests per action; ``shapes`` the command types and Item actions executed.

``TCB_EMULATOR_WRITE_ANSWERS``, ``TCB_EMULATOR_DUPLICATES`` and ``TCB_EMULATOR_READY_AFTER_S`` set the variants for a
whole test run.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

from bson import json_util
from bson.json_util import JSONMode, JSONOptions
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from tools.loopback import LoopbackServer, QuietHandler
from tools.tencent_api import check_tc3, model_faults

MODELS = "tencentcloud.tcb.v20180608.models"
ACTIONS = ("RunCommands", "CreateTable", "UpdateTable", "DescribeTable", "ListTables", "DescribeEnvs")
# The Item actions have no model in tencentcloud-sdk-python-tcb: their fields as CloudBase-AI-Toolkit sends them
# (mcp/src/tools/databaseNoSQL.ts), with the types it gives them; the required ones first.
ITEM_ACTIONS: dict[str, tuple[tuple[str, ...], dict[str, type]]] = {
    "PutItem": (("EnvId", "TableName", "MgoDocs"), {"EnvId": str, "TableName": str, "MgoDocs": list, "Tag": str}),
    "UpdateItem": (
        ("EnvId", "TableName", "MgoQuery", "MgoUpdate"),
        {
            "EnvId": str,
            "TableName": str,
            "MgoQuery": str,
            "MgoUpdate": str,
            "MgoIsMulti": bool,
            "MgoUpsert": bool,
            "Tag": str,
        },
    ),
    "DeleteItem": (
        ("EnvId", "TableName", "MgoQuery"),
        {"EnvId": str, "TableName": str, "MgoQuery": str, "MgoIsMulti": bool, "Tag": str},
    ),
}
WRITE_ANSWERS = ("reply", "empty", "blank")
DUPLICATES = ("api", "message")
# Required fields, from the API documentation (the SDK models do not say).
REQUIRED = {
    "RunCommandsRequest": ("EnvId", "MgoCommands"),
    "MgoCommandParam": ("TableName", "CommandType", "Command"),
    "CreateTableRequest": ("EnvId", "TableName"),
    "UpdateTableRequest": ("EnvId", "TableName"),
    "DescribeTableRequest": ("EnvId", "TableName"),
    "ListTablesRequest": ("EnvId",),
    "CreateIndex": ("IndexName", "MgoKeySchema"),
    "MgoKeySchema": ("MgoIndexKeys",),
    "MgoIndexKeys": ("Name", "Direction"),
}
# CommandType per command, as the `tcb db nosql execute` reference gives it (the platform charges quota by it).
COMMAND_TYPES = {
    "find": "QUERY",
    "aggregate": "COMMAND",
    "count": "COMMAND",
    "insert": "INSERT",
    "update": "UPDATE",
    "delete": "DELETE",
}
_NUMBER_WRAPPERS = ("$numberInt", "$numberLong", "$numberDouble")
MAX_DOCUMENTS = 1000
_OUT = JSONOptions(json_mode=JSONMode.CANONICAL, tz_aware=True, tzinfo=dt.timezone.utc)
_IN = JSONOptions(tz_aware=True, tzinfo=dt.timezone.utc)


class _ApiFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _ejson(value: Any) -> str:
    return json_util.dumps(value, json_options=_OUT)


class TcbApiEmulator:
    def __init__(
        self,
        database: Any,
        env_id: str = "emulated-env",
        secret_id: str = "AKIDtcbemulator",
        secret_key: str = "tcb-emulator-secret-key",
        session_token: str | None = "tcb-emulator-session-token",
        write_answers: str | None = None,
        duplicates: str | None = None,
        ready_after_s: float | None = None,
    ) -> None:
        import os

        self.database, self.env_id = database, env_id
        self.instance_id = f"tnt-{env_id[-8:]}"  # the document database's instance (DescribeEnvs Databases)
        self.secret_id, self.secret_key, self.session_token = secret_id, secret_key, session_token
        self.tables: set[str] = set(database.list_collection_names())
        self.ready_at: dict[str, float] = {}  # collection -> when it starts taking data (monotonic)
        self.write_answers = write_answers or os.environ.get("TCB_EMULATOR_WRITE_ANSWERS") or "reply"
        self.duplicates = duplicates or os.environ.get("TCB_EMULATOR_DUPLICATES") or "api"
        self.ready_after_s = (
            ready_after_s if ready_after_s is not None else float(os.environ.get("TCB_EMULATOR_READY_AFTER_S") or 0)
        )
        assert self.write_answers in WRITE_ANSWERS and self.duplicates in DUPLICATES, (write_answers, duplicates)
        self.requests: Counter[str] = Counter()
        self.commands: Counter[str] = Counter()  # CommandType of every executed command, and Item actions
        self.sent: list[dict[str, Any]] = []  # every authenticated request body, for tests to read the dialect
        self.item_answers: dict[str, dict[str, Any]] = {}  # action -> an answer to give instead (unknown shapes)
        self.command_writes_lost = (
            False  # RunCommands writes answer but change nothing ("fails silently", the CLI notes)
        )
        # An outage: when ``outage_when(action, request)`` first holds, every request fails (HTTP 500) until restore().
        self.outage_when: Any = None
        self.down = False
        self.read_quota: int | None = None
        self.write_quota: int | None = None
        self.fail_next: list[str] = []
        self._lock = threading.RLock()
        self._server: LoopbackServer | None = None
        self.endpoint = ""

    # --- HTTP --------------------------------------------------------------------------------------------------
    def start(self) -> str:
        emulator = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.read_body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                fault = emulator._take_fault()
                if fault is None and emulator._goes_down(body):
                    fault = "http500"
                if fault == "http500":
                    self.reply(500, b"<html>internal error</html>", {"Content-Type": "text/html"})
                    return
                if fault == "garbage":
                    self.reply(200, b'{"Response": {"Data": "not a list"', {"Content-Type": "application/json"})
                    return
                if fault and fault.startswith("sleep:"):
                    time.sleep(float(fault.split(":", 1)[1]))
                    fault = None
                response = emulator.handle(headers, body, fault)
                self.reply(200, json.dumps({"Response": response}).encode(), {"Content-Type": "application/json"})

        self._server = LoopbackServer(Handler)
        self.endpoint = self._server.url
        return self.endpoint

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def api(self, tag: str | None = None, timeout_s: float = 3) -> Any:
        """The CloudBase backend's transport, signed with this emulator's keys (tests and benches)."""
        from shared.platform.cloudbase_db import TcbApi

        return TcbApi(
            self.env_id,
            self.secret_id,
            self.secret_key,
            self.session_token,
            "ap-shanghai",
            self.endpoint,
            timeout_s,
            tag,
        )

    def _goes_down(self, body: bytes) -> bool:
        with self._lock:
            if not self.down and self.outage_when is not None:
                try:
                    request = json.loads(body)
                except ValueError:
                    request = {}
                self.down = bool(self.outage_when(request))
            return self.down

    def restore(self) -> None:
        """The database is back."""
        with self._lock:
            self.down, self.outage_when = False, None

    def _take_fault(self) -> str | None:
        with self._lock:
            return self.fail_next.pop(0) if self.fail_next else None

    def handle(self, headers: dict[str, str], body: bytes, injected: str | None = None) -> dict[str, Any]:
        request_id = str(uuid.uuid4())

        def error(code: str, message: str) -> dict[str, Any]:
            return {"Error": {"Code": code, "Message": message}, "RequestId": request_id}

        auth = check_tc3(headers, body, self.secret_id, self.secret_key, self.session_token)
        if auth:
            return error(*auth)
        action = headers.get("x-tc-action", "")
        if headers.get("x-tc-version") != "2018-06-08" or (action not in ACTIONS and action not in ITEM_ACTIONS):
            return error("InvalidAction", f"{action} {headers.get('x-tc-version')} is not emulated")
        try:
            request = json.loads(body)
        except ValueError:
            return error("InvalidParameter.PayloadDecodeFailed", "the body is not JSON")
        fault = (
            _item_faults(action, request) if action in ITEM_ACTIONS else model_faults(MODELS, action, request, REQUIRED)
        )
        if fault:
            return error(*fault)
        if action == "DescribeEnvs":
            return {**self._DescribeEnvs(request), "RequestId": request_id}
        if request["EnvId"] != self.env_id:
            return error("ResourceNotFound.EnvNotExist", f"environment {request['EnvId']} does not exist")
        if request.get("Tag") not in (None, self.instance_id):
            return error("ResourceNotFound.Instance", f"no document database {request['Tag']} in {self.env_id}")
        if injected:
            return error(injected, "injected failure")
        with self._lock:
            self.requests[action] += 1
            self.sent.append({"Action": action, **request})
            if action in self.item_answers:
                return {**self.item_answers[action], "RequestId": request_id}
            try:
                return {**getattr(self, f"_{action}")(request), "RequestId": request_id}
            except _ApiFault as fault_:
                return error(fault_.code, fault_.message)
            except (OperationFailure, ValueError, TypeError, KeyError) as exc:  # the engine refused the command
                return error("FailedOperation", f"{type(exc).__name__}: {exc}")

    def _DescribeEnvs(self, request: dict[str, Any]) -> dict[str, Any]:
        """The environment as the deployer sees it: its document database instance (the ``Tag``)."""
        envs = [] if request.get("EnvId") not in (None, self.env_id) else [self.env_id]
        return {
            "EnvList": [
                {"EnvId": env, "Databases": [{"InstanceId": self.instance_id, "Status": "RUNNING"}]} for env in envs
            ],
            "Total": len(envs),
        }

    # --- tables ------------------------------------------------------------------------------------------------
    def _CreateTable(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TableName"]
        if name in self.tables:
            raise _ApiFault("ResourceUnavailable.ResourceExist", f"table {name} exists")
        self.database.create_collection(name)
        self.tables.add(name)
        self.ready_at[name] = time.monotonic() + self.ready_after_s
        return {}

    def create_table(self, name: str) -> None:
        """What the console's "new collection" does (tests: the mini program's own collections)."""
        with self._lock:
            if name not in self.tables:
                self.database.create_collection(name)
                self.tables.add(name)

    def _table(self, name: str, data: bool = False) -> Any:
        """The collection; ``data``: it must also take data already (a new one does only after ``ready_after_s``)."""
        if name not in self.tables or (data and time.monotonic() < self.ready_at.get(name, 0)):
            raise _ApiFault("ResourceNotFound.TableNotFound", f"table {name} does not exist")
        return self.database[name]

    def _UpdateTable(self, request: dict[str, Any]) -> dict[str, Any]:
        collection = self._table(request["TableName"])
        for index in request.get("DropIndexes") or []:
            collection.drop_index(index["IndexName"])
        for index in request.get("CreateIndexes") or []:
            schema = index["MgoKeySchema"]
            keys = [(key["Name"], int(key["Direction"])) for key in schema["MgoIndexKeys"]]
            options: dict[str, Any] = {"name": index["IndexName"], "unique": bool(schema.get("MgoIsUnique"))}
            if schema.get("MgoIsSparse"):
                options["sparse"] = True
            if schema.get("PartialFilterExpression"):
                options["partialFilterExpression"] = json.loads(schema["PartialFilterExpression"])
            collection.create_index(keys, **options)
        return {}

    def _DescribeTable(self, request: dict[str, Any]) -> dict[str, Any]:
        collection = self._table(request["TableName"])
        indexes = [
            {
                "Name": name,
                "Unique": bool(info.get("unique")),
                "Keys": [{"Name": k, "Direction": str(d)} for k, d in info["key"]],
            }
            for name, info in collection.index_information().items()
        ]
        return {"Indexes": indexes, "IndexNum": len(indexes)}

    def _ListTables(self, request: dict[str, Any]) -> dict[str, Any]:
        names = sorted(self.tables)
        offset, limit = request.get("MgoOffset") or 0, request.get("MgoLimit") or 20
        page = names[offset : offset + limit]
        return {
            "Tables": [{"TableName": n} for n in page],
            "Pager": {"Offset": offset, "Limit": limit, "Total": len(names)},
        }

    # --- commands ----------------------------------------------------------------------------------------------
    def _RunCommands(self, request: dict[str, Any]) -> dict[str, Any]:
        commands = request["MgoCommands"]
        parsed = []
        for entry in commands:
            wrapped = _wrapped_number(entry["Command"])
            if wrapped:
                raise _ApiFault("InvalidParameter", f"Command must be plain JSON: a number came wrapped as {wrapped}")
            try:
                command = json_util.loads(entry["Command"], json_options=_IN)
            except (ValueError, TypeError) as exc:
                raise _ApiFault("InvalidParameter", f"Command is not JSON: {exc}") from None
            if not isinstance(command, dict) or not command:
                raise _ApiFault("InvalidParameter", "Command must be a command document")
            name = next(iter(command))
            expected = COMMAND_TYPES.get(name)
            if expected is None:
                raise _ApiFault("InvalidParameter", f"{name} is not a command this API runs")
            if entry["CommandType"] != expected:
                raise _ApiFault("InvalidParameter", f"CommandType {entry['CommandType']} does not match {name}")
            if command[name] != entry["TableName"]:
                raise _ApiFault("InvalidParameter", "the command names another collection than TableName")
            if name == "aggregate" and "cursor" not in command:
                raise _ApiFault("InvalidParameter", "aggregate requires cursor")
            for field in ("updates", "deletes", "documents"):
                if field in command and not isinstance(command[field], list):
                    raise _ApiFault("InvalidParameter", f"{field} must be an array")
            self._table(entry["TableName"], data=True)
            parsed.append((name, command, expected))
        reads = sum(1 for _, _, kind in parsed if kind in ("QUERY", "COMMAND"))
        self._charge(reads, len(parsed) - reads)
        answers = []
        for name, command, kind in parsed:
            self.commands[kind] += 1
            if kind in ("INSERT", "UPDATE", "DELETE") and self.command_writes_lost:
                answers.append(_ejson({"n": 0, "ok": 1}))
                continue
            answer = getattr(self, f"_run_{name}")(self.database[command[name]], command)
            if kind in ("INSERT", "UPDATE", "DELETE") and self.write_answers != "reply":
                answer = "" if self.write_answers == "blank" else None
            answers.append(answer)
        return {"Data": [a for a in answers if a is not None]}

    def _charge(self, reads: int, writes: int) -> None:
        if reads and self.read_quota is not None:
            if self.read_quota < reads:
                raise _ApiFault("LimitExceeded.OutOfReadRequestQuota", "the environment's read quota is spent")
            self.read_quota -= reads
        if writes and self.write_quota is not None:
            if self.write_quota < writes:
                raise _ApiFault("LimitExceeded.OutOfWriteRequestQuota", "the environment's write quota is spent")
            self.write_quota -= writes

    # --- the Item actions (the toolkit's writes) -----------------------------------------------------------------
    def _duplicate(self, exc: Exception) -> _ApiFault:
        if self.duplicates == "api":
            return _ApiFault("FailedOperation.DuplicatedData", "duplicated data")
        return _ApiFault("FailedOperation", f"write failed: E11000 duplicate key error collection: {exc}")

    def _item_json(self, request: dict[str, Any], field: str) -> Any:
        text = request[field]
        wrapped = _wrapped_number(text)
        if wrapped:
            raise _ApiFault("InvalidParameter", f"{field} must be plain JSON: a number came wrapped as {wrapped}")
        try:
            value = json_util.loads(text, json_options=_IN)
        except (ValueError, TypeError) as exc:
            raise _ApiFault("InvalidParameter", f"{field} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise _ApiFault("InvalidParameter", f"{field} must be a JSON object")
        return value

    def _PutItem(self, request: dict[str, Any]) -> dict[str, Any]:
        collection = self._table(request["TableName"], data=True)
        documents = [self._item_json({"doc": text}, "doc") for text in request["MgoDocs"]]
        if not documents:
            raise _ApiFault("InvalidParameter", "MgoDocs is empty")
        self._charge(0, 1)
        self.commands["PutItem"] += 1
        try:
            result = collection.insert_many(documents, ordered=True)
        except BulkWriteError as exc:
            raise self._duplicate(exc) from None
        return {"InsertedIds": [str(i) for i in result.inserted_ids]}

    def _UpdateItem(self, request: dict[str, Any]) -> dict[str, Any]:
        collection = self._table(request["TableName"], data=True)
        query, update = self._item_json(request, "MgoQuery"), self._item_json(request, "MgoUpdate")
        self._charge(0, 1)
        self.commands["UpdateItem"] += 1
        upsert = bool(request.get("MgoUpsert"))
        if update and not any(key.startswith("$") for key in update):
            method = collection.replace_one  # a whole document: it replaces the match, as the toolkit warns
        else:
            method = collection.update_many if request.get("MgoIsMulti") else collection.update_one
        try:
            result = method(query, update, upsert=upsert)
        except DuplicateKeyError as exc:
            raise self._duplicate(exc) from None
        answer: dict[str, Any] = {"MatchedNum": result.matched_count, "ModifiedNum": result.modified_count}
        answer["UpsertedId"] = _ejson(result.upserted_id) if result.upserted_id is not None else ""
        return answer

    def _DeleteItem(self, request: dict[str, Any]) -> dict[str, Any]:
        collection = self._table(request["TableName"], data=True)
        query = self._item_json(request, "MgoQuery")
        self._charge(0, 1)
        self.commands["DeleteItem"] += 1
        method = collection.delete_many if request.get("MgoIsMulti") else collection.delete_one
        return {"Deleted": method(query).deleted_count}

    @staticmethod
    def _documents(documents: list[dict[str, Any]]) -> str:
        return json.dumps([_ejson(document) for document in documents[:MAX_DOCUMENTS]])

    def _run_find(self, collection: Any, command: dict[str, Any]) -> str:
        cursor = collection.find(command.get("filter") or {}, command.get("projection"))
        if command.get("sort"):
            cursor = cursor.sort(list(command["sort"].items()))
        if command.get("skip"):
            cursor = cursor.skip(int(command["skip"]))
        limit = int(command.get("limit") or 0)
        cursor = cursor.limit(min(limit, MAX_DOCUMENTS) if limit else MAX_DOCUMENTS)
        return self._documents(list(cursor))

    def _run_aggregate(self, collection: Any, command: dict[str, Any]) -> str:
        return self._documents(list(collection.aggregate(command.get("pipeline") or [])))

    def _run_count(self, collection: Any, command: dict[str, Any]) -> str:
        return _ejson({"n": collection.count_documents(command.get("query") or {}), "ok": 1})

    def _run_insert(self, collection: Any, command: dict[str, Any]) -> str:
        documents = command.get("documents") or []
        try:
            result = collection.insert_many(documents, ordered=command.get("ordered", True))
            return _ejson({"n": len(result.inserted_ids), "ok": 1})
        except BulkWriteError as exc:
            details = exc.details
            errors = [
                {"index": e.get("index", 0), "code": e.get("code"), "errmsg": str(e.get("errmsg", ""))}
                for e in details.get("writeErrors", [])
            ]
            return _ejson({"n": details.get("nInserted", 0), "writeErrors": errors, "ok": 1})

    def _run_update(self, collection: Any, command: dict[str, Any]) -> str:
        n = modified = 0
        upserted = []
        for index, change in enumerate(command.get("updates") or []):
            update = change["u"]
            if isinstance(update, dict) and not any(key.startswith("$") for key in update):
                method = collection.replace_one  # a replacement document, as the server's update command allows
            else:
                method = collection.update_many if change.get("multi") else collection.update_one
            try:
                result = method(change["q"], update, upsert=bool(change.get("upsert")))
            except DuplicateKeyError as exc:
                error = {"index": index, "code": 11000, "errmsg": f"E11000 duplicate key error: {exc}"}
                return _ejson({"n": n, "nModified": modified, "writeErrors": [error], "ok": 1})
            n += result.matched_count
            modified += result.modified_count
            if result.upserted_id is not None:
                upserted.append({"index": index, "_id": result.upserted_id})
                n += 1
        reply: dict[str, Any] = {"n": n, "nModified": modified, "ok": 1}
        if upserted:
            reply["upserted"] = upserted
        return _ejson(reply)

    def _run_delete(self, collection: Any, command: dict[str, Any]) -> str:
        n = 0
        for change in command.get("deletes") or []:
            method = collection.delete_one if change.get("limit") == 1 else collection.delete_many
            n += method(change["q"]).deleted_count
        return _ejson({"n": n, "ok": 1})


def _wrapped_number(text: str) -> str | None:
    """A number sent in an Extended JSON wrapper outside a date (the dialect Tencent's tools send has none)."""

    def walk(value: Any, in_date: bool) -> str | None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _NUMBER_WRAPPERS and not in_date:
                    return key
                found = walk(item, key == "$date")
                if found:
                    return found
        elif isinstance(value, list):
            for item in value:
                found = walk(item, False)
                if found:
                    return found
        return None

    try:
        return walk(json.loads(text), False)
    except ValueError:
        return None


def _item_faults(action: str, request: Any) -> tuple[str, str] | None:
    """The Item actions' parameter checks (no SDK model): unknown fields, wrong types, missing required ones."""
    if not isinstance(request, dict):
        return "InvalidParameter.PayloadDecodeFailed", "the body must be a JSON object"
    required, fields = ITEM_ACTIONS[action]
    for name, value in request.items():
        if name not in fields:
            return "UnknownParameter", f"The parameter `{name}` is not recognized"
        if not isinstance(value, fields[name]) or (fields[name] is int and isinstance(value, bool)):
            return "InvalidParameter", f"`{name}` must be {fields[name].__name__}"
    if action == "PutItem" and not all(isinstance(doc, str) for doc in request.get("MgoDocs", [])):
        return "InvalidParameter", "`MgoDocs` must be a list of JSON strings"
    for name in required:
        if request.get(name) in (None, ""):
            return "MissingParameter", f"The request is missing a required parameter `{name}`"
    return None


def backing_database(mongodb_uri: str | None = None, name: str | None = None) -> Any:
    """What the emulator executes on: the embedded engine, or a real server's database."""
    if mongodb_uri:
        import pymongo

        return pymongo.MongoClient(mongodb_uri, tz_aware=True)[name or "share_funnel"]
    import mongomock_ng

    from shared.dev import embedded_engine

    embedded_engine.install()
    return mongomock_ng.MongoClient(tz_aware=True)[name or "share_funnel"]


if __name__ == "__main__":  # run by hand or by a benchmark, in its own process
    import argparse
    import os

    parser = argparse.ArgumentParser(description="tcb API emulator (database actions) on 127.0.0.1")
    parser.add_argument("--env-id", default="emulated-env")
    parser.add_argument("--tables", default="", help="comma-separated collections to create at start (e.g. orders)")
    args = parser.parse_args()
    emulator = TcbApiEmulator(
        backing_database(os.environ.get("MONGODB_URI"), os.environ.get("MONGODB_DB")), args.env_id
    )
    for table in filter(None, args.tables.split(",")):
        emulator.create_table(table)
    print(emulator.start(), flush=True)
    threading.Event().wait()
