"""genWxacode: an unlimited Mini Program Code carrying the caller's inviter code and a product, or a batch
of codes for admins (a resumable job that continues itself in follow-up invocations).

Thin glue: identity from the platform (optional for admin-token calls) and the event parsed into a typed call,
then one service call.
"""

from typing import Any

from shared.codes.service import configure, parse_event, wxacode_service
from shared.platform.invocation import handle

SETTINGS = configure()  # cold start: a bad configuration fails the init, naming the variable


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle("genWxacode", event, context, _gen_wxacode)


def _gen_wxacode(event: Any, context: Any) -> dict[str, Any]:
    return wxacode_service(SETTINGS.wx).execute(parse_event(event, context, SETTINGS))
