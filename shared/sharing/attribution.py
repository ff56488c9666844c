"""Attribution rules: what a landing means. Pure functions, no I/O.

* First touch wins: a user's binding is set once, when the user is first seen, and never changes.
  A user first seen without an inviter is organic forever (a later invite does not make them new).
* A landing is recorded once per (inviter, invitee, product); later ones are duplicates.
* A user landing on their own link is a self-invite and is not recorded.
* A landing's ``newUser`` is true when that landing was the user's first sighting; because the
  binding is written with the user document, this is decided from the stored binding and stays
  correct when concurrent landings race.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.sharing.scene import ShareClaim

# Launch scene → entry class (wechat-platform.md §3.4).
ENTRY_BY_LAUNCH_SCENE = {
    1007: "chat",
    1008: "group",
    1044: "group",
    1047: "scan",
    1048: "scan",
    1049: "scan",
    1154: "timeline",
    1155: "timeline",
    # Links from outside a chat card (genWxacode's ``link`` action): the scene list's URL Scheme (1065, and 1286 for
    # a plain-text scheme), URL Link (1194) and Short Link (1179).
    1065: "urlscheme",
    1286: "urlscheme",
    1194: "urllink",
    1179: "shortlink",
}


def entry_for(launch_scene: int | None) -> str:
    return ENTRY_BY_LAUNCH_SCENE.get(launch_scene, "other") if launch_scene is not None else "other"


# One landing record per (inviter, invitee, product): the dedup rule (a unique index enforces it).
LANDING_KEY = ("inviter", "invitee", "productId")


def is_self_invite(inviter_openid: str, caller_openid: str) -> bool:
    return inviter_openid == caller_openid


def bound_inviter(user_before: Mapping[str, Any] | None) -> str | None:
    binding = (user_before or {}).get("binding") or {}
    return binding.get("inviter")


def attributed_inviter(user_before: Mapping[str, Any] | None, claim: ShareClaim | None) -> str | None:
    """The first-touch inviter after this landing: the stored binding, or this claim for a new user."""
    if user_before is None:
        return claim.inviter if claim is not None else None
    return bound_inviter(user_before)


def landing_is_first_sighting(user_before: Mapping[str, Any] | None, claim: ShareClaim) -> bool:
    """True when the user was first seen through a landing on this (inviter, product).

    Either this call created the user, or a concurrent landing for the same key did (its binding
    matches). Only one landing record can exist per key, so at most one is ever marked new.
    """
    if user_before is None:
        return True
    # The first touch: kept apart once a relationship changed (the binding is then another inviter's).
    first = user_before.get("firstTouch") or user_before.get("binding") or {}
    return first.get("inviter") == claim.inviter and first.get("productId") == claim.product_id
