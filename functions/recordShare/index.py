"""recordShare: the mini program's share/landing API (wx.cloud.callFunction).

Thin glue: identity from the platform and the event parsed into a typed call, then one service call.
"""

from typing import Any

from shared.platform.invocation import handle
from shared.sharing.service import configure, parse_event, share_service

SETTINGS = configure()  # cold start: a bad configuration fails the init, naming the variable


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle("recordShare", event, context, _record_share)


def _record_share(event: Any, context: Any) -> dict[str, Any]:
    return share_service(SETTINGS).execute(parse_event(event, context, SETTINGS))
