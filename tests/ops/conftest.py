import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def built():
    """`make build` once per session: build/<fn>/ and build/<fn>.zip for every function."""
    build = subprocess.run([sys.executable, "tools/build.py"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr[-3000:]
    return ROOT / "build"
