"""MongoDB adapter for the share store (pymongo API; runs on a real server or the embedded engine).

Every driver error becomes ``Unavailable`` (``raise … from``) except ``DuplicateKeyError``, which is
how the unique indexes answer "already there" and is interpreted here.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter, OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from .config import Collections
from .errors import Unavailable
from .scene import ShareClaim

LANDING_KEY = ("inviter", "invitee", "productId")


@contextmanager
def driver_errors(what: str) -> Iterator[None]:
    """Wrap driver failures as ``Unavailable``; ``DuplicateKeyError`` passes through for the caller to read."""
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError as exc:
        raise Unavailable(f"database error while trying to {what}") from exc


class CodeCache:
    """Positive-only LRU of inviter code → openid. Codes never change owner once assigned, so a hit
    is always correct; misses always go to the database (a new code is found on first use)."""

    def __init__(self, capacity: int = 10000) -> None:
        self._items: "OrderedDict[str, str]" = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, code: str) -> Optional[str]:
        with self._lock:
            openid = self._items.get(code)
            if openid is not None:
                self._items.move_to_end(code)
            return openid

    def put(self, code: str, openid: str) -> None:
        with self._lock:
            self._items[code] = openid
            self._items.move_to_end(code)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


class MongoShareStore:
    def __init__(self, database: Any, names: Collections, code_cache: Optional[CodeCache] = None) -> None:
        self._users = database[names.users]
        self._landings = database[names.share_events]
        self._intents = database[names.share_intents]
        self._tokens = database[names.scene_tokens]
        self._codes = code_cache if code_cache is not None else CodeCache()
        # Database round trips by kind ("reads", "writes") and time spent in them, for benchmarks.
        self.round_trips: Counter = Counter()
        self.seconds_in_db = 0.0

    @contextmanager
    def _call(self, kind: str, what: str) -> Iterator[None]:
        self.round_trips[kind] += 1
        started = time.perf_counter()
        try:
            with driver_errors(what):
                yield
        finally:
            self.seconds_in_db += time.perf_counter() - started

    def inviter_openid(self, code: str) -> Optional[str]:
        cached = self._codes.get(code)
        if cached is not None:
            return cached
        with self._call("reads", "look up an inviter code"):
            doc = self._users.find_one({"code": code}, {"_id": 1})
        if doc is None:
            return None
        self._codes.put(code, doc["_id"])
        return doc["_id"]

    def known_inviter_codes(self, codes: Any) -> set:
        """Which of ``codes`` belong to a sharer (one query, for a batch's up-front check)."""
        wanted = sorted(set(codes))
        with self._call("reads", "look up inviter codes"):
            return {doc["code"] for doc in self._users.find({"code": {"$in": wanted}}, {"code": 1, "_id": 0})}

    def inviter_code_of(self, openid: str) -> Optional[str]:
        with self._call("reads", "read the caller's inviter code"):
            doc = self._users.find_one({"_id": openid}, {"code": 1})
        return doc.get("code") if doc else None

    def assign_inviter_code(self, openid: str, code: str, now: dt.datetime) -> Optional[str]:
        try:
            with self._call("writes", "assign an inviter code"):
                self._users.update_one(
                    {"_id": openid, "code": {"$exists": False}},
                    {"$set": {"code": code, "codeAssignedAt": now}, "$setOnInsert": {"firstSeenAt": now}},
                    upsert=True,
                )
        except DuplicateKeyError:
            # Either the user already has a code (a concurrent share won) or the code is taken.
            existing = self.inviter_code_of(openid)
            if existing is None:
                return None
            code = existing
        self._codes.put(code, openid)
        return code

    def register_user(self, openid: str, now: dt.datetime, binding: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        on_insert: Dict[str, Any] = {"firstSeenAt": now}
        if binding is not None:
            on_insert["binding"] = binding
        for attempt in (1, 2):
            try:
                with self._call("writes", "register the user"):
                    return self._users.find_one_and_update(
                        {"_id": openid},
                        {"$setOnInsert": on_insert},
                        upsert=True,
                        return_document=ReturnDocument.BEFORE,
                        projection={"binding": 1, "code": 1, "firstSeenAt": 1},
                    )
            except DuplicateKeyError:
                # Two first sightings raced on a server that did not retry the upsert itself;
                # the other one created the user, so a second pass reads it back.
                if attempt == 2:
                    raise Unavailable("user registration kept conflicting")
        return None  # unreachable

    def insert_landing(self, record: Dict[str, Any]) -> bool:
        key = {field: record[field] for field in LANDING_KEY}
        rest = {field: value for field, value in record.items() if field not in key}
        try:
            with self._call("writes", "record the landing"):
                result = self._landings.update_one(key, {"$setOnInsert": rest}, upsert=True)
        except DuplicateKeyError:
            return False  # a concurrent landing for the same key won; this one is a duplicate
        return result.upserted_id is not None

    def add_share_intent(self, intent: Dict[str, Any]) -> None:
        with self._call("writes", "record the share intent"):
            self._intents.insert_one(dict(intent))

    def resolve_scene_token(self, token: str) -> Optional[ShareClaim]:
        with self._call("reads", "resolve a scene token"):
            doc = self._tokens.find_one({"_id": token})
        if doc is None:
            return None
        return ShareClaim(inviter=doc["inviter"], product_id=doc["productId"], channel=doc.get("channel"), form="token")

    def scene_token_for(self, claim: ShareClaim, new_token: str, now: dt.datetime) -> Optional[str]:
        key = {"inviter": claim.inviter, "productId": claim.product_id, "channel": claim.channel}
        try:
            with self._call("writes", "store a scene token"):
                self._tokens.update_one(key, {"$setOnInsert": {"_id": new_token, "createdAt": now}}, upsert=True)
        except DuplicateKeyError:
            pass  # either the same claim was stored concurrently, or the token collided
        with self._call("reads", "read the scene token"):
            doc = self._tokens.find_one(key, {"_id": 1})
        return doc["_id"] if doc else None


class MongoTokenStore:
    """Shared access-token cache: one document per appid, replaced only by a token that lives longer."""

    def __init__(self, database: Any, names: Collections) -> None:
        self._tokens = database[names.wechat_tokens]

    def load(self, appid: str):
        try:
            doc = self._tokens.find_one({"_id": appid})
        except PyMongoError:
            return None  # the shared cache is an optimisation; WeChat is the source of truth
        return (doc["token"], doc["expiresAt"]) if doc else None

    def save_if_later(self, appid: str, token: str, expires_at: dt.datetime) -> None:
        try:
            self._tokens.update_one({"_id": appid, "expiresAt": {"$lt": expires_at}},
                                    {"$set": {"token": token, "expiresAt": expires_at}}, upsert=True)
        except DuplicateKeyError:
            pass  # a token that lives at least as long is already stored
        except PyMongoError:
            pass


class MongoCodeCache:
    """The ``wxacodes`` cache with an atomic claim, so concurrent identical requests generate one code.

    States: absent → ``in_progress`` (claimed by one invocation until ``claimedUntil``) → ``done``.
    A crashed claim expires and can be taken over (Powertools-idempotency style).
    """

    def __init__(self, database: Any, names: Collections) -> None:
        self._codes = database[names.wxacodes]

    def get(self, key: str) -> Optional[Dict[str, Any]]:
        with driver_errors("read the code cache"):
            return self._codes.find_one({"_id": key})

    def claim(self, key: str, owner: str, now: dt.datetime, until: dt.datetime, info: Dict[str, Any]) -> bool:
        """True when this owner now holds the claim; False when a live claim or a finished code exists."""
        try:
            with driver_errors("claim a code"):
                self._codes.update_one(
                    {"_id": key, "status": "in_progress", "claimedUntil": {"$lt": now}},
                    {"$set": {"status": "in_progress", "owner": owner, "claimedUntil": until, **info}},
                    upsert=True)
            return True
        except DuplicateKeyError:
            return False

    def complete(self, key: str, owner: str, fields: Dict[str, Any]) -> bool:
        with driver_errors("record the generated code"):
            result = self._codes.update_one({"_id": key, "owner": owner, "status": "in_progress"},
                                            {"$set": {"status": "done", **fields}, "$unset": {"claimedUntil": ""}})
        return result.matched_count == 1

    def release(self, key: str, owner: str) -> None:
        try:
            self._codes.delete_one({"_id": key, "owner": owner, "status": "in_progress"})
        except PyMongoError:
            pass  # the claim expires by itself


EPOCH = dt.datetime(1970, 1, 1)
FAILURES_KEPT = 100  # a job keeps its first failures for the report; the counters count all of them


class MongoJobStore:
    """``wxacode_jobs``: one document per batch job with its items, progress counters and a lease, so a
    job runs in one invocation at a time and any later invocation can resume it from ``next``."""

    def __init__(self, database: Any, names: Collections) -> None:
        self._jobs = database[names.wxacode_jobs]

    def get(self, job_id: str, with_items: bool = False) -> Optional[Dict[str, Any]]:
        with driver_errors("read a batch job"):
            return self._jobs.find_one({"_id": job_id}, None if with_items else {"items": 0})

    def create(self, job: Dict[str, Any]) -> bool:
        """Insert a new job; False when a job with that id already exists."""
        try:
            with driver_errors("create a batch job"):
                self._jobs.insert_one({**job, "leaseUntil": EPOCH})
            return True
        except DuplicateKeyError:
            return False

    def take_lease(self, job_id: str, owner: str, now: dt.datetime, until: dt.datetime,
                   restart: bool = False) -> Optional[Dict[str, Any]]:
        """The job with its items if this owner now holds its lease, else None (another invocation runs it).
        ``restart``: a finished job runs again from its first item (every code is then a cache hit)."""
        update: Dict[str, Any] = {"$set": {"leaseOwner": owner, "leaseUntil": until, "status": "running",
                                           "updatedAt": now}, "$inc": {"invocations": 1}}
        if restart:
            update["$set"].update({"next": 0, "generated": 0, "cached": 0, "failed": 0, "failures": [],
                                   "startedAt": now})
            update["$inc"]["runs"] = 1
        with driver_errors("lease a batch job"):
            return self._jobs.find_one_and_update({"_id": job_id, "leaseUntil": {"$lt": now}}, update,
                                                  return_document=ReturnDocument.AFTER)

    def save_progress(self, job_id: str, owner: str, next_index: int, counts: Dict[str, int],
                      failures: Any, now: dt.datetime, until: dt.datetime) -> None:
        update: Dict[str, Any] = {"$set": {"next": next_index, "updatedAt": now, "leaseUntil": until},
                                  "$inc": counts}
        if failures:
            update["$push"] = {"failures": {"$each": list(failures), "$slice": FAILURES_KEPT}}
        with driver_errors("save batch progress"):
            result = self._jobs.update_one({"_id": job_id, "leaseOwner": owner}, update)
        if result.matched_count != 1:
            raise Unavailable("the batch job's lease was lost")

    def finish(self, job_id: str, owner: str, status: str, now: dt.datetime, **fields: Any) -> None:
        """Set the job's status and give up the lease (a continuation or a resume can take it at once)."""
        with driver_errors("finish a batch run"):
            self._jobs.update_one({"_id": job_id, "leaseOwner": owner},
                                  {"$set": {"status": status, "updatedAt": now, "leaseUntil": EPOCH, **fields}})
