"""genWxacode's MongoDB adapters: the code cache with its atomic claim, and batch jobs with their lease."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from shared.platform.config import Collections
from shared.platform.db import CollectionSpec, driver_errors, index, provision
from shared.platform.documents import Database, DuplicateKeyError
from shared.platform.errors import Unavailable
from shared.platform.lease import EPOCH, RUNNING, UNTIL, Leases, held_by


class MongoCodeCache:
    """The ``wxacodes`` cache with an atomic claim, so concurrent identical requests generate one code.

    States: absent → ``in_progress`` (leased by one invocation: ``shared.platform.lease``) → ``done``.
    A crashed claim's lease lapses and can be taken over (Powertools-idempotency style).
    """

    def __init__(self, database: Database, names: Collections) -> None:
        self._codes = database[names.wxacodes]
        self._leases = Leases(self._codes, "a code's claim")
        # Code cache: _id is the hash of everything that changes the image; lookups are by _id.
        provision(
            database, [CollectionSpec(names.wxacodes, (index("inviter", "createdAt", name="inviter_createdAt"),))]
        )

    def get(self, key: str) -> dict[str, Any] | None:
        with driver_errors("read the code cache"):
            return self._codes.find_one({"_id": key})

    def claim(self, key: str, owner: str, now: dt.datetime, until: dt.datetime, info: dict[str, Any]) -> bool:
        """True when this owner now holds the claim; False when a live claim or a finished code exists."""
        claimed = self._leases.acquire(
            {"_id": key, "status": "in_progress"}, owner, now, until, set={"status": "in_progress", **info}, create=True
        )
        return claimed is not None

    def complete(self, key: str, owner: str, fields: dict[str, Any]) -> bool:
        return self._leases.release({"_id": key, "status": "in_progress"}, owner, set={"status": "done", **fields})

    def release(self, key: str, owner: str) -> None:
        """A claim that made nothing: its stub goes (only while this owner still holds it)."""
        try:
            with driver_errors("release a claim"):
                self._codes.delete_one({"_id": key, "status": "in_progress", **held_by(owner)})
        except Unavailable:
            pass  # the claim's lease lapses by itself


FAILURES_KEPT = 100  # a job keeps its first failures for the report; the counters count all of them


class MongoJobStore:
    """``wxacode_jobs``: one document per batch job with its items, progress counters and a lease, so a
    job runs in one invocation at a time and any later invocation can resume it from ``next``."""

    def __init__(self, database: Database, names: Collections) -> None:
        self._jobs = database[names.wxacode_jobs]
        self._leases = Leases(self._jobs, "a batch job")
        provision(database, [CollectionSpec(names.wxacode_jobs, (index("createdAt", name="createdAt"),))])

    def get(self, job_id: str, with_items: bool = False) -> dict[str, Any] | None:
        with driver_errors("read a batch job"):
            return self._jobs.find_one({"_id": job_id}, None if with_items else {"items": 0})

    def create(self, job: dict[str, Any]) -> bool:
        """Insert a new job; False when a job with that id already exists."""
        try:
            with driver_errors("create a batch job"):
                self._jobs.insert_one({**job, UNTIL: EPOCH})
            return True
        except DuplicateKeyError:
            return False

    def take_lease(
        self, job_id: str, owner: str, now: dt.datetime, until: dt.datetime, restart: bool = False
    ) -> dict[str, Any] | None:
        """The job with its items if this owner now holds its lease, else None (another invocation runs it).
        ``restart``: a finished job runs again from its first item (every code is then a cache hit)."""
        fields: dict[str, Any] = {"status": RUNNING, "updatedAt": now}
        counters = {"invocations": 1}
        if restart:
            fields.update({"next": 0, "generated": 0, "cached": 0, "failed": 0, "failures": [], "startedAt": now})
            counters["runs"] = 1
        return self._leases.acquire({"_id": job_id}, owner, now, until, set=fields, inc=counters)

    def save_progress(
        self,
        job_id: str,
        owner: str,
        next_index: int,
        counts: dict[str, int],
        failures: Any,
        now: dt.datetime,
        until: dt.datetime,
    ) -> None:
        push = {"$push": {"failures": {"$each": list(failures), "$slice": FAILURES_KEPT}}} if failures else None
        self._leases.renew(
            {"_id": job_id}, owner, until=until, set={"next": next_index, "updatedAt": now}, inc=counts, also=push
        )

    def finish(self, job_id: str, owner: str, status: str, now: dt.datetime, **fields: Any) -> None:
        """Set the job's status and give up the lease (a continuation or a resume can take it at once)."""
        self._leases.release({"_id": job_id}, owner, set={"status": status, "updatedAt": now, **fields})

    def set_lanes(self, job_id: str, lanes: list[str], now: dt.datetime) -> None:
        """The job is now its lanes (child jobs holding its items): it keeps their ids, not the items twice."""
        with driver_errors("record a batch's lanes"):
            self._jobs.update_one(
                {"_id": job_id},
                {"$set": {"lanes": lanes, "status": "fanned_out", "updatedAt": now}, "$unset": {"items": ""}},
            )


class MongoLinkStore:
    """Links (``<wxacodes>_links``, by request hash) and their daily quota counters (``<wxacodes>_link_quota``,
    ``{bucket}:{day}``): a count is taken by one conditional update, so concurrent requests never pass the cap."""

    def __init__(self, database: Database, names: Collections) -> None:
        self._links = database[f"{names.wxacodes}_links"]
        self._quota = database[f"{names.wxacodes}_link_quota"]
        provision(
            database,
            [
                CollectionSpec(f"{names.wxacodes}_links", (index("inviter", "createdAt", name="inviter_createdAt"),)),
                CollectionSpec(f"{names.wxacodes}_link_quota"),
            ],
        )

    def get(self, key: str) -> dict[str, Any] | None:
        with driver_errors("read the link cache"):
            return self._links.find_one({"_id": key})

    def save(self, key: str, doc: dict[str, Any]) -> None:
        with driver_errors("record the link"):
            self._links.replace_one({"_id": key}, doc, upsert=True)

    def take_quota(self, bucket: str, day: str, limit: int) -> bool:
        """Count one more of today's links, unless ``limit`` are counted already (False)."""
        for _ in range(2):  # a concurrent first count of the day may win the insert: read it and count again
            try:
                with driver_errors("count a link against the quota"):
                    self._quota.update_one(
                        {"_id": f"{bucket}:{day}", "count": {"$lt": limit}}, {"$inc": {"count": 1}}, upsert=True
                    )
                return True
            except DuplicateKeyError:
                with driver_errors("read the link quota"):
                    counted = self._quota.find_one({"_id": f"{bucket}:{day}"}) or {}
                if counted.get("count", 0) >= limit:
                    return False
        return False

    def give_back_quota(self, bucket: str, day: str) -> None:
        try:
            with driver_errors("give back a link's count"):
                self._quota.update_one({"_id": f"{bucket}:{day}", "count": {"$gt": 0}}, {"$inc": {"count": -1}})
        except Unavailable:
            pass  # one count too many for today at worst


class MongoPosterTemplates:
    """``<wxacodes>_poster_templates``: the operator's poster templates by name, each with its digest; ``default``
    falls back to the template the package ships until the operator saves their own."""

    def __init__(self, database: Database, names: Collections) -> None:
        self._templates = database[f"{names.wxacodes}_poster_templates"]
        self._parsed: dict[str, Any] = {}  # digest → parsed template, per warm instance
        provision(database, [CollectionSpec(f"{names.wxacodes}_poster_templates")])

    def get(self, name: str) -> Any:
        from shared.codes.poster import DEFAULT_TEMPLATE, default_template, parse_template
        from shared.platform.errors import BadInput

        with driver_errors("read a poster template"):
            doc = self._templates.find_one({"_id": name})
        if doc is None:
            if name != DEFAULT_TEMPLATE:
                raise BadInput(f"no poster template is named {name!r}", field="template", reason="unknown_template")
            doc = {"_id": name, "digest": "bundled", "json": default_template()}
        if doc["digest"] not in self._parsed:
            # Kept as JSON text: product ids may hold dots, which no backend takes in a field name.
            source = doc["json"] if isinstance(doc["json"], dict) else json.loads(doc["json"])
            self._parsed[doc["digest"]] = parse_template(source)
        return self._parsed[doc["digest"]]

    def save(self, template: Any, source: dict[str, Any], now: dt.datetime) -> None:
        with driver_errors("save a poster template"):
            self._templates.replace_one(
                {"_id": template.name},
                {"json": json.dumps(source, ensure_ascii=False), "digest": template.digest, "updatedAt": now},
                upsert=True,
            )
