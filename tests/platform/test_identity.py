"""Caller identity comes from the platform only, in the documented order."""

import json

import pytest

from shared.platform.errors import NoIdentity
from shared.platform.identity import caller_identity
from tests.conftest import openid_for, scf_context

ALICE, MALLORY = openid_for("alice"), openid_for("mallory")


def test_openid_comes_from_the_new_architecture_context():
    caller = caller_identity({}, scf_context(ALICE), environ={})
    assert (caller.openid, caller.appid, caller.source) == (ALICE, "wx3c5e7a9b1d2f4a6c", "context")


def test_openid_comes_from_the_old_architecture_environ_string():
    caller = caller_identity({}, scf_context(ALICE, architecture="old"), environ={})
    assert caller.openid == ALICE and caller.appid == "wx3c5e7a9b1d2f4a6c"


def test_process_environment_is_read_only_for_keys_listed_in_wx_context_keys():
    context = scf_context(None, architecture="none")
    assert (
        caller_identity({}, context, environ={"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": ALICE}).source == "environ"
    )
    with pytest.raises(NoIdentity):
        caller_identity({}, context, environ={"WX_OPENID": ALICE})


# --- one scenario per way a function can be invoked (facts: ../shared/docs/cloudbase-platform.md §3) -------------
FORGED = {"userInfo": {"appId": "wx3c5e7a9b1d2f4a6c", "openId": MALLORY}}


def _context(**environment):
    return {"request_id": "r", "environment": json.dumps(environment)}


def test_a_mini_program_call_is_the_context_openid():
    caller = caller_identity(FORGED, scf_context(ALICE), environ={})
    assert (caller.openid, caller.source) == (ALICE, "context")


def test_devtools_and_clients_without_a_context_openid_may_use_user_info():
    for source in ("wx_client", "wx_devtools"):
        caller = caller_identity({"userInfo": {"openId": ALICE}}, _context(TCB_SOURCE=source), environ={})
        assert (caller.openid, caller.source) == (ALICE, "event.userInfo")


def test_a_web_sdk_call_with_a_forged_user_info_has_no_identity():
    with pytest.raises(NoIdentity):  # a Publishable Key from a web page: the caller writes the whole event
        caller_identity(FORGED, _context(TCB_SOURCE="web", TCB_ENV="prod-1"), environ={})


def test_an_http_api_call_with_a_forged_user_info_has_no_identity():
    with pytest.raises(NoIdentity):
        caller_identity(FORGED, _context(SOURCE="wx_http"), environ={})


def test_an_scf_invoke_with_a_forged_user_info_has_no_identity():
    with pytest.raises(NoIdentity):
        caller_identity(FORGED, {"request_id": "r", "function_name": "recordShare"}, environ={})


def test_user_info_never_overrides_an_empty_context_openid():
    # A key present in the context wins even when empty: the platform said "no user" (Moments single-page mode).
    with pytest.raises(NoIdentity):
        caller_identity(FORGED, _context(TCB_SOURCE="wx_client", WX_OPENID=""), environ={})


def test_an_empty_context_key_does_not_fall_through_to_a_warm_instances_environment():
    stale = {"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": MALLORY}  # left by an earlier call on this instance
    with pytest.raises(NoIdentity):
        caller_identity({}, _context(WX_OPENID="", WX_CONTEXT_KEYS="WX_OPENID"), environ=stale)


def test_tcb_context_keys_list_process_environment_keys_too():
    caller = caller_identity({}, _context(), environ={"TCB_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": ALICE})
    assert (caller.openid, caller.source) == (ALICE, "environ")


def test_context_identity_beats_a_forged_user_info():
    event = {"userInfo": {"openId": MALLORY}, "openid": MALLORY, "invitee": MALLORY}
    assert caller_identity(event, scf_context(ALICE), environ={}).openid == ALICE


def test_client_supplied_openid_fields_are_never_an_identity():
    with pytest.raises(NoIdentity):
        caller_identity({"openid": ALICE, "invitee": ALICE, "OPENID": ALICE}, scf_context(None), environ={})


def test_moments_single_page_mode_has_no_identity():
    with pytest.raises(NoIdentity) as caught:
        caller_identity({"userInfo": {"appId": "wx3c5e7a9b1d2f4a6c"}}, scf_context(None), environ={})
    assert caught.value.code == "NO_IDENTITY"


@pytest.mark.parametrize("bad", ["", "short", "has space xxxxxxxxxxxxxx", "o" * 65, "o$gt" + "x" * 24])
def test_malformed_platform_identity_is_refused(bad):
    context = {"environment": json.dumps({"WX_OPENID": bad})}
    with pytest.raises(NoIdentity):
        caller_identity({}, context, environ={})


def test_garbage_context_is_no_identity_not_a_crash():
    for context in (None, "x", {"environment": "{not json"}, {"environ": 42}, {"environment": "[]"}):
        with pytest.raises(NoIdentity):
            caller_identity({}, context, environ={})


@pytest.mark.parametrize(
    "context",
    [
        {"environment": "[" * 100000 + "]" * 100000},  # nested past the parser's recursion limit
        {"environment": json.dumps({"WX_OPENID": {"nested": ALICE}})},  # not a string where a string belongs
        {"environment": "7"},
        {"environment": "null"},
        {"environment": json.dumps("WX_OPENID=" + ALICE)},
        {"environment": " " * 10 + "{"},
        {"environment": "x" * 200000},
        {"environment": {1: ALICE, "WX_OPENID": 42}},
        {"environ": ["WX_OPENID", ALICE]},
        {"environ": "=;;=;WX_OPENID"},
        {("tuple",): "key"},
        {"environment": json.dumps({"WX_OPENID": "\ud800" * 10})},
    ],
    ids=lambda c: repr(c)[:40],
)
def test_a_malformed_platform_context_is_no_identity_never_a_crash(context):
    with pytest.raises(NoIdentity):
        caller_identity({}, context, environ={})


def test_a_malformed_context_reaches_the_caller_as_no_identity(invoke, record_share):
    response = record_share.main_handler(
        {"action": "share", "productId": "sku-1"}, {"environment": "[" * 100000, "request_id": 1}
    )
    assert response["error"]["code"] == "NO_IDENTITY"


def test_a_timer_is_trigger_src_timer_or_source_wx_trigger():
    from shared.platform.identity import timer_evidence

    assert timer_evidence(_context(TRIGGER_SRC="timer"), environ={})
    assert timer_evidence(_context(SOURCE="wx_trigger"), environ={})
    assert timer_evidence({"request_id": "r"}, environ={"TRIGGER_SRC": "timer"})  # as SCF sets it for the process


def test_a_forged_timer_from_a_mini_program_is_no_timer():
    from shared.platform.identity import timer_evidence

    assert not timer_evidence(scf_context(MALLORY), environ={"TRIGGER_SRC": "timer"})


def test_a_stale_process_environment_cannot_turn_a_real_timer_into_a_forgery():
    from shared.platform.identity import timer_evidence

    stale = {"WX_CONTEXT_KEYS": "WX_OPENID", "WX_OPENID": MALLORY, "TRIGGER_SRC": "timer"}  # a previous call's
    assert timer_evidence(_context(TRIGGER_SRC="timer"), environ=stale)
