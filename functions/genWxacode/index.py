"""genWxacode: an unlimited Mini Program Code carrying the caller's inviter code and a product, or a batch
of codes for admins (a resumable job that continues itself in follow-up invocations).

Thin glue: identity from the platform (optional for admin-token calls), the event parsed into a typed
request, one domain call.
"""
from shared import config, log, runtime
from shared.errors import NoIdentity
from shared.identity import caller_identity
from shared.invocation import handle
from shared.wxacode_batch import parse_gen_event
from shared.wxacode_config import WxacodeSettings

# Cold start: validate both configurations now, naming any missing variable.
SETTINGS = config.settings()
WXACODE = WxacodeSettings.from_env()
log.set_level(SETTINGS.log_level)


def main_handler(event, context):
    return handle("genWxacode", event, context, _gen_wxacode)


def _gen_wxacode(event, context):
    request = parse_gen_event(event, SETTINGS.default_share_page)
    try:
        caller = caller_identity(event, context)
    except NoIdentity:
        caller = None  # an ops call with an admin token; the service decides
    return runtime.wxacode_service(WXACODE).execute(caller, event.get("adminToken"), request, context)
