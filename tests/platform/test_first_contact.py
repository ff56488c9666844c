"""First contact with a real CloudBase environment, as far as an emulator can stand in for it: the dialect Tencent's
own tools speak, outcomes read only from the answer fields Tencent's code reads, whatever a RunCommands write
answers, duplicates in either form, collections that take data only a while after CreateTable, and deadlines."""

from __future__ import annotations

import json
import time

import pytest

from shared.platform.cloudbase_db import CloudBaseDatabase
from shared.platform.documents import DuplicateKeyError
from tests.conftest import configured_handler, openid_for, scf_context
from tests.platform.test_cloudbase import _raw
from tools.tcb_api_emulator import TcbApiEmulator, backing_database

ENV_ID = "first-contact-9z8y"


def _emulator(**variants) -> TcbApiEmulator:
    emulator = TcbApiEmulator(backing_database(), env_id=ENV_ID, **variants)
    emulator.start()
    return emulator


@pytest.fixture
def environment(own_cloudbase):
    """recordShare's environment on a fresh tcb emulator with the given answer variants (a cold instance)."""
    return lambda **variants: own_cloudbase(ENV_ID, **variants)


def _share_and_land(handler, invitee: str, limit_ms: int = 5000) -> dict:
    code = handler.main_handler(
        {"action": "share", "productId": "sku-1", "channel": "chat"},
        scf_context(openid_for("alice"), function_name="recordShare", time_limit_in_ms=limit_ms),
    )
    assert code["ok"], code
    return handler.main_handler(
        {"action": "land", "query": {"id": "sku-1", "i": code["inviterCode"], "c": "chat"}, "launchScene": 1007},
        scf_context(openid_for(invitee), function_name="recordShare", time_limit_in_ms=limit_ms),
    )


@pytest.mark.parametrize("duplicates", ["api", "message"])
@pytest.mark.parametrize("write_answers", ["reply", "empty", "blank"])
def test_landings_are_recorded_once_whatever_a_write_answers(environment, write_answers, duplicates):
    emulator = environment(write_answers=write_answers, duplicates=duplicates)
    with configured_handler("recordShare") as handler:
        first = _share_and_land(handler, "bob")
        again = _share_and_land(handler, "bob")
    assert first["ok"] and first["recorded"] and first["newUser"], first
    assert again["ok"] and again["duplicate"] and not again["newUser"], again
    assert emulator.database["share_events"].count_documents({"invitee": openid_for("bob")}) == 1
    # No outcome was read from a RunCommands write: every write went through an Item action.
    assert not {"INSERT", "UPDATE", "DELETE"} & set(emulator.commands)
    database = CloudBaseDatabase(emulator.api())
    database["codes"].insert_one({"_id": "AAA111"})
    with pytest.raises(DuplicateKeyError):  # FailedOperation.DuplicatedData, or E11000 in a message
        database["codes"].insert_one({"_id": "AAA111"})


def test_commands_go_out_in_the_dialect_of_tencents_tools():
    emulator = _emulator()
    try:
        database = CloudBaseDatabase(emulator.api())
        database["things"].insert_many([{"_id": i, "n": i, "big": 2**40} for i in range(5)])
        assert database["things"].count_documents({"n": {"$gte": 2}}, skip=1, limit=2) == 2
        assert [d["_id"] for d in database["things"].find({}, skip=3, sort=[("n", 1)])] == [3, 4]
        assert sorted(database["things"].distinct("n", {"n": {"$lt": 2}})) == [0, 1]
        runs = [r for r in emulator.sent if r["Action"] == "RunCommands"]
        kinds = {(c["CommandType"], next(iter(json.loads(c["Command"])))) for r in runs for c in r["MgoCommands"]}
        assert kinds == {("QUERY", "find"), ("COMMAND", "aggregate")}  # counts are aggregations, as COMMAND
        for request in emulator.sent:
            text = json.dumps(request)
            assert "$numberInt" not in text and '$numberLong\\": \\"1099511627776' not in text
        find = next(json.loads(c["Command"]) for r in runs for c in r["MgoCommands"] if '"find"' in c["Command"])
        assert isinstance(find["limit"], int) and isinstance(find["skip"], int)  # plain JSON numbers
        assert all("Tag" not in request for request in emulator.sent)  # EnvId alone, as the toolkit since 2026-05
        # The emulator holds clients to that dialect: a wrapped number is refused as Tencent's reference implies.
        wrapped = {
            "TableName": "things",
            "CommandType": "QUERY",
            "Command": '{"find": "things", "limit": {"$numberInt": "1"}}',
        }
        assert _raw(emulator, "RunCommands", {"EnvId": ENV_ID, "MgoCommands": [wrapped]})["code"] == "InvalidParameter"
        unknown = {"EnvId": ENV_ID, "TableName": "things", "MgoDocs": ["{}"], "Colour": 1}
        assert _raw(emulator, "PutItem", unknown)["code"] == "UnknownParameter"  # the Item actions' own checks
        assert _raw(emulator, "UpdateItem", {"EnvId": ENV_ID, "TableName": "things"})["code"] == "MissingParameter"
    finally:
        emulator.stop()


def test_a_configured_tag_is_sent_with_every_call_and_must_name_the_instance():
    emulator = _emulator()
    try:
        database = CloudBaseDatabase(emulator.api(tag=emulator.instance_id))
        database["things"].insert_one({"_id": 1})
        assert database["things"].find_one({"_id": 1}) == {"_id": 1}
        data = [r for r in emulator.sent if r["Action"] in ("RunCommands", "PutItem")]
        assert data and all(r["Tag"] == emulator.instance_id for r in data)
        with pytest.raises(Exception, match="ResourceNotFound.Instance"):
            CloudBaseDatabase(emulator.api(tag="tnt-elsewhere"))["things"].find_one({})
    finally:
        emulator.stop()


def test_collections_are_described_before_they_are_created_and_waited_for(environment):
    emulator = environment(ready_after_s=0.4)
    with configured_handler("recordShare") as handler:
        landed = _share_and_land(handler, "bob")
    assert landed["ok"] and landed["recorded"], landed
    # each collection was asked about first, created once, and probed until it took data
    created = [r["TableName"] for r in emulator.sent if r["Action"] == "CreateTable"]
    assert created and len(created) == len(set(created))
    for name in created:
        first = next(i for i, r in enumerate(emulator.sent) if r.get("TableName") == name)
        assert emulator.sent[first]["Action"] == "DescribeTable"
    assert emulator.database["share_events"].count_documents({}) == 1
    assert emulator.database["users"].count_documents({"_id": "_share_funnel_ready_probe"}) == 0


def test_a_collection_slower_than_the_deadline_is_unavailable_in_time_and_the_retry_records_once(environment):
    emulator = environment(ready_after_s=2.5)
    limit_ms = 3000
    with configured_handler("recordShare") as handler:
        started = time.monotonic()
        first = handler.main_handler(
            {"action": "share", "productId": "sku-1", "channel": "chat"},
            scf_context(openid_for("alice"), function_name="recordShare", time_limit_in_ms=limit_ms),
        )
        elapsed = time.monotonic() - started
        assert first["ok"] is False and first["error"]["code"] == "UNAVAILABLE" and first["error"]["retryable"]
        assert elapsed < 0.4 * limit_ms / 1000, f"answered after {elapsed:.2f} s"
        time.sleep(2.6)
        landed = _share_and_land(handler, "bob", limit_ms)  # the retry, on the same (now warm) instance
        again = _share_and_land(handler, "bob", limit_ms)
    assert landed["ok"] and landed["recorded"], landed
    assert again["duplicate"]
    assert emulator.database["share_events"].count_documents({}) == 1


def test_an_unknown_answer_shape_is_logged_once_by_its_key_names_and_answered_unavailable(environment, capsys):
    emulator = environment()
    with configured_handler("recordShare") as handler:
        assert _share_and_land(handler, "warm")["ok"]
        emulator.item_answers = {"UpdateItem": {"Result": "ok"}}  # no MatchedNum: a shape nobody reads
        answers = [_share_and_land(handler, f"u{i}") for i in range(2)]
    assert all(a["ok"] is False and a["error"]["code"] == "UNAVAILABLE" for a in answers), answers
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    shapes = [line for line in logged if line["message"] == "cloudbase_answer_shape"]
    assert len(shapes) == 1 and shapes[0]["keys"] == ["Result"] and shapes[0]["what"] == "UpdateItem"
    assert emulator.database["share_events"].count_documents({}) == 1  # the warm-up's only


def test_a_held_reply_is_answered_unavailable_within_40_percent_of_a_short_limit(environment):
    emulator = environment()
    with configured_handler("recordShare") as handler:
        assert _share_and_land(handler, "warm", 2000)["ok"]
        emulator.fail_next = ["sleep:3"]
        started = time.monotonic()
        answer = handler.main_handler(
            {"action": "land", "query": {"id": "sku-1", "c": "chat"}, "launchScene": 1001},
            scf_context(openid_for("late"), function_name="recordShare", time_limit_in_ms=2000),
        )
        elapsed = time.monotonic() - started
    assert answer["ok"] is False and answer["error"]["code"] == "UNAVAILABLE", answer
    # 30 % of 2 s for the held request (fractions of a second, not the SDK's whole seconds), nothing after it
    assert elapsed < 0.8, f"answered after {elapsed:.2f} s"


@pytest.mark.parametrize("lost", [False, True])
def test_a_bulk_of_replacements_goes_in_bulk_and_is_confirmed_by_reading_back(lost):
    """A day's report rows: replacements by _id sent 1000 to a RunCommands update, whose answer is not read; each is
    read back, and what is not as sent (the platform dropped the writes) is written again on its own."""
    from shared.platform.documents import DeleteMany, ReplaceOne

    emulator = _emulator(write_answers="blank")
    try:
        emulator.command_writes_lost = lost
        database = CloudBaseDatabase(emulator.api(timeout_s=30))  # the embedded engine under coverage is slow
        rows = [{"_id": f"2026-11-10|inviter|{i:05d}", "date": "2026-11-10", "landings": i} for i in range(1500)]
        database["rows"].insert_one({"_id": "stale", "date": "2026-11-10"})
        before = dict(emulator.requests)
        operations = [ReplaceOne({"_id": r["_id"]}, r, upsert=True) for r in rows]
        database["rows"].bulk_write([*operations, DeleteMany({"_id": "stale"})])
        stored = {d["_id"]: d for d in emulator.database["rows"].find({})}
        assert stored == {r["_id"]: r for r in rows}
        spent = {action: n - before.get(action, 0) for action, n in emulator.requests.items()}
        if lost:
            assert spent["UpdateItem"] == 1500  # every row again, on its own, its outcome read from its answer
        else:
            assert spent.get("UpdateItem", 0) == 0 and spent["RunCommands"] == 4  # 2 updates, 2 read-backs
    finally:
        emulator.stop()
