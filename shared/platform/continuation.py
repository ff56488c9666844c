"""How a job outlives its invocation — genWxacode batches, reward settlement and dailyFunnel's fan-out alike:
work until the invocation's deadline less a reserve, save progress, then hand the rest to a fresh asynchronous
invocation of the same function (SCF ``Invoke``, type ``Event``) whose event carries a resume key only this
function could have issued (its hash is kept with the job). When the hand-off fails the job is ``paused`` with the
error; the next timer run (or an admin's resume) carries it on.

Leases: a job's lease lasts until the holding invocation is certainly dead — its start plus its time limit (the
platform kills it then) plus a grace — so a crashed or killed holder frees the job within one invocation's life,
and a live one never loses it. A handed-off job stays owned for ``HANDOFF_GRACE`` while its continuation waits in
the platform's queue.

The SCF ``Invoke`` API through tencentcloud-sdk-python-common + -scf (0.4 MB, not the 167 MB full SDK).

Credentials are the function role's temporary keys that SCF injects (``TENCENTCLOUD_SECRETID``,
``TENCENTCLOUD_SECRETKEY``, ``TENCENTCLOUD_SESSIONTOKEN``), read on every call because they rotate; the
SDK's default chain does not see them. The SDK is imported only when a continuation is needed, so
single-code invocations never load it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from shared.platform import log
from shared.platform.db import time_limit_ms
from shared.platform.errors import BadInput, ConfigError, ShareFunnelError, Unavailable

ENV_SCF_API_ENDPOINT = "SCF_API_ENDPOINT"  # http://host:port for an emulator; default: the public SCF API
VARIABLES = (ENV_SCF_API_ENDPOINT,)
INVOKE_TIMEOUT_S = 10  # an asynchronous Invoke answers at once; an outage is answered well inside the time limit
RESUME_KEY = re.compile(r"[A-Za-z0-9_-]{16,128}")  # secrets.token_urlsafe; checked before it is hashed
LEASE_GRACE = dt.timedelta(seconds=30)  # past the holder's time limit: its last write may still be in flight
HANDOFF_GRACE = dt.timedelta(minutes=5)  # an Event invocation starts within seconds; the platform's queue may lag
DEFAULT_LIMIT_MS = 3000  # SCF's default time limit, for a context that does not say
MIN_RUN_SECONDS = 0.25  # every invocation does some work, so a chain of continuations always progresses


class Continuation(Protocol):
    def continue_job(self, event: dict[str, Any]) -> None:
        """Start an asynchronous invocation of this function with ``event``."""


def deadline_for(
    context: Any, monotonic: Callable[[], float] = time.monotonic, default_ms: int = DEFAULT_LIMIT_MS
) -> float:
    """When this invocation must stop taking new work (``monotonic`` time): its time limit less a reserve for the
    work in flight (a getUnlimited can take ~10 s, a funnel day a few seconds) and for saving progress."""
    budget = (time_limit_ms(context) or default_ms) / 1000.0
    reserve = min(30.0, budget * 0.25)
    return monotonic() + budget - reserve


def lease_until(now: dt.datetime, context: Any, default_ms: int = DEFAULT_LIMIT_MS) -> dt.datetime:
    """When this invocation is certainly over: now plus its time limit plus a grace. A lease that lasts this long
    is never lost by a live holder and outlives a dead one by at most the grace (no heartbeat can do better)."""
    return now + dt.timedelta(milliseconds=time_limit_ms(context) or default_ms) + LEASE_GRACE


def handoff_until(now: dt.datetime) -> dt.datetime:
    return now + HANDOFF_GRACE


def new_resume_key() -> tuple[str, str]:
    """A fresh key for a continuation's event and the hash the job keeps (the key itself is never stored)."""
    key = secrets.token_urlsafe(24)
    return key, key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored_hash: Any) -> bool:
    return isinstance(stored_hash, str) and secrets.compare_digest(key_hash(key), stored_hash)


def parse_resume_key(value: Any, field: str = "resumeKey") -> str:
    if not isinstance(value, str) or not RESUME_KEY.fullmatch(value):
        raise BadInput(f"{field} must be the key this function issued", field=field)
    return value


Record = Callable[[str, dict[str, Any]], None]


def hand_off(continuation: Continuation | None, event_for: Callable[[str], dict[str, Any]], record: Record) -> str:
    """Hand the rest of a job to a fresh invocation: ``record("continuing", {resumeKeyHash})`` first (so the
    continuation finds its key), then ``Invoke``; a failed hand-off is ``record("paused", {lastError})`` and waits for
    the next timer or an admin. Returns the status recorded last."""
    if continuation is None:  # not on SCF (a local run, the CLI): nobody to hand to
        record("paused", {})
        return "paused"
    key, hashed = new_resume_key()
    record("continuing", {"resumeKeyHash": hashed})
    try:
        continuation.continue_job(event_for(key))
    except ShareFunnelError as err:
        record("paused", {"lastError": {"code": err.code, "message": err.message}})
        return "paused"
    return "continuing"


class ScfInvokeContinuation:
    def __init__(
        self,
        function_name: str,
        region: str,
        namespace: str | None = None,
        endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.function_name, self.region, self.namespace, self.endpoint = function_name, region, namespace, endpoint
        self._env = env

    @classmethod
    def from_context(cls, context: Any, env: Mapping[str, str] | None = None) -> ScfInvokeContinuation | None:
        """The continuation for the running function, or None outside SCF (no function name or region)."""
        env = os.environ if env is None else env
        ctx = context if isinstance(context, Mapping) else {}
        function_name = ctx.get("function_name") or env.get("SCF_FUNCTIONNAME")
        region = ctx.get("tencentcloud_region") or env.get("TENCENTCLOUD_REGION")
        if not function_name or not region:
            return None
        namespace = ctx.get("namespace") or env.get("SCF_NAMESPACE") or None
        return cls(function_name, region, namespace, env.get(ENV_SCF_API_ENDPOINT) or None, env)

    def continue_job(self, event: dict[str, Any]) -> None:
        from shared.platform.cloud_api import CloudApi, CloudApiError

        env = os.environ if self._env is None else self._env
        secret_id, secret_key = env.get("TENCENTCLOUD_SECRETID"), env.get("TENCENTCLOUD_SECRETKEY")
        if not secret_id or not secret_key:
            raise ConfigError(
                "TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY are required to continue a job "
                "(SCF sets them when the function has an execution role)"
            )
        api = CloudApi(
            "scf",
            "2018-04-16",
            self.region,
            secret_id,
            secret_key,
            env.get("TENCENTCLOUD_SESSIONTOKEN") or None,
            self.endpoint,
        )
        request: dict[str, Any] = {
            "FunctionName": self.function_name,
            "InvocationType": "Event",  # asynchronous: up to 128 KB of event, no 300 s API timeout
            "ClientContext": json.dumps(event),
        }
        if self.namespace:
            request["Namespace"] = self.namespace
        try:
            response = api.call("Invoke", request, INVOKE_TIMEOUT_S)
        except CloudApiError as exc:
            if exc.unreachable:
                raise Unavailable("could not reach the SCF API to start the continuation") from exc
            raise Unavailable(f"could not start the continuation: {exc.code}") from exc
        log.event("continuation_invoked", function=self.function_name, request_id=response.get("RequestId"))
