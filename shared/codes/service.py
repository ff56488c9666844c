"""genWxacode's composition: whose codes may be drawn, then one generation through the cache, or a batch job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.codes.batch import BatchRequest, JobRequest, parse_gen_event
from shared.codes.links import LinkRequest
from shared.codes.settings import WxacodeSettings
from shared.platform import config, db, log
from shared.platform.admin import OPERATE, READ, admin_scopes
from shared.platform.clock import Clock
from shared.platform.continuation import deadline_for
from shared.platform.errors import Forbidden, NoIdentity, UnknownInviter
from shared.platform.identity import Caller, caller_identity
from shared.platform.instance import PerInstance, clock
from shared.sharing import MongoShareStore, ShareClaim, ensure_inviter_code, share_intent, share_path


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
        database: Any = None,
    ) -> None:
        self.generator, self.share_store, self.jobs, self.database = generator, share_store, jobs, database
        self.clock, self.config, self.wx = clock, config, wx
        self._poster_maker: Any = None

    def execute(self, call: CodeCall) -> dict[str, Any]:
        request, caller, context = call.request, call.caller, call.context
        if isinstance(request, JobRequest) and request.resume_key is not None:
            # A continuation this function started: the job's resume key authenticates it.
            return self._batch_runner(context).resume(request, deadline_for(context))
        scopes = admin_scopes(
            caller.openid if caller else None, call.admin_token, self.wx.admin_openids, self.wx.admin_token_secret
        )
        admin = OPERATE in scopes  # codes for any inviter, batches, templates
        if isinstance(request, (BatchRequest, JobRequest)):
            reading = isinstance(request, JobRequest) and not request.resume
            if not (admin or (reading and READ in scopes)):
                raise Forbidden("batch jobs are for admins only (the operate scope; read for a job's status)")
            runner = self._batch_runner(context)
            if isinstance(request, BatchRequest):
                for name in sorted({item["template"] for item in request.items if item.get("kind") == "poster"}):
                    self._posters().templates.get(name)  # an unknown template: BAD_INPUT before anything is written
                return runner.submit(request, deadline_for(context))
            return runner.resume(request, deadline_for(context)) if request.resume else runner.status(request)
        if type(request).__name__ in ("PosterRequest", "TemplateRequest"):  # by name: poster.py loads for posters only
            return self._poster_call(request, caller, admin)
        if isinstance(request, LinkRequest):
            inviter, for_self = self._whose(caller, admin, request.inviter, "links")
            claim = ShareClaim(inviter=inviter, product_id=request.product_id, channel=request.channel, form="query")
            response = self._links().link(claim, request)
            self._intent(caller if for_self else None, claim, request.page, "link")
            return response
        inviter, for_self = self._whose(caller, admin, request.inviter, "codes")
        claim = ShareClaim(inviter=inviter, product_id=request.product_id, channel=request.channel, form="inline")
        response = self.generator.generate(claim, request.look)
        self._intent(caller if for_self else None, claim, request.look.page, "genWxacode")
        return response

    def _poster_call(self, request: Any, caller: Caller | None, admin: bool) -> dict[str, Any]:
        from shared.codes.poster import TemplateRequest, save_template

        posters = self._posters()
        if isinstance(request, TemplateRequest):
            if not admin:
                raise Forbidden("poster templates are for admins only")
            return save_template(posters.templates, posters.files, request, self.clock.now())
        template = posters.templates.get(request.template)  # an unknown template writes nothing, no inviter code
        inviter, for_self = self._whose(caller, admin, request.inviter, "posters")
        claim = ShareClaim(inviter=inviter, product_id=request.product_id, channel=request.channel, form="inline")
        response: dict[str, Any] = posters.poster(claim, request, template)
        self._intent(caller if for_self else None, claim, request.page, "poster")
        # The share path too: a friend's copy of the poster sent from WeChat's share sheet opens it (entrancePath).
        return {**response, "path": share_path(request.page, claim.product_id, claim.inviter, request.channel)}

    def _posters(self) -> Any:
        """The poster maker, kept by the warm instance with its cache of template pictures and fonts."""
        if self._poster_maker is None:
            from shared.codes.poster import FileCache, PosterMaker
            from shared.codes.store import MongoPosterTemplates

            self._poster_maker = PosterMaker(
                self.generator,
                MongoPosterTemplates(self.database, self.config.collections),
                FileCache(self._read_file),
            )
        return self._poster_maker

    def _read_file(self, file_id: str, limit: int) -> bytes:
        """A stored file: CloudBase fileIDs (avatars the kit uploaded) through CloudBase storage whatever the
        configured backend, others through the configured one."""
        from shared.platform.storage import TcbStorage

        storage = self.generator.storage
        if file_id.startswith("cloud://") and not isinstance(storage, TcbStorage) and self.wx.storage.tcb_env:
            storage = TcbStorage(self.generator.wechat, self.wx.storage.tcb_env)
        data: bytes = storage.read(file_id, limit)
        return data

    def _whose(self, caller: Caller | None, admin: bool, inviter: str | None, what: str) -> tuple[str, bool]:
        """The inviter code a code or link carries, and whether it is the caller's own: the caller's (made on first
        use), or — for admins only — an existing sharer's."""
        own_code = self.share_store.inviter_code_of(caller.openid) if caller else None
        if inviter is not None and inviter != own_code:
            if not admin:
                raise Forbidden(f"{what} for other inviters are for admins only")
            if self.share_store.inviter_openid(inviter) is None:
                raise UnknownInviter(f"no sharer has the inviter code {inviter!r}")
            return inviter, False
        if caller is None:
            raise NoIdentity("no caller identity: pass an inviter with an admin token, or call from the mini program")
        return own_code or ensure_inviter_code(
            self.share_store, caller.openid, self.clock, self.config.inviter_code_length
        ), True

    def _intent(self, caller: Caller | None, claim: ShareClaim, page: str, source: str) -> None:
        """A sharer fetching their own code or link is a share intent (WeChat gives no share callbacks, so generated
        posters and links are the funnel's first step); recorded only once the code or link exists."""
        if caller is not None:
            self.share_store.add_share_intent(
                share_intent(
                    claim.inviter,
                    caller.openid,
                    claim.product_id,
                    claim.channel,
                    page,
                    self.clock.now(),
                    source=source,
                )
            )

    def _links(self) -> Any:
        from shared.codes.links import LinkMaker
        from shared.codes.store import MongoLinkStore

        return LinkMaker(
            self.generator.wechat,
            MongoLinkStore(self.database, self.config.collections),
            self.clock,
            self.wx.link_daily_quota,
        )

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
            posters=self._posters,
            lanes=self.wx.poster_lanes,
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
            generator, share_store, MongoJobStore(database, settings.collections), clock(), settings, wx, database
        )

    return _service.get(build)
