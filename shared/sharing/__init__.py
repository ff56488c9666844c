"""recordShare's wing: scene codec, share links, attribution rules, the use cases and their Mongo store.

Other wings use it only through these names (codes draws a sharer's code, makes links to their share query and stores
share intents).
"""

from shared.sharing.links import share_path, share_query
from shared.sharing.profile import SharerProfile
from shared.sharing.scene import ShareClaim, require_channel
from shared.sharing.store import MongoShareStore
from shared.sharing.use_cases import ensure_inviter_code, scene_for, share_intent

__all__ = [
    "MongoShareStore",
    "ShareClaim",
    "SharerProfile",
    "ensure_inviter_code",
    "require_channel",
    "scene_for",
    "share_intent",
    "share_path",
    "share_query",
]
