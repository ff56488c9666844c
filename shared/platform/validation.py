"""Input rules shared by every handler: what an id, a page and a safe document look like.

Everything a client sends passes through here before any write, so injection shapes such as
``{"$gt": ""}`` or dotted keys never reach a query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shared.platform.errors import BadInput

MAX_ID_LENGTH = 64
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~-]{1,64}$")
PAGE_PATTERN = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")
MAX_PAGE_LENGTH = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Lone surrogates (JSON "\ud800") are not text: they cannot be encoded, hashed or logged.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
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
            if key.startswith("$") or "." in key or _CONTROL.search(key) or _SURROGATE.search(key) or key == "":
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
        if _SURROGATE.search(value):
            raise BadInput("text must be valid Unicode (no lone surrogates)", field=path)


def require_id(value: Any, field: str) -> str:
    """A product id, inviter code or similar: a short string of RFC 3986 unreserved characters."""
    if not isinstance(value, str):
        raise BadInput(f"{field} must be a string", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise BadInput(f"{field} is longer than {MAX_ID_LENGTH} characters", field=field)
    if not ID_PATTERN.fullmatch(value):
        raise BadInput(f"{field} must use only A-Z a-z 0-9 _ . ~ -", field=field)
    return value


def require_product_id(value: Any, field: str = "productId") -> str:
    """A product id: an id string, or a JavaScript integer (``productId: 42``) as its decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return require_id(value, field)


def required(event: Mapping[str, Any], name: str, prefix: str = "") -> Any:
    """``event[name]``, or ``BadInput`` saying it is required (and naming a key that differs only in case)."""
    value = event.get(name)
    if value is None:
        hint = "".join(f" (found {key!r}: field names are case-sensitive)" for key in _case_twins(event, name))
        raise BadInput(f"{prefix}{name} is required{hint}", field=f"{prefix}{name}")
    return value


def check_field_names(event: Mapping[str, Any], known: Any, prefix: str = "") -> None:
    """A key that differs from a known field only in case (``productID``, ``Channel``) is a mistake the caller
    should hear about, not a field silently ignored; other extra keys (the platform's own) are left alone."""
    for name in known:
        for key in _case_twins(event, name):
            raise BadInput(
                f"unknown field {prefix}{key!r}: did you mean {prefix}{name!r}? (field names are case-sensitive)",
                field=f"{prefix}{key}",
            )


def _case_twins(event: Mapping[str, Any], name: str) -> list[str]:
    return sorted(key for key in event if isinstance(key, str) and key != name and key.lower() == name.lower())


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


def optional_int(value: Any, field: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    # bool is an int subclass; True is not a launch scene.
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{field} must be an integer", field=field)
    if not low <= value <= high:
        raise BadInput(f"{field} must be between {low} and {high}", field=field)
    return value
