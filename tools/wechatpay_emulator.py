"""An emulator of WeChat Pay API v3's 商家转账 (user-confirmation mode) on 127.0.0.1, for tests and the demo.

It checks what WeChat Pay checks and answers as it answers (../shared/docs/distribution.md §B1):

* every request's ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,serial_no=…``
  — the signature over ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nBODY\\n`` verified with the merchant's public key, the
  timestamp within 5 minutes, the merchant id and certificate serial its own — else ``401 SIGN_ERROR``;
* every answer signed with the platform key in public-key mode (``Wechatpay-Serial: PUB_KEY_ID_…``,
  ``Wechatpay-Signature`` over ``TIMESTAMP\\nNONCE\\nBODY\\n``), so ``wechatpayv3`` verifies it as it would WeChat's;
* ``POST /v3/fund-app/mch-transfer/transfer-bills`` — the fields of the 2025 API (scene 1000's report infos
  活动名称 + 奖励说明 and perceptions 现金奖励 / 活动奖励; 1005's 岗位类型 + 报酬说明), at least 0.1 元, ``user_name``
  from 2 000 元; a bill starts ``WAIT_USER_CONFIRM`` with a ``package_info``. The same ``out_bill_no`` again with the
  same fields answers the bill as it is (a retry may re-enter); with other fields ``400 INVALID_REQUEST 单号已存在但信息
  不一致``;
* ``GET …/transfer-bills/out-bill-no/{no}`` (``404 NOT_FOUND`` for a bill it never made),
  ``POST …/out-bill-no/{no}/cancel`` (only before the user confirmed: ``CANCELING``, then ``CANCELLED``);
* on ``SUCCESS``, ``FAIL`` and ``CANCELLED`` a ``MCHTRANSFER.BILL.FINISHED`` callback, the bill encrypted with the
  APIv3 key (AEAD_AES_256_GCM, associated data ``mch_payment``) and signed, POSTed to the bill's ``notify_url`` —
  or to ``deliver_to`` when a test routes it to its own HTTP access gateway — and kept in ``callbacks``.

A test drives the user's side (``confirm``, ``finish``, ``fail``, ``close_unconfirmed`` — WeChat's 24 h close, ending
``FAIL`` or ``CANCELLED`` as sources differ), loses callbacks (``drop_callbacks``) and injects faults (``fail_next``):
``create_5xx`` (refused before any bill exists), ``create_5xx_after`` (the bill is made, the answer is a 500),
``create_hang`` (the bill is made, the answer comes after ``hang_s``), ``query_5xx``, ``not_enough`` (403),
``no_auth`` (403: a scene the merchant may not use).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlparse

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tools.loopback import LoopbackServer, QuietHandler

BILLS = "/v3/fund-app/mch-transfer/transfer-bills"
SCENES = {  # scene id → (its report info types, in order; the perceptions it accepts)
    "1000": (("活动名称", "奖励说明"), ("现金奖励", "活动奖励")),
    "1005": (("岗位类型", "报酬说明"), ("劳务报酬", "岗位工资", "佣金报酬")),
}
OPEN = ("ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM", "TRANSFERING", "CANCELING")
CANCELLABLE = ("ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM")
SIGNED_FIELDS = ("appid", "transfer_scene_id", "openid", "transfer_amount", "transfer_remark")
OUT_BILL_NO = re.compile(r"[0-9A-Za-z]{1,32}")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _now_text() -> str:
    return dt.datetime.now(SHANGHAI).replace(microsecond=0).isoformat()


class WeChatPayEmulator:
    def __init__(self, mchid: str = "1900000109", appid: str = "wx3c5e7a9b1d2f4a6c") -> None:
        self.mchid, self.appid = mchid, appid
        self._merchant_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._platform_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.merchant_private_key = _pem_private(self._merchant_key)  # WECHATPAY_PRIVATE_KEY
        self.merchant_serial = secrets.token_hex(20).upper()  # WECHATPAY_CERT_SERIAL
        self.platform_public_key = _pem_public(self._platform_key.public_key())  # WECHATPAY_PUBLIC_KEY
        self.public_key_id = "PUB_KEY_ID_" + secrets.token_hex(16).upper()  # WECHATPAY_PUBLIC_KEY_ID
        self.apiv3_key = secrets.token_hex(16)  # 32 characters: WECHATPAY_APIV3_KEY
        self.bills: dict[str, dict[str, Any]] = {}
        self.callbacks: list[tuple[dict[str, str], str]] = []  # every callback made: (headers, body)
        self.delivered: list[int] = []  # the HTTP status each delivery got
        self.deliver_to: str | None = None  # a test's HTTP access gateway instead of the notify_url
        self.drop_callbacks = False  # made and kept, never sent: a lost callback
        self.hang_s = 3.0
        self.calls: Counter = Counter()
        self.transfers: Counter = Counter()  # out_bill_no → how many times money moved (must stay ≤ 1)
        self._faults: dict[str, int] = defaultdict(int)
        self._lock = threading.RLock()
        self._server: LoopbackServer | None = None
        self.base_url = ""

    # --- control -------------------------------------------------------------------------------------
    def settings(self, notify_url: str = "https://pay.example.com/rewards/wechatpay") -> dict[str, str]:
        """The merchant's environment variables for the product, pointing at this emulator."""
        return {
            "WECHATPAY_MCHID": self.mchid,
            "WECHATPAY_PRIVATE_KEY": self.merchant_private_key,
            "WECHATPAY_CERT_SERIAL": self.merchant_serial,
            "WECHATPAY_APIV3_KEY": self.apiv3_key,
            "WECHATPAY_PUBLIC_KEY": self.platform_public_key,
            "WECHATPAY_PUBLIC_KEY_ID": self.public_key_id,
            "WECHATPAY_NOTIFY_URL": notify_url,
            "WECHATPAY_API_ENDPOINT": self.base_url,
        }

    def start(self, port: int = 0) -> str:
        emulator = self

        class Handler(QuietHandler):
            def do_GET(self):
                self._answer("GET")

            def do_POST(self):
                self._answer("POST")

            def _answer(self, method: str) -> None:
                status, body = emulator.handle(method, self.path, dict(self.headers), self.read_body())
                if status is None:  # a hung answer the client gave up on
                    return
                self.reply(status, body, emulator.signed_headers(body) if 200 <= status < 300 else _json_type())

        self._server = LoopbackServer(Handler, port)
        self.base_url = self._server.url
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def reset(self) -> None:
        """Forget every bill, callback, count and pending fault (between tests)."""
        with self._lock:
            self.bills.clear()
            self.callbacks.clear()
            self.delivered.clear()
            self.calls.clear()
            self.transfers.clear()
            self._faults.clear()
            self.drop_callbacks = False

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self._lock:
            self._faults[kind] += times

    def _take(self, kind: str) -> bool:
        with self._lock:
            if self._faults[kind] > 0:
                self._faults[kind] -= 1
                return True
        return False

    # The user's side and WeChat's own clock.
    def confirm(self, out_bill_no: str, finish: bool = True) -> None:
        """The user confirms in wx.requestMerchantTransfer: TRANSFERING, then SUCCESS unless ``finish`` is False."""
        with self._lock:
            bill = self.bills[out_bill_no]
            assert bill["state"] == "WAIT_USER_CONFIRM", bill["state"]
            self._move(bill, "TRANSFERING")
        if finish:
            self.finish(out_bill_no)

    def finish(self, out_bill_no: str) -> None:
        with self._lock:
            bill = self.bills[out_bill_no]
            assert bill["state"] == "TRANSFERING", bill["state"]
            self._move(bill, "SUCCESS")
            self.transfers[out_bill_no] += 1
        self._callback(out_bill_no)

    def fail(self, out_bill_no: str, reason: str = "ACCOUNT_FROZEN") -> None:
        with self._lock:
            bill = self.bills[out_bill_no]
            assert bill["state"] in OPEN, bill["state"]
            self._move(bill, "FAIL", fail_reason=reason)
        self._callback(out_bill_no)

    def close_unconfirmed(self, out_bill_no: str, end: str = "FAIL") -> None:
        """WeChat closes a bill the user did not confirm within 24 h (community: ``FAIL``; also seen: ``CANCELLED``)."""
        with self._lock:
            bill = self.bills[out_bill_no]
            assert bill["state"] == "WAIT_USER_CONFIRM", bill["state"]
            self._move(bill, end, **({"fail_reason": "TRANSFER_TIMEOUT"} if end == "FAIL" else {}))
        self._callback(out_bill_no)

    @staticmethod
    def _move(bill: dict[str, Any], state: str, **fields: Any) -> None:
        bill.update(state=state, update_time=_now_text(), **fields)
        if state not in ("WAIT_USER_CONFIRM",):
            bill.pop("package_info", None)

    # --- signatures ------------------------------------------------------------------------------------
    def signed_headers(self, body: bytes, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16).upper()
        message = f"{timestamp}\n{nonce}\n{body.decode()}\n".encode()
        signature = (key or self._platform_key).sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "Content-Type": "application/json; charset=utf-8",
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Serial": self.public_key_id,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def _merchant_signed(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """Why the request's signature is not the merchant's (None: it is)."""
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, rest = auth.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return "the Authorization scheme is not WECHATPAY2-SHA256-RSA2048"
        fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if fields.get("mchid") != self.mchid or fields.get("serial_no") != self.merchant_serial:
            return "mchid or serial_no is not this merchant's"
        try:
            if abs(time.time() - int(fields.get("timestamp", "0"))) > 300:
                return "the timestamp is more than 5 minutes away"
            message = f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n{body.decode()}\n".encode()
            self._merchant_key.public_key().verify(
                base64.b64decode(fields.get("signature", "")), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, KeyError, ValueError):
            return "the signature does not verify"
        return None

    # --- HTTP ----------------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int | None, bytes]:
        refused = self._merchant_signed(method, path, headers, body)
        if refused:
            self.calls["sign_error"] += 1
            return _error(401, "SIGN_ERROR", refused)
        url = urlparse(path)
        if method == "POST" and url.path == BILLS:
            self.calls["create"] += 1
            return self._create(body)
        match = re.fullmatch(BILLS + r"/out-bill-no/([^/]+)(/cancel)?", url.path)
        if match and method == "GET" and not match.group(2):
            self.calls["query"] += 1
            if self._take("query_5xx"):
                return _error(500, "SYSTEM_ERROR", "系统错误")
            with self._lock:
                bill = self.bills.get(match.group(1))
                return (200, _dump(_public(bill))) if bill else _error(404, "NOT_FOUND", "记录不存在")
        if match and method == "POST" and match.group(2):
            self.calls["cancel"] += 1
            return self._cancel(match.group(1))
        return _error(404, "NOT_FOUND", "no such API")

    def _create(self, body: bytes) -> tuple[int | None, bytes]:
        if self._take("create_5xx"):
            return _error(500, "SYSTEM_ERROR", "系统错误，请使用相同参数稍后重新调用")
        if self._take("not_enough"):
            return _error(403, "NOT_ENOUGH", "资金不足")
        if self._take("no_auth"):  # e.g. the scene was never approved for this merchant
            return _error(403, "NO_AUTH", "商户号未开通该转账场景")
        try:
            request = json.loads(body)
        except ValueError:
            return _error(400, "PARAM_ERROR", "body is not JSON")
        problem = self._invalid(request)
        if problem:
            return _error(400, "PARAM_ERROR", problem)
        with self._lock:
            number = request["out_bill_no"]
            bill = self.bills.get(number)
            if bill is not None:
                if any(bill["request"].get(field) != request.get(field) for field in SIGNED_FIELDS):
                    return _error(400, "INVALID_REQUEST", "单号已存在但信息不一致，请查单后比较确认")
            else:
                bill = {
                    "mch_id": self.mchid,
                    "appid": request["appid"],
                    "out_bill_no": number,
                    "transfer_bill_no": "1330" + secrets.token_hex(18)[:36],
                    "state": "WAIT_USER_CONFIRM",
                    "transfer_amount": request["transfer_amount"],
                    "transfer_remark": request["transfer_remark"],
                    "openid": request["openid"],
                    "create_time": _now_text(),
                    "update_time": _now_text(),
                    "package_info": "ABBQO+oYAAABAAAAAAB" + secrets.token_urlsafe(48),
                    "notify_url": request.get("notify_url"),
                    "request": request,
                }
                self.bills[number] = bill
            answer = {k: bill[k] for k in ("out_bill_no", "transfer_bill_no", "create_time", "state")}
            if bill["state"] == "WAIT_USER_CONFIRM":
                answer["package_info"] = bill["package_info"]
            if bill.get("fail_reason"):
                answer["fail_reason"] = bill["fail_reason"]
        if self._take("create_5xx_after"):
            return _error(500, "SYSTEM_ERROR", "系统错误，请使用相同参数稍后重新调用")
        if self._take("create_hang"):
            time.sleep(self.hang_s)  # the client has given up by now; the bill exists all the same
        return 200, _dump(answer)

    def _invalid(self, request: Any) -> str | None:
        if not isinstance(request, dict):
            return "body must be an object"
        if request.get("appid") != self.appid:
            return "appid is not bound to this merchant"
        if not isinstance(request.get("out_bill_no"), str) or not OUT_BILL_NO.fullmatch(request["out_bill_no"]):
            return "out_bill_no must be 1-32 digits and letters"
        scene = SCENES.get(str(request.get("transfer_scene_id")))
        if scene is None:
            return "transfer_scene_id is not a scene this merchant applied for"
        infos = request.get("transfer_scene_report_infos")
        if not isinstance(infos, list) or [i.get("info_type") for i in infos if isinstance(i, dict)] != list(scene[0]):
            return "需传入转账场景报备信息"
        if any(not isinstance(i.get("info_content"), str) or not 1 <= len(i["info_content"]) <= 32 for i in infos):
            return "info_content must be 1-32 characters"
        perception = request.get("user_recv_perception")
        if perception is not None and perception not in scene[1]:
            return "暂不支持展示当前传入的用户收款感知"
        amount = request.get("transfer_amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 10:
            return "transfer_amount must be whole fen, at least 10 (0.1 元)"
        if amount >= 200_000 and not request.get("user_name"):
            return "user_name is required from 2 000 元"
        remark = request.get("transfer_remark")
        if not isinstance(remark, str) or not 1 <= len(remark) <= 32:
            return "transfer_remark must be 1-32 characters"
        if not isinstance(request.get("openid"), str) or not request["openid"]:
            return "openid is required"
        notify = request.get("notify_url")
        if notify is not None and (not str(notify).startswith("https://") or "?" in str(notify)):
            return "notify_url must be HTTPS without a query string"
        return None

    def _cancel(self, number: str) -> tuple[int | None, bytes]:
        with self._lock:
            bill = self.bills.get(number)
            if bill is None:
                return _error(404, "NOT_FOUND", "记录不存在")
            if bill["state"] not in CANCELLABLE and bill["state"] not in ("CANCELING", "CANCELLED"):
                return _error(400, "INVALID_REQUEST", "当前单据状态不支持撤销")
            answer = {
                "out_bill_no": number,
                "transfer_bill_no": bill["transfer_bill_no"],
                "state": "CANCELING" if bill["state"] != "CANCELLED" else "CANCELLED",
                "update_time": _now_text(),
            }
            already = bill["state"] == "CANCELLED"
            self._move(bill, "CANCELLED")  # CANCELING is brief: queried afterwards, the bill is CANCELLED
        if not already:
            self._callback(number)
        return 200, _dump(answer)

    # --- callbacks -------------------------------------------------------------------------------------
    def notification(self, out_bill_no: str, key: rsa.RSAPrivateKey | None = None) -> tuple[dict[str, str], str]:
        """The signed, encrypted MCHTRANSFER.BILL.FINISHED notification of the bill as it is now."""
        with self._lock:
            plain = json.dumps(_public(self.bills[out_bill_no]), ensure_ascii=False).encode()
        nonce = secrets.token_hex(6)
        ciphertext = AESGCM(self.apiv3_key.encode()).encrypt(nonce.encode(), plain, b"mch_payment")
        body = json.dumps(
            {
                "id": secrets.token_hex(16),
                "create_time": _now_text(),
                "resource_type": "encrypt-resource",
                "event_type": "MCHTRANSFER.BILL.FINISHED",
                "summary": "商家转账单据终态通知",
                "resource": {
                    "original_type": "mch_payment",
                    "algorithm": "AEAD_AES_256_GCM",
                    "ciphertext": base64.b64encode(ciphertext).decode(),
                    "associated_data": "mch_payment",
                    "nonce": nonce,
                },
            },
            ensure_ascii=False,
        )
        headers = self.signed_headers(body.encode(), key)
        return headers, body

    def forged_notification(self, out_bill_no: str) -> tuple[dict[str, str], str]:
        """The same notification signed by a key that is not WeChat Pay's."""
        return self.notification(out_bill_no, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def _callback(self, out_bill_no: str) -> None:
        headers, body = self.notification(out_bill_no)
        self.callbacks.append((headers, body))
        if self.drop_callbacks:
            return
        target = self.deliver_to or self.bills[out_bill_no].get("notify_url")
        if target:
            self.delivered.append(self.post(target, headers, body))

    @staticmethod
    def post(target: str, headers: dict[str, str], body: str) -> int:
        try:
            return requests.post(target, data=body.encode(), headers=headers, timeout=30).status_code
        except requests.RequestException:
            return 0


def _public(bill: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in bill.items() if k not in ("request", "notify_url")}


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _json_type() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8"}


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, _dump({"code": code, "message": message})
