"""One lease: a document held by one owner until a time on the product clock, and one vocabulary for leased work.

Code claims, batch jobs, funnel runs and their chunks, and settlement rounds all hold their document this way, so the
rules live once (docs/scaling.md):

* **acquire** — a document whose lease has lapsed (``leaseUntil`` before now; ``EPOCH`` when free) becomes the
  owner's until ``until``, in one conditional update; a live holder never loses it. A hand-over (a continuation's key)
  may take it whatever its time.
* **renew** — only the holder writes under its lease (``leaseOwner``), extending it when it says so; a holder that
  lost it is told (``LeaseLost``, retryable) and stops.
* **release** — the holder gives the lease back at once (``EPOCH``), with its last word (the work's state).
* ``until`` is the end of the holder's invocation's life (SCF kills it by then): a dead holder frees its document
  within one invocation's life. A holder that could not record its end because the database was away records it at
  the start of this instance's next invocation (``record_unrecorded_ends``); if this instance never runs again, the
  lease lapses and the next taker finds the work ``abandoned`` (``status_of`` answers so at once).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.platform import log
from shared.platform.db import driver_errors
from shared.platform.documents import Collection, Document, DuplicateKeyError, ReturnDocument
from shared.platform.errors import ShareFunnelError, Unavailable

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)  # a free lease: lapsed for every clock
OWNER, UNTIL = "leaseOwner", "leaseUntil"

# The states of leased work, one vocabulary for every kind of it.
PENDING = "pending"  # waiting for a holder
RUNNING = "running"  # held (or its holder died and its lease has not lapsed yet)
DONE = "done"
FAILED = "failed"  # its holder recorded a failure
ABANDONED = "abandoned"  # its holder died: the lease lapsed while it was running


class LeaseLost(Unavailable):
    """This holder's lease was taken over (it outlived it): it must stop writing (retryable: the work goes on)."""


def lapsed(now: dt.datetime) -> dict[str, Any]:
    """The condition of a lease nobody holds any more."""
    return {UNTIL: {"$lt": now}}


def held_by(owner: str) -> dict[str, Any]:
    return {OWNER: owner}


def status_of(document: Mapping[str, Any], now: dt.datetime, field: str = "status") -> str:
    """A document's state as its readers must see it: ``running`` with a lapsed lease is ``abandoned`` (no holder is
    left to finish or record it), whether or not a later taker has marked it yet."""
    status = str(document.get(field) or "")
    until = document.get(UNTIL)
    if status == RUNNING and isinstance(until, dt.datetime):
        until = until if until.tzinfo else until.replace(tzinfo=dt.timezone.utc)
        if until < now:
            return ABANDONED
    return status


def _update(
    set_: Mapping[str, Any] | None, inc: Mapping[str, Any] | None, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    update: dict[str, Any] = dict(extra or {})
    if set_:
        update["$set"] = {**update.get("$set", {}), **set_}
    if inc:
        update["$inc"] = dict(inc)
    return update


class Leases:
    """Leases on the documents of one collection (``what``: the work, in errors and logs)."""

    def __init__(self, collection: Collection, what: str) -> None:
        self._collection, self._what = collection, what

    def acquire(
        self,
        filter: Mapping[str, Any],
        owner: str,
        now: dt.datetime,
        until: dt.datetime,
        *,
        set: Mapping[str, Any] | None = None,
        inc: Mapping[str, Any] | None = None,
        sort: Any = None,
        handed_over: Mapping[str, Any] | None = None,
        create: bool = False,
        unset: Sequence[str] = (),
        answer: bool = ReturnDocument.AFTER,
    ) -> Document | None:
        """The document (as it is after, or was before with ``answer=BEFORE``) if ``owner`` now holds it, else None.
        ``handed_over``: the condition of a hand-over (a continuation's key), which takes the lease whatever its time
        instead of waiting for it to lapse. ``create``: a document that does not exist yet is created held, by a plain
        insert first (``filter`` holds only equalities then) — concurrent upserts race differently on MongoDB (E11000)
        and FerretDB (a unique-violation error of its own), while an insert answers E11000 on every backend."""
        if create:
            document = {**filter, OWNER: owner, UNTIL: until, **(set or {}), **(inc or {})}
            try:
                with driver_errors(f"create {self._what}"):
                    self._collection.insert_one(dict(document))
                return None if answer == ReturnDocument.BEFORE else document
            except DuplicateKeyError:
                pass  # it exists: held, lapsed or ended — the conditional update decides
        condition = {**filter, **(handed_over if handed_over is not None else lapsed(now))}
        with driver_errors(f"take the lease of {self._what}"):
            return self._collection.find_one_and_update(
                condition,
                _update(
                    {OWNER: owner, UNTIL: until, **(set or {})},
                    inc,
                    {"$unset": dict.fromkeys(unset, "")} if unset else None,
                ),
                sort=sort,
                return_document=answer,
            )

    def renew(
        self,
        filter: Mapping[str, Any],
        owner: str,
        *,
        until: dt.datetime | None = None,
        set: Mapping[str, Any] | None = None,
        inc: Mapping[str, Any] | None = None,
        also: Mapping[str, Any] | None = None,
    ) -> None:
        """A write of the holder under its lease (extended to ``until`` when given); ``LeaseLost`` if it is no
        longer this owner's. ``also``: further update operators (``$push``)."""
        fields = {**(set or {}), **({UNTIL: until} if until is not None else {})}
        with driver_errors(f"write {self._what}"):
            result = self._collection.update_one({**filter, **held_by(owner)}, _update(fields, inc, also))
        if result.matched_count != 1:
            raise LeaseLost(f"the lease of {self._what} was lost")

    def release(
        self,
        filter: Mapping[str, Any],
        owner: str,
        *,
        set: Mapping[str, Any] | None = None,
        unset: Sequence[str] = (),
    ) -> bool:
        """The holder gives the lease back with its last word (``set``, ``unset``); False when it was no longer the
        holder's."""
        update: dict[str, Any] = {"$set": {UNTIL: EPOCH, **(set or {})}}
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        with driver_errors(f"release {self._what}"):
            result = self._collection.update_one({**filter, **held_by(owner)}, update)
        return result.matched_count == 1

    def end(self, filter: Mapping[str, Any], owner: str, fields: Mapping[str, Any], unset: Sequence[str] = ()) -> bool:
        """``release`` with the work's end (its state and report). When the database will not take it now, this
        instance records it at the start of its next invocation; meanwhile the lease stands until it lapses."""
        try:
            return self.release(filter, owner, set=fields, unset=unset)
        except ShareFunnelError:
            remember_unrecorded_end(lambda: self.release(filter, owner, set=fields, unset=unset), self._what)
            raise

    def hand_over(
        self, filter: Mapping[str, Any], owner: str, until: dt.datetime, *, set: Mapping[str, Any] | None = None
    ) -> bool:
        """The holder hands its work on: the lease stays alive until ``until`` (the continuation's grace), for the
        continuation that takes it by its key (``acquire(handed_over=…)``)."""
        with driver_errors(f"hand on {self._what}"):
            result = self._collection.update_one({**filter, **held_by(owner)}, {"$set": {UNTIL: until, **(set or {})}})
        return result.matched_count == 1

    def extend(self, filter: Mapping[str, Any], until: dt.datetime, **also: Any) -> bool:
        """A lease shared by several holders (a run's lanes) stays alive until at least ``until``."""
        with driver_errors(f"extend the lease of {self._what}"):
            result = self._collection.update_one(dict(filter), {"$max": {UNTIL: until}, **also})
        return result.matched_count == 1


_unrecorded: list[tuple[Callable[[], object], str]] = []
_unrecorded_lock = threading.Lock()


def remember_unrecorded_end(record: Callable[[], object], what: str) -> None:
    with _unrecorded_lock:
        _unrecorded.append((record, what))
    log.event("lease_end_unrecorded", what=what)


def record_unrecorded_ends() -> None:
    """At the start of an invocation: the ends this instance could not record before (the database was away).
    One that fails again waits for the next invocation; the lease lapses meanwhile regardless."""
    with _unrecorded_lock:
        waiting = list(_unrecorded)
        _unrecorded.clear()
    for record, what in waiting:
        try:
            record()
            log.event("lease_end_recorded_late", what=what)
        except ShareFunnelError:
            with _unrecorded_lock:
                _unrecorded.append((record, what))
