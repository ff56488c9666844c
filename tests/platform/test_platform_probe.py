"""The post-deploy probe: what an invocation got from the platform, by name only, and whether the database answers."""

import json

from tests.conftest import openid_for, scf_context, snapshot


def test_the_probe_names_what_the_platform_sent_and_writes_nothing(record_share, database, capsys):
    before = snapshot(database)
    context = scf_context(openid_for("alice"))
    answer = record_share.main_handler({"platformProbe": True}, context)
    assert answer["ok"] is True
    probe = answer["probe"]
    assert "environment" in probe["contextKeys"] and "WX_OPENID" in probe["environmentKeys"]
    assert probe["identitySource"] == "context" and probe["database"]["reachable"] is True
    assert openid_for("alice") not in json.dumps(answer) + capsys.readouterr().out  # names, never values
    assert snapshot(database) == before


def test_anything_beside_the_probe_flag_is_an_ordinary_call(record_share, database):
    answer = record_share.main_handler({"platformProbe": True, "action": "share"}, scf_context(None))
    assert answer["ok"] is False and answer["error"]["code"] in ("BAD_INPUT", "NO_IDENTITY")
