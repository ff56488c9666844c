"""What a warm instance keeps between invocations: the clock in use and each wing's service, built on first use.

The demo and tests swap the clock (``use_clock``) or forget everything (``reset``); services built afterwards see
the new clock. Configuration is validated at cold start by each function's entry; the database is connected on the
first call that needs it, so a brief outage at init costs one ``UNAVAILABLE``, not a dead instance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from shared.platform.clock import Clock, SystemClock

T = TypeVar("T")
_lock = threading.Lock()
_clock: Clock = SystemClock()


class PerInstance(Generic[T]):
    """One object per warm instance, built by the first caller; ``reset`` forgets every such object."""

    _holders: list[PerInstance] = []

    def __init__(self) -> None:
        self._value: T | None = None
        PerInstance._holders.append(self)

    def get(self, build: Callable[[], T]) -> T:
        if self._value is None:
            with _lock:
                if self._value is None:
                    self._value = build()
        return self._value

    def forget(self) -> None:
        self._value = None


def clock() -> Clock:
    return _clock


def use_clock(new_clock: Clock) -> None:
    """Swap the clock (the demo's simulated campaign, tests). Takes effect for services built afterwards."""
    global _clock
    _clock = new_clock
    for holder in PerInstance._holders:
        holder.forget()


def reset() -> None:
    use_clock(SystemClock())
