"""The functions' own Tencent Cloud API client signs exactly as Tencent's SDK does: the same request, the same
Authorization header, byte for byte; and it reaches the emulators, which check the signature as documented."""

from __future__ import annotations

import json
import time

import pytest

from shared.platform.cloud_api import CloudApi, CloudApiError, authorization
from tools.tcb_api_emulator import TcbApiEmulator, backing_database

pytestmark = pytest.mark.no_database


def _sdk_authorization(secret_id, secret_key, service, version, host, action, params, timestamp, monkeypatch):
    """What tencentcloud-sdk-python puts in Authorization for this request (its own request builder)."""
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    monkeypatch.setattr(time, "time", lambda: timestamp)
    client = CommonClient(
        service,
        version,
        credential.Credential(secret_id, secret_key),
        "ap-shanghai",
        ClientProfile(httpProfile=HttpProfile(endpoint=host)),
    )
    request = RequestInternal(host, "POST", "/")
    client._build_req_with_tc3_signature(action, params, request)
    return request.header["Authorization"], request.data


@pytest.mark.parametrize(
    ("service", "version", "action", "params"),
    [
        (
            "tcb",
            "2018-06-08",
            "RunCommands",
            {"EnvId": "prod-1a2b", "MgoCommands": [{"TableName": "u", "Command": "{}"}]},
        ),
        ("scf", "2018-04-16", "Invoke", {"FunctionName": "rewards", "ClientContext": json.dumps({"中文": 1})}),
    ],
)
def test_the_signature_is_the_sdks_byte_for_byte(service, version, action, params, monkeypatch):
    host, timestamp = f"{service}.tencentcloudapi.com", 1_796_000_000
    expected, body = _sdk_authorization(
        "AKIDx", "secret", service, version, host, action, params, timestamp, monkeypatch
    )
    assert body == json.dumps(params)  # the same body our client sends
    assert authorization("AKIDx", "secret", service, host, body.encode(), timestamp) == expected


def test_errors_and_outages_are_told_apart():
    emulator = TcbApiEmulator(backing_database(), env_id="api-test-1a2b")
    emulator.start()
    try:
        api = CloudApi(
            "tcb",
            "2018-06-08",
            "ap-shanghai",
            emulator.secret_id,
            emulator.secret_key,
            emulator.session_token,
            emulator.endpoint,
        )
        assert api.call("ListTables", {"EnvId": "api-test-1a2b"}, 3)["Tables"] == []
        with pytest.raises(CloudApiError) as refused:
            api.call("ListTables", {"EnvId": "elsewhere"}, 3)
        assert refused.value.code == "ResourceNotFound.EnvNotExist" and not refused.value.unreachable
        assert refused.value.request_id
        tokenless = CloudApi(
            "tcb", "2018-06-08", "ap-shanghai", emulator.secret_id, emulator.secret_key, None, emulator.endpoint
        )
        with pytest.raises(CloudApiError, match="AuthFailure.TokenFailure"):
            tokenless.call("ListTables", {"EnvId": "api-test-1a2b"}, 3)
        emulator.fail_next = ["http500"]
        with pytest.raises(CloudApiError) as failed:
            api.call("ListTables", {"EnvId": "api-test-1a2b"}, 3)
        assert failed.value.unreachable and failed.value.code == "ServerNetworkError"
        emulator.fail_next = ["sleep:1"]
        started = time.monotonic()
        with pytest.raises(CloudApiError) as late:
            api.call("ListTables", {"EnvId": "api-test-1a2b"}, 0.3)
        assert late.value.unreachable and time.monotonic() - started < 0.9
        assert api.call("ListTables", {"EnvId": "api-test-1a2b"}, 3)["Tables"] == []  # a fresh connection after it
    finally:
        emulator.stop()
    closed = CloudApi("tcb", "2018-06-08", "ap-shanghai", "a", "b", None, "http://127.0.0.1:9")
    with pytest.raises(CloudApiError) as unreachable:
        closed.call("ListTables", {}, 1)
    assert unreachable.value.unreachable and unreachable.value.code == "ClientNetworkError"
