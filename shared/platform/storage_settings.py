"""Which storage a function publishes to (read at cold start, without loading the adapters in
``shared/platform/storage.py``)."""

from __future__ import annotations

from typing import NamedTuple

from shared.platform.config import ENV_TCB_ENV, EnvReader, environment_id

ENV_STORAGE_BACKEND = "STORAGE_BACKEND"
ENV_COS_BUCKET = "COS_BUCKET"
ENV_COS_REGION = "COS_REGION"
ENV_COS_ENDPOINT = "COS_ENDPOINT"
ENV_LOCAL_STORAGE_DIR = "LOCAL_STORAGE_DIR"
VARIABLES = (ENV_STORAGE_BACKEND, ENV_TCB_ENV, ENV_COS_BUCKET, ENV_COS_REGION, ENV_COS_ENDPOINT, ENV_LOCAL_STORAGE_DIR)
BACKENDS = ("tcb", "cos", "local")


class StorageSettings(NamedTuple):
    backend: str
    tcb_env: str | None = None
    cos_bucket: str | None = None
    cos_region: str | None = None
    cos_endpoint: str | None = None
    local_dir: str | None = None


def read_storage_settings(read: EnvReader, default_backend: str | None = "tcb") -> StorageSettings | None:
    """The storage configuration, with a problem recorded (named by variable) for each missing piece; None when
    no backend is chosen and there is no default."""
    backend = read.text(ENV_STORAGE_BACKEND, default_backend)
    if backend is None:
        return None
    if backend not in BACKENDS:
        read.problems.append(f"{ENV_STORAGE_BACKEND} must be one of {', '.join(BACKENDS)}")
    return StorageSettings(
        backend=backend,
        tcb_env=environment_id(read) or read.text(ENV_TCB_ENV, None, backend == "tcb"),
        cos_bucket=read.text(ENV_COS_BUCKET, None, backend == "cos"),
        cos_region=read.text(ENV_COS_REGION, None, backend == "cos"),
        cos_endpoint=read.text(ENV_COS_ENDPOINT),
        local_dir=read.text(ENV_LOCAL_STORAGE_DIR, None, backend == "local"),
    )
