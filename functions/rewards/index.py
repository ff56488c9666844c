"""rewards: settle the invitation-reward ledger (timer), pay out and export (admins), and show an inviter their own
rewards and record subscribe-message accepts (the mini program).

Thin glue: who started it and the event parsed into a typed call, then one service call. A failed timer run raises
(in ``handle``), so SCF records the failure and retries it.
"""

from typing import Any

from shared.platform.invocation import handle
from shared.rewards.service import configure, parse_event, reward_service

SETTINGS = configure()  # cold start: a bad configuration fails the init, naming the variable


def main_handler(event: Any, context: Any) -> dict[str, Any]:
    return handle("rewards", event, context, _rewards)


def _rewards(event: Any, context: Any) -> dict[str, Any]:
    return reward_service(SETTINGS).execute(parse_event(event, context, SETTINGS))
