"""Deployment: the definitions in shared/ops/deployment.py, serverless.yml, cloudbaserc.json and the config
modules agree; `make build` gives one importable, reproducible zip per function with only the packages it needs;
timeouts leave room for a failing dependency; the post-deploy smoke test passes against an SCF API emulator."""

import json
import re
import subprocess
import sys
import zipfile

import pytest
import yaml

from shared.codes import settings as wxacode_config
from shared.funnel import settings as funnel_config
from shared.ops import deployment
from shared.platform import config
from shared.platform.errors import ConfigError
from tests.conftest import ROOT, load_handler
from tools.build import probe_environment

CRON_7 = re.compile(r"^\S+( \S+){6}$")
MB = 1024 * 1024


class Recording(dict):
    """An environment that remembers which variables were asked for."""

    def __init__(self, values=None):
        super().__init__(values or {})
        self.asked = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)


@pytest.mark.parametrize(
    "reader,declared",
    [
        (config.Settings.from_env, config.VARIABLES + config.PLATFORM_VARIABLES),
        (wxacode_config.WxacodeSettings.from_env, wxacode_config.VARIABLES + config.PLATFORM_VARIABLES),
        (funnel_config.FunnelSettings.from_env, funnel_config.VARIABLES + config.PLATFORM_VARIABLES),
    ],
)
def test_config_modules_declare_every_variable_they_read(reader, declared):
    env = Recording()
    try:
        reader(env)
    except ConfigError:
        pass
    assert env.asked and env.asked <= set(declared), env.asked - set(declared)


def test_generated_deploy_files_are_current():
    result = subprocess.run(
        [sys.executable, "tools/deploy_config.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_serverless_yml_cloudbaserc_and_definitions_agree():
    yml = yaml.safe_load((ROOT / "serverless.yml").read_text(encoding="utf-8"))
    rc = json.loads((ROOT / "cloudbaserc.json").read_text(encoding="utf-8"))
    definitions = {f.name: f for f in deployment.FUNCTIONS}
    assert set(yml["functions"]) == set(definitions) == {f["name"] for f in rc["functions"]}
    assert yml["provider"]["runtime"] == deployment.RUNTIME and yml["package"]["individually"] is True
    assert yml["plugins"] == ["./tools/serverless/tencent-scf-api.js"] and yml["useDotenv"] is True
    assert rc["envId"] == "{{env." + deployment.CLOUDBASE_ENV + "}}"
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")}
    from shared.ops.scf_deploy import DEPLOY_VARIABLES

    assert listed == set(DEPLOY_VARIABLES).union(*(f.variables for f in deployment.FUNCTIONS))
    assert not any("apigw" in json.dumps(f.get("events", [])) for f in yml["functions"].values())
    for entry in rc["functions"]:
        function, declared = definitions[entry["name"]], yml["functions"][entry["name"]]
        assert declared["handler"] == entry["handler"] == "index.main_handler"
        assert entry["runtime"] == deployment.RUNTIME and entry["timeout"] <= deployment.CLOUDBASE_MAX_TIMEOUT
        assert list(entry["envVariables"]) == list(function.variables)
        assert declared["description"] == function.description and declared["memorySize"] == function.memory_mb
        assert declared["package"]["artifact"] == f"build/{function.name}.zip"
        assert 1 <= declared["timeout"] <= 900 and declared["memorySize"] in (64, *range(128, 3073, 128))
        crons = [e["timer"]["parameters"]["cronExpression"] for e in declared.get("events", [])]
        rc_crons = [t["config"] for t in entry.get("triggers", [])]
        assert crons == rc_crons == ([function.timer] if function.timer else [])
        for cron in crons:  # seven fields, and not on the hour (00:00 timers fail more often)
            assert CRON_7.match(cron) and cron.split()[1] != "0", cron
        assert (
            "def main_handler(event: Any, context: Any)"
            in (ROOT / "functions" / function.name / "index.py").read_text()
        )


def _py310():
    from tools.build import python310

    return python310()


@pytest.fixture(scope="module")
def packaged(built, tmp_path_factory):
    cos = tmp_path_factory.mktemp("cos")
    variant = subprocess.run(
        [sys.executable, "tools/build.py", "--storage", "cos", "--only", "genWxacode", "--out", str(cos)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert variant.returncode == 0, variant.stderr[-3000:]
    return {"dir": built, "cos": cos / "genWxacode.zip"}


FORBIDDEN_EVERYWHERE = (
    "tests/",
    "conftest",
    ".env",
    "mongomock",
    "moto/",
    "pytest",
    "hypothesis",
    "qrcode",
    "shared/dev/",
    "shared/ops/",
    "node_modules",
    "miniprogram/",
    "tools/",
    "tencentcloud/",  # Tencent's API calls are signed by shared/platform/cloud_api.py: no SDK in any package
)
# Whole wings never imported, and the modules of a shipped wing its entry never imports (tools/build.py).
NOT_FOR = {
    "recordShare": (
        "boto3/",
        "botocore/",
        "shared/codes/",
        "shared/funnel/",
        "shared/rewards/",
        "shared/platform/continuation",
        "PIL/",
    ),
    "dailyFunnel": (
        "boto3/",
        "botocore/",
        "shared/codes/",
        "shared/sharing/store",
        "shared/sharing/use_cases",
        "shared/rewards/store",
        "shared/rewards/settle",
        "PIL/",
    ),
    "genWxacode": ("boto3/", "botocore/", "PIL/_avif", "libavif", "shared/funnel/", "shared/rewards/"),
    "rewards": ("boto3/", "botocore/", "shared/codes/", "shared/funnel/", "shared/sharing/store", "PIL/"),
}


@pytest.mark.no_database
@pytest.mark.parametrize("name", [f.name for f in deployment.FUNCTIONS])
def test_each_zip_has_its_entry_at_the_root_and_only_what_it_needs(packaged, name, tmp_path):
    archive = packaged["dir"] / f"{name}.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert "index.py" in names and "shared/__init__.py" in names and "pymongo/__init__.py" in names
    assert not [n for n in names if any(part in n for part in FORBIDDEN_EVERYWHERE + NOT_FOR[name])]
    assert archive.stat().st_size <= deployment.function(name).zip_budget_mb * MB
    zipfile.ZipFile(archive).extractall(tmp_path)
    python = _py310() or sys.executable
    if python != sys.executable:  # built for 3.10: bytecode is there, hash-checked so zip times do not matter
        assert any(n.endswith("index.cpython-310.pyc") for n in names)
    probe = (
        "import sys, index; assert callable(index.main_handler); "
        "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
        "('requests', 'boto3', 'tencentcloud', 'mongomock_ng', 'pymongo', 'PIL')))"
    )
    # -E -s -S: no site-packages, no PYTHONPATH; the current folder (the unzipped package) first, as SCF loads it.
    result = subprocess.run(
        [python, "-E", "-s", "-S", "-c", probe],
        cwd=tmp_path,
        env=probe_environment(name),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mongomock_ng" not in result.stdout and "boto3" not in result.stdout
    assert "PIL" not in result.stdout  # Pillow loads for the first poster, not at cold start


@pytest.mark.no_database
def test_the_cos_build_adds_boto3_to_genwxacode_only(packaged):
    names = zipfile.ZipFile(packaged["cos"]).namelist()
    assert any(n.startswith("boto3/") for n in names) and any(n.startswith("botocore/") for n in names)


POSTER_PROBE = """
import io, sys
from PIL import Image, features
from shared.codes.poster import FileCache, PosterParts, default_template, parse_template, render
from shared.sharing import SharerProfile
code = io.BytesIO()
Image.new("RGB", (430, 430), "white").save(code, "JPEG")
template = parse_template(default_template())
parts = PosterParts(template, template.product("sku-1"), SharerProfile("小明", None), code.getvalue())
poster = Image.open(io.BytesIO(render(parts, FileCache(lambda file_id, limit: b"")).data))
print(sys.version_info[:2], poster.format, poster.size, features.check("avif"), features.check("jpg"))
"""


@pytest.mark.no_database
def test_the_built_genwxacode_renders_a_poster_on_its_target_python(packaged, tmp_path):
    """Pillow as vendored for SCF (cp310 manylinux, AVIF left out) loads and draws the default poster in the unzipped
    package, with nothing from this machine's site-packages."""
    python = _py310()
    if python is None:
        pytest.skip("no Python 3.10 here: the vendored cp310 Pillow cannot be loaded")
    zipfile.ZipFile(packaged["dir"] / "genWxacode.zip").extractall(tmp_path)
    result = subprocess.run(
        [python, "-E", "-s", "-S", "-c", POSTER_PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["(3,", "10)", "JPEG", "(1080,", "1920)", "False", "True"], result.stdout


def test_smoke_check_passes_against_the_scf_api(database, monkeypatch, capsys):
    from shared.ops import cli
    from tests.conftest import CLOUDBASE, configured_handler
    from tools.scf_api_emulator import ScfApiEmulator

    with (
        configured_handler(
            "genWxacode", WECHAT_APPID="wx3c5e7a9b1d2f4a6c", WECHAT_APPSECRET="s", TCB_ENV="e", STORAGE_BACKEND="tcb"
        ) as gen,
        configured_handler("dailyFunnel") as funnel,
        configured_handler("rewards", REWARD_FIXED="5") as rewards,
    ):
        handlers = {
            "recordShare": load_handler("recordShare").main_handler,
            "genWxacode": gen.main_handler,
            "dailyFunnel": funnel.main_handler,
            "rewards": rewards.main_handler,
        }
    api = ScfApiEmulator(secret_id="AKIDops", secret_key="ops-key", session_token=None, functions=handlers)
    endpoint = api.start()
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDops")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "ops-key")
    monkeypatch.setenv("TCB_ENV", "prod-1a2b3c")
    if not CLOUDBASE:  # on the CloudBase pass, the tcb emulator answers DescribeEnvs
        monkeypatch.setenv("TCB_API_ENDPOINT", endpoint)
    try:
        assert cli.main(["smoke", "--stage", "prod", "--endpoint", endpoint]) == 0
        out = capsys.readouterr().out
        assert "What to check on the first real deployment" in out
        if CLOUDBASE:  # the dialect read off the environment: the probe's own collection, one document, answers
            assert "dates round-trip through PutItem and find: yes" in out, out
            assert "answer of UpdateItem: MatchedNum, ModifiedNum, UpsertedId" in out, out
            assert "answer of RunCommands QUERY: JSON array of str" in out, out
            assert "document databases of prod-1a2b3c: " in out
        assert out.count("PASS") == len(deployment.FUNCTIONS) and "prod-1a2b3c/recordShare" in out, out
        # What each function got from the platform, by name: the emulator's context and the configured database.
        assert out.count("context keys: ") == len(deployment.FUNCTIONS) and "request_id" in out
        assert out.count("database: ") == len(deployment.FUNCTIONS) and ", reachable" in out
        assert "identity source: (none: SCF Invoke carries no user)" in out
        monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "wrong")
        assert cli.main(["smoke", "--stage", "prod", "--endpoint", endpoint]) == 1
        assert "AuthFailure.SignatureFailure" in capsys.readouterr().out
    finally:
        api.stop()


@pytest.mark.no_database
def test_rebuilding_unchanged_sources_gives_the_same_bytes(built, tmp_path):
    """What makes a second deploy upload nothing: the deployer compares the package's SHA-256 with SCF's."""
    again = subprocess.run(
        [sys.executable, "tools/build.py", "--only", "dailyFunnel", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "dailyFunnel.zip").read_bytes() == (built / "dailyFunnel.zip").read_bytes()


def test_every_timeout_leaves_room_for_its_slowest_dependency_to_fail():
    assert deployment.timeout_problems() == []
    for function in deployment.FUNCTIONS:
        waits = deployment.dependency_waits(function)
        assert "mongodb" in waits and max(waits.values()) + deployment.ANSWER_MARGIN_S <= function.timeout_s
    import dataclasses

    hasty = dataclasses.replace(deployment.function("rewards"), timeout_s=30)  # WeChat may take ~55 s to fail
    assert deployment.timeout_problems((hasty,)) == [
        "rewards: timeout 30 s cannot answer a failing wechat (54.8 s + 1 s to answer)"
    ]


def test_descriptions_stay_inside_the_characters_the_scf_model_documents():
    assert [problem for f in deployment.FUNCTIONS for problem in deployment.description_problems(f)] == []
    import dataclasses

    odd = dataclasses.replace(deployment.function("rewards"), description="Ledger (timer): payouts")
    assert deployment.description_problems(odd) == ["rewards: ['(', ')', ':']"]
