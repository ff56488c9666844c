"""Payout settings are validated once, at cold start, each problem naming its variable: nothing is required in the
default manual mode; scene 1000 works with its defaults; WeChat Pay's own rules (report infos per scene, perceptions,
0.1 元 minimum, no real names) and the merchant's keys are checked before any payout is tried."""

import pytest

from shared.platform.config import EnvReader
from shared.platform.errors import ConfigError
from shared.rewards.payout_settings import SCENE_1000_DEFAULTS, read_payout_settings
from shared.rewards.service import configure
from tools.wechatpay_emulator import WeChatPayEmulator

MERCHANT = WeChatPayEmulator()


def merchant(**changes):
    env = {k: v for k, v in MERCHANT.settings().items() if v}
    env.update(PAYOUT_MODE="wechatpay")
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def problems(env):
    read = EnvReader(env)
    read_payout_settings(read)
    return read.problems


def test_manual_mode_needs_nothing_and_scene_1000_works_with_its_defaults():
    read = EnvReader({})
    settings = read_payout_settings(read)
    assert read.problems == [] and settings.mode == "manual" and settings.merchant is None
    assert (settings.scene_id, settings.scene_infos, settings.perception) == ("1000", SCENE_1000_DEFAULTS, "活动奖励")
    assert (settings.min_fen, settings.max_fen, settings.daily_limit) == (100, 199_999, 1)
    read = EnvReader(merchant())
    wechatpay = read_payout_settings(read)
    assert read.problems == [] and wechatpay.merchant is not None and wechatpay.merchant.mchid == MERCHANT.mchid


BAD = [
    ("an unknown mode", {"PAYOUT_MODE": "alipay"}, "PAYOUT_MODE"),
    ("below WeChat Pay's 0.1 元", {"PAYOUT_MIN_FEN": "9"}, "PAYOUT_MIN_FEN"),
    ("a real-name amount", {"PAYOUT_MAX_FEN": "200000"}, "PAYOUT_MAX_FEN"),
    ("a maximum below the minimum", {"PAYOUT_MIN_FEN": "500", "PAYOUT_MAX_FEN": "400"}, "PAYOUT_MAX_FEN"),
    ("a scene that is not a number", {"PAYOUT_SCENE_ID": "cash"}, "PAYOUT_SCENE_ID"),
    ("scene 1005 without its infos", {"PAYOUT_SCENE_ID": "1005"}, "PAYOUT_SCENE_INFOS"),
    ("scene 1000 with other infos", {"PAYOUT_SCENE_INFOS": '{"岗位类型": "推广员"}'}, "PAYOUT_SCENE_INFOS"),
    ("infos that are not JSON", {"PAYOUT_SCENE_INFOS": "活动名称=邀请"}, "PAYOUT_SCENE_INFOS"),
    (
        "an info over 32 characters",
        {"PAYOUT_SCENE_INFOS": '{"活动名称": "' + "长" * 33 + '", "奖励说明": "x"}'},
        "PAYOUT_SCENE_INFOS",
    ),
    ("a perception scene 1000 does not show", {"PAYOUT_RECV_PERCEPTION": "劳务报酬"}, "PAYOUT_RECV_PERCEPTION"),
    ("a remark over 32 characters", {"PAYOUT_REMARK": "提" * 33}, "PAYOUT_REMARK"),
    ("a risk rank out of range", {"RISK_HOLD_RANK": "9"}, "RISK_HOLD_RANK"),
]


@pytest.mark.parametrize("case,env,variable", BAD, ids=[c for c, *_ in BAD])
def test_a_bad_payout_rule_is_named(case, env, variable):
    found = problems(env)
    assert any(variable in problem for problem in found), found


MERCHANT_BAD = [
    ("no merchant id", {"WECHATPAY_MCHID": None}, "WECHATPAY_MCHID"),
    ("a merchant id with letters", {"WECHATPAY_MCHID": "mch1900000109"}, "WECHATPAY_MCHID"),
    ("a key that is not PEM", {"WECHATPAY_PRIVATE_KEY": "secret"}, "WECHATPAY_PRIVATE_KEY"),
    (
        "a PEM that does not load",
        {"WECHATPAY_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"},
        "WECHATPAY_PRIVATE_KEY",
    ),
    ("an APIv3 key of 31 characters", {"WECHATPAY_APIV3_KEY": "k" * 31}, "WECHATPAY_APIV3_KEY"),
    ("a public key that does not load", {"WECHATPAY_PUBLIC_KEY": "not a key"}, "WECHATPAY_PUBLIC_KEY"),
    (
        "a certificate serial instead of a key id",
        {"WECHATPAY_PUBLIC_KEY_ID": "444F4864EA9B34415"},
        "WECHATPAY_PUBLIC_KEY_ID",
    ),
    ("a notify URL with a query", {"WECHATPAY_NOTIFY_URL": "https://x.example/pay?fn=rewards"}, "WECHATPAY_NOTIFY_URL"),
    ("a plain-http API host", {"WECHATPAY_API_ENDPOINT": "http://api.mch.weixin.qq.com"}, "WECHATPAY_API_ENDPOINT"),
]


@pytest.mark.parametrize("case,changes,variable", MERCHANT_BAD, ids=[c for c, *_ in MERCHANT_BAD])
def test_a_bad_merchant_setting_is_named(case, changes, variable):
    found = problems(merchant(**changes))
    assert any(variable in problem for problem in found), found


def test_wechatpay_mode_fails_the_cold_start_without_the_apps_credentials(monkeypatch):
    for key, value in merchant(REWARD_FIXED="5").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("WECHAT_APPID", raising=False)
    monkeypatch.delenv("WECHAT_APPSECRET", raising=False)
    with pytest.raises(ConfigError) as failed:
        configure()
    assert "WECHAT_APPID" in failed.value.message and "WECHAT_APPSECRET" in failed.value.message
