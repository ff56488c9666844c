"""The reward ledger's MongoDB adapter: every state change is one conditional atomic update (or an insert on a unique
key), so concurrent or repeated settlements converge without transactions (FerretDB has none that roll back)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared.funnel import ORDERS_TIME_INDEX, Landing, OrderMapping, orders_collection
from shared.platform.config import Collections
from shared.platform.db import CollectionSpec, aware, code_matches, driver_errors, field_at, index, provision
from shared.platform.errors import Unavailable
from shared.rewards.ledger import APPROVED, CLAWBACK, LIVE, PAID, REVERSED, TRANSITIONS

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


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
    def __init__(self, database: Any, names: Collections, orders: OrderMapping, orders_database: Any = None) -> None:
        self._rewards = database[names.rewards]
        self._state = database[f"{names.rewards}_state"]
        self._subscriptions = database[f"{names.rewards}_subscriptions"]
        self._orders_database = database if orders_database is None else orders_database
        self._orders = self._orders_database[orders.collection]
        self._landings = database[names.share_events]
        self._users = database[names.users]
        self._mapping = orders
        self._database, self._names = database, names

    def ensure_indexes(self) -> None:
        provision(self._database, rewards_collections(self._names))
        provision(self._orders_database, [orders_collection(self._mapping)])

    # --- the settlement cursor, with a lease so one run settles at a time ---------------------------------
    def take_lease(self, programme: str, owner: str, now: dt.datetime, until: dt.datetime) -> dict[str, Any] | None:
        """The cursor document if this owner now holds the lease, else None. Created by an insert first, then leased
        by a conditional update: concurrent upserts of one document race differently on MongoDB (E11000, retried)
        and FerretDB (a unique-violation OperationFailure), while a plain insert answers E11000 on both."""
        key = f"settlement:{programme}"
        try:
            with driver_errors("create the settlement cursor"):
                self._state.insert_one({"_id": key, "leaseUntil": EPOCH, "cursorAt": EPOCH, "cursorKey": ""})
        except DuplicateKeyError:
            pass  # it exists (the usual case)
        with driver_errors("lease the settlement"):
            return self._state.find_one_and_update(
                {"_id": key, "leaseUntil": {"$lt": now}},
                {"$set": {"leaseOwner": owner, "leaseUntil": until}},
                return_document=ReturnDocument.AFTER,
            )

    def advance(self, programme: str, owner: str, at: dt.datetime, key: str) -> None:
        with driver_errors("advance the settlement cursor"):
            result = self._state.update_one(
                {"_id": f"settlement:{programme}", "leaseOwner": owner}, {"$set": {"cursorAt": at, "cursorKey": key}}
            )
        if result.matched_count != 1:
            raise Unavailable("the settlement lease was lost")

    def release(self, programme: str, owner: str, fields: Mapping[str, Any]) -> None:
        with driver_errors("release the settlement"):
            self._state.update_one(
                {"_id": f"settlement:{programme}", "leaseOwner": owner}, {"$set": {"leaseUntil": EPOCH, **fields}}
            )

    # --- reads ------------------------------------------------------------------------------------------
    def paid_orders_after(self, at: dt.datetime, key: str, until: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """The next qualifying orders by (time, id) after the cursor, up to ``until``."""
        m = self._mapping
        query: dict[str, Any] = {m.time_field: {"$gte": at, "$lte": until}}
        if m.status_field:
            query[m.status_field] = {"$in": list(m.paid_values)}
        with driver_errors("read orders to settle"):
            docs = list(
                self._orders.find(query, {"_id": 1, m.user_field: 1, m.time_field: 1, m.amount_field: 1})
                .sort([(m.time_field, 1), ("_id", 1)])
                .limit(limit + 200)
                .hint(ORDERS_TIME_INDEX)
            )
        after = [d for d in docs if (aware(field_at(d, m.time_field)), str(d["_id"])) > (at, key)]
        return after[:limit]

    def order_fields(self, doc: Mapping[str, Any]) -> tuple[str, str | None, dt.datetime, float]:
        m = self._mapping
        amount = field_at(doc, m.amount_field)
        amount = float(amount) if isinstance(amount, (int, float)) and not isinstance(amount, bool) else 0.0
        return str(doc["_id"]), field_at(doc, m.user_field), aware(field_at(doc, m.time_field)), amount

    def landings_of(self, users: list[str], start: dt.datetime, until: dt.datetime) -> list[Landing]:
        with driver_errors("read the buyers' landings"):
            docs = list(
                self._landings.find(
                    {"invitee": {"$in": users}, "enteredAt": {"$gte": start, "$lte": until}},
                    {"_id": 0, "inviter": 1, "invitee": 1, "productId": 1, "enteredAt": 1, "newUser": 1},
                )
            )
        return [
            Landing(
                inviter=d["inviter"],
                invitee=d["invitee"],
                product=d["productId"],
                channel=None,
                entry=None,
                at=aware(d["enteredAt"]),
                new_user=d.get("newUser") is True,
            )
            for d in docs
        ]

    def inviter_code_of(self, openid: str) -> str | None:
        with driver_errors("read the caller's inviter code"):
            doc = self._users.find_one({"_id": openid}, {"code": 1})
        return doc.get("code") if doc else None

    def inviter_openids(self, codes: Iterable[str]) -> dict[str, str]:
        with driver_errors("look up inviters"):
            return {
                d["code"]: d["_id"] for d in self._users.find({"code": code_matches(sorted(set(codes)))}, {"code": 1})
            }

    def still_paid(self, order_keys: list[Any]) -> set:
        """Which of these orders still exist with a paid status (the rest were refunded or cancelled)."""
        m = self._mapping
        query: dict[str, Any] = {"_id": {"$in": order_keys}}
        if m.status_field:
            query[m.status_field] = {"$in": list(m.paid_values)}
        with driver_errors("check orders"):
            return {str(d["_id"]) for d in self._orders.find(query, {"_id": 1})}

    def live_count(self, inviter: str, period: str, value: str) -> int:
        """The inviter's live (pending, approved, paid) rewards in one Shanghai ``day`` or ``month``."""
        with driver_errors("count the inviter's rewards"):
            return self._rewards.count_documents({"inviter": inviter, period: value, "state": {"$in": list(LIVE)}})

    def settled_counts(self, inviters: Iterable[str]) -> dict[str, tuple[int, int]]:
        """Per inviter, (approved + paid + reversed, reversed): how refund-heavy their converters are — one
        aggregation for a whole run's inviters (a count per inviter cost FerretDB ~10 ms each)."""
        counts: dict[str, list[int]] = {inviter: [0, 0] for inviter in inviters}
        with driver_errors("count the inviters' settled rewards"):
            groups = list(
                self._rewards.aggregate(
                    [
                        {"$match": {"inviter": {"$in": sorted(counts)}, "state": {"$in": [APPROVED, PAID, REVERSED]}}},
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

    def paid_not_clawed(self, since: dt.datetime, limit: int) -> list[dict[str, Any]]:
        with driver_errors("read paid rewards"):
            return list(
                self._rewards.find(
                    {"state": PAID, "clawedBack": {"$ne": True}, "orderAt": {"$gte": since}}, {"history": 0}
                )
                .sort("orderAt", 1)
                .limit(limit)
            )

    def rewards_of(self, inviter: str, limit: int = 50) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with driver_errors("read the inviter's rewards"):
            every = list(
                self._rewards.find({"inviter": inviter}, {"amount": 1, "amountFen": 1, "state": 1, "invitee": 1})
            )
            latest = list(
                self._rewards.find({"inviter": inviter}, {"history": 0, "orderKey": 0, "inviterOpenid": 0})
                .sort("createdAt", -1)
                .limit(limit)
            )
        return every, latest

    def totals_by_inviter(self) -> list[dict[str, Any]]:
        """Amount and count per (inviter, state): the report's rewards per inviter and the programme's liability."""
        with driver_errors("total the ledger"):
            return list(
                self._rewards.aggregate(
                    [
                        {
                            "$group": {
                                "_id": {"inviter": "$inviter", "state": "$state"},
                                "amount": {"$sum": "$amount"},
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
                    {"state": {"$in": [state, CLAWBACK] if state == APPROVED else [state]}},
                    {"history": 0, "orderKey": 0},
                )
            )

    # --- writes: inserts on unique keys, conditional transitions -----------------------------------------
    def insert(self, doc: dict[str, Any]) -> bool:
        """True when this call created the ledger entry; False when it already exists (a replayed settlement)."""
        try:
            with driver_errors("record a reward"):
                self._rewards.insert_one(doc)
            return True
        except DuplicateKeyError as exc:
            with driver_errors("read an existing reward"):
                if self._rewards.find_one({"_id": doc["_id"]}, {"_id": 1}) is not None:
                    return False
            raise Unavailable("a reward conflicted with another index") from exc  # not ours: a real failure

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
        entry = {"state": to, "at": now, "by": by, **({"reason": reason} if reason else {})}
        update: dict[str, Any] = {"$set": {"state": to, "updatedAt": now, **(extra or {})}, "$push": {"history": entry}}
        if reason:
            update["$set"]["reason"] = reason
        with driver_errors(f"mark a reward {to}"):
            result = self._rewards.update_one({"_id": reward_id, "state": {"$in": list(TRANSITIONS[to])}}, update)
        return result.modified_count == 1

    def mark_clawed(self, reward_id: str, now: dt.datetime) -> bool:
        with driver_errors("mark a reward clawed back"):
            result = self._rewards.update_one(
                {"_id": reward_id, "state": PAID, "clawedBack": {"$ne": True}},
                {"$set": {"clawedBack": True, "updatedAt": now}},
            )
        return result.modified_count == 1

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
