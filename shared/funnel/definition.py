"""The funnel: one definition, used by dailyFunnel, the ops CLI and the report.

Cohort = the landing's day in Asia/Shanghai (fixed +08:00, no DST). For each day and each value of each
dimension (``total``, ``inviter``, ``channel``, ``entry``, ``product``, ``group``, ``chatType``):

* ``intents`` / ``sharers`` — share intents that day (totals / unique sharers). Intents carry no launch
  scene, so the ``entry`` rows have none.
* ``landings`` — landing records; ``invitees`` — unique invitees among them.
* ``newUsers`` — invitees whose first sighting was one of these landings.
* ``group`` / ``chatType`` dimensions — the WeChat group (by alias) or single chat a landing was opened from, as
  recordShare resolved it server-side (``(none)``: no group was sent or it could not be read); ``groupsReached`` —
  distinct groups among the row's landings (per inviter: "how many of my groups did my shares reach").
* ``converters`` / ``conversions`` / ``revenue`` — credited orders: an order by the invitee at most
  ``window`` days after the credited landing (``0 ≤ order − landing ≤ window``). The credited landing is
  the user's first-touch landing (``first_touch``) or their latest landing before the order
  (``last_touch``). One order is credited to at most one landing, so to at most one inviter; it counts in
  the cohort (day) of that landing.
* ``rates`` — ``landingsPerIntent`` = landings / intents, ``newUserRate`` = newUsers / invitees,
  ``conversionRate`` = converters / invitees (null when the denominator is 0).
* ``timeToConvert`` — median and p90 (nearest rank) over converters of the time from the credited
  landing to their first credited order, in seconds.
* ``matured`` — the whole window has passed for every landing of the day, so low numbers are drop-off,
  not youth.

The viral loop (what none of the usual funnel tools measure):

* ``generations`` / ``cascadeDepth`` — a new user's generation is 1 + their inviter's, and a user nobody invited
  (a seed sharer) is generation 0: a seed's invitees are generation 1, and an invitee who goes on to share
  brings in generation 2, and so on. ``generations`` counts the row's new users per generation;
  ``cascadeDepth`` is the deepest one (0 without new users).
* ``sharingInvitees`` — the row's invitees who shared themselves within the window after the landing day began.
* ``rates.kFactor`` = newUsers / sharers — new users acquired through shares per active sharer that day;
  ``rates.reproductionRate`` = sharingInvitees / sharers — how many new sharers each sharer produced;
  ``rates.gen2PlusShare`` = new users of generation ≥ 2 / newUsers — how much growth came from invitees' shares.
* ``timeToConvert.histogram`` — converters per delay bucket (``TIME_BUCKETS``), so a range's distribution is
  the sum of its days'.

Customer relationships (锁客; the sharing wing decides them, shared/sharing/relationship.py), on the ``total`` and
``inviter`` rows only, as ``relationships``: ``new`` begun that day (first sightings, re-bindings after an end, an
admin's), ``taken`` over from another inviter, ``lost`` to another inviter or an admin, ``expired`` (ran out that
day), and ``live`` — in force at the day's end.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The calendar and the credit rule live in platform and sharing (the reward ledger uses them too); the funnel's
# modules find them here as they always have.
from shared.platform.calendar import FIRST_SUPPORTED_DATE as FIRST_SUPPORTED_DATE
from shared.platform.calendar import SHANGHAI as SHANGHAI
from shared.platform.calendar import dates_between as dates_between
from shared.platform.calendar import day_bounds as day_bounds
from shared.platform.calendar import parse_date as parse_date
from shared.platform.calendar import shanghai_date as shanghai_date
from shared.platform.money import exact_sum
from shared.sharing import NONE_KEY as NONE_KEY
from shared.sharing import RELATIONSHIP_COUNTS
from shared.sharing import TOTAL_KEY as TOTAL_KEY
from shared.sharing import FirstTouch as FirstTouch
from shared.sharing import Intent as Intent
from shared.sharing import Landing as Landing
from shared.sharing import Order as Order
from shared.sharing import credit_orders as credit_orders
from shared.sharing import first_touches_of as first_touches_of

DIMENSIONS = ("total", "inviter", "channel", "entry", "product", "group", "chatType")
STEPS = ("intents", "landings", "invitees", "newUsers", "converters")
VOLATILE_FIELDS = ("computedAt", "runId")
GROUP_CHATS = ("group", "wecom_group")  # chat types that are groups (single chats have a room, not a group)
MAX_GENERATION = 64  # a longer inviter chain is cut here (chains cannot loop: a binding is older than its user)
# Upper bounds (seconds) of the time-to-convert buckets; the last bucket is open-ended.
TIME_BUCKETS = (3600, 6 * 3600, 24 * 3600, 3 * 86400, 7 * 86400)


# --- days ------------------------------------------------------------------------------------------------
def trailing_dates(now: dt.datetime, window_days: int, late_days: int) -> list[dt.date]:
    """The days a daily run recomputes: window + late tolerance, ending yesterday (Shanghai)."""
    yesterday = shanghai_date(now) - dt.timedelta(days=1)
    return dates_between(yesterday - dt.timedelta(days=window_days + late_days - 1), yesterday)


# --- inputs ----------------------------------------------------------------------------------------------
Groups = dict[str, dict[str, dict[str, int]]]


_LANDING_KEY = {
    "total": lambda landing: TOTAL_KEY,
    "inviter": lambda landing: landing.inviter,
    "channel": lambda landing: landing.channel or NONE_KEY,
    "entry": lambda landing: landing.entry or NONE_KEY,
    "product": lambda landing: landing.product,
    "group": lambda landing: landing.group or NONE_KEY,
    "chatType": lambda landing: landing.chat_type or NONE_KEY,
}


def group_landings(landings: Iterable[Landing], by_invitee: dict[str, list[Landing]]) -> Groups:
    """``[dim][key]`` → {landings, invitees, newUsers, groupsReached}: landing records, unique invitees, invitees
    with a ``newUser`` landing, and distinct groups (group chats only) — over one pass of the day's landings,
    filling ``by_invitee`` with each invitee's landings of the day (the candidates for credited orders).

    Most invitees land once a day, and for them a landing *is* a distinct invitee: they are counted with
    ``Counter`` (C speed); only invitees with several landings need de-duplication per key."""
    for landing in landings:
        by_invitee.setdefault(landing.invitee, []).append(landing)
    singles = [own[0] for own in by_invitee.values() if len(own) == 1]
    repeats = [own for own in by_invitee.values() if len(own) > 1]
    in_groups = [
        landing for own in by_invitee.values() for landing in own if landing.group and landing.chat_type in GROUP_CHATS
    ]
    groups: Groups = {}
    for dim, key_of in _LANDING_KEY.items():
        keys = [key_of(landing) for landing in singles]
        landed = Counter(keys)
        invitees = Counter(landed)
        new = Counter(key for key, landing in zip(keys, singles, strict=True) if landing.new_user)
        for own in repeats:
            landed.update(key_of(landing) for landing in own)
            invitees.update({key_of(landing) for landing in own})
            new.update({key_of(landing) for landing in own if landing.new_user})
        reached: dict[str, set] = defaultdict(set)
        for landing in in_groups:
            reached[key_of(landing)].add(landing.group)
        groups[dim] = {
            key: {
                "landings": count,
                "invitees": invitees[key],
                "newUsers": new[key],
                "groupsReached": len(reached.get(key, ())),
            }
            for key, count in landed.items()
        }
    return groups


def group_intents(intents: Iterable[Intent]) -> Groups:
    """``[dim][key]`` → {intents, sharers}: share intents and unique sharers, over one pass of the day's intents."""
    counts: dict[tuple[str, str], list[Any]] = {}
    for intent in intents:
        for dim, key in intent.keys().items():
            bucket = counts.get((dim, key))
            if bucket is None:
                bucket = counts[(dim, key)] = [0, set()]
            bucket[0] += 1
            bucket[1].add(intent.sharer)
    groups: Groups = defaultdict(dict)
    for (dim, key), (intended, sharers) in counts.items():
        groups[dim][key] = {"intents": intended, "sharers": len(sharers)}
    return dict(groups)


# --- the viral loop ----------------------------------------------------------------------------------------
def generations_of(inviter_codes: Iterable[str], inviter_of: Any) -> dict[str, int]:
    """Each inviter code's generation: 0 for a seed (a user nobody invited), else 1 + their inviter's.
    ``inviter_of(codes)`` → {code: the code that invited its owner, or None} (one batched lookup per level)."""
    parent: dict[str, str | None] = {}
    frontier = set(inviter_codes)
    for _ in range(MAX_GENERATION):
        frontier -= set(parent)
        if not frontier:
            break
        found = inviter_of(sorted(frontier))
        for code in frontier:
            parent[code] = found.get(code)
        frontier = {code for code in parent.values() if code}
    generation: dict[str, int] = {}
    for code in parent:
        chain: list[str] = []
        cursor: str | None = code
        while cursor and cursor not in generation and len(chain) < MAX_GENERATION:
            chain.append(cursor)
            cursor = parent.get(cursor)
        depth = generation.get(cursor, -1) if cursor else -1
        for link in reversed(chain):
            depth = min(depth + 1, MAX_GENERATION)
            generation[link] = depth
    return generation


def shared_in_window(intent_at: dt.datetime, day_start: dt.datetime, window: dt.timedelta) -> bool:
    """Whether a share counts for a landing day's viral loop: within the window from the landing day's start
    (``day_start ≤ share < day_start + window``), whichever hour of that day the landing was."""
    return day_start <= intent_at < day_start + window


def group_viral(
    by_invitee: Mapping[str, list[Landing]], sharing_invitees: Iterable[str], inviter_generation: Mapping[str, int]
) -> Groups:
    """``[dim][key]`` → {sharingInvitees, generations}: invitees who went on to share, and new users per
    generation (1 + their inviter's), over the day's landings grouped by invitee (counted with ``Counter``, as
    group_landings does: a new user has one newUser landing)."""
    shared: dict[tuple[str, str], set] = defaultdict(set)
    for invitee in sharing_invitees:
        for landing in by_invitee.get(invitee, ()):
            for dim, key_of in _LANDING_KEY.items():
                shared[(dim, key_of(landing))].add(invitee)
    new = [landing for own in by_invitee.values() for landing in own if landing.new_user]
    generation_of = [str(inviter_generation.get(landing.inviter, 0) + 1) for landing in new]
    groups: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for dim, key_of in _LANDING_KEY.items():
        per_key: dict[str, dict[str, int]] = defaultdict(dict)
        for (key, generation), count in Counter(zip(map(key_of, new), generation_of, strict=True)).items():
            per_key[key][generation] = count
        for key in set(per_key) | {key for d, key in shared if d == dim}:
            groups[dim][key] = {
                "sharingInvitees": len(shared.get((dim, key), ())),
                "generations": dict(sorted(per_key.get(key, {}).items(), key=lambda i: int(i[0]))),
            }
    return dict(groups)


def time_histogram(delays: Iterable[float]) -> list[int]:
    """Converters per TIME_BUCKETS bucket (a delay equal to a bound falls in the next bucket; the last is open)."""
    counts = [0] * (len(TIME_BUCKETS) + 1)
    for delay in delays:
        counts[bisect.bisect_right(TIME_BUCKETS, delay)] += 1
    return counts


# --- rows ------------------------------------------------------------------------------------------------
def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _nearest_rank(sorted_values: Sequence[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


CHANGES = tuple(what for what in RELATIONSHIP_COUNTS if what != "live")


def relationship_groups(by_inviter: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, dict[str, int]]]:
    """The day's relationship counts (sharing's ``relationship_day``) as the inviter and total rows carry them."""
    total = {what: sum(counts.get(what, 0) for counts in by_inviter.values()) for what in RELATIONSHIP_COUNTS}
    inviters = {
        code: {what: counts.get(what, 0) for what in RELATIONSHIP_COUNTS} for code, counts in by_inviter.items()
    }
    return {"total": {TOTAL_KEY: total}, "inviter": inviters}


def build_rows(
    day: dt.date,
    landing_groups: Mapping[str, Mapping[str, Mapping[str, int]]],
    intent_groups: Mapping[str, Mapping[str, Mapping[str, int]]],
    credits: Iterable[tuple[Order, Landing]],
    model: str,
    window_days: int,
    now: dt.datetime,
    viral_groups: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    relationships: Mapping[str, Mapping[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """The day's report rows (without ``computedAt``/``runId``), sorted by ``_id``.

    ``landing_groups[dim][key]`` = {landings, invitees, newUsers}; ``intent_groups[dim][key]`` =
    {intents, sharers} — from ``group_landings`` and ``group_intents``."""
    conversions: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"orders": set(), "revenue": [], "first": {}}
    )
    for order, landing in credits:
        delay = (order.at - landing.at).total_seconds()
        for dim, key in landing.keys().items():
            bucket = conversions[(dim, key)]
            if order.order_id in bucket["orders"]:
                continue
            bucket["orders"].add(order.order_id)
            bucket["revenue"].append(order.amount)
            previous = bucket["first"].get(order.user)
            bucket["first"][order.user] = delay if previous is None else min(previous, delay)
    _, day_end = day_bounds(day)
    matured = now >= day_end + dt.timedelta(days=window_days)
    bonds = relationship_groups(relationships or {})
    rows = []
    for dim in DIMENSIONS:
        # A day's relationship changes give their inviters a row; relationships merely in force do not.
        changed = {key for key, counts in bonds.get(dim, {}).items() if any(counts[w] for w in CHANGES)}
        keys = set(landing_groups.get(dim, {})) | set(intent_groups.get(dim, {})) | changed
        for key in keys:
            landed = landing_groups.get(dim, {}).get(key, {})
            intended = intent_groups.get(dim, {}).get(key, {})
            converted = conversions.get((dim, key), {"orders": (), "revenue": [], "first": {}})
            viral = (viral_groups or {}).get(dim, {}).get(key, {})
            generations = dict(viral.get("generations", {}))
            delays = sorted(converted["first"].values())
            row = {
                "_id": f"{day.isoformat()}|{dim}|{key}",
                "date": day.isoformat(),
                "dim": dim,
                "key": key,
                "intents": intended.get("intents", 0),
                "sharers": intended.get("sharers", 0),
                "landings": landed.get("landings", 0),
                "invitees": landed.get("invitees", 0),
                "newUsers": landed.get("newUsers", 0),
                "groupsReached": landed.get("groupsReached", 0),
                "converters": len(converted["first"]),
                "conversions": len(converted["orders"]),
                "revenue": exact_sum(converted["revenue"]),  # the amounts as written, summed without float drift
                "sharingInvitees": viral.get("sharingInvitees", 0),
                "generations": generations,
                "cascadeDepth": max((int(g) for g in generations), default=0),
            }
            if dim in bonds:
                row["relationships"] = dict(bonds[dim].get(key) or dict.fromkeys(RELATIONSHIP_COUNTS, 0))
            later = sum(count for generation, count in generations.items() if int(generation) >= 2)
            row["rates"] = {
                "landingsPerIntent": _ratio(row["landings"], row["intents"]),
                "newUserRate": _ratio(row["newUsers"], row["invitees"]),
                "conversionRate": _ratio(row["converters"], row["invitees"]),
                "kFactor": _ratio(row["newUsers"], row["sharers"]),
                "reproductionRate": _ratio(row["sharingInvitees"], row["sharers"]),
                "gen2PlusShare": _ratio(later, row["newUsers"]),
            }
            row["timeToConvert"] = {
                "medianSeconds": _nearest_rank(delays, 0.5),
                "p90Seconds": _nearest_rank(delays, 0.9),
                "histogram": time_histogram(delays),
            }
            row.update({"window": window_days, "model": model, "matured": matured})
            rows.append(row)
    return sorted(rows, key=lambda r: r["_id"])


def rows_checksum(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of the rows without their volatile fields: equal for a rerun over unchanged data."""
    stable = [{k: v for k, v in row.items() if k not in VOLATILE_FIELDS} for row in rows]
    stable.sort(key=lambda r: r["_id"])
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()
