"""Composition root: the adapters a warm instance reuses across invocations.

Configuration is validated at import of a handler (cold start); the database is connected on the
first call that needs it, so a brief outage at init costs one ``UNAVAILABLE``, not a dead instance.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Optional, Union

from . import db, log
from .clock import Clock, SystemClock
from .config import Settings, settings as current_settings
from .identity import Caller
from .mongo_store import MongoShareStore
from .sharing import LandingRequest, ShareRequest, record_landing, start_share


class ShareService:
    def __init__(self, store: MongoShareStore, clock: Clock, config: Settings) -> None:
        self.store = store
        self.clock = clock
        self.config = config

    def execute(self, caller: Caller, request: Union[ShareRequest, LandingRequest]) -> Dict[str, Any]:
        if isinstance(request, ShareRequest):
            return start_share(self.store, self.clock, caller, request, self.config.inviter_code_length).to_response()
        return record_landing(self.store, self.clock, caller, request).to_response()


_lock = threading.Lock()
_service: Optional[ShareService] = None
_clock: Clock = SystemClock()


def share_service() -> ShareService:
    global _service
    if _service is None:
        with _lock:
            if _service is None:
                config = current_settings()
                store = MongoShareStore(db.database(config), config.collections)
                _service = ShareService(store, _clock, config)
    return _service


def use_clock(clock: Clock) -> None:
    """Swap the clock (the demo's simulated campaign, tests). Takes effect for new services."""
    global _clock, _service, _wx_service, _funnel_service
    _clock = clock
    _service = _wx_service = _funnel_service = None


def reset() -> None:
    global _service, _clock, _wx_service, _funnel_service
    _service = _wx_service = _funnel_service = None
    _clock = SystemClock()


class WxacodeService:
    """genWxacode: whose codes may be drawn, then one generation through the cache, or a batch job."""

    def __init__(self, generator: Any, share_store: MongoShareStore, jobs: Any, clock: Clock, config: Settings,
                 wx: Any) -> None:
        self.generator, self.share_store, self.jobs = generator, share_store, jobs
        self.clock, self.config, self.wx = clock, config, wx

    def execute(self, caller: Optional[Caller], admin_token: Any, request: Any, context: Any = None) -> Dict[str, Any]:
        from .admin import is_admin
        from .errors import Forbidden
        from .wxacode_batch import BatchRequest, JobRequest, deadline_for

        if isinstance(request, JobRequest) and request.resume_key is not None:
            # A continuation this function started: the job's resume key authenticates it.
            return self._batch_runner(context).resume(request, deadline_for(context))
        admin = is_admin(caller.openid if caller else None, admin_token, self.wx.admin_openids, self.wx.admin_token_secret)
        if isinstance(request, (BatchRequest, JobRequest)):
            if not admin:
                raise Forbidden("batch jobs are for admins only")
            runner = self._batch_runner(context)
            if isinstance(request, BatchRequest):
                return runner.submit(request, deadline_for(context))
            return runner.resume(request, deadline_for(context)) if request.resume else runner.status(request)
        return self._single(caller, admin, request)

    def _single(self, caller: Optional[Caller], admin: bool, request: Any) -> Dict[str, Any]:
        from .errors import Forbidden, NoIdentity, UnknownInviter
        from .scene import ShareClaim
        from .sharing import ensure_inviter_code

        own_code = self.share_store.inviter_code_of(caller.openid) if caller else None
        for_self = request.inviter is None or request.inviter == own_code
        if not for_self:
            if not admin:
                raise Forbidden("codes for other inviters are for admins only")
            if self.share_store.inviter_openid(request.inviter) is None:
                raise UnknownInviter(f"no sharer has the inviter code {request.inviter!r}")
            inviter = request.inviter
        elif caller is None:
            raise NoIdentity("no caller identity: pass an inviter with an admin token, or call from the mini program")
        else:
            inviter = own_code or ensure_inviter_code(self.share_store, caller.openid, self.clock,
                                                      self.config.inviter_code_length)
        claim = ShareClaim(inviter=inviter, product_id=request.product_id, channel=request.channel, form="inline")
        response = self.generator.generate(claim, request.look)
        if for_self:
            # A sharer fetching their own poster code is a share intent (WeChat gives no share callbacks, so
            # generated posters and links are the funnel's first step); recorded only once the code exists.
            self.share_store.add_share_intent({"sharer": inviter, "productId": request.product_id,
                                               "channel": request.channel, "page": request.look.page,
                                               "at": self.clock.now(), "source": "genWxacode"})
        return response

    def _batch_runner(self, context: Any) -> Any:
        from .continuation import ScfInvokeContinuation
        from .wxacode_batch import BatchRunner

        return BatchRunner(jobs=self.jobs, generator=self.generator, share_store=self.share_store, clock=self.clock,
                           rate_per_min=self.wx.rate_per_min, concurrency=self.wx.concurrency,
                           continuation=ScfInvokeContinuation.from_context(context))


_wx_service: Optional[WxacodeService] = None


def build_storage(wx: Any, wechat: Any) -> Any:
    from .storage import CosStorage, LocalStorage, TcbStorage

    if wx.storage_backend == "tcb":
        return TcbStorage(wechat, wx.tcb_env)
    if wx.storage_backend == "cos":
        return CosStorage(wx.cos_bucket, wx.cos_region, wx.cos_endpoint)
    return LocalStorage(wx.local_storage_dir)


def wxacode_service(wx: Any) -> WxacodeService:
    global _wx_service
    if _wx_service is None:
        with _lock:
            if _wx_service is None:
                from .mongo_store import MongoCodeCache, MongoJobStore, MongoTokenStore
                from .wechat import WeChatClient
                from .wxacode import CodeGenerator

                config = current_settings()
                database = db.database(config)
                wechat = WeChatClient(wx.appid, wx.appsecret, wx.api_base, _clock,
                                      token_store=MongoTokenStore(database, config.collections))
                share_store = MongoShareStore(database, config.collections)
                generator = CodeGenerator(appid=wx.appid, wechat=wechat, storage=build_storage(wx, wechat),
                                          cache=MongoCodeCache(database, config.collections),
                                          share_store=share_store, clock=_clock)
                _wx_service = WxacodeService(generator, share_store, MongoJobStore(database, config.collections),
                                             _clock, config, wx)
    return _wx_service


class FunnelService:
    """dailyFunnel: who may run it, then one run over the requested days."""

    def __init__(self, store: Any, clock: Clock, settings: Any) -> None:
        self.store, self.clock, self.settings = store, clock, settings

    def execute(self, event: Any, context: Any) -> Dict[str, Any]:
        from .errors import NoIdentity
        from .funnel_run import authorize_funnel_call, parse_funnel_request, run_funnel
        from .identity import caller_identity, platform_environment, timer_evidence

        timer_event = isinstance(event, dict) and event.get("Type") == "Timer"
        try:
            openid: Optional[str] = caller_identity(event, context).openid
        except NoIdentity:
            openid = None
        evidence = timer_evidence(context)
        if timer_event and not evidence:
            # Either a client forging the event, or a runtime that does not report timers as documented: the
            # names of what the platform sent (never values) tell the two apart on a first deployment.
            log.event("timer_event_rejected", level=logging.ERROR, openid_present=openid is not None,
                      context_keys=sorted(context) if isinstance(context, dict) else None,
                      environment_keys=sorted(platform_environment(context)))
        timer = authorize_funnel_call(event, timer_event, evidence, openid, self.settings)
        request = parse_funnel_request(event, timer, self.clock.now(), self.settings)
        if timer:
            log.event("funnel_timer", time=event.get("Time"), trigger=event.get("TriggerName"))
        return run_funnel(self.store, self.clock, self.settings, request.days, request.trigger)


_funnel_service: Optional[FunnelService] = None


def funnel_store(funnel_settings: Any) -> Any:
    from .mongo_funnel import MongoFunnelStore

    config = current_settings()
    store = MongoFunnelStore(db.database(config), config.collections, funnel_settings.orders)
    store.ensure_indexes()
    return store


def funnel_service(funnel_settings: Any) -> FunnelService:
    global _funnel_service
    if _funnel_service is None:
        with _lock:
            if _funnel_service is None:
                _funnel_service = FunnelService(funnel_store(funnel_settings), _clock, funnel_settings)
    return _funnel_service
