"""recordShare: the mini program's share/landing API (wx.cloud.callFunction).

Thin glue: identity from the platform, the event parsed into a typed request, one domain call.
"""
from shared import config, log, runtime
from shared.identity import caller_identity
from shared.invocation import handle
from shared.sharing import parse_request

# Cold start: validate the configuration now so a bad deployment fails its init, naming the variable.
SETTINGS = config.settings()
log.set_level(SETTINGS.log_level)


def main_handler(event, context):
    return handle("recordShare", event, context, _record_share)


def _record_share(event, context):
    caller = caller_identity(event, context)
    request = parse_request(event, SETTINGS.default_share_page)
    return runtime.share_service().execute(caller, request)
