"""The ports the domain talks to. Real adapters live in ``shared.mongo_store``; tests run the same
adapters against the embedded engine or a real server, not mocks of these methods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from shared.sharing.scene import ShareClaim


class ShareStore(Protocol):
    def inviter_openid(self, code: str) -> str | None:
        """The openid owning an inviter code, or None."""

    def inviter_code_of(self, openid: str) -> str | None:
        """The user's inviter code, or None if they never shared."""

    def assign_inviter_code(self, openid: str, code: str, now: dt.datetime) -> str | None:
        """Give the user ``code`` unless they already have one; returns the code they now hold,
        or None when ``code`` belongs to someone else (the caller retries with another)."""

    def register_user(self, openid: str, now: dt.datetime, binding: dict[str, Any] | None) -> dict[str, Any] | None:
        """Create the user if absent (first sighting, with a first-touch binding or none) and return
        the user document as it was before this call (None when this call created it)."""

    def record_landing(
        self, openid: str, now: dt.datetime, binding: dict[str, Any], record: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, bool]:
        """Register the user (if absent, bound by ``binding``) and insert the landing ``record``, together: (the user
        document as it was before, None when this call created it; False when a landing already exists for
        (inviter, invitee, productId))."""

    def team_of(self, code: str) -> list[dict[str, Any]]:
        """The users an inviter brought, with ``period`` (began, ended or None) and ``taken``."""

    def user(self, openid: str) -> dict[str, Any] | None:
        """The user's relationship, first touch and inviter code (None: never seen)."""

    def upline_of(self, code: str) -> str | None:
        """The inviter code of the relationship of ``code``'s owner (None for a seed)."""

    def change_relationship(
        self, user: Mapping[str, Any], binding: dict[str, Any] | None, change: dict[str, Any], now: dt.datetime
    ) -> bool:
        """Replace the user's relationship if it is still the one read, and keep the change in the history."""

    def mark_not_new(self, key: dict[str, Any]) -> None:
        """The landing for ``key`` counts no new user."""

    def add_share_intent(self, intent: dict[str, Any]) -> None: ...

    def resolve_scene_token(self, token: str) -> ShareClaim | None: ...

    def scene_token_for(self, claim: ShareClaim, new_token: str, now: dt.datetime) -> str | None:
        """The token stored for this claim (created with ``new_token`` if absent); None when
        ``new_token`` collided with another claim's token (the caller retries)."""
