"""Synthetic report rows for a large range (a dev tool, never shipped): what the dashboard test and bench render."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from shared.funnel.definition import TIME_BUCKETS, dates_between

CHANNELS = ("chat", "poster", "moments", "spring-sale", "kol-a")
ENTRIES = ("chat", "group", "code")


def synthetic_rows(first: dt.date, days: int, inviters: int, seed: int = 7) -> list[dict[str, Any]]:
    """Plausible rows: every inviter active on a few days, totals and breakdowns consistent with them."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    last = first + dt.timedelta(days=days - 1)
    for day in dates_between(first, last):
        date = day.isoformat()
        keys = (
            [("total", "*")]
            + [("channel", c) for c in CHANNELS]
            + [("entry", e) for e in ENTRIES]
            + [("product", f"sku-{n}") for n in range(12)]
            + [("group", f"群{n}") for n in range(8)]
            + [("inviter", f"i{n:05d}") for n in rng.sample(range(inviters), k=max(1, inviters // 5))]
        )
        for dim, key in keys:
            scale = 60 if dim == "total" else 8
            sharers = rng.randint(1, scale)
            landings = sharers * rng.randint(1, 6)
            invitees = max(1, landings - rng.randint(0, landings // 3))
            new = rng.randint(0, invitees)
            converters = rng.randint(0, new)
            hist = [0] * (len(TIME_BUCKETS) + 1)
            for _ in range(converters):
                hist[rng.randrange(len(hist))] += 1
            gen1 = rng.randint(0, new)
            rows.append(
                {
                    "_id": f"{date}|{dim}|{key}",
                    "date": date,
                    "dim": dim,
                    "key": key,
                    "intents": sharers + rng.randint(0, 3),
                    "sharers": sharers,
                    "landings": landings,
                    "invitees": invitees,
                    "newUsers": new,
                    "converters": converters,
                    "conversions": converters,
                    "revenue": float(converters * rng.choice((8800, 12800, 16800))),
                    "groupsReached": 0,
                    "sharingInvitees": rng.randint(0, invitees),
                    "generations": {"1": gen1, "2": new - gen1} if new else {},
                    "cascadeDepth": 2 if new - gen1 else (1 if new else 0),
                    "rates": {"kFactor": round(new / sharers, 4)},
                    "timeToConvert": {"histogram": hist},
                    "window": 7,
                    "matured": (last - day).days >= 8,
                }
            )
    return rows
