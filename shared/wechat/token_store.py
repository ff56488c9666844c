"""The shared WeChat access-token cache in MongoDB (``wechat_tokens``): an optimisation, never required."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.platform.config import Collections
from shared.platform.db import CollectionSpec, driver_errors, provision
from shared.platform.documents import Database, DuplicateKeyError
from shared.platform.errors import Unavailable


def client_with_shared_token(wechat: Any, database: Database, names: Collections, clock: Any, **options: Any) -> Any:
    """A WeChat client for the app's credentials (``WeChatSettings``) that shares its access token with every
    other function through ``wechat_tokens``; ``options`` as WeChatClient takes them (attempts, timeout)."""
    from shared.wechat.client import WeChatClient

    return WeChatClient(
        wechat.appid, wechat.appsecret, wechat.api_base, clock, token_store=MongoTokenStore(database, names), **options
    )


class MongoTokenStore:
    """Shared access-token cache: one document per appid, replaced only by a token that lives longer."""

    def __init__(self, database: Database, names: Collections) -> None:
        self._tokens = database[names.wechat_tokens]
        try:
            provision(database, [CollectionSpec(names.wechat_tokens)])  # lookups by _id: no index of its own
        except Unavailable:
            pass  # the shared cache is an optimisation; the next instance provisions it

    def load(self, appid: str) -> tuple[str, dt.datetime] | None:
        try:
            with driver_errors("read the shared access token"):
                doc = self._tokens.find_one({"_id": appid})
        except Unavailable:
            return None  # the shared cache is an optimisation; WeChat is the source of truth
        return (doc["token"], doc["expiresAt"]) if doc else None

    def save_if_later(self, appid: str, token: str, expires_at: dt.datetime) -> None:
        try:
            with driver_errors("share the access token"):
                self._tokens.update_one(
                    {"_id": appid, "expiresAt": {"$lt": expires_at}},
                    {"$set": {"token": token, "expiresAt": expires_at}},
                    upsert=True,
                )
        except (DuplicateKeyError, Unavailable):
            pass  # a token that lives at least as long is already stored, or the cache is down: WeChat decides
