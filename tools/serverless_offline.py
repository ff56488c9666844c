"""Run the real Serverless Framework CLI without network: ``python tools/serverless_offline.py package``.

serverless-tencent-scf sends a telemetry POST (plain http) from its constructor and crashes when it fails;
a local sink that answers 200 to everything, used as HTTP_PROXY, absorbs it. HOME is a throwaway folder
so the CLI's own files (~/.serverlessrc, ~/.serverless) never land in the user's home or CI's.
"""
from __future__ import annotations

import http.server
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
from typing import List, Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]


class _Sink(http.server.BaseHTTPRequestHandler):
    received: List[str] = []

    def _ok(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        _Sink.received.append(f"{self.command} {self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = _ok

    def log_message(self, *args) -> None:
        pass


def run(arguments: List[str], cwd: pathlib.Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    proxy = f"http://127.0.0.1:{sink.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory(prefix="sls-home-") as home:
            env = {**os.environ, "HOME": home, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
                   "HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
            cli = cwd / "node_modules" / ".bin" / "serverless"
            return subprocess.run([str(cli), *arguments], cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=timeout)
    finally:
        sink.shutdown()
        sink.server_close()


def main(argv: Optional[List[str]] = None) -> int:
    result = run(list(argv if argv is not None else sys.argv[1:]) or ["package"])
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
