"""Draws the feedsvc icons (favicon, touch and feed icons): a white feed symbol on the accent blue.

Run from the project root: `.venv/bin/python scripts/icons.py`; the files are kept in git.
"""

from PIL import Image
from PIL import ImageDraw

BLUE = (11, 92, 171, 255)
WHITE = (255, 255, 255, 255)
OUT = "feedsvc/web/static/icons/"


def icon(size: int) -> Image.Image:
    """The icon at ``size`` pixels, drawn 8 times larger and scaled down for smooth edges."""
    s = size * 8
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle([0, 0, s - 1, s - 1], radius=s // 6, fill=BLUE)
    x0, y0, dot = int(s * 0.22), int(s * 0.78), int(s * 0.08)
    draw.ellipse([x0 - dot, y0 - dot, x0 + dot, y0 + dot], fill=WHITE)
    for radius in (0.34, 0.56):
        r = int(s * radius)
        draw.arc([x0 - r, y0 - r, x0 + r, y0 + r], start=270, end=360, fill=WHITE, width=int(s * 0.1))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every icon file the pages and feeds use."""
    icon(512).save(OUT + "icon-512.png", optimize=True)
    icon(192).save(OUT + "icon-192.png", optimize=True)
    touch = Image.new("RGBA", (180, 180), BLUE)  # iOS shows transparency as black: fill the corners
    touch.alpha_composite(icon(180))
    touch.convert("RGB").save(OUT + "apple-touch-icon.png", optimize=True)
    icon(256).save(OUT + "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])


if __name__ == "__main__":
    main()
