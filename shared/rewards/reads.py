"""What the rewards wing publishes of its ledger and payouts: exact earnings per inviter and payouts per state, in
whole fen. Both are read and written only by this wing; the funnel's dashboard reads them through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from shared.platform.config import Collections
from shared.platform.db import driver_errors
from shared.platform.documents import Database
from shared.rewards.ledger import EARNING
from shared.rewards.payout_store import payouts_collection

IN_LIMIT = 2000  # inviter codes asked for in one aggregation


class RewardReads:
    def __init__(self, database: Database, names: Collections) -> None:
        self._rewards = database[names.rewards]
        self._payouts = database[payouts_collection(names)]

    def earned_fen(self, codes: Iterable[str], start: dt.datetime, end: dt.datetime) -> dict[str, int]:
        """code → whole fen earned on orders placed in [start, end): the entries that earn (pending, approved, paid)
        net of clawbacks; rejected and reversed ones earned nothing. Summed by the server as integers."""
        wanted, totals = sorted(set(codes)), {}
        with driver_errors("read the rewards"):
            for first in range(0, len(wanted), IN_LIMIT):
                for d in self._rewards.aggregate(
                    [
                        {
                            "$match": {
                                "inviter": {"$in": wanted[first : first + IN_LIMIT]},
                                "orderAt": {"$gte": start, "$lt": end},
                                "state": {"$in": list(EARNING)},
                            }
                        },
                        {"$group": {"_id": "$inviter", "fen": {"$sum": "$amountFen"}}},
                    ]
                ):
                    totals[str(d["_id"])] = int(d["fen"])
        return totals

    def payout_totals(self, start: dt.datetime, end: dt.datetime) -> dict[str, dict[str, int]]:
        """Payouts made in [start, end) per state: how many, and their whole fen (summed by the server)."""
        with driver_errors("read the payouts"):
            return {
                str(d["_id"]): {"count": int(d["count"]), "fen": int(d["fen"])}
                for d in self._payouts.aggregate(
                    [
                        {"$match": {"createdAt": {"$gte": start, "$lt": end}}},
                        {"$group": {"_id": "$state", "count": {"$sum": 1}, "fen": {"$sum": "$amountFen"}}},
                    ]
                )
            }
