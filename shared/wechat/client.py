"""WeChat HTTP API client (``requests``): stable access tokens, Mini Program Codes, CloudBase upload tickets.

* Tokens come from ``POST cgi-bin/stable_token`` in normal mode only — never ``force_refresh``, never
  ``cgi-bin/token`` (each call of that one invalidates every other instance's token). They are cached in
  memory and in a shared store (written only when the new expiry is later) and refreshed when < 300 s remain.
* On 40001/40014/42001: one refresh, one retry, then fail.
* getwxacodeunlimit answers image bytes on success and JSON on error, both with HTTP 200: classified by magic
  bytes. -1, 5xx, timeouts and garbage are retried with backoff and jitter, then ``WECHAT_UNAVAILABLE``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

import requests

from shared.platform import log
from shared.platform.clock import Clock
from shared.platform.errors import (
    BadPage,
    BadSceneRejected,
    LinkRejected,
    QuotaExhausted,
    RateLimited,
    WeChatError,
    WeChatUnavailable,
)

TOKEN_INVALID = {40001, 40014, 42001}
PROFILE_SCENE = 1  # msg_sec_check's scene for profile data (资料): nicknames
REFRESH_MARGIN = dt.timedelta(seconds=300)
TIMEOUT = (3.05, 10)
ATTEMPTS, BACKOFF = 4, 0.25


def worst_failure_s(
    attempts: int = ATTEMPTS, timeout: tuple[float, float] = TIMEOUT, backoff: float = BACKOFF
) -> float:
    """How long one call can take to end in WECHAT_UNAVAILABLE: every attempt times out (connect + read) and every
    pause is its longest (jitter included). Deployment checks each function's timeout against it."""
    return attempts * sum(timeout) + sum(backoff * 2**i * 1.5 for i in range(attempts - 1))


_RID = re.compile(r"rid:\s*([0-9a-f-]+)")


MARKETING_SCENE = 1  # getuserriskrank's scene for 营销作弊 (0 is registration)


@dataclass(frozen=True)
class CodeImage:
    data: bytes
    kind: str  # "jpeg" | "png"

    @property
    def content_type(self) -> str:
        return "image/png" if self.kind == "png" else "image/jpeg"

    @property
    def extension(self) -> str:
        return "png" if self.kind == "png" else "jpg"


class TokenStore(Protocol):
    def load(self, appid: str) -> tuple[str, dt.datetime] | None: ...

    def save_if_later(self, appid: str, token: str, expires_at: dt.datetime) -> None: ...


def classify(body: bytes) -> str:
    if body[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if body[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if body.lstrip()[:1] == b"{":
        return "json"
    return "unknown"


def _rid(errmsg: str) -> str | None:
    match = _RID.search(errmsg or "")
    return match.group(1) if match else None


class _Retryable(Exception):
    """Internal: a transient failure worth another attempt."""


class WeChatClient:
    def __init__(
        self,
        appid: str,
        secret: str,
        base_url: str,
        clock: Clock,
        token_store: TokenStore | None = None,
        session: requests.Session | None = None,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.appid, self._secret = appid, secret
        self.base_url = base_url.rstrip("/")
        self._clock = clock
        self._store = token_store
        self._session = session or requests.Session()
        self._attempts, self._backoff, self._sleep, self._timeout = attempts, backoff, sleep, timeout
        self._token: tuple[str, dt.datetime] | None = None
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    # --- tokens --------------------------------------------------------------------------------------
    def _fresh(self, cached: tuple[str, dt.datetime] | None) -> TypeGuard[tuple[str, dt.datetime]]:
        return cached is not None and cached[1] - self._clock.now() > REFRESH_MARGIN

    def access_token(self, refresh: bool = False, stale: str | None = None) -> str:
        """A valid token. ``refresh`` skips caches holding ``stale`` (still normal mode: WeChat may
        legitimately return the same token, which is fine)."""
        with self._lock:
            token = self._token
            if self._fresh(token) and not (refresh and token[0] == stale):
                return token[0]  # on refresh: another thread already replaced the stale token
            if self._store is not None:
                shared = self._store.load(self.appid)
                if self._fresh(shared) and shared[0] != stale:
                    self._token = shared
                    return shared[0]
            payload = self._post_json(
                "cgi-bin/stable_token",
                None,
                {"grant_type": "client_credential", "appid": self.appid, "secret": self._secret},
            )
            if "access_token" not in payload:
                raise WeChatError(
                    f"stable_token failed: {payload.get('errmsg')}",
                    payload.get("errcode"),
                    _rid(payload.get("errmsg", "")),
                )
            expires_at = self._clock.now() + dt.timedelta(seconds=int(payload.get("expires_in", 0)))
            self._token = (payload["access_token"], expires_at)
            if self._store is not None:
                self._store.save_if_later(self.appid, payload["access_token"], expires_at)
            log.event("wechat_token", expires_in=int(payload.get("expires_in", 0)))
            return payload["access_token"]

    # --- HTTP ----------------------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def _send(
        self, path: str, token: str | None, body: dict[str, Any], extra: dict[str, str] | None = None
    ) -> requests.Response:
        """One request. Transport failures and 5xx become ``_Retryable``."""
        self._count(path)
        params = {"access_token": token, **(extra or {})} if token else None
        try:
            response = self._session.post(
                f"{self.base_url}/{path}",
                params=params,
                data=json.dumps(body, ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Retryable(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise _Retryable(f"HTTP {response.status_code}")
        return response

    def _retrying(self, what: str, once: Callable[[], Any]) -> Any:
        """The one bounded retry loop (backoff with jitter) for every transient failure of one call."""
        for attempt in range(1, self._attempts + 1):
            try:
                return once()
            except _Retryable as exc:
                if attempt == self._attempts:
                    raise WeChatUnavailable(f"WeChat {what} unavailable after {attempt} attempts: {exc}") from exc
                self._pause(attempt)
        raise AssertionError("unreachable")

    def _pause(self, attempt: int) -> None:
        delay = self._backoff * (2 ** (attempt - 1))
        self._sleep(delay + random.uniform(0, delay / 2))

    def _post_json(
        self, path: str, token: str | None, body: dict[str, Any], extra: dict[str, str] | None = None
    ) -> dict[str, Any]:
        def once() -> dict[str, Any]:
            response = self._send(path, token, body, extra)
            try:
                payload = response.json()
            except ValueError as exc:
                raise _Retryable("a body that is not JSON") from exc
            if not isinstance(payload, dict):
                raise _Retryable("unexpected JSON")
            return payload

        return self._retrying(path, once)

    def _with_token(self, call: Callable[[str], Any]) -> Any:
        """Run ``call(token)``; on a token error refresh once and retry once."""
        token = self.access_token()
        try:
            return call(token)
        except _TokenRejected:
            token = self.access_token(refresh=True, stale=token)
            try:
                return call(token)
            except _TokenRejected as again:
                raise WeChatError("WeChat rejected a freshly issued access token", again.errcode, again.rid) from again

    # --- APIs ----------------------------------------------------------------------------------------
    def get_unlimited(self, payload: dict[str, Any]) -> CodeImage:
        """wxacode.getUnlimited: the code image, or a ``WeChatError`` subclass with a stable code."""
        return self._with_token(lambda token: self._get_unlimited_once(token, payload))

    def _get_unlimited_once(self, token: str, payload: dict[str, Any]) -> CodeImage:
        def once() -> CodeImage:
            response = self._send("wxa/getwxacodeunlimit", token, payload)
            kind = classify(response.content)
            if kind in ("jpeg", "png"):
                return CodeImage(response.content, kind)
            if kind != "json":
                raise _Retryable("an unrecognisable body")
            error = response.json()
            errcode, errmsg = error.get("errcode"), str(error.get("errmsg", ""))
            rid = _rid(errmsg)
            log.event("wechat_error", api="getwxacodeunlimit", errcode=errcode, rid=rid)
            if errcode in TOKEN_INVALID:
                raise _TokenRejected(errcode, rid)
            if errcode == -1:
                raise _Retryable(f"system error (rid {rid})")
            raise _mapped_error(errcode, errmsg, rid)

        return self._retrying("getwxacodeunlimit", once)

    def tcb_upload_ticket(self, env: str, path: str) -> dict[str, Any]:
        def once(token: str) -> dict[str, Any]:
            payload = self._post_json("tcb/uploadfile", token, {"env": env, "path": path})
            errcode = payload.get("errcode", 0)
            if errcode in TOKEN_INVALID:
                raise _TokenRejected(errcode, _rid(str(payload.get("errmsg"))))
            if errcode != 0:
                raise WeChatError(
                    f"tcb/uploadfile failed: {payload.get('errmsg')}", errcode, _rid(str(payload.get("errmsg")))
                )
            return payload

        return self._with_token(once)

    def tcb_download_url(self, env: str, file_id: str, max_age: int) -> str:
        """``tcb/batchdownloadfile`` for one file: a temporary download link valid ``max_age`` seconds."""

        def once(token: str) -> str:
            payload = self._post_json(
                "tcb/batchdownloadfile", token, {"env": env, "file_list": [{"fileid": file_id, "max_age": max_age}]}
            )
            errcode = payload.get("errcode", 0)
            if errcode in TOKEN_INVALID:
                raise _TokenRejected(errcode, _rid(str(payload.get("errmsg"))))
            items = payload.get("file_list")
            item = items[0] if errcode == 0 and isinstance(items, list) and items and isinstance(items[0], dict) else {}
            if not item.get("download_url") or item.get("status", 0) != 0:
                raise WeChatError(
                    f"tcb/batchdownloadfile failed: {item.get('errmsg') or payload.get('errmsg')}",
                    item.get("status") or errcode,
                    _rid(str(payload.get("errmsg"))),
                )
            return str(item["download_url"])

        return self._with_token(once)

    def open_data(self, cloud_id: str, openid: str | None = None) -> Any:
        """``wxa/getopendata``: the open data a cloudID stands for (``json``, a JSON text or an object — both are
        documented — parsed). A per-item or call error is ``OpenDataError`` with WeChat's errcode (-601006: the
        cloudID expired); transport failures retry as every call does, then ``WECHAT_UNAVAILABLE``."""

        def once(token: str) -> Any:
            payload = self._post_json(
                "wxa/getopendata", token, {"cloudid_list": [cloud_id]}, {"openid": openid} if openid else None
            )
            errcode = _transient_or_token(payload, "getopendata")
            if errcode != 0:
                raise OpenDataError(f"getopendata failed: {payload.get('errmsg')}", errcode)
            items = payload.get("data_list")
            item = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None
            if item is None:
                raise OpenDataError("getopendata answered no data for the cloudID", None)
            if item.get("errcode"):
                raise OpenDataError(f"getopendata: {item.get('errmsg')}", item.get("errcode"))
            data = item.get("json")
            if isinstance(data, str):
                try:
                    data = json.loads(data)
                except ValueError as exc:
                    raise OpenDataError("getopendata answered json that is not JSON", None) from exc
            return data

        return self._with_token(once)

    def generate_link(self, kind: str, payload: dict[str, Any]) -> str:
        """A URL Link, URL Scheme or Short Link (``kind`` in ``LINK_APIS``) for ``payload`` as that API takes it."""
        path, field = LINK_APIS[kind]

        def once(token: str) -> str:
            result = self._post_json(path, token, payload)
            errcode = _transient_or_token(result, path)
            link = result.get(field)
            if errcode == 0 and isinstance(link, str) and link:
                return link
            rid = _rid(str(result.get("errmsg")))
            log.event("wechat_error", api=path, errcode=errcode, rid=rid)
            if errcode == 0:  # "ok" without the link: an answer we do not understand
                raise WeChatUnavailable(f"WeChat {path}: no {field} in the answer", errcode, rid)
            raise _link_error(kind, errcode, str(result.get("errmsg", "")), rid)

        return self._with_token(once)

    def check_text(self, openid: str, content: str, scene: int = PROFILE_SCENE) -> str:
        """``wxa/msg_sec_check`` 2.0: WeChat's verdict on user text — ``pass``, ``review`` or ``risky`` (its
        ``result.suggest``). The openid must have used the mini program in the last two hours (WeChat's rule), which
        a user saving their poster profile just did. A refusal of the call itself is a ``WeChatError``."""

        def once(token: str) -> str:
            answer = self._post_json(
                "wxa/msg_sec_check", token, {"content": content, "version": 2, "scene": scene, "openid": openid}
            )
            errcode = _transient_or_token(answer, "msg_sec_check")
            result = answer.get("result")
            suggest = result.get("suggest") if isinstance(result, dict) else None
            if errcode == 0 and suggest in ("pass", "review", "risky"):
                return str(suggest)
            rid = _rid(str(answer.get("errmsg")))
            log.event("wechat_error", api="wxa/msg_sec_check", errcode=errcode, rid=rid)
            if errcode == 0:  # "ok" without a verdict we understand
                raise WeChatUnavailable("WeChat msg_sec_check: no verdict in the answer", errcode, rid)
            raise WeChatError(f"WeChat msg_sec_check refused the call: {answer.get('errmsg')}", errcode, rid)

        result: str = self._with_token(once)
        return result

    def risk_rank(self, openid: str, client_ip: str, scene: int = MARKETING_SCENE) -> int:
        """``wxa/getuserriskrank``: WeChat's risk rank of the user (0 none … 4 high) for ``scene`` (1: marketing
        fraud, what a reward payout is). The client IP is the invocation's own (WeChat says to pass the real one)."""

        def once(token: str) -> int:
            answer = self._post_json(
                "wxa/getuserriskrank",
                token,
                {"appid": self.appid, "openid": openid, "scene": scene, "client_ip": client_ip},
            )
            errcode = _transient_or_token(answer, "getuserriskrank")
            rank = answer.get("risk_rank")
            if errcode == 0 and isinstance(rank, int) and not isinstance(rank, bool) and 0 <= rank <= 4:
                return rank
            rid = _rid(str(answer.get("errmsg")))
            log.event("wechat_error", api="wxa/getuserriskrank", errcode=errcode, rid=rid)
            if errcode == 0:
                raise WeChatUnavailable("WeChat getuserriskrank: no rank in the answer", errcode, rid)
            raise WeChatError(f"WeChat getuserriskrank refused the call: {answer.get('errmsg')}", errcode, rid)

        result: int = self._with_token(once)
        return result

    def send_subscribe_message(self, payload: dict[str, Any]) -> None:
        """``cgi-bin/message/subscribe/send``. 43101 (refused, or no accept left) and 47003 (bad data) are
        ``SubscribeRefused`` — terminal; transient failures retry as every call does, then ``WECHAT_UNAVAILABLE``."""

        def once(token: str) -> None:
            result = self._post_json("cgi-bin/message/subscribe/send", token, payload)
            errcode = _transient_or_token(result, "subscribe/send")
            if errcode != 0:
                raise SubscribeRefused(
                    f"subscribe/send: {result.get('errmsg')}", errcode, _rid(str(result.get("errmsg")))
                )

        self._with_token(once)


# genWxacode's ``link`` action: the API and the answer's field for each kind of link.
LINK_APIS = {
    "urllink": ("wxa/generate_urllink", "url_link"),
    "scheme": ("wxa/generatescheme", "openlink"),
    "shortlink": ("wxa/genwxashortlink", "link"),
}


def _link_error(kind: str, errcode: Any, errmsg: str, rid: str | None) -> WeChatError:
    """The documented errcodes of the three link APIs, each to a stable code."""
    if errcode in (40165, 40066, 85079):  # the page is not in the published version (85079: none is published)
        return BadPage(f"WeChat rejected the page for a {kind}: it must exist in the published version", errcode, rid)
    if errcode in (45009, 85400):  # the day's quota, or the lifetime cap of permanent links
        return QuotaExhausted(f"WeChat's {kind} quota is spent ({errcode}); more can be made tomorrow", errcode, rid)
    if errcode == 44990:
        return RateLimited(f"WeChat is making {kind}s too fast (44990); retry later", errcode, rid)
    if errcode in (40212, 40097, 40225, 85401, 85402, 43104):
        return LinkRejected(f"WeChat refused the {kind}: {errmsg}", errcode, rid)
    return WeChatError(f"WeChat error {errcode}: {errmsg}", errcode, rid)


class SubscribeRefused(WeChatError):
    """WeChat will not deliver this notice (43101: refused or no accept left; 47003: bad template data)."""

    code = "WECHAT_NOTICE_REFUSED"


class OpenDataError(WeChatError):
    """WeChat could not resolve a cloudID (expired, not this user's, unknown, malformed answer)."""

    code = "WECHAT_OPEN_DATA"


def _transient_or_token(payload: dict[str, Any], what: str) -> Any:
    """A JSON answer's errcode, after raising for the two every API shares: a rejected token (refresh once) and -1
    (WeChat's system error: unavailable, retryable)."""
    errcode = payload.get("errcode", 0)
    if errcode in TOKEN_INVALID:
        raise _TokenRejected(errcode, _rid(str(payload.get("errmsg"))))
    if errcode == -1:
        raise WeChatUnavailable(f"WeChat {what}: system error", errcode, _rid(str(payload.get("errmsg"))))
    return errcode


class _TokenRejected(Exception):
    def __init__(self, errcode: int, rid: str | None) -> None:
        super().__init__(f"token rejected ({errcode})")
        self.errcode, self.rid = errcode, rid


def _mapped_error(errcode: int | None, errmsg: str, rid: str | None) -> WeChatError:
    if errcode == 41030:
        return BadPage(
            "WeChat rejected the page: it must exist in the published version (or pass checkPath: "
            "false for unpublished pages and trial/develop codes)",
            errcode,
            rid,
        )
    if errcode in (40129, 40169):
        return BadSceneRejected(f"WeChat rejected the scene: {errmsg}", errcode, rid)
    if errcode == 45009:
        return RateLimited("WeChat rate limit reached (45009); retry later", errcode, rid)
    return WeChatError(f"WeChat error {errcode}: {errmsg}", errcode, rid)
