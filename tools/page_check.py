"""Look at a page as a person would, in real headless Chromium (Debian's ``chromium``): a screenshot at a width,
and the page's own check (``#check``: console errors, horizontal overflow, which sections are there).

    python tools/page_check.py demo-output/dashboard.html   # screenshots beside it, problems on stdout
"""

from __future__ import annotations

import html
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

PHONE, DESKTOP = (390, 844), (1280, 900)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


# Headless Chromium will not make a window narrower than 500 px, so the page is shown in a frame of the exact
# width (a phone's 390 px): inside it, the viewport, media queries and overflow are the phone's.
FRAME = """<!doctype html><html><body style="margin:0">
<iframe id="page" src="{src}" style="border:0;width:{width}px;height:{height}px;display:block"></iframe>
<script>
document.getElementById('page').addEventListener('load', function () {{
  var inner = this.contentDocument.getElementById('check');
  var out = document.createElement('pre'); out.id = 'check';
  out.textContent = inner ? inner.textContent : 'null'; document.body.appendChild(out);
}});
</script></body></html>"""


def _run(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium on PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--allow-file-access-from-files",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _framed(page: pathlib.Path, width: int, height: int, fragment: str, folder: str) -> str:
    frame = pathlib.Path(folder) / "frame.html"
    frame.write_text(FRAME.format(src=page.resolve().as_uri() + fragment, width=width, height=height), encoding="utf-8")
    return frame.as_uri()


def check(page: pathlib.Path, size=PHONE) -> dict[str, Any]:
    """The page's self-check at a width: {problems, width, overflow, sections}."""
    with tempfile.TemporaryDirectory(prefix="page-check-") as folder:
        result = _run(
            [
                f"--window-size={max(size[0], 500) + 20},{size[1]}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                _framed(page, size[0], size[1], "#check", folder),
            ]
        )
    found = re.search(r'<pre id="check"[^>]*>(.*?)</pre>', result.stdout, re.S)
    if not found:
        raise RuntimeError(f"no self-check in the page (chromium said: {result.stderr[-500:]})")
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: pathlib.Path, target: pathlib.Path, size=PHONE, height: int = 3000) -> pathlib.Path:
    """The top ``height`` px of the page at the width, as a PNG."""
    if size[0] >= 500:
        _run(
            [
                f"--window-size={size[0]},{height}",
                "--virtual-time-budget=3000",
                f"--screenshot={target.resolve()}",
                page.resolve().as_uri(),
            ]
        )
        return target
    with tempfile.TemporaryDirectory(prefix="page-shot-") as folder:
        _run(
            [
                f"--window-size={size[0]},{height}",
                "--virtual-time-budget=3000",
                f"--screenshot={target.resolve()}",
                _framed(page, size[0], height, "", folder),
            ]
        )
    return target


def main(argv=None) -> int:
    page = pathlib.Path((argv or sys.argv[1:])[0])
    if not chromium():
        print("chromium not found (Debian: apt install chromium)")
        return 2
    bad = 0
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        found = check(page, size)
        shot = screenshot(page, page.with_name(f"{page.stem}-{name}.png"), size)
        print(
            f"{name} {size[0]}px: overflow {found['overflow']} px, problems {found['problems']}, "
            f"sections {', '.join(found['sections'])}; screenshot {shot}"
        )
        bad += bool(found["problems"]) or found["overflow"] > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
