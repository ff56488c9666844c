"""Deploy one function through SCF's cloud API only: ``python -m shared.ops.scf_deploy --function recordShare``.

The Serverless Framework runs this (tools/serverless/tencent-scf-api.js) for ``serverless deploy function -f X``;
every request is TC3-signed by tencentcloud-sdk-python (already pinned for batch continuations) and goes to
``SCF_API_ENDPOINT`` (default ``scf.tencentcloudapi.com``; ``http://host:port`` for a local emulator) or, for a
package too large to send inline, to COS. Nothing else is contacted: no telemetry, no real-name check.

Steps, each waiting for the function to be ``Active`` first (SCF refuses changes while one is in progress):

1. ``GetFunction``; missing → CloudBase's own ``CreateFunction`` (service tcb, keyed by ``EnvId``) with code and
   configuration and the fields every official CloudBase tool sends (``Stamp: MINI_QCBASE``, ``Role: TCB_QcsRole``,
   the environment's CLS log set and topic from ``DescribeEnvs``), done. Why tcb and not SCF's CreateFunction, as
   manager-node calls it: SCF's typed model cannot carry ``Stamp`` (it drops unknown fields), while tcb's
   ``CreateFunctionRequest`` types all of them, so the request is checked by Tencent's own model here and in the
   emulator. Updates and triggers stay on SCF's typed API, as manager-node's do.
2. Code: ``GetFunctionAddress`` gives the deployed package's SHA-256; only a different one is uploaded
   (``UpdateFunctionCode``). Builds are reproducible, so rebuilding unchanged sources uploads nothing. A package up to
   1.5 MB goes inline (manager-node's limit); a larger one goes to the **environment's own storage bucket**
   (``DescribeEnvs`` → ``Storages[0]``; ``DEPLOY_COS_BUCKET`` names another), PUT with COS's own signature by the
   deployer's keys (``x-cos-security-token`` sent and signed for temporary keys), and ``Code`` names it as Tencent's
   CloudBase toolkit does: the bucket without ``-appid`` (SCF appends it), its region, ``/<object>``. Why not
   ``GetTempCosInfo`` as manager-node: the toolkit recorded it, the build-service upload and the temporary bucket
   dead in September 2026 (the newest evidence; ``DEPLOY_COS_ENDPOINT`` points every upload elsewhere, e.g. tests).
3. Configuration: ``UpdateFunctionConfiguration`` only when what this project owns differs from what
   ``GetFunction`` reports: description, memory, timeout; the variables it sets, merged into the function's own (a
   variable set in the console is kept, and listed; one this project used to set and no longer does is removed only
   with ``--prune``); the VPC only when ``VPC_ID``/``SUBNET_ID`` are configured (never detached).
4. Timer: ``ListTriggers``; created when missing, updated when its cron or state differs, never duplicated.

Any failed step stops the deploy with the API's code, message and request id, and a non-zero exit.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import pathlib
import re
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from shared.ops.deployment import (
    CLOUDBASE_ENV,
    FUNCTIONS,
    HANDLER,
    RUNTIME,
    TIMER_NAME,
    Function,
    function,
    timeout_problems,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENV_ENDPOINT = "SCF_API_ENDPOINT"
ENV_VPC_ID, ENV_SUBNET_ID = "VPC_ID", "SUBNET_ID"
ENV_DEPLOY_BUCKET = "DEPLOY_COS_BUCKET"  # another bucket than the environment's own for packages above the inline limit
ENV_DEPLOY_COS_ENDPOINT = "DEPLOY_COS_ENDPOINT"  # override of https://<bucket>.cos.<region>.myqcloud.com (tests)
PACKAGE_PREFIX = "share-funnel-deploy"  # our key prefix in the bucket: <prefix>/<function>/<sha256>.zip
CREDENTIAL_VARIABLES = ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN")
DEPLOY_VARIABLES = CREDENTIAL_VARIABLES + (
    CLOUDBASE_ENV,
    ENV_VPC_ID,
    ENV_SUBNET_ID,
    ENV_ENDPOINT,
    ENV_DEPLOY_BUCKET,
    ENV_DEPLOY_COS_ENDPOINT,
)
# A TC3-signed POST may carry at most 10 MB (the API's request limit, tighter than ZipFile's documented 20 MB):
# larger packages go through COS.
INLINE_REQUEST_LIMIT = 10 * 1024 * 1024
# manager-node refuses an inline ZipFile above 1.5 MB ("ZipFile 上传不能大于 1.5MB，请使用 COS 上传方式") and sends larger
# packages through COS: the same limit here, whatever the request could carry.
INLINE_ZIP_LIMIT = 1536 * 1024
ENVIRONMENT_LIMIT = 4096  # SCF: all of a function's variables together, in bytes
FAILED_STATES = {"CreateFailed", "UpdateFailed", "PublishFailed", "DeleteFailed", "Deleting"}

CLOUDBASE_ROLE = "TCB_QcsRole"  # the execution role of CloudBase functions (manager-node's CreateFunction)
CLOUDBASE_STAMP = "MINI_QCBASE"  # what marks a CloudBase function (manager-node sends it on every create)
ENV_TCB_ENDPOINT = "TCB_API_ENDPOINT"  # the tcb API host (default tcb.tencentcloudapi.com; an emulator in tests)
# Every variable this project sets on some function: what a deploy may remove (with --prune) when no longer defined.
OUR_VARIABLES = frozenset(name for fn in FUNCTIONS for name in fn.variables)


_APPID_SUFFIX = re.compile(r"-\d{6,}$")


class DeployError(Exception):
    """A step failed; the message says which, why, and what to do."""


class Desired(NamedTuple):
    name: str
    namespace: str
    description: str
    memory_mb: int
    timeout_s: int
    variables: dict[str, str]
    vpc: dict[str, str] | None
    timer: str | None


class Report(NamedTuple):
    created: bool
    code_uploaded: bool
    configuration_updated: bool
    timer: str  # "created" | "updated" | "unchanged" | "none"
    channel: str = "none"  # how the code went: "inline" | "cos://<bucket>/<key> (…)" | "none" (unchanged)


class CosUpload(NamedTuple):
    """Who uploads large packages, and where: the deployer's keys; DEPLOY_COS_BUCKET or the environment's bucket."""

    secret_id: str
    secret_key: str
    session_token: str | None
    bucket: str | None  # DEPLOY_COS_BUCKET (name-appid); None: the environment's own storage bucket
    endpoint: str | None  # DEPLOY_COS_ENDPOINT: every upload goes there (the Host stays the bucket's)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CosUpload:
        return cls(
            env.get("TENCENTCLOUD_SECRET_ID", ""),
            env.get("TENCENTCLOUD_SECRET_KEY", ""),
            env.get("TENCENTCLOUD_SESSION_TOKEN") or None,
            env.get(ENV_DEPLOY_BUCKET, "").strip() or None,
            env.get(ENV_DEPLOY_COS_ENDPOINT, "").strip() or None,
        )

    def put(self, bucket: str, region: str, key: str, data: bytes) -> None:
        """One object PUT, signed with COS's own signature by Tencent's COS SDK (its signer, our request)."""
        import requests
        from qcloud_cos import CosConfig
        from qcloud_cos.cos_auth import CosS3Auth

        host = f"{bucket}.cos.{region}.myqcloud.com"
        headers = {"Host": host, "Content-Type": "application/zip"}
        if self.session_token:
            headers["x-cos-security-token"] = self.session_token  # sent and signed (an x-cos- header)
        config = CosConfig(Region=region, SecretId=self.secret_id, SecretKey=self.secret_key, Token=self.session_token)
        url = f"{(self.endpoint or f'https://{host}').rstrip('/')}/{key}"
        try:
            response = requests.put(url, data=data, headers=headers, auth=CosS3Auth(config, key), timeout=(5, 300))
        except requests.RequestException as exc:
            raise DeployError(f"uploading to cos://{bucket}/{key} failed: {exc}") from exc
        if response.status_code != 200:
            detail = re.search(r"<Code>([^<]+)</Code>", response.text or "")
            raise DeployError(
                f"uploading to cos://{bucket}/{key} failed with HTTP {response.status_code}"
                + (f" ({detail.group(1)})" if detail else "")
                + f": the deploy keys need cos:PutObject on {bucket} (or set {ENV_DEPLOY_BUCKET} to a bucket they may write)"
            )


def read_dotenv(path: pathlib.Path) -> dict[str, str]:
    """``KEY=value`` lines of a .env file (``#`` comments, optional quotes, ``export`` prefix), as dotenv reads them."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def deploy_environment(stage: str, env: Mapping[str, str] | None = None, root: pathlib.Path = ROOT) -> dict[str, str]:
    """The process environment over ``.env.<stage>`` over ``.env`` (what the Serverless Framework's useDotenv and
    CloudBase's CLI read), so ``make smoke`` sees the same values as the deploy."""
    merged = {**read_dotenv(root / ".env"), **read_dotenv(root / f".env.{stage}")}
    merged.update(os.environ if env is None else env)
    return merged


def credential(env: Mapping[str, str]) -> Any:
    """One credentials scheme for deploy and smoke: TENCENTCLOUD_SECRET_ID / _KEY (/ _SESSION_TOKEN), as the
    Tencent SDKs and tccli read them."""
    from tencentcloud.common.credential import Credential

    secret_id, secret_key = env.get("TENCENTCLOUD_SECRET_ID"), env.get("TENCENTCLOUD_SECRET_KEY")
    if not secret_id or not secret_key:
        raise DeployError(
            "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (an API key of the account; "
            "TENCENTCLOUD_SESSION_TOKEN too for temporary keys), e.g. in .env"
        )
    return Credential(secret_id, secret_key, env.get("TENCENTCLOUD_SESSION_TOKEN") or None)


def desired_state(fn: Function, env: Mapping[str, str]) -> Desired:
    """What the deployed function must look like: shared/ops/deployment.py plus the deployer's environment."""
    namespace = env.get(CLOUDBASE_ENV, "").strip()
    if not namespace:
        raise DeployError(
            f"set {CLOUDBASE_ENV} to your CloudBase environment id: {fn.name} must live in it, "
            "because wx.cloud.callFunction reaches only functions there"
        )
    variables = {name: env[name] for name in fn.variables if env.get(name)}  # unset: the function's default
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > ENVIRONMENT_LIMIT:
        raise DeployError(f"{fn.name}: its environment variables take {size} bytes; SCF accepts {ENVIRONMENT_LIMIT}")
    vpc_id, subnet_id = env.get(ENV_VPC_ID, "").strip(), env.get(ENV_SUBNET_ID, "").strip()
    if bool(vpc_id) != bool(subnet_id):
        raise DeployError(f"set both {ENV_VPC_ID} and {ENV_SUBNET_ID} (the VPC of your MongoDB), or neither")
    return Desired(
        fn.name,
        namespace,
        fn.description,
        fn.memory_mb,
        fn.timeout_s,
        variables,
        {"VpcId": vpc_id, "SubnetId": subnet_id} if vpc_id else None,
        fn.timer,
    )


def _timer_cron(trigger_desc: Any) -> str | None:
    """A timer's cron from a trigger description: ``{"cron": "…"}`` as the API reports it, or the bare expression."""
    if not isinstance(trigger_desc, str):
        return None
    try:
        parsed = json.loads(trigger_desc)
    except ValueError:
        return trigger_desc.strip()
    return parsed.get("cron") if isinstance(parsed, dict) else None


def _enabled(value: Any) -> bool:
    return value in (1, "1", "OPEN", True)


class ScfDeployer:
    """Brings one function in line with its definition through the SCF API (an SDK ``ScfClient``)."""

    def __init__(
        self,
        client: Any,
        say: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
        wait_s: float = 300.0,
        poll_s: float = 0.5,
        upload: CosUpload | None = None,
        tcb: Any = None,
        prune: bool = False,
    ) -> None:
        from tencentcloud.scf.v20180416 import models

        self._client, self._models, self._say, self._sleep = client, models, say, sleep
        self._wait_s, self._poll_s = wait_s, poll_s
        self._upload = upload
        self._tcb, self._prune = tcb, prune
        self._described: dict[str, list[Any]] = {}
        self.channel = "none"

    # --- API plumbing ----------------------------------------------------------------------------------------
    def _call(self, action: str, **fields: Any) -> Any:
        return self._send(self._client, self._models, action, fields)

    def _call_tcb(self, action: str, **fields: Any) -> Any:
        from tencentcloud.tcb.v20180608 import models

        if self._tcb is None:
            raise DeployError("no tcb API client: CloudBase functions are created through the tcb API")
        return self._send(self._tcb, models, action, fields)

    @staticmethod
    def _send(client: Any, models: Any, action: str, fields: Mapping[str, Any]) -> Any:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        request = getattr(models, f"{action}Request")()
        request._deserialize({k: v for k, v in fields.items() if v is not None})
        try:
            return getattr(client, action)(request)
        except TencentCloudSDKException as exc:
            raise _ApiError(action, exc.get_code() or "", exc.get_message() or "", exc.get_request_id() or "") from exc

    def _get(self, desired: Desired) -> Any | None:
        try:
            return self._call("GetFunction", FunctionName=desired.name, Namespace=desired.namespace)
        except _ApiError as exc:
            if exc.code.startswith("ResourceNotFound"):
                return None
            raise

    def _wait_active(self, desired: Desired) -> Any:
        """The function once it is Active; a failed state or a deadline stops the deploy."""
        started, pause = time.monotonic(), self._poll_s
        while True:
            current = self._get(desired)
            if current is None:
                raise DeployError(f"{desired.name} disappeared from namespace {desired.namespace} during the deploy")
            if current.Status == "Active":
                return current
            if current.Status in FAILED_STATES:
                reasons = "; ".join(f"{r.ErrorCode}: {r.ErrorMessage}" for r in (current.StatusReasons or []))
                raise DeployError(
                    f"{desired.name} is {current.Status}: {reasons or current.StatusDesc or 'no reason given'}"
                )
            if time.monotonic() - started > self._wait_s:
                raise DeployError(
                    f"{desired.name} is still {current.Status} after {self._wait_s:.0f} s; another "
                    "deploy may be running (SCF refuses changes until it is Active): try again later"
                )
            self._sleep(pause)
            pause = min(pause * 2, 5.0)  # most changes settle within seconds; a long one is polled gently

    # --- what the function should be ---------------------------------------------------------------------------
    @staticmethod
    def _environment(variables: Mapping[str, str]) -> dict[str, Any]:
        return {"Variables": [{"Key": k, "Value": v} for k, v in sorted(variables.items())]}

    def _variables(self, current: Any, desired: Desired) -> dict[str, str]:
        """Ours set; the console's kept (and said); ours no longer defined removed only with --prune."""
        deployed = {v.Key: v.Value for v in ((current.Environment and current.Environment.Variables) or [])}
        kept = sorted(name for name in deployed if name not in OUR_VARIABLES)
        stale = sorted(name for name in deployed if name in OUR_VARIABLES and name not in desired.variables)
        if kept:
            self._say(f"  keeping variables set outside this project: {', '.join(kept)}")
        if stale and not self._prune:
            self._say(f"  keeping variables this project no longer sets (remove them with --prune): {', '.join(stale)}")
        merged = {name: value for name, value in deployed.items() if not (self._prune and name in stale)}
        merged.update(desired.variables)
        return merged

    def _configuration(self, desired: Desired, variables: Mapping[str, str]) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "Description": desired.description,
            "MemorySize": desired.memory_mb,
            "Timeout": desired.timeout_s,
            "Environment": self._environment(variables),
        }
        if desired.vpc:  # only when configured: an update without it keeps a VPC set in the console
            fields["VpcConfig"] = desired.vpc
        return fields

    @staticmethod
    def _configuration_differs(current: Any, desired: Desired, variables: Mapping[str, str]) -> list[str]:
        deployed_vars = {v.Key: v.Value for v in ((current.Environment and current.Environment.Variables) or [])}
        vpc = current.VpcConfig
        deployed_vpc = {"VpcId": (vpc and vpc.VpcId) or "", "SubnetId": (vpc and vpc.SubnetId) or ""}
        changes = [
            name
            for name, now, wanted in (
                ("description", current.Description or "", desired.description),
                ("memory", current.MemorySize, desired.memory_mb),
                ("timeout", current.Timeout, desired.timeout_s),
                ("environment", deployed_vars, dict(variables)),
                ("vpc", deployed_vpc, desired.vpc or deployed_vpc),
            )
            if now != wanted
        ]
        return changes

    def _code(self, desired: Desired, package: bytes, digest: str, region: str) -> dict[str, Any]:
        encoded = base64.b64encode(package).decode()
        if len(package) <= INLINE_ZIP_LIMIT and len(encoded) + 4096 <= INLINE_REQUEST_LIMIT:
            self.channel = "inline"
            return {"ZipFile": encoded}
        if self._upload is None:
            raise DeployError(f"{desired.name}'s package is above the inline limit and no COS upload is configured")
        if self._upload.bucket:
            bucket, bucket_region, whose = self._upload.bucket, region, ENV_DEPLOY_BUCKET
        else:
            bucket, bucket_region = self._environment_bucket(desired.namespace)
            whose = "the environment's storage"
        key = f"{PACKAGE_PREFIX}/{desired.name}/{digest}.zip"
        self._upload.put(bucket, bucket_region, key, package)
        self.channel = f"cos://{bucket}/{key} ({whose})"
        self._say(f"  uploaded {len(package) / 1e6:.1f} MB to {self.channel}")
        # As the toolkit names it: the bucket without its -appid suffix (SCF appends it), the region, "/<object>".
        return {
            "CosBucketName": _APPID_SUFFIX.sub("", bucket),
            "CosBucketRegion": bucket_region,
            "CosObjectName": "/" + key,
        }

    def _environment_bucket(self, env_id: str) -> tuple[str, str]:
        """The environment's own storage bucket and its region (DescribeEnvs → Storages[0])."""
        storages = [s for env in self._environments(env_id) if env.EnvId == env_id for s in (env.Storages or [])]
        if not storages or not storages[0].Bucket:
            raise DeployError(
                f"the environment {env_id} reports no storage bucket (DescribeEnvs): open 云存储 once in the "
                f"CloudBase console, or set {ENV_DEPLOY_BUCKET} to a bucket (name-appid) in its region"
            )
        return str(storages[0].Bucket), str(storages[0].Region or "ap-shanghai")

    # --- the deploy --------------------------------------------------------------------------------------------
    def deploy(self, fn: Function, desired: Desired, package: bytes, region: str, force: bool = False) -> Report:
        digest = hashlib.sha256(package).hexdigest()
        current = self._get(desired)
        if current is None:
            self._say(
                f"  creating {desired.name} in namespace {desired.namespace} ({len(package) / 1e6:.2f} MB, "
                f"sha256 {digest[:12]})"
            )
            answer = self._call_tcb(
                "CreateFunction",
                EnvId=desired.namespace,
                FunctionName=desired.name,
                Handler=HANDLER,
                Runtime=RUNTIME,
                Code=self._code(desired, package, digest, region),
                Type="Event",
                InstallDependency="FALSE",
                # What every official CloudBase tool sends on create (manager-node): the stamp that marks a
                # CloudBase function, the role it runs as (SCF injects its temporary keys, which the CloudBase
                # database backend and batch continuations sign with), and the environment's CLS log topic.
                Stamp=CLOUDBASE_STAMP,
                Role=CLOUDBASE_ROLE,
                **self._log_topic(desired.namespace),
                **self._configuration(desired, desired.variables),
            )
            if answer.SCFErrorCode:
                raise DeployError(f"CreateFunction failed: {answer.SCFErrorCode}: {answer.SCFErrorMsg}")
            self._wait_active(desired)
            return Report(True, True, True, self._timer(desired), self.channel)
        if current.Status != "Active":
            current = self._wait_active(desired)
        if current.Runtime != RUNTIME:
            raise DeployError(
                f"{desired.name} runs {current.Runtime}; SCF cannot change a function's runtime in "
                f"place to {RUNTIME}: delete it in the console, then deploy again"
            )
        deployed = self._call("GetFunctionAddress", FunctionName=desired.name, Namespace=desired.namespace).CodeSha256
        uploaded = force or deployed != digest or current.Handler != HANDLER
        if uploaded:
            self._say(
                f"  updating code ({len(package) / 1e6:.2f} MB, sha256 {digest[:12]}, deployed "
                f"{(deployed or 'unknown')[:12]})"
            )
            self._with_retry_when_busy(
                desired,
                lambda: self._call(
                    "UpdateFunctionCode",
                    FunctionName=desired.name,
                    Namespace=desired.namespace,
                    Handler=HANDLER,
                    InstallDependency="FALSE",
                    Code=self._code(desired, package, digest, region),  # manager-node's shape: the Code object
                ),
            )
            current = self._wait_active(desired)
        else:
            self._say(f"  code unchanged (sha256 {digest[:12]})")
        variables = self._variables(current, desired)
        changes = self._configuration_differs(current, desired, variables)
        if changes:
            self._say(f"  updating configuration: {', '.join(changes)}")
            self._with_retry_when_busy(
                desired,
                lambda: self._call(
                    "UpdateFunctionConfiguration",
                    FunctionName=desired.name,
                    Namespace=desired.namespace,
                    **self._configuration(desired, variables),
                ),
            )
            self._wait_active(desired)
        else:
            self._say("  configuration unchanged")
        return Report(False, uploaded, bool(changes), self._timer(desired), self.channel)

    def _environments(self, env_id: str) -> list[Any]:
        """DescribeEnvs for the environment, asked once per deploy (its storage bucket and log topic come from it)."""
        if env_id not in self._described:
            self._described[env_id] = self._call_tcb("DescribeEnvs", EnvId=env_id).EnvList or []
        return self._described[env_id]

    def _log_topic(self, env_id: str) -> dict[str, str]:
        """The environment's CLS log set and topic (so logs show in the CloudBase console), as manager-node reads
        them from the environment's description; none known → let the platform create one."""
        envs = self._environments(env_id)
        services = [s for env in envs if env.EnvId == env_id for s in (env.LogServices or [])]
        if services and services[0].LogsetId and services[0].TopicId:
            return {"ClsLogsetId": services[0].LogsetId, "ClsTopicId": services[0].TopicId}
        return {"AutoCreateClsTopic": "TRUE"}

    def _with_retry_when_busy(self, desired: Desired, step: Callable[[], Any]) -> Any:
        """Run a change; refused because another change is in progress → wait for Active and try once more."""
        try:
            return step()
        except _ApiError as exc:
            if not exc.code.startswith("FailedOperation"):
                raise
            self._say(f"  {exc.code}: {exc.message} — waiting for {desired.name} to be Active")
            self._wait_active(desired)
            return step()

    def _timer(self, desired: Desired) -> str:
        if not desired.timer:
            return "none"
        listed = self._call("ListTriggers", FunctionName=desired.name, Namespace=desired.namespace, Limit=100)
        timers = [t for t in (listed.Triggers or []) if t.Type == "timer" and t.TriggerName == TIMER_NAME]
        if not timers:
            self._say(f"  creating timer {TIMER_NAME} ({desired.timer})")
            self._call(
                "CreateTrigger",
                FunctionName=desired.name,
                Namespace=desired.namespace,
                TriggerName=TIMER_NAME,
                Type="timer",
                TriggerDesc=desired.timer,
                Enable="OPEN",
                Qualifier="$DEFAULT",
            )
            return "created"
        timer = timers[0]
        if _timer_cron(timer.TriggerDesc) == desired.timer and _enabled(timer.Enable):
            self._say(f"  timer {TIMER_NAME} unchanged ({desired.timer})")
            return "unchanged"
        self._say(f"  updating timer {TIMER_NAME} to {desired.timer}")
        self._call(
            "UpdateTrigger",
            FunctionName=desired.name,
            Namespace=desired.namespace,
            TriggerName=TIMER_NAME,
            Type="timer",
            TriggerDesc=desired.timer,
            Enable="OPEN",
            Qualifier=timer.Qualifier or "$DEFAULT",
        )
        return "updated"


class _ApiError(DeployError):
    HINTS = (
        (
            "AuthFailure",
            "check TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (and TENCENTCLOUD_SESSION_TOKEN "
            "for temporary keys)",
        ),
        (
            "UnauthorizedOperation",
            "the API key lacks SCF permissions (QcloudSCFFullAccess, or scf:* on these functions)",
        ),
        ("LimitExceeded", "an account quota was reached: raise it in the SCF console or remove unused functions"),
        (
            "ClientNetworkError",
            "the API could not be reached: check SCF_API_ENDPOINT, TCB_API_ENDPOINT and the network",
        ),
        ("FailedOperation", "another change is still in progress: try again when the function is Active"),
    )

    def __init__(self, action: str, code: str, message: str, request_id: str) -> None:
        hint = next((text for prefix, text in self.HINTS if code.startswith(prefix)), "")
        super().__init__(
            f"{action} failed: {code}: {message}"
            + (f" (RequestId {request_id})" if request_id else "")
            + (f" — {hint}" if hint else "")
        )
        self.action, self.code, self.message = action, code, message


def scf_client(credential: Any, region: str, endpoint: str | None = None, timeout: int = 60) -> Any:
    """An SCF API client of the SDK (the deployer and ``make smoke``); ``endpoint`` overrides the host (``http://``
    only for a local emulator)."""
    from tencentcloud.scf.v20180416.scf_client import ScfClient

    from shared.platform.cloud_api import client_profile

    return ScfClient(credential, region, client_profile(endpoint, timeout))


def tcb_client(cred: Any, region: str, endpoint: str | None = None, timeout: int = 30) -> Any:
    """A tcb API client; ``endpoint`` overrides the host (``http://`` only for a local emulator)."""
    from tencentcloud.tcb.v20180608.tcb_client import TcbClient

    from shared.platform.cloud_api import client_profile

    return TcbClient(cred, region, client_profile(endpoint, timeout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.ops.scf_deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--function", required=True, choices=[f.name for f in FUNCTIONS])
    parser.add_argument("--stage", default="dev", help="reads .env.<stage> over .env")
    parser.add_argument("--region", default=None, help="default: TENCENTCLOUD_REGION or ap-shanghai")
    parser.add_argument("--artifact", help="the package (default build/<function>.zip, from `make build`)")
    parser.add_argument("--force", action="store_true", help="upload the code even when the deployed digest matches")
    parser.add_argument(
        "--prune", action="store_true", help="remove variables this project used to set and no longer defines"
    )
    args = parser.parse_args(argv)
    env = deploy_environment(args.stage)
    region = args.region or env.get("TENCENTCLOUD_REGION") or "ap-shanghai"
    fn = function(args.function)
    artifact = pathlib.Path(args.artifact or ROOT / "build" / f"{fn.name}.zip")
    try:
        problems = [p for p in timeout_problems() if p.startswith(f"{fn.name}:")]
        if problems:
            raise DeployError("; ".join(problems))
        if not artifact.is_file():
            raise DeployError(f"{artifact} is missing: run `make build` first")
        desired = desired_state(fn, env)
        endpoint = env.get(ENV_ENDPOINT) or None
        client = scf_client(credential(env), region, endpoint, timeout=30)
        print(
            f"Deploying {fn.name} to namespace {desired.namespace} in {region} through "
            f"{endpoint or 'scf.tencentcloudapi.com'}"
        )
        tcb = tcb_client(credential(env), region, env.get(ENV_TCB_ENDPOINT) or None)
        deployer = ScfDeployer(client, upload=CosUpload.from_env(env), tcb=tcb, prune=args.prune)
        report = deployer.deploy(fn, desired, artifact.read_bytes(), region, force=args.force)
    except DeployError as exc:
        print(f"Deploy of {fn.name} failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"Deployed {fn.name}: "
        + (
            "created"
            if report.created
            else ", ".join(
                (
                    "code uploaded" if report.code_uploaded else "code unchanged",
                    "configuration updated" if report.configuration_updated else "configuration unchanged",
                    f"timer {report.timer}" if report.timer != "none" else "no timer",
                )
            )
        )
    )
    print(f"Upload channel: {report.channel}")  # what "make smoke" and the first-deployment checklist ask for
    record_deploy(args.stage, fn.name, report)
    return 0


def deploy_record_path(stage: str) -> pathlib.Path:
    return ROOT / "build" / f"deploy-record.{stage}.json"


def record_deploy(stage: str, function_name: str, report: Report) -> None:
    """What the last deploy of each function did (its upload channel), for ``make smoke`` to report."""
    path = deploy_record_path(stage)
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        record = {}
    if report.channel != "none" or function_name not in record:
        record[function_name] = {"channel": report.channel, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
