"""Draw a poster from a template with sample parts, for the README and for operators trying a layout locally:
no WeChat, no storage — the code is a QR of the scene, as the WeChat emulator draws it (a real Mini Program Code
is WeChat's round code in the same box).

    python tools/poster_preview.py [template.json] [--out docs/images/poster-default.jpg]

Pictures a template names by fileID are drawn as grey blocks unless ``--file FILEID=local.jpg`` supplies them.
"""

from __future__ import annotations

import argparse
import io
import json
import pathlib
import sys

from PIL import Image, ImageDraw

from shared.codes.poster import FileCache, PosterParts, Product, default_template, parse_template, render
from shared.sharing import SharerProfile
from tools.wechat_emulator import render_code

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE_PRODUCT = "cloud://sample/product.jpg"
SAMPLE_AVATAR = "cloud://sample/avatar.jpg"


def sample_product() -> bytes:
    """A product shot stand-in: a tea tin on a warm gradient."""
    image = Image.new("RGB", (900, 900))
    draw = ImageDraw.Draw(image)
    for y in range(900):
        draw.line([(0, y), (900, y)], fill=(236 - y // 12, 214 - y // 10, 186 - y // 9))
    draw.rounded_rectangle((280, 220, 620, 760), radius=40, fill=(46, 111, 82))
    draw.rounded_rectangle((280, 220, 620, 300), radius=40, fill=(196, 160, 92))
    draw.ellipse((360, 420, 540, 600), outline=(236, 214, 160), width=10)
    return _jpeg(image)


def sample_avatar() -> bytes:
    image = Image.new("RGB", (300, 300), (120, 168, 214))
    draw = ImageDraw.Draw(image)
    draw.ellipse((95, 55, 205, 165), fill=(250, 226, 200))
    draw.ellipse((45, 175, 255, 385), fill=(250, 226, 200))
    return _jpeg(image)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", nargs="?", help="a template JSON file (default: the bundled template)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "poster-default.jpg"))
    parser.add_argument("--file", action="append", default=[], help="FILEID=local picture, for a template's files")
    parser.add_argument("--nickname", default="小明同学")
    parser.add_argument("--title", default="明前龙井礼盒 250g · 好友专享价")
    args = parser.parse_args(argv)
    source = json.loads(pathlib.Path(args.template).read_text("utf-8")) if args.template else default_template()
    template = parse_template(source)
    files = {SAMPLE_PRODUCT: sample_product(), SAMPLE_AVATAR: sample_avatar()}
    for pair in args.file:
        file_id, _, path = pair.partition("=")
        files[file_id] = pathlib.Path(path).read_bytes()
    grey = _jpeg(Image.new("RGB", (600, 600), (200, 200, 200)))
    product = Product(title=args.title, image=SAMPLE_PRODUCT)
    code = render_code("pages/product/product", "1pAb3dE9.tea-gift-box", 430, png=False)
    parts = PosterParts(template, product, SharerProfile(args.nickname, SAMPLE_AVATAR), code)
    made = render(parts, FileCache(lambda file_id, limit: files.get(file_id, grey)))
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(made.data)
    print(f"{out}: {template.width}x{template.height} {made.content_type}, {len(made.data) / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
