"""The subset of pymongo's API the stores use, run on whichever backend this pass configures (embedded, MongoDB /
FerretDB, CloudBase through the tcb emulator): each call answers the same everywhere. On CloudBase, an option the
adapter does not implement raises at once instead of being dropped."""

from __future__ import annotations

import sys
import threading

import pytest

from shared.platform.documents import (
    ASCENDING,
    DESCENDING,
    BulkWriteError,
    DeleteMany,
    DuplicateKeyError,
    ReplaceOne,
    ReturnDocument,
)
from tests.conftest import CLOUDBASE, REAL_SERVER, run_together

# What the stores call (grep shared/ for them): kept here so a new call is added to this test as it is used.
SUBSET = (
    "find(filter, projection, sort=, skip=, limit=)",
    "cursor.sort / skip / limit / hint / batch_size",
    "find_one",
    "count_documents(filter, skip=, limit=)",
    "aggregate",
    "distinct",
    "insert_one",
    "insert_many(ordered=)",
    "update_one / update_many (upsert=)",
    "replace_one(upsert=)",
    "delete_one / delete_many",
    "find_one_and_update(projection=, sort=, upsert=, return_document=)",
    "bulk_write(ReplaceOne, DeleteMany, ordered=)",
    "create_index / index_information / drop_index",
)


@pytest.fixture
def things(database):
    collection = database["subset_things"]
    collection.insert_many([{"_id": i, "n": i, "group": i % 3} for i in range(12)])
    return collection


def test_reads_page_skip_limit_sort_and_count_alike(things):
    assert [d["n"] for d in things.find({"n": {"$gte": 2}}, {"n": 1}, sort=[("n", DESCENDING)], skip=2, limit=3)] == [
        9,
        8,
        7,
    ]
    cursor = things.find({}, {"_id": 1}).sort("n", ASCENDING).skip(10).limit(5).batch_size(2)
    assert [d["_id"] for d in cursor] == [10, 11]
    assert things.find_one({"n": 4}, {"group": 1}) == {"_id": 4, "group": 1}
    assert things.count_documents({"group": 0}) == 4
    assert things.count_documents({"group": 0}, skip=1, limit=2) == 2
    assert things.count_documents({"group": 0}, skip=3) == 1
    grouped = {
        row["_id"]: row["total"] for row in things.aggregate([{"$group": {"_id": "$group", "total": {"$sum": "$n"}}}])
    }
    assert grouped == {0: 18, 1: 22, 2: 26}
    assert sorted(things.distinct("group", {"n": {"$lt": 3}})) == [0, 1, 2]


def test_writes_answer_counts_and_duplicates_alike(things):
    assert things.update_one({"n": 1}, {"$set": {"tag": "x"}}).matched_count == 1
    assert things.update_one({"n": 1}, {"$set": {"tag": "x"}}).modified_count == 0
    assert things.update_many({"group": 2}, {"$inc": {"n": 100}}).modified_count == 4
    upserted = things.update_one({"_id": "new"}, {"$setOnInsert": {"n": -1}}, upsert=True)
    assert upserted.upserted_id == "new" and upserted.matched_count == 0
    assert things.replace_one({"_id": "new"}, {"n": -2}).matched_count == 1
    assert things.find_one({"_id": "new"}) == {"_id": "new", "n": -2}
    with pytest.raises(DuplicateKeyError):
        things.insert_one({"_id": 3})
    with pytest.raises(BulkWriteError) as raised:
        things.insert_many([{"_id": "a"}, {"_id": 4}, {"_id": "b"}], ordered=False)
    assert [e["index"] for e in raised.value.details["writeErrors"]] == [1]
    assert things.count_documents({"_id": {"$in": ["a", "b"]}}) == 2
    assert things.delete_one({"group": 0}).deleted_count == 1
    assert things.delete_many({"group": 0}).deleted_count == 3


def test_find_one_and_update_claims_one_document_alike(things):
    before = things.find_one_and_update(
        {"group": 1, "claimed": {"$exists": False}},
        {"$set": {"claimed": "me"}},
        sort=[("n", DESCENDING)],
        projection={"n": 1},
        return_document=ReturnDocument.BEFORE,
    )
    assert before == {"_id": 10, "n": 10}
    after = things.find_one_and_update(
        {"group": 1, "claimed": {"$exists": False}}, {"$set": {"claimed": "you"}}, return_document=ReturnDocument.AFTER
    )
    assert after is not None and after["claimed"] == "you" and after["_id"] == 1
    assert things.find_one_and_update({"n": 999}, {"$set": {"x": 1}}) is None
    created = things.find_one_and_update(
        {"_id": "fresh"}, {"$setOnInsert": {"n": 0}}, upsert=True, return_document=ReturnDocument.BEFORE
    )
    assert created is None and things.find_one({"_id": "fresh"}) == {"_id": "fresh", "n": 0}
    again = things.find_one_and_update(
        {"_id": "fresh"}, {"$setOnInsert": {"n": 5}}, upsert=True, return_document=ReturnDocument.BEFORE
    )
    assert again == {"_id": "fresh", "n": 0}


def test_bulk_replacements_and_indexes_alike(database, things):
    things.bulk_write(
        [ReplaceOne({"_id": 0}, {"n": 0, "v": 2}, upsert=True), ReplaceOne({"_id": "z"}, {"n": 50}, upsert=True)]
        + [DeleteMany({"group": 2})],
        ordered=True,
    )
    assert things.find_one({"_id": 0}) == {"_id": 0, "n": 0, "v": 2} and things.count_documents({"group": 2}) == 0
    assert things.find_one({"_id": "z"}) == {"_id": "z", "n": 50}
    things.create_index([("n", ASCENDING)], name="n_unique", unique=True)
    assert things.index_information()["n_unique"]["unique"] is True
    with pytest.raises(DuplicateKeyError):
        things.insert_one({"_id": "dup", "n": 50})
    things.drop_index("n_unique")
    things.insert_one({"_id": "dup", "n": 50})
    things.create_index([("n", ASCENDING)], name="n_plain")  # a name dropped and a new one: both honoured
    assert "n_unique" not in things.index_information() and "n_plain" in things.index_information()


@pytest.mark.skipif(not CLOUDBASE, reason="the CloudBase adapter's own refusal (pymongo itself takes these options)")
def test_an_option_the_cloudbase_adapter_does_not_implement_raises_at_once(things):
    for call in (
        lambda: things.find({}, collation={"locale": "en"}),
        lambda: things.count_documents({}, hint="n_1"),
        lambda: things.update_one({"_id": 1}, {"$set": {"a": 1}}, array_filters=[{"x": 1}]),
        lambda: things.find_one_and_update({"_id": 1}, {"$set": {"a": 1}}, hint="x"),
        lambda: things.insert_many([{"_id": "q"}], bypass_document_validation=True),
    ):
        with pytest.raises(TypeError, match="does not implement"):
            call()
    assert things.count_documents({"_id": "q"}) == 0


def test_find_one_and_update_takes_a_free_document_once_however_many_race(database):
    """A lease is taken by a conditional find-and-modify: of the racing callers exactly one may win, ten times over
    (the embedded engine needed help: mongomock-ng finds, then updates by _id alone). In-process, threads are made
    to interleave inside each call; a server is raced by fewer callers, within its connection pool's ease."""
    things = database["subset_things"]
    embedded = not (REAL_SERVER or CLOUDBASE)
    switch = sys.getswitchinterval()
    if embedded:
        sys.setswitchinterval(1e-6)  # threads interleave inside each call, as they do on a busy machine
    try:
        for round_ in range(10):
            things.insert_one({"_id": f"lease-{round_}", "owner": None})
            claim = {"_id": f"lease-{round_}", "owner": None}
            winners = run_together(
                30 if embedded else 10,
                lambda claim=claim: things.find_one_and_update(claim, {"$set": {"owner": threading.get_ident()}}),
            )
            assert sum(1 for w in winners if w is not None) == 1, round_
    finally:
        sys.setswitchinterval(switch)
