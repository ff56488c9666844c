"""recordShare scenarios through main_handler, with realistic SCF events and contexts."""

import datetime as dt

import pytest

from shared.platform import db, instance
from shared.platform.clock import FixedClock
from shared.sharing.scene import ShareClaim, encode_scene
from shared.sharing.service import share_service
from shared.sharing.use_cases import scene_for
from tests.conftest import load_event, openid_for, snapshot


def test_sharer_gets_a_short_code_and_ready_share_paths(invoke, database):
    response = invoke(load_event("share_chat.json", openid=openid_for("alice")), as_user="alice")
    code = response["inviterCode"]
    assert response["ok"] and 6 <= len(code) <= 8 and code.isalnum()
    assert response["path"] == f"/pages/product/product?id=sku-42&i={code}&c=chat"
    assert response["query"] == f"id=sku-42&i={code}&c=chat"
    assert openid_for("alice") not in response["path"]
    intents = list(database.share_intents.find({}, {"_id": 0}))
    assert [(i["sharer"], i["productId"], i["channel"]) for i in intents] == [(code, "sku-42", "chat")]


def test_sharer_keeps_the_same_code_across_shares(invoke, sharer_code, database):
    first = sharer_code("alice")
    second = invoke({"action": "share", "productId": "sku-7", "channel": "timeline"}, as_user="alice")
    assert second["inviterCode"] == first
    assert second["path"] == f"/pages/product/product?id=sku-7&i={first}&c=timeline"
    assert database.share_intents.count_documents({"sharer": first}) == 2


def test_share_page_leading_slash_is_normalised(invoke):
    response = invoke(
        {"action": "share", "productId": "sku-1", "channel": "poster", "page": "/pages/item/item"}, as_user="al"
    )
    assert response["path"].startswith("/pages/item/item?id=sku-1&")


def test_first_landing_from_a_share_link_is_recorded_and_attributed(invoke, sharer_code, database):
    code = sharer_code("alice")
    response = invoke(load_event("land_share_link.json", inviter=code, openid=openid_for("bob")), as_user="bob")
    assert response == {
        "ok": True,
        "recorded": True,
        "duplicate": False,
        "newUser": True,
        "attributedTo": code,
        "channel": "chat",
        "entry": "chat",
        "productId": "sku-42",
        "group": None,
        "relationship": "bound",  # a new user is bound by their first landing (BIND_WHO=new, the default)
    }
    record = database.share_events.find_one({})
    assert (record["inviter"], record["invitee"], record["productId"]) == (code, openid_for("bob"), "sku-42")
    assert record["newUser"] is True and record["launchScene"] == 1007 and record["enteredAt"].tzinfo
    user = database.users.find_one({"_id": openid_for("bob")})
    assert user["binding"]["inviter"] == code and user["binding"]["productId"] == "sku-42"


def test_second_landing_is_a_duplicate(invoke, sharer_code, database):
    code = sharer_code("alice")
    event = load_event("land_share_link.json", inviter=code, openid=openid_for("bob"))
    invoke(event, as_user="bob")
    again = invoke(event, as_user="bob")
    assert again["ok"] and again["recorded"] is False and again["duplicate"] is True
    assert again["newUser"] is False and again["attributedTo"] == code
    assert database.share_events.count_documents({}) == 1


def test_seed_long_query_keys_are_accepted(invoke, sharer_code):
    code = sharer_code("alice")
    response = invoke(load_event("land_seed_link.json", inviter=code, openid=openid_for("bob")), as_user="bob")
    assert response["recorded"] and response["entry"] == "group" and response["channel"] == "chat"


@pytest.mark.parametrize(
    "scene_of",
    [
        lambda code: encode_scene(code, "sku-42", "poster"),
        lambda code: f"i={code}&p=sku-42",
        lambda code: f"i%3D{code}%26p%3Dsku-42",
    ],
    ids=["ours", "seed-legacy", "seed-legacy-url-encoded"],
)
def test_scanned_code_landing_is_recorded(invoke, sharer_code, database, scene_of):
    code = sharer_code("alice")
    response = invoke(
        load_event("land_scanned_code.json", scene=scene_of(code), openid=openid_for("carol")), as_user="carol"
    )
    assert response["recorded"] and response["entry"] == "scan" and response["attributedTo"] == code
    assert database.share_events.find_one({})["productId"] == "sku-42"


def test_long_product_id_scene_uses_a_stored_token_that_lands(invoke, sharer_code, database):
    code = sharer_code("alice")
    claim = ShareClaim(code, "a-very-long-product-identifier-0042", "poster", "inline")
    scene = scene_for(share_service().store, FixedClock(dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)), claim)
    assert len(scene) <= 32 and scene.startswith("2")
    assert (
        scene_for(share_service().store, FixedClock(dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)), claim) == scene
    )
    response = invoke(load_event("land_scanned_code.json", scene=scene, openid=openid_for("dave")), as_user="dave")
    assert response["recorded"] and response["channel"] == "poster"
    assert database.share_events.find_one({})["productId"] == "a-very-long-product-identifier-0042"


def test_unknown_scene_token_is_bad_input_and_writes_nothing(invoke, sharer_code, database):
    sharer_code("alice")
    before = snapshot(database)
    response = invoke(
        load_event("land_scanned_code.json", scene="2AAAAAAAAAA", openid=openid_for("dave")), as_user="dave"
    )
    assert response["error"]["code"] == "BAD_INPUT" and response["error"]["reason"] == "unknown_token"
    assert snapshot(database) == before


def test_self_invite_is_not_recorded(invoke, sharer_code, database):
    code = sharer_code("alice")
    response = invoke(load_event("land_share_link.json", inviter=code, openid=openid_for("alice")), as_user="alice")
    assert response["ok"] and response["recorded"] is False and response["reason"] == "self_invite"
    assert database.share_events.count_documents({}) == 0


def test_organic_visitor_is_registered_and_not_new_when_invited_later(invoke, sharer_code, database):
    organic = invoke(load_event("land_organic.json", openid=openid_for("erin")), as_user="erin")
    assert organic == {
        "ok": True,
        "recorded": False,
        "duplicate": False,
        "newUser": True,
        "attributedTo": None,
        "channel": None,
        "entry": "other",
        "reason": "no_inviter",
    }
    again = invoke(load_event("land_organic.json", openid=openid_for("erin")), as_user="erin")
    assert again["newUser"] is False  # newUser answers "is this person new?": only the first sighting is
    code = sharer_code("alice")
    invited = invoke(load_event("land_share_link.json", inviter=code, openid=openid_for("erin")), as_user="erin")
    assert invited["recorded"] is True and invited["newUser"] is False and invited["attributedTo"] is None
    assert database.share_events.find_one({})["newUser"] is False


def test_first_touch_keeps_the_first_inviter(invoke, sharer_code, database):
    alice, bob = sharer_code("alice"), sharer_code("bob")
    invoke(load_event("land_share_link.json", inviter=alice, openid=openid_for("fay")), as_user="fay")
    second = invoke(load_event("land_share_link.json", inviter=bob, openid=openid_for("fay")), as_user="fay")
    assert second["recorded"] is True and second["newUser"] is False and second["attributedTo"] == alice
    assert database.share_events.count_documents({}) == 2


def test_same_inviter_other_product_is_a_separate_landing(invoke, sharer_code, database):
    code = sharer_code("alice")
    invoke(load_event("land_share_link.json", inviter=code, openid=openid_for("gus")), as_user="gus")
    other = invoke({"query": {"id": "sku-7", "i": code}, "launchScene": 1007}, as_user="gus")
    assert other["recorded"] is True and other["newUser"] is False and other["channel"] is None


def test_unknown_inviter_writes_nothing(invoke, database):
    before = snapshot(database)
    response = invoke(load_event("land_share_link.json", inviter="Zz9Yy8", openid=openid_for("hal")), as_user="hal")
    assert response["ok"] is False and response["error"]["code"] == "UNKNOWN_INVITER"
    assert snapshot(database) == before


def test_moments_single_page_mode_has_no_identity_and_writes_nothing(record_share, sharer_code, database):
    from tests.conftest import scf_context

    code = sharer_code("alice")
    before = snapshot(database)
    response = record_share.main_handler(load_event("land_moments_single_page.json", inviter=code), scf_context(None))
    assert response["error"]["code"] == "NO_IDENTITY"
    assert snapshot(database) == before


def test_forged_invitee_in_client_data_is_ignored(invoke, sharer_code, database):
    code = sharer_code("alice")
    event = load_event("land_share_link.json", inviter=code, openid=openid_for("ivy"))
    event.update(
        {"openid": openid_for("victim"), "invitee": openid_for("victim"), "userInfo": {"openId": openid_for("victim")}}
    )
    assert invoke(event, as_user="ivy")["recorded"]
    assert database.share_events.find_one({})["invitee"] == openid_for("ivy")
    assert database.users.find_one({"_id": openid_for("victim")}) is None


@pytest.mark.parametrize(
    "launch_scene,entry",
    [
        (1007, "chat"),
        (1008, "group"),
        (1044, "group"),
        (1047, "scan"),
        (1048, "scan"),
        (1049, "scan"),
        (1155, "timeline"),
        (1001, "other"),
        (None, "other"),
    ],
)
def test_entry_is_derived_from_the_launch_scene(invoke, sharer_code, launch_scene, entry):
    code = sharer_code("alice")
    event = {"query": {"id": "sku-42", "i": code}}
    if launch_scene is not None:
        event["launchScene"] = launch_scene
    assert invoke(event, as_user="jon")["entry"] == entry


def test_store_outage_is_unavailable_and_retryable(record_share, monkeypatch):
    """A real pymongo client aimed at a closed port: the driver's own error, wrapped."""
    from shared.platform import config
    from tests.conftest import scf_context

    monkeypatch.setenv("DATABASE", "mongodb")
    monkeypatch.setenv("MONGODB_URI", "mongodb://127.0.0.1:9/?directConnection=true")
    monkeypatch.setenv("MONGODB_TIMEOUT_MS", "200")
    config.reset()
    db.reset()
    instance.reset()
    try:
        response = record_share.main_handler({"action": "share", "productId": "sku-1"}, scf_context(openid_for("kim")))
        assert response["ok"] is False
        assert response["error"]["code"] == "UNAVAILABLE" and response["error"]["retryable"] is True
    finally:
        monkeypatch.undo()
        config.reset()
        db.reset()
        instance.reset()
