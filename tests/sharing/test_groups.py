"""Group attribution: a landing's group is read server-side from the cloudID the kit sends (WeChat emulator over
real HTTP), stored under an alias, and a landing is never lost because the group could not be read."""

import json
import time

import pytest

from tests.conftest import openid_for, record_share_handler, run_together, scf_context, snapshot


@pytest.fixture(scope="module")
def grouped(emulator):
    """recordShare configured with the app's WeChat credentials (group resolution on)."""
    with record_share_handler(emulator) as module:
        yield module


@pytest.fixture
def land(grouped, emulator, database):
    emulator.reset()

    def call(user, code, cloud_id=None, product="sku-42", **extra):
        event = {"action": "land", "query": {"id": product, "i": code, "c": "chat"}, "launchScene": 1044, **extra}
        if cloud_id is not None:
            event["groupCloudID"] = cloud_id
        return grouped.main_handler(event, scf_context(openid_for(user)))

    return call


def test_a_group_landing_is_resolved_stored_and_answered_by_alias(land, sharer_code, emulator, database, capsys):
    code = sharer_code("alice")
    cloud_id = emulator.issue_group_cloud_id(openid_for("bob"), opengid="tGroup-Raw-Id-0001", chat_type=3)
    response = land("bob", code, cloud_id, chatType=3)
    assert response["recorded"] and response["group"]["chatType"] == "group"
    alias = response["group"]["alias"]
    assert alias.startswith("g-") and "tGroup" not in json.dumps(response)
    stored = database.share_events.find_one({"invitee": openid_for("bob")})["group"]
    assert stored == {
        "alias": alias,
        "chatType": "group",
        "source": "getGroupEnterInfo",
        "openGId": "tGroup-Raw-Id-0001",
    }
    logs = capsys.readouterr().out
    assert "tGroup-Raw-Id-0001" not in logs and alias in logs and cloud_id not in logs
    assert emulator.calls["getopendata"] == 1


def test_the_same_group_always_gets_the_same_alias(land, sharer_code, emulator):
    code = sharer_code("alice")
    first = land("bob", code, emulator.issue_group_cloud_id(openid_for("bob"), opengid="tGroup-A"))
    second = land("carol", code, emulator.issue_group_cloud_id(openid_for("carol"), opengid="tGroup-A"))
    other = land("dave", code, emulator.issue_group_cloud_id(openid_for("dave"), opengid="tGroup-B"))
    assert first["group"]["alias"] == second["group"]["alias"] != other["group"]["alias"]


def test_the_old_base_librarys_get_share_info_path(land, sharer_code, emulator, database):
    code = sharer_code("alice")
    cloud_id = emulator.issue_group_cloud_id(openid_for("bob"), opengid="tGroup-Old", api="getShareInfo")
    assert land("bob", code, cloud_id)["group"]["chatType"] == "group"
    assert database.share_events.find_one({})["group"]["source"] == "getShareInfo"


def test_a_single_chat_is_a_room_not_a_group(land, sharer_code, emulator, database):
    code = sharer_code("alice")
    cloud_id = emulator.issue_group_cloud_id(openid_for("bob"), single_roomid="room-Raw-1", chat_type=1)
    response = land("bob", code, cloud_id, chatType=1)
    assert response["group"]["chatType"] == "single" and response["group"]["alias"].startswith("c-")
    assert database.share_events.find_one({})["group"]["singleRoomId"] == "room-Raw-1"


def test_json_as_an_object_is_read_as_well(land, sharer_code, emulator):
    code = sharer_code("alice")
    emulator.json_as_object = True
    try:
        response = land("bob", code, emulator.issue_group_cloud_id(openid_for("bob"), opengid="tGroup-Obj"))
    finally:
        emulator.json_as_object = False
    assert response["group"]["chatType"] == "group"


@pytest.mark.parametrize(
    "case,make,reason",
    [
        (
            "expired cloudID",
            lambda e: e.issue_group_cloud_id(openid_for("bob"), opengid="g", age_seconds=400),
            "expired",
        ),
        ("another user's cloudID", lambda e: e.issue_group_cloud_id(openid_for("mallory"), opengid="g"), "wrong_user"),
        (
            "another app's cloudID",
            lambda e: e.issue_group_cloud_id(openid_for("bob"), opengid="g", appid="wx" + "0" * 16),
            "wrong_app",
        ),
        ("a cloudID WeChat never issued", lambda e: "11_never-issued-cloud-id", "unknown_cloud_id"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_an_unresolvable_cloud_id_keeps_the_landing_without_a_group(
    land, sharer_code, emulator, database, capsys, case, make, reason
):
    code = sharer_code("alice")
    response = land("bob", code, make(emulator))
    assert response["ok"] and response["recorded"] and response["group"] is None
    assert "group" not in database.share_events.find_one({"invitee": openid_for("bob")})
    unresolved = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "group_unresolved" in line]
    assert [line["reason"] for line in unresolved] == [reason]


@pytest.mark.parametrize(
    "fault,reason",
    [
        ("opendata_500", "wechat_unavailable"),
        ("opendata_system_error", "wechat_unavailable"),
        ("opendata_garbage", "wechat_unavailable"),
    ],
)
def test_a_wechat_outage_during_resolution_keeps_the_landing(land, sharer_code, emulator, capsys, fault, reason):
    code = sharer_code("alice")
    cloud_id = emulator.issue_group_cloud_id(openid_for("bob"), opengid="g")
    emulator.fail_next(fault, times=5)
    started = time.monotonic()
    response = land("bob", code, cloud_id)
    assert response["recorded"] and response["group"] is None
    assert time.monotonic() - started < 2.0  # one attempt within recordShare's budget
    assert f'"reason":"{reason}"' in capsys.readouterr().out


def test_a_landing_without_a_cloud_id_makes_no_wechat_call(land, sharer_code, emulator):
    code = sharer_code("alice")
    response = land("bob", code)
    assert response["recorded"] and response["group"] is None and sum(emulator.calls.values()) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"cloudID": "11_x", "data": {"openGId": "forged"}},
        ["11_x"],
        42,
        True,
        "",
        "x" * 257,
        "云ID",
        "11_a b",
        "11_\u0000",
        "11_\ud800",
    ],
    ids=repr,
)
def test_a_forged_cloud_id_shape_is_bad_input_with_no_write_and_no_call(land, sharer_code, emulator, database, bad):
    code = sharer_code("alice")
    before = snapshot(database)
    response = land("bob", code, bad)
    assert response["error"]["code"] == "BAD_INPUT"
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0


def test_a_later_landing_from_another_group_is_a_duplicate_and_keeps_the_first_group(
    land, sharer_code, emulator, database
):
    code = sharer_code("alice")
    first = land("bob", code, emulator.issue_group_cloud_id(openid_for("bob"), opengid="tGroup-First"))
    later = land("bob", code, emulator.issue_group_cloud_id(openid_for("bob"), opengid="tGroup-Later"))
    assert first["recorded"] and later["duplicate"]
    assert database.share_events.count_documents({}) == 1
    assert database.share_events.find_one({})["group"]["openGId"] == "tGroup-First"


def test_concurrent_group_landings_for_the_same_key_record_once(land, sharer_code, emulator, database):
    code = sharer_code("alice")
    cloud_ids = [emulator.issue_group_cloud_id(openid_for("bob"), opengid="tGroup-Race") for _ in range(12)]
    responses = run_together(12, lambda: land("bob", code, cloud_ids.pop()))
    assert sum(r["recorded"] for r in responses) == 1 and all(r["ok"] for r in responses)
    assert database.share_events.count_documents({}) == 1


def test_without_wechat_credentials_resolution_is_off_and_the_landing_is_kept(
    invoke, sharer_code, emulator, database, capsys
):
    code = sharer_code("alice")
    emulator.reset()
    response = invoke(
        {"action": "land", "query": {"id": "sku-42", "i": code}, "groupCloudID": "11_anything"}, as_user="bob"
    )
    assert response["recorded"] and response["group"] is None and sum(emulator.calls.values()) == 0
    assert '"reason":"not_configured"' in capsys.readouterr().out
