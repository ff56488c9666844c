"""genWxacode's own configuration (validated at its cold start; other functions never need it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Mapping, Optional

from shared.platform.admin import ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, admin_settings  # noqa: F401 (re-exported names)
from shared.platform.config import EnvReader
from shared.wechat import VARIABLES as WECHAT_VARIABLES, read_wechat_settings

from shared.platform.storage_settings import VARIABLES as STORAGE_VARIABLES, StorageSettings, read_storage_settings

ENV_RATE_PER_MIN = "WXACODE_RATE_PER_MIN"
ENV_CONCURRENCY = "WXACODE_CONCURRENCY"

ENV_SCF_API_ENDPOINT = "SCF_API_ENDPOINT"  # read by shared.codes.continuation when a batch continues
VARIABLES = WECHAT_VARIABLES + STORAGE_VARIABLES + (ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, ENV_RATE_PER_MIN,
                                                    ENV_CONCURRENCY, ENV_SCF_API_ENDPOINT)


@dataclass(frozen=True)
class WxacodeSettings:
    appid: str
    appsecret: str
    api_base: str
    storage: StorageSettings
    admin_openids: FrozenSet[str]
    admin_token_secret: Optional[str]
    rate_per_min: int
    concurrency: int

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "WxacodeSettings":
        read = EnvReader(env)

        wechat = read_wechat_settings(read, required=True)
        assert wechat is not None
        appid, secret, api_base = wechat.appid, wechat.appsecret, wechat.api_base
        storage = read_storage_settings(read)
        assert storage is not None  # the default backend is tcb

        integer = read.integer
        admins, secret_for_tokens = admin_settings(read)
        settings = cls(appid=appid, appsecret=secret, api_base=api_base, storage=storage,
                       admin_openids=admins, admin_token_secret=secret_for_tokens,
                       rate_per_min=integer(ENV_RATE_PER_MIN, 4500, 1, 5000),
                       concurrency=integer(ENV_CONCURRENCY, 8, 1, 64))
        read.check("genWxacode configuration")
        return settings
