"""The CloudBase database backend against the tcb API emulator (its own, in every pass of the suite): requests as
Tencent's SDK models accept them, a landing in one request, paging, Extended JSON, duplicates, quotas and outages."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from bson import Int64, ObjectId

from shared.platform import config, db, instance
from shared.platform.cloudbase_db import CloudBaseDatabase, TcbApi
from shared.platform.documents import BulkWriteError, DuplicateKeyError
from tests.conftest import configured_handler, openid_for, scf_context
from tools.tcb_api_emulator import TcbApiEmulator, backing_database

ENV_ID = "cloudbase-test-1a2b"


@pytest.fixture
def tcb():
    emulator = TcbApiEmulator(backing_database(), env_id=ENV_ID)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def cloudbase(own_cloudbase):
    """The functions configured for an emulator's environment (as on the platform, without MONGODB_URI)."""
    return own_cloudbase(ENV_ID)


def _raw(emulator: TcbApiEmulator, action: str, params: dict) -> dict:
    """A request as any caller could send it (Tencent's generic JSON client, no typed model in the way)."""
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    http = HttpProfile(endpoint=emulator.endpoint.split("://", 1)[1])
    http.scheme = "http"
    client = CommonClient(
        "tcb",
        "2018-06-08",
        credential.Credential(emulator.secret_id, emulator.secret_key, emulator.session_token),
        "ap-shanghai",
        ClientProfile(httpProfile=http),
    )
    try:
        return client.call_json(action, params)
    except TencentCloudSDKException as exc:
        return {"code": exc.get_code(), "message": exc.get_message()}


def test_the_emulator_refuses_what_the_sdk_models_would_not_carry(tcb):
    command = {"TableName": "users", "CommandType": "QUERY", "Command": json.dumps({"find": "users"})}
    tcb.create_table("users")
    assert _raw(tcb, "RunCommands", {"EnvId": ENV_ID, "MgoCommands": [command], "Colour": 1})["code"] == (
        "UnknownParameter"
    )
    assert _raw(tcb, "RunCommands", {"EnvId": ENV_ID, "MgoCommands": [{**command, "Command": 7}]})["code"] == (
        "InvalidParameter"
    )
    missing = {k: v for k, v in command.items() if k != "CommandType"}
    assert _raw(tcb, "RunCommands", {"EnvId": ENV_ID, "MgoCommands": [missing]})["code"] == "MissingParameter"
    assert _raw(tcb, "RunCommands", {"MgoCommands": [command]})["code"] == "MissingParameter"
    # CommandType must match the command: the platform charges reads and writes by it.
    wrong = {**command, "CommandType": "UPDATE"}
    assert _raw(tcb, "RunCommands", {"EnvId": ENV_ID, "MgoCommands": [wrong]})["code"] == "InvalidParameter"
    on_missing_table = {**command, "TableName": "nope", "Command": json.dumps({"find": "nope"})}
    assert _raw(tcb, "RunCommands", {"EnvId": ENV_ID, "MgoCommands": [on_missing_table]})["code"] == (
        "ResourceNotFound.TableNotFound"
    )
    assert _raw(tcb, "RunCommands", {"EnvId": ENV_ID, "MgoCommands": [command]})["Response"]["Data"] == ["[]"]


def test_the_emulator_checks_the_signature_and_the_session_token(tcb):
    forged = TcbApi(ENV_ID, tcb.secret_id, "not-the-key", tcb.session_token, "ap-shanghai", tcb.endpoint, 3)
    database = CloudBaseDatabase(forged)
    with pytest.raises(Exception, match="AuthFailure.SignatureFailure"):
        database["users"].find_one({})
    tokenless = TcbApi(ENV_ID, tcb.secret_id, tcb.secret_key, None, "ap-shanghai", tcb.endpoint, 3)
    with pytest.raises(Exception, match="AuthFailure.TokenFailure"):
        CloudBaseDatabase(tokenless)["users"].find_one({})


def test_dates_object_ids_and_longs_round_trip_through_extended_json(tcb):
    database = CloudBaseDatabase(tcb.api())
    at = dt.datetime(2026, 11, 10, 8, 30, 15, 123000, tzinfo=dt.timezone.utc)
    oid = ObjectId()
    database["things"].insert_one({"_id": oid, "at": at, "big": Int64(2**40), "nested": {"when": at}})
    back = database["things"].find_one({"at": {"$gte": at}})
    assert back == {"_id": oid, "at": at, "big": 2**40, "nested": {"when": at}}
    assert isinstance(back["big"], int) and back["at"].tzinfo is not None


def test_reads_page_by_the_1000_document_limit(tcb):
    api = tcb.api()
    database = CloudBaseDatabase(api)
    database["many"].insert_many([{"_id": i, "n": i} for i in range(2500)])
    before = api.requests
    found = list(database["many"].find({}, {"n": 1}).sort("n", 1))
    assert [d["n"] for d in found] == list(range(2500))
    assert api.requests - before == 3  # 1000 + 1000 + 500
    assert len(list(database["many"].find({}).limit(1200))) == 1200
    assert database["many"].count_documents({"n": {"$gte": 2000}}) == 500


def test_a_duplicate_key_is_the_ports_duplicate_key_error(tcb):
    database = CloudBaseDatabase(tcb.api())
    database["users"].create_index([("code", 1)], name="code_unique", unique=True)
    database["users"].insert_one({"_id": "a", "code": "AAA111"})
    with pytest.raises(DuplicateKeyError):
        database["users"].insert_one({"_id": "b", "code": "AAA111"})
    with pytest.raises(DuplicateKeyError):
        database["users"].update_one({"_id": "c"}, {"$set": {"code": "AAA111"}}, upsert=True)
    assert database["users"].index_information()["code_unique"]["unique"] is True


def test_an_unordered_bulk_insert_past_one_page_reports_duplicates_by_their_place_and_inserts_the_rest(tcb):
    database = CloudBaseDatabase(tcb.api())
    database["ledger"].insert_one({"_id": 1200})
    with pytest.raises(BulkWriteError) as raised:
        database["ledger"].insert_many([{"_id": i} for i in range(1500)], ordered=False)  # two requests of ≤ 1000
    errors = raised.value.details["writeErrors"]
    assert [(e["index"], e["code"]) for e in errors] == [(1200, 11000)]  # counted from the first document sent
    assert raised.value.details["nInserted"] == 1499 and database["ledger"].count_documents({}) == 1500


def test_a_collection_that_does_not_exist_yet_reads_empty_and_is_created_by_its_first_write(tcb):
    database = CloudBaseDatabase(tcb.api())
    assert database["later"].find_one({}) is None and database["later"].count_documents({}) == 0
    database["later"].insert_one({"_id": 1})
    assert "later" in database.list_collection_names()


def _landing_event(code):
    return {"action": "land", "query": {"id": "sku-1", "i": code, "c": "chat"}, "launchScene": 1007}


def test_a_landing_decides_from_the_typed_answers_of_two_item_writes(cloudbase):
    with configured_handler("recordShare") as handler:
        shared = handler.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "chat"}, scf_context(openid_for("alice"))
        )
        code = shared["inviterCode"]
        handler.main_handler(_landing_event(code), scf_context(openid_for("warm-up")))
        before = dict(cloudbase.requests)
        answer = handler.main_handler(_landing_event(code), scf_context(openid_for("bob")))
        assert answer["ok"] and answer["recorded"] and answer["newUser"], answer
        spent = {action: n - before.get(action, 0) for action, n in cloudbase.requests.items()}
        # A new invitee: the user inserted if absent (UpsertedId), the landing inserted if absent (UpsertedId).
        assert {action: n for action, n in spent.items() if n} == {"UpdateItem": 2}
        again = handler.main_handler(_landing_event(code), scf_context(openid_for("bob")))
        assert again["duplicate"] and not again["newUser"]
    landings = list(cloudbase.database["share_events"].find({"invitee": openid_for("bob")}))
    assert len(landings) == 1 and landings[0]["newUser"] is True


def test_a_known_user_landing_is_recorded_as_not_new(cloudbase):
    with configured_handler("recordShare") as handler:
        code = handler.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "chat"}, scf_context(openid_for("alice"))
        )["inviterCode"]
        organic = handler.main_handler({"action": "land", "query": {"id": "sku-1"}}, scf_context(openid_for("eve")))
        assert organic["ok"]
        answer = handler.main_handler(_landing_event(code), scf_context(openid_for("eve")))
        assert answer["recorded"] and answer["newUser"] is False
    stored = cloudbase.database["share_events"].find_one({"invitee": openid_for("eve")})
    assert stored["newUser"] is False


def test_a_spent_quota_is_unavailable_and_writes_nothing(cloudbase):
    with configured_handler("recordShare") as handler:
        code = handler.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "chat"}, scf_context(openid_for("alice"))
        )["inviterCode"]
        cloudbase.write_quota = 0
        answer = handler.main_handler(_landing_event(code), scf_context(openid_for("carol")))
    assert answer["ok"] is False and answer["error"]["code"] == "UNAVAILABLE" and answer["error"]["retryable"]
    assert cloudbase.database["share_events"].count_documents({}) == 0
    assert cloudbase.database["users"].count_documents({"_id": openid_for("carol")}) == 0


@pytest.mark.parametrize("fault", ["http500", "garbage", "InternalError", "sleep:4"])
def test_an_api_outage_is_answered_unavailable_in_time(cloudbase, fault, capsys):
    with configured_handler("recordShare") as handler:
        code = handler.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "chat"}, scf_context(openid_for("alice"))
        )["inviterCode"]
        cloudbase.fail_next = [fault]
        started = time.monotonic()
        answer = handler.main_handler(
            _landing_event(code), scf_context(openid_for("dan"), function_name="recordShare", time_limit_in_ms=5000)
        )
        elapsed = time.monotonic() - started
    assert answer["ok"] is False and answer["error"]["code"] == "UNAVAILABLE", answer
    assert elapsed < 0.4 * 5 + 0.5, f"answered after {elapsed:.1f} s"
    if fault == "InternalError":  # an API error names its request id in the log, for Tencent's support
        logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        errors = [line for line in logged if line["message"] == "cloudbase_api_error"]
        assert errors and errors[0]["code"] == "InternalError" and errors[0]["request_id"]


def test_orders_the_mini_program_wrote_to_the_environment_are_credited_and_rewarded(tcb, monkeypatch):
    """A team whose product data lives elsewhere (here the embedded engine) while the mini program keeps writing its
    orders with wx.cloud.database(): ORDERS_SOURCE=cloudbase reads them from the environment's database."""
    from shared.platform.admin import make_admin_token
    from shared.platform.clock import FixedClock
    from tests.conftest import ADMIN_SECRET

    values = {
        "DATABASE": "embedded",
        "ORDERS_SOURCE": "cloudbase",
        "TCB_ENV": ENV_ID,
        "TCB_API_ENDPOINT": tcb.endpoint,
        "TENCENTCLOUD_SECRETID": tcb.secret_id,
        "TENCENTCLOUD_SECRETKEY": tcb.secret_key,
        "TENCENTCLOUD_SESSIONTOKEN": tcb.session_token,
        "ORDER_STATUS_FIELD": "status",
        "ORDER_PAID_VALUES": "paid",
        "REWARD_FIXED": "5",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    config.reset()
    db.reset()
    instance.reset()
    shanghai = dt.timezone(dt.timedelta(hours=8))
    landed = dt.datetime(2026, 11, 10, 9, 0, tzinfo=shanghai)
    clock = FixedClock(landed)
    instance.use_clock(clock)
    try:
        with configured_handler("recordShare") as share:
            code = share.main_handler(
                {"action": "share", "productId": "sku-1", "channel": "chat"}, scf_context(openid_for("alice"))
            )["inviterCode"]
            assert share.main_handler(_landing_event(code), scf_context(openid_for("bob")))["recorded"]
        tcb.create_table("orders")  # the app's collection, written by "the mini program"
        tcb.database["orders"].insert_one(
            {
                "_id": "order-1",
                "_openid": openid_for("bob"),
                "createdAt": landed + dt.timedelta(hours=2),
                "amount": 88,
                "status": "paid",
            }
        )
        clock.set(landed + dt.timedelta(days=1))
        with configured_handler("dailyFunnel") as funnel:
            answer = funnel.main_handler(
                {"date": "2026-11-10", "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
                scf_context(None, function_name="dailyFunnel"),
            )
        assert answer["ok"], answer
        total = db.database().funnel_daily.find_one({"_id": "2026-11-10|total|*"})
        assert total["converters"] == 1 and total["revenue"] == 88
        with configured_handler("rewards") as rewards:
            settled = rewards.main_handler(
                {"action": "settle", "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])},
                scf_context(None, function_name="rewards"),
            )
        assert settled["ok"] and settled["created"] == 1, settled
        assert db.database().rewards.find_one({"orderId": "order-1"})["inviter"] == code
    finally:
        monkeypatch.undo()
        config.reset()
        db.reset()
        instance.reset()
