"""The share store's MongoDB adapter (pymongo API; a real server or the embedded engine).

Every driver error becomes ``Unavailable`` (``raise … from``) except ``DuplicateKeyError``, which is
how the unique indexes answer "already there" and is interpreted here.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.platform.config import Collections
from shared.platform.db import code_matches, driver_errors
from shared.platform.errors import Unavailable
from shared.sharing.scene import ShareClaim

LANDING_KEY = ("inviter", "invitee", "productId")


class CodeCache:
    """Positive-only LRU of inviter code → openid. Codes never change owner once assigned, so a hit
    is always correct; misses always go to the database (a new code is found on first use)."""

    def __init__(self, capacity: int = 10000) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, code: str) -> str | None:
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
    def __init__(self, database: Any, names: Collections, code_cache: CodeCache | None = None) -> None:
        self._users = database[names.users]
        self._landings = database[names.share_events]
        self._intents = database[names.share_intents]
        self._tokens = database[names.scene_tokens]
        self._codes = code_cache if code_cache is not None else CodeCache()

    def inviter_openid(self, code: str) -> str | None:
        cached = self._codes.get(code)
        if cached is not None:
            return cached
        with driver_errors("look up an inviter code"):
            doc = self._users.find_one({"code": code_matches(code)}, {"_id": 1})
        if doc is None:
            return None
        self._codes.put(code, doc["_id"])
        return doc["_id"]

    def known_inviter_codes(self, codes: Any) -> set:
        """Which of ``codes`` belong to a sharer (one query, for a batch's up-front check)."""
        wanted = sorted(set(codes))
        with driver_errors("look up inviter codes"):
            return {doc["code"] for doc in self._users.find({"code": code_matches(wanted)}, {"code": 1, "_id": 0})}

    def inviter_code_of(self, openid: str) -> str | None:
        with driver_errors("read the caller's inviter code"):
            doc = self._users.find_one({"_id": openid}, {"code": 1})
        return doc.get("code") if doc else None

    def assign_inviter_code(self, openid: str, code: str, now: dt.datetime) -> str | None:
        try:
            with driver_errors("assign an inviter code"):
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

    def register_user(self, openid: str, now: dt.datetime, binding: dict[str, Any] | None) -> dict[str, Any] | None:
        on_insert: dict[str, Any] = {"firstSeenAt": now}
        if binding is not None:
            on_insert["binding"] = binding
        for attempt in (1, 2):
            try:
                with driver_errors("register the user"):
                    return self._users.find_one_and_update(
                        {"_id": openid},
                        {"$setOnInsert": on_insert},
                        upsert=True,
                        return_document=ReturnDocument.BEFORE,
                        projection={"binding": 1, "code": 1, "firstSeenAt": 1},
                    )
            except DuplicateKeyError as exc:
                # Two first sightings raced and the server did not retry the upsert itself (MongoDB ≥ 4.2
                # retries such upserts; FerretDB answers E11000): the other one created the user, so a second
                # pass reads it back. Both engines accept this path.
                if attempt == 2:
                    raise Unavailable("user registration kept conflicting") from exc
        return None  # unreachable

    def insert_landing(self, record: dict[str, Any]) -> bool:
        key = {field: record[field] for field in LANDING_KEY}
        rest = {field: value for field, value in record.items() if field not in key}
        try:
            with driver_errors("record the landing"):
                result = self._landings.update_one(key, {"$setOnInsert": rest}, upsert=True)
        except DuplicateKeyError:
            return False  # a concurrent landing for the same key won; this one is a duplicate
        return result.upserted_id is not None

    def add_share_intent(self, intent: dict[str, Any]) -> None:
        with driver_errors("record the share intent"):
            self._intents.insert_one(dict(intent))

    def resolve_scene_token(self, token: str) -> ShareClaim | None:
        with driver_errors("resolve a scene token"):
            doc = self._tokens.find_one({"_id": token})
        if doc is None:
            return None
        return ShareClaim(inviter=doc["inviter"], product_id=doc["productId"], channel=doc.get("channel"), form="token")

    def scene_token_for(self, claim: ShareClaim, new_token: str, now: dt.datetime) -> str | None:
        key = {"inviter": claim.inviter, "productId": claim.product_id, "channel": claim.channel}
        try:
            with driver_errors("store a scene token"):
                self._tokens.update_one(key, {"$setOnInsert": {"_id": new_token, "createdAt": now}}, upsert=True)
        except DuplicateKeyError:
            pass  # either the same claim was stored concurrently, or the token collided
        with driver_errors("read the scene token"):
            doc = self._tokens.find_one(key, {"_id": 1})
        return doc["_id"] if doc else None
