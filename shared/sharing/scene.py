"""The scene codec: what a Mini Program Code's 32-character ``scene`` carries, and how to read it back.

Format (version tag first, so the format can evolve without breaking printed codes):

* ``1<ch><inviter>.<product>`` inline v1. ``<ch>`` is one channel letter (``c`` chat, ``t`` timeline,
  ``p`` poster, ``x`` not stated); ``<inviter>`` is a 6–8 character base62 inviter code;
  ``<product>`` is the rest (1–64 unreserved characters, may contain dots). Example: ``1pAb3dE9.sku-42``.
* ``2<token>`` stored token v1: ten base62 characters naming a ``scene_tokens`` document, used when
  the inline form would exceed 32 characters.

Only RFC 3986 unreserved characters (``A-Za-z0-9._~-``) are produced, so the mini program's
``decodeURIComponent`` is a no-op and scanners cannot truncate at ``&``/``=``. The decoder also
accepts the seed's legacy ``i=<code>&p=<product>`` form and a URL-encoded form of either, and
raises only ``BadScene`` (with a stable ``reason``) for anything else.
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple

from shared.platform.errors import BadInput, BadScene
from shared.platform.validation import ID_PATTERN

MAX_SCENE_LENGTH = 32
SCENE_CHARSET = frozenset(string.ascii_letters + string.digits + "._~-")
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

INLINE_V1 = "1"
TOKEN_V1 = "2"
TOKEN_LENGTH = 10

# A channel is a campaign tag (the seed's links say ``channel=share``; teams use ``moments``, ``poster_spring``,
# ``kol-li``…): 1-24 of A-Z a-z 0-9 _ -, compared case-insensitively and stored lower-case. The well-known three
# have a one-letter inline scene; any other channel's code uses a stored token scene.
CHANNELS = ("chat", "timeline", "poster")
CHANNEL_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
CHANNEL_LETTER: dict[str | None, str] = {"chat": "c", "timeline": "t", "poster": "p", None: "x"}
LETTER_CHANNEL = {letter: channel for channel, letter in CHANNEL_LETTER.items()}

INVITER_CODE = re.compile(r"^[0-9A-Za-z]{6,8}$")
_TOKEN = re.compile(rf"^[0-9A-Za-z]{{{TOKEN_LENGTH}}}$")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
# An encoded scene can be at most three times the raw limit; the legacy form allows a little more.
_MAX_RAW_INPUT = 3 * 96


def canonical_channel(value: object) -> str | None:
    """The stored form of a channel (lower case), or None when ``value`` is not a channel."""
    if isinstance(value, str) and CHANNEL_PATTERN.fullmatch(value):
        return value.lower()
    return None


def require_channel(value: object, field: str = "channel") -> str:
    """The one channel rule, for links, scenes, share requests and code requests."""
    channel = canonical_channel(value)
    if channel is None:
        raise BadInput(
            f"{field.rsplit('.', 1)[-1]} must be a campaign tag of 1-24 letters, digits, _ or - "
            f"(e.g. {', '.join(CHANNELS)}, share, poster_spring)",
            field=field,
        )
    return channel


class ShareClaim(NamedTuple):
    """What a link or scene claims: an inviter code, a product and (maybe) a channel.

    A claim is not trusted: the inviter must exist, and the invitee always comes from the platform.
    """

    inviter: str
    product_id: str
    channel: str | None
    form: str  # "inline" | "legacy" | "query" | "token" — how it arrived, for logs and reports


class SceneToken(NamedTuple):
    token: str


Decoded = ShareClaim | SceneToken


class SceneTooLong(ValueError):
    """The inline form cannot carry this claim (over 32 characters, or a channel without a letter); use a
    stored token instead."""


def encode_scene(inviter: str, product_id: str, channel: str | None = None) -> str:
    """The inline v1 scene for a claim, or ``SceneTooLong`` when it would not fit."""
    if channel is not None:
        channel = canonical_channel(channel)
        if channel is None:
            raise ValueError("channel must be a campaign tag of 1-24 letters, digits, _ or -")
        if channel not in CHANNEL_LETTER:
            raise SceneTooLong(f"channel {channel!r} has no inline letter")
    if not INVITER_CODE.fullmatch(inviter):
        raise ValueError(f"inviter code must be 6-8 base62 characters: {inviter!r}")
    if not ID_PATTERN.fullmatch(product_id):
        raise ValueError(f"product id must be 1-64 unreserved characters: {product_id!r}")
    scene = f"{INLINE_V1}{CHANNEL_LETTER[channel]}{inviter}.{product_id}"
    if len(scene) > MAX_SCENE_LENGTH:
        raise SceneTooLong(f"inline scene is {len(scene)} characters (max {MAX_SCENE_LENGTH})")
    return scene


def encode_token_scene(token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"scene token must be {TOKEN_LENGTH} base62 characters")
    return TOKEN_V1 + token


def percent_decode_once(value: str) -> str:
    """Strict one-level URL decoding: every '%' must start a valid escape of an ASCII character."""
    if "%" not in value:
        return value
    if value.count("%") != len(_PERCENT.findall(value)):
        raise BadScene("bad_percent_encoding")
    decoded = _PERCENT.sub(lambda m: chr(int(m.group(1), 16)), value)
    if any(ord(ch) > 0x7E or ord(ch) < 0x20 for ch in decoded):
        raise BadScene("bad_percent_encoding", "percent escapes must encode printable ASCII")
    return decoded


def decode_scene(scene: object) -> Decoded:
    """Decode our scene formats. Raises ``BadScene`` and nothing else."""
    if not isinstance(scene, str):
        raise BadScene("not_a_string")
    if scene == "":
        raise BadScene("empty")
    if len(scene) > _MAX_RAW_INPUT:
        raise BadScene("too_long")
    value = percent_decode_once(scene)
    if "=" in value:
        return _decode_legacy(value)
    if len(value) > MAX_SCENE_LENGTH:
        raise BadScene("too_long")
    if not set(value) <= SCENE_CHARSET:
        raise BadScene("bad_charset")
    tag, body = value[0], value[1:]
    if tag == INLINE_V1:
        return _decode_inline_v1(body)
    if tag == TOKEN_V1:
        if not _TOKEN.fullmatch(body):
            raise BadScene("bad_token")
        return SceneToken(body)
    raise BadScene("unknown_version")


def _decode_inline_v1(body: str) -> ShareClaim:
    if not body:
        raise BadScene("truncated")
    letter, rest = body[0], body[1:]
    if letter not in LETTER_CHANNEL:
        raise BadScene("bad_channel")
    inviter, dot, product = rest.partition(".")
    if not dot:
        raise BadScene("truncated")
    if not INVITER_CODE.fullmatch(inviter):
        raise BadScene("bad_inviter")
    if not ID_PATTERN.fullmatch(product):
        raise BadScene("bad_product")
    return ShareClaim(inviter=inviter, product_id=product, channel=LETTER_CHANNEL[letter], form="inline")


_LEGACY_KEYS = {"i": "inviter", "p": "product", "c": "channel"}


def _decode_legacy(value: str) -> ShareClaim:
    """The seed's ``i=<code>&p=<product>`` form (an optional ``c=<channel>`` is tolerated)."""
    fields: dict[str, str] = {}
    for pair in value.split("&"):
        key, eq, item = pair.partition("=")
        if not eq or key not in _LEGACY_KEYS:
            raise BadScene("bad_legacy_form")
        if key in fields:
            raise BadScene("bad_legacy_form", "repeated key in legacy scene")
        if not ID_PATTERN.fullmatch(item):
            raise BadScene("bad_legacy_value")
        fields[key] = item
    if "i" not in fields or "p" not in fields:
        raise BadScene("bad_legacy_form", "legacy scene needs both i= and p=")
    channel = fields.get("c")
    if channel is not None:
        channel = canonical_channel(channel)
        if channel is None:
            raise BadScene("bad_channel")
    return ShareClaim(inviter=fields["i"], product_id=fields["p"], channel=channel, form="legacy")
