"""CloudBase's HTTP access (HTTP 访问服务) in front of a function, on 127.0.0.1: each request becomes the function's
"integrated request" event — ``{path, httpMethod, headers (lower-cased names), multiValueHeaders,
queryStringParameters, requestContext, body, isBase64Encoded}`` as docs.cloudbase.net/service/access-cloud-function
documents it — and the function's integrated response (``{statusCode, headers, body, isBase64Encoded}``) becomes the
HTTP answer. Tests route WeChat Pay's callbacks through it to the rewards function."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlparse

from tools.loopback import LoopbackServer, QuietHandler

Handler = Callable[[dict[str, Any], dict[str, Any]], Any]


class HttpAccess:
    def __init__(self, handler: Handler, context: Callable[[], dict[str, Any]], env_id: str = "prod-env") -> None:
        self.handler, self.context, self.env_id = handler, context, env_id
        self.answers: list[int] = []
        self._server: LoopbackServer | None = None
        self.url = ""

    def start(self) -> str:
        access = self

        class Route(QuietHandler):
            def do_POST(self):
                self._serve("POST")

            def do_GET(self):
                self._serve("GET")

            def _serve(self, method: str) -> None:
                status, headers, payload = access.serve(method, self.path, dict(self.headers), self.read_body())
                self.reply(status, payload, headers)

        self._server = LoopbackServer(Route, 0)
        self.url = self._server.url
        return self.url

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def serve(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        url = urlparse(raw_path)
        try:
            text, encoded = body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        event = {
            "path": url.path,
            "httpMethod": method,
            "headers": {k.lower(): v for k, v in headers.items()},
            "multiValueHeaders": {k.lower(): [v] for k, v in headers.items()},
            "queryStringParameters": dict(parse_qsl(url.query)),
            "requestContext": {"requestId": "http-access", "envId": self.env_id, "appId": 1250000000},
            "body": text,
            "isBase64Encoded": encoded,
        }
        answer = self.handler(event, self.context())
        if isinstance(answer, dict) and "statusCode" in answer:  # an integrated response
            payload = answer.get("body") or ""
            data = base64.b64decode(payload) if answer.get("isBase64Encoded") else str(payload).encode()
            self.answers.append(int(answer["statusCode"]))
            return int(answer["statusCode"]), dict(answer.get("headers") or {}), data
        self.answers.append(200)
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()
