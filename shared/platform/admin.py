"""Who may act for others: admin openids from config, or a signed admin token.

Token format: ``<base64url(json {"sub", "exp"})>.<base64url(hmac-sha256)>`` with ``ADMIN_TOKEN_SECRET``.
Ops mint one with ``make_admin_token``; it expires, and a wrong or expired token is simply not admin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from shared.platform.config import EnvReader

ENV_ADMIN_OPENIDS = "ADMIN_OPENIDS"
ENV_ADMIN_TOKEN_SECRET = "ADMIN_TOKEN_SECRET"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_admin_token(secret: str, subject: str = "ops", ttl_seconds: int = 3600, now: float | None = None) -> str:
    payload = _b64(json.dumps({"sub": subject, "exp": int((now or time.time()) + ttl_seconds)}).encode())
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def valid_admin_token(token: Any, secret: str | None, now: float | None = None) -> bool:
    # Only the ASCII a token is made of may reach the HMAC: other text (lone surrogates included) is simply
    # not a token, never an encoding error.
    if not secret or not isinstance(token, str) or not token.isascii() or token.count(".") != 1 or len(token) > 512:
        return False
    payload, signature = token.split(".")
    expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        return False
    try:
        claims = json.loads(_unb64(payload))
    except (ValueError, RecursionError):
        return False
    return isinstance(claims, dict) and isinstance(claims.get("exp"), int) and claims["exp"] > (now or time.time())


def is_admin(openid: str | None, token: Any, admin_openids: frozenset[str], secret: str | None) -> bool:
    return (openid is not None and openid in admin_openids) or valid_admin_token(token, secret)


def admin_settings(read: EnvReader) -> tuple[frozenset[str], str | None]:
    """``ADMIN_OPENIDS`` (comma-separated) and ``ADMIN_TOKEN_SECRET`` (≥ 32 characters), read the same way by
    every function that has admin operations."""
    admins = frozenset(read.items(ENV_ADMIN_OPENIDS))
    secret = read.text(ENV_ADMIN_TOKEN_SECRET)
    if secret and len(secret) < 32:
        read.problem(f"{ENV_ADMIN_TOKEN_SECRET} must be at least 32 characters")
    return admins, secret
