"""Test harness: the same suite runs on the embedded engine (nothing set), unchanged against a real MongoDB
(MONGODB_URI set; a throwaway database per session is dropped at the end), and on the CloudBase backend
(DATABASE=cloudbase: the tcb API emulator over real HTTP, executing on the embedded engine or on MONGODB_URI)."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import threading
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

os.environ.pop("TENCENTCLOUD_RUNENV", None)
os.environ.pop("WX_CONTEXT_KEYS", None)
os.environ.pop("WX_OPENID", None)
REAL_SERVER = bool(os.environ.get("MONGODB_URI"))
if REAL_SERVER:
    os.environ["MONGODB_DB"] = f"share_funnel_test_{uuid.uuid4().hex[:10]}"
CLOUDBASE = os.environ.get("DATABASE", "").lower() == "cloudbase"
TCB_EMULATOR = None
if CLOUDBASE:
    # The environment's own database through the tcb API emulator; the emulator executes on the embedded engine
    # (or on MONGODB_URI's server), in this process, over real HTTP with TC3 signatures.
    from tools.tcb_api_emulator import TcbApiEmulator, backing_database

    # One environment id for the database and for storage (the WeChat emulator's CloudBase environment).
    TCB_EMULATOR = TcbApiEmulator(
        backing_database(os.environ.get("MONGODB_URI"), os.environ.get("MONGODB_DB")), env_id="prod-4g8x2k1d9e0f3a5b"
    )
    TCB_EMULATOR.start()
    TCB_EMULATOR.create_table("orders")  # the mini program's own collection, made in the console as the tutorial does
    os.environ.update(
        TCB_API_ENDPOINT=TCB_EMULATOR.endpoint,
        SCF_NAMESPACE=TCB_EMULATOR.env_id,
        TENCENTCLOUD_SECRETID=TCB_EMULATOR.secret_id,
        TENCENTCLOUD_SECRETKEY=TCB_EMULATOR.secret_key,
        TENCENTCLOUD_SESSIONTOKEN=TCB_EMULATOR.session_token or "",
    )
    os.environ["TCB_ENV"] = TCB_EMULATOR.env_id
    os.environ.pop("MONGODB_URI", None)

# Continuations (SCF Invoke) never leave the machine: a test that does not drain them (the ``scf_api`` fixture) hands
# them to an emulator nobody runs, which records them — never to scf.tencentcloudapi.com.
from tools.scf_api_emulator import ScfApiEmulator

UNDRAINED_INVOKES = ScfApiEmulator()
os.environ["SCF_API_ENDPOINT"] = UNDRAINED_INVOKES.start()

from shared.platform import (
    config,
    db,
    instance,
)
from tools.wxclient import load_handler, openid_for, scf_context

EVENTS = ROOT / "tests" / "events"


def _fill(value, values):
    if isinstance(value, str):
        for key, replacement in values.items():
            placeholder = "{{" + key + "}}"
            if value == placeholder:
                return replacement  # keep non-string substitutions (e.g. None) as they are
            value = value.replace(placeholder, str(replacement))
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value


def run_together(count, fn):
    """``fn()`` in ``count`` threads released at once by a barrier; the results in thread order."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(index):
        barrier.wait()
        results[index] = fn()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def load_event(name: str, **values):
    """A fixture event from tests/events/, with {{placeholders}} filled."""
    return _fill(json.loads((EVENTS / name).read_text(encoding="utf-8")), values)


def snapshot(database):
    """Every document of every collection, for 'nothing was written' assertions."""
    snap = {
        name: sorted(repr(sorted(doc.items())) for doc in database[name].find({}))
        for name in sorted(database.list_collection_names())
    }
    return {name: docs for name, docs in snap.items() if docs}  # an index build on first use writes no data


def written(database):
    """``snapshot`` but for the WeChat access token a request may fetch on its way to refusing: what it stored."""
    return {name: docs for name, docs in snapshot(database).items() if name != "wechat_tokens"}


@pytest.fixture(scope="session")
def emulator():
    """The local WeChat API emulator over real HTTP on 127.0.0.1 (tools/wechat_emulator.py)."""
    from tools.wechat_emulator import WeChatEmulator

    emulator = WeChatEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


ADMIN_SECRET = "s" * 40


@contextlib.contextmanager
def fixed_clock(at):
    """Every function's clock stands at ``at`` (tests move it with ``clock.set``) until the block ends."""
    from shared.platform.clock import FixedClock

    clock = FixedClock(at)
    instance.use_clock(clock)
    try:
        yield clock
    finally:
        instance.reset()


@contextlib.contextmanager
def configured_handler(function, **values):
    """``functions/<function>/index.py`` imported the way SCF does, with ``values`` in the environment at
    its cold start (restored afterwards)."""
    values = {"ADMIN_OPENIDS": openid_for("admin"), "ADMIN_TOKEN_SECRET": ADMIN_SECRET, **values}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield load_handler(function)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def gen_wxacode_handler(emulator, **overrides):
    """genWxacode configured for the emulator (plus ``overrides``) at its cold start."""
    return configured_handler(
        "genWxacode",
        WECHAT_APPID=emulator.appid,
        WECHAT_APPSECRET=emulator.secret,
        WECHAT_API_BASE=emulator.base_url,
        STORAGE_BACKEND="tcb",
        TCB_ENV=emulator.tcb_env,
        **overrides,
    )


def record_share_handler(emulator, **overrides):
    """recordShare configured with the app's WeChat credentials (the emulator) at its cold start: group resolution
    and nickname content checks on."""
    return configured_handler(
        "recordShare",
        WECHAT_APPID=emulator.appid,
        WECHAT_APPSECRET=emulator.secret,
        WECHAT_API_BASE=emulator.base_url,
        **overrides,
    )


@pytest.fixture
def scf_api(monkeypatch):
    """The SCF API emulator as the endpoint of continuations (``Invoke``), with the role's keys it checks: each
    asynchronous invocation a job starts waits in ``scf_api.invocations`` for the test to run it."""
    from tools.scf_api_emulator import ScfApiEmulator

    api = ScfApiEmulator()
    monkeypatch.setenv("SCF_API_ENDPOINT", api.start())
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", api.secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", api.secret_key)
    monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", api.session_token)
    yield api
    api.stop()


def drain(api, handler, time_limit_in_ms, limit=10_000):
    """Run every asynchronous invocation the SCF emulator received (and those they start in turn) through
    ``handler`` as the platform would: no caller, the function's time limit. The last response and how many ran."""
    response, hops = None, 0
    while api.invocations:
        invocation = api.invocations.pop(0)
        response = handler.main_handler(
            invocation["event"],
            scf_context(None, function_name=invocation["function"], time_limit_in_ms=time_limit_in_ms),
        )
        hops += 1
        assert hops < limit, "continuations that make no progress"
    return response, hops


@pytest.fixture(scope="session")
def record_share():
    return load_handler("recordShare")


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1: the COS endpoint in tests (real S3 protocol)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def database():
    """The configured database with every collection emptied (indexes kept: ensured once per process)."""
    instance.reset()
    database = db.database()
    for name in database.list_collection_names():
        database[name].delete_many({})
    return database


@pytest.fixture
def invoke(record_share, database):
    """Call recordShare as the mini program would: ``invoke(event, as_user="alice")``."""

    def call(event, as_user=None, **context_options):
        openid = openid_for(as_user) if as_user else None
        return record_share.main_handler(event, scf_context(openid, **context_options))

    return call


@pytest.fixture
def sharer_code(invoke):
    """Have ``name`` share product sku-42 and return their inviter code."""

    def share(name, product="sku-42", channel="chat"):
        response = invoke(
            {"action": "share", "productId": product, "channel": channel, "page": "pages/product/product"}, as_user=name
        )
        assert response["ok"], response
        return response["inviterCode"]

    return share


def pytest_sessionfinish(session, exitstatus):
    if REAL_SERVER:
        try:
            database = db.database()
            database.client.drop_database(database.name)
        except Exception:  # best effort cleanup
            pass
    config.reset()


ENGINE = (
    "CloudBase (tcb API emulator)"
    if CLOUDBASE
    else "real server (MONGODB_URI)"
    if REAL_SERVER
    else "embedded engine (mongomock-ng)"
)


def pytest_report_header(config):
    return f"database engine: {ENGINE}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """How many tests this engine skipped, and why: every engine-specific skip names its engine in its reason."""
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = sorted(
        {str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr) for report in skipped}
    )
    terminalreporter.write_line(
        f"engine-specific tests skipped on the {ENGINE}: {len(skipped)}"
        + "".join(f"\n  - {reason}" for reason in reasons)
    )


@pytest.fixture
def own_cloudbase(monkeypatch):
    """``own_cloudbase(env_id, **variants)``: a tcb API emulator of this test's own (over a fresh embedded engine)
    and the functions configured for it on the CloudBase backend, as a cold instance; torn down after the test."""
    from tools.tcb_api_emulator import TcbApiEmulator, backing_database

    started = []

    def start(env_id, variables=None, **variants):
        emulator = TcbApiEmulator(backing_database(), env_id=env_id, **variants)
        emulator.start()
        started.append(emulator)
        values = {
            "DATABASE": "cloudbase",
            "TCB_ENV": env_id,
            "TCB_API_ENDPOINT": emulator.endpoint,
            "TENCENTCLOUD_SECRETID": emulator.secret_id,
            "TENCENTCLOUD_SECRETKEY": emulator.secret_key,
            "TENCENTCLOUD_SESSIONTOKEN": emulator.session_token,
            **(variables or {}),
        }
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("MONGODB_URI", raising=False)
        monkeypatch.delenv("TCB_DATABASE_TAG", raising=False)
        config.reset()
        db.reset()
        instance.reset()
        return emulator

    yield start
    for emulator in started:
        emulator.stop()
    monkeypatch.undo()
    config.reset()
    db.reset()
    instance.reset()
