"""dailyFunnel: recompute the daily funnel report rows (timer), or backfill a range (admins).

Thin glue: one domain call. A failed timer run raises, so SCF records the failure and retries it;
admin calls get the usual ``{ok: false, error}``.
"""
from shared import config, log, runtime
from shared.funnel_config import FunnelSettings
from shared.invocation import handle

# Cold start: validate both configurations now, naming any missing variable.
SETTINGS = config.settings()
FUNNEL = FunnelSettings.from_env()
log.set_level(SETTINGS.log_level)


def main_handler(event, context):
    response = handle("dailyFunnel", event, context, _daily_funnel)
    if isinstance(event, dict) and event.get("Type") == "Timer" and not response["ok"] \
            and response["error"].get("retryable"):
        raise RuntimeError(f"dailyFunnel failed ({response['error']['code']}); the timer invocation is retried")
    return response


def _daily_funnel(event, context):
    return runtime.funnel_service(FUNNEL).execute(event, context)
