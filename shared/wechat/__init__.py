"""The WeChat HTTP client (stable_token, getUnlimited, tcb upload) and its shared token cache, for every wing
that calls WeChat. Importing it loads ``requests``: wings that call WeChat only sometimes import it lazily."""
from shared.wechat.client import WeChatClient
from shared.wechat.token_store import MongoTokenStore

__all__ = ["WeChatClient", "MongoTokenStore"]
