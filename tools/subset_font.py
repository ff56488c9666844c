"""Make the poster font the package ships: WenQuanYi Micro Hei (Debian's fonts-wqy-microhei, Apache-2.0) cut down
to what posters print — ASCII, the 7 445 characters of GB 2312 (every simplified Chinese character in everyday use)
and common full-width punctuation — without hinting: 1.3 MB instead of the 5.2 MB collection.

    python tools/subset_font.py [/usr/share/fonts/truetype/wqy/wqy-microhei.ttc]

Needs fontTools (``pip install fonttools``); run it again only to change the character set. A nickname's character
outside the set draws as a box: a template can name a fuller font in storage (``font``).
"""

from __future__ import annotations

import pathlib
import sys

SOURCE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
TARGET = pathlib.Path(__file__).resolve().parents[1] / "shared" / "codes" / "fonts" / "poster-sc.ttf"
EXTRA = "，。！？、：；“”‘’（）《》【】…—·￥～"


def characters() -> str:
    chars = {chr(code) for code in range(0x20, 0x7F)} | set(EXTRA)
    for first in range(0xA1, 0xF8):
        for second in range(0xA1, 0xFF):
            try:
                chars.add(bytes([first, second]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(sorted(chars))


def main(argv: list[str]) -> int:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    font = TTCollection(argv[0] if argv else SOURCE).fonts[0]  # the proportional face, not the monospaced one
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    font.save(TARGET)
    print(f"{TARGET}: {TARGET.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
