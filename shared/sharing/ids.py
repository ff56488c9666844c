"""Random base62 identifiers: inviter codes (6–8 chars) and scene tokens (10 chars).

Random, not derived from the openid, so a code reveals nothing about its owner; uniqueness is
enforced by the database's unique indexes and collisions are retried by the callers.
"""

from __future__ import annotations

from shared.sharing.scene import BASE62, TOKEN_LENGTH


def new_inviter_code(length: int = 6) -> str:
    if not 6 <= length <= 8:
        raise ValueError("inviter codes are 6-8 characters")
    import secrets  # on first use, not at cold start

    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_scene_token() -> str:
    import secrets

    return "".join(secrets.choice(BASE62) for _ in range(TOKEN_LENGTH))
