"""A local stand-in for wx.cloud.callFunction: JSON lines in, the real handler's responses out.

Each input line is ``{"name": "recordShare", "openid": "o..." | null, "data": {...}}``; each output line is
the function's response. Used by the mini program kit's end-to-end test (and handy for poking the API).
Runs on the embedded engine unless MONGODB_URI is set.
"""

from __future__ import annotations

import json
import logging
import pathlib
import sys

from shared.platform import log
from tools.wxclient import load_handler, scf_context

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main() -> None:
    log.logger().handlers[:] = [logging.StreamHandler(sys.stderr)]  # stdout carries responses only
    handlers = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        name = request["name"]
        if name not in handlers:
            handlers[name] = load_handler(name)
        data = dict(request.get("data") or {})
        openid = request.get("openid")
        if openid:
            data["userInfo"] = {"appId": "wx3c5e7a9b1d2f4a6c", "openId": openid}
        response = handlers[name].main_handler(data, scf_context(openid, function_name=name))
        sys.stdout.write(json.dumps(response, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
