"""Post-deploy smoke test: invoke each deployed function through the SCF ``Invoke`` API (synchronously) with
a harmless probe and check that it starts (its configuration passed cold-start validation) and answers with
the expected stable code. Nothing is written by any probe.

* recordShare ``{"action": "share"}`` without a user → ``NO_IDENTITY`` (identity only comes from WeChat);
* genWxacode ``{"jobId": "smoke-probe"}`` → ``FORBIDDEN`` (no admin), or ``NOT_FOUND`` with an admin token;
* dailyFunnel ``{"date": …}`` without admin rights → ``FORBIDDEN`` (a backfill needs an admin);
* rewards ``{"action": "export"}`` without admin rights → ``FORBIDDEN``.

``INTERNAL``/``CONFIG`` or a platform error fails the check.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROBES = {
    "recordShare": ({"action": "share", "productId": "smoke-probe"}, {"NO_IDENTITY"}),
    "genWxacode": ({"jobId": "smoke-probe"}, {"FORBIDDEN", "NOT_FOUND"}),
    "dailyFunnel": ({"date": "2026-01-01"}, {"FORBIDDEN"}),
    "rewards": ({"action": "export"}, {"FORBIDDEN"}),
}


@dataclass
class SmokeResult:
    function: str
    ok: bool
    detail: str
    duration_ms: float | None = None
    platform: dict[str, Any] | None = None  # what the function got from the platform (names only)


def run_smoke(
    function_names: Mapping[str, str],
    region: str,
    namespace: str | None = None,
    endpoint: str | None = None,
    admin_token: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[SmokeResult]:
    """Raises ``DeployError`` when the credentials are missing (the deploy's own scheme and message)."""
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.scf.v20180416 import models

    from shared.ops.scf_deploy import credential, scf_client

    env = os.environ if env is None else env
    client = scf_client(credential(env), region, endpoint)

    def invoke(function: str, event: Mapping[str, Any]) -> tuple[Any, SmokeResult | None]:
        """The function's JSON answer, or the failed check."""
        request = models.InvokeRequest()
        request.FunctionName = function_names[function]
        request.InvocationType = "RequestResponse"
        request.ClientContext = json.dumps(event)
        if namespace:
            request.Namespace = namespace
        try:
            result = client.Invoke(request).Result
        except TencentCloudSDKException as exc:
            return None, SmokeResult(function, False, f"SCF API error {exc.get_code()}: {exc.get_message()}")
        if result.InvokeResult != 0:
            return None, SmokeResult(function, False, f"invocation failed: {result.ErrMsg}", result.Duration)
        try:
            return json.loads(result.RetMsg), None
        except (TypeError, ValueError):
            return None, SmokeResult(function, False, f"not a JSON response: {result.RetMsg!r}", result.Duration)

    results = []
    for function, (probe, expected) in PROBES.items():
        # First what the function got from the platform (names only) and whether its database answers.
        answer, failed = invoke(function, {"platformProbe": True})
        if failed:
            results.append(failed)
            continue
        platform = answer.get("probe") if isinstance(answer, dict) else None
        if not isinstance(platform, dict):
            results.append(SmokeResult(function, False, f"no platform report: {answer!r}"))
            continue
        if not (platform.get("database") or {}).get("reachable"):
            results.append(SmokeResult(function, False, "its database does not answer", platform=platform))
            continue
        event: dict[str, Any] = dict(probe)
        if admin_token and function == "genWxacode":
            event["adminToken"] = admin_token
        response, failed = invoke(function, event)
        if failed:
            results.append(failed)
            continue
        code = (response.get("error") or {}).get("code") if isinstance(response, dict) else None
        results.append(
            SmokeResult(
                function,
                code in expected,
                f"answered {code or response!r} (expected {' or '.join(sorted(expected))})",
                platform=platform,
            )
        )
    return results
