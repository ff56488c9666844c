"""The operator's dashboard: one self-contained HTML page (inline CSS, SVG and a few lines of JS; no CDN, works
offline and on a phone) for a range of Shanghai days, Chinese by default with an English toggle.

Everything on it is read from the report rows dailyFunnel wrote (the funnel definition computes the numbers,
including the viral loop); this module only sums days, compares periods and draws. ``dashboard_model`` gives the
same numbers as JSON for an app's own admin page.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from shared.funnel.definition import STEPS, TIME_BUCKETS, TOTAL_KEY, dates_between
from shared.platform.money import exact_sum, yuan

MIN_SAMPLE = 20  # below this many converters a median says more about chance than about the campaign
LEADERBOARD_SIZE = 50
BREAKDOWN_SIZE = 20
SUMMED = (
    "intents",
    "sharers",
    "landings",
    "invitees",
    "newUsers",
    "converters",
    "conversions",
    "revenue",
    "sharingInvitees",
)
BREAKDOWNS = ("channel", "entry", "product", "group")
SECTIONS = (
    "summary",
    "relationships",
    "payouts",
    "funnel",
    "trend",
    "viral",
    "breakdowns",
    "leaderboard",
    "time-to-convert",
)
# Payout states as the operator reads them (shared/rewards/payouts.py): grouped for the dashboard's cards.
PAYOUT_GROUPS = (
    ("payPaid", ("paid",)),
    ("payWaiting", ("sending", "waiting", "transferring", "canceling", "reserving")),
    ("payHeld", ("held",)),
    ("payFailed", ("failed", "cancelled", "rejected")),
)

# (zh, en) names of the time-to-convert buckets.
BUCKET_NAMES = (
    ("<1小时", "1–6小时", "6–24小时", "1–3天", "3–7天", ">7天"),
    ("<1 h", "1–6 h", "6–24 h", "1–3 d", "3–7 d", "> 7 d"),
)
# (zh, en) for every label on the page.
T: dict[str, tuple[str, str]] = {
    "title": ("分享裂变看板", "Share funnel dashboard"),
    "range": ("统计区间", "Range"),
    "vs": ("对比上一周期", "vs the previous period"),
    "intents": ("分享次数", "Shares"),
    "sharers": ("分享人数", "Sharers"),
    "landings": ("打开次数", "Opens"),
    "invitees": ("被邀请人数", "Invitees"),
    "newUsers": ("新用户", "New users"),
    "converters": ("下单人数", "Buyers"),
    "revenue": ("成交金额", "Revenue"),
    "conversions": ("订单数", "Orders"),
    "rewards": ("邀请奖励", "Rewards"),
    "relationships": ("锁客关系", "Customer relationships"),
    "relNew": ("新绑定", "Begun"),
    "relTaken": ("被抢走（换绑）", "Taken over"),
    "relExpired": ("到期解绑", "Ran out"),
    "relLive": ("锁定中", "In force"),
    "relLiveOn": ("{d} 日末仍锁定的客户", "In force at the end of {d}"),
    "relNone": ("区间内还没有锁客关系的记录。", "No relationships recorded in this range yet."),
    "payouts": ("提现到微信零钱", "Payouts to WeChat Pay balance"),
    "payPaid": ("已到账", "Paid"),
    "payWaiting": ("待用户确认 / 处理中", "Waiting for the user / in progress"),
    "payHeld": ("待审核", "Held for review"),
    "payFailed": ("未成功（奖励已退回）", "Not paid (rewards returned)"),
    "payNone": (
        "区间内没有提现（PAYOUT_MODE=manual 时由运营导出后手动发放）。",
        "No payouts in this range (with PAYOUT_MODE=manual the operator pays from the export).",
    ),
    "payCount": ("{n} 笔", "{n} payouts"),
    "summary": ("概览", "Summary"),
    "funnel": ("转化漏斗", "Funnel"),
    "trend": ("每日趋势", "Daily trend"),
    "lastDay": ("最后一天", "last day"),
    "tapHint": ("点一下圆点看当天的数值", "Tap a dot for that day's value"),
    "viral": ("裂变效果", "Viral loop"),
    "breakdowns": ("分维度", "Breakdowns"),
    "leaderboard": ("邀请人排行", "Top inviters"),
    "time-to-convert": ("从打开到下单用时", "Time to first order"),
    "step": ("环节", "Step"),
    "count": ("数量", "Count"),
    "conv": ("环节转化率", "Step conversion"),
    "drop": ("流失", "Drop-off"),
    "perShare": ("每次分享带来打开", "opens per share"),
    "maturing": (
        "最近 {n} 天的订单窗口（{w} 天）还没结束：这些天的下单和金额还会增长，灰色标出。",
        "The last {n} days are still inside the {w}-day order window: their buyers and revenue will "
        "still grow (shaded grey).",
    ),
    "allMatured": (
        "区间内每一天的订单窗口（{w} 天）都已结束，数字不会再变。",
        "Every day in the range is past its {w}-day order window: these numbers are final.",
    ),
    "kFactor": ("K 因子（每位分享者带来的新用户）", "K-factor (new users per sharer)"),
    "reproduction": (
        "分享者再生率（被邀请后又去分享的人 / 分享者）",
        "Sharer reproduction (invitees who shared / sharers)",
    ),
    "depth": ("最深传播层级", "Deepest cascade"),
    "gen2": ("来自第 2 层及以后的新用户占比", "New users from generation ≥ 2"),
    "generation": ("层级", "Generation"),
    "genNote": (
        "第 1 层 = 种子用户直接邀请的新用户；被邀请者再分享带来的是第 2 层。",
        "Generation 1 = new users invited by seed users; invitees who share bring generation 2.",
    ),
    "key": ("名称", "Name"),
    "rate": ("下单率", "Buyer rate"),
    "inviter": ("邀请人", "Inviter"),
    "channel": ("渠道 / 活动", "Channel / campaign"),
    "entry": ("进入场景", "Entry"),
    "product": ("商品", "Product"),
    "group": ("群", "Group"),
    "none": ("（无）", "(none)"),
    "median": (
        "一半的人在 {m} 内下单，九成在 {p} 内（{n} 位下单用户）",
        "Half the buyers ordered within {m}, nine in ten within {p} ({n} buyers)",
    ),
    "small": ("只有 {n} 位下单用户，少于 {k} 位时不显示中位数。", "Only {n} buyers: no median below {k}."),
    "empty": ("这个区间还没有数据。", "No data in this range yet."),
    "lang": ("English", "中文"),
    "day": ("日期", "Day"),
}
# The entry classes recordShare derives from launch scenes (shared/sharing/attribution.py), in plain words.
ENTRY_NAMES = {
    "chat": ("单聊分享卡片", "chat card"),
    "group": ("群聊分享卡片", "group chat card"),
    "scan": ("扫码", "scanned code"),
    "timeline": ("朋友圈", "Moments"),
    "urllink": ("链接（短信、网页）", "URL link (SMS, web)"),
    "urlscheme": ("URL Scheme（App、网页）", "URL scheme (apps, web)"),
    "shortlink": ("短链", "short link"),
    "other": ("其他", "other"),
    "(none)": ("（无）", "(none)"),
}


class Money(NamedTuple):
    symbol: str = "¥"
    scale: int = 1  # stored amount per unit shown: 100 when orders store fen

    def show(self, amount: float) -> str:
        return f"{self.symbol}{amount / self.scale:,.2f}"


def _sum(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, float] = defaultdict(float)
    gens: dict[str, int] = defaultdict(int)
    hist = [0] * (len(TIME_BUCKETS) + 1)
    depth = 0
    revenue: list[Any] = []
    for row in rows:
        revenue.append(row.get("revenue") or 0)
        for field in SUMMED:
            total[field] += row.get(field) or 0
        for generation, count in (row.get("generations") or {}).items():
            gens[generation] += count
        for i, count in enumerate((row.get("timeToConvert") or {}).get("histogram") or ()):
            hist[i] += count
        depth = max(depth, row.get("cascadeDepth") or 0)
    total["revenue"] = exact_sum(revenue)  # exact: summing floats drifts by a cent over a few hundred rows
    out: dict[str, Any] = dict(total)
    out.update(generations=dict(sorted(gens.items(), key=lambda i: int(i[0]))), histogram=hist, cascadeDepth=depth)
    later = sum(c for g, c in gens.items() if int(g) >= 2)
    out["kFactor"] = _ratio(out.get("newUsers", 0), out.get("sharers", 0))
    out["reproductionRate"] = _ratio(out.get("sharingInvitees", 0), out.get("sharers", 0))
    out["gen2PlusShare"] = _ratio(later, out.get("newUsers", 0))
    out["buyerRate"] = _ratio(out.get("converters", 0), out.get("invitees", 0))
    return out


def _latest_relationships(rows: Iterable[Mapping[str, Any]]) -> tuple[str, Mapping[str, Any]] | None:
    """The relationship counts of the latest day among ``rows`` that carries them, with that day."""
    dated = [(row["date"], row["relationships"]) for row in rows if row.get("relationships")]
    return max(dated, key=lambda pair: pair[0]) if dated else None


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _bucket_at(histogram: Sequence[int], fraction: float) -> int | None:
    """The bucket holding the given share of converters (nearest rank), or None below MIN_SAMPLE converters."""
    n = sum(histogram)
    if n < MIN_SAMPLE:
        return None
    seen = 0
    for i, count in enumerate(histogram):
        seen += count
        if seen >= fraction * n:
            return i
    return None


def dashboard_model(
    rows: Iterable[Mapping[str, Any]], first: dt.date, last: dt.date, names: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The dashboard's numbers for [first, last] (rows of the previous period of the same length give the
    change): daily totals, period sums, breakdowns, leaderboard, time to convert and the viral loop."""
    span = (last - first).days + 1
    previous_first = first - dt.timedelta(days=span)
    days = [d.isoformat() for d in dates_between(first, last)]
    by_day: dict[str, Mapping[str, Any]] = {}
    previous: list[Mapping[str, Any]] = []
    grouped: dict[str, dict[str, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    window = None
    for row in rows:
        date = row["date"]
        if row["dim"] == "total" and row["key"] == TOTAL_KEY:
            if first.isoformat() <= date <= last.isoformat():
                by_day[date] = row
                window = row.get("window", window)
            elif previous_first.isoformat() <= date < first.isoformat():
                previous.append(row)
        elif first.isoformat() <= date <= last.isoformat() and row["dim"] in BREAKDOWNS + ("inviter",):
            grouped[row["dim"]][row["key"]].append(row)
    daily = [
        {
            "date": d,
            **{f: (by_day.get(d) or {}).get(f, 0) for f in SUMMED},
            "kFactor": ((by_day.get(d) or {}).get("rates") or {}).get("kFactor"),
            "matured": (by_day.get(d) or {}).get("matured", True),
        }
        for d in days
    ]
    period = _sum(by_day.values())
    before = _sum(previous) if previous else None
    change = {
        f: (_ratio(period.get(f, 0) - before.get(f, 0), before.get(f, 0)) if before else None)
        for f in ("intents", "landings", "invitees", "newUsers", "converters", "revenue")
    }

    def table(dim: str, limit: int) -> list[dict[str, Any]]:
        entries = [{"key": key, **_sum(rs)} for key, rs in grouped.get(dim, {}).items()]
        entries.sort(key=lambda e: (-e.get("newUsers", 0), -e.get("revenue", 0), -e.get("landings", 0), e["key"]))
        return entries[:limit]

    leaderboard = table("inviter", LEADERBOARD_SIZE)
    for entry in leaderboard:
        entry["name"] = (names or {}).get(entry["key"]) or entry["key"]
        latest = _latest_relationships(grouped["inviter"].get(entry["key"], ()))
        if latest is not None:
            entry["live"] = latest[1].get("live", 0)
    histogram = period["histogram"]
    median, p90 = _bucket_at(histogram, 0.5), _bucket_at(histogram, 0.9)
    latest = _latest_relationships(by_day.values())
    relationships = {
        what: sum((row.get("relationships") or {}).get(what, 0) for row in by_day.values())
        for what in ("new", "taken", "expired")
    }
    relationships.update(live=latest[1].get("live", 0) if latest else None)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "window": window,
        "relationships": {**relationships, "liveOn": latest[0] if latest else None},
        "daily": daily,
        "period": period,
        "previous": before,
        "change": change,
        "maturingDays": [d["date"] for d in daily if not d["matured"]],
        "breakdowns": {dim: table(dim, BREAKDOWN_SIZE) for dim in BREAKDOWNS},
        "leaderboard": leaderboard,
        "timeToConvert": {
            "histogram": histogram,
            "converters": sum(histogram),
            "medianBucket": median,
            "p90Bucket": p90,
            "minSample": MIN_SAMPLE,
        },
        "viral": {
            "kFactor": period["kFactor"],
            "reproductionRate": period["reproductionRate"],
            "cascadeDepth": period["cascadeDepth"],
            "gen2PlusShare": period["gen2PlusShare"],
            "generations": period["generations"],
            "byCampaign": [
                {
                    "key": e["key"],
                    "kFactor": e["kFactor"],
                    "reproductionRate": e["reproductionRate"],
                    "newUsers": e.get("newUsers", 0),
                    "sharers": e.get("sharers", 0),
                }
                for e in table("channel", BREAKDOWN_SIZE)
            ],
        },
    }


# --- HTML ------------------------------------------------------------------------------------------------------
def _t(key: str, **values: Any) -> str:
    zh, en = T[key]
    return (
        f'<span class="zh">{html.escape(zh.format(**values))}</span>'
        f'<span class="en">{html.escape(en.format(**values))}</span>'
    )


def _pair(zh: str, en: str) -> str:
    return f'<span class="zh">{html.escape(zh)}</span><span class="en">{html.escape(en)}</span>'


def _num(value: float) -> str:
    return f"{value:,.0f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _change(value: float | None) -> str:
    if value is None:
        return '<span class="chg">–</span>'
    arrow, cls = ("▲", "up") if value > 0 else ("▼", "down") if value < 0 else ("＝", "flat")
    return f'<span class="chg {cls}">{arrow} {abs(value) * 100:.0f}%</span>'


def _key_label(dim: str, key: str) -> str:
    if key == "(none)":
        return _t("none")
    if dim == "entry" and key in ENTRY_NAMES:
        return _pair(*ENTRY_NAMES[key])
    return html.escape(key)


def _upper(bucket: str) -> str:
    """A bucket's label as an upper bound ("1–6 h" → "6 h"; the open-ended last one stays as it is)."""
    return bucket.split("–")[-1].lstrip("<").strip() if "–" in bucket or bucket.startswith("<") else bucket


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 covering ``top``: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _trend_svg(daily: Sequence[Mapping[str, Any]], field: str, money: Money | None) -> str:
    """One trend chart a phone can read: a y axis with round ticks, the first and last dates, a mark per day whose
    value shows on tap, maturing days shaded, and the last day's value labelled as such."""
    width, height = 320, 150
    left, right, top_pad, bottom = 40, 8, 8, 20
    values = [float(d.get(field) or 0) for d in daily]
    n = len(values)

    def shown(value: float) -> str:
        if money:
            return money.show(value)
        return f"{value:.2f}" if field == "kFactor" else _num(value)

    ticks = nice_ticks(max(values, default=0.0))
    scale_top = ticks[-1] or 1.0
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(n - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top_pad + plot_h - v / scale_top * plot_h

    grid = "".join(
        f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" class="grid"/>'
        f'<text x="{left - 4}" y="{y(t) + 3:.1f}" class="tick" text-anchor="end">{html.escape(shown(t))}</text>'
        for t in ticks
    )
    shade = ""
    maturing = [i for i, d in enumerate(daily) if not d.get("matured", True)]
    if maturing:
        x0 = max(x(maturing[0]) - step / 2, left)
        shade = (
            f'<rect x="{x0:.1f}" y="{top_pad}" width="{width - right - x0:.1f}" height="{plot_h}" class="maturing"/>'
        )
    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    marks = "".join(
        f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" class="mark" tabindex="0" '
        f'data-day="{html.escape(str(d.get("date", "")))}" data-value="{html.escape(shown(v))}">'
        f"<title>{html.escape(str(d.get('date', '')))}: {html.escape(shown(v))}</title></circle>"
        for i, (d, v) in enumerate(zip(daily, values, strict=True))
    )
    dates = ""
    if daily:
        first_day, last_day = str(daily[0].get("date", ""))[5:], str(daily[-1].get("date", ""))[5:]
        dates = f'<text x="{left}" y="{height - 5}" class="tick">{html.escape(first_day)}</text>'
        if n > 1:
            dates += f'<text x="{width - right}" y="{height - 5}" class="tick" text-anchor="end">{html.escape(last_day)}</text>'
    axes = (
        f'<line x1="{left}" x2="{left}" y1="{top_pad}" y2="{top_pad + plot_h}" class="axis"/>'
        f'<line x1="{left}" x2="{width - right}" y1="{top_pad + plot_h}" y2="{top_pad + plot_h}" class="axis"/>'
    )
    latest = shown(values[-1]) if values else "0"
    return (
        f'<figure class="spark" data-field="{field}"><figcaption>{_t(field)} · {_t("lastDay")} <b>{latest}</b>'
        f' <output class="picked"></output></figcaption>'
        f'<svg viewBox="0 0 {width} {height}" role="img">{shade}{grid}{axes}{dates}'
        f'<polyline points="{points}" class="line"/>{marks}</svg></figure>'
    )


def render_dashboard(model: Mapping[str, Any], money: Money = Money(), lang: str = "zh") -> str:
    p, daily = model["period"], model["daily"]
    window = model.get("window") or 0
    parts: list[str] = []
    cards = "".join(
        f'<div class="card"><div class="label">{_t(f)}</div><div class="value">'
        f"{money.show(p.get(f, 0)) if f == 'revenue' else _num(p.get(f, 0))}</div>{_change(model['change'][f])}</div>"
        for f in ("intents", "landings", "newUsers", "converters", "revenue")
    )
    maturing = model["maturingDays"]
    note = _t("maturing", n=len(maturing), w=window) if maturing else _t("allMatured", w=window)
    parts.append(
        f'<section id="summary"><h2>{_t("summary")}</h2><p class="muted">{_t("vs")}</p>'
        f'<div class="cards">{cards}</div><p class="note">{note}</p></section>'
    )

    bonds = model.get("relationships") or {}
    if bonds.get("liveOn") is None and not any(bonds.get(what) for what in ("new", "taken", "expired")):
        bond_body = f'<p class="muted">{_t("relNone")}</p>'
    else:
        live = "–" if bonds.get("live") is None else _num(bonds["live"])
        bond_cards = "".join(
            f'<div class="card"><div class="label">{_t(label)}</div><div class="value">{value}</div></div>'
            for label, value in (
                ("relNew", _num(bonds.get("new", 0))),
                ("relTaken", _num(bonds.get("taken", 0))),
                ("relExpired", _num(bonds.get("expired", 0))),
                ("relLive", live),
            )
        )
        on = f'<p class="muted">{_t("relLiveOn", d=bonds["liveOn"])}</p>' if bonds.get("liveOn") else ""
        bond_body = f'<div class="cards">{bond_cards}</div>{on}'
    parts.append(f'<section id="relationships"><h2>{_t("relationships")}</h2>{bond_body}</section>')

    paid_out = model.get("payouts") or {}
    if not paid_out:
        pay_body = f'<p class="muted">{_t("payNone")}</p>'
    else:
        pay_cards = ""
        for label, group in PAYOUT_GROUPS:
            count = sum(paid_out.get(state, {}).get("count", 0) for state in group)
            fen = sum(paid_out.get(state, {}).get("fen", 0) for state in group)
            pay_cards += (
                f'<div class="card"><div class="label">{_t(label)}</div><div class="value">'
                f'{money.symbol}{yuan(fen, grouped=True)}</div><div class="muted">{_t("payCount", n=count)}</div></div>'
            )
        pay_body = f'<div class="cards">{pay_cards}</div>'
    parts.append(f'<section id="payouts"><h2>{_t("payouts")}</h2>{pay_body}</section>')

    counts = [p.get(step, 0) for step in STEPS]
    widest = max(counts) or 1
    rows = []
    for i, step in enumerate(STEPS):
        bar = f'<div class="bar" style="width:{max(counts[i] / widest * 100, 1):.1f}%"></div>'
        if i == 0:
            conv = drop = ""
        elif step == "landings":
            conv, drop = f"{(counts[i] / counts[i - 1]) if counts[i - 1] else 0:.1f}× {_t('perShare')}", ""
        else:
            ratio = counts[i] / counts[i - 1] if counts[i - 1] else None
            conv, drop = _pct(ratio), _pct(None if ratio is None else 1 - ratio)
        rows.append(
            f'<tr><th>{_t(step)}</th><td class="n">{_num(counts[i])}</td><td class="barcell">{bar}</td>'
            f'<td class="n">{conv}</td><td class="n drop">{drop}</td></tr>'
        )
    parts.append(
        f'<section id="funnel"><h2>{_t("funnel")}</h2><div class="scroll"><table><thead><tr>'
        f"<th>{_t('step')}</th><th>{_t('count')}</th><th></th><th>{_t('conv')}</th><th>{_t('drop')}</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )

    charts = "".join(
        _trend_svg(daily, f, money if f == "revenue" else None)
        for f in ("intents", "landings", "invitees", "newUsers", "converters", "revenue")
    )
    parts.append(
        f'<section id="trend"><h2>{_t("trend")}</h2><p class="muted">{html.escape(model["from"])} – '
        f'{html.escape(model["to"])}</p><div class="charts">{charts}</div></section>'
    )

    v = model["viral"]
    gens = v["generations"]
    most = max(gens.values(), default=0) or 1
    gen_rows = "".join(
        f'<tr><th>{html.escape(g)}</th><td class="n">{_num(c)}</td><td class="barcell">'
        f'<div class="bar" style="width:{c / most * 100:.1f}%"></div></td></tr>'
        for g, c in gens.items()
    )
    campaigns = ""
    for c in v["byCampaign"]:
        k_value = "–" if c["kFactor"] is None else f"{c['kFactor']:.2f}"
        campaigns += (
            f'<tr><td>{_key_label("channel", c["key"])}</td><td class="n">{k_value}</td>'
            f'<td class="n">{_pct(c["reproductionRate"])}</td></tr>'
        )
    k = "–" if v["kFactor"] is None else f"{v['kFactor']:.2f}"
    parts.append(
        f'<section id="viral"><h2>{_t("viral")}</h2><div class="cards">'
        f'<div class="card"><div class="label">{_t("kFactor")}</div><div class="value">{k}</div></div>'
        f'<div class="card"><div class="label">{_t("reproduction")}</div><div class="value">{_pct(v["reproductionRate"])}</div></div>'
        f'<div class="card"><div class="label">{_t("depth")}</div><div class="value">{v["cascadeDepth"]}</div></div>'
        f'<div class="card"><div class="label">{_t("gen2")}</div><div class="value">{_pct(v["gen2PlusShare"])}</div></div>'
        f"</div>{_trend_svg([{'kFactor': d['kFactor'] or 0, 'matured': d['matured']} for d in daily], 'kFactor', None) if daily else ''}"
        f'<p class="muted">{_t("genNote")}</p><div class="scroll"><table><thead><tr><th>{_t("generation")}</th>'
        f"<th>{_t('newUsers')}</th><th></th></tr></thead><tbody>{gen_rows}</tbody></table></div>"
        f'<div class="scroll"><table><thead><tr><th>{_t("channel")}</th><th>K</th><th>{_t("reproduction")}</th></tr>'
        f"</thead><tbody>{campaigns}</tbody></table></div></section>"
    )

    tables = []
    for dim in BREAKDOWNS:
        entries = model["breakdowns"].get(dim) or []
        if not entries or all(e["key"] == "(none)" for e in entries):
            continue
        body = "".join(
            f'<tr><td>{_key_label(dim, e["key"])}</td><td class="n">{_num(e.get("landings", 0))}</td>'
            f'<td class="n">{_num(e.get("newUsers", 0))}</td><td class="n">{_num(e.get("converters", 0))}</td>'
            f'<td class="n">{_pct(e["buyerRate"])}</td><td class="n">{money.show(e.get("revenue", 0))}</td></tr>'
            for e in entries
        )
        tables.append(
            f'<h3>{_t(dim)}</h3><div class="scroll"><table><thead><tr><th>{_t("key")}</th>'
            f"<th>{_t('landings')}</th><th>{_t('newUsers')}</th><th>{_t('converters')}</th><th>{_t('rate')}</th>"
            f"<th>{_t('revenue')}</th></tr></thead><tbody>{body}</tbody></table></div>"
        )
    parts.append(f'<section id="breakdowns"><h2>{_t("breakdowns")}</h2>{"".join(tables) or _t("empty")}</section>')

    board = "".join(
        f'<tr><td>{i}</td><td>{html.escape(e["name"])}</td><td class="n">{_num(e.get("invitees", 0))}</td>'
        f'<td class="n">{_num(e.get("newUsers", 0))}</td><td class="n">{_num(e.get("converters", 0))}</td>'
        f'<td class="n">{money.show(e.get("revenue", 0))}</td>'
        f'<td class="n">{money.show(e["rewards"]) if "rewards" in e else "–"}</td>'
        f'<td class="n">{_num(e["live"]) if "live" in e else "–"}</td></tr>'
        for i, e in enumerate(model["leaderboard"], 1)
    )
    parts.append(
        f'<section id="leaderboard"><h2>{_t("leaderboard")}</h2><div class="scroll"><table><thead><tr><th>#</th>'
        f"<th>{_t('inviter')}</th><th>{_t('invitees')}</th><th>{_t('newUsers')}</th><th>{_t('converters')}</th>"
        f"<th>{_t('revenue')}</th><th>{_t('rewards')}</th><th>{_t('relLive')}</th></tr></thead><tbody>{board}</tbody>"
        "</table></div></section>"
    )

    ttc = model["timeToConvert"]
    hist = ttc["histogram"]
    tallest = max(hist) or 1
    zh_b, en_b = BUCKET_NAMES
    bars = "".join(
        f'<div class="col"><div class="colbar" style="height:{c / tallest * 100:.0f}%"></div>'
        f'<div class="n">{c}</div><div class="tick">{_pair(zh_b[i], en_b[i])}</div></div>'
        for i, c in enumerate(hist)
    )
    if ttc["medianBucket"] is None:
        summary = _t("small", n=ttc["converters"], k=ttc["minSample"])
    else:
        summary = "".join(
            f'<span class="{lang_class}">{html.escape(T["median"][i].format(m=_upper(names[ttc["medianBucket"]]), p=_upper(names[ttc["p90Bucket"]]), n=ttc["converters"]))}</span>'
            for i, (lang_class, names) in enumerate((("zh", zh_b), ("en", en_b)))
        )
    parts.append(
        f'<section id="time-to-convert"><h2>{_t("time-to-convert")}</h2><div class="hist">{bars}</div>'
        f'<p class="muted">{summary}</p></section>'
    )

    data = json.dumps({"from": model["from"], "to": model["to"]})
    return PAGE.format(
        lang="en" if lang == "en" else "zh-CN",
        title=_t("title"),
        range=_t("range"),
        start=html.escape(model["from"]),
        end=html.escape(model["to"]),
        toggle=_t("lang"),
        body="\n".join(parts),
        data=html.escape(data),
    )


PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Share Funnel</title>
<script>
window.__problems = [];
window.addEventListener('error', function (e) {{ window.__problems.push(String(e.message)); }});
(function () {{ var original = console.error; console.error = function () {{
  window.__problems.push(Array.prototype.join.call(arguments, ' ')); return original.apply(console, arguments); }}; }})();
</script>
<style>
*{{box-sizing:border-box}} body{{margin:0;font:15px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#1f2329;background:#f5f6f7}}
header{{background:#07c160;color:#fff;padding:12px 16px;display:flex;justify-content:space-between;align-items:center;gap:8px;flex-wrap:wrap}}
header h1{{font-size:18px;margin:0}} header button{{border:1px solid #fff;background:transparent;color:#fff;border-radius:14px;padding:2px 12px;font-size:14px}}
main{{max-width:960px;margin:0 auto;padding:8px}} section{{background:#fff;border-radius:8px;margin:8px 0;padding:12px 14px}}
h2{{font-size:16px;margin:0 0 8px}} h3{{font-size:14px;margin:12px 0 4px;color:#555}}
.muted{{color:#8a8f99;font-size:13px;margin:4px 0}} .note{{background:#fff7e6;border-radius:6px;padding:6px 10px;font-size:13px}}
.cards{{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:8px}}
.card{{background:#f7f8fa;border-radius:6px;padding:8px 10px;min-width:0}} .label{{font-size:12px;color:#646a73}}
.value{{font-size:20px;font-weight:600;overflow-wrap:anywhere}} .chg{{font-size:12px}} .up{{color:#07a658}} .down{{color:#e5484d}} .flat{{color:#8a8f99}}
.scroll{{overflow-x:auto;max-width:100%}} table{{border-collapse:collapse;width:100%;font-size:13px}}
th,td{{padding:4px 6px;text-align:left;border-bottom:1px solid #eef0f2;white-space:nowrap}} td.n{{text-align:right;font-variant-numeric:tabular-nums}}
.barcell{{width:40%;min-width:60px}} .bar{{height:12px;background:#07c160;border-radius:3px}} .drop{{color:#e5484d}}
.charts{{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:8px}}
.spark{{margin:0;min-width:0}} .spark figcaption{{font-size:12px;color:#646a73}} .spark svg{{width:100%;height:auto;display:block}}
.spark .grid{{stroke:#eef0f3;stroke-width:1}} .spark .axis{{stroke:#8f959e;stroke-width:1}}
.spark .tick{{font-size:10px;fill:#646a73}} .spark .mark{{fill:#fff;stroke:#3370ff;stroke-width:2;cursor:pointer}}
.spark .mark.on{{fill:#3370ff}} .spark .picked{{color:#1f2329;font-weight:600}}
.line{{fill:none;stroke:#07c160;stroke-width:2;vector-effect:non-scaling-stroke}} .maturing{{fill:#e9ebee}}
.hist{{display:flex;align-items:flex-end;gap:6px;height:160px}} .col{{flex:1;display:flex;flex-direction:column;justify-content:flex-end;height:100%;min-width:0;text-align:center}}
.colbar{{background:#07c160;border-radius:3px 3px 0 0;min-height:1px}} .col .n{{font-size:12px}} .tick{{font-size:11px;color:#8a8f99;overflow-wrap:anywhere}}
@media (max-width:480px){{th,td{{padding:3px 4px;font-size:12px}} .barcell{{width:25%;min-width:36px}} main{{padding:4px}} section{{padding:10px}}}}
html[lang=en] .zh{{display:none}} html:not([lang=en]) .en{{display:none}}
</style></head>
<body>
<header><h1>{title}</h1><span>{range} {start} – {end}</span><button id="lang" type="button">{toggle}</button></header>
<main>
{body}
</main>
<script id="range" type="application/json">{data}</script>
<script>
document.getElementById('lang').addEventListener('click', function () {{
  var root = document.documentElement; root.lang = root.lang === 'en' ? 'zh-CN' : 'en';
}});
// A tap (or a keyboard focus) on a day's mark shows that day and its value beside the chart's title.
function pick(mark) {{
  var figure = mark.closest('figure');
  Array.prototype.forEach.call(figure.querySelectorAll('.mark.on'), function (m) {{ m.classList.remove('on'); }});
  mark.classList.add('on');
  figure.querySelector('.picked').textContent = mark.getAttribute('data-day') + ': ' + mark.getAttribute('data-value');
}}
document.addEventListener('click', function (e) {{ if (e.target.classList && e.target.classList.contains('mark')) pick(e.target); }});
document.addEventListener('focusin', function (e) {{ if (e.target.classList && e.target.classList.contains('mark')) pick(e.target); }});
// #check: what a reviewer looks for, written into the page for a headless browser (tools/page_check.py).
if (location.hash === '#check') {{ window.addEventListener('load', function () {{
  var out = document.createElement('pre'); out.id = 'check'; out.style.display = 'none';
  out.textContent = JSON.stringify({{problems: window.__problems, width: window.innerWidth,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    sections: Array.prototype.map.call(document.querySelectorAll('section[id]'), function (s) {{ return s.id; }}),
    charts: Array.prototype.map.call(document.querySelectorAll('figure.spark'), function (f) {{
      var first = f.querySelector('.mark'); if (first) pick(first);
      return {{field: f.getAttribute('data-field'), axes: f.querySelectorAll('.axis').length,
        ticks: Array.prototype.map.call(f.querySelectorAll('.tick'), function (t) {{ return t.textContent; }}),
        marks: f.querySelectorAll('.mark').length, picked: f.querySelector('.picked').textContent,
        width: Math.round(f.querySelector('svg').getBoundingClientRect().width)}}; }})}});
  document.body.appendChild(out); }}); }}
</script>
</body></html>
"""


DEFAULT_DAYS = 14


def default_range(now: dt.datetime, days: int = DEFAULT_DAYS) -> tuple[dt.date, dt.date]:
    """The last ``days`` Shanghai days, ending yesterday (today has no report rows yet)."""
    from shared.funnel.definition import shanghai_date

    last = shanghai_date(now) - dt.timedelta(days=1)
    return last - dt.timedelta(days=days - 1), last


def load_model(store: Any, settings: Any, first: dt.date, last: dt.date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The model for [first, last] and the rows it was made from (that range and the one before it)."""
    span = (last - first).days + 1
    rows = store.rows_between((first - dt.timedelta(days=span)).isoformat(), last.isoformat())
    codes = {row["key"] for row in rows if row["dim"] == "inviter" and row["date"] >= first.isoformat()}
    names = store.inviter_names(codes, settings.inviter_name_field) if settings.inviter_name_field and codes else {}
    from shared.funnel.definition import day_bounds

    model = dashboard_model(rows, first, last, names)
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    leaders = [entry["key"] for entry in model["leaderboard"]]
    if leaders:
        rewards = store.rewards_by_inviter(leaders, start, end, settings.amount_scale)
        for entry in model["leaderboard"]:
            entry["rewards"] = rewards.get(entry["key"], 0.0)
    model["payouts"] = store.payouts_between(start, end)  # the rewards wing's, per state, in whole fen
    return model, rows


def build_dashboard(
    store: Any, settings: Any, first: dt.date, last: dt.date, lang: str = "zh"
) -> tuple[str, dict[str, Any]]:
    """The page and its model for [first, last]."""
    model, _ = load_model(store, settings, first, last)
    return render_dashboard(model, Money(settings.currency, settings.amount_scale), lang), model
