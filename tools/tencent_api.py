"""What every Tencent Cloud API emulator of ours checks first, with Tencent's own code where it exists.

* ``check_tc3``: the TC3-HMAC-SHA256 signature with the caller's secret key and the session token of temporary
  credentials (the checks the real gateway makes before any action runs).
* ``model_faults``: a request body checked against the ``tencentcloud-sdk-python`` model class of its action
  (``tencentcloud.<service>.<version>.models.<Action>Request``): an unknown field, a value of the wrong type (the
  models document each field's type in their docstrings) or a missing required field is answered the way the API
  answers it (``UnknownParameter``, ``InvalidParameter``, ``MissingParameter``). The models do not say which fields
  are required; the emulators pass that from the API documentation.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import re
from functools import cache
from typing import Any


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tc3_signature(
    secret_key: str, service: str, headers: dict[str, str], body: bytes, signed: list[str], timestamp: int, date: str
) -> str:
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    canonical = "\n".join(["POST", "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def check_tc3(
    headers: dict[str, str], body: bytes, secret_id: str, secret_key: str, session_token: str | None
) -> tuple[str, str] | None:
    """None when the request is signed by ``secret_id``/``secret_key`` (and carries the session token of temporary
    credentials); else the API's (code, message). ``headers`` have lower-case names."""
    try:
        algorithm, rest = headers.get("authorization", "").split(" ", 1)
        parts = dict(item.strip().split("=", 1) for item in rest.split(","))
        request_secret_id, date, service, _ = parts["Credential"].split("/")
        signed = parts["SignedHeaders"].split(";")
        timestamp = int(headers["x-tc-timestamp"])
        expected = tc3_signature(secret_key, service, headers, body, signed, timestamp, date)
    except (ValueError, KeyError):
        return "AuthFailure.SignatureFailure", "malformed Authorization"
    if algorithm != "TC3-HMAC-SHA256" or request_secret_id != secret_id:
        return "AuthFailure.SecretIdNotFound", "unknown SecretId"
    if not hmac.compare_digest(expected, parts.get("Signature", "")):
        return "AuthFailure.SignatureFailure", "signature mismatch"
    if session_token is not None and headers.get("x-tc-token") != session_token:
        return "AuthFailure.TokenFailure", "temporary credentials need their token"
    return None


_TYPE = re.compile(r":type (\w+): (.+)")
_CLASS = re.compile(r":class:`tencentcloud\.\w+\.\w+\.models\.(\w+)`")


@cache
def _fields(models_module: str, class_name: str) -> dict[str, str]:
    """Field name → documented type of a model class (from its ``__init__`` docstring)."""
    cls = getattr(importlib.import_module(models_module), class_name)
    return dict(_TYPE.findall(cls.__init__.__doc__ or ""))


def _type_fault(models_module: str, path: str, declared: str, value: Any) -> tuple[str, str] | None:
    declared = declared.strip()
    if value is None:
        return None
    if declared.startswith("list of "):
        if not isinstance(value, list):
            return "InvalidParameter", f"{path} must be an array"
        for index, item in enumerate(value):
            fault = _type_fault(models_module, f"{path}.{index}", declared[len("list of ") :], item)
            if fault:
                return fault
        return None
    scalars: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float), "bool": bool}
    scalar = scalars.get(declared)
    if scalar is not None:
        ok = isinstance(value, scalar) and not (declared in ("int", "float") and isinstance(value, bool))
        return None if ok else ("InvalidParameter", f"{path} must be of type {declared}")
    nested = _CLASS.search(declared)
    name = nested.group(1) if nested else declared
    try:
        _fields(models_module, name)
    except AttributeError:
        return None  # a type the docstring names in a way we do not parse: not checked
    if not isinstance(value, dict):
        return "InvalidParameter", f"{path} must be an object"
    return _object_faults(models_module, name, value, path)


def _object_faults(models_module: str, class_name: str, value: dict, path: str) -> tuple[str, str] | None:
    fields = _fields(models_module, class_name)
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in fields:
            return "UnknownParameter", f"The parameter `{where}` is not recognized"
        fault = _type_fault(models_module, where, fields[key], item)
        if fault:
            return fault
    return None


def model_faults(
    models_module: str, action: str, request: Any, required: dict[str, tuple[str, ...]] | None = None
) -> tuple[str, str] | None:
    """The API's (code, message) for a request its SDK model would not carry, or None.

    ``required``: model class name → the fields the API documentation marks required (checked at any depth).
    """
    if not isinstance(request, dict):
        return "InvalidParameter.PayloadDecodeFailed", "the body must be a JSON object"
    fault = _object_faults(models_module, f"{action}Request", request, "")
    if fault:
        return fault
    return _missing(models_module, f"{action}Request", request, "", required or {})


def _missing(
    models_module: str, class_name: str, value: dict, path: str, required: dict[str, tuple[str, ...]]
) -> tuple[str, str] | None:
    for field in required.get(class_name, ()):
        if value.get(field) in (None, ""):
            return "MissingParameter", f"The request is missing a required parameter `{path + field}`"
    for key, declared in _fields(models_module, class_name).items():
        item = value.get(key)
        nested = _CLASS.search(declared)
        name = nested.group(1) if nested else declared.replace("list of ", "").strip()
        if name not in required or item is None:
            continue
        for index, element in enumerate(item if isinstance(item, list) else [item]):
            fault = _missing(models_module, name, element, f"{path}{key}.{index}.", required)
            if fault:
                return fault
    return None
