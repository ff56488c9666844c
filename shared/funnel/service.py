"""dailyFunnel's composition: who may run it (the platform's timer or an admin), then one run over the days."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from shared.funnel.run import (
    MAX_VIEW_ROWS,
    ContinueRun,
    FunnelCall,
    Invocation,
    ResumeRun,
    RunStatus,
    ViewDashboard,
    authorize_funnel_call,
    continue_run,
    parse_funnel_request,
    run_funnel,
    run_summary,
    work_on_run,
)
from shared.funnel.settings import FunnelSettings
from shared.platform import config, db, log
from shared.platform.clock import Clock
from shared.platform.continuation import deadline_for, lease_until
from shared.platform.errors import BadInput, NotFound, Unavailable
from shared.platform.identity import invoker_of
from shared.platform.instance import PerInstance, clock


class FunnelConfig(NamedTuple):
    common: config.Settings
    funnel: FunnelSettings


def configure() -> FunnelConfig:
    """Cold start: validate both configurations now, naming any missing variable."""
    settings = FunnelConfig(config.settings(), FunnelSettings.from_env())
    log.set_level(settings.common.log_level)
    if settings.funnel.publishing_off_because:
        log.event("dashboard_publishing_off", reason=settings.funnel.publishing_off_because)
    return settings


def parse_event(event: Any, context: Any, settings: FunnelConfig) -> FunnelCall:
    started = time.monotonic()
    timer = authorize_funnel_call(invoker_of(event, context), event, settings.funnel)
    request = parse_funnel_request(event, timer, clock().now(), settings.funnel)
    limit_ms = db.time_limit_ms(context)
    return FunnelCall(request, started + limit_ms / 1000 if limit_ms else None, context)


class FunnelService:
    def __init__(self, store: Any, clock: Clock, settings: FunnelSettings, publisher: Any | None = None) -> None:
        self.store, self.clock, self.settings, self.publisher = store, clock, settings, publisher

    def execute(self, call: FunnelCall) -> dict[str, Any]:
        request = call.request
        if isinstance(request, ViewDashboard):
            return self.view(request)
        if isinstance(request, RunStatus):
            return {"ok": True, **self.status(request.run_id)}
        invocation = self.invocation(call.context)
        if isinstance(request, ContinueRun):
            result = continue_run(self.store, self.clock, self.settings, request.run_id, request.resume_key, invocation)
        elif isinstance(request, ResumeRun):
            self.status(request.run_id)  # NOT_FOUND for a run that does not exist
            result = work_on_run(self.store, self.clock, self.settings, request.run_id, invocation)
        else:
            result = run_funnel(self.store, self.clock, self.settings, request.days, request.trigger, invocation)
        if result.get("status") == "failed":
            raise Unavailable(
                f"the funnel run failed: {result.get('error', 'see its run document')}", runId=result["runId"]
            )
        if result.pop("finalized", False) and result.get("trigger") == "timer" and self.publisher is not None:
            result["dashboard"] = self.publisher.publish(result["runId"], self.clock.now(), call.deadline)
        return result

    def invocation(self, context: Any) -> Invocation:
        """This invocation's budget for a run: its deadline, a lease until it is certainly over, its continuation."""
        if context is None:  # not through a handler (tests of the service itself)
            return Invocation()
        from shared.platform.continuation import ScfInvokeContinuation

        return Invocation(
            deadline=deadline_for(context),
            lease_end=lease_until(self.clock.now(), context),
            continuation=ScfInvokeContinuation.from_context(context),
        )

    def status(self, run_id: str) -> dict[str, Any]:
        """A run's progress for an admin: its days, chunks by state, hand-offs, invocations and last error."""
        run = self.store.run(run_id)
        if run is None:
            raise NotFound(f"no funnel run {run_id!r}")
        chunks = self.store.chunks_of(run_id)
        states: dict[str, int] = {}
        for chunk in chunks:
            states[chunk["state"]] = states.get(chunk["state"], 0) + 1
        done = sum(len(chunk.get("checksums", [])) for chunk in chunks)
        return {**run_summary(run, self.clock.now()), "chunkStates": states, "daysDone": done}

    def view(self, request: ViewDashboard) -> dict[str, Any]:
        """The latest published dashboard and a range's summary and rows, for an app's own admin page."""
        from shared.funnel.dashboard import load_model

        first, last = request.days[0], request.days[-1]
        model, rows = load_model(self.store, self.settings, first, last)
        chosen = sorted(
            (r for r in rows if r["date"] >= first.isoformat() and r["dim"] in request.dims), key=lambda r: r["_id"]
        )
        if len(chosen) > MAX_VIEW_ROWS:
            raise BadInput(
                f"{len(chosen)} rows: at most {MAX_VIEW_ROWS} per call; narrow the range or the dims", field="dims"
            )
        return {
            "ok": True,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "dashboard": self.publisher.latest() if self.publisher is not None else None,
            "summary": model,
            "rows": chosen,
        }


def funnel_store(funnel_settings: FunnelSettings) -> Any:
    from shared.funnel.store import MongoFunnelStore

    settings = config.settings()
    store = MongoFunnelStore(
        db.database(settings), settings.collections, funnel_settings.orders, db.orders_database(settings)
    )
    store.ensure_indexes()
    return store


_service: PerInstance[FunnelService] = PerInstance()


def dashboard_publisher(store: Any, funnel_settings: FunnelSettings) -> Any | None:
    """The publisher when a storage is configured; its storage (and, for CloudBase, the WeChat client) is made
    on first use, so a run without publishing loads neither."""
    storage_settings = funnel_settings.dashboard_storage
    if storage_settings is None:
        return None
    from shared.funnel.publish import DashboardPublisher

    def storage() -> Any:
        from shared.platform.storage import open_storage

        wechat = None
        if storage_settings.backend == "tcb" and funnel_settings.wechat is not None:
            from shared.wechat import client_with_shared_token

            settings = config.settings()
            wechat = client_with_shared_token(
                funnel_settings.wechat, db.database(settings), settings.collections, clock()
            )
        return open_storage(storage_settings, wechat)

    return DashboardPublisher(store, funnel_settings, storage)


def funnel_service(funnel_settings: FunnelSettings) -> FunnelService:
    def build() -> FunnelService:
        store = funnel_store(funnel_settings)
        return FunnelService(store, clock(), funnel_settings, dashboard_publisher(store, funnel_settings))

    return _service.get(build)
