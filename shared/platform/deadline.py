"""How long a database operation may wait, from the invocation's time limit (no driver imported here).

Every backend answers an outage ``UNAVAILABLE`` within 40 % of the function's limit, first use included: one
operation may take ``OPERATION_SHARE`` of the limit, and once an operation of this invocation has failed for want of
the database (a timeout, a refused connection, an API that cannot be reached), every later one fails at once instead
of waiting again — a cold instance's provisioning is many operations, and an outage must not cost each of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# One store operation (a write, a read, a cursor's first batch, a collection's first-use provisioning) may take this
# share of the invocation's time limit, everything included.
OPERATION_SHARE = 0.3
SCF_MIN_LIMIT_MS = 1000  # SCF's smallest time limit: a context claiming less still gives the driver this much


class Invocation:
    """The invocation under way: its time limit and whether the database already failed it."""

    def __init__(self, limit_ms: float | None) -> None:
        self.limit_ms = limit_ms
        self.started = time.monotonic()
        self.database_down = False


_current: ContextVar[Invocation | None] = ContextVar("share_funnel_invocation", default=None)


def time_limit_ms(context: Any) -> float | None:
    """The invocation's time limit from SCF's context (``time_limit_in_ms``), or None when absent or malformed."""
    limit_ms = context.get("time_limit_in_ms") if isinstance(context, Mapping) else None
    if isinstance(limit_ms, bool) or not isinstance(limit_ms, (int, float)) or limit_ms <= 0:
        return None
    return float(limit_ms)


@contextmanager
def invocation_deadline(context: Any) -> Iterator[None]:
    """Make this invocation's time limit known to every database operation made during it."""
    limit_ms = time_limit_ms(context)
    token = _current.set(Invocation(max(limit_ms, SCF_MIN_LIMIT_MS) if limit_ms else None))
    try:
        yield
    finally:
        _current.reset(token)


def current_limit_ms() -> float | None:
    invocation = _current.get()
    return invocation.limit_ms if invocation else None


def operation_timeout_s(default_s: float) -> float:
    """What one operation may wait: ``OPERATION_SHARE`` of the invocation's limit, or ``default_s`` outside one."""
    limit_ms = current_limit_ms()
    return min(default_s, OPERATION_SHARE * limit_ms / 1000) if limit_ms else default_s


def database_down() -> bool:
    """An operation of this invocation already failed for want of the database."""
    invocation = _current.get()
    return bool(invocation and invocation.database_down)


def mark_database_down() -> None:
    invocation = _current.get()
    if invocation is not None:
        invocation.database_down = True
