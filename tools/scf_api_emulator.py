"""A local emulator of the Tencent Cloud SCF API (2018-04-16) over real HTTP on 127.0.0.1.

It checks what the real API checks first — the TC3-HMAC-SHA256 signature with the caller's secret key,
the session token of temporary credentials, action, version and region — then answers:

* ``Invoke``: records asynchronous invocations (a test runs the continuation event through the real handler);
  synchronous (RequestResponse) calls run a registered handler, as the post-deploy smoke test expects.
* the deploy actions, with Tencent's request shapes and a function state machine: ``GetFunction``,
  ``CreateFunction``, ``UpdateFunctionCode`` (inline ``ZipFile``, or a COS object pulled as SCF pulls it: the
  ``CosBucketName`` given plus ``-<appid>``, so a name that already carries its appid is not found),
  ``UpdateFunctionConfiguration``, ``GetFunctionAddress`` (the package's SHA-256), ``ListTriggers``,
  ``CreateTrigger``, ``UpdateTrigger``. A change leaves the function ``Creating``/``Updating`` for
  ``settle_polls`` reads of GetFunction; a change while it is not ``Active`` is refused with
  ``FailedOperation.<Action>``, as SCF does. ``fail_actions`` injects an error code per action, ``busy_once``
  refuses the next code update as "in progress", ``stuck`` never finishes an update.

* COS on the same port (``tools/cos_emulator.py``: requests whose ``Host`` is a COS bucket host, signature checked):
  each CloudBase environment's own storage bucket exists, as ``DescribeEnvs`` reports it, plus ``extra_buckets``.
* ``GetTempCosInfo``, recorded and answered ``InternalError`` — Tencent's CloudBase toolkit recorded it dead (2026-09).

Point ``SCF_API_ENDPOINT`` (and ``DEPLOY_COS_ENDPOINT``) at it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from tools.cos_emulator import CosBuckets, serve
from tools.loopback import LoopbackServer, QuietHandler
from tools.tencent_api import check_tc3, model_faults

MODELS = "tencentcloud.scf.v20180416.models"
TCB_MODELS = "tencentcloud.tcb.v20180608.models"
TCB_ACTIONS = ("CreateFunction", "DescribeEnvs")
TCB_REQUIRED: dict[str, tuple[str, ...]] = {
    "CreateFunctionRequest": ("FunctionName", "EnvId", "Handler", "Runtime", "Code"),
    "DescribeEnvsRequest": (),
    "VariableRequest": ("Key",),
}
# Required fields, from the API documentation (the SDK models do not say).
REQUIRED: dict[str, tuple[str, ...]] = {
    f"{action}Request": ("FunctionName",)
    for action in (
        "GetFunction",
        "CreateFunction",
        "UpdateFunctionCode",
        "UpdateFunctionConfiguration",
        "GetFunctionAddress",
        "ListTriggers",
        "Invoke",
    )
}
REQUIRED.update(
    CreateTriggerRequest=("FunctionName", "TriggerName", "Type"),
    UpdateTriggerRequest=("FunctionName", "TriggerName", "Type"),
    VariableRequest=("Key",),
)

DEPLOY_ACTIONS = {
    "GetFunction",
    "CreateFunction",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "GetFunctionAddress",
    "ListTriggers",
    "CreateTrigger",
    "UpdateTrigger",
}
RUNTIMES = {"Python3.6", "Python3.7", "Python3.9", "Python3.10"}
MEMORY_SIZES = {64, *range(128, 3073, 128)}


class _ApiFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _configuration_faults(request: dict) -> None:
    """Tencent's parameter checks for the fields a deploy sends."""
    if "MemorySize" in request and request["MemorySize"] not in MEMORY_SIZES:
        raise _ApiFault("InvalidParameterValue.MemorySize", f"MemorySize {request['MemorySize']} is not allowed")
    if "Timeout" in request and not (isinstance(request["Timeout"], int) and 1 <= request["Timeout"] <= 900):
        raise _ApiFault("InvalidParameterValue.Timeout", "Timeout must be 1-900")
    variables = (request.get("Environment") or {}).get("Variables", [])
    if not isinstance(variables, list) or not all(
        isinstance(v, dict) and set(v) <= {"Key", "Value"} and v.get("Key") for v in variables
    ):
        raise _ApiFault("InvalidParameterValue.Environment", "Environment.Variables must be [{Key, Value}]")
    if sum(len(v["Key"]) + len(v.get("Value", "")) for v in variables) > 4096:
        raise _ApiFault("InvalidParameterValue.Environment", "environment variables exceed 4 KB")
    vpc = request.get("VpcConfig")
    if vpc is not None and (not isinstance(vpc, dict) or bool(vpc.get("VpcId")) != bool(vpc.get("SubnetId"))):
        raise _ApiFault("InvalidParameterValue.VpcConfig", "VpcId and SubnetId go together")


def _install(state: dict, request: dict) -> None:
    for key in ("Description", "MemorySize", "Timeout"):
        if key in request:
            state[key] = request[key]
    if "Environment" in request:
        state["Environment"] = {"Variables": list(request["Environment"].get("Variables", []))}
    if "VpcConfig" in request:
        state["VpcConfig"] = {
            "VpcId": request["VpcConfig"].get("VpcId", ""),
            "SubnetId": request["VpcConfig"].get("SubnetId", ""),
        }


class _DeployActions:
    """The deploy side of the emulator (mixed into ScfApiEmulator; runs under its lock)."""

    # State kept by ScfApiEmulator.
    namespaces: Any
    deployed: dict[tuple[str, str], dict]
    cos: CosBuckets
    cos_appid: str
    env_bucket: Callable[[str], str]
    _lock: Any
    log_services: dict[str, tuple[str, str]]
    settle_polls: int
    stuck: bool
    busy_once: bool
    actions: list

    def _function(self, request: dict) -> tuple[tuple[str, str], dict]:
        key, state = self._slot(request)
        if state is None:
            raise _ApiFault("ResourceNotFound.Function", f"function {key[1]} does not exist in {key[0]}")
        return key, state

    def _slot(self, request: dict) -> tuple[tuple[str, str], dict | None]:
        name, namespace = request.get("FunctionName"), request.get("Namespace") or "default"
        if not isinstance(name, str) or not name:
            raise _ApiFault("MissingParameter", "FunctionName is required")
        if namespace not in self.namespaces:
            raise _ApiFault("ResourceNotFound.Namespace", f"namespace {namespace} does not exist")
        key = (namespace, name)
        return key, self.deployed.get(key)

    def _package(self, request: dict, code: dict) -> bytes:
        if code.get("ZipFile"):
            try:
                data = base64.b64decode(code["ZipFile"], validate=True)
            except ValueError:
                raise _ApiFault("InvalidParameterValue.ZipFile", "ZipFile is not base64") from None
        elif code.get("CosBucketName") and code.get("CosObjectName"):
            bucket, key = code["CosBucketName"], code["CosObjectName"]
            if not key.startswith("/"):
                raise _ApiFault("InvalidParameterValue.CosObjectName", "CosObjectName starts with /")
            # SCF appends the account's APPID to the name it is given (so a name already ending in it is not found).
            pulled = self.cos.objects.get((f"{bucket}-{self.cos_appid}", key[1:]))
            if pulled is None:
                raise _ApiFault("ResourceNotFound.Cos", f"cos://{bucket}-{self.cos_appid}{key} could not be read")
            data = pulled
        else:
            raise _ApiFault("InvalidParameterValue.Code", "give ZipFile, or CosBucketName and CosObjectName")
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            raise _ApiFault("InvalidParameterValue.ZipFile", "the package is not a zip file") from None
        handler_file = request.get("Handler", "index.main_handler").split(".")[0] + ".py"
        if handler_file not in names:
            raise _ApiFault("InvalidParameterValue.Handler", f"{handler_file} is not at the package root")
        return data

    def _require_active(self, action: str, state: dict) -> None:
        if state["Status"] != "Active":
            raise _ApiFault(
                f"FailedOperation.{action}", f"当前函数处于{state['Status']}状态,无法进行此操作,请稍后重试。"
            )

    def _changing(self, state: dict, status: str) -> None:
        state["Status"], state["_polls"] = status, self.settle_polls

    def _GetFunction(self, request: dict) -> dict:
        _, state = self._function(request)
        if state["Status"] != "Active" and not self.stuck:
            if state["_polls"] <= 0:
                state["Status"] = "Active"
            state["_polls"] -= 1
        return {k: v for k, v in state.items() if not k.startswith("_")}

    def _tcb_DescribeEnvs(self, request: dict) -> dict:
        envs = [ns for ns in sorted(self.log_services) if not request.get("EnvId") or ns == request["EnvId"]]
        return {
            "EnvList": [
                {
                    "EnvId": ns,
                    "LogServices": [{"LogsetId": self.log_services[ns][0], "TopicId": self.log_services[ns][1]}],
                    "Storages": [{"Region": "ap-shanghai", "Bucket": self.env_bucket(ns), "AppId": self.cos_appid}],
                    "Databases": [{"InstanceId": f"tnt-{ns[-8:]}", "Status": "RUNNING", "Region": "ap-shanghai"}],
                }
                for ns in envs
            ],
            "Total": len(envs),
        }

    def _tcb_CreateFunction(self, request: dict) -> dict:
        """CloudBase's CreateFunction (keyed by EnvId): the function lands in the environment's SCF namespace."""
        if request["EnvId"] not in self.log_services:
            raise _ApiFault("ResourceNotFound.EnvNotExist", f"environment {request['EnvId']} does not exist")
        scf_request = {k: v for k, v in request.items() if k not in ("EnvId",)}
        scf_request["Namespace"] = request["EnvId"]
        self._create(scf_request, cloudbase=True)
        return {}

    def _CreateFunction(self, request: dict) -> dict:
        if (request.get("Namespace") or "default") in self.log_services:
            # CloudBase namespaces are reported to require Stamp MINI_QCBASE, which SCF's model cannot carry.
            raise _ApiFault("InvalidParameterValue.Namespace", "create CloudBase functions through tcb CreateFunction")
        self._create(request, cloudbase=False)
        return {}

    def _create(self, request: dict, cloudbase: bool) -> None:
        key, state = self._slot(request)
        if state is not None:
            raise _ApiFault("ResourceInUse.Function", f"function {key[1]} already exists")
        if request.get("Runtime") not in RUNTIMES:
            raise _ApiFault("InvalidParameterValue.Runtime", f"Runtime {request.get('Runtime')} is not supported")
        _configuration_faults(request)
        data = self._package(request, request.get("Code") or {})
        state = {
            "FunctionName": key[1],
            "Namespace": key[0],
            "Runtime": request["Runtime"],
            "Handler": request.get("Handler"),
            "Description": "",
            "MemorySize": 128,
            "Timeout": 3,
            "Environment": {"Variables": []},
            "VpcConfig": {"VpcId": "", "SubnetId": ""},
            "Type": "Event",
            "Role": request.get("Role", ""),
            "Stamp": request.get("Stamp", "") if cloudbase else "",
            "ClsLogsetId": request.get("ClsLogsetId", ""),
            "ClsTopicId": request.get("ClsTopicId", ""),
            "StatusReasons": [],
            "_code": data,
            "_sha256": hashlib.sha256(data).hexdigest(),
            "_triggers": [],
        }
        _install(state, request)
        self.deployed[key] = state
        self._changing(state, "Creating")

    def _UpdateFunctionCode(self, request: dict) -> dict:
        _, state = self._function(request)
        if self.busy_once:
            self.busy_once = False
            self._changing(state, "Updating")
        self._require_active("UpdateFunctionCode", state)
        # The Code object (manager-node's shape, the only one carrying TempCosObjectName) or the top-level fields.
        data = self._package(request, request.get("Code") or request)
        state.update(
            _code=data, _sha256=hashlib.sha256(data).hexdigest(), Handler=request.get("Handler", state["Handler"])
        )
        self._changing(state, "Updating")
        return {}

    def _UpdateFunctionConfiguration(self, request: dict) -> dict:
        _, state = self._function(request)
        self._require_active("UpdateFunctionConfiguration", state)
        _configuration_faults(request)
        _install(state, request)
        self._changing(state, "Updating")
        return {}

    def _GetFunctionAddress(self, request: dict) -> dict:
        _, state = self._function(request)
        return {"Url": f"https://lambdacode.example/{state['FunctionName']}.zip", "CodeSha256": state["_sha256"]}

    def _ListTriggers(self, request: dict) -> dict:
        _, state = self._function(request)
        return {"TotalCount": len(state["_triggers"]), "Triggers": [dict(t) for t in state["_triggers"]]}

    @staticmethod
    def _timer_desc(request: dict) -> str:
        cron = request.get("TriggerDesc")
        if request.get("Type") != "timer" or not isinstance(cron, str) or len(cron.split()) not in (5, 7):
            raise _ApiFault("InvalidParameterValue.TriggerDesc", "a timer's TriggerDesc is its cron expression")
        return json.dumps({"cron": cron})

    def _CreateTrigger(self, request: dict) -> dict:
        _, state = self._function(request)
        if any(t["TriggerName"] == request.get("TriggerName") for t in state["_triggers"]):
            raise _ApiFault("ResourceInUse.Trigger", f"trigger {request.get('TriggerName')} already exists")
        state["_triggers"].append(
            {
                "TriggerName": request.get("TriggerName"),
                "Type": request.get("Type"),
                "TriggerDesc": self._timer_desc(request),
                "Enable": 1 if request.get("Enable", "OPEN") == "OPEN" else 0,
                "Qualifier": request.get("Qualifier") or "$DEFAULT",
            }
        )
        return {"TriggerInfo": dict(state["_triggers"][-1])}

    def _UpdateTrigger(self, request: dict) -> dict:
        _, state = self._function(request)
        for trigger in state["_triggers"]:
            if trigger["TriggerName"] == request.get("TriggerName") and trigger["Type"] == request.get("Type"):
                trigger.update(
                    TriggerDesc=self._timer_desc(request), Enable=1 if request.get("Enable", "OPEN") == "OPEN" else 0
                )
                return {}
        raise _ApiFault("ResourceNotFound.Trigger", f"trigger {request.get('TriggerName')} does not exist")

    # --- what tests read ---
    def count(self, action: str, function: str | None = None) -> int:
        return sum(1 for a, f in self.actions if a == action and (function is None or f == function))


class ScfApiEmulator(_DeployActions):
    def __init__(
        self,
        secret_id: str = "AKIDemulator",
        secret_key: str = "emulator-secret-key",
        session_token: str | None = "emulator-session-token",
        fail_with: str | None = None,
        functions: dict[str, Callable[[dict, dict], Any]] | None = None,
        namespaces: tuple[str, ...] = ("default",),
        settle_polls: int = 1,
        cos_appid: str = "1250000000",
        extra_buckets: tuple[str, ...] = (),
    ) -> None:
        self.secret_id, self.secret_key, self.session_token = secret_id, secret_key, session_token
        self.fail_with = fail_with  # an error Code to answer Invoke with, e.g. "ResourceNotFound.Function"
        self.functions = functions or {}  # name -> handler, run for RequestResponse invocations
        self.invocations: list[dict] = []
        self.rejections: list[str] = []
        # deploy side
        self.namespaces: set[str] = set(namespaces)
        self.deployed: dict[tuple[str, str], dict] = {}  # (namespace, name) -> function state
        self.actions: list[tuple[str, str]] = []  # (action, function) of every authenticated request
        self.fail_actions: dict[str, str] = {}
        self.busy_once = False
        self.stuck = False
        self.settle_polls = settle_polls
        self.cos_appid = cos_appid  # COS buckets are named name-appid; the API names them without the suffix
        self.tcb_requests: list[dict] = []  # CloudBase (tcb) requests as sent, for tests to compare with manager-node
        self.log_services = {ns: ("logset-" + ns, "topic-" + ns) for ns in namespaces if ns != "default"}
        buckets = {self.env_bucket(ns) for ns in self.log_services} | set(extra_buckets)
        self.cos = CosBuckets(secret_id, secret_key, session_token, buckets)
        self._lock = threading.RLock()
        self._server: LoopbackServer | None = None
        self.endpoint = ""

    def start(self) -> str:
        emulator = self

        class Handler(QuietHandler):
            def do_PUT(self):
                if not serve(self, emulator.cos):
                    self.reply(405, b"", {})

            def do_GET(self):
                if not serve(self, emulator.cos):
                    self.reply(405, b"", {})

            def do_HEAD(self):
                if not serve(self, emulator.cos):
                    self.reply(405, b"", {})

            def do_POST(self):
                body = self.read_body()
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = json.dumps({"Response": emulator.handle(headers, body)}).encode()
                self.reply(200, payload, {"Content-Type": "application/json"})

        self._server = LoopbackServer(Handler)
        self.endpoint = self._server.url
        return self.endpoint

    def env_bucket(self, namespace: str) -> str:
        """The environment's own storage bucket, named as CloudBase names them (hex of a prefix, env id, APPID)."""
        return f"{namespace[:2].encode().hex()}-{namespace}-{self.cos_appid}"

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def _reject(self, code: str, message: str, request_id: str) -> dict:
        with self._lock:
            self.rejections.append(code)
        return {"Error": {"Code": code, "Message": message}, "RequestId": request_id}

    def handle(self, headers: dict[str, str], body: bytes) -> dict:
        request_id = str(uuid.uuid4())
        auth = check_tc3(headers, body, self.secret_id, self.secret_key, self.session_token)
        if auth:
            return self._reject(*auth, request_id)
        action = headers.get("x-tc-action", "")
        version = headers.get("x-tc-version")
        tcb = version == "2018-06-08" and action in TCB_ACTIONS  # CloudBase's own function actions (service tcb)
        if version == "2018-04-16" and action == "GetTempCosInfo":  # dead on Tencent's side (the toolkit, 2026-09)
            with self._lock:
                self.actions.append(("GetTempCosInfo", ""))
            return {"Error": {"Code": "InternalError", "Message": "CosTimestamp"}, "RequestId": request_id}
        if not tcb and (version != "2018-04-16" or (action != "Invoke" and action not in DEPLOY_ACTIONS)):
            return self._reject("InvalidAction", f"{action} {version} is not emulated", request_id)
        try:
            request = json.loads(body)
        except ValueError:
            return self._reject("InvalidParameter.PayloadDecodeFailed", "the body is not JSON", request_id)
        # Whatever the real API would refuse is refused here too: checked against Tencent's own SDK model.
        fault = (
            model_faults(TCB_MODELS, action, request, TCB_REQUIRED)
            if tcb
            else model_faults(MODELS, action, request, REQUIRED)
        )
        if fault:
            return self._reject(*fault, request_id)
        if tcb:
            with self._lock:
                self.actions.append((f"tcb:{action}", request.get("FunctionName", "")))
                self.tcb_requests.append(request)
                if f"tcb:{action}" in self.fail_actions:
                    return self._reject(self.fail_actions[f"tcb:{action}"], "injected failure", request_id)
                try:
                    return {**getattr(self, f"_tcb_{action}")(request), "RequestId": request_id}
                except _ApiFault as fault_:
                    self.rejections.append(fault_.code)
                    return {"Error": {"Code": fault_.code, "Message": fault_.message}, "RequestId": request_id}
        if action != "Invoke":
            with self._lock:
                self.actions.append((action, request.get("FunctionName", "")))
                if action in self.fail_actions:
                    return self._reject(self.fail_actions[action], "injected failure", request_id)
                try:
                    return {**getattr(self, f"_{action}")(request), "RequestId": request_id}
                except _ApiFault as refused:
                    self.rejections.append(refused.code)
                    return {"Error": {"Code": refused.code, "Message": refused.message}, "RequestId": request_id}
        if self.fail_with:
            return self._reject(self.fail_with, "injected failure", request_id)
        if request.get("InvocationType", "RequestResponse") == "RequestResponse":
            handler = self.functions.get(request.get("FunctionName"))
            if handler is None:
                return self._reject("ResourceNotFound.Function", "no such function", request_id)
            event = json.loads(request.get("ClientContext") or "{}")
            context = {
                "function_name": request.get("FunctionName"),
                "request_id": request_id,
                "namespace": request.get("Namespace") or "default",
                "time_limit_in_ms": 3000,
                "tencentcloud_region": headers.get("x-tc-region"),
                "environment": "{}",
            }
            try:
                response, outcome, error = handler(event, context), 0, ""
            except Exception as exc:  # the platform reports a crashed invocation, it does not raise
                response, outcome, error = None, 1, f"{type(exc).__name__}: {exc}"
            return {
                "Result": {
                    "FunctionRequestId": request_id,
                    "InvokeResult": outcome,
                    "ErrMsg": error,
                    "RetMsg": json.dumps(response),
                    "Duration": 1.0,
                    "BillDuration": 1,
                    "MemUsage": 0,
                    "Log": "",
                },
                "RequestId": request_id,
            }
        with self._lock:
            self.invocations.append(
                {
                    "region": headers.get("x-tc-region"),
                    "function": request.get("FunctionName"),
                    "namespace": request.get("Namespace"),
                    "type": request.get("InvocationType"),
                    "event": json.loads(request.get("ClientContext") or "{}"),
                }
            )
        return {"Result": {"FunctionRequestId": str(uuid.uuid4()), "InvokeResult": 0}, "RequestId": request_id}
