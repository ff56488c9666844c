"""A simulated mini program client: builds the SCF context a CloudBase function receives when a
user's mini program calls it through ``wx.cloud.callFunction``, from the recorded fixture in
``tests/events/callfunction_context.json`` (one source of truth for tests, the demo and benchmarks)."""

from __future__ import annotations

import copy
import importlib.util
import json
import pathlib
import uuid
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
_TEMPLATE = json.loads((ROOT / "tests" / "events" / "callfunction_context.json").read_text(encoding="utf-8"))


def scf_context(
    openid: str | None,
    *,
    architecture: str = "new",
    request_id: str | None = None,
    function_name: str = "recordShare",
    time_limit_in_ms: int | None = None,
) -> dict[str, Any]:
    """The context for a call by ``openid`` (None: the platform supplied no identity, as in 1154).

    ``architecture``: "new" (``environment`` JSON string), "old" (``environ`` k=v string) or "none".
    """
    context = copy.deepcopy(_TEMPLATE["context"])
    context["function_name"] = function_name
    if time_limit_in_ms is not None:
        context["time_limit_in_ms"] = time_limit_in_ms
    context["request_id"] = request_id or str(uuid.uuid4())
    environment = context.pop("environment")
    if openid is None:
        environment.pop("WX_OPENID")
    else:
        environment["WX_OPENID"] = openid
    if architecture == "new":
        context["environment"] = json.dumps(environment)
    elif architecture == "old":
        context["environ"] = _TEMPLATE["oldArchitectureEnviron"].replace("{{openid}}", openid or "")
    return context


def openid_for(name: str) -> str:
    """A realistic 28-character openid for a named simulated user."""
    return ("o" + (name + "x" * 27)[:27]).replace(" ", "_")


def load_handler(function: str) -> Any:
    """Import ``functions/<function>/index.py`` the way SCF does (a module named by its file)."""
    path = ROOT / "functions" / function / "index.py"
    spec = importlib.util.spec_from_file_location(f"{function}_index", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"no function entry at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
