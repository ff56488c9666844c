"""A sharer's poster profile: the nickname and avatar they chose through WeChat's nickname input and
``chooseAvatar`` button (the kit uploads the avatar to CloudBase storage and sends its fileID). Nothing is fetched
from elsewhere; WeChat no longer hands real nicknames or avatars to mini programs any other way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from shared.platform import log
from shared.platform.clock import Clock
from shared.platform.errors import BadInput, ContentRejected
from shared.platform.identity import Caller
from shared.platform.validation import check_field_names

PROFILE_FIELDS = ("action", "nickname", "avatarFileID")
MAX_NICKNAME = 32  # characters; WeChat's nickname input allows fewer, a poster line holds about this many
MAX_FILE_ID = 512


class SharerProfile(NamedTuple):
    nickname: str | None
    avatar_file_id: str | None


def parse_profile_request(event: Mapping[str, Any]) -> SharerProfile:
    """``{action: 'profile', nickname?, avatarFileID?}``: at least one of them; ``BadInput`` for anything else."""
    check_field_names(event, PROFILE_FIELDS)
    nickname, avatar = event.get("nickname"), event.get("avatarFileID")
    if nickname is None and avatar is None:
        raise BadInput("a profile needs a nickname, an avatarFileID or both", field="nickname")
    return SharerProfile(
        None if nickname is None else require_nickname(nickname),
        None if avatar is None else require_avatar_file_id(avatar),
    )


def require_nickname(value: Any) -> str:
    if not isinstance(value, str):
        raise BadInput("nickname must be a string", field="nickname")
    nickname = unicodedata.normalize("NFC", value).strip()
    if not nickname:
        raise BadInput("nickname must not be empty", field="nickname")
    if len(nickname) > MAX_NICKNAME:
        raise BadInput(f"nickname is longer than {MAX_NICKNAME} characters", field="nickname")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in nickname):
        raise BadInput("nickname must be one line of visible text", field="nickname")
    return nickname


def require_avatar_file_id(value: Any) -> str:
    """A CloudBase fileID (``cloud://env.bucket/path``), what ``wx.cloud.uploadFile`` answers."""
    if not isinstance(value, str):
        raise BadInput("avatarFileID must be a string", field="avatarFileID")
    rest = value[len("cloud://") :] if value.startswith("cloud://") else ""
    env_bucket, _, path = rest.partition("/")
    if len(value) > MAX_FILE_ID or "." not in env_bucket or not path or ".." in path.split("/"):
        raise BadInput("avatarFileID must be the fileID wx.cloud.uploadFile answered", field="avatarFileID")
    return value


TextCheck = Callable[[str, str], str]  # (openid, text) → WeChat's verdict: "pass" | "review" | "risky"


def nickname_allowed(verdict: str) -> bool:
    """A nickname goes on posters that travel beyond the app: WeChat's "risky" is refused; "review" (uncertain) is
    accepted, as WeChat's own nickname input accepts it, and logged."""
    return verdict != "risky"


def save_profile(
    store: Any, clock: Clock, caller: Caller, profile: SharerProfile, check: TextCheck | None = None
) -> dict[str, Any]:
    """Check a new nickname with WeChat (the nickname input's review runs in the client, which a caller can skip),
    then store what the caller chose (a field left out keeps its value) and answer the whole profile."""
    if profile.nickname is not None:
        if check is None:
            log.event("nickname_unchecked", reason="WECHAT_APPID/WECHAT_APPSECRET not set for recordShare")
        else:
            verdict = check(caller.openid, profile.nickname)
            if not nickname_allowed(verdict):
                log.event("nickname_rejected", verdict=verdict)
                raise ContentRejected("WeChat's content check refused this nickname: choose another")
            if verdict != "pass":
                log.event("nickname_review", verdict=verdict)
    saved = store.set_profile(caller.openid, profile, clock.now())
    log.event("profile_saved", nickname=profile.nickname is not None, avatar=profile.avatar_file_id is not None)
    return {"ok": True, "nickname": saved.nickname, "avatarFileID": saved.avatar_file_id}
