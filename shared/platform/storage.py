"""Storage port for what functions publish (genWxacode's codes, dailyFunnel's dashboard), with three adapters:

* ``tcb`` — CloudBase storage via ``tcb/uploadfile`` and the COS form POST (requests only); returns the
  ``cloud://`` fileID a mini program can show directly;
* ``cos`` — COS through its S3 API with boto3 (virtual-host addressing, checksums only when required),
  imported lazily so functions that never upload never load boto3;
* ``local`` — a directory, for the demo.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from shared.platform.errors import ConfigError, MissingFile, StorageError, WeChatError
from shared.platform.storage_settings import StorageSettings

TEMPORARY_URL_SECONDS = 2 * 3600  # how long a link handed to an operator stays valid
READ_LINK_SECONDS = 600  # a download link asked for only to read the file at once
FILE_MISSING = -503003  # tcb/batchdownloadfile's per-file status for a file that does not exist

UPLOAD_TIMEOUT = (3.05, 20)
COS_ATTEMPTS = 2  # with UPLOAD_TIMEOUT: a COS outage is answered within 46 s, inside CloudBase's 60 s limit
# The longest an upload can take to fail (one CloudBase upload, or every COS attempt), for the deployment check.
UPLOAD_WORST_S = max(sum(UPLOAD_TIMEOUT), COS_ATTEMPTS * sum(UPLOAD_TIMEOUT))


class StoredObject(NamedTuple):  # a NamedTuple: no dataclasses import at dailyFunnel's cold start
    file_id: str
    url: str | None
    key: str
    content_type: str


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> StoredObject: ...

    def temporary_url(self, stored: StoredObject) -> str: ...

    def read(self, file_id: str, limit: int) -> bytes:
        """A stored file's bytes (posters read templates' images, avatars and codes): ``MissingFile`` when it is
        not there or larger than ``limit`` bytes, ``StorageError`` when storage cannot answer."""
        ...


def open_storage(settings: StorageSettings, wechat: Any = None) -> Storage:
    """The adapter for the configured backend (``wechat``: the WeChat client, needed by CloudBase storage)."""
    if settings.backend == "tcb":
        return TcbStorage(wechat, _required(settings.tcb_env, "TCB_ENV"))
    if settings.backend == "cos":
        return CosStorage(
            _required(settings.cos_bucket, "COS_BUCKET"),
            _required(settings.cos_region, "COS_REGION"),
            settings.cos_endpoint,
        )
    return LocalStorage(_required(settings.local_dir, "LOCAL_STORAGE_DIR"))


def _required(value: str | None, variable: str) -> str:
    # Settings read from the environment are validated at cold start; ones built by hand (ops scripts) are not.
    if not value:
        raise ConfigError(f"{variable} is required for this storage backend")
    return value


class LocalStorage:
    def __init__(self, directory: str) -> None:
        import pathlib  # lazy: only the local backend (the demo) needs it

        self.root = pathlib.Path(directory)

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        path = self.root / key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as exc:
            raise StorageError(f"could not write {key} under {self.root}") from exc
        return StoredObject(file_id=f"local://{key}", url=path.resolve().as_uri(), key=key, content_type=content_type)

    def temporary_url(self, stored: StoredObject) -> str:
        return (self.root / stored.key).resolve().as_uri()

    def read(self, file_id: str, limit: int) -> bytes:
        key = file_id[len("local://") :] if file_id.startswith("local://") else None
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise MissingFile(f"{file_id!r} is not a file of this storage")
        path = self.root / key
        try:
            size = path.stat().st_size
            if size > limit:
                raise MissingFile(f"{file_id} is {size} bytes, above the {limit} allowed", reason="too_large")
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise MissingFile(f"{file_id} is not in storage") from exc
        except OSError as exc:
            raise StorageError(f"could not read {key} under {self.root}") from exc


class TcbStorage:
    def __init__(self, wechat: Any, env: str, session: Any = None) -> None:
        import requests  # lazy: platform stays import-light; only CloudBase uploads need it

        self._wechat, self._env = wechat, env
        self._session = session or requests.Session()

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        ticket = self._wechat.tcb_upload_ticket(self._env, key)
        form = {
            "key": key,
            "Signature": ticket["authorization"],
            "x-cos-security-token": ticket["token"],
            "x-cos-meta-fileid": ticket["cos_file_id"],
            "Content-Type": content_type,
        }
        try:
            response = self._session.post(
                ticket["url"],
                data=form,
                files={"file": (key.rsplit("/", 1)[-1], data, content_type)},
                timeout=UPLOAD_TIMEOUT,
            )
        except Exception as exc:  # requests' errors (requests is imported lazily, so not named here)
            if not _is_requests_error(exc):
                raise
            raise StorageError("CloudBase storage upload failed") from exc
        if response.status_code not in (200, 204):
            raise StorageError(f"CloudBase storage upload failed with HTTP {response.status_code}")
        return StoredObject(file_id=ticket["file_id"], url=None, key=key, content_type=content_type)

    def temporary_url(self, stored: StoredObject) -> str:
        """A download link for a CloudBase file (``tcb/batchdownloadfile``), valid TEMPORARY_URL_SECONDS."""
        return self._wechat.tcb_download_url(self._env, stored.file_id, TEMPORARY_URL_SECONDS)

    def read(self, file_id: str, limit: int) -> bytes:
        """A ``cloud://`` file of this environment: a download link, then the bytes, read no further than ``limit``."""
        if not file_id.startswith(f"cloud://{self._env}."):
            raise MissingFile(f"{file_id!r} is not a file of the CloudBase environment {self._env}")
        try:
            url = self._wechat.tcb_download_url(self._env, file_id, READ_LINK_SECONDS)
        except WeChatError as exc:
            if exc.errcode == FILE_MISSING:
                raise MissingFile(f"{file_id} is not in storage") from exc
            raise
        return _download(self._session, url, file_id, limit)


def _download(session: Any, url: str, name: str, limit: int) -> bytes:
    """GET ``url`` streamed, refusing a body above ``limit`` bytes before reading it all."""
    try:
        with session.get(url, stream=True, timeout=UPLOAD_TIMEOUT) as response:
            if response.status_code in (403, 404):
                raise MissingFile(f"{name} is not in storage")
            if response.status_code != 200:
                raise StorageError(f"reading {name} failed with HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if max(declared, len(body)) > limit:
                    raise MissingFile(f"{name} is larger than the {limit} bytes allowed", reason="too_large")
            return bytes(body)
    except Exception as exc:  # requests' errors (requests is imported lazily, so not named here)
        if not _is_requests_error(exc):
            raise
        raise StorageError(f"reading {name} failed") from exc


def _is_requests_error(exc: Exception) -> bool:
    import requests

    return isinstance(exc, requests.RequestException)


class CosStorage:
    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint: str | None = None,
        credentials: tuple[str, str, str | None] | None = None,
    ) -> None:
        self.bucket, self.region = bucket, region
        self.endpoint = endpoint or f"https://cos.{region}.myqcloud.com"
        self._credentials = credentials  # (id, key, token); None: boto3's own chain, as in the function
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3  # lazy: only the cos backend pays boto3's import time
            from botocore.config import Config

            keys = (
                dict(
                    zip(
                        ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"),
                        self._credentials,
                        strict=True,
                    )
                )
                if self._credentials
                else {}
            )
            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                region_name=self.region,
                **keys,
                config=Config(
                    s3={"addressing_style": "virtual"},  # COS buckets created since 2024 refuse path style
                    request_checksum_calculation="when_required",  # COS supports boto3's default CRC32 only partly
                    response_checksum_validation="when_required",
                    retries={"max_attempts": COS_ATTEMPTS, "mode": "standard"},
                    connect_timeout=UPLOAD_TIMEOUT[0],
                    read_timeout=UPLOAD_TIMEOUT[1],
                ),
            )
        return self._client

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        try:
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError as exc:
            raise StorageError("the cos storage backend needs boto3 in the function package") from exc
        try:
            self._s3().put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"COS upload of {key} failed") from exc
        url = f"https://{self.bucket}.cos.{self.region}.myqcloud.com/{key}"
        return StoredObject(file_id=f"cos://{self.bucket}/{key}", url=url, key=key, content_type=content_type)

    def temporary_url(self, stored: StoredObject) -> str:
        """A presigned GET link (computed locally, no request), valid TEMPORARY_URL_SECONDS: buckets are private."""
        try:
            from botocore.exceptions import BotoCoreError
        except ImportError as exc:
            raise StorageError("the cos storage backend needs boto3 in the function package") from exc
        try:
            return self._s3().generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": stored.key}, ExpiresIn=TEMPORARY_URL_SECONDS
            )
        except BotoCoreError as exc:
            raise StorageError(f"no link for {stored.key}") from exc

    def read(self, file_id: str, limit: int) -> bytes:
        prefix = f"cos://{self.bucket}/"
        if not file_id.startswith(prefix):
            raise MissingFile(f"{file_id!r} is not a file of the COS bucket {self.bucket}")
        key = file_id[len(prefix) :]
        try:
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError as exc:
            raise StorageError("the cos storage backend needs boto3 in the function package") from exc
        try:
            answer = self._s3().get_object(Bucket=self.bucket, Key=key)
            if answer.get("ContentLength", 0) > limit:
                answer["Body"].close()
                raise MissingFile(f"{file_id} is larger than the {limit} bytes allowed", reason="too_large")
            return bytes(answer["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "AccessDenied", "403"):
                raise MissingFile(f"{file_id} is not in storage") from exc
            raise StorageError(f"COS read of {key} failed") from exc
        except BotoCoreError as exc:
            raise StorageError(f"COS read of {key} failed") from exc
