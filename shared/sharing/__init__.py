"""recordShare's wing: scene codec, share links, attribution rules, the use cases and their Mongo store.

Other wings use it only through these names (codes draws a sharer's code and stores share intents).
"""

from shared.sharing.scene import ShareClaim, require_channel
from shared.sharing.store import MongoShareStore
from shared.sharing.use_cases import ensure_inviter_code, scene_for, share_intent

__all__ = ["MongoShareStore", "ShareClaim", "ensure_inviter_code", "require_channel", "scene_for", "share_intent"]
