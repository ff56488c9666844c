"""genWxacode batches through main_handler: paced, resumable jobs that continue themselves through the
SCF Invoke API (a local emulator checking the TC3 signature) and the WeChat emulator over real HTTP."""

import pytest

from shared.platform.admin import make_admin_token
from tests.conftest import ADMIN_SECRET, gen_wxacode_handler, snapshot


@pytest.fixture(scope="module")
def gen_module(emulator):
    with gen_wxacode_handler(emulator, WXACODE_RATE_PER_MIN="3000") as module:
        yield module


@pytest.fixture(autouse=True)
def _continuations(scf_api):
    """Every batch test runs with the SCF API emulator as the continuation endpoint."""


@pytest.fixture
def items(sharer_code):
    codes = [sharer_code(name) for name in ("alice", "bob", "carol")]
    return [{"inviter": codes[i % 3], "productId": f"sku-{i}", "channel": "poster"} for i in range(30)]


def test_admin_batch_generates_every_code_once(gen, emulator, database, items):
    job = gen({"batch": items}, as_user="admin")
    assert job["ok"] and job["status"] == "done", job
    assert (job["total"], job["processed"], job["generated"], job["cached"], job["failed"]) == (30, 30, 30, 0, 0)
    assert emulator.calls["getwxacodeunlimit"] == 30 and database.wxacodes.count_documents({"status": "done"}) == 30


def test_rerunning_a_finished_batch_costs_no_wechat_call(gen, emulator, items):
    first = gen({"batch": items}, as_user="admin")
    emulator.calls.clear()
    again = gen({"batch": items, "adminToken": make_admin_token(ADMIN_SECRET, ["operate"])})
    assert again["jobId"] == first["jobId"] and again["status"] == "done"
    assert again["cached"] == 30 and again["generated"] == 0
    assert emulator.calls["getwxacodeunlimit"] == 0 and emulator.calls["cos_post"] == 0


def test_token_expiry_in_the_middle_of_a_batch_costs_one_refresh(gen, emulator, items):
    emulator.expire_token_after(12)
    job = gen({"batch": items}, as_user="admin")
    assert job["status"] == "done" and job["generated"] == 30
    assert emulator.calls["stable_token"] == 2  # the first token, then exactly one refresh
    assert emulator.forced_refreshes == 0


def test_rate_limit_slows_the_batch_instead_of_failing_it(gen, emulator, database, items):
    emulator.fail_next("rate_limited", 3)
    job = gen({"batch": items}, as_user="admin")
    assert job["status"] == "done" and job["failed"] == 0 and job["generated"] == 30
    assert emulator.calls["getwxacodeunlimit"] == 33
    assert database.wxacode_jobs.find_one({"_id": job["jobId"]})["lastRunSlowdowns"] == 3


def test_unpublished_page_fails_its_item_only(gen, emulator, items):
    items[4] = {**items[4], "page": "pages/draft/draft"}
    job = gen({"batch": items}, as_user="admin")
    assert job["status"] == "done_with_errors" and job["generated"] == 29 and job["failed"] == 1
    assert job["failures"] == [{"index": 4, "code": "BAD_PAGE", "message": job["failures"][0]["message"]}]


def test_storage_outage_interrupts_the_job_and_a_resume_finishes_it(gen, emulator, items):
    emulator.fail_next("storage_500", 10**6)
    job = gen({"batch": items}, as_user="admin")
    assert job["status"] == "interrupted" and job["lastError"]["code"] == "STORAGE_UNAVAILABLE"
    emulator.reset()
    status = gen({"jobId": job["jobId"]}, as_user="admin")
    assert status["status"] == "interrupted" and emulator.calls["getwxacodeunlimit"] == 0
    resumed = gen({"jobId": job["jobId"], "resume": True}, as_user="admin")
    assert resumed["status"] == "done" and resumed["processed"] == 30 and resumed["failed"] == 0


def test_a_batch_longer_than_the_time_budget_continues_in_async_invocations(gen, emulator, scf_api, items):
    emulator.latency = 0.02
    job = gen({"batch": items}, as_user="admin", time_limit_in_ms=600)  # stops taking items after 0.45 s
    assert job["status"] == "continuing" and job["continued"] and job["processed"] < 30, job
    hops = 0
    while scf_api.invocations:
        invocation = scf_api.invocations.pop(0)
        assert (invocation["function"], invocation["type"], invocation["region"], invocation["namespace"]) == (
            "genWxacode",
            "Event",
            "ap-shanghai",
            "prod-4g8x2k1d9e0f3a5b",
        )
        assert set(invocation["event"]) == {"continueJob", "resumeKey"}
        job = gen(invocation["event"], time_limit_in_ms=600)  # no caller identity: the platform's own call
        hops += 1
        assert hops < 60  # every invocation makes progress (at least its minimum run time of work)
    assert job["status"] == "done" and job["processed"] == 30 and job["generated"] + job["cached"] == 30
    assert emulator.calls["getwxacodeunlimit"] == 30 and scf_api.rejections == []


def test_a_forged_continuation_is_forbidden(gen, emulator, scf_api, items):
    job = gen({"batch": items}, as_user="admin", time_limit_in_ms=300)
    emulator.calls.clear()
    forged = gen({"continueJob": job["jobId"], "resumeKey": "guessed-key-0123456789"}, as_user="mallory")
    assert forged["error"]["code"] == "FORBIDDEN" and emulator.calls["getwxacodeunlimit"] == 0


def test_continuation_without_api_access_pauses_the_job(gen, scf_api, items):
    scf_api.fail_with = "ResourceNotFound.Function"
    job = gen({"batch": items}, as_user="admin", time_limit_in_ms=300)
    assert job["status"] == "paused" and job["lastError"]["code"] == "UNAVAILABLE"


BAD = [
    ("batch of 10 001", lambda items: {"batch": [dict(items[0], productId=f"p{i}") for i in range(10_001)]}),
    ("empty batch", lambda items: {"batch": []}),
    ("batch not a list", lambda items: {"batch": {"0": items[0]}}),
    ("item without inviter", lambda items: {"batch": [{"productId": "sku-1"}]}),
    ("item page with a query", lambda items: {"batch": [items[0], dict(items[1], page="pages/product/product?x=1")]}),
    ("item width 100", lambda items: {"batch": [dict(items[0], width=100)]}),
    ("item operator inviter", lambda items: {"batch": [dict(items[0], inviter={"$ne": ""})]}),
    ("unknown envVersion", lambda items: {"batch": [dict(items[0], envVersion="beta")]}),
    ("job id not a string", lambda items: {"jobId": 12}),
    ("item with a null inviter", lambda items: {"batch": [dict(items[0], inviter=None)]}),
    ("item with a numeric inviter", lambda items: {"batch": [items[0], dict(items[1], inviter=123456)]}),
    ("item with a list product", lambda items: {"batch": [dict(items[0], productId=["sku-1"])]}),
    ("item with a boolean width", lambda items: {"batch": [dict(items[0], width=True)]}),
    ("item with a null channel", lambda items: {"batch": [dict(items[0], channel=None)]}),
    ("item with a lone surrogate", lambda items: {"batch": [dict(items[0], productId="sku\udc00")]}),
    ("item not an object", lambda items: {"batch": [items[0], "sku-1"]}),
    ("resume key with non-ASCII", lambda items: {"continueJob": "job-1", "resumeKey": "ключ" * 5}),
    ("resume key with a lone surrogate", lambda items: {"continueJob": "job-1", "resumeKey": "\ud800" * 20}),
    ("resume key too short", lambda items: {"continueJob": "job-1", "resumeKey": "abc"}),
]


@pytest.mark.parametrize("case,make", BAD, ids=[c for c, _ in BAD])
def test_bad_batches_are_rejected_without_writes_or_wechat_calls(gen, emulator, database, items, case, make):
    before = snapshot(database)
    response = gen(make(items), as_user="admin")
    assert response["ok"] is False and response["error"]["code"] == "BAD_INPUT", response
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0


def test_batches_are_for_admins_only(gen, emulator, database, items):
    before = snapshot(database)
    response = gen({"batch": items}, as_user="alice")
    assert response["error"]["code"] == "FORBIDDEN"
    assert gen({"batch": items, "adminToken": make_admin_token("x" * 40, ["operate"])})["error"]["code"] == "FORBIDDEN"
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0


def test_a_batch_naming_an_unknown_inviter_is_rejected_whole(gen, emulator, database, items):
    before = snapshot(database)
    response = gen({"batch": items + [{"inviter": "Zz9Zz9", "productId": "sku-1"}]}, as_user="admin")
    assert response["error"]["code"] == "UNKNOWN_INVITER" and response["error"]["inviters"] == ["Zz9Zz9"]
    assert snapshot(database) == before and sum(emulator.calls.values()) == 0
