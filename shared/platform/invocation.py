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

from shared.platform import db, lease, log
from shared.platform.errors import ShareFunnelError

Operation = Callable[[Any, Any], dict[str, Any]]
_cold = {"start": True}


# ``{"platformProbe": true}`` (the post-deploy smoke check, through SCF Invoke): what this invocation got from the
# platform — names, never values — and whether the database answers. Reads nothing of anyone's; on CloudBase it writes
# one document to a collection of its own (``share_funnel_probe``) and removes it, to read the answers' shapes.
PROBE_KEY = "platformProbe"
ROLE_CREDENTIALS = ("TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN")


def platform_probe(event: Any, context: Any) -> dict[str, Any]:
    import os

    from shared.platform import config
    from shared.platform.errors import NoIdentity, Unavailable
    from shared.platform.identity import caller_identity, platform_environment

    ctx = context if isinstance(context, Mapping) else {}
    try:
        source: str | None = caller_identity(event, context).source
    except NoIdentity:
        source = None
    settings = config.settings()
    database: dict[str, Any] = {"backend": settings.backend}
    try:
        with db.invocation_deadline(context), db.driver_errors("probe the database"):
            handle = db.database(settings)
            handle["share_funnel_probe"].find_one({"_id": "platform-probe"}, {"_id": 1})  # its own: no wing's data
            if settings.backend == "cloudbase":
                # First contact: the dialect and the answers, on a collection of the probe's own (left empty).
                from shared.platform.cloudbase_db import first_contact

                database["firstContact"] = first_contact(handle)
        database["reachable"] = True
    except Unavailable as exc:
        database.update(reachable=False, error=type(exc.__cause__).__name__ if exc.__cause__ else exc.code)
    report: dict[str, Any] = {
        "contextKeys": sorted(str(key) for key in ctx),
        "environmentKeys": sorted(platform_environment(context)),
        "roleCredentials": [name for name in ROLE_CREDENTIALS if os.environ.get(name)],
        "identitySource": source,
        "database": database,
    }
    log.event("platform_probe", **report)
    return {"ok": True, "probe": report}


def handle(function_name: str, event: Any, context: Any, operation: Operation) -> dict[str, Any]:
    if isinstance(event, Mapping) and event.get(PROBE_KEY) is True and len(event) == 1:
        return _respond(function_name, event, context, platform_probe)
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
            lease.record_unrecorded_ends()  # what this instance could not record while the database was away
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
