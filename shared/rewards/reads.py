"""What the rewards wing publishes of its ledger: exact earnings per inviter, in whole fen. The ledger is read and
written only by this wing; the funnel's dashboard reads earnings through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from shared.platform.config import Collections
from shared.platform.db import driver_errors
from shared.platform.documents import Database
from shared.rewards.ledger import EARNING

IN_LIMIT = 2000  # inviter codes asked for in one aggregation


class RewardReads:
    def __init__(self, database: Database, names: Collections) -> None:
        self._rewards = database[names.rewards]

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
