"""The one place that turns a handler's work into the callFunction response and a log line.

``ok: false`` responses come only from ``ShareFunnelError`` codes; a bug surfaces as ``INTERNAL``
with the traceback logged, never as a half-written success. A timer invocation that fails retryably raises
instead of answering, so SCF records the failure and retries it (a timer has no caller to read a response).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from shared.platform import db, log
from shared.platform.errors import ShareFunnelError

Operation = Callable[[Any, Any], dict[str, Any]]
_cold = {"start": True}


def handle(function_name: str, event: Any, context: Any, operation: Operation) -> dict[str, Any]:
    response = _respond(function_name, event, context, operation)
    if (
        isinstance(event, Mapping)
        and event.get("Type") == "Timer"
        and not response["ok"]
        and response["error"].get("retryable")
    ):
        raise RuntimeError(f"{function_name} failed ({response['error']['code']}); the timer invocation is retried")
    return response


def _respond(function_name: str, event: Any, context: Any, operation: Operation) -> dict[str, Any]:
    started = time.perf_counter()
    ctx = context if isinstance(context, Mapping) else {}
    log.bind(function=function_name, request_id=ctx.get("request_id"), cold_start=_cold["start"])
    _cold["start"] = False
    try:
        with db.invocation_deadline(context):
            response = operation(event, context)
    except ShareFunnelError as err:
        response = err.to_response()
        level = logging.ERROR if err.retryable else logging.WARNING
        log.event(
            "invocation",
            level=level,
            ok=False,
            code=err.code,
            error=err.message,
            cause=repr(err.__cause__) if err.__cause__ else None,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response
    except Exception:
        log.event(
            "invocation",
            level=logging.ERROR,
            exc_info=True,
            ok=False,
            code="INTERNAL",
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return {"ok": False, "error": {"code": "INTERNAL", "message": "internal error; see the function log"}}
    log.event("invocation", ok=True, duration_ms=round((time.perf_counter() - started) * 1000, 2))
    return response
