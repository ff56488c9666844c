"""What is deployed: the functions, their runtime, resources, environment variables, vendored packages, timers,
where they live and how long each may wait for a dependency. serverless.yml, cloudbaserc.json and .env.example
are generated from this (tools/deploy_config.py), tools/build.py packages from it and shared/ops/scf_deploy.py
deploys it, so none of them can drift apart.

Every function lives in the CloudBase environment (SCF namespace = environment id, plain function names):
``wx.cloud.callFunction`` reaches only functions there — recordShare, genWxacode and rewards from the kit,
dailyFunnel from an operator's admin page."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.codes import settings as wxacode_config
from shared.funnel import settings as funnel_config
from shared.orders import settings as orders
from shared.platform import config
from shared.platform.admin import ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET
from shared.rewards import payout_settings as payouts
from shared.rewards import settings as rewards
from shared.sharing import relationship
from shared.wechat import settings as wechat

RUNTIME = "Python3.10"
CLOUDBASE_ENV = "TCB_ENV"  # the CloudBase environment id: the functions' SCF namespace
HANDLER = "index.main_handler"  # the entry module sits at the zip root: the one layout SCF documents
CLOUDBASE_MAX_TIMEOUT = 60  # CloudBase caps function timeouts at 60 s (docs.cloudbase.net, functions configs)
# Long work: SCF allows 900 s for event functions, and tcb's CreateFunction can set AsyncRunEnable (asynchronous
# execution, hours long) — but an async-run function answers only asynchronous invocations, and dailyFunnel, rewards
# and genWxacode are also called synchronously (admin backfills, myRewards, single codes from the mini program),
# while CloudBase's own tools keep 60 s. So every function keeps a timeout within CloudBase's cap and work that can
# outgrow one invocation continues itself (genWxacode batches hand off through SCF Invoke; settlement and funnel
# runs resume on their next run) — AsyncRunEnable is deliberately not set.
TIMER_NAME = "daily"
TIMER_CRON = "0 17 2 * * * *"  # 7-field cron, 02:17 Beijing time: after midnight, not on the hour
REWARDS_TIMER_CRON = "0 47 2 * * * *"  # 02:47: settlement after the funnel


@dataclass(frozen=True)
class Function:
    name: str
    memory_mb: int
    timeout_s: int
    packages: tuple[str, ...]  # top-level runtime packages (pins come from requirements.txt)
    variables: tuple[str, ...]  # environment variables the deployer sets
    cos_packages: tuple[str, ...] = ()  # added when built for STORAGE_BACKEND=cos
    lazy_packages: tuple[str, ...] = ()  # shipped, but imported only on a rarer path (never at cold start)
    wings: tuple[str, ...] = ("platform",)  # the folders of shared/ it ships (shared/__init__.py lists the arrows)
    timer: str | None = None  # cron of its timer trigger
    zip_budget_mb: float = 3.0
    waits_on: tuple[str, ...] = ("mongodb",)  # dependencies whose failure it must answer (dependency_waits)
    description: str = ""


# The CloudBase database backend (DATABASE=cloudbase, the default on the platform without MONGODB_URI) speaks the tcb
# cloud API through Tencent's SDK; imported when that backend connects, never at cold start.

ANSWER_MARGIN_S = 1.0  # what a function needs, after its slowest dependency gave up, to answer UNAVAILABLE


ADMIN_VARIABLES = (ENV_ADMIN_OPENIDS, ENV_ADMIN_TOKEN_SECRET)

FUNCTIONS = (
    # requests ships for group resolution only (imported on a landing's first group cloudID, not at cold start).
    Function(
        "recordShare",
        description="Share links and landing attribution, called by the mini program",
        memory_mb=256,
        timeout_s=5,
        packages=("pymongo",),
        lazy_packages=("requests", "pyjwt"),  # PyJWT: admin tokens, on an admin call only
        variables=tuple(
            dict.fromkeys(
                config.VARIABLES + wechat.VARIABLES + relationship.VARIABLES + ADMIN_VARIABLES + orders.VARIABLES
            )
        ),
        wings=("platform", "sharing", "orders", "wechat"),
        zip_budget_mb=5.0,  # Tencent's cloud API is signed by shared/platform/cloud_api.py: no SDK shipped
        waits_on=("mongodb", "wechat-groups"),
    ),
    # A batch longer than one invocation continues in a fresh one (SCF Invoke), so CloudBase's 60 s is enough.
    Function(
        "genWxacode",
        description="Unlimited Mini Program Codes, cached, stored and batched at the rate cap",
        memory_mb=512,
        timeout_s=60,
        waits_on=("mongodb", "wechat", "storage", "scf-invoke"),
        packages=("pymongo", "requests"),
        lazy_packages=("pillow", "pyjwt"),  # Pillow: posters only; PyJWT: admin tokens
        variables=tuple(dict.fromkeys(config.VARIABLES + wxacode_config.VARIABLES)),
        cos_packages=("boto3",),
        zip_budget_mb=10.5,  # 10.1 MB: 4.1 MB + Pillow for posters (AVIF left out) + the poster font; deployed via COS
        wings=("platform", "sharing", "orders", "wechat", "codes"),
    ),
    Function(
        "dailyFunnel",
        description="Daily funnel report rows by timer, and admin backfills",
        memory_mb=512,
        timeout_s=CLOUDBASE_MAX_TIMEOUT,
        packages=("pymongo",),
        lazy_packages=("requests", "pyjwt"),
        cos_packages=("boto3",),
        variables=tuple(dict.fromkeys(config.VARIABLES + funnel_config.VARIABLES)),
        wings=("platform", "sharing", "orders", "rewards", "funnel", "wechat"),
        timer=TIMER_CRON,
        waits_on=("mongodb", "wechat", "storage", "scf-invoke"),
        zip_budget_mb=5.0,  # Tencent's cloud API is signed by shared/platform/cloud_api.py: no SDK shipped
    ),
    # Settlement runs daily after dailyFunnel; the mini program calls it too (myRewards, subscribe), so it lives in
    # the CloudBase environment like recordShare.
    Function(
        "rewards",
        description="Invitation reward ledger, settlement by timer, payouts, inviter summaries",
        memory_mb=256,
        timeout_s=60,
        packages=("pymongo",),
        # wechatpayv3 (and cryptography under it) only with PAYOUT_MODE=wechatpay, imported on a payout's first use.
        # typing-extensions by name: cryptography needs it below Python 3.11, and pip's --python-version does not
        # apply to that marker (python_full_version), so it would not be vendored otherwise.
        lazy_packages=("requests", "wechatpayv3", "typing-extensions", "pyjwt"),
        variables=tuple(dict.fromkeys(config.VARIABLES + rewards.VARIABLES + payouts.VARIABLES + wechat.VARIABLES)),
        wings=("platform", "sharing", "orders", "rewards", "wechat"),
        timer=REWARDS_TIMER_CRON,
        zip_budget_mb=10.5,  # cryptography is 5.9 MB of it (zipped); the cloud API is signed without an SDK
        waits_on=("mongodb", "wechat", "scf-invoke"),
    ),
)


# What the SCF model documents for a description: letters, digits, spaces, commas, periods, newlines and Chinese
# (whether the API enforces it is unknown; we stay inside it). At most 1000 characters.
_DESCRIPTION_CHAR = re.compile(r"[A-Za-z0-9 ,.\n\u4e00-\u9fff]")


def description_problems(function: Function) -> list[str]:
    """What in the function's description lies outside the documented set (empty when nothing does)."""
    outside = sorted({c for c in function.description if not _DESCRIPTION_CHAR.fullmatch(c)})
    too_long = len(function.description) > 1000
    return [f"{function.name}: {outside or ''}{' longer than 1000' if too_long else ''}"] if outside or too_long else []


def dependency_waits(function: Function) -> dict[str, float]:
    """How long each dependency of ``function`` may take to fail, in seconds, from the constants its wings use."""
    from shared.platform.continuation import INVOKE_TIMEOUT_S
    from shared.platform.db import SHARE_OF_INVOCATION
    from shared.platform.storage import UPLOAD_WORST_S
    from shared.sharing.service import GROUP_ATTEMPTS, GROUP_TIMEOUT
    from shared.wechat.client import worst_failure_s

    table = {
        "mongodb": SHARE_OF_INVOCATION * function.timeout_s,  # server selection: a share of the time limit
        "wechat": worst_failure_s(),
        "wechat-groups": worst_failure_s(GROUP_ATTEMPTS, GROUP_TIMEOUT),
        "storage": UPLOAD_WORST_S,
        "scf-invoke": float(INVOKE_TIMEOUT_S),
    }
    return {name: table[name] for name in function.waits_on}


def timeout_problems(functions: tuple[Function, ...] = FUNCTIONS) -> list[str]:
    """Functions whose time limit cannot hold their slowest dependency's failure plus the answer, and limits
    CloudBase would not accept. Empty when coherent (tests and the deployer check this)."""
    problems = []
    for function in functions:
        waits = dependency_waits(function)
        slowest = max(waits, key=waits.__getitem__)
        if waits[slowest] + ANSWER_MARGIN_S > function.timeout_s:
            problems.append(
                f"{function.name}: timeout {function.timeout_s} s cannot answer a failing {slowest} "
                f"({waits[slowest]:.1f} s + {ANSWER_MARGIN_S:.0f} s to answer)"
            )
        if function.timeout_s > CLOUDBASE_MAX_TIMEOUT:
            problems.append(
                f"{function.name}: timeout {function.timeout_s} s is above CloudBase's {CLOUDBASE_MAX_TIMEOUT} s"
            )
    return problems


def function(name: str) -> Function:
    for item in FUNCTIONS:
        if item.name == name:
            return item
    raise KeyError(name)
