"""genWxacode's use case: one Mini Program Code per (scene, page, look), generated once and cached.

Order of effects: claim the cache key → WeChat → upload → record. A failed WeChat call or upload releases
the claim and leaves no record; a failed record after upload is retried, and never reported as success.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from shared.platform import log
from shared.platform.clock import Clock
from shared.platform.errors import BadInput, Unavailable
from shared.platform.storage import Storage
from shared.platform.validation import (
    check_document,
    check_field_names,
    require_id,
    require_page,
    require_product_id,
    required,
)
from shared.sharing import ShareClaim, require_channel, scene_for

ENV_VERSIONS = ("release", "trial", "develop")
CLAIM_SECONDS = 60
RECORD_ATTEMPTS = 3


@dataclass(frozen=True)
class CodeLook:
    """Everything besides the scene that changes the image WeChat draws."""

    page: str
    width: int = 430
    env_version: str = "release"
    is_hyaline: bool = False
    auto_color: bool = False
    line_color: tuple[int, int, int] | None = None
    check_path: bool = True


@dataclass(frozen=True)
class CodeRequest:
    product_id: str
    channel: str
    look: CodeLook
    inviter: str | None = None  # another sharer's code: admin only


def _bool(event: Mapping[str, Any], name: str, default: bool) -> bool:
    value = event.get(name, default)
    if not isinstance(value, bool):
        raise BadInput(f"{name} must be true or false", field=name)
    return value


CODE_FIELDS = (
    "productId",
    "page",
    "channel",
    "inviter",
    "width",
    "envVersion",
    "isHyaline",
    "autoColor",
    "lineColor",
    "checkPath",
    "adminToken",
    "batch",
    "jobId",
    "continueJob",
    "resumeKey",
    "resume",
)


def parse_code_request(event: Any, default_page: str) -> CodeRequest:
    if not isinstance(event, Mapping):
        raise BadInput("the event must be an object")
    check_document(event)
    check_field_names(event, CODE_FIELDS)
    product_id = require_product_id(required(event, "productId"))
    page = event.get("page", default_page)
    if isinstance(page, str) and "?" in page:
        raise BadInput("page must not carry a query: parameters belong in the scene", field="page")
    width = event.get("width", 430)
    if isinstance(width, bool) or not isinstance(width, int) or not 280 <= width <= 1280:
        raise BadInput("width must be an integer from 280 to 1280", field="width")
    env_version = event.get("envVersion", "release")
    if env_version not in ENV_VERSIONS:
        raise BadInput(f"envVersion must be one of {', '.join(ENV_VERSIONS)}", field="envVersion")
    channel = require_channel(event.get("channel", "poster"))
    line_color = event.get("lineColor")
    if line_color is not None:
        if (
            not isinstance(line_color, Mapping)
            or set(line_color) != {"r", "g", "b"}
            or not all(
                isinstance(line_color[c], int) and not isinstance(line_color[c], bool) and 0 <= line_color[c] <= 255
                for c in "rgb"
            )
        ):
            raise BadInput("lineColor must be {r, g, b} with integers 0-255", field="lineColor")
        line_color = (line_color["r"], line_color["g"], line_color["b"])
    inviter = event.get("inviter")
    return CodeRequest(
        product_id=product_id,
        channel=channel,
        look=CodeLook(
            page=require_page(page),
            width=width,
            env_version=env_version,
            is_hyaline=_bool(event, "isHyaline", False),
            auto_color=_bool(event, "autoColor", False),
            line_color=line_color,
            check_path=_bool(event, "checkPath", True),
        ),
        inviter=None if inviter is None else require_id(inviter, "inviter"),
    )


def cache_key(appid: str, scene: str, look: CodeLook) -> str:
    identity = {
        "appid": appid,
        "scene": scene,
        "page": look.page,
        "envVersion": look.env_version,
        "width": look.width,
        "autoColor": look.auto_color,
        "lineColor": look.line_color,
        "isHyaline": look.is_hyaline,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def wechat_payload(scene: str, look: CodeLook) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "scene": scene,
        "page": look.page,
        "width": look.width,
        "env_version": look.env_version,
        "check_path": look.check_path,
        "is_hyaline": look.is_hyaline,
        "auto_color": look.auto_color,
    }
    if look.line_color is not None:
        payload["line_color"] = dict(zip("rgb", look.line_color, strict=True))
    return payload


class Made(NamedTuple):
    """A file made for the cache: its bytes, extension, content type and fields the answer carries besides."""

    data: bytes
    extension: str
    content_type: str
    extra: dict[str, Any] = {}


@dataclass
class CodeGenerator:
    appid: str
    wechat: Any
    storage: Storage
    cache: Any
    share_store: Any
    clock: Clock
    wait_for_other_seconds: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    counters: dict[str, int] = field(default_factory=dict)

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def generate(self, claim: ShareClaim, look: CodeLook) -> dict[str, Any]:
        return self.generate_with_image(claim, look)[0]

    def generate_with_image(self, claim: ShareClaim, look: CodeLook) -> tuple[dict[str, Any], bytes | None]:
        """The code's answer, and its image when this call drew it (None when it came from the cache: read it from
        storage), so a poster drawn around a new code does not download what it just uploaded."""
        scene = scene_for(self.share_store, self.clock, claim)
        info = {
            "scene": scene,
            "page": look.page,
            "inviter": claim.inviter,
            "productId": claim.product_id,
            "channel": claim.channel,
        }

        def draw() -> Made:
            image = self.wechat.get_unlimited(wechat_payload(scene, look))
            self._count("wechat_calls")
            return Made(image.data, image.extension, image.content_type)

        return self._produce(cache_key(self.appid, scene, look), "wxacodes", info, draw, "wxacode_generated")

    def produce_once(
        self, key: str, folder: str, info: dict[str, Any], make: Callable[[], Made], event: str
    ) -> dict[str, Any]:
        return self._produce(key, folder, info, make, event)[0]

    def _produce(
        self, key: str, folder: str, info: dict[str, Any], make: Callable[[], Made], event: str
    ) -> tuple[dict[str, Any], bytes | None]:
        """The cached file for ``key``, or: claim the key → ``make`` it → upload under ``folder`` → record. Codes and
        posters share this, so concurrent identical requests make one file and a repeat makes none."""
        cached = self.cache.get(key)
        if cached and cached.get("status") == "done":
            self._count("cache_hits")
            return _response(cached, cached=True), None
        owner = uuid.uuid4().hex
        now = self.clock.now()
        info = {**info, "createdAt": now}
        if not self.cache.claim(key, owner, now, now + dt.timedelta(seconds=CLAIM_SECONDS), info):
            return self._wait_for_other(key), None
        try:
            made = make()
            stored = self.storage.put(f"{folder}/{key[:2]}/{key}.{made.extension}", made.data, made.content_type)
            self._count("uploads")
        except BaseException:
            self.cache.release(key, owner)
            raise
        fields = {
            "fileID": stored.file_id,
            "url": stored.url,
            "key": stored.key,
            "contentType": stored.content_type,
            "bytes": len(made.data),
            "completedAt": self.clock.now(),
            **made.extra,
        }
        self._record(key, owner, fields)
        log.event(
            event,
            scene=info["scene"],
            page=info["page"],
            inviter=info["inviter"],
            key=key[:12],
            contentType=stored.content_type,
        )
        return _response({**info, **fields}, cached=False), made.data

    def _record(self, key: str, owner: str, fields: dict[str, Any]) -> None:
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                if self.cache.complete(key, owner, fields):
                    return
                raise Unavailable("the code's cache claim was lost before it could be recorded")
            except Unavailable:
                if attempt == RECORD_ATTEMPTS:
                    raise
                self.sleep(0.2 * attempt)

    def _wait_for_other(self, key: str) -> dict[str, Any]:
        """Another invocation holds the claim: wait briefly for its result instead of generating twice."""
        deadline = time.monotonic() + self.wait_for_other_seconds
        while True:
            doc = self.cache.get(key)
            if doc and doc.get("status") == "done":
                self._count("cache_hits")
                return _response(doc, cached=True)
            if time.monotonic() >= deadline:
                raise Unavailable("the same code is being generated by another request; retry shortly")
            self.sleep(0.1)


def _response(doc: Mapping[str, Any], cached: bool) -> dict[str, Any]:
    response = {
        "ok": True,
        "fileID": doc["fileID"],
        "scene": doc["scene"],
        "page": doc["page"],
        "contentType": doc["contentType"],
        "cached": cached,
    }
    for name in ("width", "height", "template"):  # posters
        if name in doc:
            response[name] = doc[name]
    if doc.get("url"):
        response["url"] = doc["url"]
    return response
