"""The docs a newcomer follows: every link resolves and every command they state exists."""

from __future__ import annotations

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

pytestmark = pytest.mark.no_database


def _targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {match.group(1) for match in re.finditer(r"^([a-z][a-z0-9-]*):", makefile, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_make_command_a_page_states_exists(page):
    stated = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", page.read_text(encoding="utf-8")))
    assert stated - _targets() == set(), f"{page.name} states make targets the Makefile lacks"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    text = page.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text) + re.findall(r'<img src="([^"]+)"', text)
    missing = [link for link in links if "://" not in link and not (page.parent / link).exists()]
    assert missing == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_python_module_command_a_page_states_runs(page):
    # `python -m shared.ops.cli …` and `python tools/x.py` / `python bench/x.py`: the module or file exists.
    text = page.read_text(encoding="utf-8")
    for module in re.findall(r"python -m ([a-z_.]+)", text):
        assert (ROOT / (module.replace(".", "/") + ".py")).exists(), module
    for script in re.findall(r"python ((?:tools|bench)/[a-z_]+\.py)", text):
        assert (ROOT / script).exists(), script


def test_the_readme_is_what_a_newcomer_needs_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme
    assert len(readme.splitlines()) < 150  # the references live in docs/
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in readme, f"README does not link {page.name}"
