"""Every malformed request gets a stable code and writes nothing — not a single document."""

import pytest

from tests.conftest import snapshot

CODE = "{{code}}"  # replaced by the real sharer's code, so only the bad part makes a case bad


def land(query=None, **extra):
    event = {
        "action": "land",
        "query": {"id": "sku-42", "i": CODE, "c": "chat"} if query is None else query,
        "launchScene": 1007,
    }
    event.update(extra)
    return event


def share(**fields):
    event = {"action": "share", "productId": "sku-42", "channel": "chat", "page": "pages/product/product"}
    event.update(fields)
    return event


CORPUS = [
    # --- operator injection and dotted keys ---
    ("product id is an operator object", land({"id": {"$gt": ""}, "i": CODE})),
    ("inviter is an operator object", land({"id": "sku-42", "i": {"$ne": None}})),
    ("inviter is $where", land({"id": "sku-42", "inviter": {"$where": "1"}})),
    ("share productId is $gt", share(productId={"$gt": ""})),
    ("query key starts with $", land({"id": "sku-42", "i": CODE, "$where": "x"})),
    ("top-level key starts with $", dict(land(), **{"$set": {"x": 1}})),
    ("dotted query key", land({"id": "sku-42", "i": CODE, "a.b": "1"})),
    ("dotted top-level key", dict(land(), **{"binding.inviter": "x"})),
    ("nested operator deep in extra data", land(extra={"a": {"b": {"$inc": 1}}})),
    ("empty key", land({"id": "sku-42", "i": CODE, "": "x"})),
    # --- types ---
    ("event is a list", ["land"]),
    ("event is a string", "land"),
    ("query is a string", land("id=sku-42&i=x")),
    ("query is a list", land([["id", "sku-42"]])),
    ("inviter is a number", land({"id": "sku-42", "i": 123456})),
    ("product id is a number", land({"id": 42, "i": CODE})),
    ("product id is a list", land({"id": ["sku-42"], "i": CODE})),
    ("product id is a boolean", land({"id": True, "i": CODE})),
    ("share productId missing", share(productId=None)),
    ("share productId is a float", share(productId=4.2)),
    ("share productId is a boolean", share(productId=True)),
    ("share productId spelled productID", dict(share(productId=None), productID="sku-42")),
    ("share channel spelled Channel", dict(share(), Channel="poster")),
    ("land query spelled Query", {"action": "land", "Query": {"id": "sku-42", "i": CODE}}),
    ("launchScene is a string", land(launchScene="1007")),
    ("launchScene is a float", land(launchScene=1007.5)),
    ("launchScene is a boolean", land(launchScene=True)),
    ("launchScene out of range", land(launchScene=-1)),
    ("page is a number", land(page=12)),
    # --- shapes and lengths ---
    ("product id over 64 chars", land({"id": "p" * 65, "i": CODE})),
    ("share productId over 64 chars", share(productId="p" * 65)),
    ("product id with a space", land({"id": "sku 42", "i": CODE})),
    ("product id with Chinese", land({"id": "商品42", "i": CODE})),
    ("product id with slash", land({"id": "sku/42", "i": CODE})),
    ("product id with ampersand", land({"id": "sku&42", "i": CODE})),
    ("inviter with quote", land({"id": "sku-42", "i": "ab'cd1"})),
    ("control character in a value", land({"id": "sku-42\n", "i": CODE})),
    ("NUL in a value", land({"id": "sku\x0042", "i": CODE})),
    ("lone surrogate in a value", land({"id": "sku\ud800", "i": CODE})),
    ("lone surrogate in extra data", land(extra="\udfff")),
    ("lone surrogate in a key", land({"id": "sku-42", "i": CODE, "\ud83d": "x"})),
    ("lone surrogate in a channel", share(channel="chat\ud800")),
    ("control character in page", land(page="pages/a\tb")),
    ("bad percent escape in a value", land({"id": "sku%4", "i": CODE})),
    ("conflicting inviter keys", land({"id": "sku-42", "i": CODE, "inviter": "Zz9Yy8"})),
    ("inviter without product", land({"i": CODE})),
    ("landing channel with a dot", land({"id": "sku-42", "i": CODE, "c": "sms.1"})),
    ("landing channel with a tilde", land({"id": "sku-42", "i": CODE, "channel": "share~"})),
    ("landing channel over 24 chars", land({"id": "sku-42", "i": CODE, "c": "c" * 25})),
    ("unknown action", land(action="delete")),
    ("share channel with a space", share(channel="wei bo")),
    ("share channel with Chinese", share(channel="朋友圈")),
    ("share channel over 24 chars", share(channel="c" * 25)),
    ("share channel is a number", share(channel=7)),
    ("share page with a query", share(page="pages/product/product?id=1")),
    ("share page with spaces", share(page="pages/pro duct")),
    ("share page is empty", share(page="")),
    ("very long string", land(extra="x" * 5000)),
    ("nested too deeply", land(extra={"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}})),
    # --- scenes ---
    ("scene over 32 chars", land({"scene": "1p" + "A" * 8 + "." + "p" * 30})),
    ("scene with unknown version", land({"scene": "9pAb3dE9.sku-42"})),
    ("scene is a number", land({"scene": 123456})),
    ("scene with ampersand junk", land({"scene": "i=x&p"})),
    ("scene with Chinese", land({"scene": "1p商品.sku"})),
    ("scene percent-encoded garbage", land({"scene": "%E5%95%86"})),
]


@pytest.mark.parametrize("case,event", CORPUS, ids=[c for c, _ in CORPUS])
def test_bad_input_is_rejected_and_nothing_is_written(invoke, sharer_code, database, case, event):
    code = sharer_code("alice")
    event = _with_code(event, code)
    before = snapshot(database)
    response = invoke(event, as_user="bob")
    assert response["ok"] is False, case
    assert response["error"]["code"] == "BAD_INPUT", response
    assert response["error"]["message"]
    assert snapshot(database) == before


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 40


def test_corpus_cases_are_bad_only_because_of_their_bad_part(invoke, sharer_code):
    """Control: the base landing and share used by the corpus are accepted."""
    code = sharer_code("alice")
    assert invoke(_with_code(land(), code), as_user="bob")["ok"]
    assert invoke(share(), as_user="bob")["ok"]


def _with_code(value, code):
    if isinstance(value, str):
        return value.replace(CODE, code)
    if isinstance(value, dict):
        return {k: _with_code(v, code) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_code(v, code) for v in value]
    return value
