"""How inviters are paid, configured once and validated at cold start (distribution.md §B, §D).

``PAYOUT_MODE=manual`` (the default) keeps today's export for the operator to pay by hand; ``wechatpay`` pays into
WeChat 零钱 through WeChat Pay's 商家转账 with the user's confirmation, which needs the merchant's settings below and
the app's own ``WECHAT_APPID`` / ``WECHAT_APPSECRET`` (the bill's appid, and ``getuserriskrank`` before each transfer).
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from shared.platform.config import EnvReader

ENV_MODE = "PAYOUT_MODE"
ENV_MIN_FEN = "PAYOUT_MIN_FEN"
ENV_MAX_FEN = "PAYOUT_MAX_FEN"
ENV_DAILY_LIMIT = "PAYOUT_DAILY_LIMIT"
ENV_SCENE_ID = "PAYOUT_SCENE_ID"
ENV_SCENE_INFOS = "PAYOUT_SCENE_INFOS"
ENV_PERCEPTION = "PAYOUT_RECV_PERCEPTION"
ENV_REMARK = "PAYOUT_REMARK"
ENV_REVIEW_ABOVE_FEN = "PAYOUT_REVIEW_ABOVE_FEN"
ENV_RISK_HOLD_RANK = "RISK_HOLD_RANK"
ENV_MCHID = "WECHATPAY_MCHID"
ENV_PRIVATE_KEY = "WECHATPAY_PRIVATE_KEY"
ENV_CERT_SERIAL = "WECHATPAY_CERT_SERIAL"
ENV_APIV3_KEY = "WECHATPAY_APIV3_KEY"
ENV_PUBLIC_KEY = "WECHATPAY_PUBLIC_KEY"
ENV_PUBLIC_KEY_ID = "WECHATPAY_PUBLIC_KEY_ID"
ENV_NOTIFY_URL = "WECHATPAY_NOTIFY_URL"
ENV_API_ENDPOINT = "WECHATPAY_API_ENDPOINT"
ENV_TIMEOUT_MS = "WECHATPAY_TIMEOUT_MS"
VARIABLES = (
    ENV_MODE,
    ENV_MIN_FEN,
    ENV_MAX_FEN,
    ENV_DAILY_LIMIT,
    ENV_SCENE_ID,
    ENV_SCENE_INFOS,
    ENV_PERCEPTION,
    ENV_REMARK,
    ENV_REVIEW_ABOVE_FEN,
    ENV_RISK_HOLD_RANK,
    ENV_MCHID,
    ENV_PRIVATE_KEY,
    ENV_CERT_SERIAL,
    ENV_APIV3_KEY,
    ENV_PUBLIC_KEY,
    ENV_PUBLIC_KEY_ID,
    ENV_NOTIFY_URL,
    ENV_API_ENDPOINT,
    ENV_TIMEOUT_MS,
)
MODES = ("manual", "wechatpay")
WECHAT_MIN_FEN = 10  # WeChat Pay's own minimum: 0.1 元
REAL_NAME_FROM_FEN = 200_000  # from 2 000 元 WeChat Pay needs the receiver's real name, which we never hold
# Scene → (report info types WeChat Pay requires, in order; the perceptions it shows; defaults). Scene 1000 is from
# WeChat Pay's own scene page; 1005's infos come from implementations and a community answer, and its perceptions are
# not confirmed by an official page (distribution.md "Gaps"): they are not checked here, `make smoke` lists them.
SCENES: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "1000": (("活动名称", "奖励说明"), ("现金奖励", "活动奖励")),
    "1005": (("岗位类型", "报酬说明"), None),
}
SCENE_1000_DEFAULTS = (("活动名称", "邀请有礼"), ("奖励说明", "邀请好友下单获得的奖励"))
_MCHID = re.compile(r"[0-9]{8,12}")
_SERIAL = re.compile(r"[0-9A-Fa-f]{8,64}")


class MerchantSettings(NamedTuple):
    mchid: str
    private_key: str  # PEM, or a cloud:// file in storage (read on first use)
    cert_serial: str
    apiv3_key: str
    public_key: str
    public_key_id: str
    notify_url: str | None
    endpoint: str | None  # WECHATPAY_API_ENDPOINT: another host (the emulator)
    timeout_s: float


class PayoutSettings(NamedTuple):
    mode: str = "manual"
    min_fen: int = 100
    max_fen: int = REAL_NAME_FROM_FEN - 1
    daily_limit: int = 1
    scene_id: str = "1000"
    scene_infos: tuple[tuple[str, str], ...] = SCENE_1000_DEFAULTS
    perception: str | None = "活动奖励"
    remark: str = "邀请奖励提现"
    review_above_fen: int = 0  # 0: no amount needs a review
    risk_hold_rank: int = 3  # getuserriskrank's risk_rank (0-4) at or above which a payout waits for an admin
    merchant: MerchantSettings | None = None


def read_payout_settings(read: EnvReader) -> PayoutSettings:
    mode = read.text(ENV_MODE, "manual") or ""
    if mode not in MODES:
        read.problem(f"{ENV_MODE} must be one of {', '.join(MODES)}")
    min_fen = read.integer(ENV_MIN_FEN, 100, WECHAT_MIN_FEN, REAL_NAME_FROM_FEN - 1)
    max_fen = read.integer(ENV_MAX_FEN, REAL_NAME_FROM_FEN - 1, WECHAT_MIN_FEN, REAL_NAME_FROM_FEN - 1)
    if max_fen < min_fen:
        read.problem(f"{ENV_MAX_FEN} ({max_fen}) must be at least {ENV_MIN_FEN} ({min_fen})")
    scene_id = read.text(ENV_SCENE_ID, "1000") or ""
    if not re.fullmatch(r"[0-9]{1,36}", scene_id):
        read.problem(f"{ENV_SCENE_ID} must be WeChat Pay's numeric transfer scene id")
    infos, perception = _scene(read, scene_id)
    remark = read.text(ENV_REMARK, "邀请奖励提现") or ""
    if not 1 <= len(remark) <= 32:
        read.problem(f"{ENV_REMARK} must be 1-32 characters (the user sees it)")
    settings = PayoutSettings(
        mode=mode,
        min_fen=min_fen,
        max_fen=max_fen,
        daily_limit=read.integer(ENV_DAILY_LIMIT, 1, 1, 10),
        scene_id=scene_id,
        scene_infos=infos,
        perception=perception,
        remark=remark,
        review_above_fen=read.integer(ENV_REVIEW_ABOVE_FEN, 0, 0, REAL_NAME_FROM_FEN),
        risk_hold_rank=read.integer(ENV_RISK_HOLD_RANK, 3, 1, 5),
        merchant=_merchant(read) if mode == "wechatpay" else None,
    )
    return settings


def _scene(read: EnvReader, scene_id: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    required, perceptions = SCENES.get(scene_id, ((), None))
    raw = read.text(ENV_SCENE_INFOS)
    infos: tuple[tuple[str, str], ...] = SCENE_1000_DEFAULTS if scene_id == "1000" else ()
    if raw is not None:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if (
            not isinstance(parsed, dict)
            or not parsed
            or not all(
                isinstance(k, str) and 1 <= len(k) <= 15 and isinstance(v, str) and 1 <= len(v) <= 32
                for k, v in parsed.items()
            )
        ):
            read.problem(f'{ENV_SCENE_INFOS} must be a JSON object {{"info_type": "info_content ≤ 32 chars"}}')
            parsed = {}
        infos = tuple((kind, parsed.get(kind, "")) for kind in required) if required else tuple(parsed.items())
        if required and set(parsed) != set(required):
            read.problem(f"{ENV_SCENE_INFOS} for scene {scene_id} must name exactly {', '.join(required)}")
    elif scene_id != "1000":
        read.problem(f"{ENV_SCENE_INFOS} is required for scene {scene_id} (its report infos)")
    default = "活动奖励" if scene_id == "1000" else None
    perception = read.text(ENV_PERCEPTION, default)
    if perception is not None and perceptions is not None and perception not in perceptions:
        read.problem(f"{ENV_PERCEPTION} for scene {scene_id} must be one of {', '.join(perceptions)}")
    return infos, perception


def _merchant(read: EnvReader) -> MerchantSettings:
    def required(name: str) -> str:
        value = read.text(name)
        if not value:
            read.problem(f"{name} is required with {ENV_MODE}=wechatpay")
        return value or ""

    mchid, serial = required(ENV_MCHID), required(ENV_CERT_SERIAL)
    if mchid and not _MCHID.fullmatch(mchid):
        read.problem(f"{ENV_MCHID} must be the merchant's 8-12 digit id")
    if serial and not _SERIAL.fullmatch(serial):
        read.problem(f"{ENV_CERT_SERIAL} must be the merchant certificate's hex serial number")
    private_key = required(ENV_PRIVATE_KEY).replace("\\n", "\n")
    if private_key and not private_key.startswith("cloud://") and "PRIVATE KEY" not in private_key:
        read.problem(f"{ENV_PRIVATE_KEY} must be the merchant's PEM private key (apiclient_key.pem) or a cloud:// file")
    elif private_key.startswith("-----") and not _loads(private_key, private=True):
        read.problem(f"{ENV_PRIVATE_KEY} does not load as an RSA private key")
    apiv3 = required(ENV_APIV3_KEY)
    if apiv3 and len(apiv3.encode()) != 32:
        read.problem(f"{ENV_APIV3_KEY} must be the 32-character APIv3 key")
    public_key = required(ENV_PUBLIC_KEY).replace("\\n", "\n")
    if public_key and not _loads(public_key, private=False):
        read.problem(f"{ENV_PUBLIC_KEY} does not load as WeChat Pay's public key (pub_key.pem)")
    key_id = required(ENV_PUBLIC_KEY_ID)
    if key_id and not key_id.startswith("PUB_KEY_ID_"):
        read.problem(f"{ENV_PUBLIC_KEY_ID} must be WeChat Pay's public key id (PUB_KEY_ID_…)")
    notify = read.text(ENV_NOTIFY_URL)
    if notify is not None and (not notify.startswith("https://") or "?" in notify):
        read.problem(f"{ENV_NOTIFY_URL} must be an https URL without a query string (WeChat Pay's rule)")
    endpoint = read.endpoint(ENV_API_ENDPOINT)
    return MerchantSettings(
        mchid=mchid,
        private_key=private_key,
        cert_serial=serial,
        apiv3_key=apiv3,
        public_key=public_key,
        public_key_id=key_id,
        notify_url=notify,
        endpoint=endpoint,
        timeout_s=read.integer(ENV_TIMEOUT_MS, 5000, 500, 30000) / 1000,
    )


def _loads(pem: str, private: bool) -> bool:
    """Whether ``pem`` is a key ``wechatpayv3`` can load (it adds missing PEM armour itself)."""
    from wechatpayv3.utils import load_private_key, load_public_key

    try:
        return (load_private_key(pem) if private else load_public_key(pem)) is not None
    except Exception:  # the SDK raises bare Exceptions
        return False
