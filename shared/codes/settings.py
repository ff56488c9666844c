"""genWxacode's own configuration (validated at its cold start; other functions never need it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.platform.admin import ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, admin_settings
from shared.platform.config import EnvReader
from shared.platform.continuation import VARIABLES as CONTINUATION_VARIABLES
from shared.platform.storage_settings import VARIABLES as STORAGE_VARIABLES
from shared.platform.storage_settings import StorageSettings, read_storage_settings
from shared.wechat import VARIABLES as WECHAT_VARIABLES
from shared.wechat import read_wechat_settings

ENV_RATE_PER_MIN = "WXACODE_RATE_PER_MIN"
ENV_LINK_DAILY_QUOTA = "WXALINK_DAILY_QUOTA"  # URL Links + Schemes a day, when others draw on WeChat's 500 000 too
ENV_CONCURRENCY = "WXACODE_CONCURRENCY"
ENV_POSTER_LANES = "WXACODE_POSTER_LANES"  # invocations rendering a large poster batch side by side

VARIABLES = (
    WECHAT_VARIABLES
    + STORAGE_VARIABLES
    + CONTINUATION_VARIABLES
    + (
        ENV_ADMIN_OPENIDS,
        ENV_ADMIN_TOKEN_SECRET,
        ENV_RATE_PER_MIN,
        ENV_CONCURRENCY,
        ENV_LINK_DAILY_QUOTA,
        ENV_POSTER_LANES,
    )
)


@dataclass(frozen=True)
class WxacodeSettings:
    appid: str
    appsecret: str
    api_base: str
    storage: StorageSettings
    admin_openids: frozenset[str]
    admin_token_secret: str | None
    rate_per_min: int
    concurrency: int
    link_daily_quota: int | None = None
    poster_lanes: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WxacodeSettings:
        read = EnvReader(env)

        wechat = read_wechat_settings(read, required=True)
        assert wechat is not None
        appid, secret, api_base = wechat.appid, wechat.appsecret, wechat.api_base
        storage = read_storage_settings(read)
        assert storage is not None  # the default backend is tcb

        integer = read.integer
        admins, secret_for_tokens = admin_settings(read)
        settings = cls(
            appid=appid,
            appsecret=secret,
            api_base=api_base,
            storage=storage,
            admin_openids=admins,
            admin_token_secret=secret_for_tokens,
            rate_per_min=integer(ENV_RATE_PER_MIN, 4500, 1, 5000),
            concurrency=integer(ENV_CONCURRENCY, 8, 1, 64),
            link_daily_quota=integer(ENV_LINK_DAILY_QUOTA, 0, 0, 500_000) or None,
            poster_lanes=integer(ENV_POSTER_LANES, 4, 1, 16),
        )
        read.check("genWxacode configuration")
        return settings
