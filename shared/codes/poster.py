"""Campaign posters: the sharer's own Mini Program Code composed into the operator's template, with the product's
picture and title and the sharer's avatar (a circle) and nickname, rendered server-side with Pillow.

A template is a small JSON layout (``docs/posters.md``): a canvas, a background colour and layers drawn in order —
``rect``, ``image`` (the product's picture or a stored file), ``text`` (with ``{title}`` and ``{nickname}``),
``avatar`` and exactly one ``code``. Its images and font are files in storage, named by fileID; one default
template ships in the package with a CJK font (a GB 2312 subset of WenQuanYi Micro Hei, ``fonts/``). Posters go
through the same claim → make → upload → record cache as codes: the same request (sharer, product, template
version, profile) answers the same file and costs no WeChat call.

Pillow is imported only here, and this module only for poster requests: codes and links never pay its import.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import pathlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.codes.generator import CodeGenerator, CodeLook, Made
from shared.platform import log
from shared.platform.errors import BadInput, MissingFile
from shared.platform.validation import (
    check_document,
    check_field_names,
    require_id,
    require_page,
    require_product_id,
    required,
)
from shared.sharing import ShareClaim, SharerProfile, require_channel, scene_for

DEFAULT_TEMPLATE = "default"
POSTER_FIELDS = ("action", "productId", "template", "channel", "page", "envVersion", "inviter", "adminToken")
TEMPLATE_FIELDS = ("name", "width", "height", "format", "quality", "background", "font", "title", "products", "layers")
LAYER_TYPES = ("rect", "image", "text", "avatar", "code")
MIN_SIDE, MAX_SIDE = 320, 2160  # a poster is for a phone screen: 1080 px wide is what WeChat shows sharply
MIN_CODE_SIDE = 160  # smaller codes stop scanning reliably from a phone screen held at arm's length
MAX_LAYERS = 40
MAX_PRODUCTS = 2000
MAX_TEXT = 200
MAX_IMAGE_BYTES = 5 * 1024 * 1024  # a template's picture, an avatar or a code
MAX_FONT_BYTES = 24 * 1024 * 1024
MAX_SOURCE_PIXELS = 40_000_000  # decoding more costs too much memory in a 256 MB function
CODE_WIDTH = 430  # WeChat's default code width; the poster scales it into the template's box
FILE_CACHE_BYTES = 64 * 1024 * 1024  # template pictures and fonts, kept by a warm instance
BUNDLED_FONT = pathlib.Path(__file__).with_name("fonts") / "poster-sc.ttf"
DEFAULT_TEMPLATE_FILE = pathlib.Path(__file__).with_name("poster_default.json")
FILE_ID = re.compile(r"^(cloud|cos|local)://[^\s]{3,500}$")
COLOR = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")
TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


# --- requests --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PosterRequest:
    product_id: str
    page: str
    template: str = DEFAULT_TEMPLATE
    channel: str = "poster"
    env_version: str = "release"
    inviter: str | None = None  # another sharer's poster: admins only


def parse_poster_request(event: Mapping[str, Any], default_page: str) -> PosterRequest:
    """``{action: 'poster', productId, template?, channel?, page?, envVersion?, inviter?}``."""
    from shared.codes.generator import ENV_VERSIONS

    check_document(event)
    check_field_names(event, POSTER_FIELDS)
    product_id = require_product_id(required(event, "productId"))
    env_version = event.get("envVersion", "release")
    if env_version not in ENV_VERSIONS:
        raise BadInput(f"envVersion must be one of {', '.join(ENV_VERSIONS)}", field="envVersion")
    inviter = event.get("inviter")
    return PosterRequest(
        product_id=product_id,
        page=require_page(event.get("page", default_page)),
        template=require_template_name(event.get("template", DEFAULT_TEMPLATE)),
        channel=require_channel(event.get("channel", "poster")),
        env_version=env_version,
        inviter=None if inviter is None else require_id(inviter, "inviter"),
    )


@dataclass(frozen=True)
class TemplateRequest:
    """An admin saving a poster template: ``{action: 'posterTemplate', template: {...}}``."""

    template: PosterTemplate
    source: Mapping[str, Any]


def parse_template_request(event: Mapping[str, Any]) -> TemplateRequest:
    check_field_names(event, ("action", "template", "adminToken"))
    source = required(event, "template")
    return TemplateRequest(parse_template(source), source)


def require_template_name(value: Any, field: str = "template") -> str:
    if not isinstance(value, str) or not TEMPLATE_NAME.fullmatch(value):
        raise BadInput(f"{field} must be a template name (1-32 of A-Z a-z 0-9 _ -)", field=field)
    return value


# --- templates -------------------------------------------------------------------------------------------
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Layer:
    type: str
    box: Box
    color: str = "#000000"
    source: str | None = None  # image: "product" or a fileID
    fit: str = "cover"  # image: "cover" crops to fill the box, "contain" fits inside it
    radius: int = 0
    text: str = ""
    size: int = 32
    align: str = "left"
    max_lines: int = 1


@dataclass(frozen=True)
class Product:
    title: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class PosterTemplate:
    name: str
    width: int
    height: int
    format: str
    quality: int
    background: str
    layers: tuple[Layer, ...]
    font: str | None = None  # a fileID; None: the bundled font
    title: str = ""  # a product the template does not list shows this title
    products: Mapping[str, Product] = field(default_factory=dict)
    digest: str = ""  # of the template's JSON: a changed template makes new posters

    def files(self) -> list[str]:
        """Every stored file the template names (checked when the template is saved)."""
        named = [self.font] + [layer.source for layer in self.layers if layer.type == "image"]
        named += [product.image for product in self.products.values()]
        return sorted({name for name in named if name and name != "product"})

    def pictures(self, product: Product) -> list[str]:
        """The stored pictures a poster of ``product`` draws."""
        sources = [product.image if layer.source == "product" else layer.source for layer in self.layers]
        return sorted({source for source in sources if source})

    def product(self, product_id: str) -> Product:
        return self.products.get(product_id) or Product(title=self.title)


def parse_template(doc: Any) -> PosterTemplate:
    """A template document as a typed value; ``BadInput`` naming the first field that is wrong."""
    if not isinstance(doc, Mapping):
        raise BadInput("template must be an object", field="template")
    check_document(doc, "template")
    unknown = sorted(set(doc) - set(TEMPLATE_FIELDS))
    if unknown:
        raise BadInput(f"template has unknown fields: {', '.join(map(str, unknown))}", field="template")
    width = _int(doc, "width", MIN_SIDE, MAX_SIDE, "template")
    height = _int(doc, "height", MIN_SIDE, MAX_SIDE, "template")
    image_format = doc.get("format", "jpeg")
    if image_format not in ("jpeg", "png"):
        raise BadInput("template.format must be jpeg or png", field="template.format")
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list) or not 1 <= len(layers_doc) <= MAX_LAYERS:
        raise BadInput(f"template.layers must be a list of 1 to {MAX_LAYERS} layers", field="template.layers")
    layers = tuple(_layer(layer, f"template.layers[{i}]", width, height) for i, layer in enumerate(layers_doc))
    if sum(layer.type == "code" for layer in layers) != 1:
        raise BadInput("template.layers must hold exactly one code layer", field="template.layers")
    products_doc = doc.get("products", {})
    if not isinstance(products_doc, Mapping) or len(products_doc) > MAX_PRODUCTS:
        raise BadInput(f"template.products must map at most {MAX_PRODUCTS} product ids", field="template.products")
    products = {
        require_id(product_id, "template.products"): _product(entry, f"template.products.{product_id}")
        for product_id, entry in products_doc.items()
    }
    font = doc.get("font")
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return PosterTemplate(
        name=require_template_name(doc.get("name"), "template.name"),
        width=width,
        height=height,
        format=image_format,
        quality=_int(doc, "quality", 50, 95, "template", default=85),
        background=_color(doc.get("background", "#FFFFFF"), "template.background"),
        layers=layers,
        font=None if font is None else _file_id(font, "template.font"),
        title=_text(doc.get("title", ""), "template.title"),
        products=products,
        digest=hashlib.sha256(canonical.encode()).hexdigest()[:16],
    )


def default_template() -> dict[str, Any]:
    return json.loads(DEFAULT_TEMPLATE_FILE.read_text(encoding="utf-8"))


def _layer(doc: Any, where: str, width: int, height: int) -> Layer:
    if not isinstance(doc, Mapping):
        raise BadInput(f"{where} must be an object", field=where)
    kind = doc.get("type")
    if kind not in LAYER_TYPES:
        raise BadInput(f"{where}.type must be one of {', '.join(LAYER_TYPES)}", field=f"{where}.type")
    box = doc.get("box")
    if (
        not isinstance(box, list)
        or len(box) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in box)
        or box[0] < 0
        or box[1] < 0
        or box[2] < 1
        or box[3] < 1
        or box[0] + box[2] > width
        or box[1] + box[3] > height
    ):
        raise BadInput(f"{where}.box must be [x, y, width, height] inside the canvas", field=f"{where}.box")
    x, y, w, h = box
    if kind in ("avatar", "code") and w != h:
        raise BadInput(f"{where}.box must be square for a {kind}", field=f"{where}.box")
    if kind == "code" and w < MIN_CODE_SIDE:
        raise BadInput(f"{where}: a code narrower than {MIN_CODE_SIDE} px does not scan", field=f"{where}.box")
    source = doc.get("source")
    if kind == "image":
        source = "product" if source in (None, "product") else _file_id(source, f"{where}.source")
    fit = doc.get("fit", "cover")
    if fit not in ("cover", "contain"):
        raise BadInput(f"{where}.fit must be cover or contain", field=f"{where}.fit")
    align = doc.get("align", "left")
    if align not in ("left", "center", "right"):
        raise BadInput(f"{where}.align must be left, center or right", field=f"{where}.align")
    text = _text(doc.get("text", ""), f"{where}.text")
    if kind == "text" and not text:
        raise BadInput(f"{where}.text is required for a text layer", field=f"{where}.text")
    return Layer(
        type=kind,
        box=(x, y, w, h),
        color=_color(doc.get("color", "#000000"), f"{where}.color"),
        source=source,
        fit=fit,
        radius=_int(doc, "radius", 0, min(w, h) // 2, where, default=0),
        text=text,
        size=_int(doc, "size", 10, 300, where, default=32),
        align=align,
        max_lines=_int(doc, "maxLines", 1, 6, where, default=1),
    )


def _product(doc: Any, where: str) -> Product:
    if not isinstance(doc, Mapping) or set(doc) - {"title", "image"}:
        raise BadInput(f"{where} must be {{title?, image?}}", field=where)
    image = doc.get("image")
    return Product(
        title=None if doc.get("title") is None else _text(doc["title"], f"{where}.title"),
        image=None if image is None else _file_id(image, f"{where}.image"),
    )


def _int(doc: Mapping[str, Any], name: str, low: int, high: int, where: str, default: int | None = None) -> int:
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"{where}.{name} must be an integer from {low} to {high}", field=f"{where}.{name}")
    return value


def _color(value: Any, where: str) -> str:
    if not isinstance(value, str) or not COLOR.fullmatch(value):
        raise BadInput(f"{where} must be a colour like #1A2B3C or #1A2B3C80", field=where)
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise BadInput(f"{where} must be text of at most {MAX_TEXT} characters", field=where)
    return value


def _file_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not FILE_ID.fullmatch(value) or ".." in value.split("/"):
        raise BadInput(f"{where} must be a stored file's fileID (cloud://…)", field=where)
    return value


# --- stored files ----------------------------------------------------------------------------------------
class FileCache:
    """Template pictures and fonts a warm instance has read (by fileID, least recently used out first): a batch of
    posters reads each once. Avatars and codes differ per poster and are read through, not kept."""

    def __init__(self, read: Callable[[str, int], bytes], capacity: int = FILE_CACHE_BYTES) -> None:
        self._read, self._capacity = read, capacity
        self._files: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.reads = 0

    def get(self, file_id: str, limit: int = MAX_IMAGE_BYTES) -> bytes:
        with self._lock:
            if file_id in self._files:
                self._files.move_to_end(file_id)
                return self._files[file_id]
        data = self.read_through(file_id, limit)
        with self._lock:
            self._files[file_id] = data
            while sum(len(v) for v in self._files.values()) > self._capacity and len(self._files) > 1:
                self._files.popitem(last=False)
        return data

    def read_through(self, file_id: str, limit: int = MAX_IMAGE_BYTES) -> bytes:
        self.reads += 1
        return self._read(file_id, limit)


def open_image(data: bytes, name: str) -> Any:
    """Decode a stored picture, refusing what is not an image or would take too much memory."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_SOURCE_PIXELS:
            raise MissingFile(f"{name} has more than {MAX_SOURCE_PIXELS} pixels", reason="too_large")
        image.load()
    except MissingFile:
        raise
    except Exception as exc:  # Pillow's decoders raise OSError, ValueError, SyntaxError, struct.error… on bad files
        raise MissingFile(f"{name} is not a picture Pillow can read", reason="not_an_image") from exc
    return image


def check_template_files(template: PosterTemplate, files: FileCache) -> None:
    """Every picture and the font a template names is readable (``BadInput`` before a template is saved)."""
    for file_id in template.files():
        if file_id == template.font:
            _font(files.get(file_id, MAX_FONT_BYTES), 20, file_id)
        else:
            open_image(files.get(file_id), file_id)


# --- rendering -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PosterParts:
    template: PosterTemplate
    product: Product
    profile: SharerProfile
    code: bytes


def render(parts: PosterParts, files: FileCache) -> Made:
    """The poster as a JPEG or PNG file."""
    from PIL import Image, ImageDraw

    template = parts.template
    canvas = Image.new("RGBA", (template.width, template.height), _rgba(template.background))
    font_data = files.get(template.font, MAX_FONT_BYTES) if template.font else _bundled_font()
    nickname = parts.profile.nickname or "好友"
    values = {"title": parts.product.title or template.title, "nickname": nickname}
    for layer in template.layers:
        if layer.type == "rect":
            _paste_shape(canvas, layer, _rgba(layer.color))
        elif layer.type == "image":
            source = parts.product.image if layer.source == "product" else layer.source
            if source is None:  # the product has no picture: a quiet block keeps the layout
                _paste_shape(canvas, layer, _rgba(layer.color if layer.color != "#000000" else "#EFE7DD"))
            else:
                picture = open_image(files.get(source), source)
                _paste(canvas, _fitted(picture, layer), layer)
        elif layer.type == "text":
            _draw_text(ImageDraw.Draw(canvas), layer, _fill(layer.text, values), font_data)
        elif layer.type == "avatar":
            _paste_avatar(canvas, layer, parts.profile, nickname, files, font_data)
        elif layer.type == "code":
            code = open_image(parts.code, "the code").convert("RGBA")
            _paste(canvas, code.resize(layer.box[2:], Image.Resampling.LANCZOS), layer)
    out = io.BytesIO()
    if template.format == "png":
        canvas.save(out, format="PNG", optimize=True)
        return Made(out.getvalue(), "png", "image/png", {"width": template.width, "height": template.height})
    # optimize: 15 % smaller for 3 ms; progressive would save 7 % more for 9 ms of a 40 ms render
    canvas.convert("RGB").save(out, format="JPEG", quality=template.quality, optimize=True)
    return Made(out.getvalue(), "jpg", "image/jpeg", {"width": template.width, "height": template.height})


@functools.lru_cache(maxsize=1)
def _bundled_font() -> bytes:
    return BUNDLED_FONT.read_bytes()


def _fill(text: str, values: Mapping[str, str]) -> str:
    return re.sub(r"\{(title|nickname)\}", lambda m: values[m.group(1)], text)


def _rgba(color: str) -> tuple[int, int, int, int]:
    digits = color[1:]
    alpha = int(digits[6:8], 16) if len(digits) == 8 else 255
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha


_fonts: dict[tuple[bytes, int], Any] = {}  # (digest of the font file, size) → FreeType face, per instance
_digests: dict[int, tuple[bytes, bytes]] = {}  # id(font file) → (the file, kept so the id stays its own; digest)
_font_lock = threading.Lock()


def _font(data: bytes, size: int, name: str = "the font") -> Any:
    from PIL import ImageFont

    with _font_lock:
        known = _digests.get(id(data))
        if known is None or known[0] is not data:
            if len(_digests) >= 8:  # font files evicted from the file cache and read again: forget the old ones
                _digests.clear()
            known = _digests[id(data)] = (data, hashlib.sha1(data).digest())
        key = (known[1], size)
        if key not in _fonts:
            try:
                _fonts[key] = ImageFont.truetype(io.BytesIO(data), size)
            except Exception as exc:  # FreeType's refusals arrive as OSError or ValueError
                raise MissingFile(f"{name} is not a TrueType/OpenType font", reason="not_a_font") from exc
        return _fonts[key]


@functools.lru_cache(maxsize=64)  # a template's masks are the same for every poster; callers never change them
def _mask(size: tuple[int, int], radius: int, circle: bool = False) -> Any:
    """An anti-aliased mask: a circle drawn at 4× and scaled down, or a box whose rounded corners are (drawing a
    900 px box at 4× costs 50 ms; its four corners, well under 1)."""
    from PIL import Image, ImageDraw

    scale = 4
    if circle:
        big = Image.new("L", (size[0] * scale, size[1] * scale), 0)
        ImageDraw.Draw(big).ellipse((0, 0, big.width - 1, big.height - 1), fill=255)
        return big.resize(size, Image.Resampling.LANCZOS)
    mask = Image.new("L", size, 255)
    radius = min(radius, size[0] // 2, size[1] // 2)
    if radius:
        disc = Image.new("L", (2 * radius * scale, 2 * radius * scale), 0)
        ImageDraw.Draw(disc).ellipse((0, 0, disc.width - 1, disc.height - 1), fill=255)
        disc = disc.resize((2 * radius, 2 * radius), Image.Resampling.LANCZOS)
        w, h = size
        for left, top in ((0, 0), (radius, 0), (0, radius), (radius, radius)):
            corner = disc.crop((left, top, left + radius, top + radius))
            mask.paste(corner, (left and w - radius, top and h - radius))
    return mask


def _paste_shape(canvas: Any, layer: Layer, color: tuple[int, int, int, int]) -> None:
    from PIL import Image

    block = Image.new("RGBA", layer.box[2:], color)
    _paste(canvas, block, layer)


def _paste(canvas: Any, image: Any, layer: Layer, circle: bool = False) -> None:
    x, y, w, h = layer.box
    image = image.convert("RGBA")
    if layer.radius or circle:
        from PIL import ImageChops

        alpha = ImageChops.multiply(image.getchannel("A"), _mask((w, h), layer.radius, circle))
        image.putalpha(alpha)
    canvas.alpha_composite(image, (x, y))


def _fitted(picture: Any, layer: Layer) -> Any:
    from PIL import Image, ImageOps

    w, h = layer.box[2:]
    picture = ImageOps.exif_transpose(picture).convert("RGBA")
    if layer.fit == "cover":
        return ImageOps.fit(picture, (w, h), Image.Resampling.LANCZOS)
    contained = ImageOps.contain(picture, (w, h), Image.Resampling.LANCZOS)
    framed = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    framed.alpha_composite(contained, ((w - contained.width) // 2, (h - contained.height) // 2))
    return framed


def _paste_avatar(
    canvas: Any, layer: Layer, profile: SharerProfile, nickname: str, files: FileCache, font_data: bytes
) -> None:
    from PIL import Image, ImageDraw, ImageOps

    w = layer.box[2]
    avatar = None
    if profile.avatar_file_id:
        try:
            avatar = open_image(files.read_through(profile.avatar_file_id), "the avatar")
        except MissingFile as err:  # deleted or unreadable: the poster still works, with an initial instead
            log.event("poster_avatar_unreadable", reason=err.details.get("reason", "missing"))
    if avatar is not None:
        image = ImageOps.fit(ImageOps.exif_transpose(avatar).convert("RGBA"), (w, w), Image.Resampling.LANCZOS)
    else:
        image = Image.new("RGBA", (w, w), _rgba(layer.color if layer.color != "#000000" else "#C9B8A6"))
        ImageDraw.Draw(image).text(
            (w / 2, w / 2), nickname[:1], font=_font(font_data, max(10, w // 2)), fill="#FFFFFF", anchor="mm"
        )
    _paste(canvas, image, layer, circle=True)


def _draw_text(draw: Any, layer: Layer, text: str, font_data: bytes) -> None:
    x, y, w, h = layer.box
    font = _font(font_data, layer.size)
    lines = _wrap(text, font, w, layer.max_lines)
    line_height = int(layer.size * 1.3)
    for index, line in enumerate(lines):
        top = y + index * line_height
        if top + layer.size > y + h:
            break
        width = font.getlength(line)
        left = x + {"left": 0, "center": (w - width) / 2, "right": w - width}[layer.align]
        draw.text((left, top), line, font=font, fill=_rgba(layer.color))


def _wrap(text: str, font: Any, width: int, max_lines: int) -> list[str]:
    """Lines that fit ``width``, broken between characters (Chinese has no spaces); an ellipsis ends the last."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if font.getlength(current + ch) <= width:
            current += ch
            continue
        lines.append(current)
        current = ch.lstrip()
        if len(lines) == max_lines:
            break
    else:
        lines.append(current)
        return [line for line in lines if line] or [""]
    last = lines[-1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1]
    return lines[:-1] + [last + "…"]


# --- the use case ----------------------------------------------------------------------------------------
@dataclass
class PosterMaker:
    """Posters through the code cache: template → the sharer's profile → the cache key → (code, render, upload)."""

    codes: CodeGenerator
    templates: Any  # PosterTemplateStore
    files: FileCache
    renders: int = 0

    def poster(
        self, claim: ShareClaim, request: PosterRequest, template: PosterTemplate | None = None
    ) -> dict[str, Any]:
        template = template or self.templates.get(request.template)
        product = template.product(claim.product_id)
        profile = self.codes.share_store.profile_of_inviter(claim.inviter)
        look = CodeLook(page=request.page, width=CODE_WIDTH, env_version=request.env_version)
        scene = scene_for(self.codes.share_store, self.codes.clock, claim)
        key = poster_key(self.codes.appid, scene, look, template, product, profile)
        info = {
            "scene": scene,
            "page": look.page,
            "inviter": claim.inviter,
            "productId": claim.product_id,
            "channel": claim.channel,
            "template": template.name,
        }

        def make() -> Made:
            for picture in template.pictures(product):  # a missing picture or font fails before any WeChat call
                self.files.get(picture)
            if template.font:
                self.files.get(template.font, MAX_FONT_BYTES)
            code, drawn = self.codes.generate_with_image(claim, look)
            code_bytes = drawn if drawn is not None else self.files.read_through(code["fileID"])
            self.renders += 1
            return render(PosterParts(template, product, profile, code_bytes), self.files)

        return self.codes.produce_once(key, "posters", info, make, "poster_rendered")


def poster_key(
    appid: str, scene: str, look: CodeLook, template: PosterTemplate, product: Product, profile: SharerProfile
) -> str:
    identity = {
        "kind": "poster",
        "appid": appid,
        "scene": scene,
        "page": look.page,
        "envVersion": look.env_version,
        "template": [template.name, template.digest],
        "product": [product.title, product.image],
        "profile": [profile.nickname, profile.avatar_file_id],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def save_template(templates: Any, files: FileCache, request: TemplateRequest, now: Any) -> dict[str, Any]:
    """Check every file the template names, then store it: a bad template or a missing picture stores nothing."""
    template = request.template
    check_template_files(template, files)
    templates.save(template, dict(request.source), now)
    log.event("poster_template_saved", template=template.name, digest=template.digest, files=len(template.files()))
    return {"ok": True, "template": template.name, "digest": template.digest, "files": len(template.files())}
