"""Which inviter an order is credited to: the attribution rule the funnel reports and the reward ledger pays by.

Pure functions and the records they read (a landing, a share intent, an order), no I/O. One order is credited to at
most one landing: the buyer's first-touch landing (``first_touch``) or their latest landing before the order
(``last_touch``), and only within ``window`` after it (``0 ≤ order − landing ≤ window``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from shared.orders import Order

MODELS = ("first_touch", "last_touch")
ENV_MODEL = "FUNNEL_MODEL"  # the names dailyFunnel has always read: the report and the ledger credit alike
ENV_WINDOW_DAYS = "FUNNEL_WINDOW_DAYS"
VARIABLES = (ENV_MODEL, ENV_WINDOW_DAYS)
ATTRIBUTION_VARIABLES = VARIABLES  # the name other wings import it by


class Attribution(NamedTuple):
    """The credit rule's configuration: which landing an order goes to, and how long after it."""

    model: str = "first_touch"
    window_days: int = 7

    @property
    def window(self) -> dt.timedelta:
        return dt.timedelta(days=self.window_days)


def read_attribution(read: Any) -> Attribution:
    """``FUNNEL_MODEL`` and ``FUNNEL_WINDOW_DAYS`` (problems added to ``read``, a ``platform.config.EnvReader``)."""
    model = read.text(ENV_MODEL, "first_touch") or ""
    if model not in MODELS:
        read.problems.append(f"{ENV_MODEL} must be one of {', '.join(MODELS)}")
    return Attribution(model, read.integer(ENV_WINDOW_DAYS, 7, 1, 90))


TOTAL_KEY = "*"  # the report row of everything
NONE_KEY = "(none)"  # the report row of a dimension a record has no value for


class Landing(NamedTuple):
    inviter: str
    invitee: str
    product: str
    channel: str | None
    entry: str | None
    at: dt.datetime
    new_user: bool = False
    group: str | None = None  # the group's alias (never the raw openGId)
    chat_type: str | None = None  # "group", "single", … as WeChat reported it

    def keys(self) -> dict[str, str]:
        return {
            "total": TOTAL_KEY,
            "inviter": self.inviter,
            "channel": self.channel or NONE_KEY,
            "entry": self.entry or NONE_KEY,
            "product": self.product,
            "group": self.group or NONE_KEY,
            "chatType": self.chat_type or NONE_KEY,
        }

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (self.at, self.inviter, self.product)


class Intent(NamedTuple):
    sharer: str
    product: str
    channel: str | None
    at: dt.datetime | None = None
    sharer_openid: str | None = None  # carried since the viral loop; None on older intents

    def keys(self) -> dict[str, str]:
        # Intents carry no launch scene, so they have no ``entry`` rows.
        return {
            "total": TOTAL_KEY,
            "inviter": self.sharer,
            "channel": self.channel or NONE_KEY,
            "product": self.product,
        }


class FirstTouch(NamedTuple):
    inviter: str
    product: str


def first_touches_of(landings: Iterable[Landing]) -> dict[str, FirstTouch]:
    """Each buyer's first touch, from their landings: the landing marked ``newUser`` is the one written together
    with the user's binding (``attribution.landing_is_first_sighting``; at most one per invitee, the landing key
    being unique), so it names the binding's (inviter, product) without reading the users collection. A buyer
    whose binding landing is on another day has none here, and rightly gets no credit on this day."""
    return {landing.invitee: FirstTouch(landing.inviter, landing.product) for landing in landings if landing.new_user}


def credit_orders(
    orders: Iterable[Order],
    landings: Iterable[Landing],
    first_touch: Mapping[str, FirstTouch],
    model: str,
    window: dt.timedelta,
) -> list[tuple[Order, Landing]]:
    """Which landing each order is credited to (orders credited to none are left out).

    ``landings`` must include every landing of the buyers that could be credited (for ``last_touch``:
    all of theirs up to the latest order). Ties at the same instant break by (inviter, product)."""
    by_user: dict[str, list[Landing]] = defaultdict(list)
    for landing in landings:
        by_user[landing.invitee].append(landing)
    for user_landings in by_user.values():
        user_landings.sort(key=lambda landing: landing.sort_key)
    credits = []
    for order in sorted(orders, key=lambda o: (o.at, o.order_id)):
        candidates = by_user.get(order.user, [])
        if model == "first_touch":
            touch = first_touch.get(order.user)
            chosen = next(
                (c for c in candidates if touch and (c.inviter, c.product) == (touch.inviter, touch.product)), None
            )
        else:
            before = [c for c in candidates if c.at <= order.at]
            chosen = before[-1] if before else None
        if chosen is not None and dt.timedelta(0) <= order.at - chosen.at <= window:
            credits.append((order, chosen))
    return credits
