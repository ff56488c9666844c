"""dailyFunnel: recompute the daily funnel report rows (timer), or backfill a range (admins).

Thin glue: who started it (the platform's timer or an admin) and the event parsed into a typed request, then
one service call. A failed timer run raises (in ``handle``), so SCF records the failure and retries it.
"""

from typing import Any

from shared.funnel.service import configure, funnel_service, parse_event
from shared.platform.invocation import handle

SETTINGS = configure()  # cold start: a bad configuration fails the init, naming the variable


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle("dailyFunnel", event, context, _daily_funnel)


def _daily_funnel(event: Any, context: Any) -> dict[str, Any]:
    return funnel_service(SETTINGS.funnel).execute(parse_event(event, context, SETTINGS))
