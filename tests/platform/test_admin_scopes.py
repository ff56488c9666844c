"""Admin tokens carry scopes now that one can move money: read, operate, pay. A token without the scope is FORBIDDEN
and says which scope it lacks; admins the platform names (ADMIN_OPENIDS) keep every scope; tokens of the earlier
format stop working with a clear message; anything not minted with our secret, algorithm and issuer is nobody."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from shared.platform.admin import SCOPES, admin_scopes, make_admin_token, require_scope, token_scopes
from shared.platform.errors import Forbidden
from tests.conftest import ADMIN_SECRET, configured_handler, openid_for, scf_context


def test_a_token_grants_exactly_the_scopes_it_names():
    assert token_scopes(make_admin_token(ADMIN_SECRET, ["read"]), ADMIN_SECRET) == {"read"}
    assert token_scopes(make_admin_token(ADMIN_SECRET, ["pay"]), ADMIN_SECRET) == {"pay", "read"}  # pay reads too
    assert token_scopes(make_admin_token(ADMIN_SECRET, ["operate"]), ADMIN_SECRET) == {"operate", "read"}
    with pytest.raises(ValueError):
        make_admin_token(ADMIN_SECRET, [])
    with pytest.raises(ValueError):
        make_admin_token(ADMIN_SECRET, ["admin"])


def test_expired_foreign_and_unsigned_tokens_grant_nothing():
    assert token_scopes(make_admin_token(ADMIN_SECRET, SCOPES, ttl_seconds=-1), ADMIN_SECRET) == frozenset()
    assert token_scopes(make_admin_token("y" * 40, SCOPES), ADMIN_SECRET) == frozenset()
    claims = {
        "sub": "ops",
        "scope": "pay",
        "iss": "share-funnel",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    assert token_scopes(unsigned, ADMIN_SECRET) == frozenset()
    other_issuer = jwt.encode({**claims, "iss": "someone"}, ADMIN_SECRET, algorithm="HS256")
    assert token_scopes(other_issuer, ADMIN_SECRET) == frozenset()
    assert token_scopes("not a token", ADMIN_SECRET) == frozenset()
    assert token_scopes(make_admin_token(ADMIN_SECRET, SCOPES), None) == frozenset()


def test_a_token_of_the_earlier_format_is_refused_with_the_way_forward():
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "ops", "exp": int(time.time()) + 60}).encode()).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(ADMIN_SECRET.encode(), payload, hashlib.sha256).digest()).rstrip(b"=")
    with pytest.raises(Forbidden, match="admin-token --scope"):
        token_scopes(f"{payload.decode()}.{signature.decode()}", ADMIN_SECRET)


def test_admins_named_by_the_platform_keep_every_scope():
    assert admin_scopes(openid_for("admin"), None, frozenset({openid_for("admin")}), None) == set(SCOPES)
    with pytest.raises(Forbidden) as refused:
        require_scope(None, make_admin_token(ADMIN_SECRET, ["read"]), frozenset(), ADMIN_SECRET, "pay", "a review")
    assert "pay scope" in refused.value.message and "grants read" in refused.value.message


def test_a_read_token_cannot_review_a_payout_or_settle(database):
    with configured_handler("rewards", REWARD_FIXED="5") as rewards:

        def call(event, scopes):
            event = {**event, "adminToken": make_admin_token(ADMIN_SECRET, scopes)}
            return rewards.main_handler(event, scf_context(None, function_name="rewards"))

        review = {"action": "review", "payoutId": "SF20261118ABCDEF0123456789", "decision": "approve"}
        assert call(review, ["read"])["error"] == {
            "code": "FORBIDDEN",
            "message": "review needs an admin with the pay scope (this token grants read)",
            "scope": "pay",
        }
        assert call({"action": "settle"}, ["pay"])["error"]["scope"] == "operate"
        assert call({"action": "settlement"}, ["read"])["ok"]
        assert call({"action": "export"}, ["operate"])["error"]["code"] == "FORBIDDEN"
        assert call({"action": "export"}, ["pay"])["ok"]
