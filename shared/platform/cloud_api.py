"""Tencent Cloud API 3.0 calls from a function: TC3-HMAC-SHA256 signed JSON over the standard library's HTTP client.

Why not ``tencentcloud-sdk-python`` in the functions (the deployer and ``make smoke`` use it): its common package
imports ``requests`` and its models weigh as much again — at a cold start that costs more than the whole MongoDB
driver (bench/RESULTS.md, cold start), for a request the SDK itself builds in a dozen lines. The signature is the
SDK's own algorithm, byte for byte: tests/platform/test_cloud_api.py signs the same request with both and compares
the ``Authorization`` headers, and the emulators check it as Tencent documents it. Each request waits at most the
time it is given (fractions of a second, unlike the SDK's whole seconds), and is never retried here: a retried write
could be applied twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

CONTENT_TYPE = "application/json"
REQUEST_CLIENT = "share-funnel"


class CloudApiError(Exception):
    """The API answered an error (``code``, ``message``, ``request_id``), or could not be reached (``unreachable``:
    the code is ``ClientNetworkError``, or ``ServerNetworkError`` for a non-200 answer)."""

    def __init__(self, code: str, message: str, request_id: str | None = None, unreachable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.request_id, self.unreachable = code, message, request_id, unreachable


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def authorization(secret_id: str, secret_key: str, service: str, host: str, body: bytes, timestamp: int) -> str:
    """The ``Authorization`` header of a POST of ``body`` to ``host`` at ``timestamp`` (what the SDK signs:
    ``content-type`` and ``host``)."""
    date = dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(
        (
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        )
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(("TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


class CloudApi:
    """One service and version of the API (e.g. ``tcb`` 2018-06-08) for one set of keys and a region.

    ``endpoint``: ``tcb.tencentcloudapi.com`` by default; ``http://127.0.0.1:PORT`` for an emulator."""

    def __init__(
        self,
        service: str,
        version: str,
        region: str,
        secret_id: str,
        secret_key: str,
        session_token: str | None,
        endpoint: str | None = None,
    ) -> None:
        self.service, self.version, self.region = service, version, region
        self._secret_id, self._secret_key, self._token = secret_id, secret_key, session_token
        address = endpoint or f"{service}.tencentcloudapi.com"
        self._plain = address.startswith("http://")
        self.host = address.split("://", 1)[-1].rstrip("/")
        self._local = threading.local()  # one kept-alive connection per thread

    def _connection(self, timeout_s: float) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPConnection if self._plain else http.client.HTTPSConnection
            connection = kind(self.host, timeout=timeout_s)
            self._local.connection = connection
        connection.timeout = timeout_s
        if connection.sock is not None:
            connection.sock.settimeout(timeout_s)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def call(self, action: str, params: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        """The ``Response`` object of one request; ``CloudApiError`` for an API error or a transport failure."""
        body = json.dumps(params).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": self.host,
            "X-TC-Action": action,
            "X-TC-Version": self.version,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.region,
            "X-TC-RequestClient": REQUEST_CLIENT,
            "Authorization": authorization(self._secret_id, self._secret_key, self.service, self.host, body, timestamp),
        }
        if self._token:
            headers["X-TC-Token"] = self._token
        try:
            connection = self._connection(timeout_s)
            connection.request("POST", "/", body=body, headers=headers)
            response = connection.getresponse()
            status, payload = response.status, response.read()
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            self._drop_connection()  # its state is unknown: the next request opens a new one
            raise CloudApiError("ClientNetworkError", type(exc).__name__, unreachable=True) from exc
        if status != 200:
            self._drop_connection()
            raise CloudApiError("ServerNetworkError", f"HTTP {status}", unreachable=True)
        try:
            answer = json.loads(payload)["Response"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CloudApiError("ServerNetworkError", "the answer is not the API's JSON", unreachable=True) from exc
        if not isinstance(answer, dict):
            raise CloudApiError("ServerNetworkError", "the answer is not the API's JSON", unreachable=True)
        error = answer.get("Error")
        if isinstance(error, Mapping):
            raise CloudApiError(str(error.get("Code")), str(error.get("Message", "")), answer.get("RequestId"))
        return answer


def client_profile(endpoint: str | None, timeout_s: float) -> Any:
    """The SDK's client profile, for the callers that use ``tencentcloud-sdk-python`` (the deployer, ``make smoke``,
    continuations): ``endpoint`` overrides the service host (``http://`` only for a local emulator); requests time
    out after ``timeout_s`` (whole seconds, at least one: the SDK's unit)."""
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    http = HttpProfile(reqTimeout=max(1, int(timeout_s)))
    if endpoint:
        http.endpoint = endpoint.split("://", 1)[-1]
        if endpoint.startswith("http://"):
            http.scheme = "http"
    return ClientProfile(httpProfile=http)
