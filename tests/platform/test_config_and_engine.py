"""Configuration is validated at cold start; the engine choice is explicit and safe."""

import json
import os
import subprocess
import sys

import pytest

from shared.platform import config, db
from shared.platform.config import Settings
from shared.platform.errors import ConfigError
from tests.conftest import ROOT


def test_embedded_engine_when_no_uri_is_configured():
    settings = Settings.from_env({})
    assert settings.embedded and settings.mongodb_db == "share_funnel"
    assert settings.collections.share_events == "share_events"


def test_missing_uri_on_scf_is_a_configuration_error_naming_the_variable():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TENCENTCLOUD_RUNENV": "SCF"})
    assert "MONGODB_URI" in str(caught.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            {
                "MONGODB_URI": "postgres://x",
                "INVITER_CODE_LENGTH": "12",
                "USERS_COLLECTION": "bad name",
                "LOG_LEVEL": "LOUD",
            }
        )
    message = str(caught.value)
    for name in ("MONGODB_URI", "INVITER_CODE_LENGTH", "USERS_COLLECTION", "LOG_LEVEL"):
        assert name in message


def test_collection_names_are_configurable_and_must_differ():
    settings = Settings.from_env({"USERS_COLLECTION": "sf_users", "SHARE_EVENTS_COLLECTION": "sf_landings"})
    assert settings.collections.users == "sf_users" and settings.collections.share_events == "sf_landings"
    with pytest.raises(ConfigError):
        Settings.from_env({"USERS_COLLECTION": "same", "SHARE_EVENTS_COLLECTION": "same"})


def _import_handler(env):
    code = (
        "import importlib.util;"
        "s=importlib.util.spec_from_file_location('h','functions/recordShare/index.py');"
        "m=importlib.util.module_from_spec(s); s.loader.exec_module(m); print('imported')"
    )
    # Nothing of the suite's own backend: each case states the whole database configuration.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MONGODB_URI", "TENCENTCLOUD_RUNENV", "DATABASE", "TCB_ENV", "SCF_NAMESPACE", "TCB_API_ENDPOINT")
    }
    clean.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_handler_cold_start_fails_on_scf_without_mongodb_uri():
    result = _import_handler({"TENCENTCLOUD_RUNENV": "SCF"})
    assert result.returncode != 0
    assert "ConfigError" in result.stderr and "MONGODB_URI" in result.stderr


def test_handler_cold_start_succeeds_with_a_valid_environment_without_touching_the_database():
    result = _import_handler({"MONGODB_URI": "mongodb://127.0.0.1:9/", "TENCENTCLOUD_RUNENV": "SCF"})
    assert result.returncode == 0, result.stderr
    assert "imported" in result.stdout


def test_database_returns_one_database_with_the_indexes(database):
    from shared.sharing.store import MongoShareStore

    assert db.database() is database
    MongoShareStore(database, config.settings().collections)  # the sharing wing provisions what it owns
    indexes = database["share_events"].index_information()
    unique = [spec for spec in indexes.values() if spec.get("unique")]
    assert [list(dict(spec["key"]).keys()) for spec in unique] == [["inviter", "invitee", "productId"]]
    users = database["users"].index_information()
    assert users["code_unique"]["unique"] is True


def test_collections_are_provisioned_once_per_instance(database, monkeypatch):
    from shared.sharing.store import MongoShareStore

    MongoShareStore(database, config.settings().collections)  # the first store of this database provisioned them
    calls = []
    monkeypatch.setattr(
        type(database[config.settings().collections.users]), "create_index", lambda *a, **k: calls.append(a)
    )
    if hasattr(type(database), "provision"):  # CloudBase
        monkeypatch.setattr(database, "provision", lambda *a: calls.append(a))
    for _ in range(3):
        MongoShareStore(db.database(), config.settings().collections)
    assert calls == []


def test_engine_is_logged_once_as_embedded(capsys):
    db.reset()
    try:
        db.database()
        db.database()
    finally:
        pass
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    engines = [line for line in lines if line["message"] == "database_engine"]
    expected = (
        "cloudbase"
        if os.environ.get("DATABASE") == "cloudbase"
        else "mongodb"
        if os.environ.get("MONGODB_URI")
        else "embedded"
    )
    assert [line["engine"] for line in engines] == [expected]


def test_embedded_id_lookups_answer_like_a_scan(database):
    """The embedded engine's direct _id lookup must give the same answers as MongoDB's query semantics."""
    jobs = database.wxacode_jobs
    jobs.insert_many(
        [
            {"_id": "a", "status": "done", "n": 1},
            {"_id": "b", "status": "in_progress", "n": 2},
            {"_id": 3, "status": "done"},
        ]
    )
    assert jobs.find_one({"_id": "a"})["n"] == 1
    assert jobs.find_one({"_id": "a", "status": "in_progress"}) is None
    assert jobs.find_one({"_id": "missing"}) is None
    assert jobs.find_one({"_id": 3})["status"] == "done"
    assert sorted(d["_id"] for d in jobs.find({"_id": {"$in": ["a", "b"]}})) == ["a", "b"]
    assert jobs.update_one({"_id": "b", "status": "done"}, {"$set": {"n": 9}}).matched_count == 0
    assert jobs.update_one({"_id": "b", "status": "in_progress"}, {"$set": {"n": 9}}).modified_count == 1
    jobs.update_one({"_id": "c", "status": "queued"}, {"$set": {"n": 4}}, upsert=True)
    assert jobs.find_one({"_id": "c"}) == {"_id": "c", "status": "queued", "n": 4}
    assert jobs.delete_one({"_id": "a", "n": 2}).deleted_count == 0 and jobs.count_documents({"_id": "a"}) == 1
