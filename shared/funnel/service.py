"""dailyFunnel's composition: who may run it (the platform's timer or an admin), then one run over the days."""
from __future__ import annotations

from typing import Any, Dict, NamedTuple

from shared.platform import config, db, log
from shared.platform.clock import Clock
from shared.platform.identity import invoker_of
from shared.platform.instance import PerInstance, clock
from shared.funnel.run import FunnelRequest, authorize_funnel_call, parse_funnel_request, run_funnel
from shared.funnel.settings import FunnelSettings


class FunnelConfig(NamedTuple):
    common: config.Settings
    funnel: FunnelSettings


def configure() -> FunnelConfig:
    """Cold start: validate both configurations now, naming any missing variable."""
    settings = FunnelConfig(config.settings(), FunnelSettings.from_env())
    log.set_level(settings.common.log_level)
    return settings


def parse_event(event: Any, context: Any, settings: FunnelConfig) -> FunnelRequest:
    timer = authorize_funnel_call(invoker_of(event, context), event, settings.funnel)
    return parse_funnel_request(event, timer, clock().now(), settings.funnel)


class FunnelService:
    def __init__(self, store: Any, clock: Clock, settings: FunnelSettings) -> None:
        self.store, self.clock, self.settings = store, clock, settings

    def execute(self, request: FunnelRequest) -> Dict[str, Any]:
        return run_funnel(self.store, self.clock, self.settings, request.days, request.trigger)


def funnel_store(funnel_settings: FunnelSettings) -> Any:
    from shared.funnel.store import MongoFunnelStore

    settings = config.settings()
    store = MongoFunnelStore(db.database(settings), settings.collections, funnel_settings.orders)
    store.ensure_indexes()
    return store


_service: PerInstance[FunnelService] = PerInstance()


def funnel_service(funnel_settings: FunnelSettings) -> FunnelService:
    return _service.get(lambda: FunnelService(funnel_store(funnel_settings), clock(), funnel_settings))
