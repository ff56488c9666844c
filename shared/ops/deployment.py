"""What is deployed: the three functions, their runtime, resources, environment variables, vendored packages
and the timer. serverless.yml and cloudbaserc.json are checked against this (tests/test_deployment.py), and
tools/build.py packages from it, so the three cannot drift apart."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from shared.platform import config
from shared.funnel import settings as funnel_config
from shared.codes import settings as wxacode_config
from shared.wechat import settings as wechat
from shared.rewards import settings as rewards

RUNTIME = "Python3.10"
HANDLER = "index.main_handler"          # the entry module sits at the zip root: the one layout SCF documents
CLOUDBASE_MAX_TIMEOUT = 60              # CloudBase caps function timeouts at 60 s
TIMER_NAME = "daily"
TIMER_CRON = "0 17 2 * * * *"           # 7-field cron, 02:17 Beijing time: after midnight, not on the hour
REWARDS_TIMER_CRON = "0 47 2 * * * *"   # 02:47: settlement after the funnel


@dataclass(frozen=True)
class Function:
    name: str
    memory_mb: int
    timeout_s: int
    packages: Tuple[str, ...]                 # top-level runtime packages (pins come from requirements.txt)
    variables: Tuple[str, ...]                # environment variables the deployer sets
    cos_packages: Tuple[str, ...] = ()        # added when built for STORAGE_BACKEND=cos
    lazy_packages: Tuple[str, ...] = ()       # shipped, but imported only on a rarer path (never at cold start)
    wings: Tuple[str, ...] = ("platform",)    # the folders of shared/ it ships (shared/__init__.py lists the arrows)
    timer: Optional[str] = None               # cron of its timer trigger
    zip_budget_mb: float = 3.0


FUNCTIONS = (
    # requests ships for group resolution only (imported on a landing's first group cloudID, not at cold start).
    Function("recordShare", memory_mb=256, timeout_s=5, packages=("pymongo",), lazy_packages=("requests",),
             variables=config.VARIABLES + wechat.VARIABLES, wings=("platform", "sharing", "wechat"), zip_budget_mb=4.0),
    Function("genWxacode", memory_mb=512, timeout_s=300,
             packages=("pymongo", "requests", "tencentcloud-sdk-python-common", "tencentcloud-sdk-python-scf"),
             variables=config.VARIABLES + wxacode_config.VARIABLES, cos_packages=("boto3",), zip_budget_mb=5.0,
             wings=("platform", "sharing", "wechat", "codes")),
    Function("dailyFunnel", memory_mb=512, timeout_s=300, packages=("pymongo",),
             variables=config.VARIABLES + tuple(v for v in funnel_config.VARIABLES if v not in config.VARIABLES),
             wings=("platform", "funnel"), timer=TIMER_CRON),
    # Settlement runs daily after dailyFunnel; the mini program calls it too (myRewards, subscribe), so it lives in
    # the CloudBase environment like recordShare.
    Function("rewards", memory_mb=256, timeout_s=60, packages=("pymongo",), lazy_packages=("requests",),
             variables=tuple(dict.fromkeys(config.VARIABLES + rewards.VARIABLES + funnel_config.VARIABLES
                                           + wechat.VARIABLES)),
             wings=("platform", "funnel", "rewards", "wechat"), timer=REWARDS_TIMER_CRON, zip_budget_mb=4.0),
)


def function(name: str) -> Function:
    for item in FUNCTIONS:
        if item.name == name:
            return item
    raise KeyError(name)
