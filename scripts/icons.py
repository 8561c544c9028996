"""Draws the feedsvc icons (favicon, touch and feed icons): a white feed symbol on the accent blue.

Run from the project root: `.venv/bin/python scripts/icons.py`; the files are kept in git.
"""
from PIL import Image, ImageDraw

def icon(size):
    scale = 8
    s = size * scale
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([0, 0, s - 1, s - 1], radius=s // 6, fill=(11, 92, 171, 255))
    white = (255, 255, 255, 255)
    x0, y0 = int(s * 0.22), int(s * 0.78)
    r = int(s * 0.08)
    d.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=white)
    w = int(s * 0.1)
    for radius in (0.34, 0.56):
        R = int(s * radius)
        d.arc([x0 - R, y0 - R, x0 + R, y0 + R], start=270, end=360, fill=white, width=w)
    return img.resize((size, size), Image.LANCZOS)

out = "feedsvc/web/static/icons/"
icon(512).save(out + "icon-512.png", optimize=True)
icon(192).save(out + "icon-192.png", optimize=True)
touch = Image.new("RGBA", (180, 180), (11, 92, 171, 255)); touch.alpha_composite(icon(180)); touch.convert("RGB").save(out + "apple-touch-icon.png", optimize=True)
icon(256).save(out + "favicon.ico", sizes=[(16, 16), (32, 32), (48, 48)])
