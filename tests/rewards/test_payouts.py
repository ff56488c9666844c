"""Paying inviters into WeChat 零钱 (PAYOUT_MODE=wechatpay) end to end on the emulators over real HTTP: the rewards
function, wechatpayv3 with its own signature checks on, the WeChat Pay v3 emulator (merchant signatures checked,
answers and callbacks signed with the platform key), callbacks delivered through an emulated CloudBase HTTP access,
and the WeChat emulator's getuserriskrank. Money paths: nothing paid twice, nothing lost."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from shared.platform.admin import SCOPES, make_admin_token
from shared.platform.calendar import SHANGHAI
from tests.conftest import (
    ADMIN_SECRET,
    configured_handler,
    fixed_clock,
    openid_for,
    run_together,
    scf_context,
    written,
)
from tools.http_access import HttpAccess
from tools.wechatpay_emulator import WeChatPayEmulator

T0 = dt.datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI)
APPROVED_AT = T0 + dt.timedelta(days=8)
BOB_FEN, CAROL_FEN = 1500, 2500  # 5 yuan + 10 % of 100 and of 200
CALLBACK_PATH = "/rewards/wechatpay"


@pytest.fixture(scope="module")
def pay(emulator):
    pay = WeChatPayEmulator(appid=emulator.appid)
    pay.start()
    pay.hang_s = 3.5  # past the product's 2 s WeChat Pay timeout (WECHATPAY_TIMEOUT_MS below)
    yield pay
    pay.stop()


def payout_environment(emulator, pay, **changes):
    """The rewards function's variables for these tests: the programme, the app and the merchant (the emulators')."""
    return {
        "REWARD_FIXED": "5",
        "REWARD_PERCENT": "10",
        "REWARD_HOLDING_DAYS": "7",
        "REWARD_REFUND_WINDOW_DAYS": "7",
        "ORDER_STATUS_FIELD": "status",
        "ORDER_PAID_VALUES": "paid",
        "WECHAT_APPID": emulator.appid,
        "WECHAT_APPSECRET": emulator.secret,
        "WECHAT_API_BASE": emulator.base_url,
        "PAYOUT_MODE": "wechatpay",
        "PAYOUT_REVIEW_ABOVE_FEN": "100000",
        "WECHATPAY_TIMEOUT_MS": "2000",
        **pay.settings(notify_url="https://prod-env.ap-shanghai.app.tcloudbase.com" + CALLBACK_PATH),
        **changes,
    }


@pytest.fixture(scope="module")
def payouts_module(emulator, pay):
    with configured_handler("rewards", **payout_environment(emulator, pay)) as module:
        yield module


@pytest.fixture(scope="module")
def gateway(payouts_module, pay):
    access = HttpAccess(payouts_module.main_handler, lambda: scf_context(None, function_name="rewards"))
    access.start()
    pay.deliver_to = access.url + CALLBACK_PATH  # WeChat Pay's POSTs reach the function through HTTP access
    yield access
    access.stop()


@pytest.fixture
def clock(database):
    with fixed_clock(T0) as clock:
        yield clock


def call(module, event, user=None, admin=False):
    if admin:
        event = {**event, "adminToken": make_admin_token(ADMIN_SECRET, SCOPES)}
    return module.main_handler(event, scf_context(openid_for(user) if user else None, function_name="rewards"))


def timer(module, monkeypatch):
    monkeypatch.setenv("TRIGGER_SRC", "timer")
    answer = module.main_handler({"Type": "Timer", "TriggerName": "daily"}, scf_context(None, function_name="rewards"))
    monkeypatch.delenv("TRIGGER_SRC")
    return answer


@pytest.fixture
def approved(invoke, sharer_code, database, clock, emulator, pay, payouts_module, gateway):
    """alice brought bob and carol; their paid orders earned her 1 500 + 2 500 fen, now approved (real settlement)."""
    emulator.reset()
    pay.reset()
    alice = sharer_code("alice")
    for user, amount in (("bob", 100), ("carol", 200)):
        assert invoke({"action": "land", "query": {"id": "sku-42", "i": alice}}, as_user=user)["recorded"]
        at = T0 + dt.timedelta(hours=1)
        database.orders.insert_one(
            {"_id": f"ord-{user}", "_openid": openid_for(user), "amount": amount, "status": "paid", "createdAt": at}
        )
    clock.set(T0 + dt.timedelta(hours=2))
    assert call(payouts_module, {"action": "settle"}, admin=True)["created"] == 2
    clock.set(APPROVED_AT)
    call(payouts_module, {"action": "settle"}, admin=True)
    assert {r["state"] for r in database.rewards.find()} == {"approved"}
    return alice


def centre(module):
    answer = call(module, {"action": "myCentre"}, "alice")
    assert answer["ok"], answer
    return answer


def states(database):
    return sorted(r["state"] for r in database.rewards.find())


def test_withdraw_confirm_and_the_callback_pay_the_rewards_exactly_once(
    payouts_module, approved, pay, database, gateway
):
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    assert answer["ok"] and answer["state"] == "waiting" and answer["amountFen"] == BOB_FEN + CAROL_FEN, answer
    assert (answer["mchId"], answer["appId"]) == (pay.mchid, pay.appid) and answer["package"]
    assert openid_for("alice") not in json.dumps(answer)
    bill = pay.bills[answer["payoutId"]]
    assert bill["transfer_amount"] == 4000 and bill["openid"] == openid_for("alice")
    assert bill["request"]["transfer_scene_id"] == "1000" and bill["request"]["user_recv_perception"] == "活动奖励"
    assert [i["info_type"] for i in bill["request"]["transfer_scene_report_infos"]] == ["活动名称", "奖励说明"]
    assert states(database) == ["reserved", "reserved"]
    reserved = centre(payouts_module)
    assert (reserved["availableFen"], reserved["payingFen"], reserved["earnedFen"]) == (0, 4000, 4000)
    assert reserved["openPayout"]["payoutId"] == answer["payoutId"] and reserved["openPayout"]["state"] == "waiting"

    pay.confirm(answer["payoutId"])  # the user confirms; WeChat Pay calls back through HTTP access
    assert gateway.answers[-1] == 200
    assert states(database) == ["paid", "paid"]
    mine = call(payouts_module, {"action": "payout", "payoutId": answer["payoutId"]}, "alice")
    assert mine["state"] == "paid" and mine["amountFen"] == 4000 and "package" not in mine
    totals = centre(payouts_module)
    assert (totals["paidFen"], totals["availableFen"], totals["earnedFen"]) == (4000, 0, 4000)
    assert totals["openPayout"] is None
    assert pay.transfers[answer["payoutId"]] == 1 and len(pay.bills) == 1
    # The same callback again (WeChat Pay repeats them) changes nothing.
    before = written(database)
    headers, body = pay.callbacks[-1]
    assert pay.post(gateway.url + CALLBACK_PATH, headers, body) == 200
    assert written(database) == before


def test_a_lost_callback_is_finished_by_the_next_timer_pass(
    payouts_module, approved, pay, database, clock, monkeypatch
):
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    pay.drop_callbacks = True
    pay.confirm(answer["payoutId"])
    assert states(database) == ["reserved", "reserved"]  # nothing told us yet
    clock.set(clock.now() + dt.timedelta(minutes=5))
    run = timer(payouts_module, monkeypatch)
    assert run["ok"] and run["payouts"]["checked"] == 1, run
    assert states(database) == ["paid", "paid"] and centre(payouts_module)["paidFen"] == 4000


@pytest.mark.parametrize("end", ["FAIL", "CANCELLED"])
def test_a_bill_closed_unconfirmed_gives_the_rewards_back_for_a_new_withdrawal(
    payouts_module, approved, pay, database, end
):
    first = call(payouts_module, {"action": "withdraw"}, "alice")
    pay.close_unconfirmed(first["payoutId"], end=end)  # WeChat Pay's 24 h close (sources differ on the end state)
    assert states(database) == ["approved", "approved"]
    mine = call(payouts_module, {"action": "payout", "payoutId": first["payoutId"]}, "alice")
    assert mine["state"] == ("failed" if end == "FAIL" else "cancelled")
    assert centre(payouts_module)["availableFen"] == 4000
    second = call(payouts_module, {"action": "withdraw"}, "alice")  # a closed payout frees its day slot
    assert second["ok"] and second["payoutId"] != first["payoutId"] and second["amountFen"] == 4000
    assert len(pay.bills) == 2 and sum(pay.transfers.values()) == 0


def test_an_unconfirmed_bill_past_24_hours_is_cancelled_by_the_timer(
    payouts_module, approved, pay, database, clock, monkeypatch
):
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    clock.set(clock.now() + dt.timedelta(hours=25))  # WeChat Pay has not closed it yet ("可能超过24小时")
    timer(payouts_module, monkeypatch)
    assert pay.bills[answer["payoutId"]]["state"] == "CANCELLED"
    assert states(database) == ["approved", "approved"]


@pytest.mark.parametrize("fault", ["create_hang", "create_5xx_after", "create_5xx"])
def test_a_transfer_whose_answer_is_lost_is_asked_about_and_retried_with_the_same_bill_number(
    payouts_module, approved, pay, database, clock, monkeypatch, fault
):
    pay.fail_next(fault)
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    assert answer["ok"], answer
    payout_id = answer["payoutId"]
    if fault == "create_5xx":  # no bill was made: the payout keeps its number for the next pass
        assert answer["state"] == "sending" and payout_id not in pay.bills
        clock.set(clock.now() + dt.timedelta(minutes=1))
        timer(payouts_module, monkeypatch)
    else:  # the bill exists: asked by number, found, nothing created twice
        assert answer["state"] == "waiting", answer
    assert list(pay.bills) == [payout_id] and pay.bills[payout_id]["state"] == "WAIT_USER_CONFIRM"
    pay.confirm(payout_id)
    assert states(database) == ["paid", "paid"] and pay.transfers[payout_id] == 1


def test_twenty_concurrent_withdrawals_make_one_payout(payouts_module, approved, pay, database):
    def withdraw_like_the_kit():
        for _ in range(3):  # the kit asks again after a retryable answer (a busy real server may time out)
            answer = call(payouts_module, {"action": "withdraw"}, "alice")
            if answer["ok"] or not answer["error"].get("retryable"):
                break
        return answer

    answers = run_together(20, withdraw_like_the_kit)
    assert all(a["ok"] for a in answers), [a for a in answers if not a["ok"]]
    assert len({a["payoutId"] for a in answers}) == 1 and len(pay.bills) == 1
    assert sum(1 for a in answers if not a["existing"]) == 1
    assert database.rewards_payouts.count_documents({}) == 1 and states(database) == ["reserved", "reserved"]


def test_a_forged_or_tampered_callback_changes_nothing(payouts_module, approved, pay, database, gateway):
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    payout_id = answer["payoutId"]
    pay.bills[payout_id]["state"] = "SUCCESS"  # what a forger would claim
    before = written(database)
    headers, body = pay.forged_notification(payout_id)
    assert pay.post(gateway.url + CALLBACK_PATH, headers, body) == 401
    headers, body = pay.notification(payout_id)
    assert pay.post(gateway.url + CALLBACK_PATH, headers, body.replace('"nonce": "', '"nonce": "x')) == 401
    assert written(database) == before and states(database) == ["reserved", "reserved"]
    pay.bills[payout_id]["state"] = "WAIT_USER_CONFIRM"


def test_a_risky_user_is_held_without_a_transfer_until_an_admin_reviews(
    payouts_module, approved, pay, emulator, database
):
    emulator.risk_ranks[openid_for("alice")] = 4
    held = call(payouts_module, {"action": "withdraw"}, "alice")
    assert held["state"] == "held" and held["hold"] == {"reason": "risk_rank", "riskRank": 4}
    assert pay.calls["create"] == 0 and not pay.bills
    assert emulator.risk_checks[-1]["scene"] == 1 and emulator.risk_checks[-1]["client_ip"] == "10.12.23.71"
    refused = call(payouts_module, {"action": "review", "payoutId": held["payoutId"], "decision": "approve"}, "alice")
    assert refused["error"]["code"] == "FORBIDDEN"
    rejected = call(
        payouts_module,
        {"action": "review", "payoutId": held["payoutId"], "decision": "reject", "reason": "刷单嫌疑"},
        admin=True,
    )
    assert rejected["state"] == "rejected" and rejected["reason"] == "刷单嫌疑" and not pay.bills
    assert states(database) == ["approved", "approved"]
    history = database.rewards.find_one({"orderId": "ord-bob"})["history"]
    assert history[-1]["state"] == "approved" and history[-1]["reason"] == "刷单嫌疑"


def test_an_admin_approves_a_held_payout_and_it_is_sent(payouts_module, approved, pay, emulator):
    emulator.fail_next("risk_system_error", 3)  # the risk API is down: held rather than paid
    held = call(payouts_module, {"action": "withdraw"}, "alice")
    assert held["hold"] == {"reason": "risk_unavailable"} and not pay.bills
    sent = call(payouts_module, {"action": "review", "payoutId": held["payoutId"], "decision": "approve"}, admin=True)
    assert sent["state"] == "waiting" and list(pay.bills) == [held["payoutId"]]


def test_a_withdrawal_below_the_minimum_is_refused_and_writes_nothing(payouts_module, approved, database):
    before = written(database)
    answer = call(payouts_module, {"action": "withdraw", "amountFen": 99}, "alice")
    assert answer["error"]["code"] == "PAYOUT_REFUSED" and answer["error"]["reason"] == "below_minimum"
    assert answer["error"]["availableFen"] == 4000 and written(database) == before


def test_a_partial_withdrawal_takes_whole_rewards_oldest_first(payouts_module, approved, database):
    answer = call(payouts_module, {"action": "withdraw", "amountFen": 2000}, "alice")
    assert answer["amountFen"] == BOB_FEN  # carol's 2 500 would pass 2 000
    assert states(database) == ["approved", "reserved"] and centre(payouts_module)["availableFen"] == CAROL_FEN


def test_an_admin_cancels_before_the_user_confirms_but_not_after(payouts_module, approved, pay, database):
    first = call(payouts_module, {"action": "withdraw"}, "alice")
    cancelled = call(payouts_module, {"action": "cancelPayout", "payoutId": first["payoutId"]}, admin=True)
    assert cancelled["state"] == "cancelled" and states(database) == ["approved", "approved"]
    second = call(payouts_module, {"action": "withdraw"}, "alice")
    pay.confirm(second["payoutId"], finish=False)  # confirmed, still transferring
    late = call(payouts_module, {"action": "cancelPayout", "payoutId": second["payoutId"]}, admin=True)
    assert late["error"]["code"] == "CONFLICT" and states(database) == ["reserved", "reserved"]
    pay.finish(second["payoutId"])
    assert states(database) == ["paid", "paid"]


def test_a_user_reads_only_their_own_payouts(payouts_module, approved):
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    other = call(payouts_module, {"action": "payout", "payoutId": answer["payoutId"]}, "bob")
    assert other["error"]["code"] == "NOT_FOUND"
    listed = call(payouts_module, {"action": "payouts"}, "alice")
    assert [p["payoutId"] for p in listed["payouts"]] == [answer["payoutId"]] and listed["cursor"] is None
    assert call(payouts_module, {"action": "payouts"}, "bob") == {"ok": True, "payouts": [], "cursor": None}


BAD = [
    ("withdraw without identity", {"action": "withdraw"}, None, "NO_IDENTITY"),
    ("a fractional amount", {"action": "withdraw", "amountFen": 10.5}, "alice", "BAD_INPUT"),
    ("an amount as text", {"action": "withdraw", "amountFen": "100"}, "alice", "BAD_INPUT"),
    ("a zero amount", {"action": "withdraw", "amountFen": 0}, "alice", "BAD_INPUT"),
    ("a payout id with an operator", {"action": "payout", "payoutId": {"$gt": ""}}, "alice", "BAD_INPUT"),
    (
        "a review by a user",
        {"action": "review", "payoutId": "SF20261118ABCDEF0123456789", "decision": "approve"},
        "alice",
        "FORBIDDEN",
    ),
    (
        "a review without a decision",
        {"action": "review", "payoutId": "SF20261118ABCDEF0123456789"},
        "admin",
        "BAD_INPUT",
    ),
    ("cancel by a user", {"action": "cancelPayout", "payoutId": "SF20261118ABCDEF0123456789"}, "alice", "FORBIDDEN"),
]


@pytest.mark.parametrize("case,event,user,code", BAD, ids=[c for c, *_ in BAD])
def test_bad_payout_calls_get_a_stable_code_and_write_nothing(
    payouts_module, approved, database, case, event, user, code
):
    before = written(database)
    answer = call(payouts_module, event, user)
    assert answer["error"]["code"] == code, answer
    assert written(database) == before


def test_manual_mode_refuses_withdrawals(emulator, database, clock):
    with configured_handler("rewards", REWARD_FIXED="5", PAYOUT_MODE="manual") as module:
        answer = call(module, {"action": "withdraw"}, "alice")
    assert answer["error"]["code"] == "PAYOUT_REFUSED" and answer["error"]["reason"] == "payouts_manual"


def test_the_operators_dashboard_shows_the_periods_payouts_in_fen(
    payouts_module, approved, pay, emulator, database, clock
):
    from shared.funnel.dashboard import build_dashboard
    from shared.funnel.settings import FunnelSettings
    from shared.funnel.store import MongoFunnelStore
    from shared.platform.config import Settings

    paid = call(payouts_module, {"action": "withdraw", "amountFen": 1500}, "alice")
    pay.confirm(paid["payoutId"])
    assert call(payouts_module, {"action": "withdraw"}, "alice")["error"]["reason"] == "daily_limit"  # 1 a day
    clock.set(APPROVED_AT + dt.timedelta(days=1))
    emulator.risk_ranks[openid_for("alice")] = 3
    held = call(payouts_module, {"action": "withdraw"}, "alice")
    assert held["state"] == "held" and held["amountFen"] == CAROL_FEN
    settings = FunnelSettings()
    store = MongoFunnelStore(database, Settings.from_env({}).collections, settings.orders)
    day = APPROVED_AT.date()
    page, model = build_dashboard(store, settings, day, day + dt.timedelta(days=1))
    assert model["payouts"] == {"paid": {"count": 1, "fen": 1500}, "held": {"count": 1, "fen": 2500}}
    section = page.split('<section id="payouts">', 1)[1].split("</section>", 1)[0]
    assert "¥15.00" in section and "¥25.00" in section and "待审核" in section


def test_the_merchant_key_may_be_a_file_in_the_environments_storage(payouts_module, approved, pay, emulator):
    from shared.platform import instance

    path = "secrets/apiclient_key.pem"
    emulator.files[path] = pay.merchant_private_key.encode()
    key_file = f"cloud://{emulator.tcb_env}.{emulator.tcb_bucket}/{path}"
    environment = payout_environment(emulator, pay, WECHATPAY_PRIVATE_KEY=key_file)
    with configured_handler("rewards", **environment) as module:
        instance.reset()  # this instance's services are built anew, with the key read from storage on first use
        answer = call(module, {"action": "withdraw"}, "alice")
    instance.reset()
    assert answer["state"] == "waiting" and pay.bills[answer["payoutId"]]["transfer_amount"] == 4000


def test_a_payout_whose_bill_is_not_known_yet_is_not_cancelled_blindly(payouts_module, approved, pay, database, clock):
    pay.fail_next("create_5xx")  # refused before any bill: WeChat Pay may still be accepting it, for all we know
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    assert answer["state"] == "sending"
    early = call(payouts_module, {"action": "cancelPayout", "payoutId": answer["payoutId"]}, admin=True)
    assert early["error"]["code"] == "CONFLICT" and states(database) == ["reserved", "reserved"]
    clock.set(clock.now() + dt.timedelta(days=1, minutes=1))
    late = call(payouts_module, {"action": "cancelPayout", "payoutId": answer["payoutId"]}, admin=True)
    assert late["state"] == "cancelled" and states(database) == ["approved", "approved"] and not pay.bills


def test_an_empty_operating_account_keeps_the_payout_until_the_next_pass(
    payouts_module, approved, pay, database, clock, monkeypatch
):
    pay.fail_next("not_enough")  # 运营账户 not topped up: the same bill is tried again, never given up
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    assert answer["state"] == "sending" and not pay.bills and states(database) == ["reserved", "reserved"]
    clock.set(clock.now() + dt.timedelta(minutes=1))
    timer(payouts_module, monkeypatch)
    assert list(pay.bills) == [answer["payoutId"]] and pay.bills[answer["payoutId"]]["state"] == "WAIT_USER_CONFIRM"


def test_a_definite_refusal_ends_the_payout_and_gives_the_rewards_back(payouts_module, approved, pay, database):
    pay.fail_next("no_auth")
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    assert answer["state"] == "failed" and answer["reason"] == "refused:NO_AUTH", answer
    assert states(database) == ["approved", "approved"] and not pay.bills
    again = call(payouts_module, {"action": "withdraw"}, "alice")  # its day slot was freed
    assert again["state"] == "waiting" and again["payoutId"] != answer["payoutId"]


def test_a_payout_left_reserving_by_a_dead_instance_is_cancelled_by_the_timer(
    payouts_module, approved, database, clock, monkeypatch
):
    from shared.platform.config import Settings
    from shared.rewards.payout_store import PayoutStore
    from shared.rewards.payouts import new_payout_id

    store = PayoutStore(database, Settings.from_env({}).collections)
    now = clock.now()
    payout_id = new_payout_id(now)
    assert store.insert(
        {
            "_id": payout_id,
            "inviter": approved,
            "openid": openid_for("alice"),
            "state": "reserving",
            "open": approved,
            "slot": f"{approved}|{now.date().isoformat()}|0",
            "day": now.date().isoformat(),
            "amountFen": 0,
            "ledger": "pending",
            "createdAt": now,
            "updatedAt": now,
            "history": [],
        }
    )
    ids = [r["_id"] for r in database.rewards.find()]
    store.reserve(payout_id, approved, ids, [], now)  # …and the instance died here
    busy = call(payouts_module, {"action": "withdraw"}, "alice")
    assert busy["existing"] and busy["state"] == "reserving"
    clock.set(now + dt.timedelta(minutes=3))
    timer(payouts_module, monkeypatch)
    assert database.rewards_payouts.find_one({"_id": payout_id})["state"] == "cancelled"
    assert states(database) == ["approved", "approved"]


def test_a_status_read_while_wechat_pay_is_down_answers_what_is_known_and_changes_nothing(
    payouts_module, approved, pay, database
):
    answer = call(payouts_module, {"action": "withdraw"}, "alice")
    before = written(database)
    pay.fail_next("query_5xx")
    read = call(payouts_module, {"action": "payout", "payoutId": answer["payoutId"]}, "alice")
    assert read["ok"] and read["stale"] and read["state"] == "waiting" and read["package"] == answer["package"]
    assert written(database) == before


def test_a_slot_freed_by_an_unpaid_payout_is_used_again_whatever_its_place(
    payouts_module, emulator, pay, approved, gateway
):
    """PAYOUT_DAILY_LIMIT=2: paid, then closed unconfirmed, then a third withdrawal the same day takes the freed slot."""
    from shared.platform import instance

    with configured_handler("rewards", **payout_environment(emulator, pay, PAYOUT_DAILY_LIMIT="2")) as module:
        clock = instance.clock()
        instance.use_clock(clock)  # this instance's services are built anew with the daily limit of 2
        gateway.handler = module.main_handler
        try:
            first = call(module, {"action": "withdraw", "amountFen": BOB_FEN}, "alice")
            pay.close_unconfirmed(first["payoutId"])  # slot 0 freed
            second = call(module, {"action": "withdraw", "amountFen": BOB_FEN}, "alice")
            pay.confirm(second["payoutId"])  # slot taken for good
            third = call(module, {"action": "withdraw"}, "alice")
            assert third["ok"] and third["state"] == "waiting" and third["amountFen"] == CAROL_FEN, third
            fourth_refused = call(module, {"action": "withdraw"}, "alice")
            assert fourth_refused["ok"] and fourth_refused["existing"]  # the open one, not a third slot
        finally:
            instance.use_clock(clock)  # the next calls build the module-wide services again
            gateway.handler = payouts_module.main_handler


def test_a_clawback_is_netted_by_the_next_payout_exactly_once(payouts_module, approved, pay, database, clock):
    first = call(payouts_module, {"action": "withdraw", "amountFen": BOB_FEN}, "alice")
    pay.confirm(first["payoutId"])  # bob's reward paid
    database.orders.update_one({"_id": "ord-bob"}, {"$set": {"status": "refunded"}})  # …then his order is refunded
    clock.set(clock.now() + dt.timedelta(days=1))
    assert call(payouts_module, {"action": "settle"}, admin=True)["clawbacks"] == 1
    assert centre(payouts_module)["availableFen"] == CAROL_FEN - BOB_FEN
    second = call(payouts_module, {"action": "withdraw"}, "alice")
    assert second["amountFen"] == CAROL_FEN - BOB_FEN and pay.bills[second["payoutId"]]["transfer_amount"] == 1000
    pay.confirm(second["payoutId"])
    clawback = database.rewards.find_one({"kind": "clawback"})
    assert clawback["nettedBy"] == second["payoutId"] and clawback["nettedAt"] is not None
    totals = centre(payouts_module)
    assert (totals["availableFen"], totals["paidFen"]) == (0, BOB_FEN + CAROL_FEN)
    assert sum(bill["transfer_amount"] for bill in pay.bills.values()) == CAROL_FEN  # 1 500 + 1 000: what was owed


ODD_CALLBACKS = [
    ("a GET", {"httpMethod": "GET", "headers": {}, "body": ""}, 400),
    ("no body", {"httpMethod": "POST", "headers": {}}, 400),
    ("headers as a list", {"httpMethod": "POST", "headers": [], "body": "{}"}, 400),
    ("a lone surrogate", {"httpMethod": "POST", "headers": {"wechatpay-timestamp": "0"}, "body": "\ud800"}, 401),
    ("not JSON, fresh stamp", {"httpMethod": "POST", "headers": {"wechatpay-timestamp": "NOW"}, "body": "{"}, 401),
    ("base64 that is not", {"httpMethod": "POST", "headers": {}, "body": "%%", "isBase64Encoded": True}, 400),
    ("a huge body", {"httpMethod": "POST", "headers": {}, "body": "x" * 70000}, 400),
]


@pytest.mark.parametrize("case,event,status", ODD_CALLBACKS, ids=[c for c, *_ in ODD_CALLBACKS])
def test_an_odd_http_request_gets_a_clear_status_and_writes_nothing(
    payouts_module, approved, database, case, event, status
):
    import time

    headers = {k: (str(int(time.time())) if v == "NOW" else v) for k, v in (event.get("headers") or {}).items()}
    event = {**event, "headers": headers} if isinstance(event.get("headers"), dict) else event
    before = written(database)
    answer = payouts_module.main_handler({"path": CALLBACK_PATH, **event}, scf_context(None, function_name="rewards"))
    assert answer["statusCode"] == status, answer
    assert written(database) == before
