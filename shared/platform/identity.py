"""Who is calling: the openid the platform attached to this invocation, never the client's say-so.

Resolution order (as @cloudbase/node-sdk does it, context before process environment):
``context["environment"]`` (JSON string, new architecture) → ``context["environ"]`` (``k=v;k=v``,
old architecture) → ``os.environ`` for keys named in ``WX_CONTEXT_KEYS`` → ``event["userInfo"]["openId"]``.
Client data fields such as ``openid`` or ``invitee`` are never read.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from shared.platform import log
from shared.platform.errors import Forbidden, NoIdentity

OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
MAX_ENVIRONMENT = 65536  # the platform's context environment is a few hundred bytes


class Caller(NamedTuple):
    openid: str
    appid: str | None
    unionid: str | None
    source: str  # where the openid was found, for logs


def platform_environment(context: Any) -> dict[str, str]:
    """The per-invocation key/values the platform put in the SCF context (new or old architecture)."""
    if not isinstance(context, Mapping):
        return {}
    raw = context.get("environment")
    if isinstance(raw, str) and raw.strip():
        # Whatever the platform put there, a malformed value means "no identity", never a crash: not JSON,
        # not an object, absurdly large or nested too deeply for the parser.
        try:
            parsed = json.loads(raw) if len(raw) <= MAX_ENVIRONMENT else None
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict):
            return {str(k): v for k, v in parsed.items() if isinstance(v, str)}
    if isinstance(raw, Mapping):
        return {str(k): v for k, v in raw.items() if isinstance(v, str)}
    old = context.get("environ")
    if isinstance(old, Mapping):
        return {str(k): v for k, v in old.items() if isinstance(v, str)}
    if isinstance(old, str) and old:
        pairs: dict[str, str] = {}
        for part in old.split(";"):
            key, eq, value = part.partition("=")
            if eq and key.strip():
                pairs[key.strip()] = value.strip()
        return pairs
    return {}


def _listed_keys(platform: Mapping[str, str], environ: Mapping[str, str]) -> set:
    listed = platform.get("WX_CONTEXT_KEYS") or environ.get("WX_CONTEXT_KEYS") or ""
    return {key.strip() for key in listed.split(",") if key.strip()}


def caller_identity(event: Any, context: Any, environ: Mapping[str, str] | None = None) -> Caller:
    """The caller, or ``NoIdentity`` (e.g. Moments single-page mode, a timer, the HTTP API)."""
    environ = os.environ if environ is None else environ
    platform = platform_environment(context)
    listed = _listed_keys(platform, environ)

    def lookup(key: str) -> str | None:
        if platform.get(key):
            return platform[key]
        if key in listed and environ.get(key):
            return environ[key]
        return None

    openid, source = lookup("WX_OPENID"), "context"
    if openid and not platform.get("WX_OPENID"):
        source = "environ"
    if not openid:
        user_info = event.get("userInfo") if isinstance(event, Mapping) else None
        candidate = user_info.get("openId") if isinstance(user_info, Mapping) else None
        if isinstance(candidate, str) and candidate:
            openid, source = candidate, "event.userInfo"
    if not openid:
        raise NoIdentity("no caller identity from the platform (Moments single-page mode, timer or HTTP API call)")
    if not OPENID.fullmatch(openid):
        raise NoIdentity("the platform identity is malformed")
    return Caller(openid=openid, appid=lookup("WX_APPID"), unionid=lookup("WX_UNIONID"), source=source)


def timer_evidence(context: Any, environ: Mapping[str, str] | None = None) -> bool:
    """True when the platform says this is a timer invocation: ``TRIGGER_SRC=timer`` (context environment,
    else process environment) and no user identity anywhere. A client can put ``{"Type": "Timer"}`` in
    callFunction data, but its call always carries ``WX_OPENID``."""
    environ = os.environ if environ is None else environ
    platform = platform_environment(context)
    source = platform.get("TRIGGER_SRC") or environ.get("TRIGGER_SRC")
    if source != "timer":
        return False
    try:
        caller_identity({}, context, environ)
    except NoIdentity:
        return True
    return False


class Invoker(NamedTuple):
    """Who started an invocation: the platform's timer (``timer``), a mini program user (``caller``), or an ops
    call with neither (an admin token decides what it may do)."""

    caller: Caller | None
    timer: bool = False


def invoker_of(event: Any, context: Any, environ: Mapping[str, str] | None = None) -> Invoker:
    """The invocation's origin. A ``{"Type": "Timer"}`` event is a timer run only with the platform's evidence;
    anything else shaped like one is a client forging it (``Forbidden``)."""
    try:
        caller: Caller | None = caller_identity(event, context, environ)
    except NoIdentity:
        caller = None
    if not (isinstance(event, Mapping) and event.get("Type") == "Timer"):
        return Invoker(caller=caller)
    if not timer_evidence(context, environ):
        # Either a client forging the event, or a runtime that does not report timers as documented: the
        # names of what the platform sent (never values) tell the two apart on a first deployment.
        log.event(
            "timer_event_rejected",
            level=logging.ERROR,
            openid_present=caller is not None,
            context_keys=sorted(map(str, context)) if isinstance(context, dict) else None,
            environment_keys=sorted(platform_environment(context)),
        )
        raise Forbidden("timer events are accepted only from the platform's timer trigger")
    log.event("timer", time=event.get("Time"), trigger=event.get("TriggerName"))
    return Invoker(caller=None, timer=True)
