"""WeChat Pay 商家转账 (user-confirmation mode, 2025) through ``wechatpayv3``: it signs every request, verifies every
answer and callback against WeChat Pay's public key and decrypts callbacks — none of that is written here.

The port (``PayGateway``) is what the rewards wing's payouts need: create a bill, query it, cancel it, open a
callback. The adapter wraps every foreign failure at this boundary: a timeout, a 5xx, an answer whose signature does
not verify or whose shape is unknown is ``PayUnavailable`` (what happened is not known: query the same bill number
before anything else — WeChat Pay's own rule); a definite 4xx refusal is ``PayRefused`` carrying WeChat Pay's code.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from shared.platform.errors import PayRefused, PayUnavailable

BILL_STATES = (
    "ACCEPTED",
    "PROCESSING",
    "WAIT_USER_CONFIRM",
    "TRANSFERING",
    "SUCCESS",
    "FAIL",
    "CANCELING",
    "CANCELLED",
)
CALLBACK_EVENT = "MCHTRANSFER.BILL.FINISHED"
CALLBACK_MAX_AGE_S = 300  # a callback signed longer ago than this is a replay: its timestamp is signed too


class Bill(NamedTuple):
    """A transfer bill as WeChat Pay answers it."""

    out_bill_no: str
    state: str
    transfer_bill_no: str | None = None
    package_info: str | None = None  # only while WAIT_USER_CONFIRM: what wx.requestMerchantTransfer opens
    fail_reason: str | None = None
    amount_fen: int | None = None
    openid: str | None = None


class Transfer(NamedTuple):
    """One bill to create (``out_bill_no`` is derived from the payout: a retry sends the very same request)."""

    out_bill_no: str
    openid: str
    amount_fen: int
    remark: str
    scene_id: str
    report_infos: tuple[tuple[str, str], ...]
    perception: str | None
    notify_url: str | None


class PayGateway(Protocol):
    mchid: str
    appid: str

    def create(self, transfer: Transfer) -> Bill: ...
    def query(self, out_bill_no: str) -> Bill | None: ...
    def cancel(self, out_bill_no: str) -> Bill: ...
    def open_callback(self, headers: Mapping[str, str], body: str, now_s: float | None = None) -> Bill | None: ...


def _bill(answer: Any) -> Bill:
    if not isinstance(answer, Mapping) or answer.get("state") not in BILL_STATES or not answer.get("out_bill_no"):
        raise PayUnavailable("WeChat Pay answered a bill of unknown shape")
    amount = answer.get("transfer_amount")
    return Bill(
        out_bill_no=str(answer["out_bill_no"]),
        state=str(answer["state"]),
        transfer_bill_no=answer.get("transfer_bill_no"),
        package_info=answer.get("package_info"),
        fail_reason=answer.get("fail_reason"),
        amount_fen=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        openid=answer.get("openid"),
    )


class WechatPayV3Gateway:
    """The adapter over ``wechatpayv3.WeChatPay`` in public-key mode (WECHATPAY_PUBLIC_KEY + _ID)."""

    def __init__(
        self,
        mchid: str,
        appid: str,
        private_key: str,
        cert_serial: str,
        apiv3_key: str,
        public_key: str,
        public_key_id: str,
        endpoint: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        from wechatpayv3 import WeChatPay, WeChatPayType  # the rewards package alone ships it

        self.mchid, self.appid = mchid, appid
        try:
            self._pay = WeChatPay(
                wechatpay_type=WeChatPayType.MINIPROG,
                mchid=mchid,
                private_key=private_key,
                cert_serial_no=cert_serial,
                appid=appid,
                apiv3_key=apiv3_key,
                timeout=(min(3.0, timeout_s), timeout_s),
                public_key=public_key,
                public_key_id=public_key_id,
            )
        except Exception as exc:  # the SDK raises bare Exceptions for keys it cannot load
            raise PayUnavailable(f"the WeChat Pay merchant keys do not load: {exc}") from exc
        if endpoint:
            self._pay._core._gate_way = endpoint.rstrip("/")  # the SDK's only way to another host (tests)

    def _call(self, what: str, send: Any) -> tuple[int, Any]:
        import requests

        try:
            status, text = send()
        except requests.RequestException as exc:
            raise PayUnavailable(f"WeChat Pay did not answer {what} in time") from exc
        except Exception as exc:  # the SDK's own: an answer whose signature does not verify
            raise PayUnavailable(f"WeChat Pay's answer to {what} could not be verified: {exc}") from exc
        try:
            answer = json.loads(text) if text else {}
        except (TypeError, ValueError) as exc:
            raise PayUnavailable(f"WeChat Pay answered {what} with something that is not JSON") from exc
        if status >= 500 or status == 429:
            raise PayUnavailable(f"WeChat Pay answered {what} with {status} {answer.get('code')}")
        return status, answer

    def create(self, transfer: Transfer) -> Bill:
        status, answer = self._call(
            "a transfer",
            lambda: self._pay.mch_transfer_bills(
                out_bill_no=transfer.out_bill_no,
                transfer_scene_id=transfer.scene_id,
                openid=transfer.openid,
                transfer_amount=transfer.amount_fen,
                transfer_remark=transfer.remark,
                user_recv_perception=transfer.perception,
                transfer_scene_report_infos=[
                    {"info_type": kind, "info_content": content} for kind, content in transfer.report_infos
                ],
                notify_url=transfer.notify_url,
            ),
        )
        if status == 200:
            return _bill({**answer, "transfer_amount": transfer.amount_fen})
        raise PayRefused(
            f"WeChat Pay refused the transfer: {answer.get('code')} {answer.get('message')}",
            wechatpayCode=str(answer.get("code") or status),
        )

    def query(self, out_bill_no: str) -> Bill | None:
        status, answer = self._call("a bill query", lambda: self._pay.mch_transfer_bills_query(out_bill_no=out_bill_no))
        if status == 200:
            return _bill(answer)
        if status == 404 and answer.get("code") == "NOT_FOUND":
            return None
        raise PayUnavailable(f"WeChat Pay answered a bill query with {status} {answer.get('code')}")

    def cancel(self, out_bill_no: str) -> Bill:
        status, answer = self._call("a cancellation", lambda: self._pay.mch_transfer_bills_cancel(out_bill_no))
        if status == 200:
            return _bill(answer)
        raise PayRefused(
            f"WeChat Pay refused the cancellation: {answer.get('code')} {answer.get('message')}",
            wechatpayCode=str(answer.get("code") or status),
        )

    def open_callback(self, headers: Mapping[str, str], body: str, now_s: float | None = None) -> Bill | None:
        """The bill a callback reports, or None when it is not WeChat Pay's (signature, key, event) or is stale."""
        lowered = {str(k).lower(): str(v) for k, v in headers.items()}  # CloudBase's HTTP access lowercases them
        try:
            signed_at = int(lowered.get("wechatpay-timestamp", ""))
        except ValueError:
            return None
        if abs((time.time() if now_s is None else now_s) - signed_at) > CALLBACK_MAX_AGE_S:
            return None
        try:
            opened = self._pay.callback(lowered, body)
        except Exception:  # a malformed callback: the SDK raises bare Exceptions
            return None
        if not isinstance(opened, Mapping) or opened.get("event_type") != CALLBACK_EVENT:
            return None
        try:
            return _bill(opened.get("resource"))
        except PayUnavailable:
            return None
