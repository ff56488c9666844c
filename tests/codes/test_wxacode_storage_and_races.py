"""The cos adapter against moto's S3 server on 127.0.0.1, the local adapter, and concurrent identical requests."""

import datetime as dt

import pytest

from shared.codes.generator import CodeGenerator, CodeLook
from shared.codes.store import MongoCodeCache
from shared.platform.clock import SystemClock
from shared.platform.config import settings
from shared.platform.errors import StorageError
from shared.platform.storage import CosStorage, LocalStorage
from shared.sharing.scene import ShareClaim
from shared.sharing.store import MongoShareStore
from shared.wechat.client import WeChatClient
from shared.wechat.token_store import MongoTokenStore
from tests.conftest import run_together


@pytest.fixture
def aws_credentials(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "ap-shanghai",
    }.items():
        monkeypatch.setenv(key, value)


def generator_for(database, emulator, storage):
    names = settings().collections
    clock = SystemClock()
    wechat = WeChatClient(emulator.appid, emulator.secret, emulator.base_url, clock, MongoTokenStore(database, names))
    share_store = MongoShareStore(database, names)
    share_store.assign_inviter_code("oAlice_xxxxxxxxxxxxxxxxxxxxxx", "Ab3dE9", clock.now())
    return CodeGenerator(emulator.appid, wechat, storage, MongoCodeCache(database, names), share_store, clock)


def test_cos_backend_uploads_through_the_s3_protocol(database, emulator, s3_endpoint, aws_credentials):
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="ap-shanghai")
    s3.create_bucket(Bucket="codes-1250000000", CreateBucketConfiguration={"LocationConstraint": "ap-shanghai"})
    storage = CosStorage("codes-1250000000", "ap-shanghai", s3_endpoint)
    result = generator_for(database, emulator, storage).generate(
        ShareClaim("Ab3dE9", "sku-42", "poster", "inline"), CodeLook(page="pages/product/product", is_hyaline=True)
    )
    key = result["fileID"].split("/", 3)[3]
    head = s3.head_object(Bucket="codes-1250000000", Key=key)
    assert key.startswith("wxacodes/") and key.endswith(".png") and head["ContentType"] == "image/png"
    assert result["url"] == f"https://codes-1250000000.cos.ap-shanghai.myqcloud.com/{key}"


def test_cos_failure_is_a_storage_error_and_leaves_no_record(database, emulator, s3_endpoint, aws_credentials):
    storage = CosStorage("no-such-bucket-1250000000", "ap-shanghai", s3_endpoint)
    with pytest.raises(StorageError):
        generator_for(database, emulator, storage).generate(
            ShareClaim("Ab3dE9", "sku-42", "poster", "inline"), CodeLook(page="pages/product/product")
        )
    assert database.wxacodes.count_documents({}) == 0


def test_local_backend_writes_files_for_the_demo(database, emulator, tmp_path):
    result = generator_for(database, emulator, LocalStorage(str(tmp_path))).generate(
        ShareClaim("Ab3dE9", "sku-42", None, "inline"), CodeLook(page="pages/product/product")
    )
    files = list(tmp_path.rglob("*.jpg"))
    assert len(files) == 1 and files[0].read_bytes()[:3] == b"\xff\xd8\xff" and result["fileID"].startswith("local://")


def test_concurrent_identical_requests_generate_one_code(database, emulator, tmp_path):
    emulator.reset()
    emulator.latency = 0.05
    generator = generator_for(database, emulator, LocalStorage(str(tmp_path)))
    claim, look = ShareClaim("Ab3dE9", "sku-42", "poster", "inline"), CodeLook(page="pages/product/product")
    results = run_together(12, lambda: generator.generate(claim, look))
    emulator.latency = 0.0
    assert len(results) == 12 and len({r["fileID"] for r in results}) == 1
    assert sum(not r["cached"] for r in results) == 1
    assert emulator.calls["getwxacodeunlimit"] == 1


def test_an_abandoned_claim_expires_and_is_taken_over(database, emulator, tmp_path):
    names = settings().collections
    cache = MongoCodeCache(database, names)
    now = dt.datetime.now(dt.timezone.utc)
    assert cache.claim("k1", "crashed", now, now + dt.timedelta(seconds=60), {})
    assert not cache.claim("k1", "other", now, now + dt.timedelta(seconds=60), {})
    later = now + dt.timedelta(seconds=61)
    assert cache.claim("k1", "other", later, later + dt.timedelta(seconds=60), {})
    assert not cache.complete("k1", "crashed", {"fileID": "x"})  # the old owner cannot record over it
    assert cache.complete("k1", "other", {"fileID": "y"})


def test_shared_token_store_keeps_the_longer_lived_token(database):
    store = MongoTokenStore(database, settings().collections)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    store.save_if_later("wx1", "A", now + dt.timedelta(seconds=7000))
    store.save_if_later("wx1", "B", now + dt.timedelta(seconds=300))
    assert store.load("wx1")[0] == "A"
    store.save_if_later("wx1", "C", now + dt.timedelta(seconds=7100))
    assert store.load("wx1")[0] == "C"
