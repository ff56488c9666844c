"""The reward ledger's MongoDB adapter: every state change is one conditional atomic update (or an insert on a unique
key), so concurrent or repeated settlements converge without transactions (FerretDB has none that roll back)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from shared.orders import OrderMapping, OrderReads
from shared.platform.config import Collections
from shared.platform.db import CollectionSpec, driver_errors, index, provision
from shared.platform.documents import BulkWriteError, Database, DuplicateKeyError
from shared.platform.errors import Unavailable
from shared.platform.lease import DONE, EPOCH, RUNNING, UNTIL, Leases
from shared.rewards.ledger import (
    APPROVED,
    CLAWBACK,
    EARNING,
    LIVE,
    PAID,
    PENDING,
    RESERVED,
    REVERSED,
    TRANSITIONS,
)
from shared.sharing import Extension, Landing, Period, SharingReads


def rewards_collections(names: Collections) -> list[CollectionSpec]:
    """The collections the rewards wing owns: the ledger, the settlement cursor and subscribe-message accepts."""
    return [
        CollectionSpec(
            names.rewards,
            (
                # One reward (and at most one clawback) per (programme, order): the order id is the idempotency key.
                index("programme", "orderId", "kind", name="programme_order_kind", unique=True),
                index("state", "approveAfter", name="state_approveAfter"),
                index("inviter", "day", name="inviter_day"),
                index("inviter", "month", name="inviter_month"),
            ),
        ),
        CollectionSpec(f"{names.rewards}_state"),
        CollectionSpec(f"{names.rewards}_subscriptions"),
    ]


class MongoRewardStore:
    def __init__(
        self, database: Database, names: Collections, orders: OrderMapping, orders_database: Database | None = None
    ) -> None:
        self._rewards = database[names.rewards]
        self._state = database[f"{names.rewards}_state"]
        self._leases = Leases(self._state, "the settlement")
        self._subscriptions = database[f"{names.rewards}_subscriptions"]
        # The app's orders and the sharing wing's landings and users: read through what their wings publish.
        self._orders = OrderReads(database if orders_database is None else orders_database, orders)
        self._sharing = SharingReads(database, names)
        self._database, self._names = database, names

    def ensure_indexes(self) -> None:
        provision(self._database, rewards_collections(self._names))
        self._orders.ensure_indexes()

    # --- the settlement document: the order cursor, the round in progress and its lease --------------------
    def take_lease(
        self, programme: str, owner: str, now: dt.datetime, until: dt.datetime, resume_hash: str | None = None
    ) -> dict[str, Any] | None:
        """The settlement document if this owner now holds the lease, else None. A fresh run takes a lapsed lease; a
        continuation takes the lease its key was issued for, whatever its time (the key is used once). Created by an
        insert first, then leased by a conditional update: concurrent upserts of one document race differently on
        MongoDB (E11000, retried) and FerretDB (a unique-violation OperationFailure), while a plain insert answers
        E11000 on both."""
        key = f"settlement:{programme}"
        try:
            if resume_hash is None:  # a continuation's document exists (and a forged one must write nothing)
                with driver_errors("create the settlement cursor"):
                    self._state.insert_one({"_id": key, UNTIL: EPOCH, "cursorAt": EPOCH, "cursorKey": ""})
        except DuplicateKeyError:
            pass  # it exists (the usual case)
        return self._leases.acquire(
            {"_id": key},
            owner,
            now,
            until,
            set={"status": RUNNING, "heartbeatAt": now},
            unset=("resumeKeyHash",),  # a continuation's key is used once
            handed_over={"resumeKeyHash": resume_hash} if resume_hash else None,
        )

    def settlement_state(self, programme: str) -> dict[str, Any] | None:
        with driver_errors("read the settlement"):
            return self._state.find_one({"_id": f"settlement:{programme}"}, {"resumeKeyHash": 0})

    def advance(self, programme: str, owner: str, at: dt.datetime, key: str) -> None:
        self._owned_update(programme, owner, {"$set": {"cursorAt": at, "cursorKey": key}}, "advance the cursor")

    def save_round(self, programme: str, owner: str, round_: Mapping[str, Any], now: dt.datetime) -> None:
        """The round's progress after a batch (also the heartbeat an admin reads)."""
        self._owned_update(programme, owner, {"$set": {"round": dict(round_), "heartbeatAt": now}}, "save progress")

    def _owned_update(self, programme: str, owner: str, update: dict[str, Any], what: str) -> None:
        self._leases.renew({"_id": f"settlement:{programme}"}, owner, set=update["$set"])

    def end_round(
        self,
        programme: str,
        owner: str,
        status: str,
        fields: Mapping[str, Any],
        keep_until: dt.datetime | None = None,
    ) -> None:
        """This invocation's part ends: ``continuing`` keeps the lease until ``keep_until`` (the continuation's
        grace); anything else gives it back at once. A finished round leaves only ``lastRun``."""
        key = {"_id": f"settlement:{programme}"}
        if keep_until is not None:  # handed on: the lease stays alive for the continuation holding its key
            self._leases.hand_over(key, owner, keep_until, set={"status": status, **fields})
        else:
            unset = ("round", "lastError") if status == DONE else ()
            self._leases.end(key, owner, {"status": status, **fields}, unset=unset)

    # --- reads ------------------------------------------------------------------------------------------
    def paid_orders_after(self, at: dt.datetime, key: str, until: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """The next paid orders by (time, id) after the cursor, up to ``until``."""
        return self._orders.paid_orders_after(at, key, until, limit)

    def order_fields(self, doc: Mapping[str, Any]) -> tuple[str, str | None, dt.datetime, float]:
        order = self._orders.order_of(doc)
        return order.order_id, order.user, order.at, order.amount

    def landings_of(self, users: list[str], start: dt.datetime, until: dt.datetime) -> list[Landing]:
        return self._sharing.landings_of(users, start, until)

    def relationships_of(self, users: Iterable[str]) -> dict[str, list[Period]]:
        return self._sharing.relationships_of(users)

    def extend_relationships(self, extensions: Iterable[Extension]) -> int:
        return self._sharing.extend_relationships(extensions)

    def inviter_code_of(self, openid: str) -> str | None:
        return self._sharing.inviter_code_of(openid)

    def inviter_openids(self, codes: Iterable[str]) -> dict[str, str]:
        return self._sharing.inviter_openids(codes)

    def still_paid(self, order_keys: list[Any]) -> set[str]:
        """Which of these orders still exist with a paid status (the rest were refunded or cancelled)."""
        return self._orders.still_paid(order_keys)

    def live_counts(self, inviters: Iterable[str], months: Iterable[str]) -> dict[tuple[str, str], int]:
        """The inviters' live (pending, approved, paid) rewards per Shanghai day and per month of ``months``, keyed
        ``(inviter, "YYYY-MM-DD")`` and ``(inviter, "YYYY-MM")``: one aggregation for a whole batch."""
        counts: dict[tuple[str, str], int] = {}
        with driver_errors("count the inviters' rewards"):
            groups = list(
                self._rewards.aggregate(
                    [
                        {
                            "$match": {
                                "inviter": {"$in": sorted(set(inviters))},
                                "month": {"$in": sorted(set(months))},
                                "state": {"$in": list(LIVE)},
                            }
                        },
                        {"$group": {"_id": {"inviter": "$inviter", "day": "$day"}, "n": {"$sum": 1}}},
                    ]
                )
            )
        for group in groups:
            inviter, day = group["_id"]["inviter"], group["_id"]["day"]
            counts[(inviter, day)] = counts.get((inviter, day), 0) + group["n"]
            counts[(inviter, day[:7])] = counts.get((inviter, day[:7]), 0) + group["n"]
        return counts

    def settled_counts(self, inviters: Iterable[str]) -> dict[str, tuple[int, int]]:
        """Per inviter, (approved + paid + reversed, reversed): how refund-heavy their converters are — one
        aggregation for a whole run's inviters (a count per inviter cost FerretDB ~10 ms each)."""
        counts: dict[str, list[int]] = {inviter: [0, 0] for inviter in inviters}
        with driver_errors("count the inviters' settled rewards"):
            groups = list(
                self._rewards.aggregate(
                    [
                        {
                            "$match": {
                                "inviter": {"$in": sorted(counts)},
                                "state": {"$in": [APPROVED, RESERVED, PAID, REVERSED]},
                            }
                        },
                        {"$group": {"_id": {"inviter": "$inviter", "state": "$state"}, "n": {"$sum": 1}}},
                    ]
                )
            )
        for group in groups:
            tally = counts[group["_id"]["inviter"]]
            tally[0] += group["n"]
            if group["_id"]["state"] == REVERSED:
                tally[1] += group["n"]
        return {inviter: (settled, reversed_) for inviter, (settled, reversed_) in counts.items()}

    def due(self, states: list[str], now: dt.datetime, limit: int, matured_only: bool) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"state": {"$in": states}}
        if matured_only:
            query["approveAfter"] = {"$lte": now}
        with driver_errors("read rewards to settle"):
            return list(self._rewards.find(query, {"history": 0}).sort("approveAfter", 1).limit(limit))

    def paid_not_clawed(self, since: dt.datetime, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Paid rewards on orders since ``since`` not yet clawed back, a page at a time in id order."""
        query: dict[str, Any] = {"state": PAID, "clawedBack": {"$ne": True}, "orderAt": {"$gte": since}}
        if after is not None:
            query["_id"] = {"$gt": after}
        with driver_errors("read paid rewards"):
            return list(self._rewards.find(query, {"history": 0}).sort("_id", 1).limit(limit))

    def open_rewards_after(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Pending and approved rewards (their orders may still be refunded), a page at a time in id order."""
        query: dict[str, Any] = {"state": {"$in": [PENDING, APPROVED]}}
        if after is not None:
            query["_id"] = {"$gt": after}
        with driver_errors("read open rewards"):
            return list(self._rewards.find(query, {"history": 0}).sort("_id", 1).limit(limit))

    def rewards_of(self, inviter: str, limit: int = 50) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with driver_errors("read the inviter's rewards"):
            every = list(
                self._rewards.find(
                    {"inviter": inviter},
                    {"amount": 1, "amountFen": 1, "state": 1, "invitee": 1, "createdAt": 1, "nettedBy": 1},
                )
            )
            latest = list(
                self._rewards.find({"inviter": inviter}, {"history": 0, "orderKey": 0, "inviterOpenid": 0})
                .sort("createdAt", -1)
                .limit(limit)
            )
        return every, latest

    def credited_orders(self, inviter: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """A page of the inviter's rewarded orders, newest order first (no buyer identity is read)."""
        with driver_errors("read the inviter's orders"):
            return list(
                self._rewards.find(
                    {"inviter": inviter, "kind": "reward"},
                    {"orderAt": 1, "productId": 1, "orderAmount": 1, "state": 1, "amountFen": 1, "amount": 1},
                )
                .sort([("orderAt", -1), ("_id", -1)])
                .skip(offset)
                .limit(limit)
            )

    def earned_since(self, since: dt.datetime) -> dict[str, int]:
        """Whole fen earned per inviter on rewards created since ``since`` (the promoters' ranking by earnings)."""
        with driver_errors("rank the earnings"):
            return {
                str(row["_id"]): int(row["fen"])
                for row in self._rewards.aggregate(
                    [
                        {"$match": {"createdAt": {"$gte": since}, "state": {"$in": list(EARNING)}}},
                        {"$group": {"_id": "$inviter", "fen": {"$sum": "$amountFen"}}},
                    ]
                )
            }

    def live_members(self, code: str, now: dt.datetime) -> int:
        return self._sharing.live_members(code, now)

    def new_members_by_inviter(self, since: dt.datetime) -> dict[str, int]:
        return self._sharing.new_members_by_inviter(since)

    def totals_by_inviter(self) -> list[dict[str, Any]]:
        """Exact amounts (whole fen, ``fen``) and counts per (inviter, state): the report's rewards per inviter and the
        programme's liability. Sums add ``amountFen`` (integers), never the display amount."""
        with driver_errors("total the ledger"):
            return list(
                self._rewards.aggregate(
                    [
                        {
                            "$group": {
                                "_id": {"inviter": "$inviter", "state": "$state"},
                                "fen": {"$sum": "$amountFen"},
                                "count": {"$sum": 1},
                            }
                        }
                    ]
                )
            )

    def export(self, state: str) -> list[dict[str, Any]]:
        with driver_errors("export rewards"):
            return list(
                self._rewards.find(
                    # With approved rewards, the clawbacks no payout has netted yet.
                    {"$or": [{"state": state}, {"state": CLAWBACK, "nettedBy": None}]}
                    if state == APPROVED
                    else {"state": state},
                    {"history": 0, "orderKey": 0},
                )
            )

    # --- writes: inserts on unique keys, conditional transitions -----------------------------------------
    def existing_rewards(self, ids: list[str]) -> set[str]:
        with driver_errors("read existing rewards"):
            return {d["_id"] for d in self._rewards.find({"_id": {"$in": ids}}, {"_id": 1})}

    def insert_many(self, docs: list[dict[str, Any]]) -> set[str]:
        """One bulk insert (unordered); the ids this call created. An entry that already exists (a replayed or
        concurrent settlement) is left as it is; any other conflict is a real failure."""
        if not docs:
            return set()
        failure: BulkWriteError | None = None
        with driver_errors("record rewards"):
            try:
                self._rewards.insert_many([dict(doc) for doc in docs], ordered=False)
            except BulkWriteError as exc:
                failure = exc
        if failure is None:
            return {doc["_id"] for doc in docs}
        errors = failure.details.get("writeErrors", [])
        failed = {docs[error["index"]]["_id"] for error in errors}
        present = self.existing_rewards(sorted(failed)) if failed else set()
        if any(error.get("code") != 11000 for error in errors) or failed - present:
            raise Unavailable("a reward conflicted with another index") from failure  # not ours: a real failure
        return {doc["_id"] for doc in docs} - failed

    def transition(
        self,
        reward_id: str,
        to: str,
        now: dt.datetime,
        by: str,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """``from`` → ``to`` only if the reward is still in one of the expected states; False otherwise."""
        with driver_errors(f"mark a reward {to}"):
            result = self._rewards.update_one(
                {"_id": reward_id, "state": {"$in": list(TRANSITIONS[to])}},
                _transition_update(to, now, by, reason, extra),
            )
        return result.modified_count == 1

    def transition_many(
        self,
        reward_ids: list[str],
        to: str,
        now: dt.datetime,
        by: str,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> int:
        """``transition`` for many rewards in one conditional update; how many moved."""
        if not reward_ids:
            return 0
        with driver_errors(f"mark rewards {to}"):
            result = self._rewards.update_many(
                {"_id": {"$in": reward_ids}, "state": {"$in": list(TRANSITIONS[to])}},
                _transition_update(to, now, by, reason, extra),
            )
        return result.modified_count

    def mark_clawed(self, reward_ids: list[str], now: dt.datetime) -> int:
        with driver_errors("mark rewards clawed back"):
            result = self._rewards.update_many(
                {"_id": {"$in": reward_ids}, "state": PAID, "clawedBack": {"$ne": True}},
                {"$set": {"clawedBack": True, "updatedAt": now}},
            )
        return result.modified_count

    def paid_ids(self, ids: list[str] | None, approved_before: dt.datetime | None, limit: int) -> list[str]:
        query: dict[str, Any] = {"state": APPROVED}
        if ids is not None:
            query["_id"] = {"$in": ids}
        if approved_before is not None:
            query["approvedAt"] = {"$lt": approved_before}
        with driver_errors("find rewards to mark paid"):
            return [d["_id"] for d in self._rewards.find(query, {"_id": 1}).limit(limit)]

    # --- subscribe-message accepts: one accept = one send, counted here ----------------------------------
    def add_accepts(self, openid: str, templates: list[str], now: dt.datetime) -> None:
        with driver_errors("count subscription accepts"):
            for template in templates:
                self._subscriptions.update_one(
                    {"_id": f"{openid}:{template}"}, {"$inc": {"accepts": 1}, "$set": {"updatedAt": now}}, upsert=True
                )

    def take_accept(self, openid: str, template: str) -> bool:
        with driver_errors("use a subscription accept"):
            result = self._subscriptions.update_one(
                {"_id": f"{openid}:{template}", "accepts": {"$gt": 0}}, {"$inc": {"accepts": -1}}
            )
        return result.modified_count == 1

    def give_back_accept(self, openid: str, template: str) -> None:
        with driver_errors("return a subscription accept"):
            self._subscriptions.update_one({"_id": f"{openid}:{template}"}, {"$inc": {"accepts": 1}})

    def claim_notice(self, reward_id: str, now: dt.datetime) -> bool:
        """At most one notice per reward: only the call that moves it from none/retry to "sending" may send."""
        with driver_errors("claim a reward notice"):
            result = self._rewards.update_one(
                {
                    "_id": reward_id,
                    "state": APPROVED,
                    "$or": [{"notice": {"$exists": False}}, {"notice.state": "retry"}],
                },
                {"$set": {"notice": {"state": "sending", "at": now}}},
            )
        return result.modified_count == 1

    def finish_notice(self, reward_id: str, state: str, now: dt.datetime, code: int | None = None) -> None:
        with driver_errors("record a reward notice"):
            self._rewards.update_one(
                {"_id": reward_id, "notice.state": "sending"},
                {"$set": {"notice": {"state": state, "at": now, **({"errcode": code} if code else {})}}},
            )


def _transition_update(
    to: str, now: dt.datetime, by: str, reason: str | None, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    entry = {"state": to, "at": now, "by": by, **({"reason": reason} if reason else {})}
    update: dict[str, Any] = {"$set": {"state": to, "updatedAt": now, **(extra or {})}, "$push": {"history": entry}}
    if reason:
        update["$set"]["reason"] = reason
    return update
