"""genWxacode through main_handler, against the WeChat emulator over real HTTP."""

import pytest

from shared.platform.admin import make_admin_token
from tests.conftest import ADMIN_SECRET, gen_wxacode_handler, openid_for, snapshot


@pytest.fixture(scope="module")
def gen_module(emulator):
    with gen_wxacode_handler(emulator) as module:
        yield module


def test_sharer_gets_a_code_image_stored_in_cloudbase(gen, emulator, database):
    response = gen({"productId": "sku-42", "page": "/pages/product/product"}, as_user="alice")
    assert response["ok"] and response["cached"] is False, response
    code = database.users.find_one({"_id": openid_for("alice")})["code"]
    assert response["scene"] == f"1p{code}.sku-42" and response["page"] == "pages/product/product"
    assert response["fileID"].startswith(f"cloud://{emulator.tcb_env}.") and response["contentType"] == "image/jpeg"
    stored = next(iter(emulator.files.values()))
    assert stored[:3] == b"\xff\xd8\xff"
    assert emulator.calls["getwxacodeunlimit"] == 1 and emulator.calls["cos_post"] == 1


def test_cache_hit_makes_no_wechat_call_and_no_upload(gen, emulator):
    first = gen({"productId": "sku-42"}, as_user="alice")
    emulator.calls.clear()
    second = gen({"productId": "sku-42"}, as_user="alice")
    assert second["cached"] is True and second["fileID"] == first["fileID"]
    assert (
        emulator.calls["getwxacodeunlimit"] == 0
        and emulator.calls["uploadfile"] == 0
        and emulator.calls["cos_post"] == 0
    )


def test_hyaline_codes_are_png_despite_the_jpeg_content_type(gen, emulator):
    response = gen({"productId": "sku-42", "isHyaline": True}, as_user="alice")
    assert response["contentType"] == "image/png" and response["fileID"].endswith(".png")
    assert next(iter(emulator.files.values()))[:8] == b"\x89PNG\r\n\x1a\n"


def test_expired_token_costs_one_refresh(gen, emulator):
    gen({"productId": "sku-1"}, as_user="alice")
    emulator.expire_token()
    emulator.calls.clear()
    response = gen({"productId": "sku-2"}, as_user="alice")
    assert response["ok"]
    assert emulator.calls["stable_token"] == 1 and emulator.forced_refreshes == 0


def test_system_errors_are_retried(gen, emulator):
    emulator.fail_next("system_error", 2)
    emulator.fail_next("http_500", 1)
    assert gen({"productId": "sku-1"}, as_user="alice")["ok"]


def test_rate_limit_is_a_retryable_error_and_leaves_no_record(gen, emulator, database):
    emulator.fail_next("rate_limited")
    response = gen({"productId": "sku-1"}, as_user="alice")
    assert response["error"]["code"] == "RATE_LIMITED" and response["error"]["retryable"] is True
    assert database.wxacodes.count_documents({}) == 0


def test_storage_failure_leaves_no_cache_record(gen, emulator, database):
    emulator.fail_next("storage_500")
    response = gen({"productId": "sku-1"}, as_user="alice")
    assert response["error"]["code"] == "STORAGE_UNAVAILABLE"
    assert database.wxacodes.count_documents({}) == 0
    assert gen({"productId": "sku-1"}, as_user="alice")["cached"] is False  # a retry generates it


def test_unpublished_page_is_bad_page(gen, emulator):
    response = gen({"productId": "sku-1", "page": "pages/new/new"}, as_user="alice")
    assert response["error"]["code"] == "BAD_PAGE" and "check" in response["error"]["message"].lower()
    assert gen(
        {"productId": "sku-1", "page": "pages/new/new", "checkPath": False, "envVersion": "develop"}, as_user="alice"
    )["ok"]


def test_code_for_another_inviter_is_forbidden_for_ordinary_users(gen, emulator, database):
    gen({"productId": "sku-1"}, as_user="alice")
    alice = database.users.find_one({"_id": openid_for("alice")})["code"]
    emulator.calls.clear()
    before = snapshot(database)
    response = gen({"productId": "sku-9", "inviter": alice}, as_user="mallory")
    assert response["error"]["code"] == "FORBIDDEN"
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0


def test_admins_may_draw_codes_for_other_inviters(gen, database):
    gen({"productId": "sku-1"}, as_user="alice")
    alice = database.users.find_one({"_id": openid_for("alice")})["code"]
    by_openid = gen({"productId": "sku-9", "inviter": alice}, as_user="admin")
    assert by_openid["ok"] and by_openid["scene"] == f"1p{alice}.sku-9"
    by_token = gen({"productId": "sku-8", "inviter": alice, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])})
    assert by_token["ok"]
    forged = gen({"productId": "sku-7", "inviter": alice, "adminToken": make_admin_token("x" * 40, ["operate"])})
    assert forged["error"]["code"] == "FORBIDDEN"


BAD = [
    ("page with a query", {"productId": "sku-1", "page": "pages/product/product?id=1"}),
    ("width 100", {"productId": "sku-1", "width": 100}),
    ("width as string", {"productId": "sku-1", "width": "430"}),
    ("float product", {"productId": 4.2}),
    ("boolean product", {"productId": True}),
    ("missing product", {"page": "pages/product/product"}),
    ("productID spelled in another case", {"productID": "sku-1"}),
    ("campaign channel with a dot", {"productId": "sku-1", "channel": "spring.sale"}),
    ("lone surrogate in the product", {"productId": "sku\ud800"}),
    ("lone surrogate in the page", {"productId": "sku-1", "page": "pages/\udfff"}),
    ("operator product", {"productId": {"$gt": ""}}),
    ("dollar key", {"productId": "sku-1", "$where": "1"}),
    ("unknown envVersion", {"productId": "sku-1", "envVersion": "beta"}),
    ("bad lineColor", {"productId": "sku-1", "lineColor": {"r": 300, "g": 0, "b": 0}}),
    ("isHyaline not bool", {"productId": "sku-1", "isHyaline": "yes"}),
    ("non-string inviter", {"productId": "sku-1", "inviter": 7}),
]


@pytest.mark.parametrize("case,event", BAD, ids=[c for c, _ in BAD])
def test_bad_input_is_rejected_without_writes_or_wechat_calls(gen, emulator, database, case, event):
    before = snapshot(database)
    response = gen(event, as_user="alice")
    assert response["error"]["code"] == "BAD_INPUT", response
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0


@pytest.mark.parametrize(
    "token",
    ["\ud800.\udc00", "é.x", "токен.подпись", "\x00" * 3, "a" * 600, 12, None, ["x"], "eyJ.\ud83d", "%%%.%%%"],
    ids=repr,
)
def test_any_admin_token_that_is_not_ours_is_forbidden_never_internal(gen, emulator, database, token):
    before = snapshot(database)
    response = gen({"productId": "sku-1", "inviter": "Zz9Yy8", "adminToken": token})
    # control characters and lone surrogates are BAD_INPUT at the boundary; any other text is simply not admin
    assert response["error"]["code"] in ("FORBIDDEN", "BAD_INPUT"), response
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0


def test_a_numeric_product_and_a_campaign_channel_get_a_token_scene(gen, emulator, database):
    response = gen({"productId": 42, "channel": "Poster_Spring"}, as_user="alice")
    assert response["ok"] and response["scene"].startswith("2") and len(response["scene"]) == 11
    token = database.scene_tokens.find_one({})
    assert token["productId"] == "42" and token["channel"] == "poster_spring"
    assert database.share_intents.find_one({})["channel"] == "poster_spring"


def test_a_sharers_own_poster_code_is_a_share_intent(gen, emulator, database):
    gen({"productId": "sku-42"}, as_user="alice")
    gen({"productId": "sku-42"}, as_user="alice")  # fetched again from the cache: shown again, shared again
    code = database.users.find_one({"_id": openid_for("alice")})["code"]
    intents = list(database.share_intents.find({}, {"_id": 0, "at": 0}))
    assert (
        intents
        == [
            {
                "sharer": code,
                "sharerOpenid": openid_for("alice"),
                "productId": "sku-42",
                "channel": "poster",
                "page": "pages/product/product",
                "source": "genWxacode",
            }
        ]
        * 2
    )
    gen({"productId": "sku-9", "inviter": code}, as_user="admin")  # an admin's code for alice is not alice sharing
    emulator.fail_next("rate_limited")
    assert gen({"productId": "sku-10"}, as_user="alice")["ok"] is False  # no code, no intent
    assert database.share_intents.count_documents({}) == 2


def test_a_persistent_wechat_outage_costs_a_bounded_number_of_requests(gen, emulator, database):
    emulator.fail_next("system_error", 2)
    emulator.fail_next("http_500", 10)  # -1 and 5xx share one retry loop: 4 attempts in all, not 4 × 4
    response = gen({"productId": "sku-1"}, as_user="alice")
    assert response["error"]["code"] == "WECHAT_UNAVAILABLE" and response["error"]["retryable"] is True
    assert emulator.calls["getwxacodeunlimit"] == 4 and database.wxacodes.count_documents({}) == 0
