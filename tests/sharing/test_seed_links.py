"""The seed tutorial's own links land: campaign-tag channels, token scenes that tell the page its product,
numeric product ids from JavaScript, and field-name mistakes that say what is wrong."""

import pytest

from tests.conftest import load_event, openid_for, snapshot


def test_the_tutorials_share_path_lands_with_its_channel(invoke, sharer_code, database):
    # /pages/product/product?id=${productId}&inviter=${inviter}&channel=share
    code = sharer_code("alice")
    response = invoke(
        load_event("land_tutorial_link.json", product="sku-42", inviter=code, openid=openid_for("bob")), as_user="bob"
    )
    assert response["recorded"] and response["channel"] == "share" and response["productId"] == "sku-42"
    assert database.share_events.find_one({})["channel"] == "share"


def test_the_tutorials_moments_query_lands_without_a_channel(invoke, sharer_code, database):
    code = sharer_code("alice")
    response = invoke(
        {"action": "land", "query": {"id": "sku-42", "inviter": code}, "launchScene": 1155}, as_user="bob"
    )
    assert response["recorded"] and response["channel"] is None and response["entry"] == "timeline"


@pytest.mark.parametrize(
    "given,stored",
    [("moments", "moments"), ("Poster_Spring", "poster_spring"), ("KOL-li", "kol-li"), ("c" * 24, "c" * 24)],
)
def test_campaign_channels_are_stored_in_one_canonical_form(invoke, sharer_code, database, given, stored):
    code = sharer_code("alice")
    shared = invoke({"action": "share", "productId": "sku-42", "channel": given}, as_user="alice")
    assert shared["channel"] == stored and shared["path"].endswith(f"&c={stored}")
    landed = invoke({"action": "land", "query": {"id": "sku-42", "i": code, "c": given}}, as_user="bob")
    assert landed["channel"] == stored
    assert {d["channel"] for d in database.share_intents.find({"sharer": code})} >= {stored}
    assert database.share_events.find_one({"invitee": openid_for("bob")})["channel"] == stored


@pytest.mark.parametrize(
    "product", ["5f8d0d55b54764421b7156c9", "d0c6f7a1e5b24c4e9d3b2a1f0e9d8c7b"], ids=["ObjectId", "CloudBase _id"]
)
def test_a_token_scene_tells_the_page_its_product_and_channel(invoke, sharer_code, database, product):
    from shared.platform.clock import SystemClock
    from shared.sharing import ShareClaim, scene_for
    from shared.sharing.service import share_service

    code = sharer_code("alice")
    scene = scene_for(share_service().store, SystemClock(), ShareClaim(code, product, "poster_spring", "inline"))
    assert scene.startswith("2") and len(scene) == 11
    response = invoke(load_event("land_scanned_code.json", scene=scene, openid=openid_for("carol")), as_user="carol")
    assert response["recorded"] and response["productId"] == product and response["channel"] == "poster_spring"


def test_a_duplicate_landing_still_names_its_product(invoke, sharer_code):
    code = sharer_code("alice")
    event = {"action": "land", "query": {"id": "sku-42", "i": code}}
    invoke(event, as_user="bob")
    again = invoke(event, as_user="bob")
    assert again["duplicate"] and again["productId"] == "sku-42"


def test_a_numeric_product_id_from_javascript_is_its_decimal_string(invoke, database):
    response = invoke({"action": "share", "productId": 42, "channel": "chat"}, as_user="alice")
    assert (
        response["ok"]
        and response["productId"] == "42"
        and response["path"].startswith("/pages/product/product?id=42&")
    )
    assert database.share_intents.find_one({})["productId"] == "42"


@pytest.mark.parametrize(
    "event,field,words",
    [
        ({"action": "share", "channel": "chat"}, "productId", "productId is required"),
        ({"action": "share", "productID": "sku-42"}, "productID", "did you mean 'productId'"),
        ({"action": "share", "productId": "sku-42", "Channel": "poster"}, "Channel", "did you mean 'channel'"),
        ({"action": "land", "Query": {"id": "sku-42"}}, "Query", "did you mean 'query'"),
    ],
    ids=["missing", "productID", "Channel", "Query"],
)
def test_a_missing_or_miscased_field_is_named(invoke, database, event, field, words):
    before = snapshot(database)
    response = invoke(event, as_user="alice")
    assert response["error"]["code"] == "BAD_INPUT" and response["error"]["field"] == field
    assert words in response["error"]["message"]
    assert snapshot(database) == before
