"""genWxacode's composition: whose codes may be drawn, then one generation through the cache, or a batch job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.codes.batch import BatchRequest, JobRequest, parse_gen_event
from shared.codes.settings import WxacodeSettings
from shared.platform import config, db, log
from shared.platform.admin import is_admin
from shared.platform.clock import Clock
from shared.platform.continuation import deadline_for
from shared.platform.errors import Forbidden, NoIdentity, UnknownInviter
from shared.platform.identity import Caller, caller_identity
from shared.platform.instance import PerInstance, clock
from shared.sharing import MongoShareStore, ShareClaim, ensure_inviter_code, share_intent


@dataclass(frozen=True)
class CodeCall:
    caller: Caller | None  # absent for an ops call with an admin token
    admin_token: Any
    request: Any  # CodeRequest | BatchRequest | JobRequest
    context: Any  # the invocation's time limit and function name, for batch continuation


@dataclass(frozen=True)
class CodeSettings:
    common: config.Settings
    wx: WxacodeSettings


def configure() -> CodeSettings:
    """Cold start: validate both configurations now, naming any missing variable."""
    settings = CodeSettings(config.settings(), WxacodeSettings.from_env())
    log.set_level(settings.common.log_level)
    return settings


def parse_event(event: Any, context: Any, settings: CodeSettings) -> CodeCall:
    request = parse_gen_event(event, settings.common.default_share_page)
    try:
        caller: Caller | None = caller_identity(event, context)
    except NoIdentity:
        caller = None  # an ops call with an admin token; the service decides
    return CodeCall(caller, event.get("adminToken"), request, context)


class WxacodeService:
    def __init__(
        self,
        generator: Any,
        share_store: MongoShareStore,
        jobs: Any,
        clock: Clock,
        config: config.Settings,
        wx: WxacodeSettings,
    ) -> None:
        self.generator, self.share_store, self.jobs = generator, share_store, jobs
        self.clock, self.config, self.wx = clock, config, wx

    def execute(self, call: CodeCall) -> dict[str, Any]:
        request, caller, context = call.request, call.caller, call.context
        if isinstance(request, JobRequest) and request.resume_key is not None:
            # A continuation this function started: the job's resume key authenticates it.
            return self._batch_runner(context).resume(request, deadline_for(context))
        admin = is_admin(
            caller.openid if caller else None, call.admin_token, self.wx.admin_openids, self.wx.admin_token_secret
        )
        if isinstance(request, (BatchRequest, JobRequest)):
            if not admin:
                raise Forbidden("batch jobs are for admins only")
            runner = self._batch_runner(context)
            if isinstance(request, BatchRequest):
                return runner.submit(request, deadline_for(context))
            return runner.resume(request, deadline_for(context)) if request.resume else runner.status(request)
        return self._single(caller, admin, request)

    def _single(self, caller: Caller | None, admin: bool, request: Any) -> dict[str, Any]:
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
            inviter = own_code or ensure_inviter_code(
                self.share_store, caller.openid, self.clock, self.config.inviter_code_length
            )
        claim = ShareClaim(inviter=inviter, product_id=request.product_id, channel=request.channel, form="inline")
        response = self.generator.generate(claim, request.look)
        if for_self and caller is not None:  # always true together: for_self without a caller was refused above
            # A sharer fetching their own poster code is a share intent (WeChat gives no share callbacks, so
            # generated posters and links are the funnel's first step); recorded only once the code exists.
            self.share_store.add_share_intent(
                share_intent(
                    inviter,
                    caller.openid,
                    request.product_id,
                    request.channel,
                    request.look.page,
                    self.clock.now(),
                    source="genWxacode",
                )
            )
        return response

    def _batch_runner(self, context: Any) -> Any:
        from shared.codes.batch import BatchRunner
        from shared.platform.continuation import ScfInvokeContinuation

        return BatchRunner(
            jobs=self.jobs,
            generator=self.generator,
            share_store=self.share_store,
            clock=self.clock,
            rate_per_min=self.wx.rate_per_min,
            concurrency=self.wx.concurrency,
            continuation=ScfInvokeContinuation.from_context(context),
        )


_service: PerInstance[WxacodeService] = PerInstance()


def wxacode_service(wx: WxacodeSettings) -> WxacodeService:
    def build() -> WxacodeService:
        from shared.codes.generator import CodeGenerator
        from shared.codes.store import MongoCodeCache, MongoJobStore
        from shared.platform.storage import open_storage
        from shared.wechat import client_with_shared_token

        settings = config.settings()
        database = db.database(settings)
        wechat = client_with_shared_token(wx, database, settings.collections, clock())
        share_store = MongoShareStore(database, settings.collections)
        generator = CodeGenerator(
            appid=wx.appid,
            wechat=wechat,
            storage=open_storage(wx.storage, wechat),
            cache=MongoCodeCache(database, settings.collections),
            share_store=share_store,
            clock=clock(),
        )
        return WxacodeService(
            generator, share_store, MongoJobStore(database, settings.collections), clock(), settings, wx
        )

    return _service.get(build)
