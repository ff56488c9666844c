"""rewards: settle the invitation-reward ledger and reconcile payouts (timer), pay out and export (admins), let an
inviter read their rewards, withdraw into WeChat 零钱 and record subscribe-message accepts (the mini program), and
take WeChat Pay's transfer callbacks (its one HTTP path, through CloudBase's HTTP access).

Thin glue: who started it and the event parsed into a typed call, then one service call. A failed timer run raises
(in ``handle``), so SCF records the failure and retries it.
"""

from typing import Any

from shared.platform.invocation import handle
from shared.rewards.service import (
    callback_answer,
    configure,
    is_http_request,
    parse_event,
    parse_http_event,
    reward_service,
)

SETTINGS = configure()  # cold start: a bad configuration fails the init, naming the variable


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    if is_http_request(event):
        return callback_answer(handle("rewards", event, context, _callback))
    return handle("rewards", event, context, _rewards)


def _rewards(event: Any, context: Any) -> dict[str, Any]:
    return reward_service(SETTINGS).execute(parse_event(event, context, SETTINGS))


def _callback(event: Any, context: Any) -> dict[str, Any]:
    return reward_service(SETTINGS).execute(parse_http_event(event, context))
