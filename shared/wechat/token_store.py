"""The shared WeChat access-token cache in MongoDB (``wechat_tokens``): an optimisation, never required."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.platform.config import Collections


class MongoTokenStore:
    """Shared access-token cache: one document per appid, replaced only by a token that lives longer."""

    def __init__(self, database: Any, names: Collections) -> None:
        self._tokens = database[names.wechat_tokens]

    def load(self, appid: str):
        try:
            doc = self._tokens.find_one({"_id": appid})
        except PyMongoError:
            return None  # the shared cache is an optimisation; WeChat is the source of truth
        return (doc["token"], doc["expiresAt"]) if doc else None

    def save_if_later(self, appid: str, token: str, expires_at: dt.datetime) -> None:
        try:
            self._tokens.update_one({"_id": appid, "expiresAt": {"$lt": expires_at}},
                                    {"$set": {"token": token, "expiresAt": expires_at}}, upsert=True)
        except DuplicateKeyError:
            pass  # a token that lives at least as long is already stored
        except PyMongoError:
            pass
