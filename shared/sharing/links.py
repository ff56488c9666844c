"""Share links: the path/query recordShare hands out, and reading a landing page's onLoad options.

Generated links use short keys (``i`` inviter, ``c`` channel) next to the page's own product
parameter ``id`` (as in the seed). Landings accept the short keys, the seed's long keys
(``inviter``, ``id``, ``channel``) and a scanned code's ``scene``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.platform.errors import BadInput, BadScene
from shared.platform.validation import require_id
from shared.sharing.scene import Decoded, ShareClaim, decode_scene, percent_decode_once, require_channel

INVITER_KEYS = ("i", "inviter")
PRODUCT_KEYS = ("id", "p", "productId")
CHANNEL_KEYS = ("c", "channel")


def share_query(product_id: str, inviter: str, channel: str) -> str:
    """The ``query`` for onShareTimeline (no path: Moments always opens the current page)."""
    # Every value is unreserved-only by validation, so no percent-encoding is needed.
    return f"id={product_id}&i={inviter}&c={channel}"


def share_path(page: str, product_id: str, inviter: str, channel: str) -> str:
    """The ``path`` for onShareAppMessage: leading '/', the page's own ``id`` plus inviter and channel."""
    return f"/{page}?{share_query(product_id, inviter, channel)}"


def _pick(query: Mapping[str, Any], keys: tuple[str, ...], field: str) -> str | None:
    present = [key for key in keys if query.get(key) not in (None, "")]
    if not present:
        return None
    values = {_query_value(query[key], key) for key in present}
    if len(values) > 1:
        raise BadInput(f"conflicting values for {field} ({', '.join(present)})", field=f"query.{present[0]}")
    return values.pop()


def _query_value(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise BadInput(f"query.{key} must be a string", field=f"query.{key}")
    try:
        return require_id(percent_decode_once(value), f"query.{key}")
    except BadScene as exc:
        raise BadInput(f"query.{key} has invalid percent-encoding", field=f"query.{key}") from exc


def claim_from_query(query: Mapping[str, Any]) -> Decoded | None:
    """The attribution claim in a page's onLoad options, or None for an organic open.

    A scanned code's ``scene`` wins over link keys: it is what the printed code carries.
    """
    if query.get("scene") not in (None, ""):
        return decode_scene(query["scene"])
    inviter = _pick(query, INVITER_KEYS, "inviter")
    product = _pick(query, PRODUCT_KEYS, "product")
    channel = _pick(query, CHANNEL_KEYS, "channel")
    if inviter is None:
        return None
    if product is None:
        raise BadInput("a share link with an inviter must carry the product id", field="query.id")
    if channel is not None:
        channel = require_channel(channel, "query.channel")
    return ShareClaim(inviter=inviter, product_id=product, channel=channel, form="query")
