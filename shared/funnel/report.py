"""Presenting a day's funnel rows: a terminal table, JSON, or a self-contained HTML page (inline SVG
funnel chart and a per-inviter table; no JavaScript, no CDN)."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.funnel.definition import STEPS

STEP_LABELS = {
    "intents": "Share intents",
    "landings": "Landings",
    "invitees": "Invitees",
    "newUsers": "New users",
    "converters": "Converters",
}
_COLUMNS = (
    "key",
    "intents",
    "landings",
    "invitees",
    "newUsers",
    "converters",
    "conversions",
    "revenue",
    "groupsReached",
)
# Breakdowns in report order; "group" is the group leaderboard (by alias: raw group ids are never shown).
BREAKDOWNS = ("inviter", "group", "chatType", "channel", "entry", "product")


def _shown(rows: Sequence[Mapping[str, Any]], dim: str) -> list[Mapping[str, Any]]:
    """A breakdown's rows, or none when every landing fell in "(none)" (e.g. no group was ever resolved)."""
    group = _by_dim(rows, dim)
    return group if any(r["key"] != "(none)" for r in group) else []


def _total(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((r for r in rows if r["dim"] == "total"), None)


def _by_dim(rows: Sequence[Mapping[str, Any]], dim: str) -> list[Mapping[str, Any]]:
    return sorted((r for r in rows if r["dim"] == dim), key=lambda r: (-r["landings"], -r["intents"], r["key"]))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _cell(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column, 0)  # rows written before a column existed read as 0
    return f"{value:.2f}" if column == "revenue" else str(value)


def json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(
        [dict(r) for r in rows],
        default=lambda v: v.isoformat() if isinstance(v, dt.datetime) else str(v),
        ensure_ascii=False,
        indent=2,
        sort_keys=True,
    )


def text_report(date: str, rows: Sequence[Mapping[str, Any]]) -> str:
    total = _total(rows)
    if total is None:
        return f"No funnel rows for {date}. Run: make funnel FROM={date} TO={date}"
    lines = [
        f"Share funnel {date} (Asia/Shanghai) · model {total['model']} · window {total['window']} d · "
        f"{'matured' if total['matured'] else 'NOT matured: conversions may still arrive'}",
        "",
    ]
    for step in STEPS:
        lines.append(f"  {STEP_LABELS[step]:<14} {total[step]:>8}")
    lines.append(f"  {'Conversions':<14} {total['conversions']:>8}   revenue {total['revenue']:.2f}")
    lines.append(
        f"  new-user rate {_pct(total['rates']['newUserRate'])}, conversion rate "
        f"{_pct(total['rates']['conversionRate'])}, time to convert median "
        f"{_duration(total['timeToConvert']['medianSeconds'])}, p90 {_duration(total['timeToConvert']['p90Seconds'])}"
    )
    for dim in BREAKDOWNS:
        group = _shown(rows, dim)
        if not group:
            continue
        lines += ["", f"  by {dim}:", "  " + "".join(f"{c:>14}" for c in _COLUMNS)]
        for row in group:
            lines.append("  " + "".join(f"{_cell(row, c)!s:>14}" for c in _COLUMNS))
    return "\n".join(lines)


def _svg_funnel(total: Mapping[str, Any]) -> str:
    width, bar_height, gap, label_width = 640, 34, 10, 150
    top = max(1, max(total[step] for step in STEPS))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="funnel" width="{width}" '
        f'height="{len(STEPS) * (bar_height + gap)}" role="img" aria-label="funnel">'
    ]
    for index, step in enumerate(STEPS):
        value = total[step]
        length = max(2, round((width - label_width - 70) * value / top))
        y = index * (bar_height + gap)
        parts.append(f'<text x="0" y="{y + 22}" class="label">{html.escape(STEP_LABELS[step])}</text>')
        parts.append(
            f'<rect class="step" data-step="{step}" x="{label_width}" y="{y}" width="{length}" '
            f'height="{bar_height}" rx="4"><title>{html.escape(STEP_LABELS[step])}: {value}</title></rect>'
        )
        parts.append(f'<text x="{label_width + length + 8}" y="{y + 22}" class="value">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(date: str, rows: Sequence[Mapping[str, Any]]) -> str:
    total = _total(rows)
    esc = html.escape
    head = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Share funnel {esc(date)}</title>'
        "<style>body{font:14px/1.5 system-ui,sans-serif;margin:2em;color:#222}"
        "rect.step{fill:#07c160}text.label,text.value{font-size:13px;fill:#333}"
        "table{border-collapse:collapse;margin-top:1em}td,th{border-bottom:1px solid #ddd;padding:4px 10px;"
        "text-align:right}td:first-child,th:first-child{text-align:left}.note{color:#a60}</style></head><body>"
    )
    if total is None:
        return head + f"<h1>Share funnel {esc(date)}</h1><p>No funnel rows for this day.</p></body></html>"
    body = [
        f"<h1>Share funnel {esc(date)} <small>(Asia/Shanghai)</small></h1>",
        f"<p>Model <b>{esc(total['model'])}</b>, window {int(total['window'])} days. "
        + ("Matured." if total["matured"] else '<span class="note">Not matured: conversions may still arrive.</span>')
        + "</p>",
        _svg_funnel(total),
        f"<p>Conversions {int(total['conversions'])}, revenue {total['revenue']:.2f}; new-user rate "
        f"{_pct(total['rates']['newUserRate'])}, conversion rate {_pct(total['rates']['conversionRate'])}; "
        f"time to convert median {_duration(total['timeToConvert']['medianSeconds'])}, "
        f"p90 {_duration(total['timeToConvert']['p90Seconds'])}.</p>",
    ]
    for dim in BREAKDOWNS:
        group = _shown(rows, dim)
        if not group:
            continue
        body.append(
            f'<h2>By {esc(dim)}</h2><table class="{esc(dim)}"><thead><tr>'
            + "".join(f"<th>{esc(c)}</th>" for c in _COLUMNS)
            + "<th>conversion rate</th></tr></thead><tbody>"
        )
        for row in group:
            cells = [esc(str(row["key"]))] + [_cell(row, c) for c in _COLUMNS[1:]]
            body.append(
                "<tr>"
                + "".join(f"<td>{c}</td>" for c in cells)
                + f"<td>{_pct(row['rates']['conversionRate'])}</td></tr>"
            )
        body.append("</tbody></table>")
    return head + "".join(body) + "</body></html>"
