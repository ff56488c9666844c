"""COS's XML API as a deploy uses it — PUT, GET and HEAD of one object — with COS's own request signature checked.

Requests address ``<bucket>-<appid>.cos.<region>.myqcloud.com`` (the ``Host`` header; the emulator itself listens on
127.0.0.1) and carry ``Authorization: q-sign-algorithm=sha1&q-ak=…&q-sign-time=…&q-key-time=…&q-header-list=…
&q-url-param-list=…&q-signature=…``. The signature is recomputed here from COS's documented algorithm (written
independently of the client's signer, so the two check each other): SignKey = HMAC-SHA1(SecretKey, KeyTime);
HttpString = method, path, parameters and the listed headers; StringToSign = "sha1", KeyTime, SHA1(HttpString);
Signature = HMAC-SHA1(SignKey, StringToSign). ``host`` must be signed, the time window must hold now, and with
temporary keys ``x-cos-security-token`` must be both sent and signed (what Tencent's CloudBase toolkit found COS to
require). A bucket that does not exist answers 404 ``NoSuchBucket``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

COS_HOST_SUFFIX = ".myqcloud.com"


def _hex_hmac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha1).hexdigest()


def _encoded(value: str) -> str:
    return quote(value, safe="-_.~")


class CosBuckets:
    """The buckets of one account (names with their ``-appid``), and the keys allowed to write them."""

    def __init__(self, secret_id: str, secret_key: str, session_token: str | None, buckets: set[str]) -> None:
        self.secret_id, self.secret_key, self.session_token = secret_id, secret_key, session_token
        self.buckets = set(buckets)
        self.objects: dict[tuple[str, str], bytes] = {}
        self.puts: list[tuple[str, str]] = []  # (bucket, key) of every accepted PUT
        self.refusals: list[str] = []
        self._lock = threading.Lock()

    @staticmethod
    def addresses_cos(headers: dict[str, str]) -> bool:
        host = headers.get("host", "").split(":")[0]
        return ".cos." in host and host.endswith(COS_HOST_SUFFIX)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """(status, XML body) for one request; ``headers`` lower-cased."""
        host = headers.get("host", "").split(":")[0]
        bucket = host.split(".cos.", 1)[0]
        url = urlsplit(target)
        key = unquote(url.path).lstrip("/")
        refusal = self.verify(method, url.path, dict(parse_qsl(url.query, keep_blank_values=True)), headers)
        if refusal:
            with self._lock:
                self.refusals.append(refusal)
            return 403, _error(refusal.split(":")[0], refusal)
        if bucket not in self.buckets:
            return 404, _error("NoSuchBucket", f"bucket {bucket} does not exist")
        with self._lock:
            if method == "PUT":
                self.objects[(bucket, key)] = body
                self.puts.append((bucket, key))
                return 200, b""
            data = self.objects.get((bucket, key))
        if data is None:
            return 404, _error("NoSuchKey", f"{key} does not exist")
        return 200, data if method == "GET" else b""

    def verify(self, method: str, path: str, params: dict[str, str], headers: dict[str, str]) -> str | None:
        """None for a well-signed request, else ``Code: reason``."""
        fields = dict(parse_qsl(headers.get("authorization", ""), keep_blank_values=True))
        if fields.get("q-sign-algorithm") != "sha1" or not fields.get("q-signature"):
            return "AccessDenied: no COS signature"
        if fields.get("q-ak") != self.secret_id:
            return "InvalidAccessKeyId: unknown q-ak"
        try:
            start, end = (int(part) for part in fields.get("q-key-time", "").split(";"))
        except ValueError:
            return "AccessDenied: malformed q-key-time"
        if not start <= time.time() <= end or fields.get("q-sign-time") != fields.get("q-key-time"):
            return "RequestTimeTooSkewed: the signature's time window does not hold now"
        signed = [name for name in fields.get("q-header-list", "").split(";") if name]
        if "host" not in signed:
            return "AccessDenied: host must be signed"
        if self.session_token is not None:
            if headers.get("x-cos-security-token") != self.session_token:
                return "InvalidAccessKeyId: temporary keys need x-cos-security-token"
            if "x-cos-security-token" not in signed:
                return "AccessDenied: x-cos-security-token must be signed"
        if any(name not in headers for name in signed):
            return "AccessDenied: a signed header was not sent"
        listed = [name for name in fields.get("q-url-param-list", "").split(";") if name]
        http_string = "\n".join(
            (
                method.lower(),
                unquote(path),
                "&".join(f"{name}={_encoded(params.get(name, ''))}" for name in sorted(listed)),
                "&".join(f"{name}={_encoded(headers[name])}" for name in sorted(signed)),
                "",
            )
        )
        key_time = fields["q-key-time"]
        string_to_sign = f"sha1\n{key_time}\n{hashlib.sha1(http_string.encode()).hexdigest()}\n"
        expected = _hex_hmac(_hex_hmac(self.secret_key.encode(), key_time).encode(), string_to_sign)
        if not hmac.compare_digest(expected, fields["q-signature"]):
            return "SignatureDoesNotMatch: the signature does not match"
        return None


def _error(code: str, message: str) -> bytes:
    return (
        f"<?xml version='1.0' encoding='utf-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
    )


def serve(handler: Any, buckets: CosBuckets) -> bool:
    """Answer a request of an HTTP handler (``tools.loopback.QuietHandler``) if it addresses COS; False otherwise."""
    headers = {k.lower(): v for k, v in handler.headers.items()}
    if not buckets.addresses_cos(headers):
        return False
    body = handler.read_body() if handler.command == "PUT" else b""
    status, payload = buckets.handle(handler.command, handler.path, headers, body)
    handler.reply(status, payload, {"Content-Type": "application/xml"})
    return True
