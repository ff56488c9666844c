"""Batch jobs for genWxacode: up to 10 000 codes, paced under WeChat's rate cap, resumable.

A job document (``wxacode_jobs``) holds the items and ``next``: every item before it is finished
(generated, cached or failed for good), so any invocation holding the job's lease can carry on from
there. Each item goes through the same cached ``CodeGenerator`` as a single request, which makes a
rerun cost one cache read per finished item and no WeChat call.

* Pace: WeChat allows 5 000 getUnlimited calls per minute per app; we pace WeChat calls (not cache
  hits) at ``WXACODE_RATE_PER_MIN`` with ``WXACODE_CONCURRENCY`` calls in flight.
* 45009 slows the batch (the pace halves, then creeps back) and the item is tried again; it never fails.
* Transient failures (WeChat down, storage down) are retried a few times, then the run stops as
  ``interrupted`` with ``next`` at the first unfinished item; a resume carries on.
* Time: the run stops taking new items when the invocation's budget (``time_limit_in_ms``) runs low,
  saves progress and hands the job to a fresh asynchronous invocation (``Continuation``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shared.codes.generator import CodeGenerator, CodeRequest, parse_code_request
from shared.platform import log
from shared.platform.clock import Clock
from shared.platform.continuation import MIN_RUN_SECONDS, Continuation, hand_off, key_matches, parse_resume_key
from shared.platform.errors import BadInput, Forbidden, NotFound, RateLimited, ShareFunnelError, UnknownInviter
from shared.platform.validation import check_document, require_id, required
from shared.sharing import ShareClaim

if TYPE_CHECKING:  # posters load only when a request asks for one
    from shared.codes.poster import PosterMaker, PosterRequest

MAX_BATCH_ITEMS = 10_000
LEASE_SECONDS = 120
TRANSIENT_ATTEMPTS = 3
SAVE_EVERY_SECONDS = 2.0
FINISHED = ("done", "done_with_errors")
LANE_MIN_ITEMS = 50  # posters per lane below which another invocation costs more than it renders


# --- requests --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchRequest:
    items: tuple[dict[str, Any], ...]  # normalised item documents, as stored in the job


@dataclass(frozen=True)
class JobRequest:
    """Status of a job, or (``resume``) carry it on; ``resume_key`` authenticates a continuation."""

    job_id: str
    resume: bool = False
    resume_key: str | None = None


def parse_gen_event(event: Any, default_page: str) -> Any:
    """genWxacode's event as one typed request: a single code, a batch, or a job to report on or resume."""
    if not isinstance(event, Mapping):
        raise BadInput("the event must be an object")
    check_document(event)
    if "batch" in event:
        return parse_batch_request(event, default_page)
    if event.get("action") == "link":
        from shared.codes.links import parse_link_request

        return parse_link_request(event, default_page)
    if event.get("action") == "poster":
        from shared.codes.poster import parse_poster_request

        return parse_poster_request(event, default_page)
    if event.get("action") == "posterTemplate":
        from shared.codes.poster import parse_template_request

        return parse_template_request(event)
    if "continueJob" in event or "jobId" in event:
        return parse_job_request(event)
    return parse_code_request(event, default_page)


def parse_batch_request(event: Mapping[str, Any], default_page: str) -> BatchRequest:
    """Every item is checked before anything is written: one bad item rejects the batch."""
    batch = event.get("batch")
    if not isinstance(batch, list) or not batch:
        raise BadInput("batch must be a non-empty list of items", field="batch")
    if len(batch) > MAX_BATCH_ITEMS:
        raise BadInput(f"a batch holds at most {MAX_BATCH_ITEMS} items (got {len(batch)})", field="batch")
    items = []
    for index, item in enumerate(batch):
        if not isinstance(item, Mapping):
            raise BadInput("each batch item must be an object", field=f"batch[{index}]")
        try:
            # Every field is type-checked before any lookup: the inviter first, since a batch names it per item.
            require_id(required(item, "inviter"), "inviter")
            if item.get("kind", "code") not in ("code", "poster"):
                raise BadInput("kind must be code or poster", field="kind")
            if item.get("kind") == "poster":
                from shared.codes.poster import parse_poster_request

                items.append(poster_item_document(parse_poster_request(item, default_page)))
            else:
                items.append(item_document(parse_code_request(item, default_page)))
        except BadInput as err:
            raise BadInput(f"batch[{index}]: {err.message}", field=f"batch[{index}]") from err
    return BatchRequest(items=tuple(items))


def parse_job_request(event: Mapping[str, Any]) -> JobRequest:
    if "continueJob" in event:
        key = parse_resume_key(event.get("resumeKey"))
        return JobRequest(require_id(event.get("continueJob"), "continueJob"), resume=True, resume_key=key)
    resume = event.get("resume", False)
    if not isinstance(resume, bool):
        raise BadInput("resume must be true or false", field="resume")
    return JobRequest(require_id(event.get("jobId"), "jobId"), resume=resume)


def item_document(request: CodeRequest) -> dict[str, Any]:
    look = request.look
    doc: dict[str, Any] = {
        "inviter": request.inviter,
        "productId": request.product_id,
        "channel": request.channel,
        "page": look.page,
        "width": look.width,
        "envVersion": look.env_version,
        "isHyaline": look.is_hyaline,
        "autoColor": look.auto_color,
        "checkPath": look.check_path,
    }
    if look.line_color is not None:
        doc["lineColor"] = dict(zip("rgb", look.line_color, strict=True))
    return doc


def poster_item_document(request: PosterRequest) -> dict[str, Any]:
    return {
        "kind": "poster",
        "inviter": request.inviter,
        "productId": request.product_id,
        "channel": request.channel,
        "page": request.page,
        "envVersion": request.env_version,
        "template": request.template,
    }


def job_id_for(items: tuple[dict[str, Any], ...]) -> str:
    """The same batch always maps to the same job, so submitting it twice resumes rather than duplicates."""
    canonical = json.dumps(items, sort_keys=True, separators=(",", ":"))
    return "job-" + hashlib.sha256(canonical.encode()).hexdigest()[:24]


# --- pacing ----------------------------------------------------------------------------------------------
class OutOfTime(Exception):
    """Internal: the next WeChat slot lies beyond the run's deadline."""


class Pacer:
    """Spaces WeChat calls evenly at ``rate_per_min`` across threads (no bursts, so the per-minute cap
    holds over any window). ``slow_down`` (on 45009) halves the pace; successes win it back gradually."""

    def __init__(
        self,
        rate_per_min: int,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cap = rate_per_min / 60.0
        self.rate = self.cap
        self._next_slot = 0.0
        self._lock = threading.Lock()
        self._monotonic, self._sleep = monotonic, sleep
        self.slowdowns = 0

    def acquire(self, deadline: float) -> None:
        with self._lock:
            now = self._monotonic()
            slot = max(now, self._next_slot)
            if slot > deadline:
                raise OutOfTime()
            self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            self._sleep(slot - now)

    def slow_down(self, pause_seconds: float = 1.0) -> None:
        with self._lock:
            self.slowdowns += 1
            self.rate = max(self.rate / 2, 1.0 / 60)
            self._next_slot = max(self._next_slot, self._monotonic() + pause_seconds)

    def succeeded(self) -> None:
        with self._lock:
            if self.rate < self.cap:
                self.rate = min(self.cap, self.rate + self.cap / 100)


class _PacedWeChat:
    """The WeChat client as the batch sees it: every getUnlimited call waits for its slot."""

    def __init__(self, wechat: Any, pacer: Pacer, deadline: float) -> None:
        self._wechat, self._pacer, self._deadline = wechat, pacer, deadline

    def get_unlimited(self, payload: dict[str, Any]) -> Any:
        self._pacer.acquire(self._deadline)
        image = self._wechat.get_unlimited(payload)
        self._pacer.succeeded()
        return image

    def __getattr__(self, name: str) -> Any:  # tcb upload tickets and the rest are not paced
        return getattr(self._wechat, name)


class JobStore(Protocol):
    def get(self, job_id: str, with_items: bool = False) -> dict[str, Any] | None: ...

    def create(self, job: dict[str, Any]) -> bool: ...

    def take_lease(
        self, job_id: str, owner: str, now: dt.datetime, until: dt.datetime, restart: bool = False
    ) -> dict[str, Any] | None: ...

    def save_progress(
        self,
        job_id: str,
        owner: str,
        next_index: int,
        counts: dict[str, int],
        failures: Any,
        now: dt.datetime,
        until: dt.datetime,
    ) -> None: ...

    def finish(self, job_id: str, owner: str, status: str, now: dt.datetime, **fields: Any) -> None: ...

    def set_lanes(self, job_id: str, lanes: list[str], now: dt.datetime) -> None: ...


# --- the runner ------------------------------------------------------------------------------------------
@dataclass
class BatchRunner:
    jobs: JobStore
    generator: CodeGenerator
    share_store: Any
    clock: Clock
    rate_per_min: int
    concurrency: int
    continuation: Continuation | None = None
    posters: Callable[[], PosterMaker] | None = None  # the poster maker, asked for only by jobs with poster items
    lanes: int = 1  # invocations side by side for a large poster batch (WXACODE_POSTER_LANES)
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def submit(self, request: BatchRequest, deadline: float) -> dict[str, Any]:
        """Create the job (or find the same batch's job) and run it within ``deadline`` (monotonic)."""
        missing = sorted(
            {item["inviter"] for item in request.items}
            - self.share_store.known_inviter_codes(item["inviter"] for item in request.items)
        )
        if missing:
            raise UnknownInviter(f"{len(missing)} inviter code(s) belong to no sharer", inviters=missing[:20])
        job_id = job_id_for(request.items)
        created = self.jobs.create(_new_job(job_id, list(request.items), self.clock.now()))
        existing = self.jobs.get(job_id) or {}
        if existing.get("lanes"):  # the same poster batch again: where its lanes stand
            return self._lanes_response(existing)
        lanes = self._lanes_for(request.items)
        if lanes > 1 and existing.get("status") == "queued":
            return self._fan_out(job_id, list(request.items), lanes, deadline)
        finished = not created and existing.get("status") in FINISHED
        return self._run(job_id, deadline, restart=finished)

    def status(self, request: JobRequest) -> dict[str, Any]:
        job = self.jobs.get(request.job_id)
        if job is None:
            raise NotFound(f"no batch job {request.job_id!r}")
        return self._lanes_response(job) if job.get("lanes") else _job_response(job)

    def resume(self, request: JobRequest, deadline: float) -> dict[str, Any]:
        job = self.jobs.get(request.job_id)
        if job is None:
            raise NotFound(f"no batch job {request.job_id!r}")
        if request.resume_key is not None and not key_matches(request.resume_key, job.get("resumeKeyHash")):
            raise Forbidden("resumeKey does not match the job")
        if job.get("lanes"):
            return self._resume_lanes(job, deadline)
        if job["status"] in FINISHED:
            return _job_response(job)
        return self._run(request.job_id, deadline, restart=False)

    # --- poster lanes ------------------------------------------------------------------------------------
    def _lanes_for(self, items: tuple[dict[str, Any], ...]) -> int:
        """How many invocations render a batch side by side: posters are bound by rendering (CPU), which more
        instances multiply; codes are bound by WeChat's cap, which they would only share."""
        posters = sum(1 for item in items if item.get("kind") == "poster")
        if self.continuation is None or self.lanes < 2:
            return 1
        return max(1, min(self.lanes, posters // LANE_MIN_ITEMS))

    def _fan_out(self, job_id: str, items: list[dict[str, Any]], lanes: int, deadline: float) -> dict[str, Any]:
        """Split the job into ``lanes`` child jobs, each paced at its share of the cap (together never above it):
        this invocation runs the first, SCF Invoke starts the others. Each child continues itself like any job."""
        owner, now = uuid.uuid4().hex, self.clock.now()
        size = -(-len(items) // lanes)
        children = [f"{job_id}-l{lane}" for lane in range(lanes)]
        for lane, child in enumerate(children):
            self.jobs.create(
                {
                    **_new_job(child, items[lane * size : (lane + 1) * size], now),
                    "parent": job_id,
                    "ratePerMin": max(1, self.rate_per_min // lanes),
                    "leaseOwner": owner,  # so this invocation records each child's hand-off
                }
            )
        self.jobs.set_lanes(job_id, children, now)
        log.event("wxacode_batch_fanned_out", job=job_id, lanes=lanes, total=len(items))
        for child in children[1:]:
            self._start_lane(child, owner, now)
        self._run(children[0], deadline, restart=False)
        return self._lanes_response(self.jobs.get(job_id) or {"_id": job_id, "lanes": children})

    def _start_lane(self, child: str, owner: str, now: dt.datetime) -> None:
        hand_off(
            self.continuation,
            lambda key: {"continueJob": child, "resumeKey": key},
            lambda status, fields: self.jobs.finish(child, owner, status, now, **fields),
        )

    def _resume_lanes(self, parent: Mapping[str, Any], deadline: float) -> dict[str, Any]:
        """Carry on every unfinished lane: the first here, the others (paused or interrupted) through SCF Invoke;
        a lane some invocation is running is left to it."""
        unfinished = [
            child
            for child in (self.jobs.get(child_id) for child_id in parent["lanes"])
            if child is not None and child.get("status") not in FINISHED
        ]
        now = self.clock.now()
        for child in unfinished[1:]:
            owner = uuid.uuid4().hex
            if self.jobs.take_lease(child["_id"], owner, now, self._lease_until()) is not None:
                self._start_lane(child["_id"], owner, now)
        if unfinished:
            self._run(unfinished[0]["_id"], deadline, restart=False)
        return self._lanes_response(self.jobs.get(parent["_id"]) or parent)

    def _lanes_response(self, parent: Mapping[str, Any]) -> dict[str, Any]:
        """A fanned-out job as one: its lanes' counters added up, its status the least advanced lane's."""
        children = [self.jobs.get(child_id) or {"_id": child_id} for child_id in parent["lanes"]]
        statuses = [child.get("status", "unknown") for child in children]
        if all(status in FINISHED for status in statuses):
            status = "done_with_errors" if "done_with_errors" in statuses else "done"
        else:
            status = next(s for s in ("interrupted", "paused", "running", "continuing", "queued") if s in statuses)
        answer = {
            "ok": True,
            "jobId": parent["_id"],
            "status": status,
            "failures": [failure for child in children for failure in child.get("failures", [])][:20],
            "lanes": [
                {"jobId": child["_id"], "status": child.get("status", "unknown"), "processed": child.get("next", 0)}
                for child in children
            ],
        }
        for name in ("total", "generated", "cached", "failed", "invocations"):
            answer[name] = sum(child.get(name, 0) for child in children)
        answer["processed"] = sum(child.get("next", 0) for child in children)
        errors = [child["lastError"] for child in children if child.get("lastError")]
        if errors:
            answer["lastError"] = errors[0]
        return answer

    # ---------------------------------------------------------------------------------------------------
    def _run(self, job_id: str, deadline: float, restart: bool) -> dict[str, Any]:
        """Run the job under its lease; ``restart`` walks a finished job again from its first item."""
        owner = uuid.uuid4().hex
        job = self.jobs.take_lease(job_id, owner, self.clock.now(), self._lease_until(), restart=restart)
        if job is None:  # another invocation is running it: report where it stands
            return _job_response(self.jobs.get(job_id) or {"_id": job_id})
        outcome = _Run(self, job, owner, deadline).execute()
        final = self.jobs.get(job_id) or job
        return {**_job_response(final), "continued": outcome == "continuing"}

    def _lease_until(self) -> dt.datetime:
        return self.clock.now() + dt.timedelta(seconds=LEASE_SECONDS)


class _Run:
    """One invocation's share of a job: items from ``next`` until done, out of time, or interrupted."""

    def __init__(self, runner: BatchRunner, job: dict[str, Any], owner: str, deadline: float) -> None:
        # Every invocation gets at least MIN_RUN_SECONDS of work (the deadline already holds a reserve), so a
        # chain of continuations always makes progress even when setup ate the budget.
        deadline = max(deadline, runner.monotonic() + MIN_RUN_SECONDS)
        self.runner, self.job, self.owner, self.deadline = runner, job, owner, deadline
        self.items: list[dict[str, Any]] = job["items"]
        # A lane of a fanned-out job draws codes at its share of the cap.
        self.pacer = Pacer(job.get("ratePerMin") or runner.rate_per_min, runner.monotonic, runner.sleep)
        self.generator = dataclasses.replace(
            runner.generator, wechat=_PacedWeChat(runner.generator.wechat, self.pacer, deadline)
        )
        self.posters: PosterMaker | None = None
        self.templates: dict[str, Any] = {}
        if runner.posters is not None and any(item.get("kind") == "poster" for item in self.items[job["next"] :]):
            self.posters = dataclasses.replace(runner.posters(), codes=self.generator)
        self.saved_next = job["next"]
        self.outcomes: dict[int, tuple[str, dict[str, Any] | None]] = {}
        self.attempts: dict[int, int] = {}
        self.interrupted: ShareFunnelError | None = None
        self.out_of_time = False

    def execute(self) -> str:
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait  # batches only, not cold start

        pending: deque[int] = deque(range(self.saved_next, len(self.items)))
        in_flight: dict[Any, int] = {}
        last_save = self.runner.monotonic()
        with ThreadPoolExecutor(max_workers=self.runner.concurrency, thread_name_prefix="wxacode-batch") as pool:
            while pending or in_flight:
                while (
                    pending
                    and len(in_flight) < self.runner.concurrency
                    and self.interrupted is None
                    and not self.out_of_time
                    and self.runner.monotonic() < self.deadline
                ):
                    index = pending.popleft()
                    in_flight[pool.submit(self._one, index)] = index
                if not in_flight:
                    break
                finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for future in finished:
                    index = in_flight.pop(future)
                    if future.result() == "again":
                        pending.appendleft(index)
                if self.runner.monotonic() - last_save >= SAVE_EVERY_SECONDS:
                    self._save()
                    last_save = self.runner.monotonic()
        self._save()
        return self._close()

    def _one(self, index: int) -> str:
        """Process one item; "again" puts it back in the queue (rate limit, transient failure, no time)."""
        item = self.items[index]
        claim = ShareClaim(
            inviter=item["inviter"], product_id=item["productId"], channel=item["channel"], form="inline"
        )
        try:
            if item.get("kind") == "poster":
                from shared.codes.poster import parse_poster_request

                if self.posters is None:
                    raise ShareFunnelError("this runner makes no posters")
                request = parse_poster_request(item, item["page"])
                if request.template not in self.templates:  # read once per run, not once per poster
                    self.templates[request.template] = self.posters.templates.get(request.template)
                response = self.posters.poster(claim, request, self.templates[request.template])
            else:
                response = self.generator.generate(claim, parse_code_request(item, item["page"]).look)
        except OutOfTime:
            self.out_of_time = True
            return "stop"
        except RateLimited:
            self.pacer.slow_down()
            return "again"
        except ShareFunnelError as err:
            if err.retryable:
                self.attempts[index] = self.attempts.get(index, 0) + 1
                if self.attempts[index] < TRANSIENT_ATTEMPTS:
                    self.runner.sleep(0.5 * self.attempts[index])
                    return "again"
                self.interrupted = err
                return "stop"
            self.outcomes[index] = ("failed", {"index": index, "code": err.code, "message": err.message})
            return "done"
        self.outcomes[index] = ("cached" if response["cached"] else "generated", None)
        return "done"

    def _save(self) -> None:
        next_index = self.saved_next
        counts = {"generated": 0, "cached": 0, "failed": 0}
        failures = []
        while next_index in self.outcomes:
            kind, failure = self.outcomes.pop(next_index)
            counts[kind] += 1
            if failure:
                failures.append(failure)
            next_index += 1
        if next_index == self.saved_next:
            return
        self.runner.jobs.save_progress(
            self.job["_id"],
            self.owner,
            next_index,
            counts,
            failures,
            self.runner.clock.now(),
            self.runner._lease_until(),
        )
        self.saved_next = next_index

    def _close(self) -> str:
        jobs, job_id, now = self.runner.jobs, self.job["_id"], self.runner.clock.now()
        if self.saved_next >= len(self.items):
            done = jobs.get(job_id) or {}
            status = "done_with_errors" if done.get("failed") else "done"
            jobs.finish(job_id, self.owner, status, now, finishedAt=now, lastRunSlowdowns=self.pacer.slowdowns)
            log.event(
                "wxacode_batch_done",
                job=job_id,
                total=len(self.items),
                failed=done.get("failed", 0),
                slowdowns=self.pacer.slowdowns,
            )
            return status
        if self.interrupted is not None:
            jobs.finish(
                job_id,
                self.owner,
                "interrupted",
                now,
                lastError={"code": self.interrupted.code, "message": self.interrupted.message},
            )
            log.event("wxacode_batch_interrupted", job=job_id, next=self.saved_next, code=self.interrupted.code)
            return "interrupted"
        if self.runner.continuation is None:
            jobs.finish(job_id, self.owner, "paused", now)
            return "paused"
        status = hand_off(
            self.runner.continuation,
            lambda key: {"continueJob": job_id, "resumeKey": key},
            lambda status, fields: jobs.finish(job_id, self.owner, status, now, **fields),
        )
        log.event(
            "wxacode_batch_" + ("continued" if status == "continuing" else "paused"), job=job_id, next=self.saved_next
        )
        return status


def _new_job(job_id: str, items: list[dict[str, Any]], now: dt.datetime) -> dict[str, Any]:
    return {
        "_id": job_id,
        "items": items,
        "total": len(items),
        "status": "queued",
        "next": 0,
        "generated": 0,
        "cached": 0,
        "failed": 0,
        "failures": [],
        "runs": 1,
        "invocations": 0,
        "createdAt": now,
        "startedAt": now,
        "updatedAt": now,
    }


def _job_response(job: Mapping[str, Any]) -> dict[str, Any]:
    response = {
        "ok": True,
        "jobId": job["_id"],
        "status": job.get("status", "unknown"),
        "total": job.get("total", 0),
        "processed": job.get("next", 0),
        "generated": job.get("generated", 0),
        "cached": job.get("cached", 0),
        "failed": job.get("failed", 0),
        "failures": list(job.get("failures", []))[:20],
        "invocations": job.get("invocations", 0),
    }
    if job.get("lastError"):
        response["lastError"] = job["lastError"]
    return response
