"""Run the real Serverless Framework CLI without network: ``python tools/serverless_offline.py package``.

serverless-tencent-scf sends a telemetry POST (plain http) from its constructor and crashes when it fails;
a local sink that answers 200 to everything, used as HTTP_PROXY, absorbs it. HOME is a throwaway folder
so the CLI's own files (~/.serverlessrc, ~/.serverless) never land in the user's home or CI's.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile
from typing import List, Optional

if __package__ in (None, ""):  # run as a script: make the repository's `tools` package importable
    import pathlib as _pathlib
    import sys as _sys

    _sys.path.insert(0, str(_pathlib.Path(__file__).resolve().parents[1]))
from tools.loopback import LoopbackServer, QuietHandler  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


class _Sink(QuietHandler):
    def _ok(self) -> None:
        self.read_body()
        self.reply(200, b"{}", {"Content-Type": "application/json"})

    do_GET = do_POST = do_PUT = _ok


def run(arguments: List[str], cwd: pathlib.Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    sink = LoopbackServer(_Sink)
    proxy = sink.url
    try:
        with tempfile.TemporaryDirectory(prefix="sls-home-") as home:
            env = {**os.environ, "HOME": home, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
                   "HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}
            cli = cwd / "node_modules" / ".bin" / "serverless"
            return subprocess.run([str(cli), *arguments], cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=timeout)
    finally:
        sink.stop()


def main(argv: Optional[List[str]] = None) -> int:
    result = run(list(argv if argv is not None else sys.argv[1:]) or ["package"])
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
