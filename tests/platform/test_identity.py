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


def test_event_user_info_is_the_last_resort():
    event = {"userInfo": {"appId": "wx3c5e7a9b1d2f4a6c", "openId": ALICE}}
    assert caller_identity(event, scf_context(None, architecture="none"), environ={}).source == "event.userInfo"


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
