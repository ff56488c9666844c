"""Continuation of a batch in a fresh asynchronous invocation of the same function, through the SCF
``Invoke`` API (tencentcloud-sdk-python-common + -scf: 0.4 MB, not the 167 MB full SDK).

Credentials are the function role's temporary keys that SCF injects (``TENCENTCLOUD_SECRETID``,
``TENCENTCLOUD_SECRETKEY``, ``TENCENTCLOUD_SESSIONTOKEN``), read on every call because they rotate; the
SDK's default chain does not see them. The SDK is imported only when a continuation is needed, so
single-code invocations never load it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from shared.codes.settings import ENV_SCF_API_ENDPOINT
from shared.platform import log
from shared.platform.errors import ConfigError, Unavailable

INVOKE_TIMEOUT_S = 10  # an asynchronous Invoke answers at once; an outage is answered well inside the time limit


class ScfInvokeContinuation:
    def __init__(
        self,
        function_name: str,
        region: str,
        namespace: str | None = None,
        endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.function_name, self.region, self.namespace, self.endpoint = function_name, region, namespace, endpoint
        self._env = env

    @classmethod
    def from_context(cls, context: Any, env: Mapping[str, str] | None = None) -> ScfInvokeContinuation | None:
        """The continuation for the running function, or None outside SCF (no function name or region)."""
        env = os.environ if env is None else env
        ctx = context if isinstance(context, Mapping) else {}
        function_name = ctx.get("function_name") or env.get("SCF_FUNCTIONNAME")
        region = ctx.get("tencentcloud_region") or env.get("TENCENTCLOUD_REGION")
        if not function_name or not region:
            return None
        namespace = ctx.get("namespace") or env.get("SCF_NAMESPACE") or None
        return cls(function_name, region, namespace, env.get(ENV_SCF_API_ENDPOINT) or None, env)

    def _credential(self) -> Any:
        from tencentcloud.common.credential import Credential

        env = os.environ if self._env is None else self._env
        secret_id, secret_key = env.get("TENCENTCLOUD_SECRETID"), env.get("TENCENTCLOUD_SECRETKEY")
        if not secret_id or not secret_key:
            raise ConfigError(
                "TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY are required to continue a batch "
                "(SCF sets them when the function has an execution role)"
            )
        return Credential(secret_id, secret_key, env.get("TENCENTCLOUD_SESSIONTOKEN") or None)

    def continue_job(self, event: dict[str, Any]) -> None:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.scf.v20180416 import models

        request = models.InvokeRequest()
        request.FunctionName = self.function_name
        request.InvocationType = "Event"  # asynchronous: up to 128 KB of event, no 300 s API timeout
        request.ClientContext = json.dumps(event)
        if self.namespace:
            request.Namespace = self.namespace
        try:
            response = scf_client(self._credential(), self.region, self.endpoint, timeout=INVOKE_TIMEOUT_S).Invoke(
                request
            )
        except TencentCloudSDKException as exc:
            raise Unavailable(f"could not start the continuation: {exc.get_code()}") from exc
        except OSError as exc:  # transport failures surface from the SDK's HTTP layer
            raise Unavailable("could not reach the SCF API to start the continuation") from exc
        log.event("continuation_invoked", function=self.function_name, request_id=response.RequestId)


def scf_client(credential: Any, region: str, endpoint: str | None = None, timeout: int = 60) -> Any:
    """An SCF API client; ``endpoint`` overrides the host (``http://`` only for a local emulator)."""
    from tencentcloud.scf.v20180416.scf_client import ScfClient

    from shared.platform.cloud_api import client_profile

    return ScfClient(credential, region, client_profile(endpoint, timeout))
