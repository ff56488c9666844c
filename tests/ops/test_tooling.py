"""The tooling floor: `make test` runs the linters, and each of them fails on what it is there to catch."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
CONFIG = str(ROOT / "pyproject.toml")

pytestmark = pytest.mark.no_database


def _dry_run(target: str) -> str:
    return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_make_test_runs_ruff_lint_ruff_format_and_mypy():
    commands = _dry_run("test")
    assert "ruff check ." in commands and "ruff format --check ." in commands
    assert "mypy" in commands and "functions/*/index.py" in commands
    assert "--cov" in commands  # coverage with the floor in pyproject.toml


def _run(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_a_lint_error_fails(tmp_path):
    (tmp_path / "bad.py").write_text("import os\n")  # F401: imported and unused
    result = _run("ruff", "check", "--config", CONFIG, "bad.py", cwd=tmp_path)
    assert result.returncode == 1 and "F401" in result.stdout


def test_a_format_difference_fails(tmp_path):
    (tmp_path / "ugly.py").write_text("x = {  'a':1 }\n")
    result = _run("ruff", "format", "--check", "--config", CONFIG, "ugly.py", cwd=tmp_path)
    assert result.returncode == 1 and "ugly.py" in result.stdout


def test_a_type_error_fails(tmp_path):
    # An Optional used as if present, in a module under the product package's strict settings.
    package = tmp_path / "shared"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "wrong.py").write_text(
        "def code_of(doc: dict[str, str] | None) -> str:\n    return doc['code']\n\n\ndef untyped(x):\n    return x\n"
    )
    result = _run("mypy", "--config-file", CONFIG, "--no-incremental", "shared/wrong.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "[index]" in result.stdout and "[no-untyped-def]" in result.stdout


def test_no_module_edits_sys_path_or_silences_the_linter():
    """The project is installed (editable): benches, tools and tests import it as packages. A ``sys.path`` edit or a
    ``noqa`` would hide a layout or lint problem instead of fixing it (per-file ignores live in pyproject.toml)."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("shared", "functions", "tools", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if "sys.path.insert" in (text := path.read_text(encoding="utf-8")) or "# noqa" in text
    ]
    assert offenders == []
