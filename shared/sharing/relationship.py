"""The customer relationship (锁客): which inviter a user belongs to now, decided here and nowhere else.

A relationship lives on the user (``binding``: ``inviter``, ``productId``, ``at`` — when it began —, ``expiresAt`` or
None for a permanent one, ``locked`` when an admin set it); every change to it is kept in the sharing wing's
``relationships`` collection (taken over, re-bound after expiry, set by an admin). The first one is the binding
written with the user at their first sighting (the landing path's one write), so a new invitee costs nothing more.

The rule, configured once (distribution.md §A: 有赞's 保护期 / 绑定有效期, CRMEB's 永久 / 有效期, yudao's 首次 / 覆盖):

* ``BIND_WHO`` — who may be bound for the first time: ``new`` (only a user first seen through a share) or ``unbound``
  (any user without a relationship, an organic one too). Once a user has had one, re-binding after it ended and
  takeovers follow the two rules below.
* ``BIND_VALIDITY_DAYS`` — 0: permanent; N: the relationship ends N days after it began (``BIND_ORDER_EXTEND_DAYS``
  after a credited order keeps it alive at least that long). An ended relationship leaves the user free.
* ``BIND_PROTECT_DAYS`` — -1: never taken over while it lives; 0: every landing from another inviter takes the user
  over (last touch); N: another inviter's landing takes the user over N days or more after it began.
* Never a user bound to themselves, nor to an inviter in their own downline (the chain is walked; a loop of any
  length is refused). A refused binding still records the landing: it is a touch, not a relationship.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from shared.platform.config import EnvReader
from shared.platform.db import aware

ENV_WHO = "BIND_WHO"
ENV_VALIDITY_DAYS = "BIND_VALIDITY_DAYS"
ENV_ORDER_EXTEND_DAYS = "BIND_ORDER_EXTEND_DAYS"
ENV_PROTECT_DAYS = "BIND_PROTECT_DAYS"
VARIABLES = (ENV_WHO, ENV_VALIDITY_DAYS, ENV_ORDER_EXTEND_DAYS, ENV_PROTECT_DAYS)
RELATIONSHIP_VARIABLES = VARIABLES  # the name other wings import it by
WHO = ("new", "unbound")
MAX_CHAIN = 64  # upline links walked to refuse a loop (longer chains are refused too: they cannot be checked)

# What happened to a landing's relationship (the landing's answer says it; the history keeps the changes).
BOUND, REBOUND, TAKEN, KEPT = "bound", "rebound", "taken", "kept"
ADMIN = "admin"  # set, moved or cleared by an admin (locked)
EXPIRED = "expired"  # ran out: recorded by the daily run (SharingReads.record_lapses), so the history has every end
REFUSED_NOT_NEW, REFUSED_PROTECTED, REFUSED_LOCKED, REFUSED_LOOP = "not_new", "protected", "locked", "loop"


class RelationshipRule(NamedTuple):
    who: str = "new"
    validity_days: int = 0  # 0: permanent
    order_extend_days: int = 0
    protect_days: int = -1  # -1: never poachable; 0: last touch; N: after N days

    def expires_at(self, began: dt.datetime) -> dt.datetime | None:
        return began + dt.timedelta(days=self.validity_days) if self.validity_days else None

    def protected_until(self, began: dt.datetime) -> dt.datetime | None:
        """The first moment another inviter's landing can take the user over (None: never)."""
        return None if self.protect_days < 0 else began + dt.timedelta(days=self.protect_days)


DEFAULT_RULE = RelationshipRule()  # today's behaviour: new users only, permanent, never taken over


def read_relationship_rule(read: EnvReader) -> RelationshipRule:
    who = read.text(ENV_WHO, "new") or ""
    if who not in WHO:
        read.problems.append(f"{ENV_WHO} must be one of {', '.join(WHO)}")
    return RelationshipRule(
        who=who,
        validity_days=read.integer(ENV_VALIDITY_DAYS, 0, 0, 3650),
        order_extend_days=read.integer(ENV_ORDER_EXTEND_DAYS, 0, 0, 3650),
        protect_days=read.integer(ENV_PROTECT_DAYS, -1, -1, 3650),
    )


def as_aware(value: Any) -> dt.datetime | None:
    """A stored time as an aware UTC datetime; anything that is not a time (absent, or written by hand): None."""
    return aware(value) if isinstance(value, dt.datetime) else None


def is_live(binding: Mapping[str, Any] | None, now: dt.datetime) -> bool:
    """A relationship in force at ``now``: it exists and has not expired (a locked one never expires)."""
    if not binding or not binding.get("inviter"):
        return False
    expires = as_aware(binding.get("expiresAt"))
    return bool(binding.get("locked")) or expires is None or expires > now


def new_binding(
    rule: RelationshipRule, inviter: str, product_id: str, channel: str | None, now: dt.datetime
) -> dict[str, Any]:
    """The relationship a landing starts (the first sighting's binding has the same shape)."""
    return {
        "inviter": inviter,
        "productId": product_id,
        "channel": channel,
        "at": now,
        "expiresAt": rule.expires_at(now),
    }


class Decision(NamedTuple):
    outcome: str  # BOUND / REBOUND / TAKEN: a change to write; KEPT or a REFUSED_* reason: nothing to write
    binding: dict[str, Any] | None = None  # the new relationship, when there is a change


def decide(
    rule: RelationshipRule,
    user: Mapping[str, Any],
    inviter: str,
    product_id: str,
    channel: str | None,
    now: dt.datetime,
    upline_of: Callable[[str], str | None],
) -> Decision:
    """What a landing from ``inviter`` does to an existing user's relationship. ``upline_of(code)`` → the inviter code
    of that code's owner (None for a seed): the chain walked to refuse a loop."""
    current = user.get("binding") or None
    if current and current.get("inviter") == inviter and is_live(current, now):
        return Decision(KEPT)
    if current and current.get("locked"):
        return Decision(REFUSED_LOCKED)
    if is_live(current, now):
        began = as_aware((current or {}).get("at")) or now
        opens = rule.protected_until(began)
        if opens is None or now < opens:
            return Decision(REFUSED_PROTECTED)
        outcome = TAKEN
    elif current:
        outcome = REBOUND  # it ended: the user is free, and has had a relationship
    elif rule.who != "unbound":
        return Decision(REFUSED_NOT_NEW)  # an organic user under BIND_WHO=new
    else:
        outcome = BOUND
    if in_downline(user.get("code"), inviter, upline_of):
        return Decision(REFUSED_LOOP)
    return Decision(outcome, new_binding(rule, inviter, product_id, channel, now))


def in_downline(own_code: str | None, inviter: str, upline_of: Callable[[str], str | None]) -> bool:
    """Whether ``inviter`` is the user (``own_code``) or below them: the inviter's upline reaches the user."""
    if not own_code:
        return False  # a user who never shared is nobody's inviter: no chain can come back to them
    cursor: str | None = inviter
    for _ in range(MAX_CHAIN):
        if cursor is None:
            return False
        if cursor == own_code:
            return True
        cursor = upline_of(cursor)
    return True  # too long to check: refused as a loop would be


class Period(NamedTuple):
    """One relationship of a user, as it was: ``inviter`` from ``start`` until ``end`` (None: still in force)."""

    inviter: str
    start: dt.datetime
    end: dt.datetime | None


def periods_of(binding: Mapping[str, Any] | None, changes: Sequence[Mapping[str, Any]]) -> list[Period]:
    """A user's relationships over time, rebuilt from the current one and the history of changes (oldest first):
    each change ended the relationship it replaced (at the change, or earlier when that one had expired)."""
    periods = []
    for change in changes:
        previous, began = change.get("from"), as_aware(change.get("fromAt"))
        at = as_aware(change.get("at"))
        if previous and began and at:
            expired = as_aware(change.get("fromExpiresAt"))
            periods.append(Period(previous, began, min(at, expired) if expired else at))
    if binding and binding.get("inviter"):
        began = as_aware(binding.get("at"))
        if began is not None:
            expires = None if binding.get("locked") else as_aware(binding.get("expiresAt"))
            periods.append(Period(binding["inviter"], began, expires))
    return periods


def inviter_at(periods: list[Period], at: dt.datetime) -> Period | None:
    """The relationship in force at ``at`` (None: the user was free)."""
    for period in periods:
        if period.start <= at and (period.end is None or at < period.end):
            return period
    return None


class Extension(NamedTuple):
    """A credited order keeps its relationship (``invitee``'s with ``inviter``, begun ``since``) until at least
    ``until``."""

    invitee: str
    inviter: str
    since: dt.datetime
    until: dt.datetime


# --- the day's relationships, as the funnel and the dashboard count them ------------------------------------------
RELATIONSHIP_COUNTS = ("new", "taken", "lost", "expired", "live")


def lapse_entry(invitee: str, inviter: str, began: Any, expired_at: dt.datetime) -> dict[str, Any]:
    """The history's record of a relationship that ran out at ``expired_at`` (its ``_id`` is derived from it, so
    recording it again changes nothing)."""
    return {
        "_id": f"{EXPIRED}|{invitee}|{aware(expired_at).isoformat()}",
        "kind": EXPIRED,
        "by": "clock",
        "invitee": invitee,
        "inviter": None,
        "from": inviter,
        "fromAt": began,
        "fromExpiresAt": expired_at,
        "at": expired_at,
    }


def ran_out_before_change(change: Mapping[str, Any]) -> bool:
    """A change (re-bound after the end, or an admin's) replaced a relationship that had already run out."""
    ended, at = as_aware(change.get("fromExpiresAt")), as_aware(change.get("at"))
    return bool(change.get("from")) and ended is not None and at is not None and ended <= at


def count_changes(
    first_sightings: Mapping[str, int], changes: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, int]]:
    """Per inviter code: relationships begun (``new``: first sightings, re-bindings and an admin's), taken over from
    another inviter (``taken``), lost to another inviter or an admin (``lost``) and run out (``expired``)."""
    counts: dict[str, dict[str, int]] = {}

    def add(code: Any, what: str) -> None:
        if code:
            counts.setdefault(str(code), dict.fromkeys(RELATIONSHIP_COUNTS, 0))[what] += 1

    for code, n in first_sightings.items():
        for _ in range(n):
            add(code, "new")
    for change in changes:
        kind = change.get("kind")
        if kind == EXPIRED:
            add(change.get("from"), "expired")
        elif kind == TAKEN:
            add(change.get("inviter"), "taken")
            add(change.get("from"), "lost")
        else:  # bound, re-bound, an admin's
            add(change.get("inviter"), "new")
            if kind == ADMIN and not ran_out_before_change(change):
                add(change.get("from"), "lost")
    return counts
