"""A local emulator of the Tencent Cloud API's SCF ``Invoke`` action over real HTTP on 127.0.0.1.

It checks what the real API checks first — the TC3-HMAC-SHA256 signature with the caller's secret key,
the session token of temporary credentials, action, version and region — and records each invocation,
so a test can run the continuation event through the real handler; synchronous (RequestResponse) calls run
a registered handler, as the post-deploy smoke test does against real SCF. Point ``SCF_API_ENDPOINT`` at it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from typing import Any, Callable, Dict, List, Optional

if __package__ in (None, ""):  # run as a script: make the repository's `tools` package importable
    import pathlib as _pathlib
    import sys as _sys

    _sys.path.insert(0, str(_pathlib.Path(__file__).resolve().parents[1]))
from tools.loopback import LoopbackServer, QuietHandler  # noqa: E402


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_signature(secret_key: str, service: str, headers: Dict[str, str], body: bytes, signed: List[str],
                  timestamp: int, date: str) -> str:
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    canonical = "\n".join(["POST", "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class ScfApiEmulator:
    def __init__(self, secret_id: str = "AKIDemulator", secret_key: str = "emulator-secret-key",
                 session_token: Optional[str] = "emulator-session-token", fail_with: Optional[str] = None,
                 functions: Optional[Dict[str, Callable[[dict, dict], Any]]] = None) -> None:
        self.secret_id, self.secret_key, self.session_token = secret_id, secret_key, session_token
        self.fail_with = fail_with  # an error Code to answer with, e.g. "ResourceNotFound.Function"
        self.functions = functions or {}  # name -> handler, run for RequestResponse invocations
        self.invocations: List[dict] = []
        self.rejections: List[str] = []
        self._lock = threading.Lock()
        self._server: Optional[LoopbackServer] = None
        self.endpoint = ""

    def start(self) -> str:
        emulator = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.read_body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = json.dumps({"Response": emulator.handle(headers, body)}).encode()
                self.reply(200, payload, {"Content-Type": "application/json"})

        self._server = LoopbackServer(Handler)
        self.endpoint = self._server.url
        return self.endpoint

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def _reject(self, code: str, message: str, request_id: str) -> dict:
        with self._lock:
            self.rejections.append(code)
        return {"Error": {"Code": code, "Message": message}, "RequestId": request_id}

    def handle(self, headers: Dict[str, str], body: bytes) -> dict:
        request_id = str(uuid.uuid4())
        auth = headers.get("authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            parts = dict(item.strip().split("=", 1) for item in rest.split(","))
            secret_id, date, service, _ = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
            timestamp = int(headers["x-tc-timestamp"])
        except (ValueError, KeyError):
            return self._reject("AuthFailure.SignatureFailure", "malformed Authorization", request_id)
        if algorithm != "TC3-HMAC-SHA256" or secret_id != self.secret_id:
            return self._reject("AuthFailure.SecretIdNotFound", "unknown SecretId", request_id)
        expected = tc3_signature(self.secret_key, service, headers, body, signed, timestamp, date)
        if not hmac.compare_digest(expected, parts.get("Signature", "")):
            return self._reject("AuthFailure.SignatureFailure", "signature mismatch", request_id)
        if self.session_token is not None and headers.get("x-tc-token") != self.session_token:
            return self._reject("AuthFailure.TokenFailure", "temporary credentials need their token", request_id)
        if headers.get("x-tc-action") != "Invoke" or headers.get("x-tc-version") != "2018-04-16":
            return self._reject("InvalidAction", "only scf Invoke 2018-04-16 is emulated", request_id)
        if self.fail_with:
            return self._reject(self.fail_with, "injected failure", request_id)
        request = json.loads(body)
        if request.get("InvocationType", "RequestResponse") == "RequestResponse":
            handler = self.functions.get(request.get("FunctionName"))
            if handler is None:
                return self._reject("ResourceNotFound.Function", "no such function", request_id)
            event = json.loads(request.get("ClientContext") or "{}")
            context = {"function_name": request.get("FunctionName"), "request_id": request_id,
                       "namespace": request.get("Namespace") or "default", "time_limit_in_ms": 3000,
                       "tencentcloud_region": headers.get("x-tc-region"), "environment": "{}"}
            try:
                response, outcome, error = handler(event, context), 0, ""
            except Exception as exc:  # the platform reports a crashed invocation, it does not raise
                response, outcome, error = None, 1, f"{type(exc).__name__}: {exc}"
            return {"Result": {"FunctionRequestId": request_id, "InvokeResult": outcome, "ErrMsg": error,
                               "RetMsg": json.dumps(response), "Duration": 1.0, "BillDuration": 1, "MemUsage": 0,
                               "Log": ""}, "RequestId": request_id}
        with self._lock:
            self.invocations.append({"region": headers.get("x-tc-region"), "function": request.get("FunctionName"),
                                     "namespace": request.get("Namespace"), "type": request.get("InvocationType"),
                                     "event": json.loads(request.get("ClientContext") or "{}")})
        return {"Result": {"FunctionRequestId": str(uuid.uuid4()), "InvokeResult": 0}, "RequestId": request_id}
