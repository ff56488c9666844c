"""Logs are one JSON object per line and never carry an openid in clear text."""

import json

from tests.conftest import load_event, openid_for


def test_every_log_line_is_json_without_openids(invoke, sharer_code, capsys):
    code = sharer_code("alice")
    invoke(load_event("land_share_link.json", inviter=code, openid=openid_for("bob")), as_user="bob")
    invoke({"query": {"id": {"$gt": ""}}}, as_user="bob")
    invoke({"query": {"id": "sku-42", "i": "Zz9Yy8"}}, as_user="carol")
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines
    parsed = [json.loads(line) for line in lines]
    assert all({"ts", "level", "message"} <= set(entry) for entry in parsed)
    for name in ("alice", "bob", "carol"):
        assert openid_for(name) not in out
    invocations = [entry for entry in parsed if entry["message"] == "invocation"]
    assert {entry.get("code") for entry in invocations} >= {None, "BAD_INPUT", "UNKNOWN_INVITER"}
    assert all(entry["function"] == "recordShare" and entry["request_id"] for entry in invocations)
    landing = next(entry for entry in parsed if entry["message"] == "landing")
    assert landing["invitee"].startswith("u_") and landing["inviter"] == code
