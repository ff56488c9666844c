"""Who is calling: the openid the platform attached to this invocation, never the client's say-so.

Resolution, as Tencent's own SDKs read it (``@cloudbase/node-sdk``, ``wx-server-sdk``): ``context["environment"]``
(JSON string, new architecture) → ``context["environ"]`` (``k=v;k=v``, old architecture); a key present there wins
even when empty. Only a key absent from the context is read from the process environment, and only when
``WX_CONTEXT_KEYS`` or ``TCB_CONTEXT_KEYS`` lists it. ``event["userInfo"]["openId"]`` — which whoever invokes the
function another way (a Publishable Key from a web page, the CloudBase HTTP API, SCF Invoke) writes themselves — is
accepted only when the platform's own context says the caller is a WeChat client (``TCB_SOURCE``/``SOURCE``
``wx_client`` or ``wx_devtools``) and carries no openid of its own. Client data fields such as ``openid`` or
``invitee`` are never read.
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
    client_ip: str | None = None  # WX_CLIENTIP (or _V6): the caller's IP as the platform saw it (getuserriskrank)


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


WECHAT_CLIENT_SOURCES = ("wx_client", "wx_devtools")  # the platform's word that a WeChat client called


def _listed_keys(platform: Mapping[str, str], environ: Mapping[str, str]) -> set:
    listed = set()
    for name in ("WX_CONTEXT_KEYS", "TCB_CONTEXT_KEYS"):
        value = platform.get(name) if name in platform else environ.get(name)
        listed |= {key.strip() for key in (value or "").split(",") if key.strip()}
    return listed


def _reader(context: Any, environ: Mapping[str, str]) -> Any:
    """``lookup(key)``: the context's value (even empty: it wins), else a listed key of the process environment."""
    platform = platform_environment(context)
    listed = _listed_keys(platform, environ)

    def lookup(key: str) -> str | None:
        if key in platform:
            return platform[key] or None
        if key in listed:
            return environ.get(key) or None
        return None

    return platform, lookup


def caller_identity(event: Any, context: Any, environ: Mapping[str, str] | None = None) -> Caller:
    """The caller, or ``NoIdentity`` (e.g. Moments single-page mode, a timer, the HTTP API)."""
    environ = os.environ if environ is None else environ
    platform, lookup = _reader(context, environ)
    openid, source = lookup("WX_OPENID"), "context" if "WX_OPENID" in platform else "environ"
    wechat_client = (lookup("TCB_SOURCE") or lookup("SOURCE")) in WECHAT_CLIENT_SOURCES
    if not openid and "WX_OPENID" not in platform and wechat_client:
        # CloudBase documents userInfo for mini program calls; believed only on the platform's word that a WeChat
        # client is calling, and never over the context (an empty WX_OPENID there means "no user").
        user_info = event.get("userInfo") if isinstance(event, Mapping) else None
        candidate = user_info.get("openId") if isinstance(user_info, Mapping) else None
        if isinstance(candidate, str) and candidate:
            openid, source = candidate, "event.userInfo"
    if not openid:
        raise NoIdentity("no caller identity from the platform (Moments single-page mode, timer or HTTP API call)")
    if not OPENID.fullmatch(openid):
        raise NoIdentity("the platform identity is malformed")
    return Caller(
        openid=openid,
        appid=lookup("WX_APPID"),
        unionid=lookup("WX_UNIONID"),
        source=source,
        client_ip=lookup("WX_CLIENTIP") or lookup("WX_CLIENTIPV6"),
    )


def timer_evidence(context: Any, environ: Mapping[str, str] | None = None) -> bool:
    """True when this invocation's own context says the platform's timer started it: ``TRIGGER_SRC=timer`` (as
    ``@cloudbase/node-sdk`` reads it) or ``SOURCE=wx_trigger`` (WeChat's docs), and no user in that context. A
    client can put ``{"Type": "Timer"}`` in callFunction data, but its call always carries ``WX_OPENID``. The
    process environment is consulted only for keys absent from the context (a warm instance may hold a previous
    call's values: they cannot turn a real timer into a forgery)."""
    environ = os.environ if environ is None else environ
    platform = platform_environment(context)

    def said(key: str) -> str | None:  # the context's word, else the process environment's (SCF sets TRIGGER_SRC)
        return platform[key] if key in platform else environ.get(key)

    timer = said("TRIGGER_SRC") == "timer" or (said("TCB_SOURCE") or said("SOURCE")) == "wx_trigger"
    # The user, if any, is judged from the context alone: a stale process WX_OPENID cannot veto a real timer.
    return timer and not platform.get("WX_OPENID")


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
