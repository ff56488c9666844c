"""recordShare's composition: its settings, its store on the configured database, and the one call the
handler makes (identity from the platform, the event parsed into a typed request, one use case)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Union

from shared.platform import config, db, log
from shared.platform.clock import Clock
from shared.platform.identity import Caller, caller_identity
from shared.platform.instance import PerInstance, clock
from shared.sharing.store import MongoShareStore
from shared.sharing.use_cases import LandingRequest, ShareRequest, parse_request, record_landing, start_share


@dataclass(frozen=True)
class ShareCall:
    caller: Caller
    request: Union[ShareRequest, LandingRequest]


def configure() -> config.Settings:
    """Cold start: validate the configuration now so a bad deployment fails its init, naming the variable."""
    settings = config.settings()
    log.set_level(settings.log_level)
    return settings


def parse_event(event: Any, context: Any, settings: config.Settings) -> ShareCall:
    caller = caller_identity(event, context)
    return ShareCall(caller, parse_request(event, settings.default_share_page))


class ShareService:
    def __init__(self, store: MongoShareStore, clock: Clock, config: config.Settings) -> None:
        self.store = store
        self.clock = clock
        self.config = config

    def execute(self, call: ShareCall) -> Dict[str, Any]:
        if isinstance(call.request, ShareRequest):
            return start_share(self.store, self.clock, call.caller, call.request,
                               self.config.inviter_code_length).to_response()
        return record_landing(self.store, self.clock, call.caller, call.request).to_response()


_service: PerInstance[ShareService] = PerInstance()


def share_service() -> ShareService:
    def build() -> ShareService:
        settings = config.settings()
        return ShareService(MongoShareStore(db.database(settings), settings.collections), clock(), settings)
    return _service.get(build)
