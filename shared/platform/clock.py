"""The clock port. Times are timezone-aware UTC, truncated to milliseconds (BSON date precision),
so a value returned to a caller equals the value stored."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


def to_bson_precision(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


class SystemClock:
    def now(self) -> dt.datetime:
        return to_bson_precision(dt.datetime.now(dt.timezone.utc))


class FixedClock:
    """A settable clock for tests, the demo and backfills."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._now = to_bson_precision(start.astimezone(dt.timezone.utc))

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, **delta: float) -> dt.datetime:
        self._now = to_bson_precision(self._now + dt.timedelta(**delta))
        return self._now

    def set(self, moment: dt.datetime) -> None:
        self._now = to_bson_precision(moment.astimezone(dt.timezone.utc))
