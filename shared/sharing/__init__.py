"""recordShare's wing: scene codec, share links, attribution rules, the use cases and their Mongo store — and what it
publishes of its data (its collections are read and written only here).

Other wings use it only through these names: codes draws a sharer's code, makes links to their share query and stores
share intents; the funnel and the reward ledger read landings, intents and users through ``SharingReads`` and credit
orders by the one rule of ``credit`` (``Landing``, ``Order``, ``credit_orders``, ``first_touches_of``). Names load
lazily, each from its own module, so a wing that reads landings does not load the scene codec or the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names are, for the type checker
    from shared.sharing.credit import (
        MODELS,
        NONE_KEY,
        TOTAL_KEY,
        Attribution,
        FirstTouch,
        Intent,
        Landing,
        Order,
        credit_orders,
        first_touches_of,
        read_attribution,
    )
    from shared.sharing.credit import VARIABLES as ATTRIBUTION_VARIABLES
    from shared.sharing.links import share_path, share_query
    from shared.sharing.profile import SharerProfile
    from shared.sharing.reads import SharingReads, sharing_collections
    from shared.sharing.relationship import (
        RELATIONSHIP_COUNTS,
        RELATIONSHIP_VARIABLES,
        Extension,
        Period,
        inviter_at,
        read_relationship_rule,
    )
    from shared.sharing.scene import ShareClaim, require_channel
    from shared.sharing.store import MongoShareStore
    from shared.sharing.use_cases import ensure_inviter_code, scene_for, share_intent

_NAMES = {
    "share_path": "links",
    "share_query": "links",
    "SharerProfile": "profile",
    "ShareClaim": "scene",
    "require_channel": "scene",
    "MongoShareStore": "store",
    "ensure_inviter_code": "use_cases",
    "scene_for": "use_cases",
    "share_intent": "use_cases",
    "SharingReads": "reads",
    "sharing_collections": "reads",
    "Landing": "credit",
    "Intent": "credit",
    "Order": "credit",
    "FirstTouch": "credit",
    "credit_orders": "credit",
    "first_touches_of": "credit",
    "MODELS": "credit",
    "Period": "relationship",
    "read_relationship_rule": "relationship",
    "RELATIONSHIP_VARIABLES": "relationship",
    "RELATIONSHIP_COUNTS": "relationship",
    "Extension": "relationship",
    "inviter_at": "relationship",
    "NONE_KEY": "credit",
    "TOTAL_KEY": "credit",
    "Attribution": "credit",
    "read_attribution": "credit",
    "ATTRIBUTION_VARIABLES": "credit",
}

__all__ = [
    "ATTRIBUTION_VARIABLES",
    "Attribution",
    "Extension",
    "FirstTouch",
    "Intent",
    "Landing",
    "MODELS",
    "MongoShareStore",
    "NONE_KEY",
    "Order",
    "Period",
    "RELATIONSHIP_COUNTS",
    "RELATIONSHIP_VARIABLES",
    "ShareClaim",
    "SharerProfile",
    "SharingReads",
    "TOTAL_KEY",
    "credit_orders",
    "ensure_inviter_code",
    "first_touches_of",
    "inviter_at",
    "read_attribution",
    "read_relationship_rule",
    "require_channel",
    "scene_for",
    "share_intent",
    "share_path",
    "share_query",
    "sharing_collections",
]


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'shared.sharing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"shared.sharing.{module}"), name)
