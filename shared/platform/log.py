"""One JSON object per log line, with per-invocation keys and no openids in clear text."""

from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
from typing import Any

_LOGGER_NAME = "share_funnel"
_context: dict[str, Any] = {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        entry.update(_context)
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
            entry["exception_name"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        # ensure_ascii=False keeps Chinese text readable in CLS; default=str survives datetimes.
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at emit time (SCF captures it; tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def logger() -> logging.Logger:
    """The product's logger; configured on first use with a JSON handler on stdout."""
    log = logging.getLogger(_LOGGER_NAME)
    if not log.handlers:
        handler = _StdoutHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
        log.propagate = False  # SCF's runtime installs its own root handler; avoid double lines.
        log.setLevel(logging.INFO)
    return log


def set_level(level: str) -> None:
    logger().setLevel(level)


def bind(**keys: Any) -> None:
    """Replace the per-invocation keys (request id, function name). Cleared on every invocation."""
    _context.clear()
    _context.update({k: v for k, v in keys.items() if v is not None})


def event(message: str, level: int = logging.INFO, exc_info: Any = None, **fields: Any) -> None:
    logger().log(level, message, extra={"fields": fields}, exc_info=exc_info)


def redact(openid: str | None) -> str | None:
    """A stable, non-reversible tag for an openid, so log lines about one user can be correlated."""
    if not openid:
        return None
    import hashlib  # on first use, not at cold start (~3 ms of imports)

    return "u_" + hashlib.sha256(openid.encode("utf-8")).hexdigest()[:12]
