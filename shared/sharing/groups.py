"""Group attribution: which WeChat group (or single chat) a landing came from, read server-side from a cloudID.

The mini program sends the ``cloudID`` that ``wx.getGroupEnterInfo`` (base library ≥ 2.17.3) or the older
``wx.getShareInfo({shareTicket})`` returned, as a plain string; the function asks WeChat itself
(``wxa/getopendata``), so a client cannot hand it forged "decrypted" data, and nothing the client says about the
group is stored. Decrypted fields: ``opengid`` (getGroupEnterInfo) or ``openGId`` (getShareInfo),
``open_single_roomid`` (single chats), ``chat_type``; a ``watermark`` (when present) must name our appid and be no
older than the cloudID's 5-minute life plus slack.

A landing is never lost to this: any failure records it without a group (``group_unresolved`` is logged with a
stable reason). Group ids identify private spaces: logs and reports only ever show ``alias``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from shared.platform import log
from shared.platform.errors import BadInput

CLOUD_ID = re.compile(r"^[\x21-\x7e]{1,256}$")  # short printable ASCII; WeChat's are ~60 characters
CLOUD_ID_LIFE = dt.timedelta(minutes=5)
WATERMARK_SLACK = dt.timedelta(minutes=2)
OPEN_DATA_ERRORS = {-601006: "expired", -601007: "unknown_cloud_id", -601008: "wrong_user"}
CHAT_TYPES = {1: "single", 2: "wecom_single", 3: "group", 4: "wecom_group"}  # enter options' chatType


class GroupUnresolved(Exception):
    """A cloudID that gave no group; ``reason`` is stable (logged, never shown to the client as an error)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Group(NamedTuple):
    open_gid: str | None
    single_room_id: str | None
    chat_type: int | None
    source: str  # "getGroupEnterInfo" | "getShareInfo"

    @property
    def alias(self) -> str:
        """A short stable name for reports and logs: the same group always gets the same alias."""
        import hashlib  # on first use, not at recordShare's cold start

        raw, prefix = (self.open_gid, "g") if self.open_gid else (self.single_room_id or "", "c")
        return f"{prefix}-{hashlib.sha256(raw.encode()).hexdigest()[:10]}"

    @property
    def kind(self) -> str:
        if self.chat_type in CHAT_TYPES:
            return CHAT_TYPES[self.chat_type]
        return "group" if self.open_gid else "single"

    def record(self) -> dict[str, Any]:
        """What the landing stores (the raw id stays in the database, for the app's own group features)."""
        doc: dict[str, Any] = {"alias": self.alias, "chatType": self.kind, "source": self.source}
        if self.open_gid:
            doc["openGId"] = self.open_gid
        else:
            doc["singleRoomId"] = self.single_room_id
        return doc

    def response(self) -> dict[str, Any]:
        return {"alias": self.alias, "chatType": self.kind}


def require_cloud_id(value: Any, field: str = "groupCloudID") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not CLOUD_ID.fullmatch(value):
        raise BadInput(
            f"{field} must be the cloudID string wx.getGroupEnterInfo or wx.getShareInfo returned", field=field
        )
    return value


def optional_chat_type(value: Any) -> int | None:
    """The enter options' ``chatType`` (1-4) as the kit passes it: validated, used for logs only — the stored
    chat type is WeChat's own, from the resolved cloudID."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in CHAT_TYPES:
        raise BadInput("chatType must be 1, 2, 3 or 4 (the enter options' chatType)", field="chatType")
    return value


def group_from_open_data(data: Any, appid: str, now: dt.datetime) -> Group:
    """The group in ``getopendata``'s ``json`` (``{cloudID, data: {...}}`` or the data itself)."""
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        data = data["data"]
    if not isinstance(data, Mapping):
        raise GroupUnresolved("garbage")
    watermark = data.get("watermark")
    if watermark is not None:
        if not isinstance(watermark, Mapping) or watermark.get("appid") != appid:
            raise GroupUnresolved("wrong_app")
        stamp = watermark.get("timestamp")
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
            raise GroupUnresolved("garbage")
        try:
            issued = dt.datetime.fromtimestamp(stamp, dt.timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise GroupUnresolved("garbage") from exc
        if now - issued > CLOUD_ID_LIFE + WATERMARK_SLACK or issued - now > WATERMARK_SLACK:
            raise GroupUnresolved("stale")
    chat_type = data.get("chat_type")
    chat_type = chat_type if isinstance(chat_type, int) and not isinstance(chat_type, bool) else None
    open_gid = data.get("opengid") if "opengid" in data else data.get("openGId")
    source = "getGroupEnterInfo" if "opengid" in data or "open_single_roomid" in data else "getShareInfo"
    room = data.get("open_single_roomid")
    if isinstance(open_gid, str) and CLOUD_ID.fullmatch(open_gid):
        return Group(open_gid=open_gid, single_room_id=None, chat_type=chat_type, source=source)
    if isinstance(room, str) and CLOUD_ID.fullmatch(room):
        return Group(open_gid=None, single_room_id=room, chat_type=chat_type, source=source)
    raise GroupUnresolved("no_group")


Resolver = Callable[[str, str], Group]  # (cloudID, caller's openid) → Group, or GroupUnresolved


def resolve_group(resolver: Resolver | None, cloud_id: str | None, openid: str) -> Group | None:
    """The landing's group, or None (no cloudID, resolution off, or any failure: the landing goes on without it)."""
    if cloud_id is None:
        return None
    if resolver is None:
        log.event("group_unresolved", reason="not_configured")
        return None
    try:
        group = resolver(cloud_id, openid)
    except GroupUnresolved as unresolved:
        log.event("group_unresolved", reason=unresolved.reason)
        return None
    except Exception:  # a bug here must not cost the landing: it is recorded without a group, the trace logged
        log.event("group_unresolved", level=logging.ERROR, exc_info=True, reason="internal")
        return None
    log.event("group_resolved", group=group.alias, chatType=group.kind, source=group.source)
    return group


def wechat_resolver(appid: str, open_data: Callable[[str, str], Any], clock: Callable[[], dt.datetime]) -> Resolver:
    """A resolver over ``WeChatClient.open_data``: WeChat's failures become stable reasons."""
    from shared.platform.errors import ShareFunnelError

    def resolve(cloud_id: str, openid: str) -> Group:
        try:
            data = open_data(cloud_id, openid)
        except ShareFunnelError as err:
            errcode: int | None = getattr(err, "errcode", None)
            reason = (
                "wechat_unavailable"
                if err.retryable
                else (OPEN_DATA_ERRORS.get(errcode) if errcode is not None else "garbage") or f"wechat_{errcode}"
            )
            raise GroupUnresolved(reason) from err
        return group_from_open_data(data, appid, clock())

    return resolve
