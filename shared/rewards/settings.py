"""The reward programme's published, fixed rules (configured once, validated at cold start). Which orders count is
the orders wing's mapping and the credit rule is the sharing wing's (model and window): the same variables, read by
the same code, as the funnel's report."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from shared.orders import VARIABLES as ORDER_VARIABLES
from shared.orders import OrderMapping, read_amount_scale, read_order_mapping
from shared.platform.admin import ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, admin_settings
from shared.platform.config import EnvReader
from shared.platform.continuation import VARIABLES as CONTINUATION_VARIABLES
from shared.platform.money import ROUNDINGS
from shared.sharing import (
    ATTRIBUTION_VARIABLES,
    RELATIONSHIP_VARIABLES,
    Attribution,
    read_attribution,
    read_relationship_rule,
)

ENV_PROGRAMME = "REWARD_PROGRAMME"
ENV_FIXED = "REWARD_FIXED"
ENV_PERCENT = "REWARD_PERCENT"
ENV_ORDERS = "REWARD_ORDERS"
ENV_HOLDING_DAYS = "REWARD_HOLDING_DAYS"
ENV_REFUND_WINDOW_DAYS = "REWARD_REFUND_WINDOW_DAYS"
ENV_CAP_DAY = "REWARD_CAP_PER_DAY"
ENV_CAP_MONTH = "REWARD_CAP_PER_MONTH"
ENV_BATCH = "REWARD_BATCH"
ENV_NOTICE_TEMPLATE = "REWARD_NOTICE_TEMPLATE"
ENV_ROUNDING = "REWARD_ROUNDING"
ENV_ATTRIBUTION = "REWARD_ATTRIBUTION"  # funnel: the report's window rule; relationship: the relationship in force
ATTRIBUTIONS = ("funnel", "relationship")
VARIABLES = (
    (
        ENV_ATTRIBUTION,
        ENV_ROUNDING,
        ENV_PROGRAMME,
        ENV_FIXED,
        ENV_PERCENT,
        ENV_ORDERS,
        ENV_HOLDING_DAYS,
        ENV_REFUND_WINDOW_DAYS,
        ENV_CAP_DAY,
        ENV_CAP_MONTH,
        ENV_BATCH,
        ENV_NOTICE_TEMPLATE,
        ENV_ADMIN_OPENIDS,
        ENV_ADMIN_TOKEN_SECRET,
    )
    + CONTINUATION_VARIABLES
    + ATTRIBUTION_VARIABLES
    + ORDER_VARIABLES
    + RELATIONSHIP_VARIABLES
)
ORDER_RULES = ("first", "every")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")


class RewardSettings(NamedTuple):
    programme: str = "default"
    fixed: float = 0.0  # per converting invitee (on the credited order), in the orders' amount unit
    percent: float = 0.0  # of the credited order's amount
    orders: str = "first"  # "first": only an invitee's first credited paid order earns; "every": each one
    holding_days: int = 14  # pending → approved after this long (at least the refund window)
    refund_window_days: int = 7
    cap_per_day: int = 0  # rewards per inviter per Shanghai day / month (0: no cap); over it: rejected
    cap_per_month: int = 0
    batch: int = 2000  # orders (and rewards) looked at per settlement pass: bounded work per run
    notice_template: str | None = None
    admin_openids: frozenset[str] = frozenset()
    admin_token_secret: str | None = None
    attribution: Attribution = Attribution()  # which landing an order is credited to (the funnel's rule)
    credit_by: str = "funnel"  # REWARD_ATTRIBUTION: "funnel" (that rule) or "relationship" (the one in force)
    extend_days: int = 0  # BIND_ORDER_EXTEND_DAYS: a credited order keeps its relationship at least this long
    order_source: OrderMapping = OrderMapping()  # where the app keeps its orders, which count as paid
    amount_scale: int = 1  # the orders' amount units per yuan
    rounding: str = "half_up"  # a reward is rounded once, to a whole fen: half_up, half_even or down

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RewardSettings:
        read = EnvReader(env)

        def amount(name: str) -> float:
            raw = read.text(name, "0") or "0"
            if not _AMOUNT.fullmatch(raw):
                read.problem(f"{name} must be a non-negative amount with at most 2 decimals, got {raw!r}")
                return 0.0
            return float(raw)

        programme = read.text(ENV_PROGRAMME, "default") or ""
        if not _NAME.fullmatch(programme):
            read.problem(f"{ENV_PROGRAMME} must be 1-40 of A-Z a-z 0-9 _ -")
        fixed, percent = amount(ENV_FIXED), amount(ENV_PERCENT)
        if percent > 100:
            read.problem(f"{ENV_PERCENT} must be at most 100")
        if fixed == 0 and percent == 0:
            read.problem(f"set {ENV_FIXED} and/or {ENV_PERCENT}: a programme rewards something fixed and published")
        orders = read.text(ENV_ORDERS, "first")
        if orders not in ORDER_RULES:
            read.problem(f"{ENV_ORDERS} must be one of {', '.join(ORDER_RULES)}")
        refund_window = read.integer(ENV_REFUND_WINDOW_DAYS, 7, 0, 365)
        holding = read.integer(ENV_HOLDING_DAYS, max(14, refund_window), 0, 365)
        if holding < refund_window:
            read.problem(
                f"{ENV_HOLDING_DAYS} ({holding}) must be at least {ENV_REFUND_WINDOW_DAYS} ({refund_window}): "
                "a reward is approved only once its order can no longer be refunded"
            )
        template = read.text(ENV_NOTICE_TEMPLATE)
        if template is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", template):
            read.problem(f"{ENV_NOTICE_TEMPLATE} is not a subscribe-message template id")
        admins, secret = admin_settings(read)
        credit_by = read.text(ENV_ATTRIBUTION, "funnel") or ""
        if credit_by not in ATTRIBUTIONS:
            read.problem(f"{ENV_ATTRIBUTION} must be one of {', '.join(ATTRIBUTIONS)}")
        rounding = (read.text(ENV_ROUNDING, "half_up") or "").lower()
        if rounding not in ROUNDINGS:
            read.problem(f"{ENV_ROUNDING} must be one of {', '.join(ROUNDINGS)}")
        settings = cls(
            programme=programme,
            fixed=fixed,
            percent=percent,
            orders=orders or "first",
            holding_days=holding,
            refund_window_days=refund_window,
            cap_per_day=read.integer(ENV_CAP_DAY, 0, 0, 100000),
            cap_per_month=read.integer(ENV_CAP_MONTH, 0, 0, 1000000),
            batch=read.integer(ENV_BATCH, 2000, 10, 50000),
            notice_template=template,
            admin_openids=admins,
            admin_token_secret=secret,
            rounding=rounding,
            attribution=read_attribution(read),
            credit_by=credit_by,
            extend_days=read_relationship_rule(read).order_extend_days,
            order_source=read_order_mapping(read),
            amount_scale=read_amount_scale(read),
        )
        read.check("rewards configuration")
        return settings
