"""The scene codec: frozen vectors (shared with the mini program kit), properties, and a fuzz."""

import json
import pathlib
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.platform.errors import BadInput, BadScene
from shared.sharing.links import claim_from_query
from shared.sharing.scene import (
    MAX_SCENE_LENGTH,
    SCENE_CHARSET,
    SceneToken,
    SceneTooLong,
    ShareClaim,
    decode_scene,
    encode_scene,
    encode_token_scene,
)

VECTORS = json.loads((pathlib.Path(__file__).parents[1] / "vectors" / "scene.json").read_text(encoding="utf-8"))


def as_vector(decoded):
    if isinstance(decoded, SceneToken):
        return {"kind": "token", "token": decoded.token}
    return {
        "kind": "claim",
        "inviter": decoded.inviter,
        "productId": decoded.product_id,
        "channel": decoded.channel,
        "form": decoded.form,
    }


@pytest.mark.parametrize("vector", VECTORS["encode"], ids=lambda v: v["scene"])
def test_encoding_matches_frozen_vector(vector):
    assert encode_scene(vector["inviter"], vector["productId"], vector["channel"]) == vector["scene"]


@pytest.mark.parametrize("vector", VECTORS["encodeTooLong"], ids=lambda v: v["productId"])
def test_payload_over_32_characters_asks_for_a_token(vector):
    with pytest.raises(SceneTooLong):
        encode_scene(vector["inviter"], vector["productId"], vector["channel"])


@pytest.mark.parametrize("vector", VECTORS["encodeNeedsToken"], ids=lambda v: v["channel"])
def test_a_campaign_channel_has_no_inline_letter_and_asks_for_a_token(vector):
    with pytest.raises(SceneTooLong):
        encode_scene(vector["inviter"], vector["productId"], vector["channel"])


@pytest.mark.parametrize("vector", VECTORS["links"], ids=lambda v: json.dumps(v["query"]))
def test_share_link_matches_the_shared_vector(vector):
    expected = vector["expect"]
    if expected["kind"] == "error":
        with pytest.raises(BadInput):
            claim_from_query(vector["query"])
    elif expected["kind"] == "organic":
        assert claim_from_query(vector["query"]) is None
    else:
        assert as_vector(claim_from_query(vector["query"])) == expected


@pytest.mark.parametrize("vector", VECTORS["decode"], ids=lambda v: repr(v["input"]))
def test_decoding_matches_frozen_vector(vector):
    expected = vector["expect"]
    if expected["kind"] == "error":
        with pytest.raises(BadScene) as caught:
            decode_scene(vector["input"])
        assert caught.value.reason == expected["reason"]
        assert caught.value.code == "BAD_INPUT"
    else:
        assert as_vector(decode_scene(vector["input"])) == expected


def test_token_scene_round_trips():
    assert decode_scene(encode_token_scene("Q7wErTy12a")) == SceneToken("Q7wErTy12a")


base62 = st.text(alphabet=string.digits + string.ascii_letters, min_size=6, max_size=8)
product_ids = st.text(alphabet=string.ascii_letters + string.digits + "._~-", min_size=1, max_size=64)
channels = st.sampled_from(["chat", "timeline", "poster", None])


@settings(max_examples=2000, deadline=None)
@given(base62, product_ids, channels)
def test_every_encoded_scene_is_short_unreserved_and_decodes_back(inviter, product, channel):
    try:
        scene = encode_scene(inviter, product, channel)
    except SceneTooLong:
        assert 2 + len(inviter) + 1 + len(product) > MAX_SCENE_LENGTH
        return
    assert len(scene) <= MAX_SCENE_LENGTH
    assert set(scene) <= SCENE_CHARSET
    assert decode_scene(scene) == ShareClaim(inviter, product, channel, "inline")


def _canonical_or_rejected(value):
    try:
        decoded = decode_scene(value)
    except BadScene as exc:
        assert exc.reason
        return
    if isinstance(decoded, SceneToken):
        assert len(decoded.token) == 10 and decoded.token.isalnum()
        return
    # Whatever is accepted is made only of unreserved characters: safe as ids and in queries.
    assert set(decoded.inviter) <= SCENE_CHARSET and set(decoded.product_id) <= SCENE_CHARSET
    assert decoded.channel in ("chat", "timeline", "poster", None)
    if decoded.form == "inline":
        # Strict and canonical: whatever we accept re-encodes to the (percent-decoded) input.
        from urllib.parse import unquote

        assert encode_scene(decoded.inviter, decoded.product_id, decoded.channel) == unquote(value)


@settings(max_examples=10000, deadline=None)
@given(st.text(max_size=80))
def test_decoder_raises_only_bad_scene_for_arbitrary_text(value):
    _canonical_or_rejected(value)


scene_like = st.text(alphabet="12xcpt.%=&_~-iAbZ09E\n ", max_size=40)


@settings(max_examples=10000, deadline=None)
@given(scene_like)
def test_decoder_raises_only_bad_scene_for_near_miss_scenes(value):
    _canonical_or_rejected(value)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text()), st.dictionaries(st.text(), st.text())
    )
)
def test_decoder_rejects_non_strings_with_a_reason(value):
    with pytest.raises(BadScene) as caught:
        decode_scene(value)
    assert caught.value.reason == "not_a_string"
