"""How every Tencent Cloud API client of ours is set up (SCF Invoke, the tcb database, the deployer)."""

from __future__ import annotations

from typing import Any


def client_profile(endpoint: str | None, timeout_s: float) -> Any:
    """The SDK's client profile: ``endpoint`` overrides the service host (``http://`` only for a local emulator);
    requests time out after ``timeout_s`` (whole seconds, at least one: the SDK's unit)."""
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    http = HttpProfile(reqTimeout=max(1, int(timeout_s)))
    if endpoint:
        http.endpoint = endpoint.split("://", 1)[-1]
        if endpoint.startswith("http://"):
            http.scheme = "http"
    return ClientProfile(httpProfile=http)
