"""Input rules shared by every handler: what an id, a page and a safe document look like.

Everything a client sends passes through here before any write, so injection shapes such as
``{"$gt": ""}`` or dotted keys never reach a query.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from shared.platform.errors import BadInput

MAX_ID_LENGTH = 64
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~-]{1,64}$")
PAGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")
MAX_PAGE_LENGTH = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_DEPTH = 6
MAX_STRING = 2048


def check_document(value: Any, path: str = "event", depth: int = 0) -> None:
    """Reject operator/dotted keys, control characters and absurd shapes anywhere in the input."""
    if depth > MAX_DEPTH:
        raise BadInput("input is nested too deeply", field=path)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BadInput("keys must be strings", field=path)
            if key.startswith("$") or "." in key or _CONTROL.search(key) or key == "":
                raise BadInput(f"key {key!r} is not allowed", field=path)
            check_document(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_document(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            raise BadInput("string is too long", field=path)
        if _CONTROL.search(value):
            raise BadInput("control characters are not allowed", field=path)


def require_id(value: Any, field: str) -> str:
    """A product id, inviter code or similar: a short string of RFC 3986 unreserved characters."""
    if not isinstance(value, str):
        raise BadInput(f"{field} must be a string", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise BadInput(f"{field} is longer than {MAX_ID_LENGTH} characters", field=field)
    if not ID_PATTERN.fullmatch(value):
        raise BadInput(f"{field} must use only A-Z a-z 0-9 _ . ~ -", field=field)
    return value


def require_page(value: Any, field: str = "page") -> str:
    """A mini program page path; a leading '/' is tolerated and stripped, a query is not allowed."""
    if not isinstance(value, str):
        raise BadInput(f"{field} must be a string", field=field)
    page = value[1:] if value.startswith("/") else value
    if "?" in page:
        raise BadInput(f"{field} must not carry a query; parameters go in the share link", field=field)
    if not page or len(page) > MAX_PAGE_LENGTH or not PAGE_PATTERN.fullmatch(page):
        raise BadInput(f"{field} is not a page path like pages/product/product", field=field)
    return page


def optional_int(value: Any, field: str, low: int, high: int) -> Optional[int]:
    if value is None:
        return None
    # bool is an int subclass; True is not a launch scene.
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{field} must be an integer", field=field)
    if not low <= value <= high:
        raise BadInput(f"{field} must be between {low} and {high}", field=field)
    return value
