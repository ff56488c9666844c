"""What the sharing wing publishes of its data: landings, share intents and users, read for the funnel's report and
the reward ledger. The sharing wing alone declares, writes and reads ``users``, ``share_events``, ``share_intents``
and ``scene_tokens`` (docs/layout.md, who owns what); these reads are the only way in from another wing, and they
provision the collections with their indexes, which every query here relies on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from shared.platform.config import Collections
from shared.platform.db import (
    CODE_INDEXED,
    CollectionSpec,
    aware,
    code_matches,
    driver_errors,
    field_at,
    index,
    provision,
)
from shared.platform.documents import Database, DuplicateKeyError
from shared.sharing.attribution import LANDING_KEY
from shared.sharing.credit import Intent, Landing
from shared.sharing.relationship import (
    ADMIN,
    EXPIRED,
    REBOUND,
    RELATIONSHIP_COUNTS,
    Extension,
    Period,
    count_changes,
    lapse_entry,
    periods_of,
    ran_out_before_change,
)

IN_LIMIT = 2000  # codes or users asked for in one query


def relationships_collection(names: Collections) -> str:
    return f"{names.users}_relationships"


def sharing_collections(names: Collections) -> list[CollectionSpec]:
    """The collections the sharing wing owns (docs/data-model.md lists them; change both together)."""
    return [
        CollectionSpec(
            names.users,
            (
                # Inviter codes are unique among users that have one (organic users have none).
                index("code", name="code_unique", unique=True, partial={"code": CODE_INDEXED}),
                index("firstSeenAt", name="firstSeenAt"),
                index("binding.inviter", "binding.at", name="binding_inviter_at"),
                index("binding.expiresAt", name="binding_expiresAt"),  # the daily run's lapses
            ),
        ),
        # One landing record per (inviter, invitee, product): the dedup rule itself.
        CollectionSpec(
            names.share_events,
            (
                index(*LANDING_KEY, name="landing_unique", unique=True),
                index("enteredAt", name="enteredAt"),
                index("invitee", "enteredAt", name="invitee_enteredAt"),
            ),
        ),
        CollectionSpec(names.share_intents, (index("at", name="at"), index("sharer", "at", name="sharer_at"))),
        # Every change of a relationship (taken over, re-bound after it ended, set by an admin, run out):
        # shared/sharing/relationship.py
        CollectionSpec(
            relationships_collection(names),
            (
                index("inviter", "at", name="inviter_at"),
                index("invitee", "at", name="invitee_at"),
                index("at", name="at"),
                index("fromExpiresAt", name="fromExpiresAt"),
            ),
        ),
        # One token per (inviter, product, channel), so regenerating a code reuses its token.
        CollectionSpec(
            names.scene_tokens, (index("inviter", "productId", "channel", name="claim_unique", unique=True),)
        ),
    ]


_INTENT_FIELDS = {"_id": 0, "sharer": 1, "sharerOpenid": 1, "productId": 1, "channel": 1, "at": 1}
_LANDING_FIELDS = {
    "_id": 0,
    "inviter": 1,
    "invitee": 1,
    "productId": 1,
    "channel": 1,
    "entry": 1,
    "enteredAt": 1,
    "newUser": 1,
    "group.alias": 1,
    "group.chatType": 1,
}


def _landing(d: Mapping[str, Any]) -> Landing:
    return Landing(
        inviter=d["inviter"],
        invitee=d["invitee"],
        product=d["productId"],
        channel=d.get("channel"),
        entry=d.get("entry"),
        at=aware(d["enteredAt"]),
        new_user=d.get("newUser") is True,
        group=(d.get("group") or {}).get("alias"),
        chat_type=(d.get("group") or {}).get("chatType"),
    )


class SharingReads:
    """Landings, intents and users as other wings may read them (cursors keep the driver's default batches: on
    FerretDB every getMore of a cursor costs more than the last)."""

    def __init__(self, database: Database, names: Collections) -> None:
        self._landings = database[names.share_events]
        self._intents = database[names.share_intents]
        self._users = database[names.users]
        self._changes = database[relationships_collection(names)]
        provision(database, sharing_collections(names))

    def day_landings(self, start: dt.datetime, end: dt.datetime) -> Iterator[Landing]:
        """The landings of [start, end), streamed from their time index."""
        with driver_errors("read the day's landings"):
            for d in self._landings.find({"enteredAt": {"$gte": start, "$lt": end}}, _LANDING_FIELDS):
                yield _landing(d)

    def intents_between(self, start: dt.datetime, until: dt.datetime) -> Iterator[Intent]:
        """Share intents in [start, until), streamed through the time index."""
        with driver_errors("read the share intents"):
            for d in self._intents.find({"at": {"$gte": start, "$lt": until}}, _INTENT_FIELDS):
                yield Intent(
                    sharer=d["sharer"],
                    product=d["productId"],
                    channel=d.get("channel"),
                    at=aware(d["at"]),
                    sharer_openid=d.get("sharerOpenid"),
                )

    def landings_of(self, users: list[str], start: dt.datetime, until: dt.datetime) -> list[Landing]:
        """The landings of these invitees in [start, until] (their candidates for credited orders)."""
        with driver_errors("read the buyers' landings"):
            docs = list(
                self._landings.find(
                    {"invitee": {"$in": users}, "enteredAt": {"$gte": start, "$lte": until}}, _LANDING_FIELDS
                )
            )
        return [_landing(d) for d in docs]

    def users_by_code(self, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
        """code → {openid, inviter}: the code's owner and the code that invited them (None for a seed), through
        the unique index on ``code``, in chunks of IN_LIMIT."""
        wanted, found = sorted(set(codes)), {}
        with driver_errors("read the inviters"):
            for first in range(0, len(wanted), IN_LIMIT):
                for d in self._users.find(
                    {"code": code_matches(wanted[first : first + IN_LIMIT])}, {"code": 1, "binding.inviter": 1}
                ):
                    found[d["code"]] = {"openid": d["_id"], "inviter": (d.get("binding") or {}).get("inviter")}
        return found

    def relationships_of(self, users: Iterable[str]) -> dict[str, list[Period]]:
        """Each user's relationships over time (current one and history; two reads per IN_LIMIT users)."""
        wanted = sorted(set(users))
        bindings: dict[str, Any] = {}
        changes: dict[str, list[dict[str, Any]]] = {user: [] for user in wanted}
        with driver_errors("read the buyers' relationships"):
            for first in range(0, len(wanted), IN_LIMIT):
                part = wanted[first : first + IN_LIMIT]
                for d in self._users.find({"_id": {"$in": part}}, {"binding": 1}):
                    bindings[d["_id"]] = d.get("binding")
                for d in self._changes.find({"invitee": {"$in": part}}, {"_id": 0}).sort("at", 1):
                    changes[d["invitee"]].append(d)
        return {user: periods_of(bindings.get(user), changes[user]) for user in wanted}

    def live_members(self, code: str, now: dt.datetime) -> int:
        """How many users' relationship is ``code``'s and in force now."""
        with driver_errors("count the team"):
            return self._users.count_documents(
                {
                    "binding.inviter": code,
                    "$or": [
                        {"binding.expiresAt": None},
                        {"binding.expiresAt": {"$gt": now}},
                        {"binding.locked": True},
                    ],
                }
            )

    def new_members_by_inviter(self, since: dt.datetime) -> dict[str, int]:
        """Relationships begun since ``since``, per inviter code (the promoters' ranking by members)."""
        with driver_errors("rank the teams"):
            return {
                str(row["_id"]): int(row["n"])
                for row in self._users.aggregate(
                    [
                        {"$match": {"binding.at": {"$gte": since}}},
                        {"$group": {"_id": "$binding.inviter", "n": {"$sum": 1}}},
                    ]
                )
                if row["_id"]
            }

    def record_lapses(self, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> int:
        """Relationships that ran out in [start, end) — and before ``now`` — kept in the history as ``expired``: the
        ones users still hold, and the ones a later re-binding or an admin replaced after they had run out. Idempotent
        (each entry's ``_id`` is derived from it); how many this call added."""
        until = min(end, now)
        if until <= start:
            return 0
        entries: dict[str, dict[str, Any]] = {}
        with driver_errors("read the relationships that ran out"):
            for d in self._users.find(
                {"binding.expiresAt": {"$gte": start, "$lt": until}, "binding.locked": {"$ne": True}}, {"binding": 1}
            ):
                binding = d["binding"]
                if binding.get("inviter"):
                    entry = lapse_entry(d["_id"], binding["inviter"], binding.get("at"), binding["expiresAt"])
                    entries[entry["_id"]] = entry
            for d in self._changes.find(
                {"fromExpiresAt": {"$gte": start, "$lt": until}, "kind": {"$in": [REBOUND, ADMIN]}}
            ):
                if ran_out_before_change(d):
                    entry = lapse_entry(d["invitee"], d["from"], d.get("fromAt"), d["fromExpiresAt"])
                    entries[entry["_id"]] = entry
        if not entries:
            return 0
        with driver_errors("record the relationships that ran out"):
            there = {d["_id"] for d in self._changes.find({"_id": {"$in": sorted(entries)}}, {"_id": 1})}
            missing = [entries[key] for key in sorted(entries) if key not in there]
            for entry in missing:
                try:
                    self._changes.insert_one(entry)
                except DuplicateKeyError:
                    pass  # a concurrent run recorded it
        return len(missing)

    def relationship_day(self, start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
        """Per inviter code, the relationships of [start, end): begun, taken over, lost, run out
        (relationship.count_changes), and ``live`` — in force at ``end``, as the users and the history hold them
        when asked (the current relationships begun before ``end`` and not run out by then, and the replaced ones
        that were still in force at ``end``)."""
        with driver_errors("count the day's relationships"):
            first_sightings = {
                str(row["_id"]): int(row["n"])
                for row in self._landings.aggregate(
                    [
                        {"$match": {"enteredAt": {"$gte": start, "$lt": end}, "newUser": True}},
                        {"$group": {"_id": "$inviter", "n": {"$sum": 1}}},
                    ]
                )
                if row["_id"]
            }
            changes = list(self._changes.find({"at": {"$gte": start, "$lt": end}}, {"_id": 0}))
            counts = count_changes(first_sightings, changes)
            in_force = {
                "$or": [{"binding.expiresAt": None}, {"binding.expiresAt": {"$gt": end}}, {"binding.locked": True}]
            }
            live = [
                (row["_id"], int(row["n"]))
                for row in self._users.aggregate(
                    [
                        {"$match": {"binding.at": {"$lt": end}, **in_force}},
                        {"$group": {"_id": "$binding.inviter", "n": {"$sum": 1}}},
                    ]
                )
            ]
            replaced = [
                (row["_id"], int(row["n"]))
                for row in self._changes.aggregate(
                    [
                        {
                            "$match": {
                                "kind": {"$ne": EXPIRED},
                                "at": {"$gt": end},
                                "fromAt": {"$lt": end},
                                "$or": [{"fromExpiresAt": None}, {"fromExpiresAt": {"$gt": end}}],
                            }
                        },
                        {"$group": {"_id": "$from", "n": {"$sum": 1}}},
                    ]
                )
            ]
        for code, n in live + replaced:
            if code:
                counts.setdefault(str(code), dict.fromkeys(RELATIONSHIP_COUNTS, 0))["live"] += n
        return counts

    def extend_relationships(self, extensions: Iterable[Extension]) -> int:
        """Credited orders keep their relationships alive (BIND_ORDER_EXTEND_DAYS): each one only if it is still that
        relationship (same inviter, same start), not locked, and ends sooner. How many were extended."""
        extended = 0
        with driver_errors("extend relationships"):
            for extension in extensions:
                extended += self._users.update_one(
                    {
                        "_id": extension.invitee,
                        "binding.inviter": extension.inviter,
                        "binding.at": extension.since,
                        "binding.locked": {"$ne": True},
                        "binding.expiresAt": {"$lt": extension.until},
                    },
                    {"$set": {"binding.expiresAt": extension.until}},
                ).modified_count
        return extended

    def inviter_openids(self, codes: Iterable[str]) -> dict[str, str]:
        """code → its owner's openid."""
        return {code: user["openid"] for code, user in self.users_by_code(codes).items()}

    def inviter_code_of(self, openid: str) -> str | None:
        with driver_errors("read the caller's inviter code"):
            doc = self._users.find_one({"_id": openid}, {"code": 1})
        return doc.get("code") if doc else None

    def inviter_names(self, codes: Iterable[str], field: str) -> dict[str, str]:
        """code → the name the app keeps in ``field`` of the users collection (when it is a non-empty string)."""
        wanted, names = sorted(set(codes)), {}
        with driver_errors("read inviter names"):
            for first in range(0, len(wanted), IN_LIMIT):
                for d in self._users.find(
                    {"code": code_matches(wanted[first : first + IN_LIMIT])}, {"code": 1, field: 1}
                ):
                    name = field_at(d, field)
                    if isinstance(name, str) and name.strip():
                        names[d["code"]] = name.strip()[:40]
        return names
