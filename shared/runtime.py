"""Composition root: the adapters a warm instance reuses across invocations.

Configuration is validated at import of a handler (cold start); the database is connected on the
first call that needs it, so a brief outage at init costs one ``UNAVAILABLE``, not a dead instance.
"""
from __future__ import annotations

import threading
from typing import Any, Dict, Optional, Union

from . import db
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
    global _clock, _service
    _clock = clock
    _service = None


def reset() -> None:
    global _service, _clock
    _service = None
    _clock = SystemClock()
