"""The product's days: Asia/Shanghai calendar days (fixed +08:00, no DST), stored and queried as UTC instants."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from shared.platform.errors import BadInput

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a Shanghai calendar day, in UTC (what the database stores and is queried with)."""
    start = dt.datetime.combine(day, dt.time(), SHANGHAI)
    return start.astimezone(dt.timezone.utc), (start + dt.timedelta(days=1)).astimezone(dt.timezone.utc)


def shanghai_date(instant: dt.datetime) -> dt.date:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.timezone.utc)  # stored times are UTC
    return instant.astimezone(SHANGHAI).date()


FIRST_SUPPORTED_DATE = dt.date(2015, 1, 1)  # before WeChat mini programs existed: no data can be that old
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(value: Any, field: str) -> dt.date:
    """Exactly ``YYYY-MM-DD`` (ASCII digits) on or after 2015-01-01. Python 3.11's ``date.fromisoformat`` accepts
    more forms (``20261110``, ``2026-W45-2``) than SCF's 3.10, so the format is checked here, not by it."""
    message = f"{field} must be a date YYYY-MM-DD from {FIRST_SUPPORTED_DATE.isoformat()} on"
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise BadInput(message, field=field)
    try:
        parsed = dt.date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError as exc:
        raise BadInput(message, field=field) from exc
    if parsed < FIRST_SUPPORTED_DATE:
        raise BadInput(message, field=field)
    return parsed


def dates_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
