"""genWxacode's own configuration (validated at its cold start; other functions never need it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Mapping, Optional

from shared.platform.admin import ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, admin_settings  # noqa: F401 (re-exported names)
from shared.platform.config import EnvReader
from shared.wechat import VARIABLES as WECHAT_VARIABLES, read_wechat_settings

ENV_STORAGE_BACKEND = "STORAGE_BACKEND"
ENV_TCB_ENV = "TCB_ENV"
ENV_COS_BUCKET = "COS_BUCKET"
ENV_COS_REGION = "COS_REGION"
ENV_COS_ENDPOINT = "COS_ENDPOINT"
ENV_LOCAL_STORAGE_DIR = "LOCAL_STORAGE_DIR"
ENV_RATE_PER_MIN = "WXACODE_RATE_PER_MIN"
ENV_CONCURRENCY = "WXACODE_CONCURRENCY"

ENV_SCF_API_ENDPOINT = "SCF_API_ENDPOINT"  # read by shared.codes.continuation when a batch continues
VARIABLES = WECHAT_VARIABLES + (ENV_STORAGE_BACKEND, ENV_TCB_ENV, ENV_COS_BUCKET, ENV_COS_REGION,
             ENV_COS_ENDPOINT, ENV_LOCAL_STORAGE_DIR, ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, ENV_RATE_PER_MIN,
             ENV_CONCURRENCY, ENV_SCF_API_ENDPOINT)

BACKENDS = ("tcb", "cos", "local")


@dataclass(frozen=True)
class WxacodeSettings:
    appid: str
    appsecret: str
    api_base: str
    storage_backend: str
    tcb_env: Optional[str]
    cos_bucket: Optional[str]
    cos_region: Optional[str]
    cos_endpoint: Optional[str]
    local_storage_dir: Optional[str]
    admin_openids: FrozenSet[str]
    admin_token_secret: Optional[str]
    rate_per_min: int
    concurrency: int

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "WxacodeSettings":
        read = EnvReader(env)
        problems = read.problems

        def value(name: str, required: bool = False, default: Optional[str] = None) -> Optional[str]:
            return read.text(name, default, required)

        wechat = read_wechat_settings(read, required=True)
        assert wechat is not None
        appid, secret, api_base = wechat.appid, wechat.appsecret, wechat.api_base
        backend = value(ENV_STORAGE_BACKEND, default="tcb") or ""
        if backend not in BACKENDS:
            problems.append(f"{ENV_STORAGE_BACKEND} must be one of {', '.join(BACKENDS)}")
        tcb_env = value(ENV_TCB_ENV, required=backend == "tcb")
        cos_bucket = value(ENV_COS_BUCKET, required=backend == "cos")
        cos_region = value(ENV_COS_REGION, required=backend == "cos")
        local_dir = value(ENV_LOCAL_STORAGE_DIR, required=backend == "local")

        integer = read.integer
        admins, secret_for_tokens = admin_settings(read)
        settings = cls(appid=appid, appsecret=secret, api_base=api_base, storage_backend=backend, tcb_env=tcb_env,
                       cos_bucket=cos_bucket, cos_region=cos_region, cos_endpoint=value(ENV_COS_ENDPOINT),
                       local_storage_dir=local_dir, admin_openids=admins, admin_token_secret=secret_for_tokens,
                       rate_per_min=integer(ENV_RATE_PER_MIN, 4500, 1, 5000),
                       concurrency=integer(ENV_CONCURRENCY, 8, 1, 64))
        read.check("genWxacode configuration")
        return settings
