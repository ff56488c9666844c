"""Reward notices: one subscribe message (``subscribeMessage.send``) when a reward becomes approved — only if the
inviter accepted the template (one accept = one send, counted here: WeChat reports no remaining count), at most
once per reward. 43101/47003 are terminal and give the accept back; transient failures give it back too and leave
the notice for the next settlement."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.platform import log
from shared.platform.clock import Clock
from shared.platform.errors import ShareFunnelError


def notice_payload(reward: Mapping[str, Any], openid: str, template: str) -> dict[str, Any]:
    # The template's keywords are the app's; these are the common ones for a reward notice (amount, status, note).
    return {
        "touser": openid,
        "template_id": template,
        "page": "pages/rewards/rewards",
        "data": {
            "amount1": {"value": f"{reward['amount']:.2f}"},
            "phrase2": {"value": "已到账审核通过"},
            "thing3": {"value": "好友下单奖励"},
        },
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }


def subscribe_notifier(store: Any, settings: Any, clock: Clock) -> Callable[[Mapping[str, Any]], bool]:
    from shared.platform import db
    from shared.wechat import SubscribeRefused, client_with_shared_token

    template = settings.rewards.notice_template
    client = client_with_shared_token(settings.wechat, db.database(settings.common), settings.common.collections, clock)

    def notify(reward: Mapping[str, Any]) -> bool:
        openid = reward.get("inviterOpenid")
        if not openid or not store.claim_notice(reward["_id"], clock.now()):
            return False
        if not store.take_accept(openid, template):
            store.finish_notice(reward["_id"], "no_accept", clock.now())
            return False
        try:
            client.send_subscribe_message(notice_payload(reward, openid, template))
        except SubscribeRefused as refused:
            store.give_back_accept(openid, template)  # terminal, and it consumed nothing
            store.finish_notice(reward["_id"], "refused", clock.now(), refused.errcode)
            log.event("reward_notice", outcome="refused", errcode=refused.errcode)
            return False
        except ShareFunnelError as failed:
            store.give_back_accept(openid, template)
            store.finish_notice(reward["_id"], "retry", clock.now(), getattr(failed, "errcode", None))
            log.event("reward_notice", outcome="retry", code=failed.code)
            return False
        store.finish_notice(reward["_id"], "sent", clock.now())
        log.event("reward_notice", outcome="sent")
        return True

    return notify
