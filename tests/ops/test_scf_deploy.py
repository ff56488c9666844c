"""Deploying for real, offline: the real Serverless CLI (`serverless deploy function`) with the project's provider
plugin drives shared/ops/scf_deploy.py against the SCF API emulator over real HTTP (TC3-verified), and the result
must equal shared/ops/deployment.py. Every connection the CLI and the deployer open is recorded: only the
emulator (which answers COS requests too, checking their signature) may be contacted."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from shared.ops import deployment, scf_deploy
from tests.conftest import ROOT
from tools.scf_api_emulator import ScfApiEmulator

SECRET_ID, SECRET_KEY, ENV_ID = "AKIDdeployer", "deployer-key", "prod-1a2b3c"
GUARD = ROOT / "tests" / "ops" / "network_guard"
FUNCTION_VALUES = {
    "MONGODB_URI": "mongodb://10.0.0.8:27017/?replicaSet=cmgo",
    "WECHAT_APPID": "wx3c5e7a9b1d2f4a6c",
    "WECHAT_APPSECRET": "app-secret",
    "REWARD_FIXED": "5",
    "LOG_LEVEL": "INFO",
}
pytestmark = pytest.mark.no_database
needs_node = pytest.mark.skipif(
    not (ROOT / "node_modules" / ".bin" / "serverless").exists(),
    reason="node_modules missing: `make test` installs the Serverless CLI first",
)


@pytest.fixture
def scf_api():
    api = ScfApiEmulator(secret_id=SECRET_ID, secret_key=SECRET_KEY, session_token=None, namespaces=("default", ENV_ID))
    api.start()
    yield api
    api.stop()


@pytest.fixture
def cli(scf_api, tmp_path):
    """Runs `serverless deploy function -f NAME` as a user would, with .env-style values in the environment."""
    home = tmp_path / "home"
    home.mkdir()
    network_log = tmp_path / "network.log"

    def deploy(name, *extra, **values):
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TENCENTCLOUD_", "SLS_", "MONGODB_", "HTTP", "http", "NO_PROXY", "no_proxy", "TCB_"))
            and key not in ("DATABASE", "SCF_NAMESPACE")
        }
        env.update(
            {
                "HOME": str(home),
                "SHARE_FUNNEL_PYTHON": sys.executable,
                "SCF_API_ENDPOINT": scf_api.endpoint,
                "TCB_API_ENDPOINT": scf_api.endpoint,  # the emulator answers CloudBase's tcb actions too
                "TENCENTCLOUD_SECRET_ID": SECRET_ID,
                "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
                "TCB_ENV": ENV_ID,
                "VPC_ID": "vpc-8x1k2",
                "SUBNET_ID": "subnet-5f3a",
                "NETWORK_LOG": str(network_log),
                "DEPLOY_COS_ENDPOINT": scf_api.endpoint,
                "NODE_OPTIONS": f"--require {GUARD / 'guard.js'}",
                "PYTHONPATH": str(GUARD),
                **FUNCTION_VALUES,
            }
        )
        env.update({k: v for k, v in values.items() if v is not None})
        for key in [k for k, v in values.items() if v is None]:
            env.pop(key, None)
        return subprocess.run(
            [
                str(ROOT / "node_modules" / ".bin" / "serverless"),
                "deploy",
                "function",
                "-f",
                name,
                "--stage",
                "test",
                "--region",
                "ap-shanghai",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    deploy.network_log = network_log
    return deploy


DEPLOY_BUCKET = "deploy-1250000000"


def _upload(scf_api, **changes):
    """The deployer's COS upload aimed at the emulator (its COS stand-in checks the signature)."""
    return scf_deploy.CosUpload(SECRET_ID, SECRET_KEY, None, None, scf_api.endpoint)._replace(**changes)


def deployed(api, name):
    return api.deployed[(ENV_ID, name)]


def contacted(network_log):
    """host:port of every connection recorded, and every name looked up."""
    if not network_log.exists():
        return set()
    return {line.split(" ", 2)[2] for line in network_log.read_text().splitlines()}


@needs_node
def test_each_function_deploys_as_defined_and_a_second_deploy_changes_nothing(built, scf_api, cli):
    port = scf_api.endpoint.rsplit(":", 1)[1]
    for function in deployment.FUNCTIONS:
        first = cli(function.name)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"Deployed {function.name}: created" in first.stdout
        state = deployed(scf_api, function.name)
        assert (state["Runtime"], state["Handler"], state["Namespace"]) == (
            deployment.RUNTIME,
            deployment.HANDLER,
            ENV_ID,
        )
        assert (state["MemorySize"], state["Timeout"], state["Description"]) == (
            function.memory_mb,
            function.timeout_s,
            function.description,
        )
        assert state["_sha256"] == hashlib.sha256((built / f"{function.name}.zip").read_bytes()).hexdigest()
        # Created as manager-node creates CloudBase functions: stamp, role (SCF injects its keys: the tcb database
        # calls sign with them) and the environment's CLS log topic (DescribeEnvs), through tcb's CreateFunction.
        assert (state["Stamp"], state["Role"]) == ("MINI_QCBASE", "TCB_QcsRole")
        assert (state["ClsLogsetId"], state["ClsTopicId"]) == scf_api.log_services[ENV_ID]
        assert ("tcb:CreateFunction", function.name) in scf_api.actions and (
            "CreateFunction",
            function.name,
        ) not in scf_api.actions
        variables = {v["Key"]: v["Value"] for v in state["Environment"]["Variables"]}
        deploy_values = {"TCB_ENV": ENV_ID, "SCF_API_ENDPOINT": scf_api.endpoint, "TCB_API_ENDPOINT": scf_api.endpoint}
        assert variables == {k: v for k, v in (FUNCTION_VALUES | deploy_values).items() if k in function.variables}
        assert state["VpcConfig"] == {"VpcId": "vpc-8x1k2", "SubnetId": "subnet-5f3a"}
        timers = [t for t in state["_triggers"] if t["Type"] == "timer"]
        assert [json.loads(t["TriggerDesc"])["cron"] for t in timers] == ([function.timer] if function.timer else [])

        again = cli(function.name)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "code unchanged, configuration unchanged" in again.stdout
        assert scf_api.count("UpdateFunctionCode", function.name) == 0
        assert scf_api.count("UpdateFunctionConfiguration", function.name) == 0
        assert scf_api.count("CreateTrigger", function.name) == (1 if function.timer else 0)
        assert len(deployed(scf_api, function.name)["_triggers"]) == (1 if function.timer else 0)
    # Every package above the 1.5 MB inline limit went to the environment's own bucket — no bucket of the user's
    # needed, no GetTempCosInfo — and each code was pulled from there; the second deploys uploaded nothing.
    bucket = scf_api.env_bucket(ENV_ID)
    for request in [r for r in scf_api.tcb_requests if "Code" in r]:
        if "ZipFile" not in request["Code"]:
            assert request["Code"]["CosBucketName"] == bucket.removesuffix("-1250000000")
    uploaded = {key.split("/")[1] for _, key in scf_api.cos.puts}
    assert "genWxacode" in uploaded and len(scf_api.cos.puts) == len(uploaded)
    assert scf_api.count("GetTempCosInfo") == 0
    # Nothing but the emulator: no telemetry, no real-name check, no update check.
    assert contacted(cli.network_log) <= {f"127.0.0.1:{port}", "127.0.0.1"}, contacted(cli.network_log)
    assert any(entry.endswith(port) for entry in contacted(cli.network_log))


@needs_node
def test_a_rebuild_without_source_changes_uploads_nothing(built, scf_api, cli, tmp_path):
    assert cli("dailyFunnel").returncode == 0
    shutil.copyfile(built / "dailyFunnel.zip", tmp_path / "deployed.zip")
    rebuilt = subprocess.run(
        [sys.executable, "tools/build.py", "--only", "dailyFunnel"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    before, after = zipfile.ZipFile(tmp_path / "deployed.zip"), zipfile.ZipFile(built / "dailyFunnel.zip")
    differing = [n for n in before.namelist() if n not in after.namelist() or before.read(n) != after.read(n)]
    added = [n for n in after.namelist() if n not in before.namelist()]
    assert not differing and not added, (differing[:10], added[:10])  # which files a rebuild changed, if any
    again = cli("dailyFunnel")
    assert again.returncode == 0 and "code unchanged" in again.stdout, again.stdout + again.stderr
    assert scf_api.count("UpdateFunctionCode") == 0


@needs_node
def test_changed_code_and_configuration_are_one_upload_and_one_update(built, scf_api, cli, tmp_path):
    assert cli("dailyFunnel").returncode == 0
    original = built / "dailyFunnel.zip"
    kept = tmp_path / "kept.zip"
    shutil.copyfile(original, kept)
    try:
        with zipfile.ZipFile(original, "a") as archive:  # a source change
            archive.writestr("shared/funnel/CHANGED.txt", "v2")
        changed = cli("dailyFunnel", LOG_LEVEL="DEBUG", FUNNEL_WINDOW_DAYS="14")
    finally:
        shutil.copyfile(kept, original)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert "code uploaded, configuration updated, timer unchanged" in changed.stdout
    assert scf_api.count("UpdateFunctionCode") == 1 and scf_api.count("UpdateFunctionConfiguration") == 1
    variables = {v["Key"]: v["Value"] for v in deployed(scf_api, "dailyFunnel")["Environment"]["Variables"]}
    assert variables["LOG_LEVEL"] == "DEBUG" and variables["FUNNEL_WINDOW_DAYS"] == "14"
    assert (
        "shared/funnel/CHANGED.txt" in zipfile.ZipFile(io.BytesIO(deployed(scf_api, "dailyFunnel")["_code"])).namelist()
    )


@needs_node
def test_a_timer_edited_in_the_console_is_put_back_not_duplicated(built, scf_api, cli):
    assert cli("dailyFunnel").returncode == 0
    timer = deployed(scf_api, "dailyFunnel")["_triggers"][0]
    timer.update(TriggerDesc=json.dumps({"cron": "0 0 3 * * * *"}), Enable=0)
    again = cli("dailyFunnel")
    assert again.returncode == 0 and "timer updated" in again.stdout, again.stdout + again.stderr
    assert deployed(scf_api, "dailyFunnel")["_triggers"] == [
        dict(timer, TriggerDesc=json.dumps({"cron": deployment.TIMER_CRON}), Enable=1)
    ]
    assert scf_api.count("CreateTrigger") == 1 and scf_api.count("UpdateTrigger") == 1


@needs_node
@pytest.mark.parametrize(
    "fault,values,expected",
    [
        ("bad credentials", {"TENCENTCLOUD_SECRET_KEY": "not-the-key"}, "AuthFailure.SignatureFailure"),
        ("no credentials", {"TENCENTCLOUD_SECRET_ID": None}, "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY"),
        ("quota", {}, "LimitExceeded.Function"),
        ("no CloudBase environment", {"TCB_ENV": None}, "set TCB_ENV to your CloudBase environment id"),
        ("half a VPC", {"SUBNET_ID": None}, "set both VPC_ID and SUBNET_ID"),
    ],
)
def test_a_failed_step_stops_with_a_clear_message_and_a_non_zero_exit(built, scf_api, cli, fault, values, expected):
    if fault == "quota":
        scf_api.fail_actions["tcb:CreateFunction"] = "LimitExceeded.Function"
    result = cli("recordShare", **values)
    assert result.returncode != 0, result.stdout
    assert expected in result.stdout + result.stderr
    assert "Deploy of recordShare failed" in result.stdout + result.stderr
    assert "Deployed recordShare" not in result.stdout
    assert not scf_api.deployed


@needs_node
def test_an_update_refused_as_in_progress_waits_for_active_and_succeeds(built, scf_api, cli, tmp_path):
    assert cli("recordShare").returncode == 0
    scf_api.busy_once = True
    result = cli("recordShare", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FailedOperation.UpdateFunctionCode" in result.stdout and "code uploaded" in result.stdout
    assert scf_api.rejections.count("FailedOperation.UpdateFunctionCode") == 1


def _client(api, token=None):
    from tencentcloud.common.credential import Credential

    from shared.ops.scf_deploy import scf_client

    return scf_client(Credential(SECRET_ID, SECRET_KEY, token), "ap-shanghai", api.endpoint)


def _tcb(api, token=None):
    from tencentcloud.common.credential import Credential

    return scf_deploy.tcb_client(Credential(SECRET_ID, SECRET_KEY, token), "ap-shanghai", api.endpoint)


def test_a_function_that_never_becomes_active_stops_the_deploy(built, scf_api):
    fn = deployment.function("dailyFunnel")
    desired = scf_deploy.desired_state(fn, {"TCB_ENV": ENV_ID})
    package = (built / "dailyFunnel.zip").read_bytes()
    quiet = scf_deploy.ScfDeployer(
        _client(scf_api),
        say=lambda _: None,
        sleep=lambda _: None,
        tcb=_tcb(scf_api),
        upload=_upload(scf_api),
    )
    quiet.deploy(fn, desired, package, "ap-shanghai")
    scf_api.stuck = True
    deployed(scf_api, "dailyFunnel")["Status"] = "Updating"
    impatient = scf_deploy.ScfDeployer(_client(scf_api), say=lambda _: None, sleep=lambda _: None, wait_s=0.2)
    with pytest.raises(scf_deploy.DeployError, match="still Updating after 0 s; another deploy may be running"):
        impatient.deploy(fn, desired, package, "ap-shanghai", force=True)
    assert scf_api.count("UpdateFunctionCode") == 0


def _big_package(tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("index.py", "def main_handler(event, context):\n    return {}\n")
        archive.writestr("vendor/blob.bin", os.urandom(9 * 1024 * 1024))  # incompressible: 12 MB as base64
    return path


def _deploy_values(monkeypatch, scf_api):
    """The environment `python -m shared.ops.scf_deploy` reads, pointed at the emulator (its COS too)."""
    for key, value in {
        "SCF_API_ENDPOINT": scf_api.endpoint,
        "TCB_API_ENDPOINT": scf_api.endpoint,
        "TENCENTCLOUD_SECRET_ID": SECRET_ID,
        "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
        "TCB_ENV": ENV_ID,
        "DEPLOY_COS_ENDPOINT": scf_api.endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("VPC_ID", "SUBNET_ID", "TENCENTCLOUD_SESSION_TOKEN", "DEPLOY_COS_BUCKET"):
        monkeypatch.delenv(key, raising=False)


def test_a_package_above_the_inline_limit_goes_to_the_environments_own_bucket(scf_api, tmp_path, monkeypatch, capsys):
    """As Tencent's CloudBase toolkit uploads since the temporary COS died: the environment's storage bucket
    (DescribeEnvs), a PUT signed by the deployer, the short bucket name in Code; DEPLOY_COS_BUCKET selects another."""
    big = _big_package(tmp_path)
    _deploy_values(monkeypatch, scf_api)
    args = ["--function", "genWxacode", "--stage", "test", "--region", "ap-shanghai", "--artifact", str(big)]
    assert scf_deploy.main(args) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    bucket = scf_api.env_bucket(ENV_ID)
    assert (
        f"Upload channel: cos://{bucket}/share-funnel-deploy/genWxacode/{digest}.zip (the environment's storage)" in out
    )
    assert deployed(scf_api, "genWxacode")["_sha256"] == digest
    code = scf_api.tcb_requests[-1]["Code"]
    assert code == {
        "CosBucketName": bucket.removesuffix("-1250000000"),
        "CosBucketRegion": "ap-shanghai",
        "CosObjectName": f"/share-funnel-deploy/genWxacode/{digest}.zip",
    }
    assert scf_api.count("GetTempCosInfo") == 0 and scf_api.cos.puts == [(bucket, code["CosObjectName"][1:])]
    assert scf_deploy.main(args) == 0 and "code unchanged" in capsys.readouterr().out
    assert len(scf_api.cos.puts) == 1  # a redeploy with nothing changed uploads nothing

    bigger = _big_package(tmp_path / "again")  # new code, to the user's own bucket this time
    scf_api.cos.buckets.add(DEPLOY_BUCKET)
    monkeypatch.setenv("DEPLOY_COS_BUCKET", DEPLOY_BUCKET)
    args[-1] = str(bigger)
    assert scf_deploy.main(args) == 0, capsys.readouterr()
    digest = hashlib.sha256(bigger.read_bytes()).hexdigest()
    assert (
        f"cos://{DEPLOY_BUCKET}/share-funnel-deploy/genWxacode/{digest}.zip (DEPLOY_COS_BUCKET)"
        in capsys.readouterr().out
    )
    assert deployed(scf_api, "genWxacode")["_sha256"] == digest


def test_temporary_deploy_keys_send_and_sign_their_session_token(scf_api, tmp_path, capsys):
    token = "deployer-session-token"
    api = ScfApiEmulator(
        secret_id=SECRET_ID, secret_key=SECRET_KEY, session_token=token, namespaces=("default", ENV_ID)
    )
    api.start()
    try:
        fn = deployment.function("genWxacode")
        desired = scf_deploy.desired_state(fn, {"TCB_ENV": ENV_ID})
        client, tcb = _client(api, token), _tcb(api, token)
        deployer = scf_deploy.ScfDeployer(
            client, say=lambda _: None, sleep=lambda _: None, tcb=tcb, upload=_upload(api)
        )
        with pytest.raises(scf_deploy.DeployError, match="HTTP 403 \\(InvalidAccessKeyId\\)"):
            deployer.deploy(fn, desired, _big_package(tmp_path).read_bytes(), "ap-shanghai")
        signed = scf_deploy.ScfDeployer(
            client, say=lambda _: None, sleep=lambda _: None, tcb=tcb, upload=_upload(api, session_token=token)
        )
        assert signed.deploy(fn, desired, _big_package(tmp_path / "b").read_bytes(), "ap-shanghai").created
        assert len(api.cos.puts) == 1 and api.cos.refusals == [
            "InvalidAccessKeyId: temporary keys need x-cos-security-token"
        ]
    finally:
        api.stop()


def test_a_forged_upload_signature_is_refused_and_stops_the_deploy(scf_api, tmp_path, monkeypatch, capsys):
    _deploy_values(monkeypatch, scf_api)
    fn = deployment.function("genWxacode")
    desired = scf_deploy.desired_state(fn, {"TCB_ENV": ENV_ID})
    forged = _upload(scf_api, secret_key="not-the-key")
    deployer = scf_deploy.ScfDeployer(_client(scf_api), say=lambda _: None, tcb=_tcb(scf_api), upload=forged)
    with pytest.raises(scf_deploy.DeployError, match="HTTP 403 \\(SignatureDoesNotMatch\\)"):
        deployer.deploy(fn, desired, _big_package(tmp_path).read_bytes(), "ap-shanghai")
    assert not scf_api.deployed and not scf_api.cos.puts


def test_a_bucket_named_with_its_appid_is_not_found_by_the_code_pull(scf_api, tmp_path):
    """SCF appends the APPID to CosBucketName: a name that already carries it points at a bucket that is not there."""
    fn = deployment.function("genWxacode")
    desired = scf_deploy.desired_state(fn, {"TCB_ENV": ENV_ID})
    bucket = scf_api.env_bucket(ENV_ID)
    package = _big_package(tmp_path).read_bytes()
    _upload(scf_api).put(bucket, "ap-shanghai", "pkg.zip", package)
    deployer = scf_deploy.ScfDeployer(_client(scf_api), say=lambda _: None, tcb=_tcb(scf_api))
    code = {"CosBucketName": bucket, "CosBucketRegion": "ap-shanghai", "CosObjectName": "/pkg.zip"}
    with pytest.raises(scf_deploy.DeployError, match="ResourceNotFound.Cos"):
        deployer._call_tcb(
            "CreateFunction",
            EnvId=ENV_ID,
            FunctionName=fn.name,
            Handler="index.main_handler",
            Runtime="Python3.10",
            Code=code,
            Stamp="MINI_QCBASE",
            Role="TCB_QcsRole",
        )
    assert not scf_api.deployed and desired.name == "genWxacode"


def test_the_inline_limit_is_manager_nodes():
    """manager-node sends a package inline only up to 1.5 MB (and refuses more); above it, COS. Ours are all larger."""
    assert scf_deploy.INLINE_ZIP_LIMIT == 1.5 * 1024 * 1024
    assert scf_deploy.INLINE_ZIP_LIMIT * 4 / 3 + 4096 < scf_deploy.INLINE_REQUEST_LIMIT
    assert all(function.zip_budget_mb * 1024 * 1024 > scf_deploy.INLINE_ZIP_LIMIT for function in deployment.FUNCTIONS)


def test_dotenv_values_are_read_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("# comment\nTCB_ENV=from-dotenv\nexport VPC_ID='vpc-1'\nSUBNET_ID=\"subnet-1\"\n")
    (tmp_path / ".env.prod").write_text("TCB_ENV=from-stage-file\n")
    merged = scf_deploy.deploy_environment("prod", {"SUBNET_ID": "subnet-env"}, root=tmp_path)
    assert (merged["TCB_ENV"], merged["VPC_ID"], merged["SUBNET_ID"]) == ("from-stage-file", "vpc-1", "subnet-env")


@needs_node
def test_an_update_still_refused_after_waiting_stops_the_deploy(built, scf_api, cli):
    assert cli("recordShare").returncode == 0
    scf_api.fail_actions["UpdateFunctionCode"] = "FailedOperation.UpdateFunctionCode"
    result = cli("recordShare", "--force")
    assert result.returncode != 0, result.stdout
    assert "UpdateFunctionCode failed: FailedOperation.UpdateFunctionCode" in result.stderr
    assert "another change is still in progress" in result.stderr
    assert scf_api.count("UpdateFunctionCode") == 2  # refused, waited for Active, refused again: stop


@needs_node
def test_make_deploy_is_the_readmes_command(built, scf_api, cli, tmp_path):
    """`make deploy FUNCTION=… STAGE=…` (README, quick start step 5): build, then the same CLI deploy."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TENCENTCLOUD_", "MONGODB_", "TCB_")) and key not in ("DATABASE", "SCF_NAMESPACE")
    }
    from tools.build import python310

    env.update(
        {
            "HOME": str(tmp_path),
            # The same compiler as every other build: with another HOME, pyenv's 3.10 would not be found and this
            # build (it rewrites build/dailyFunnel.zip) would lack bytecode, unlike the session's.
            "PYTHON310": python310() or "",
            "SCF_API_ENDPOINT": scf_api.endpoint,
            "TCB_API_ENDPOINT": scf_api.endpoint,
            "TENCENTCLOUD_SECRET_ID": SECRET_ID,
            "TENCENTCLOUD_SECRET_KEY": SECRET_KEY,
            "TCB_ENV": ENV_ID,
            "MONGODB_URI": FUNCTION_VALUES["MONGODB_URI"],
            "DEPLOY_COS_ENDPOINT": scf_api.endpoint,
        }
    )
    result = subprocess.run(
        ["make", "deploy", "FUNCTION=dailyFunnel", "STAGE=test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Deployed dailyFunnel: created" in result.stdout
    assert (
        deployed(scf_api, "dailyFunnel")["_sha256"]
        == hashlib.sha256((built / "dailyFunnel.zip").read_bytes()).hexdigest()
    )


@needs_node
def test_a_vpc_and_a_variable_set_in_the_console_survive_a_redeploy(built, scf_api, cli):
    assert cli("rewards", VPC_ID=None, SUBNET_ID=None).returncode == 0
    state = deployed(scf_api, "rewards")
    assert state["VpcConfig"] == {"VpcId": "", "SubnetId": ""}  # none configured: none sent
    # What someone does in the CloudBase console afterwards: a VPC for TencentDB for MongoDB, a variable of their own.
    state["VpcConfig"] = {"VpcId": "vpc-console", "SubnetId": "subnet-console"}
    state["Environment"]["Variables"].append({"Key": "TEAM_FLAG", "Value": "on"})
    again = cli("rewards", VPC_ID=None, SUBNET_ID=None, LOG_LEVEL="DEBUG")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "keeping variables set outside this project: TEAM_FLAG" in again.stdout
    state = deployed(scf_api, "rewards")
    assert state["VpcConfig"] == {"VpcId": "vpc-console", "SubnetId": "subnet-console"}
    variables = {v["Key"]: v["Value"] for v in state["Environment"]["Variables"]}
    assert variables["TEAM_FLAG"] == "on" and variables["LOG_LEVEL"] == "DEBUG"


@needs_node
def test_a_variable_no_longer_defined_is_removed_only_with_prune(built, scf_api, cli):
    assert cli("dailyFunnel", FUNNEL_WINDOW_DAYS="14").returncode == 0
    kept = cli("dailyFunnel", FUNNEL_WINDOW_DAYS=None)
    assert kept.returncode == 0 and "no longer sets (remove them with --prune): FUNNEL_WINDOW_DAYS" in kept.stdout
    assert "configuration unchanged" in kept.stdout
    variables = {v["Key"] for v in deployed(scf_api, "dailyFunnel")["Environment"]["Variables"]}
    assert "FUNNEL_WINDOW_DAYS" in variables
    pruned = cli("dailyFunnel", FUNNEL_WINDOW_DAYS=None, DEPLOY_PRUNE="1")
    assert pruned.returncode == 0 and "configuration updated" in pruned.stdout, pruned.stdout + pruned.stderr
    variables = {v["Key"] for v in deployed(scf_api, "dailyFunnel")["Environment"]["Variables"]}
    assert "FUNNEL_WINDOW_DAYS" not in variables and "WECHAT_APPID" in variables
