"""A sharer's poster profile through recordShare: what they chose with WeChat's nickname input and chooseAvatar
button (the kit uploads the avatar and sends its fileID), saved on their user document and nowhere else."""

import pytest

from tests.conftest import openid_for, record_share_handler, scf_context, snapshot, written

AVATAR = "cloud://prod-1.7465-prod-1-1250000000/share-funnel/avatars/tmp_1a2b.jpg"


def test_a_profile_is_saved_and_a_field_left_out_keeps_its_value(invoke, database):
    saved = invoke({"action": "profile", "nickname": " 小明同学 ", "avatarFileID": AVATAR}, as_user="alice")
    assert saved == {"ok": True, "nickname": "小明同学", "avatarFileID": AVATAR}
    renamed = invoke({"action": "profile", "nickname": "明明"}, as_user="alice")
    assert renamed == {"ok": True, "nickname": "明明", "avatarFileID": AVATAR}
    user = database.users.find_one({"_id": openid_for("alice")})
    assert (user["nickname"], user["avatarFileID"]) == ("明明", AVATAR) and "code" not in user


def test_a_profile_keeps_the_users_first_touch(invoke, sharer_code, database):
    code = sharer_code("alice")
    assert invoke({"action": "land", "query": {"id": "sku-42", "i": code}}, as_user="bob")["recorded"]
    before = database.users.find_one({"_id": openid_for("bob")})
    invoke({"action": "profile", "nickname": "Bob"}, as_user="bob")
    after = database.users.find_one({"_id": openid_for("bob")})
    assert after["binding"] == before["binding"] and after["firstSeenAt"] == before["firstSeenAt"]


BAD = [
    ("nothing to save", {}),
    ("empty nickname", {"nickname": "   "}),
    ("long nickname", {"nickname": "名" * 33}),
    ("two lines", {"nickname": "a\nb"}),
    ("direction override", {"nickname": "abc\u202edcba"}),
    ("nickname not text", {"nickname": 42}),
    ("avatar from the web", {"avatarFileID": "https://example.com/a.jpg"}),
    ("avatar path escape", {"avatarFileID": "cloud://prod-1.bucket/../secrets.json"}),
    ("avatar with no path", {"avatarFileID": "cloud://prod-1.bucket/"}),
    ("a field in the wrong case", {"nickname": "a", "avatarFileId": AVATAR}),
]


@pytest.mark.parametrize("case,fields", BAD, ids=[case for case, _ in BAD])
def test_bad_profiles_write_nothing(invoke, database, case, fields):
    before = snapshot(database)
    refused = invoke({"action": "profile", **fields}, as_user="alice")
    assert refused["error"]["code"] == "BAD_INPUT", refused
    assert snapshot(database) == before


def test_a_profile_needs_the_platforms_identity(invoke, database):
    before = snapshot(database)
    refused = invoke({"action": "profile", "nickname": "x"})  # no openid in the platform context
    assert refused["error"]["code"] == "NO_IDENTITY" and snapshot(database) == before


@pytest.fixture(scope="module")
def checked(emulator):
    """recordShare with WeChat configured: nicknames go through WeChat's content check (the emulator's)."""
    with record_share_handler(emulator) as module:
        yield module


@pytest.fixture
def save(checked, emulator, database):
    emulator.reset()

    def call(user, **fields):
        return checked.main_handler({"action": "profile", **fields}, scf_context(openid_for(user)))

    return call


def test_a_nickname_is_checked_with_wechat_before_it_is_saved(save, emulator, database):
    assert save("alice", nickname="小明", avatarFileID=AVATAR)["ok"]
    sent = emulator.text_checks[-1]
    assert (sent["content"], sent["openid"], sent["scene"], sent["version"]) == ("小明", openid_for("alice"), 1, 2)
    assert save("alice", avatarFileID=AVATAR)["ok"] and len(emulator.text_checks) == 1  # no nickname, no check


def test_a_risky_nickname_is_refused_and_nothing_is_written(save, emulator, database, capsys):
    before = written(database)
    refused = save("mallory", nickname="卖违禁品", avatarFileID=AVATAR)
    assert refused["error"]["code"] == "CONTENT_REJECTED" and written(database) == before
    assert "违禁" not in capsys.readouterr().out  # the text is never logged


def test_the_content_check_down_writes_nothing_and_says_retry(save, emulator, database):
    emulator.fail_next("sec_check_system_error", 5)
    before = written(database)
    refused = save("alice", nickname="小明")
    assert refused["error"]["code"] == "WECHAT_UNAVAILABLE" and refused["error"]["retryable"] is True
    assert written(database) == before
