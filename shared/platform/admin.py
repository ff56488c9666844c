"""Who may act for others: admin openids from config (identity the platform asserts: every scope), or a signed admin
token carrying scopes.

Tokens are JWTs (HS256 with ``ADMIN_TOKEN_SECRET``, through PyJWT — imported on an admin call only, never at cold
start): ``sub``, ``scope`` (space-separated), ``iss`` = ``share-funnel``, ``iat``, ``exp``. Now that a token can move
money, each names what it may do:

* ``read`` — dashboards, reports, statuses (the only scope a token in a dashboard link may have);
* ``operate`` — funnel runs, settlement, code batches, templates, relationships (and ``read``);
* ``pay`` — payout reviews and cancellations, marking rewards paid, the export to pay from (and ``read``).

Ops mint one with ``python -m shared.ops.cli admin-token --scope read`` (``make admin-token SCOPE=read``). Tokens of the
earlier hand-made format (two dot-separated parts) no longer work, and say so.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from shared.platform.config import EnvReader
from shared.platform.errors import Forbidden

ENV_ADMIN_OPENIDS = "ADMIN_OPENIDS"
ENV_ADMIN_TOKEN_SECRET = "ADMIN_TOKEN_SECRET"
READ, OPERATE, PAY = "read", "operate", "pay"
SCOPES = (READ, OPERATE, PAY)
ISSUER = "share-funnel"
MAX_TOKEN = 1024
OLD_FORMAT = (
    "admin tokens of the earlier format no longer work: mint one naming its scope "
    "(python -m shared.ops.cli admin-token --scope read|operate|pay)"
)


def make_admin_token(
    secret: str, scopes: Iterable[str], subject: str = "ops", ttl_seconds: int = 3600, now: float | None = None
) -> str:
    import jwt

    wanted = sorted(set(scopes))
    if not wanted or any(scope not in SCOPES for scope in wanted):
        raise ValueError(f"name one or more scopes of {', '.join(SCOPES)}")
    issued = int(now if now is not None else time.time())
    claims = {"sub": subject, "scope": " ".join(wanted), "iss": ISSUER, "iat": issued, "exp": issued + ttl_seconds}
    return str(jwt.encode(claims, secret, algorithm="HS256"))


def token_scopes(token: Any, secret: str | None, now: float | None = None) -> frozenset[str]:
    """The scopes a valid, unexpired token grants (empty for anything else). Raises ``Forbidden`` for a token of
    the earlier format, so its holder learns why."""
    if not secret or not isinstance(token, str) or not token.isascii() or len(token) > MAX_TOKEN:
        return frozenset()
    if token.count(".") == 1:
        raise Forbidden(OLD_FORMAT)
    import jwt

    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],  # only the one we mint: never "none", never a key confusion
            issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "scope"], "verify_iat": False},
            leeway=0,
        )
    except jwt.PyJWTError:
        return frozenset()
    if now is not None and claims["exp"] <= now:
        return frozenset()
    scope = claims.get("scope")
    return with_implied(s for s in scope.split() if s in SCOPES) if isinstance(scope, str) else frozenset()


def with_implied(scopes: Iterable[str]) -> frozenset[str]:
    """Who may operate or pay may also read what they did (statuses, reports)."""
    granted = frozenset(scopes)
    return granted | {READ} if granted & {OPERATE, PAY} else granted


def admin_scopes(openid: str | None, token: Any, admin_openids: frozenset[str], secret: str | None) -> frozenset[str]:
    if openid is not None and openid in admin_openids:
        return frozenset(SCOPES)  # the platform asserted who this is
    return token_scopes(token, secret)


def is_admin(openid: str | None, token: Any, admin_openids: frozenset[str], secret: str | None, scope: str) -> bool:
    """Whether the caller may act with ``scope``."""
    return scope in admin_scopes(openid, token, admin_openids, secret)


def require_scope(
    openid: str | None, token: Any, admin_openids: frozenset[str], secret: str | None, scope: str, what: str
) -> None:
    """``Forbidden`` unless the caller is an admin with ``scope``; the message says which scope was missing."""
    granted = admin_scopes(openid, token, admin_openids, secret)
    if scope not in granted:
        held = f" (this token grants {', '.join(sorted(granted))})" if granted else ""
        raise Forbidden(f"{what} needs an admin with the {scope} scope{held}", scope=scope)


def admin_settings(read: EnvReader) -> tuple[frozenset[str], str | None]:
    """``ADMIN_OPENIDS`` (comma-separated) and ``ADMIN_TOKEN_SECRET`` (≥ 32 characters), read the same way by
    every function that has admin operations."""
    admins = frozenset(read.items(ENV_ADMIN_OPENIDS))
    secret = read.text(ENV_ADMIN_TOKEN_SECRET)
    if secret and len(secret) < 32:
        read.problem(f"{ENV_ADMIN_TOKEN_SECRET} must be at least 32 characters")
    return admins, secret
