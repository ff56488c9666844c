"""Where the operator opens the dashboard: after a successful timer run, dailyFunnel renders the last 14 days and
stores the page through the storage port (CloudBase storage → ``cloud://`` fileID; COS; a local folder), at a
stable path per range, and records where in the run's document. A failed upload is logged and recorded; it never
fails or undoes the run (its report rows are already written), and the next run publishes again.

The admin view answers with the latest published dashboard (a fresh temporary link) and the report rows and
summary of a range, as JSON, so an app can build its own admin page.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from shared.platform import log
from shared.platform.errors import ShareFunnelError
from shared.platform.storage import StoredObject

PUBLISH_MIN_S = 10.0  # below this much time left in the invocation, the next run publishes instead
CONTENT_TYPE = "text/html; charset=utf-8"


def dashboard_key(first: dt.date, last: dt.date) -> str:
    """The page's stable path for a range: the same range is always the same file (overwritten when rerun)."""
    return f"share-funnel/dashboard/{first.isoformat()}_{last.isoformat()}.html"


class DashboardPublisher:
    def __init__(self, store: Any, settings: Any, storage_factory: Callable[[], Any]) -> None:
        self._store, self._settings, self._storage_factory = store, settings, storage_factory
        self._storage: Any = None

    def storage(self) -> Any:
        if self._storage is None:
            self._storage = self._storage_factory()
        return self._storage

    def publish(self, run_id: str, now: dt.datetime, deadline: float | None) -> dict[str, Any]:
        """Render, store and record; the outcome (``published`` / ``failed`` / ``deferred``) is returned and kept in
        the run's document, never raised."""
        from shared.funnel.dashboard import build_dashboard, default_range

        first, last = default_range(now)
        record: dict[str, Any] = {"from": first.isoformat(), "to": last.isoformat(), "at": now}
        if deadline is not None and deadline - time.monotonic() < PUBLISH_MIN_S:
            record["status"] = "deferred"
            log.event("dashboard_deferred", reason="little time left in the invocation")
        else:
            try:
                page, _ = build_dashboard(self._store, self._settings, first, last)
                stored = self.storage().put(dashboard_key(first, last), page.encode("utf-8"), CONTENT_TYPE)
                record.update(
                    status="published", fileId=stored.file_id, key=stored.key, bytes=len(page.encode("utf-8"))
                )
                log.event("dashboard_published", key=stored.key, bytes=record["bytes"])
            except ShareFunnelError as exc:  # storage, WeChat or database trouble: the run itself stands
                record.update(status="failed", error=exc.code)
                log.event("dashboard_publish_failed", level=logging.WARNING, reason=exc.code)
        try:
            self._store.record_dashboard(run_id, record)
        except ShareFunnelError as exc:
            log.event("dashboard_record_failed", level=logging.WARNING, reason=exc.code)
        return {k: v for k, v in record.items() if k != "at"}

    def latest(self) -> dict[str, Any] | None:
        """The latest published dashboard with a temporary link, or None. A link that cannot be made is reported
        as ``urlError`` (the rows are still worth answering with)."""
        found = self._store.latest_dashboard()
        if not found:
            return None
        answer = {
            "fileId": found["fileId"],
            "from": found["from"],
            "to": found["to"],
            "publishedAt": found["at"].isoformat() if hasattr(found["at"], "isoformat") else found["at"],
        }
        try:
            answer["url"] = self.storage().temporary_url(
                StoredObject(found["fileId"], None, found["key"], CONTENT_TYPE)
            )
        except ShareFunnelError as exc:
            answer.update(url=None, urlError=exc.code)
        return answer
