"""The embedded engine's index-like lookups answer exactly like its own full scan, on random data,
random range filters and after random writes (hypothesis)."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.dev import embedded_engine
from tests.conftest import REAL_SERVER

BASE = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
instants = st.integers(min_value=0, max_value=20).map(lambda h: BASE + dt.timedelta(hours=h))
values = st.one_of(instants, st.none(), st.just("2026-11-01"), st.lists(instants, max_size=2))
documents = st.lists(
    st.fixed_dictionaries(
        {
            "_id": st.text("abc", min_size=1, max_size=3),
            "at": values,
            "k": st.one_of(st.sampled_from(["x", "y"]), st.none(), st.lists(st.just("x"), max_size=1)),
        }
    ),
    max_size=25,
    unique_by=lambda d: d["_id"],
)
ranges = st.fixed_dictionaries({}, optional={"$gte": instants, "$gt": instants, "$lt": instants, "$lte": instants})
filters = st.one_of(
    st.builds(lambda r: {"at": r}, ranges),
    st.builds(lambda r, k: {"at": r, "k": k}, ranges, st.sampled_from(["x", "y"])),
    st.builds(
        lambda r, ks: {"at": r, "k": {"$in": ks}}, ranges, st.lists(st.sampled_from(["x", "y", "z"]), max_size=2)
    ),
    st.builds(lambda k: {"k": k}, st.sampled_from(["x", "y", "z"])),
    st.builds(lambda i: {"_id": i}, st.text("abc", min_size=1, max_size=3)),
    st.builds(lambda ids: {"_id": {"$in": ids}}, st.lists(st.text("abc", min_size=1, max_size=3), max_size=4)),
    st.builds(lambda i, k: {"_id": i, "k": k}, st.text("abc", min_size=1, max_size=3), st.sampled_from(["x", "y"])),
)


@pytest.fixture
def collection(database):
    coll = database["engine_equivalence"]
    coll.create_index([("k", 1), ("at", 1)])
    return coll


@pytest.mark.skipif(
    REAL_SERVER,
    reason="embedded engine only: it checks shared/dev/embedded_engine.py against mongomock-ng's own scan; a real server has real indexes",
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=documents,
    queries=st.lists(filters, min_size=1, max_size=4),
    edits=st.lists(st.tuples(st.text("abc", min_size=1, max_size=3), instants), max_size=4),
)
def test_lookups_match_a_full_scan(collection, docs, queries, edits):
    collection.delete_many({})
    if docs:
        collection.insert_many([dict(d) for d in docs])
    for _ in range(2):
        for query in queries:
            pipeline = [{"$match": query}, {"$project": {"_id": 1}}]
            fast = ([d["_id"] for d in collection.find(query)], list(collection.aggregate(pipeline)))
            embedded_engine.enabled = False
            try:
                scan = ([d["_id"] for d in collection.find(query)], list(collection.aggregate(pipeline)))
            finally:
                embedded_engine.enabled = True
            assert fast == scan, query
        for doc_id, when in edits:  # writes must invalidate the sorted keys
            collection.update_one({"_id": doc_id}, {"$set": {"at": when}})
            collection.delete_one({"_id": doc_id + "a"})
