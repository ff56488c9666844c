"""The ports the domain talks to. Real adapters live in ``shared.mongo_store``; tests run the same
adapters against the embedded engine or a real server, not mocks of these methods."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional, Protocol

from shared.sharing.scene import ShareClaim


class ShareStore(Protocol):
    def inviter_openid(self, code: str) -> Optional[str]:
        """The openid owning an inviter code, or None."""

    def inviter_code_of(self, openid: str) -> Optional[str]:
        """The user's inviter code, or None if they never shared."""

    def assign_inviter_code(self, openid: str, code: str, now: dt.datetime) -> Optional[str]:
        """Give the user ``code`` unless they already have one; returns the code they now hold,
        or None when ``code`` belongs to someone else (the caller retries with another)."""

    def register_user(self, openid: str, now: dt.datetime, binding: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        """Create the user if absent (first sighting, with a first-touch binding or none) and return
        the user document as it was before this call (None when this call created it)."""

    def insert_landing(self, record: Dict[str, Any]) -> bool:
        """Insert a landing record; False when one already exists for (inviter, invitee, productId)."""

    def add_share_intent(self, intent: Dict[str, Any]) -> None: ...

    def resolve_scene_token(self, token: str) -> Optional[ShareClaim]: ...

    def scene_token_for(self, claim: ShareClaim, new_token: str, now: dt.datetime) -> Optional[str]:
        """The token stored for this claim (created with ``new_token`` if absent); None when
        ``new_token`` collided with another claim's token (the caller retries)."""
