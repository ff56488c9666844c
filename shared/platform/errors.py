"""The product's exception hierarchy.

Every error a caller can see has a stable ``code``. Foreign exceptions (pymongo, requests, …) are
wrapped at the adapter boundary with ``raise … from exc`` so handlers only ever map these.
"""

from __future__ import annotations

from typing import Any


class ShareFunnelError(Exception):
    """Base class: a failure with a stable, documented code."""

    code = "INTERNAL"
    retryable = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_response(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.retryable:
            error["retryable"] = True
        error.update(self.details)
        return {"ok": False, "error": error}


class BadInput(ShareFunnelError):
    """The request is malformed; nothing was written."""

    code = "BAD_INPUT"

    def __init__(self, message: str, field: str | None = None, **details: Any) -> None:
        if field is not None:
            details["field"] = field
        super().__init__(message, **details)


class MissingFile(BadInput):
    """A file the request names (a template's image, a font) is not in storage or is too large to use."""


class BadScene(BadInput):
    """A scene (or share-link query) that our decoder does not accept. ``reason`` is stable."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"scene rejected: {reason}", field="scene", reason=reason)
        self.reason = reason


class NoIdentity(ShareFunnelError):
    """The platform supplied no caller openid (e.g. Moments single-page mode, scene 1154)."""

    code = "NO_IDENTITY"


class UnknownInviter(ShareFunnelError):
    code = "UNKNOWN_INVITER"


class Forbidden(ShareFunnelError):
    code = "FORBIDDEN"


class Unavailable(ShareFunnelError):
    """A store or upstream failed; the call may be retried as-is (every write is idempotent)."""

    code = "UNAVAILABLE"
    retryable = True


class Busy(ShareFunnelError):
    """Another invocation holds the job; retrying later succeeds (a timer run raises it so SCF retries)."""

    code = "BUSY"
    retryable = True


class ContentRejected(ShareFunnelError):
    """WeChat's content check judged user text risky (a nickname for posters); nothing was written."""

    code = "CONTENT_REJECTED"


class ConfigError(ShareFunnelError):
    """Raised at cold start when the environment is incomplete or invalid."""

    code = "CONFIG"


class WeChatError(ShareFunnelError):
    """WeChat answered with an errcode we cannot recover from here (configuration, permissions…)."""

    code = "WECHAT_ERROR"

    def __init__(self, message: str, errcode: int | None = None, rid: str | None = None, **details: Any) -> None:
        if errcode is not None:
            details["errcode"] = errcode
        if rid:
            details["rid"] = rid
        super().__init__(message, **details)
        self.errcode = errcode
        self.rid = rid


class BadPage(WeChatError):
    code = "BAD_PAGE"


class BadSceneRejected(WeChatError):
    code = "BAD_SCENE"


class RateLimited(WeChatError):
    code = "RATE_LIMITED"
    retryable = True


class QuotaExhausted(WeChatError):
    """A daily (or lifetime) generation quota is spent; more can be made after it resets (links: the next day)."""

    code = "QUOTA_EXHAUSTED"


class LinkRejected(WeChatError):
    """WeChat refused to make a link: the page, its query or the title is not acceptable, or the mini program may
    not make this kind (Short Links are for e-commerce categories only)."""

    code = "LINK_REJECTED"


class WeChatUnavailable(WeChatError):
    code = "WECHAT_UNAVAILABLE"
    retryable = True


class StorageError(ShareFunnelError):
    code = "STORAGE_UNAVAILABLE"
    retryable = True


class NotFound(ShareFunnelError):
    code = "NOT_FOUND"


class Conflict(ShareFunnelError):
    """The thing asked about is not in a state that allows the request (e.g. cancelling a payout the user confirmed)."""

    code = "CONFLICT"


class PayoutRefused(ShareFunnelError):
    """A withdrawal the rules do not allow now; ``reason`` is stable (below_minimum, daily_limit, payouts_manual, …).
    Nothing was written."""

    code = "PAYOUT_REFUSED"

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message, reason=reason, **details)
        self.reason = reason


class PayRefused(ShareFunnelError):
    """WeChat Pay refused a request definitely (its ``wechatpayCode``): the bill was not made."""

    code = "PAY_REFUSED"


class PayUnavailable(Unavailable):
    """WeChat Pay did not answer in time, answered 5xx, or answered something unknown: what happened is not known
    yet, so the same bill number is queried (and retried) before anything else."""

    code = "PAY_UNAVAILABLE"
