"""A database outage is answered UNAVAILABLE (retryable) in time: before the platform's own timeout kills the call,
for every function, with its configured timeout as the invocation's time limit (a real pymongo client aimed at a
closed port, not a monkeypatched driver)."""

import time

import pytest

from shared.ops import deployment
from shared.platform import config, db, instance
from shared.sharing.store import MongoShareStore
from tests.conftest import configured_handler, gen_wxacode_handler, openid_for, scf_context

PROBES = {
    "recordShare": ({"action": "share", "productId": "sku-1"}, "alice"),
    "genWxacode": ({"productId": "sku-1"}, "alice"),
    "dailyFunnel": ({"date": "2026-11-10"}, "admin"),
    "rewards": ({"action": "myRewards"}, "alice"),
}


@pytest.fixture
def unreachable_database(monkeypatch):
    monkeypatch.setenv("DATABASE", "mongodb")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/?directConnection=true")
    monkeypatch.delenv("MONGODB_TIMEOUT_MS", raising=False)
    config.reset()
    db.reset()
    instance.reset()
    yield
    monkeypatch.undo()
    config.reset()
    db.reset()
    instance.reset()


@pytest.mark.parametrize("function", deployment.FUNCTIONS, ids=lambda f: f.name)
def test_an_unreachable_database_is_answered_within_40_percent_of_the_timeout(function, unreachable_database, emulator):
    event, user = PROBES[function.name]
    extra = {"REWARD_FIXED": "5"} if function.name == "rewards" else {}
    handler = (
        gen_wxacode_handler(emulator) if function.name == "genWxacode" else configured_handler(function.name, **extra)
    )
    with handler as module:
        context = scf_context(openid_for(user), function_name=function.name, time_limit_in_ms=function.timeout_s * 1000)
        started = time.monotonic()
        response = module.main_handler(event, context)
        elapsed = time.monotonic() - started
    assert response["ok"] is False, response
    assert response["error"]["code"] == "UNAVAILABLE" and response["error"]["retryable"] is True
    assert elapsed < 0.4 * function.timeout_s, f"{function.name} answered after {elapsed:.1f} s"


def test_a_timeout_written_in_the_uri_is_honoured(monkeypatch):
    monkeypatch.setenv("DATABASE", "mongodb")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/?directConnection=true&serverSelectionTimeoutMS=300")
    config.reset()
    db.reset()
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            # No invocation deadline: the client's own timeouts, the URI's winning over ours.
            MongoShareStore(db.database(), config.settings().collections)
        assert caught.value.code == "UNAVAILABLE" and time.monotonic() - started < 3
    finally:
        monkeypatch.undo()
        config.reset()
        db.reset()


def _server_pid(uri: str) -> int | None:
    """The pid of the process listening on the URI's port (the real server this suite runs against)."""
    import re
    import subprocess
    from urllib.parse import urlsplit

    port = urlsplit(uri).port or 27017
    listing = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    found = re.search(r"pid=(\d+)", listing)
    return int(found.group(1)) if found else None


def test_a_paused_server_is_answered_in_time_on_a_warm_instance():
    """The real server frozen (SIGSTOP) under a warm recordShare: its driver still believes the server is up, yet
    every call answers UNAVAILABLE within 40 % of the function's 5 s timeout (the driver's per-operation deadline)."""
    import os
    import signal

    from tests.conftest import CLOUDBASE, REAL_SERVER

    if not REAL_SERVER or CLOUDBASE:
        pytest.skip("needs the real server (MONGODB_URI) to pause: not the embedded engine (mongomock-ng) or CloudBase")
    pid = _server_pid(os.environ["MONGODB_URI"])
    if pid is None:
        pytest.skip("the real server (MONGODB_URI) is not a local process this test can pause")
    limit_ms = deployment.function("recordShare").timeout_s * 1000
    with configured_handler("recordShare") as handler:

        def call(user: str) -> tuple[dict, float]:
            context = scf_context(openid_for(user), function_name="recordShare", time_limit_in_ms=limit_ms)
            started = time.monotonic()
            answer = handler.main_handler({"action": "share", "productId": "sku-1"}, context)
            return answer, time.monotonic() - started

        assert call("warm")[0]["ok"]  # a warm instance: connected, its monitor has seen the server up
        os.kill(pid, signal.SIGSTOP)
        try:
            answers = [call(f"paused{i}") for i in range(3)]
        finally:
            os.kill(pid, signal.SIGCONT)
    for answer, elapsed in answers:
        assert answer["ok"] is False and answer["error"]["code"] == "UNAVAILABLE", answer
        assert elapsed < 0.4 * limit_ms / 1000, f"answered after {elapsed:.2f} s"


@pytest.mark.parametrize("function", deployment.FUNCTIONS, ids=lambda f: f.name)
def test_a_cold_instance_facing_a_closed_port_answers_within_the_uris_selection_wait(
    function, unreachable_database, emulator, monkeypatch
):
    """First use is many operations (reaching the server, then each collection's indexes): the first contact waits
    no longer than the URI's serverSelectionTimeoutMS, and nothing after it waits again (it measured 6.0 s before)."""
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/?directConnection=true&serverSelectionTimeoutMS=300")
    monkeypatch.setenv("MONGODB_TIMEOUT_MS", "500")
    config.reset()
    db.reset()
    event, user = PROBES[function.name]
    extra = {"REWARD_FIXED": "5"} if function.name == "rewards" else {}
    handler = (
        gen_wxacode_handler(emulator) if function.name == "genWxacode" else configured_handler(function.name, **extra)
    )
    with handler as module:
        context = scf_context(openid_for(user), function_name=function.name, time_limit_in_ms=5000)
        started = time.monotonic()
        response = module.main_handler(event, context)
        elapsed = time.monotonic() - started
    assert response["error"]["code"] == "UNAVAILABLE" and response["error"]["retryable"] is True, response
    assert elapsed < 1.2, f"{function.name} answered after {elapsed:.2f} s"
