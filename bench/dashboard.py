"""Dashboard rendering: a 90-day range with 1 000 inviters (synthetic report rows, plus the previous period for
the change), model + HTML. Goal: under 2 s and a page under 1.5 MB. No database is touched.

    python bench/dashboard.py [--days 90] [--inviters 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import pathlib
import sys
import time

from shared.funnel.dashboard import Money, dashboard_model, render_dashboard
from tools.synthetic import synthetic_rows

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--inviters", type=int, default=1000)
    args = parser.parse_args()
    last = dt.date(2026, 11, 21)
    first = last - dt.timedelta(days=args.days - 1)
    rows = synthetic_rows(first - dt.timedelta(days=args.days), 2 * args.days, args.inviters)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        page = render_dashboard(dashboard_model(rows, first, last), Money("¥", 100))
        timings.append(time.perf_counter() - started)
    best, size = min(timings), len(page.encode())
    line = (
        f"| dashboard | {args.days} days, {args.inviters} inviters, {len(rows)} rows | {best * 1000:.0f} ms "
        f"(goal < 2000) | {size / 1e6:.2f} MB (goal < 1.5) | none (pure rendering) |"
    )
    print(line)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(
            f"\n## Dashboard rendering ({dt.date.today().isoformat()})\n\n| what | input | best of 3 | page | engine |\n"
            f"|---|---|---|---|---|\n{line}\n"
        )
    return 0 if best < 2 and size < 1.5e6 else 1


if __name__ == "__main__":
    sys.exit(main())
