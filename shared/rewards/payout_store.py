"""The payouts collection and the ledger moves a payout makes — the rewards wing's, like the ledger itself.

Every change is one conditional atomic update from the states it may leave (no multi-document transactions):
``open`` (the inviter's code, only while a payout is open) and ``slot`` (inviter | Shanghai day | n, released when a
payout ends unpaid) are unique, so concurrent withdrawals make one payout and a day allows PAYOUT_DAILY_LIMIT.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from shared.platform.config import Collections
from shared.platform.db import CollectionSpec, driver_errors, index
from shared.platform.documents import Database, DuplicateKeyError
from shared.rewards.ledger import APPROVED, CLAWBACK, PAID, RESERVED

IN_CHUNK = 500  # reward ids per conditional update
OPEN_KEY = {"open": {"$type": "string"}}


def payouts_collection(names: Collections) -> str:
    return f"{names.rewards}_payouts"


def payout_collection_spec(names: Collections) -> CollectionSpec:
    return CollectionSpec(
        payouts_collection(names),
        (
            index("open", name="open_unique", unique=True, partial=OPEN_KEY),  # at most one open payout per inviter
            index("slot", name="slot_unique", unique=True, partial={"slot": {"$type": "string"}}),
            index("inviter", "createdAt", name="inviter_createdAt"),
            index("state", "updatedAt", name="state_updatedAt"),
        ),
    )


class PayoutStore:
    def __init__(self, database: Database, names: Collections) -> None:
        self._payouts = database[payouts_collection(names)]
        self._rewards = database[names.rewards]

    # --- payouts ---------------------------------------------------------------------------------------
    def insert(self, payout: dict[str, Any]) -> bool:
        """False when the inviter already has an open payout or the day's slot is taken (the unique keys)."""
        try:
            with driver_errors("record the payout"):
                self._payouts.insert_one(payout)
        except DuplicateKeyError:
            return False
        return True

    def get(self, payout_id: str) -> dict[str, Any] | None:
        with driver_errors("read the payout"):
            return self._payouts.find_one({"_id": payout_id})

    def open_of(self, inviter: str) -> dict[str, Any] | None:
        with driver_errors("read the open payout"):
            return self._payouts.find_one({"open": inviter})

    def of_inviter(self, inviter: str, offset: int, limit: int) -> list[dict[str, Any]]:
        with driver_errors("read the payouts"):
            return list(
                self._payouts.find({"inviter": inviter}, {"history": 0})
                .sort([("createdAt", -1), ("_id", -1)])
                .skip(offset)
                .limit(limit)
            )

    def in_states(self, states: Iterable[str], before: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """Payouts in ``states`` last changed before ``before``, oldest change first."""
        with driver_errors("read the open payouts"):
            return list(
                self._payouts.find({"state": {"$in": list(states)}, "updatedAt": {"$lt": before}})
                .sort("updatedAt", 1)
                .limit(limit)
            )

    def ledger_unfinished(self, states: Iterable[str], limit: int) -> list[dict[str, Any]]:
        with driver_errors("read the payouts to finish"):
            return list(self._payouts.find({"state": {"$in": list(states)}, "ledger": "pending"}).limit(limit))

    def move(
        self,
        payout_id: str,
        from_states: Iterable[str],
        to: str,
        now: dt.datetime,
        fields: Mapping[str, Any] | None = None,
        unset: Iterable[str] = (),
        note: Mapping[str, Any] | None = None,
    ) -> bool:
        """``from_states`` → ``to`` (with ``fields`` set and ``unset`` removed), only if it is still in one of them."""
        update: dict[str, Any] = {
            "$set": {"state": to, "updatedAt": now, **(fields or {})},
            "$push": {"history": {"state": to, "at": now, **(note or {})}},
        }
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        with driver_errors(f"mark the payout {to}"):
            return (
                self._payouts.update_one({"_id": payout_id, "state": {"$in": list(from_states)}}, update).matched_count
                == 1
            )

    def touch(self, payout_id: str, state: str, now: dt.datetime, fields: Mapping[str, Any]) -> None:
        """Record what was learnt (the bill's state, a check's time) without changing the payout's state."""
        with driver_errors("record the payout's bill"):
            self._payouts.update_one({"_id": payout_id, "state": state}, {"$set": {"updatedAt": now, **fields}})

    def ledger_done(self, payout_id: str, now: dt.datetime) -> None:
        with driver_errors("finish the payout"):
            self._payouts.update_one({"_id": payout_id}, {"$set": {"ledger": "done", "updatedAt": now}})

    # --- the ledger's side ------------------------------------------------------------------------------
    def payable(self, inviter: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The inviter's approved rewards (oldest approval first) and the clawbacks no payout has netted yet."""
        fields = {"amountFen": 1, "amount": 1, "approvedAt": 1, "state": 1}
        with driver_errors("read the payable rewards"):
            rewards = list(
                self._rewards.find({"inviter": inviter, "state": APPROVED}, fields).sort(
                    [("approvedAt", 1), ("_id", 1)]
                )
            )
            clawbacks = list(self._rewards.find({"inviter": inviter, "state": CLAWBACK, "nettedBy": None}, fields))
        return rewards, clawbacks

    def reserve(
        self, payout_id: str, inviter: str, reward_ids: list[str], clawback_ids: list[str], now: dt.datetime
    ) -> None:
        """Approved rewards → reserved for this payout, and the clawbacks netted by it — each only if still free."""
        entry = {"state": RESERVED, "at": now, "by": "payout", "payoutId": payout_id}
        with driver_errors("reserve the rewards"):
            for first in range(0, len(reward_ids), IN_CHUNK):
                self._rewards.update_many(
                    {"_id": {"$in": reward_ids[first : first + IN_CHUNK]}, "inviter": inviter, "state": APPROVED},
                    {"$set": {"state": RESERVED, "payoutId": payout_id, "updatedAt": now}, "$push": {"history": entry}},
                )
            for first in range(0, len(clawback_ids), IN_CHUNK):
                self._rewards.update_many(
                    {"_id": {"$in": clawback_ids[first : first + IN_CHUNK]}, "state": CLAWBACK, "nettedBy": None},
                    {"$set": {"nettedBy": payout_id, "updatedAt": now}},
                )

    def carried(self, payout_id: str) -> list[dict[str, Any]]:
        """What this payout holds: its reserved rewards and the clawbacks it nets (exact fen)."""
        with driver_errors("read the payout's rewards"):
            return list(
                self._rewards.find(
                    {"$or": [{"payoutId": payout_id, "state": RESERVED}, {"nettedBy": payout_id}]},
                    {"amountFen": 1, "amount": 1, "state": 1},
                )
            )

    def pay_reserved(self, payout_id: str, now: dt.datetime) -> int:
        """The payout's rewards are paid: reserved → paid, and its clawbacks are netted for good."""
        entry = {"state": PAID, "at": now, "by": "payout", "payoutId": payout_id}
        with driver_errors("mark the payout's rewards paid"):
            moved = self._rewards.update_many(
                {"payoutId": payout_id, "state": RESERVED},
                {"$set": {"state": PAID, "paidAt": now, "updatedAt": now}, "$push": {"history": entry}},
            ).modified_count
            self._rewards.update_many(
                {"nettedBy": payout_id, "nettedAt": None}, {"$set": {"nettedAt": now, "updatedAt": now}}
            )
        return moved

    def release(self, payout_id: str, now: dt.datetime, reason: str) -> int:
        """The payout ended unpaid: its rewards are approved again and its clawbacks free to net the next one."""
        entry = {"state": APPROVED, "at": now, "by": "payout", "payoutId": payout_id, "reason": reason}
        with driver_errors("release the payout's rewards"):
            moved = self._rewards.update_many(
                {"payoutId": payout_id, "state": RESERVED},
                {
                    "$set": {"state": APPROVED, "updatedAt": now},
                    "$unset": {"payoutId": ""},
                    "$push": {"history": entry},
                },
            ).modified_count
            self._rewards.update_many(
                {"nettedBy": payout_id, "nettedAt": None}, {"$set": {"updatedAt": now}, "$unset": {"nettedBy": ""}}
            )
        return moved
