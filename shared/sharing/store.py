"""The share store's MongoDB adapter (pymongo API; a real server or the embedded engine).

Every driver error becomes ``Unavailable`` (``raise … from``) except ``DuplicateKeyError``, which is
how the unique indexes answer "already there" and is interpreted here.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from shared.platform.config import Collections
from shared.platform.db import code_matches, driver_errors, provision
from shared.platform.documents import Database, DuplicateKeyError, ReturnDocument
from shared.platform.errors import Unavailable
from shared.sharing.attribution import LANDING_KEY
from shared.sharing.profile import SharerProfile
from shared.sharing.reads import relationships_collection, sharing_collections
from shared.sharing.relationship import ADMIN, TAKEN
from shared.sharing.scene import ShareClaim


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


def _upserted(landing: Any) -> bool:
    """Whether the landing write inserted the record."""
    return landing.upserted_id is not None


class MongoShareStore:
    def __init__(self, database: Database, names: Collections, code_cache: CodeCache | None = None) -> None:
        self._users = database[names.users]
        self._landings = database[names.share_events]
        self._intents = database[names.share_intents]
        self._tokens = database[names.scene_tokens]
        self._changes = database[relationships_collection(names)]
        self._codes = code_cache if code_cache is not None else CodeCache()
        provision(database, sharing_collections(names))

    # --- relationships (shared/sharing/relationship.py decides; this writes) -------------------------------------
    def upline_of(self, code: str) -> str | None:
        """The inviter code of the relationship of ``code``'s owner (None for a seed or an unknown code)."""
        with driver_errors("read an inviter's upline"):
            doc = self._users.find_one({"code": code_matches(code)}, {"binding.inviter": 1})
        return ((doc or {}).get("binding") or {}).get("inviter")

    def user(self, openid: str) -> dict[str, Any] | None:
        with driver_errors("read the user"):
            return self._users.find_one({"_id": openid}, {"binding": 1, "firstTouch": 1, "code": 1})

    def change_relationship(
        self, user: Mapping[str, Any], binding: dict[str, Any] | None, change: dict[str, Any], now: dt.datetime
    ) -> bool:
        """The user's relationship replaced, only if it is still the one read (another landing may have changed it
        meanwhile: then nothing is written and False answers). The user's first touch is kept apart first (the
        funnel's "new user" reads it), and the change goes to the history."""
        previous = user.get("binding") or None
        condition: dict[str, Any] = {"_id": user["_id"]}
        if previous and previous.get("inviter"):
            condition.update({"binding.inviter": previous["inviter"], "binding.at": previous.get("at")})
        else:
            condition["binding.inviter"] = None  # no relationship (absent or null)
        fields: dict[str, Any] = {"binding": binding} if binding else {}
        if previous and "firstTouch" not in user:
            fields["firstTouch"] = {"inviter": previous.get("inviter"), "productId": previous.get("productId")}
        update: dict[str, Any] = {"$set": fields} if fields else {}
        if binding is None:
            update["$unset"] = {"binding": ""}  # cleared: no relationship at all
        with driver_errors("change the relationship"):
            if self._users.update_one(condition, update).matched_count != 1:
                return False
            self._changes.insert_one(
                {
                    "invitee": user["_id"],
                    "inviter": (binding or {}).get("inviter"),
                    "from": (previous or {}).get("inviter"),
                    "fromAt": (previous or {}).get("at"),
                    "fromExpiresAt": (previous or {}).get("expiresAt"),
                    "at": now,
                    **change,
                }
            )
        return True

    def team_of(self, code: str) -> list[dict[str, Any]]:
        """The users an inviter brought: whose relationship is theirs now (live or ended), and those taken from them
        (each with ``period``: (began, ended or None) of the relationship with this inviter)."""
        fields = {"binding": 1, "code": 1, "nickname": 1, "avatarFileID": 1}
        with driver_errors("read the team"):
            current = list(self._users.find({"binding.inviter": code}, fields))
            left = {
                d["invitee"]: d
                for d in self._changes.find({"from": code, "kind": {"$in": [TAKEN, ADMIN]}}).sort("at", 1)
            }
            gone = list(self._users.find({"_id": {"$in": sorted(left)}}, fields)) if left else []
        members = [{**u, "period": (u["binding"].get("at"), None), "taken": False} for u in current]
        known = {u["_id"] for u in current}
        for user in gone:
            if user["_id"] not in known:
                change = left[user["_id"]]
                taken = change.get("inviter") is not None  # an admin's clear ends it; a move or a takeover takes it
                members.append({**user, "period": (change.get("fromAt"), change.get("at")), "taken": taken})
        return members

    def relationship_changes(self, openid: str) -> list[dict[str, Any]]:
        with driver_errors("read the relationship's history"):
            return list(self._changes.find({"invitee": openid}, {"_id": 0}).sort("at", 1))

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

    def set_profile(self, openid: str, profile: SharerProfile, now: dt.datetime) -> SharerProfile:
        """Save the poster profile fields given (a user document is created if absent) and return the whole profile."""
        fields: dict[str, Any] = {"profileUpdatedAt": now}
        if profile.nickname is not None:
            fields["nickname"] = profile.nickname
        if profile.avatar_file_id is not None:
            fields["avatarFileID"] = profile.avatar_file_id
        with driver_errors("save the profile"):
            doc = (
                self._users.find_one_and_update(
                    {"_id": openid},
                    {"$set": fields, "$setOnInsert": {"firstSeenAt": now}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                    projection={"nickname": 1, "avatarFileID": 1},
                )
                or {}
            )  # an upsert answers the document after it
        return SharerProfile(doc.get("nickname"), doc.get("avatarFileID"))

    def profile_of_inviter(self, code: str) -> SharerProfile:
        """The poster profile of the sharer holding ``code`` (fields they never chose are None)."""
        with driver_errors("read the sharer's profile"):
            doc = self._users.find_one({"code": code_matches(code)}, {"nickname": 1, "avatarFileID": 1}) or {}
        return SharerProfile(doc.get("nickname"), doc.get("avatarFileID"))

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
                        projection={"binding": 1, "firstTouch": 1, "code": 1, "firstSeenAt": 1},
                    )
            except DuplicateKeyError as exc:
                # Two first sightings raced and the server did not retry the upsert itself (MongoDB ≥ 4.2
                # retries such upserts; FerretDB answers E11000): the other one created the user, so a second
                # pass reads it back. Both engines accept this path.
                if attempt == 2:
                    raise Unavailable("user registration kept conflicting") from exc
        return None  # unreachable

    def record_landing(
        self, openid: str, now: dt.datetime, binding: dict[str, Any], record: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        """Register the user (first sighting bound to this landing) and insert the landing record: (the user as it
        was before, whether the landing is new). Each write's outcome is read from its own answer.

        ``record`` carries ``newUser: True``, the common case (an invitee's first landing); the use case corrects it
        with ``mark_not_new`` when the user turns out to have been seen before."""
        key = {field: record[field] for field in LANDING_KEY}
        rest = {field: value for field, value in record.items() if field not in key}
        user = self.register_user(openid, now, binding)
        with driver_errors("record the landing"):
            try:
                recorded = _upserted(self._landings.update_one(key, {"$setOnInsert": rest}, upsert=True))
            except DuplicateKeyError:
                recorded = False  # the same landing, recorded concurrently: a duplicate
        return user, recorded

    def mark_not_new(self, key: dict[str, Any]) -> None:
        """The landing for ``key`` counts no new user (idempotent: only a record still marked new changes)."""
        with driver_errors("correct the landing"):
            self._landings.update_one({**key, "newUser": True}, {"$set": {"newUser": False}})

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
