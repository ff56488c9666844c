"""Links that work outside a chat card: WeChat's URL Link (SMS, e-mail, H5), URL Scheme (apps, browsers) and Short
Link (pasted inside WeChat) for the sharer's own share path — the same page and query ``share`` hands out, so a
landing through one is recorded and attributed like any other (its launch scene tells how it came:
shared/sharing/attribution.py).

Each link is cached until a day before it expires (same request → the same link, no WeChat call) and counted against
WeChat's daily quotas before it is asked for (``LINK_QUOTAS``; ``WXALINK_DAILY_QUOTA`` lowers the shared one when
another system draws on it too), so a spent quota is answered ``QUOTA_EXHAUSTED`` without a call. Limits and scenes:
cloudbase-platform.md §4 and WeChat's scene list (1194 URL Link, 1065 URL Scheme, 1179 Short Link).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shared.codes.generator import ENV_VERSIONS
from shared.platform.clock import Clock
from shared.platform.db import aware
from shared.platform.errors import BadInput, QuotaExhausted, ShareFunnelError
from shared.platform.validation import check_document, check_field_names, require_id, require_page, require_product_id
from shared.sharing import ShareClaim, require_channel, share_query

KINDS = ("urllink", "scheme", "shortlink")
LINK_DAYS = 30  # WeChat's longest life for an expiring link of every kind (Short Links: 30 days, fixed)
REFRESH_BEFORE = dt.timedelta(days=1)  # a cached link is handed out while it has more than this left
QUOTA_BUCKET = {"urllink": "links", "scheme": "links", "shortlink": "shortlinks"}  # links and schemes share one
LINK_QUOTAS = {"links": 500_000, "shortlinks": 1_000_000}  # per day (Beijing time), WeChat's documented caps
LINK_FIELDS = ("action", "kind", "productId", "channel", "page", "envVersion", "title", "inviter", "adminToken")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class LinkRequest:
    kind: str
    product_id: str
    channel: str
    page: str
    env_version: str = "release"
    title: str = ""  # a Short Link's page title (WeChat shows it; at most 20 characters before "…")
    inviter: str | None = None  # an admin's link for another sharer


def parse_link_request(event: Mapping[str, Any], default_page: str) -> LinkRequest:
    check_document(event)
    check_field_names(event, LINK_FIELDS)
    kind = event.get("kind")
    if kind not in KINDS:
        raise BadInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    page = event.get("page", default_page)
    if isinstance(page, str) and "?" in page:
        raise BadInput("page must not carry a query: the link's query is the share query", field="page")
    env_version = event.get("envVersion", "release")
    if env_version not in ENV_VERSIONS:
        raise BadInput(f"envVersion must be one of {', '.join(ENV_VERSIONS)}", field="envVersion")
    title = event.get("title", "")
    if not isinstance(title, str) or len(title) > 64 or not title.isprintable():
        raise BadInput("title must be printable text of at most 64 characters", field="title")
    inviter = event.get("inviter")
    return LinkRequest(
        kind=kind,
        product_id=require_product_id(event.get("productId")),
        channel=require_channel(event.get("channel", "chat")),
        page=require_page(page),
        env_version=env_version,
        title=title,
        inviter=None if inviter is None else require_id(inviter, "inviter"),
    )


def link_payload(request: LinkRequest, query: str) -> dict[str, Any]:
    """The body each API takes: an expiring link (30 days) to the page with the share query."""
    expiring = {"is_expire": True, "expire_type": 1, "expire_interval": LINK_DAYS}
    if request.kind == "urllink":
        return {"path": request.page, "query": query, "env_version": request.env_version, **expiring}
    if request.kind == "scheme":
        return {"jump_wxa": {"path": request.page, "query": query, "env_version": request.env_version}, **expiring}
    return {"page_url": f"{request.page}?{query}", "page_title": request.title, "is_permanent": False}


class LinkStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def save(self, key: str, doc: dict[str, Any]) -> None: ...

    def take_quota(self, bucket: str, day: str, limit: int) -> bool: ...

    def give_back_quota(self, bucket: str, day: str) -> None: ...


@dataclass
class LinkMaker:
    wechat: Any
    store: LinkStore
    clock: Clock
    daily_quota: int | None = None  # lowers the links' shared quota (WXALINK_DAILY_QUOTA)

    def link(self, claim: ShareClaim, request: LinkRequest) -> dict[str, Any]:
        """The sharer's link of this kind: cached while it has more than a day left, else a new one."""
        query = share_query(claim.product_id, claim.inviter, claim.channel or "chat")
        key = hashlib.sha256(
            "|".join((request.kind, request.page, query, request.env_version, request.title)).encode()
        ).hexdigest()[:32]
        now = self.clock.now()
        cached = self.store.get(key)
        if cached is not None and aware(cached["expiresAt"]) - now > REFRESH_BEFORE:
            return _answer(cached, request, query, True)
        bucket, day = QUOTA_BUCKET[request.kind], now.astimezone(SHANGHAI).date().isoformat()
        limit = LINK_QUOTAS[bucket] if bucket != "links" or not self.daily_quota else self.daily_quota
        if not self.store.take_quota(bucket, day, limit):
            raise QuotaExhausted(f"today's {limit} {request.kind}s are made; more tomorrow (Beijing time)")
        try:
            link = self.wechat.generate_link(request.kind, link_payload(request, query))
        except ShareFunnelError:
            self.store.give_back_quota(bucket, day)  # WeChat made nothing
            raise
        doc = {
            "kind": request.kind,
            "link": link,
            "inviter": claim.inviter,
            "productId": claim.product_id,
            "page": request.page,
            "query": query,
            "createdAt": now,
            "expiresAt": now + dt.timedelta(days=LINK_DAYS),
        }
        self.store.save(key, doc)
        return _answer(doc, request, query, False)


def _answer(doc: Mapping[str, Any], request: LinkRequest, query: str, cached: bool) -> dict[str, Any]:
    return {
        "ok": True,
        "kind": request.kind,
        "link": doc["link"],
        "path": f"/{request.page}?{query}",
        "expiresAt": aware(doc["expiresAt"]).isoformat(),
        "cached": cached,
    }
