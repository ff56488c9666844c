"""The WeChat app's credentials and API base, read the same way by every function that calls WeChat (genWxacode
needs them; recordShare resolves groups only when they are set)."""

from __future__ import annotations

import re
from typing import NamedTuple

from shared.platform.config import EnvReader

ENV_APPID = "WECHAT_APPID"
ENV_APPSECRET = "WECHAT_APPSECRET"
ENV_API_BASE = "WECHAT_API_BASE"
VARIABLES = (ENV_APPID, ENV_APPSECRET, ENV_API_BASE)
DEFAULT_API_BASE = "https://api.weixin.qq.com"
_APPID = re.compile(r"wx[0-9a-f]{16}")


class WeChatSettings(NamedTuple):
    appid: str
    appsecret: str
    api_base: str = DEFAULT_API_BASE


def read_wechat_settings(read: EnvReader, required: bool) -> WeChatSettings | None:
    """The app's credentials; None when optional and neither is set (a half-set pair is a problem either way)."""
    appid, secret = read.text(ENV_APPID), read.text(ENV_APPSECRET)
    if not required and not appid and not secret:
        return None
    if not appid:
        read.problem(f"{ENV_APPID} is required" + ("" if required else f" with {ENV_APPSECRET}"))
    elif not _APPID.fullmatch(appid):
        read.problem(f"{ENV_APPID} must look like wx followed by 16 hex digits")
    if not secret:
        read.problem(f"{ENV_APPSECRET} is required" + ("" if required else f" with {ENV_APPID}"))
    api_base = read.endpoint(ENV_API_BASE, DEFAULT_API_BASE) or ""
    return WeChatSettings(appid or "", secret or "", api_base)
