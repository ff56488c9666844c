"""A local WeChat API emulator over real HTTP on 127.0.0.1: the product's own test double and dev tool.

Implements what genWxacode uses, the way WeChat behaves:
* ``POST /cgi-bin/stable_token`` — the same token while it is valid (normal mode), a new one near expiry
  or with ``force_refresh`` (counted, so tests can assert it is never used);
* ``POST /wxa/getwxacodeunlimit`` — validates scene/page/width/env_version like WeChat and returns a real
  image (a QR code of page+scene): JPEG by default, PNG with ``is_hyaline``, Content-Type image/jpeg either
  way; errors are JSON with HTTP 200 and a ``rid``;
* ``POST /tcb/uploadfile`` + the COS form POST it points at (stores the bytes, answers 204);
  ``POST /tcb/batchdownloadfile`` → temporary links (``GET /download/<path>?sign=…``) to stored files;
* ``POST /wxa/generate_urllink``, ``/wxa/generatescheme``, ``/wxa/genwxashortlink`` — links from outside a chat card,
  checked as WeChat documents them (published page: 40165 / 40066, query ≤ 1024 characters of its allowed set:
  40212, expiry within 30 days: 85401 / 85402, title ≤ 64: 40225) under the daily quotas (500 000 links and schemes
  together, 1 000 000 short links: 45009; 100 000 permanent short links ever: 85400); ``open_link(link)`` is the
  mini program opening one: its page, query and launch scene (1194, 1065, 1179);
* ``POST /wxa/getopendata?access_token=…&openid=…`` — resolves cloudIDs it issued (``issue_group_cloud_id``: a
  group card opened through ``wx.getGroupEnterInfo`` → ``opengid``/``chat_type``, the older ``wx.getShareInfo`` →
  ``openGId``, or a single chat → ``open_single_roomid``) into ``data_list[].json``, as a JSON string by default or
  an object (``json_as_object``), with a ``watermark``; expired (-601006 after 5 minutes), other-openid and unknown
  cloudIDs fail per item.

Faults are switchable (``expire_token()`` / ``expire_token_after(n)`` end the current token): ``emulator.fail_next("rate_limited", times=3)`` with kinds ``expired_token``,
``rate_limited`` (45009), ``system_error`` (-1), ``http_500``, ``garbage``, ``storage_500``, and for getopendata
``opendata_500``, ``opendata_garbage``, ``opendata_system_error``; and
``emulator.latency = 0.05`` seconds per request.

    python tools/wechat_emulator.py --port 8089     # run it by hand; WECHAT_API_BASE=http://127.0.0.1:8089
    curl http://127.0.0.1:8089/__emulator/calls     # call counters
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import threading
import time
from collections import Counter, defaultdict
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, urlparse

from tools.loopback import LoopbackServer, QuietHandler

LINK_QUERY_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~%")
LINK_SCENES = {"urllink": 1194, "scheme": 1065, "shortlink": 1179}  # launch scenes (WeChat's scene list)
WECHAT_SCENE_CHARS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~")


def render_code(page: str, scene: str, width: int, png: bool) -> bytes:
    """A scannable QR code of ``page?scene=…``, ``width`` pixels square. A fixed mask pattern skips the
    library's slow best-mask search (~9 ms → ~2 ms), so the emulator keeps up with a batch at WeChat's cap."""
    import qrcode  # dev dependency: only the emulator draws images
    from PIL import Image

    qr = qrcode.QRCode(border=2, mask_pattern=0)
    qr.add_data(f"{page}?scene={scene}")
    qr.make(fit=True)
    matrix = qr.get_matrix()
    size = len(matrix)
    image = Image.frombytes("L", (size, size), bytes(0 if dark else 255 for row in matrix for dark in row))
    image = image.resize((width, width), Image.Resampling.NEAREST).convert("RGBA" if png else "RGB")
    out = io.BytesIO()
    image.save(out, format="PNG" if png else "JPEG", quality=85)
    return out.getvalue()


class WeChatEmulator:
    def __init__(
        self,
        appid: str = "wx3c5e7a9b1d2f4a6c",
        secret: str = "emulator-secret",
        tcb_env: str = "prod-4g8x2k1d9e0f3a5b",
        token_ttl: int = 7200,
        published_pages=("pages/product/product", "pages/index/index"),
    ) -> None:
        self.appid, self.secret, self.tcb_env = appid, secret, tcb_env
        self.token_ttl = token_ttl
        self.published_pages = set(published_pages)
        self.latency = 0.0
        self.calls: Counter = Counter()
        self.forced_refreshes = 0
        self.files: dict[str, bytes] = {}
        self.file_meta: dict[str, dict] = {}
        self._faults: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0
        self._expire_after: int | None = None
        self._tickets: dict[str, dict] = {}
        self._downloads: dict[str, str] = {}  # sign -> path of a temporary link
        self._cloud_ids: dict[str, dict] = {}
        self.json_as_object = False  # getopendata's ``json`` as an object instead of a JSON string (both documented)
        self.refusing_users: set = set()  # subscribe/send answers 43101 for these openids
        self.messages: list = []  # subscribe messages delivered
        self.link_quota = {"links": 500_000, "shortlinks": 1_000_000, "permanent": 100_000}
        self.links_made: Counter = Counter()  # per quota bucket, today (an emulator's day is its lifetime)
        self.links: dict[str, dict] = {}  # link → {kind, path, query}
        self.code_times: list[float] = []  # time.monotonic() of each code drawn, for rate-cap checks
        self.risky_words = {"违禁", "forbidden"}  # msg_sec_check answers "risky" for text holding one of these
        self.text_checks: list = []  # msg_sec_check requests as sent
        self.risk_ranks: dict[str, int] = {}  # getuserriskrank's answer per openid (0 when absent)
        self.risk_checks: list = []  # getuserriskrank requests as sent
        self._server: LoopbackServer | None = None
        self.base_url = ""

    # --- control -------------------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        emulator = self

        class Handler(QuietHandler):
            def do_GET(self):  # control: the call counters, for a test or benchmark in another process
                if self.path == "/__emulator/calls":
                    self.reply(200, json.dumps(dict(emulator.calls)).encode(), {"Content-Type": "application/json"})
                elif self.path.startswith("/download/"):  # a temporary link from tcb/batchdownloadfile
                    status, headers, payload = emulator.download(self.path)
                    self.reply(status, payload, headers)
                else:
                    self.reply(404, b"{}", {"Content-Type": "application/json"})

            def do_POST(self):
                status, headers, payload = emulator.handle(self.path, dict(self.headers), self.read_body())
                self.reply(status, payload, headers)

        self._server = LoopbackServer(Handler, port)
        self.base_url = self._server.url
        return self.base_url

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self._lock:
            self._faults[kind] += times

    def expire_token(self) -> None:
        """The current token stops working now (as if it expired); stable_token will issue a new one."""
        with self._lock:
            self._token_expires = 0.0

    def expire_token_after(self, codes: int) -> None:
        """The current token expires once ``codes`` more codes have been drawn (mid-batch expiry)."""
        with self._lock:
            self._expire_after = codes

    def reset(self) -> None:
        with self._lock:
            self._expire_after = None
            self.calls.clear()
            self._faults.clear()
            self.files.clear()
            self.file_meta.clear()
            self.latency = 0.0
            self.forced_refreshes = 0
            self._cloud_ids.clear()
            self.json_as_object = False
            self.refusing_users.clear()
            self.messages.clear()
            self.links_made.clear()
            self.links.clear()
            self.code_times.clear()
            self.text_checks.clear()
            self.risk_ranks.clear()
            self.risk_checks.clear()

    def _take_fault(self, *kinds: str) -> str | None:
        with self._lock:
            for kind in kinds:
                if self._faults[kind] > 0:
                    self._faults[kind] -= 1
                    return kind
        return None

    # --- HTTP ----------------------------------------------------------------------------------------
    def handle(self, raw_path: str, headers: dict, body: bytes):
        if self.latency:
            time.sleep(self.latency)
        url = urlparse(raw_path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        route = {
            "/cgi-bin/stable_token": self._stable_token,
            "/wxa/getwxacodeunlimit": self._unlimited,
            "/tcb/uploadfile": self._uploadfile,
            "/tcb/batchdownloadfile": self._batchdownloadfile,
            "/wxa/getopendata": self._getopendata,
            "/cgi-bin/message/subscribe/send": self._subscribe_send,
            "/wxa/msg_sec_check": self._msg_sec_check,
            "/wxa/getuserriskrank": self._risk_rank,
            "/wxa/generate_urllink": lambda query, body: self._link("urllink", query, body),
            "/wxa/generatescheme": lambda query, body: self._link("scheme", query, body),
            "/wxa/genwxashortlink": lambda query, body: self._link("shortlink", query, body),
        }.get(url.path)
        if route is not None:
            self.calls[url.path.rsplit("/", 1)[-1]] += 1
            return route(query, body)
        if url.path.startswith("/cos/"):
            self.calls["cos_post"] += 1
            return self._cos_post(headers, body)
        return 404, {"Content-Type": "text/plain"}, b"not found"

    @staticmethod
    def _json(payload: dict, status: int = 200):
        return status, {"Content-Type": "application/json; encoding=utf-8"}, json.dumps(payload).encode()

    def _error(self, errcode: int, errmsg: str):
        return self._json(
            {"errcode": errcode, "errmsg": f"{errmsg} rid: {secrets.token_hex(4)}-{secrets.token_hex(4)}"}
        )

    def _stable_token(self, query, body):
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self._error(47001, "data format error")
        if request.get("grant_type") != "client_credential" or request.get("appid") != self.appid:
            return self._error(40013, "invalid appid")
        if request.get("secret") != self.secret:
            return self._error(40125, "invalid appsecret")
        with self._lock:
            now = time.time()
            if request.get("force_refresh"):
                self.forced_refreshes += 1
            if request.get("force_refresh") or self._token is None or self._token_expires - now < 300:
                self._token = "ACCESS_TOKEN_" + secrets.token_urlsafe(24)
                self._token_expires = now + self.token_ttl
            return self._json({"access_token": self._token, "expires_in": int(self._token_expires - now)})

    def _check_token(self, query):
        token = query.get("access_token")
        if self._take_fault("expired_token"):
            return self._error(42001, "access_token expired")
        with self._lock:
            valid = token is not None and token == self._token and time.time() < self._token_expires
        if not token:
            return self._error(41001, "access_token missing")
        if not valid:
            return self._error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    def _unlimited(self, query, body):
        failure = self._check_token(query)
        if failure:
            return failure
        fault = self._take_fault("rate_limited", "system_error", "http_500", "garbage")
        if fault == "rate_limited":
            return self._error(45009, "reach max api daily quota limit")
        if fault == "system_error":
            return self._error(-1, "system error")
        if fault == "http_500":
            return 500, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
        if fault == "garbage":
            return 200, {"Content-Type": "image/jpeg"}, b"\x00\x01garbage"
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError
        except ValueError:
            return self._error(40169, "invalid length for scene, or the data is not json string")
        scene = request.get("scene")
        if not isinstance(scene, str) or not 1 <= len(scene) <= 32:
            return self._error(40169, "invalid length for scene, or the data is not json string")
        if not set(scene) <= WECHAT_SCENE_CHARS:
            return self._error(40129, "invalid scene")
        if "scancode_time" in request:
            return self._error(85096, "not allow include scancode_time field")
        page = request.get("page", "pages/index/index")
        if not isinstance(page, str) or page.startswith("/") or "?" in page:
            return self._error(41030, "invalid page")
        if request.get("check_path", True) and page not in self.published_pages:
            return self._error(41030, "invalid page")
        width = request.get("width", 430)
        if not isinstance(width, int) or not 280 <= width <= 1280:
            return self._error(40097, "invalid args")
        if request.get("env_version", "release") not in ("release", "trial", "develop"):
            return self._error(40097, "invalid args")
        data = render_code(page, scene, width, png=bool(request.get("is_hyaline")))
        with self._lock:
            self.code_times.append(time.monotonic())
            if self._expire_after is not None:
                self._expire_after -= 1
                if self._expire_after <= 0:
                    self._token_expires, self._expire_after = 0.0, None
        return 200, {"Content-Type": "image/jpeg"}, data  # image/jpeg even for PNG, as WeChat does

    # --- open data (group attribution) ----------------------------------------------------------------
    # --- links from outside a chat card -----------------------------------------------------------------------
    def _link(self, kind: str, query, body):
        error = self._check_token(query)
        if error:
            return error
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self._error(47001, "data format error")
        if not isinstance(request, dict):
            return self._error(47001, "data format error")
        if kind == "shortlink":
            page_url = request.get("page_url")
            if not isinstance(page_url, str) or len(page_url) > 1024:
                return self._error(40066, "invalid url")
            path, _, link_query = page_url.partition("?")
            title = request.get("page_title", "")
            if not isinstance(title, str) or len(title) > 64:
                return self._error(40225, "invalid page title")
            permanent = request.get("is_permanent") is True
            if path.lstrip("/") not in self.published_pages:
                return self._error(40066, "invalid url: no such page in the published version")
            buckets = ["shortlinks"] + (["permanent"] if permanent else [])
        else:
            target = request.get("jump_wxa", {}) if kind == "scheme" else request
            if not isinstance(target, dict):
                return self._error(40097, "invalid args")
            path, link_query = target.get("path", ""), target.get("query", "")
            if not isinstance(path, str) or not isinstance(link_query, str):
                return self._error(40097, "invalid args")
            if target.get("env_version", "release") == "release" and path and path not in self.published_pages:
                return self._error(40165, "invalid weapp pagepath")
            if len(link_query) > 1024 or not set(link_query) <= LINK_QUERY_CHARS:
                return self._error(40212, "invalid query")
            if request.get("expire_type") == 1:
                interval = request.get("expire_interval")
                if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 30:
                    return self._error(85402, "invalid expire interval: 1 to 30 days")
            else:
                expire_time = request.get("expire_time")
                if not isinstance(expire_time, int) or not 60 <= expire_time - time.time() <= 30 * 86400:
                    return self._error(85401, "invalid expire time: 1 minute to 30 days from now")
            buckets = ["links"]
        if self._take_fault("link_quota"):
            return self._error(45009, "reach max api daily quota limit")
        with self._lock:
            if any(self.links_made[bucket] >= self.link_quota[bucket] for bucket in buckets):
                spent = "permanent" in buckets and self.links_made["permanent"] >= self.link_quota["permanent"]
                return self._error(85400 if spent else 45009, "reach max quota limit")
            for bucket in buckets:
                self.links_made[bucket] += 1
            token = secrets.token_urlsafe(12)
            link = {
                "urllink": f"https://wxaurl.cn/{token}",
                "scheme": f"weixin://dl/business/?t={token}",
                "shortlink": f"#小程序://示例小程序/{token}",
            }[kind]
            self.links[link] = {"kind": kind, "path": path.lstrip("/"), "query": link_query}
        field = {"urllink": "url_link", "scheme": "openlink", "shortlink": "link"}[kind]
        return self._json({"errcode": 0, "errmsg": "ok", field: link})

    def open_link(self, link: str) -> dict:
        """What the mini program's page gets when someone opens ``link``: its path, the query as ``onLoad`` options
        and the launch scene (``wx.getLaunchOptionsSync().scene``)."""
        made = self.links[link]
        options = {k: v[0] for k, v in parse_qs(made["query"]).items()}
        return {"path": made["path"], "query": options, "scene": LINK_SCENES[made["kind"]]}

    def issue_group_cloud_id(
        self,
        openid: str,
        opengid: str | None = None,
        chat_type: int = 3,
        api: str = "getGroupEnterInfo",
        single_roomid: str | None = None,
        age_seconds: float = 0,
        appid: str | None = None,
    ) -> str:
        """The cloudID a user's ``wx.getGroupEnterInfo`` / ``wx.getShareInfo`` would return for a card opened in a
        group (``opengid``) or a single chat (``single_roomid``), ``age_seconds`` ago, for ``appid`` (ours)."""
        cloud_id = "11_" + secrets.token_urlsafe(30)
        issued = time.time() - age_seconds
        data: dict = {"watermark": {"appid": appid or self.appid, "timestamp": int(issued)}}
        if api == "getShareInfo":
            data["openGId"] = opengid
        else:
            data["chat_type"] = chat_type
            if single_roomid is not None:
                data["open_single_roomid"] = single_roomid
            else:
                data["opengid"] = opengid
        with self._lock:
            self._cloud_ids[cloud_id] = {"openid": openid, "issued": issued, "data": data}
        return cloud_id

    def _getopendata(self, query, body):
        failure = self._check_token(query)
        if failure:
            return failure
        fault = self._take_fault("opendata_500", "opendata_garbage", "opendata_system_error")
        if fault == "opendata_500":
            return 500, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
        if fault == "opendata_garbage":
            return 200, {"Content-Type": "application/json"}, b'{"data_list": [{"cloud_id"'
        if fault == "opendata_system_error":
            return self._error(-1, "system error")
        try:
            request = json.loads(body or b"{}")
            cloud_ids = request["cloudid_list"]
            if not isinstance(cloud_ids, list) or not all(isinstance(c, str) for c in cloud_ids):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return self._error(47001, "data format error")
        items = []
        for cloud_id in cloud_ids:
            with self._lock:
                issued = self._cloud_ids.get(cloud_id)
            if issued is None:
                items.append({"cloud_id": cloud_id, "errcode": -601007, "errmsg": "cloudID not found"})
            elif time.time() - issued["issued"] > 300:
                items.append({"cloud_id": cloud_id, "errcode": -601006, "errmsg": "cloudID expired."})
            elif query.get("openid") and query["openid"] != issued["openid"]:
                items.append({"cloud_id": cloud_id, "errcode": -601008, "errmsg": "openid not match cloudID"})
            else:
                payload = {"cloudID": cloud_id, "data": issued["data"]}
                items.append({"cloud_id": cloud_id, "json": payload if self.json_as_object else json.dumps(payload)})
        return self._json({"errcode": 0, "errmsg": "ok", "data_list": items})

    def _risk_rank(self, query, body):
        """getuserriskrank as documented: ``{appid, openid, scene: 0|1|2, client_ip}`` → ``risk_rank`` 0-4."""
        failure = self._check_token(query)
        if failure:
            return failure
        if self._take_fault("risk_system_error"):
            return self._error(-1, "system error")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self._error(47001, "data format error")
        if request.get("appid") != self.appid:
            return self._error(40013, "invalid appid")
        if request.get("scene") not in (0, 1, 2) or not isinstance(request.get("openid"), str):
            return self._error(47001, "data format error")
        if not isinstance(request.get("client_ip"), str) or not request["client_ip"]:
            return self._error(47001, "data format error: client_ip is required")
        self.risk_checks.append(request)
        rank = self.risk_ranks.get(request["openid"], 0)
        return self._json({"errcode": 0, "errmsg": "getuserriskrank succ", "risk_rank": rank, "unoin_id": 1})

    def _msg_sec_check(self, query, body):
        """msgSecCheck 2.0 as documented: ``{content, version: 2, scene: 1-4, openid}`` → ``result.suggest``."""
        failure = self._check_token(query)
        if failure:
            return failure
        if self._take_fault("sec_check_system_error"):
            return self._error(-1, "system error")
        try:
            request = json.loads(body or b"{}")
            content, openid = request["content"], request["openid"]
            if not isinstance(content, str) or not 1 <= len(content) <= 2500 or not isinstance(openid, str):
                raise ValueError
            if str(request.get("version")) != "2" or request.get("scene") not in (1, 2, 3, 4):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            return self._error(47001, "data format error")
        with self._lock:
            self.text_checks.append(request)
        risky = any(word in content for word in self.risky_words)
        verdict = {"suggest": "risky", "label": 20001} if risky else {"suggest": "pass", "label": 100}
        return self._json({"errcode": 0, "errmsg": "ok", "result": verdict, "detail": [], "trace_id": "emu"})

    def _subscribe_send(self, query, body):
        failure = self._check_token(query)
        if failure:
            return failure
        fault = self._take_fault("notice_500", "notice_system_error")
        if fault == "notice_500":
            return 500, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
        if fault == "notice_system_error":
            return self._error(-1, "system error")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self._error(47001, "data format error")
        if not isinstance(request.get("touser"), str) or not request["touser"]:
            return self._error(40003, "invalid openid")
        if request["touser"] in self.refusing_users:
            return self._error(43101, "user refuse to accept the msg")
        data = request.get("data")
        if (
            not isinstance(data, dict)
            or not data
            or any(
                not isinstance(v, dict) or not isinstance(v.get("value"), str) or not v["value"] or len(v["value"]) > 20
                for v in data.values()
            )
        ):
            return self._error(47003, "argument invalid! data.amount1.value invalid")
        with self._lock:
            self.messages.append(request)
        return self._json({"errcode": 0, "errmsg": "ok"})

    @property
    def tcb_bucket(self) -> str:
        return f"7465-{self.tcb_env}-1250000000"

    def _tcb_request(self, query, body):
        """(request, None) for a tcb/* call with a valid token and our environment, or (None, the error reply)."""
        failure = self._check_token(query)
        if failure:
            return None, failure
        request = json.loads(body or b"{}")
        if request.get("env") != self.tcb_env:
            return None, self._error(-501000, "env not found")
        return request, None

    def _uploadfile(self, query, body):
        request, failure = self._tcb_request(query, body)
        if failure:
            return failure
        path = request.get("path")
        if not isinstance(path, str) or not path:
            return self._error(-501001, "invalid path")
        ticket = {
            "authorization": "q-sign-algorithm=sha1&" + secrets.token_hex(8),
            "token": secrets.token_hex(16),
            "cos_file_id": secrets.token_hex(12),
            "path": path,
        }
        with self._lock:
            self._tickets[ticket["authorization"]] = ticket
        bucket = self.tcb_bucket
        return self._json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "url": f"{self.base_url}/cos/{bucket}",
                "token": ticket["token"],
                "authorization": ticket["authorization"],
                "file_id": f"cloud://{self.tcb_env}.{bucket}/{path}",
                "cos_file_id": ticket["cos_file_id"],
            }
        )

    def _batchdownloadfile(self, query, body):
        """Temporary links for stored files: ``{env, file_list: [{fileid, max_age}]}``."""
        request, failure = self._tcb_request(query, body)
        if failure:
            return failure
        prefix = f"cloud://{self.tcb_env}.{self.tcb_bucket}/"
        answers = []
        for item in request.get("file_list") or []:
            fileid = item.get("fileid", "")
            path = fileid[len(prefix) :] if fileid.startswith(prefix) else None
            sign = ""
            with self._lock:
                known = path is not None and path in self.files
                if path is not None and known:
                    sign = secrets.token_hex(8)
                    self._downloads[sign] = path
            answers.append(
                {
                    "fileid": fileid,
                    "download_url": f"{self.base_url}/download/{path}?sign={sign}",
                    "status": 0,
                    "errmsg": "ok",
                }
                if known
                else {"fileid": fileid, "download_url": "", "status": -503003, "errmsg": "file not exist"}
            )
        return self._json({"errcode": 0, "errmsg": "ok", "file_list": answers})

    def download(self, raw_path: str):
        url = urlparse(raw_path)
        sign = parse_qs(url.query).get("sign", [""])[0]
        with self._lock:
            path = self._downloads.get(sign)
            data = self.files.get(path) if path is not None and path == url.path[len("/download/") :] else None
            meta = self.file_meta.get(path, {}) if path is not None else {}
        if data is None:
            return 403, {"Content-Type": "application/xml"}, b"<Error><Code>AccessDenied</Code></Error>"
        return 200, {"Content-Type": meta.get("contentType") or "application/octet-stream"}, data

    def _cos_post(self, headers, body):
        if self._take_fault("storage_500"):
            return 503, {"Content-Type": "application/xml"}, b"<Error><Code>ServiceUnavailable</Code></Error>"
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        fields: dict[str, str] = {}
        file_bytes: bytes | None = None
        file_type = None
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            if name == "file":
                file_bytes, file_type = bytes(part.get_payload(decode=True)), part.get_content_type()
            else:
                fields[name] = bytes(part.get_payload(decode=True)).decode()
        with self._lock:
            ticket = self._tickets.get(fields.get("Signature", ""))
        if (
            ticket is None
            or fields.get("key") != ticket["path"]
            or fields.get("x-cos-security-token") != ticket["token"]
            or fields.get("x-cos-meta-fileid") != ticket["cos_file_id"]
            or file_bytes is None
        ):
            return 403, {"Content-Type": "application/xml"}, b"<Error><Code>AccessDenied</Code></Error>"
        with self._lock:
            self.files[ticket["path"]] = file_bytes
            self.file_meta[ticket["path"]] = {"contentType": fields.get("Content-Type") or file_type}
        return 204, {}, b""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every request")
    args = parser.parse_args()
    emulator = WeChatEmulator()
    emulator.latency = args.latency_ms / 1000
    emulator.start(args.port)
    print(
        f"WeChat emulator at {emulator.base_url} (appid {emulator.appid}, secret {emulator.secret}, "
        f"env {emulator.tcb_env}); Ctrl-C to stop",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
