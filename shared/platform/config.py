"""Configuration from environment variables, validated once at cold start.

``Settings.from_env`` collects every problem and raises one ``ConfigError`` that names each
offending variable, so a misconfigured deployment fails at init instead of on some later call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import NamedTuple

from shared.platform.errors import ConfigError
from shared.platform.validation import PAGE_PATTERN

# Environment variable names: one place, so README, serverless.yml and code cannot drift.
ENV_MONGODB_URI = "MONGODB_URI"
ENV_MONGODB_DB = "MONGODB_DB"
ENV_RUNENV = "TENCENTCLOUD_RUNENV"
ENV_USERS_COLLECTION = "USERS_COLLECTION"
ENV_SHARE_EVENTS_COLLECTION = "SHARE_EVENTS_COLLECTION"
ENV_SHARE_INTENTS_COLLECTION = "SHARE_INTENTS_COLLECTION"
ENV_SCENE_TOKENS_COLLECTION = "SCENE_TOKENS_COLLECTION"
ENV_WXACODES_COLLECTION = "WXACODES_COLLECTION"
ENV_WECHAT_TOKENS_COLLECTION = "WECHAT_TOKENS_COLLECTION"
ENV_WXACODE_JOBS_COLLECTION = "WXACODE_JOBS_COLLECTION"
ENV_FUNNEL_DAILY_COLLECTION = "FUNNEL_DAILY_COLLECTION"
ENV_FUNNEL_RUNS_COLLECTION = "FUNNEL_RUNS_COLLECTION"
ENV_REWARDS_COLLECTION = "REWARDS_COLLECTION"
ENV_INVITER_CODE_LENGTH = "INVITER_CODE_LENGTH"
ENV_DEFAULT_SHARE_PAGE = "DEFAULT_SHARE_PAGE"
ENV_LOG_LEVEL = "LOG_LEVEL"
ENV_MONGODB_TIMEOUT_MS = "MONGODB_TIMEOUT_MS"
ENV_DATABASE = "DATABASE"
ENV_ORDERS_SOURCE = "ORDERS_SOURCE"
ENV_TCB_API_ENDPOINT = "TCB_API_ENDPOINT"
# The document-database instance (DescribeEnvs → Databases[].InstanceId), sent as ``Tag`` only when set: Tencent's
# newest toolkit addresses the database by EnvId alone (since 2026-05, "直接使用 EnvId 替代 Tag"); the CLI's --tag
# selects an instance when an environment has several.
ENV_TCB_DATABASE_TAG = "TCB_DATABASE_TAG"
# Platform-provided (read, never set by a deployer): the environment id and the function role's temporary keys.
ENV_TCB_ENV = "TCB_ENV"
ENV_SCF_NAMESPACE = "SCF_NAMESPACE"
ENV_SECRET_ID = "TENCENTCLOUD_SECRETID"
ENV_SECRET_KEY = "TENCENTCLOUD_SECRETKEY"
ENV_SESSION_TOKEN = "TENCENTCLOUD_SESSIONTOKEN"
ENV_REGION = "TENCENTCLOUD_REGION"
# What the platform itself sets (read, never deployed).
PLATFORM_VARIABLES = (ENV_RUNENV, ENV_SCF_NAMESPACE, ENV_SECRET_ID, ENV_SECRET_KEY, ENV_SESSION_TOKEN, ENV_REGION)
DATABASES = ("embedded", "mongodb", "cloudbase")
DEFAULT_TCB_API_ENDPOINT = "tcb.tencentcloudapi.com"
# Every variable Settings reads that a deployer sets (TENCENTCLOUD_RUNENV is the platform's own).
VARIABLES = (
    ENV_DATABASE,
    ENV_ORDERS_SOURCE,
    ENV_TCB_ENV,
    ENV_TCB_API_ENDPOINT,
    ENV_TCB_DATABASE_TAG,
    ENV_MONGODB_URI,
    ENV_MONGODB_DB,
    ENV_MONGODB_TIMEOUT_MS,
    ENV_USERS_COLLECTION,
    ENV_SHARE_EVENTS_COLLECTION,
    ENV_SHARE_INTENTS_COLLECTION,
    ENV_SCENE_TOKENS_COLLECTION,
    ENV_WXACODES_COLLECTION,
    ENV_WECHAT_TOKENS_COLLECTION,
    ENV_WXACODE_JOBS_COLLECTION,
    ENV_FUNNEL_DAILY_COLLECTION,
    ENV_FUNNEL_RUNS_COLLECTION,
    ENV_REWARDS_COLLECTION,
    ENV_INVITER_CODE_LENGTH,
    ENV_DEFAULT_SHARE_PAGE,
    ENV_LOG_LEVEL,
)

DEFAULT_DB_NAME = "share_funnel"
DEFAULT_SHARE_PAGE = "pages/product/product"

_COLLECTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_DB_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def environment_id(read: EnvReader) -> str | None:
    """The CloudBase environment id as Tencent's SDKs read it: ``TCB_ENV``, else the function's namespace."""
    return read.text(ENV_TCB_ENV) or read.text(ENV_SCF_NAMESPACE)


_FIELD_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


LOCAL_OR_HTTPS = ("https://", "http://127.0.0.1", "http://localhost")


class EnvReader:
    """The one way every settings object reads its environment variables: trimmed text, bounded integers and
    comma lists, each problem collected (not raised) so one ``ConfigError`` names every bad variable."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self.env = os.environ if env is None else env
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None, required: bool = False) -> str | None:
        value = (self.env.get(name) or "").strip() or default
        if required and not value:
            self.problems.append(f"{name} is required")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = (self.env.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be an integer, got {raw!r}")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name} must be between {low} and {high}, got {value}")
            return default
        return value

    def field_path(self, name: str, default: str | None = None) -> str | None:
        """A document field path such as ``profile.nickName`` (no ``$``, no empty or odd segments)."""
        value = self.text(name, default)
        if value is not None and not _FIELD_PATH.fullmatch(value):
            self.problems.append(f"{name} is not a valid field path: {value!r}")
        return value

    def endpoint(self, name: str, default: str | None = None) -> str | None:
        """A service's base URL: https, or plain http only to a local emulator (tests and the demo)."""
        value = self.text(name, default)
        if value is not None and not value.startswith(LOCAL_OR_HTTPS):
            self.problems.append(f"{name} must be https (plain http only for a local emulator)")
        return value

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated variable as its non-empty, trimmed items (unset or empty: none)."""
        return tuple(item.strip() for item in (self.env.get(name) or "").split(",") if item.strip())

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def check(self, what: str) -> None:
        if self.problems:
            raise ConfigError(f"invalid {what}: " + "; ".join(self.problems), problems=list(self.problems))


class Collections(NamedTuple):
    users: str = "users"
    share_events: str = "share_events"
    share_intents: str = "share_intents"
    scene_tokens: str = "scene_tokens"
    wxacodes: str = "wxacodes"
    wechat_tokens: str = "wechat_tokens"
    wxacode_jobs: str = "wxacode_jobs"
    funnel_daily: str = "funnel_daily"
    funnel_runs: str = "funnel_runs"
    rewards: str = "rewards"  # the reward ledger (written by rewards; the dashboard reads per-inviter totals)


class CloudBaseAccess(NamedTuple):
    """How the CloudBase database backend reaches the environment (tcb API 2018-06-08)."""

    env_id: str
    secret_id: str
    secret_key: str
    session_token: str | None
    region: str
    endpoint: str
    tag: str | None = None  # TCB_DATABASE_TAG: the instance, for an environment with several document databases


class Settings(NamedTuple):
    mongodb_uri: str | None
    mongodb_db: str
    collections: Collections
    inviter_code_length: int = 6
    default_share_page: str = DEFAULT_SHARE_PAGE
    log_level: str = "INFO"
    mongodb_timeout_ms: int = 5000
    on_scf: bool = False
    backend: str = "embedded"  # one of DATABASES
    cloudbase: CloudBaseAccess | None = None
    orders_source: str = ""  # "cloudbase": the app's orders are read from the environment's own database

    @property
    def embedded(self) -> bool:
        """True for the in-memory engine (dev and tests only)."""
        return self.backend == "embedded"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        read = EnvReader(env)
        env = read.env
        problems = read.problems

        def text(name: str, default: str) -> str:
            return read.text(name, default) or ""

        def integer(name: str, default: int, low: int, high: int) -> int:
            return read.integer(name, default, low, high)

        on_scf = env.get(ENV_RUNENV, "").upper() == "SCF"
        uri = (env.get(ENV_MONGODB_URI) or "").strip() or None
        env_id = environment_id(read)
        backend = (read.text(ENV_DATABASE) or "").lower() or _default_backend(uri, env_id, on_scf)
        if backend not in DATABASES:
            problems.append(f"{ENV_DATABASE} must be one of {', '.join(DATABASES)}")
        if backend == "embedded" and on_scf:
            # On SCF the embedded engine would silently lose every record when the instance recycles.
            problems.append(
                f"a database is required on SCF ({ENV_RUNENV}=SCF): {ENV_TCB_ENV} for the environment's own "
                f"database, or {ENV_MONGODB_URI}; the in-memory engine is for development and tests only"
            )
        if backend == "mongodb" and not uri:
            problems.append(f"{ENV_MONGODB_URI} is required with {ENV_DATABASE}=mongodb")
        if uri and not uri.startswith(("mongodb://", "mongodb+srv://")):
            problems.append(f"{ENV_MONGODB_URI} must start with mongodb:// or mongodb+srv://")
        orders_source = (read.text(ENV_ORDERS_SOURCE) or "").lower()
        if orders_source not in ("", "cloudbase"):
            problems.append(f"{ENV_ORDERS_SOURCE} must be cloudbase or empty (the configured database)")
        needs_cloudbase = backend == "cloudbase" or orders_source == "cloudbase"
        cloudbase = cloudbase_access(read, env_id) if needs_cloudbase else None

        db_name = text(ENV_MONGODB_DB, DEFAULT_DB_NAME)
        if not _DB_NAME.fullmatch(db_name):
            problems.append(f"{ENV_MONGODB_DB} is not a valid database name: {db_name!r}")

        names = {}
        for field, env_name in (
            ("users", ENV_USERS_COLLECTION),
            ("share_events", ENV_SHARE_EVENTS_COLLECTION),
            ("share_intents", ENV_SHARE_INTENTS_COLLECTION),
            ("scene_tokens", ENV_SCENE_TOKENS_COLLECTION),
            ("wxacodes", ENV_WXACODES_COLLECTION),
            ("wechat_tokens", ENV_WECHAT_TOKENS_COLLECTION),
            ("wxacode_jobs", ENV_WXACODE_JOBS_COLLECTION),
            ("funnel_daily", ENV_FUNNEL_DAILY_COLLECTION),
            ("funnel_runs", ENV_FUNNEL_RUNS_COLLECTION),
            ("rewards", ENV_REWARDS_COLLECTION),
        ):
            value = text(env_name, Collections._field_defaults[field])
            if not _COLLECTION_NAME.fullmatch(value):
                problems.append(f"{env_name} is not a valid collection name: {value!r}")
            names[field] = value
        if len(set(names.values())) != len(names):
            problems.append("collection names must be distinct: " + ", ".join(sorted(names.values())))

        page = text(ENV_DEFAULT_SHARE_PAGE, DEFAULT_SHARE_PAGE).lstrip("/")
        if not PAGE_PATTERN.fullmatch(page):
            problems.append(f"{ENV_DEFAULT_SHARE_PAGE} must be a page path without query, got {page!r}")

        log_level = text(ENV_LOG_LEVEL, "INFO").upper()
        if log_level not in _LOG_LEVELS:
            problems.append(f"{ENV_LOG_LEVEL} must be one of {', '.join(_LOG_LEVELS)}")

        settings = cls(
            mongodb_uri=uri,
            mongodb_db=db_name,
            collections=Collections(**names),
            inviter_code_length=integer(ENV_INVITER_CODE_LENGTH, 6, 6, 8),
            default_share_page=page,
            log_level=log_level,
            mongodb_timeout_ms=integer(ENV_MONGODB_TIMEOUT_MS, 5000, 100, 60000),
            on_scf=on_scf,
            backend=backend if backend in DATABASES else "embedded",
            cloudbase=cloudbase,
            orders_source=orders_source,
        )
        read.check("configuration")
        return settings


def _default_backend(uri: str | None, env_id: str | None, on_scf: bool) -> str:
    """MONGODB_URI → MongoDB; on the platform without it, the environment's own database; else embedded."""
    if uri:
        return "mongodb"
    return "cloudbase" if on_scf and env_id else "embedded"


def cloudbase_access(read: EnvReader, env_id: str | None) -> CloudBaseAccess:
    """The environment and the function role's temporary keys (SCF injects them when the function has a role)."""
    if not env_id:
        read.problems.append(f"{ENV_TCB_ENV} (or SCF's {ENV_SCF_NAMESPACE}) is required for the CloudBase database")
    secret_id, secret_key = read.text(ENV_SECRET_ID), read.text(ENV_SECRET_KEY)
    if not (secret_id and secret_key):
        read.problems.append(
            f"{ENV_SECRET_ID} and {ENV_SECRET_KEY} are required for the CloudBase database: SCF injects them when "
            "the function runs with a role (CloudBase functions run as TCB_QcsRole)"
        )
    endpoint = read.text(ENV_TCB_API_ENDPOINT, DEFAULT_TCB_API_ENDPOINT) or DEFAULT_TCB_API_ENDPOINT
    if "://" in endpoint and not endpoint.startswith("http://127.0.0.1:"):
        read.problems.append(f"{ENV_TCB_API_ENDPOINT} is a host name (or http://127.0.0.1:PORT for an emulator)")
    return CloudBaseAccess(
        env_id=env_id or "",
        secret_id=secret_id or "",
        secret_key=secret_key or "",
        session_token=read.text(ENV_SESSION_TOKEN),
        region=read.text(ENV_REGION, "ap-shanghai") or "ap-shanghai",
        endpoint=endpoint,
        tag=read.text(ENV_TCB_DATABASE_TAG),
    )


_cached: Settings | None = None


def settings() -> Settings:
    """The process-wide settings, read from the environment on first use (cold start)."""
    global _cached
    if _cached is None:
        _cached = Settings.from_env()
    return _cached


def reset() -> None:
    """Forget the cached settings (tests and ops scripts that change the environment)."""
    global _cached
    _cached = None
