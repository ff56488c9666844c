"""genWxacode's own configuration (validated at its cold start; other functions never need it)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import FrozenSet, Mapping, Optional

from shared.platform.admin import ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, admin_settings  # noqa: F401 (re-exported names)
from shared.platform.config import EnvReader

ENV_APPID = "WECHAT_APPID"
ENV_APPSECRET = "WECHAT_APPSECRET"
ENV_API_BASE = "WECHAT_API_BASE"
ENV_STORAGE_BACKEND = "STORAGE_BACKEND"
ENV_TCB_ENV = "TCB_ENV"
ENV_COS_BUCKET = "COS_BUCKET"
ENV_COS_REGION = "COS_REGION"
ENV_COS_ENDPOINT = "COS_ENDPOINT"
ENV_LOCAL_STORAGE_DIR = "LOCAL_STORAGE_DIR"
ENV_RATE_PER_MIN = "WXACODE_RATE_PER_MIN"
ENV_CONCURRENCY = "WXACODE_CONCURRENCY"

ENV_SCF_API_ENDPOINT = "SCF_API_ENDPOINT"  # read by shared.codes.continuation when a batch continues
VARIABLES = (ENV_APPID, ENV_APPSECRET, ENV_API_BASE, ENV_STORAGE_BACKEND, ENV_TCB_ENV, ENV_COS_BUCKET, ENV_COS_REGION,
             ENV_COS_ENDPOINT, ENV_LOCAL_STORAGE_DIR, ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET, ENV_RATE_PER_MIN,
             ENV_CONCURRENCY, ENV_SCF_API_ENDPOINT)

BACKENDS = ("tcb", "cos", "local")
_APPID = re.compile(r"wx[0-9a-f]{16}")


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

        appid = value(ENV_APPID, required=True) or ""
        if appid and not _APPID.fullmatch(appid):
            problems.append(f"{ENV_APPID} must look like wx followed by 16 hex digits")
        secret = value(ENV_APPSECRET, required=True) or ""
        api_base = value(ENV_API_BASE, default="https://api.weixin.qq.com") or ""
        if not api_base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            problems.append(f"{ENV_API_BASE} must be https (plain http only for a local emulator)")
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
