"""The WeChat HTTP client (stable_token, getUnlimited, getopendata, tcb upload), its shared token cache and the
app's credentials, for every wing that calls WeChat; and WeChat Pay's 商家转账 (``pay``: wechatpayv3, loaded on first
use of a payout only).

Names resolve on first use (PEP 562), so a wing can read ``WeChatSettings`` at cold start without loading the
client and ``requests``: recordShare loads them only when a landing carries a group cloudID.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.wechat.pay import Bill as Bill
    from shared.wechat.pay import PayGateway as PayGateway
    from shared.wechat.pay import Transfer as Transfer
    from shared.wechat.pay import WechatPayV3Gateway as WechatPayV3Gateway

_NAMES = {
    "WeChatClient": "client",
    "OpenDataError": "client",
    "SubscribeRefused": "client",
    "MongoTokenStore": "token_store",
    "client_with_shared_token": "token_store",
    "WeChatSettings": "settings",
    "read_wechat_settings": "settings",
    "VARIABLES": "settings",
    "ENV_APPID": "settings",
    "ENV_APPSECRET": "settings",
    "Bill": "pay",
    "Transfer": "pay",
    "PayGateway": "pay",
    "WechatPayV3Gateway": "pay",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"shared.wechat.{_NAMES[name]}"), name)
