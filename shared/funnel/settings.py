"""dailyFunnel's configuration: attribution model and window, and where the app keeps its orders.

Conversions come from the app's own orders collection (the client never reports them); the field mapping
says which fields hold the buyer's openid, the time, the amount and, optionally, a status that must be paid.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from shared.orders import VARIABLES as ORDER_VARIABLES
from shared.orders import OrderMapping, read_amount_scale, read_order_mapping
from shared.platform.admin import ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, admin_settings
from shared.platform.config import ENV_TCB_ENV, EnvReader, environment_id
from shared.platform.continuation import VARIABLES as CONTINUATION_VARIABLES
from shared.platform.storage_settings import (
    ENV_STORAGE_BACKEND,
    StorageSettings,
    read_storage_settings,
)
from shared.platform.storage_settings import VARIABLES as STORAGE_VARIABLES
from shared.sharing import ATTRIBUTION_VARIABLES, read_attribution
from shared.wechat import VARIABLES as WECHAT_VARIABLES
from shared.wechat import WeChatSettings, read_wechat_settings

ENV_LATE_DAYS = "FUNNEL_LATE_DAYS"
ENV_CURRENCY = "REPORT_CURRENCY"  # symbol shown before amounts on the dashboard, e.g. ¥
ENV_INVITER_NAME_FIELD = "INVITER_NAME_FIELD"  # users' field with the name the dashboard shows for an inviter
ENV_CHUNK_DAYS = "FUNNEL_CHUNK_DAYS"  # days one invocation claims at a time
ENV_LANES = "FUNNEL_LANES"  # invocations computing one run's chunks side by side

VARIABLES = (
    ATTRIBUTION_VARIABLES
    + (ENV_LATE_DAYS,)
    + ORDER_VARIABLES
    + (
        ENV_ADMIN_OPENIDS,
        ENV_ADMIN_TOKEN_SECRET,
        ENV_CURRENCY,
        ENV_INVITER_NAME_FIELD,
        ENV_CHUNK_DAYS,
        ENV_LANES,
    )
    + STORAGE_VARIABLES
    + CONTINUATION_VARIABLES
    + WECHAT_VARIABLES
)

MAX_BACKFILL_DAYS = 400


class FunnelSettings(NamedTuple):
    model: str = "first_touch"
    window_days: int = 7
    late_days: int = 1
    orders: OrderMapping = OrderMapping()
    admin_openids: frozenset[str] = frozenset()
    admin_token_secret: str | None = None
    currency: str = "¥"
    amount_scale: int = 1
    inviter_name_field: str | None = None
    # Where the timer publishes the dashboard (None: not published; the CLI still writes it locally).
    dashboard_storage: StorageSettings | None = None
    wechat: WeChatSettings | None = None  # CloudBase storage uploads through the WeChat API
    chunk_days: int = 4
    lanes: int = 2

    @property
    def publishing_off_because(self) -> str | None:
        if self.dashboard_storage is None:
            return f"no storage: set {ENV_STORAGE_BACKEND}, or {ENV_TCB_ENV} with the WeChat credentials"
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FunnelSettings:
        read = EnvReader(env)
        text = read.text
        problems = read.problems

        attribution = read_attribution(read)
        orders = read_order_mapping(read)
        name_field = read.field_path(ENV_INVITER_NAME_FIELD)
        currency = text(ENV_CURRENCY, "¥") or ""
        if len(currency) > 8:
            problems.append(f"{ENV_CURRENCY} must be a short symbol such as ¥ or CNY")
        admins, secret = admin_settings(read)
        wechat = read_wechat_settings(read, required=False)
        explicit = read.text(ENV_STORAGE_BACKEND) is not None
        env_id = environment_id(read)
        storage = read_storage_settings(read, None if explicit or not (env_id and wechat) else "tcb")
        if storage is not None and storage.backend == "tcb" and wechat is None:
            problems.append(
                f"the WeChat credentials (WECHAT_APPID, WECHAT_APPSECRET) are required with "
                f"{ENV_STORAGE_BACKEND}=tcb: CloudBase storage uploads through the WeChat API"
            )
        settings = cls(
            model=attribution.model,
            window_days=attribution.window_days,
            late_days=read.integer(ENV_LATE_DAYS, 1, 0, 30),
            orders=orders,
            admin_openids=admins,
            admin_token_secret=secret,
            currency=currency,
            amount_scale=read_amount_scale(read),
            inviter_name_field=name_field,
            dashboard_storage=storage,
            wechat=wechat,
            chunk_days=read.integer(ENV_CHUNK_DAYS, 4, 1, 31),
            lanes=read.integer(ENV_LANES, 2, 1, 16),
        )
        read.check("dailyFunnel configuration")
        return settings
