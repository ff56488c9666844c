"""The wings' dependency rules (shared/__init__.py): what each function loads, and what each wing may import."""

import ast
import json
import subprocess
import sys

import pytest

import shared
from shared.ops import deployment
from tests.conftest import ROOT
from tools.build import probe_environment

WINGS = sorted(shared.ALLOWED_IMPORTS)


@pytest.mark.parametrize("function", deployment.FUNCTIONS, ids=lambda f: f.name)
def test_a_function_loads_only_the_wings_it_ships(function):
    # A fresh interpreter, as SCF's cold start: the entry's import and one bad-input call (the whole parse path).
    probe = (
        "import json, sys, index; "
        "index.main_handler({'action': 7, 'batch': 7, 'date': 7}, {}); "
        "print(json.dumps(sorted(m for m in sys.modules if m in ('shared', 'requests') or m.startswith('shared.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT / "functions" / function.name,
        capture_output=True,
        text=True,
        env=probe_environment(function.name),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    wings = {name.split(".")[1] for name in loaded if name.count(".") >= 1}
    assert wings <= set(function.wings), f"{function.name} loaded {sorted(wings - set(function.wings))}: {loaded}"
    if function.name == "recordShare":  # the WeChat client and requests load only for a landing with a group cloudID
        assert "requests" not in loaded and "shared.wechat.client" not in loaded, loaded


def _imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


@pytest.mark.parametrize("wing", WINGS)
def test_a_wing_imports_only_platform_and_its_allowed_wings_through_their_public_names(wing):
    allowed = shared.ALLOWED_IMPORTS[wing]
    problems = []
    for path in sorted((ROOT / "shared" / wing).glob("*.py")):
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] != "shared" or len(parts) < 2 or parts[1] == wing:
                continue
            other = parts[1]
            if other not in allowed:
                problems.append(f"{path.name} imports {module}")
            elif other != "platform" and wing != "ops" and len(parts) > 2:
                problems.append(f"{path.name} reaches into {module}; use shared.{other}'s public names")
    assert not problems


def test_every_wing_is_a_folder_and_no_module_sits_loose_in_shared():
    assert sorted(p.name for p in (ROOT / "shared").iterdir() if p.is_dir() and p.name != "__pycache__") == WINGS
    assert sorted(p.name for p in (ROOT / "shared").glob("*.py")) == ["__init__.py"]


# Who owns which collection (docs/data-model.md): the one wing that declares it and provisions it.
OWNERS = {
    "users": "sharing",
    "share_events": "sharing",
    "share_intents": "sharing",
    "scene_tokens": "sharing",
    "wxacodes": "codes",
    "wxacode_jobs": "codes",
    "wechat_tokens": "wechat",
    "funnel_daily": "funnel",
    "funnel_runs": "funnel",
    "rewards": "rewards",
    "orders": "orders",
}


def test_every_collection_is_declared_once_by_the_wing_that_owns_it():
    from shared.funnel.store import funnel_collections
    from shared.orders import OrderMapping, orders_collection
    from shared.platform.config import Collections
    from shared.rewards.store import rewards_collections
    from shared.sharing.store import sharing_collections

    names = Collections()
    declared: dict[str, list[str]] = {}
    for wing, specs in (
        ("sharing", sharing_collections(names)),
        ("funnel", funnel_collections(names)),
        ("orders", [orders_collection(OrderMapping())]),
        ("rewards", rewards_collections(names)),
    ):
        for spec in specs:
            declared.setdefault(spec.name, []).append(wing)
    # codes and wechat declare theirs inline, next to their one store each
    for wing, field in (("codes", "wxacodes"), ("codes", "wxacode_jobs"), ("wechat", "wechat_tokens")):
        source = (ROOT / "shared" / wing).rglob("*.py")
        assert any(f"CollectionSpec(names.{field}" in path.read_text(encoding="utf-8") for path in source), field
        declared.setdefault(getattr(names, field), []).append(wing)
    for collection, wing in OWNERS.items():
        assert declared.get(collection) == [wing], (collection, declared.get(collection))
    assert declared["orders"] == [
        "orders"
    ]  # the app's orders: only the orders wing adds indexes; others read through it
    for path in (ROOT / "shared").rglob("*.py"):  # nobody creates an index outside the declarations
        text = path.read_text(encoding="utf-8")
        if path.name not in ("db.py", "cloudbase_db.py", "mongo_db.py"):  # the backends themselves
            assert ".create_index(" not in text, path
        assert 'share_funnel_time"' not in text or path.name == "reads.py" and "orders" in str(path), path


def _named_collections(path):
    """The collections a module names: ``names.<field>`` / ``collections.<field>`` of the configured names, and the
    orders' mapping (``….collection``)."""
    from shared.platform.config import Collections

    fields = set(Collections._fields)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Attribute):
            continue
        holder = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        if node.attr in fields and holder in ("names", "collections"):
            yield getattr(Collections(), node.attr), node.lineno
        elif node.attr == "collection" and holder in ("orders", "mapping", "order_source"):
            yield "orders", node.lineno


def test_a_module_names_only_the_collections_its_own_wing_declares():
    """Data follows the wings: a module may name only what its wing owns; another wing's data is read through what
    that wing publishes (``SharingReads``, ``OrderReads``, ``RewardReads``). The ops CLI is exempt (it wires stores)."""
    strays = [
        f"{path.relative_to(ROOT)}:{line} names {collection} ({OWNERS.get(collection, '?')}'s)"
        for wing in WINGS
        if wing not in ("ops", "dev")
        for path in sorted((ROOT / "shared" / wing).glob("*.py"))
        for collection, line in _named_collections(path)
        if OWNERS.get(collection, wing) != wing
    ]
    assert strays == []


def test_the_ownership_check_catches_a_stray_name(tmp_path):
    """The check above can fail: a funnel module naming the sharing wing's landings is caught."""
    stray = tmp_path / "stray.py"
    stray.write_text("def peek(database, names):\n    return database[names.share_events].find_one({})\n")
    assert [(collection, OWNERS[collection]) for collection, _ in _named_collections(stray)] == [
        ("share_events", "sharing")
    ]
