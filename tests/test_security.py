"""Security: XSS on every page and feed, hostile model packages, hostile uploads, CSRF, sessions, headers.

Known bugs are kept as tests marked ``xfail(strict=True)`` with the fix in the reason: they start failing
(XPASS) once fixed, so the marker gets removed.
"""

import html
import io
import json
import os
import re
import stat
import struct
import uuid
import zipfile
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import pytest
from markupsafe import escape
from PIL import Image

from feedsvc import categories
from feedsvc import photos
from feedsvc import releases
from feedsvc.demo import demo_photo
from feedsvc.modelstore import packages
from feedsvc.translation import glossary
from feedsvc.web import create_app
from feedsvc.web import users
from tests.helpers import PASSWORD
from tests.helpers import TARGETS
from tests.helpers import csrf_token
from tests.helpers import make_release
from tests.helpers import migrated
from tests.helpers import translate_by_hand

# --- XSS ------------------------------------------------------------------------------------------------------

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "javascript:alert(3)",
    "</textarea><script>alert(4)</script>",
    "]]><script>alert(5)</script><![CDATA[",
    "'><svg onload=alert(6)>",
    "</title><script>alert(7)</script>",
    "<a href=\"javascript:alert(8)\">x</a>",
]
MARKUP_PAYLOADS = [p for p in PAYLOADS if "<" in p]  # "javascript:alert(3)" is fine as text, not as a URL
ALL = " ".join(PAYLOADS)
BODY = "\n\n".join(PAYLOADS)
# The press contact's links (config-made, checked at start) are safe schemes too: tel: and mailto: only.
SAFE_URL = re.compile(r"^(/|#|https?://localhost/|http://localhost/|tel:\+[0-9-]+$|mailto:[^\s:<>\"']+@[^\s:<>\"']+$)")
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "link", "body", "header", "nav", "main", "footer", "a", "strong", "em", "p",
    "h1", "h2", "h3", "form", "input", "button", "article", "time", "span", "small", "figure", "figcaption", "img",
    "table", "thead", "tbody", "tr", "th", "td", "ul", "ol", "li", "label", "textarea", "div", "code", "select",
    "option", "section", "br", "del", "ins", "details", "summary", "pre", "dl", "dt", "dd", "b", "i", "abbr",
    "address", "fieldset", "legend",
    "picture", "source",
    "mark",  # search results mark the matching words
}
DATA_BLOCK = ("script", "application/ld+json")  # structured data: browsers never run it (test_seo parses it)


class MarkupAudit(HTMLParser):
    """Everything in an HTML document that could run script: what a payload would add if it broke out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS and (tag, dict(attrs).get("type")) != DATA_BLOCK:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction", "srcset") and value is not None:
                if not SAFE_URL.match(value.strip()) and not value.startswith("?"):
                    self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.problems.append(f"<{tag} style=…> (inline style; CSP forbids it)")
        if tag == "meta" and dict(attrs).get("http-equiv"):
            self.problems.append("<meta http-equiv>")

    handle_startendtag = handle_starttag


def audit(html: str) -> list[str]:
    parser = MarkupAudit()
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.fixture
def hostile_site(logged_in, db, app):
    """A release typed through the admin form with a payload in every field (photo included), its kk and
    en translations carrying payloads too, and a glossary term made of payloads."""
    categories.add(db, PAYLOADS[1])  # the form chooses from the managed list (issue 25)
    token = csrf_token(logged_in, "/admin/releases/new")
    response = logged_in.post("/admin/releases/new", content_type="multipart/form-data", data={
        "title": ALL, "body": BODY, "category": PAYLOADS[1], "photo_caption": ALL, "photo_credit": PAYLOADS[3],
        "published_at": "2026-11-19T11:30", "publish": "1", "csrf_token": token,
        "photo": (io.BytesIO(demo_photo(1)), "photo.jpg")})
    assert response.status_code == 302, response.get_data(as_text=True)
    release = releases.get_release(db, 1)
    assert release["title"] == ALL and release["photo"]
    translate_by_hand(db, release, "kk", "ҚАЗ " + ALL, BODY)
    translate_by_hand(db, release, "en", "EN " + ALL, BODY)
    token = csrf_token(logged_in, "/admin/glossary/")
    response = logged_in.post("/admin/glossary/", data={
        "ru": PAYLOADS[0] + "|" + PAYLOADS[4], "en": PAYLOADS[1], "kk": PAYLOADS[3], "csrf_token": token})
    assert response.status_code == 302
    return release


def fill_rule(app, db, rule) -> str | None:
    """A URL for ``rule`` with plausible values: existing ids, the first choice of every any(...)."""
    values = {}
    for name, converter in rule._converters.items():
        if hasattr(converter, "items"):
            values[name] = sorted(converter.items)[0]
        elif name == "lang":
            values[name] = "kk"
        elif name == "release_id":
            values[name] = 1
        elif name == "key_id":
            row = db.execute("select min(id) from api_keys").fetchone()
            values[name] = row[0] or 1
        elif name == "term_id":
            row = db.execute("select min(id) from glossary_terms").fetchone()
            values[name] = row[0] or 1
        elif name == "revision_id":
            table = "revisions" if "revisions" in db.table_names() else None
            row = db.execute(f"select min(id) from {table}").fetchone() if table else None
            values[name] = (row and row[0]) or 1
        elif name == "category_id":
            values[name] = db.execute("select min(id) from categories").fetchone()[0] or 1
        elif name == "slug" and rule.endpoint.startswith("categories."):
            values[name] = db.execute("select min(slug) from categories").fetchone()[0] or "none"
        elif name == "slug":
            values[name] = releases.slug(releases.get_release(db, 1)["title"])
        elif name == "name":
            row = db.execute("select photo from releases where photo is not null").fetchone()
            values[name] = row[0] if row else "none.jpg"
        elif name == "filename":
            values[name] = "feedsvc.css"
        elif name == "fmt":
            values[name] = "rss"
        else:
            return None
    with app.test_request_context():
        return rule.build(values, append_unknown=False)[1]


def html_get_urls(app, db) -> list[str]:
    """Every GET page of the URL map, filled in (admin and public)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in (
                "static", "public.photo", "admin.photo", "feeds.feed", "seo.favicon"):
            continue
        url = fill_rule(app, db, rule)
        if url:
            urls.append(url)
    return sorted(set(urls))


def test_payloads_are_escaped_on_every_page(hostile_site, logged_in, db, app):
    urls = html_get_urls(app, db) + [
        f"/{lang}/{page}" for lang in ("ru", "kk", "en") for page in ("", "releases/1", "search?q=alert")] + [
        "/ru/search?q=" + PAYLOADS[0], "/kk/search?q=" + PAYLOADS[1], "/admin/releases/1/edit"]
    assert len(urls) >= 12
    seen_escaped = 0
    for url in urls:
        response = logged_in.get(url, follow_redirects=True)
        if response.mimetype != "text/html":
            continue
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert audit(html) == [], url
        for payload in MARKUP_PAYLOADS:
            assert payload not in html, (url, payload)
        seen_escaped += "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert seen_escaped >= 10
    # The places a payload lands are all there, as text.
    release_page = logged_in.get("/ru/releases/1", follow_redirects=True).get_data(as_text=True)
    assert 'alt="&lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img src=x onerror=alert(2)&gt;' in release_page
    assert "&lt;/textarea&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in release_page  # credit
    edit = logged_in.get("/admin/releases/1/edit").get_data(as_text=True)
    assert f"{escape(BODY)}</textarea>" in edit  # the </textarea> payload stays inside the textarea
    glossary_page = logged_in.get("/admin/glossary/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|]]&gt;&lt;script&gt;alert(5)&lt;/script&gt;" in glossary_page


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_payloads_are_inert_in_every_feed(hostile_site, client, lang, fmt):
    response = client.get(f"/{lang}/feed.{fmt}")
    assert response.status_code == 200
    assert feedparser.parse(response.data).bozo == 0
    root = ElementTree.fromstring(response.data)  # well-formed: no CDATA section was broken
    if fmt == "rss":
        items = root.findall("channel/item")
        content_tag, title_tag = "{http://purl.org/rss/1.0/modules/content/}encoded", "title"
    else:
        ns = "{http://www.w3.org/2005/Atom}"
        items = root.findall(f"{ns}entry")
        content_tag, title_tag = f"{ns}content", f"{ns}title"
    assert len(items) == 1
    item = items[0]
    expected_title = {"ru": ALL, "kk": "ҚАЗ " + ALL, "en": "EN " + ALL}[lang]
    assert item.findtext(title_tag) == expected_title  # character data, not markup
    if fmt == "atom":
        assert item.find(title_tag).get("type", "text") == "text"
        summary = item.find(f"{ns}summary")
        # Escaped HTML (type="html"), the same as RSS <description>: the payload is text once decoded.
        assert summary.get("type") == "html"
        assert html.unescape(summary.text) == PAYLOADS[0] and "<" not in summary.text
        assert [c.get("term") for c in item.findall(f"{ns}category")][0] == PAYLOADS[1]
    else:
        assert item.findtext("category") == PAYLOADS[1]
    content = item.findtext(content_tag)
    assert audit(content) == []
    for payload in MARKUP_PAYLOADS:
        assert payload not in content
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>" in content
    assert "&lt;/textarea&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in content  # credit, in the figure


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_rss_description_is_escaped_html(hostile_site, client, lang):
    root = ElementTree.fromstring(client.get(f"/{lang}/feed.rss").data)
    description = root.find("channel/item/description").text
    assert audit(description) == []
    assert "<script>" not in description


# --- malicious .argosmodel files -----------------------------------------------------------------------------
# tests/test_translation_units.py covers: top-level "../evil.txt", "/tmp/evil.txt", a symlink member, no
# metadata.json, no model/, two top folders, and a zip bomb whose headers tell the truth (install_file).

TOP = "translate-ru_en-1"


def good_members(top=TOP):
    meta = {"from_code": "ru", "to_code": "en", "package_version": "1"}
    return [(f"{top}/metadata.json", json.dumps(meta)), (f"{top}/model/model.bin", b"x")]


def typed_member(name: str, file_type: int, data=b"data"):
    info = zipfile.ZipInfo(name)
    info.external_attr = (file_type | 0o644) << 16
    return info, data


def write_zip(path: Path, members, compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return path


def patch_sizes(path: Path, member: str, size: int) -> Path:
    """Make the local and central headers of ``member`` claim ``size`` uncompressed bytes (CRC unchanged)."""
    data = bytearray(path.read_bytes())
    for signature, name_len_at, name_at, size_at in ((b"PK\x01\x02", 28, 46, 24), (b"PK\x03\x04", 26, 30, 22)):
        pos = 0
        while (pos := data.find(signature, pos)) != -1:
            length = struct.unpack("<H", data[pos + name_len_at:pos + name_len_at + 2])[0]
            if bytes(data[pos + name_at:pos + name_at + length]) == member.encode():
                data[pos + size_at:pos + size_at + 4] = struct.pack("<I", size)
            pos += 4
    path.write_bytes(bytes(data))
    return path


def tree(root: Path) -> dict:
    """Every path under root with its size (directories as None)."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.stat().st_size) for p in root.rglob("*")}


def beside_models(tmp_path: Path) -> dict:
    """The models folder's parent, without the models folder and the app's SQLite files."""
    return {k: v for k, v in tree(tmp_path).items() if not k.startswith(("models", "feedsvc.db"))}


OUTSIDE = f"/tmp/feedsvc-evil-{uuid.uuid4().hex}.txt"
UNSAFE = {
    "nested-dotdot": good_members() + [(f"{TOP}/model/../../evil.txt", "x")],
    "deep-dotdot": good_members() + [(f"{TOP}/model/sub/../../../../evil.txt", "x")],
    "windows-dotdot": good_members() + [(f"{TOP}\\..\\..\\evil.txt", "x")],
    "windows-dotdot-top": good_members() + [("..\\evil.txt", "x")],
    "windows-drive": good_members() + [("C:\\evil.txt", "x")],
    "windows-drive-relative": good_members() + [("C:evil.txt", "x")],
    "unc-path": good_members() + [("\\\\server\\share\\evil.txt", "x")],
    "absolute-unique": good_members() + [(OUTSIDE, "x")],
    "symlink-dir-then-file": good_members() + [typed_member(f"{TOP}/model/up", stat.S_IFLNK, b".."),
                                               (f"{TOP}/model/up/evil.txt", "x")],
    "symlink-to-absolute": good_members() + [typed_member(f"{TOP}/model/model.bin2", stat.S_IFLNK, OUTSIDE)],
}


def cli_install(runner, archive: Path):
    return runner.invoke(args=["models", "install", str(archive)])


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_unsafe_package_is_refused_by_install_file_and_cli(tmp_path, app, runner, case):
    archive = write_zip(tmp_path / f"{case}.argosmodel", UNSAFE[case])
    models = Path(app.config["MODELS_DIR"])
    before = beside_models(tmp_path)
    with pytest.raises(packages.InvalidPackage, match="unsafe path|symbolic link"):
        packages.install_file(models, archive)
    assert beside_models(tmp_path) == before
    assert not models.exists() or list(models.iterdir()) == []
    result = cli_install(runner, archive)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception  # a message, not a traceback
    assert f"Error: {archive}: " in result.output
    assert "unsafe path" in result.output or "symbolic link" in result.output
    assert not models.exists() or list(models.iterdir()) == []
    assert beside_models(tmp_path) == before
    assert not os.path.exists(OUTSIDE)


@pytest.mark.parametrize("file_type", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK],
                         ids=["fifo", "char-device", "block-device", "socket"])
def test_device_and_fifo_members_are_refused(tmp_path, app, runner, file_type):
    archive = write_zip(tmp_path / "dev.argosmodel", good_members() + [typed_member(f"{TOP}/model/dev", file_type)])
    models = Path(app.config["MODELS_DIR"])
    with pytest.raises(packages.InvalidPackage):
        packages.install_file(models, archive)
    assert list(models.iterdir()) == []
    result = cli_install(runner, archive)
    assert result.exit_code == 1 and "Error:" in result.output
    assert list(models.iterdir()) == []


def test_headers_claiming_a_huge_size_are_refused_with_default_limits(tmp_path, app, runner):
    """Two members whose headers claim ~4 GB each: refused by the declared total before extracting anything."""
    archive = write_zip(tmp_path / "huge.argosmodel", good_members() + [
        (f"{TOP}/model/a.bin", b"a" * 100), (f"{TOP}/model/b.bin", b"b" * 100)])
    patch_sizes(archive, f"{TOP}/model/a.bin", 0xFFFF0000)
    patch_sizes(archive, f"{TOP}/model/b.bin", 0xFFFF0000)
    models = Path(app.config["MODELS_DIR"])
    with pytest.raises(packages.InvalidPackage, match="size limit"):
        packages.install_file(models, archive)
    result = cli_install(runner, archive)
    assert result.exit_code == 1 and "size limit" in result.output
    assert isinstance(result.exception, SystemExit)
    assert list(models.iterdir()) == []


def test_many_small_members_adding_up_beyond_the_limit_are_refused(tmp_path):
    archive = tmp_path / "many.argosmodel"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in good_members():
            out.writestr(name, data)
        for n in range(64):
            out.writestr(f"{TOP}/model/part{n}.bin", b"\0" * (256 * 1024))
    with pytest.raises(packages.InvalidPackage, match="size limit"):
        packages.install_file(tmp_path / "models", archive, max_unpacked=8 * 1024 * 1024)
    assert list((tmp_path / "models").iterdir()) == []


def lying_bomb(path: Path) -> Path:
    """A zip bomb whose headers claim 1 KB for a member that inflates to 20 MB."""
    archive = write_zip(path, good_members() + [(f"{TOP}/model/huge.bin", b"\0" * (20 * 1024 * 1024))],
                        zipfile.ZIP_DEFLATED)
    assert archive.stat().st_size < 1024 * 1024
    return patch_sizes(archive, f"{TOP}/model/huge.bin", 1024)


def test_bomb_with_lying_headers_never_writes_more_than_it_declares(tmp_path):
    archive = lying_bomb(tmp_path / "liar.argosmodel")
    before = beside_models(tmp_path)
    with pytest.raises((packages.InvalidPackage, zipfile.BadZipFile)):
        packages.install_file(tmp_path / "models", archive, max_unpacked=10 * 1024 * 1024)
    assert list((tmp_path / "models").iterdir()) == []  # the staging folder is gone too
    assert beside_models(tmp_path) == before


@pytest.mark.parametrize("damage", ["lying-sizes", "corrupt-deflate", "unsupported-method"])
def test_damaged_archives_get_a_clear_cli_error(tmp_path, app, runner, damage):
    archive = tmp_path / f"{damage}.argosmodel"
    if damage == "lying-sizes":
        lying_bomb(archive)
    else:
        write_zip(archive, good_members() + [(f"{TOP}/model/w.bin", b"weights " * 5000)], zipfile.ZIP_DEFLATED)
        data = bytearray(archive.read_bytes())
        local = data.rfind(b"PK\x03\x04")  # the last member's local header
        if damage == "corrupt-deflate":
            start = local + 30 + len(f"{TOP}/model/w.bin")
            data[start:start + 40] = os.urandom(40)
        else:
            for at in (local + 8, bytes(data).rfind(b"PK\x01\x02") + 10):
                data[at:at + 2] = struct.pack("<H", 9)  # deflate64: zipfile cannot read it
        archive.write_bytes(bytes(data))
    models = Path(app.config["MODELS_DIR"])
    with pytest.raises(packages.InvalidPackage):
        packages.install_file(models, archive)
    result = cli_install(runner, archive)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert f"Error: {archive}: " in result.output
    assert list(models.iterdir()) == []


# --- uploads ----------------------------------------------------------------------------------------------------

def image_bytes(fmt: str, size=(64, 48), **options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt, **options)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` x ``height`` (CRC fixed, so it parses)."""
    data = bytearray(image_bytes("PNG", (8, 8)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A tiny JPEG whose SOF0 header claims ``width`` x ``height``."""
    data = bytearray(image_bytes("JPEG", (8, 8)))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_claiming(width: int, height: int) -> bytes:
    """A tiny lossless WebP whose VP8L header claims ``width`` x ``height`` (14 bits each)."""
    data = bytearray(image_bytes("WEBP", (8, 8), lossless=True))
    at = data.find(b"VP8L") + 8
    assert data[at] == 0x2F
    bits = struct.unpack("<I", data[at + 1:at + 5])[0] & ~((1 << 28) - 1)
    data[at + 1:at + 5] = struct.pack("<I", bits | (width - 1) | ((height - 1) << 14))
    return bytes(data)


NOT_IMAGES = {
    "pdf.jpg": b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    "page.jpg": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
    "vector.jpg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>',
    "vector.png": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>',
    "anim.webp": image_bytes("GIF"),  # GIF bytes with an allowed extension
    "bitmap.jpg": image_bytes("BMP"),
    "scan.png": image_bytes("TIFF"),
    "truncated.png": image_bytes("PNG")[:60],
    "empty.jpg": b"",
    "png-bomb.png": png_claiming(100_000, 100_000),
    "png-bomb-just-over.png": png_claiming(7000, 6000),
    "jpeg-bomb.jpg": jpeg_claiming(65_000, 65_000),
    "jpeg-bomb-just-over.jpg": jpeg_claiming(7000, 6000),
    "webp-bomb.webp": webp_claiming(16_383, 16_383),
    "webp-bomb-just-over.webp": webp_claiming(7000, 6000),
}


def post_release(client, **fields):
    token = csrf_token(client, "/admin/releases/new")
    data = {"title": "Релиз с фото", "body": "Текст.", "published_at": "2026-11-19T11:30", "publish": "1",
            "csrf_token": token}
    data.update(fields)
    return client.post("/admin/releases/new", data=data, content_type="multipart/form-data")


def uploads(app) -> list[str]:
    return sorted(os.listdir(app.config["UPLOAD_FOLDER"]))


@pytest.mark.parametrize("name", sorted(NOT_IMAGES))
def test_upload_that_is_not_an_acceptable_image_is_refused(logged_in, db, app, name):
    response = post_release(logged_in, photo=(io.BytesIO(NOT_IMAGES[name]), name))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The photo was refused" in html
    assert "Релиз с фото" in html  # what was typed is kept
    assert releases.count_all(db) == 0
    assert uploads(app) == []


@pytest.mark.parametrize("name", [n for n in sorted(NOT_IMAGES) if "bomb" in n])
def test_decompression_bomb_is_reported_as_too_many_pixels(logged_in, db, name):
    response = post_release(logged_in, photo=(io.BytesIO(NOT_IMAGES[name]), name))
    assert response.status_code == 400
    assert "it has too many pixels" in response.get_data(as_text=True)


@pytest.mark.parametrize(("fmt", "name", "mimetype"), [
    ("PNG", "disguised.jpg", "image/png"), ("JPEG", "photo.webp", "image/jpeg"), ("WEBP", "x.png", "image/webp")])
def test_real_image_with_another_extension_is_accepted_as_what_it_is(logged_in, db, app, fmt, name, mimetype):
    response = post_release(logged_in, photo=(io.BytesIO(image_bytes(fmt)), name))
    assert response.status_code == 302
    release = releases.get_release(db, 1)
    assert release["photo_type"] == mimetype
    with logged_in.get(f"/media/{release['photo']}") as served:
        assert served.status_code == 200 and served.mimetype == mimetype
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        Image.open(io.BytesIO(served.data)).verify()


def test_polyglot_jpeg_with_html_is_reencoded_without_the_payload(logged_in, db, app):
    payload = b"<html><script>alert(document.cookie)</script></html>"
    response = post_release(logged_in, photo=(io.BytesIO(image_bytes("JPEG") + payload), "poly.jpg"))
    assert response.status_code == 302
    stored = Path(app.config["UPLOAD_FOLDER"], releases.get_release(db, 1)["photo"]).read_bytes()
    assert b"<script>" not in stored and stored.startswith(b"\xff\xd8")


def noisy_png(size: int) -> bytes:
    """A PNG of at least ``size`` bytes (random pixels do not compress)."""
    side = int((size / 3) ** 0.5) + 8
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def test_photo_over_the_photo_limit_is_a_form_error(logged_in, db, app):
    app.config["PHOTO_MAX_BYTES"] = 64 * 1024
    photo = noisy_png(100 * 1024)
    assert 64 * 1024 < len(photo) < app.config["MAX_CONTENT_LENGTH"]
    response = post_release(logged_in, photo=(io.BytesIO(photo), "big.png"))
    assert response.status_code == 400
    assert "The photo was refused: the file is larger than" in response.get_data(as_text=True)
    assert releases.count_all(db) == 0 and uploads(app) == []


def test_request_over_max_content_length_is_a_friendly_413_and_stores_nothing(logged_in, db, app):
    app.config["MAX_CONTENT_LENGTH"] = 100 * 1024
    response = post_release(logged_in, photo=(io.BytesIO(noisy_png(150 * 1024)), "huge.png"))
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "The upload is too large." in html and response.mimetype == "text/html"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert releases.count_all(db) == 0 and uploads(app) == []


def test_bad_photo_on_edit_keeps_the_old_photo_and_text(logged_in, db, app):
    assert post_release(logged_in, photo=(io.BytesIO(image_bytes("JPEG")), "ok.jpg")).status_code == 302
    before = releases.get_release(db, 1)
    token = csrf_token(logged_in, "/admin/releases/1/edit")
    response = logged_in.post("/admin/releases/1/edit", content_type="multipart/form-data", data={
        "title": "Другой заголовок", "body": "Другой текст.", "published_at": "2026-11-19T11:30",
        "csrf_token": token, "save_draft": "1", "photo": (io.BytesIO(NOT_IMAGES["vector.jpg"]), "x.jpg")})
    assert response.status_code == 400
    assert releases.get_release(db, 1) == before
    assert uploads(app) == sorted(photos.referenced_photos(db)) and before["photo"] in uploads(app)


# --- CSRF on every state-changing route --------------------------------------------------------------------------

def snapshot(db, app) -> tuple:
    """The whole database, the uploads and the models folder."""
    models = Path(app.config["MODELS_DIR"])
    return ("\n".join(db.conn.iterdump()), uploads(app), sorted(os.listdir(models)) if models.exists() else [])


def post_rules(app) -> list:
    return [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]


@pytest.fixture
def populated(logged_in, db, app):
    """Something for every POST route to act on: releases (one with a photo), a translation, a term."""
    assert post_release(logged_in, photo=(io.BytesIO(image_bytes("JPEG")), "ok.jpg")).status_code == 302
    release = releases.get_release(db, 1)
    translate_by_hand(db, release, "kk", "Сенат", "Мәтін.")
    make_release(db, title="Второй")
    glossary.save_term(db, "Сенат*", {"en": "Senate", "kk": "Сенат"})
    return logged_in


FORM_FIELDS = {
    "title": "Изменено", "body": "Изменено.", "published_at": "2026-11-19T11:30", "publish": "1",
    "remove_photo": "y", "ru": "Новый термин", "en": "new", "kk": "жаңа", "version": "1", "source_revision": "1",
    "kk-title": "Өзгертілді", "kk-body": "Өзгертілді.", "kk-version": "1", "kk-source_revision": "1",
    "en-title": "Changed", "en-body": "Changed.", "en-version": "1", "en-source_revision": "1",
    "username": "editor", "password": PASSWORD, "submit": "1",
}


# Blueprints authenticated by a token in the request (an API key), never by the session cookie (TRANSLATE_API is off).
TOKEN_AUTHENTICATED = ("api.", "translate_api.")


@pytest.mark.parametrize("token", ["missing", "wrong", "other-session"])
def test_every_post_route_refuses_a_request_without_a_valid_csrf_token(populated, db, app, token):
    client = populated
    other = app.test_client()
    foreign = csrf_token(other, "/admin/login")
    rules = post_rules(app)
    assert len(rules) >= 8
    for rule in rules:
        url = fill_rule(app, db, rule)
        assert url, rule
        before = snapshot(db, app)
        data = dict(FORM_FIELDS)
        if token == "wrong":
            data["csrf_token"] = "IjAwMDAi.aaaa.bbbb"
        elif token == "other-session":
            data["csrf_token"] = foreign
        if rule.endpoint == "glossary.import_csv":
            data["file"] = (io.BytesIO("ru,en,kk\nВзлом,hack,бұзу\n".encode()), "g.csv")
        response = client.post(url, data=data, content_type="multipart/form-data")
        # Token-authenticated APIs take no CSRF token: the admin's session cookie alone opens nothing there.
        refused = (401, 404) if rule.endpoint.startswith(TOKEN_AUTHENTICATED) else (400,)
        assert response.status_code in refused, (url, response.status_code)
        assert snapshot(db, app) == before, url
        assert client.get("/admin/").status_code == 200, f"{url} logged the admin out"
    # A JSON body is no way around it either.
    response = client.post("/admin/releases/1/withdrawn", json={"submit": "1"})
    assert response.status_code == 400
    assert releases.get_release(db, 1)["status"] == "published"


def test_every_post_route_works_with_the_token_the_page_gives(populated, db, app):
    """The other side of the CSRF test: the refusals above are about the token, not the routes."""
    token = csrf_token(populated, "/admin/")
    response = populated.post("/admin/releases/2/withdrawn", data={"csrf_token": token, "confirm": "1"})
    assert response.status_code == 302
    assert releases.get_release(db, 2)["status"] == "withdrawn"


# --- login: rate limit, sessions, redirects, logout --------------------------------------------------------------

@pytest.fixture
def limited_app(tmp_path):
    app = create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "r.db"),
                      "UPLOAD_FOLDER": str(tmp_path / "up"), "MODELS_DIR": str(tmp_path / "m"),
                      "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}))
    from feedsvc.storage import connect

    db = connect(app.config["DATABASE"])
    users.create_user(db, "editor", PASSWORD)
    db.close()
    return app


def test_login_rate_limit_holds_for_the_right_password_and_is_per_address(limited_app):
    client = limited_app.test_client()
    client.environ_base.update(REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="en")
    token = csrf_token(client, "/admin/login")
    wrong = [client.post("/admin/login", data={"username": "editor", "password": "nope", "csrf_token": token})
             for _ in range(3)]
    assert [r.status_code for r in wrong] == [200, 200, 200]
    right = client.post("/admin/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429  # no bypass once limited, even with the right password
    html = right.get_data(as_text=True)
    assert "Too many attempts" in html and right.headers["X-Frame-Options"] == "DENY"
    assert client.get("/admin/").status_code == 302  # not logged in
    assert client.get("/admin/login").status_code == 200  # the form itself stays reachable
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    token = csrf_token(other, "/admin/login")
    response = other.post("/admin/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302  # another address is not locked out


def test_unknown_user_and_wrong_password_look_the_same(client, admin):
    token = csrf_token(client, "/admin/login")
    pages = [client.post("/admin/login", data={"username": name, "password": "wrong-password",
                                               "csrf_token": token}) for name in (admin[0], "nobody")]
    assert [p.status_code for p in pages] == [200, 200]
    strip = [re.sub(r'value="[^"]*"', "", p.get_data(as_text=True)) for p in pages]
    assert strip[0] == strip[1]


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[-1]


def test_session_cookie_is_httponly_and_samesite_lax(client, admin):
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", data={"username": admin[0], "password": admin[1], "csrf_token": token})
    cookie = session_cookie(response)
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert "secure" not in attributes  # default: plain HTTP in development
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))


def test_session_cookie_is_secure_when_configured(tmp_path):
    app = create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "s.db"),
                      "UPLOAD_FOLDER": str(tmp_path / "up"), "MODELS_DIR": str(tmp_path / "m"),
                      "RATELIMIT_ENABLED": False, "SESSION_COOKIE_SECURE": True}))
    from feedsvc.storage import connect

    db = connect(app.config["DATABASE"])
    users.create_user(db, "editor", PASSWORD)
    client = app.test_client()
    html = client.get("/admin/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/admin/login", base_url="https://localhost", headers={"Referer": "https://localhost/"},
                           data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    cookie = session_cookie(response).lower()
    assert "; secure" in cookie and "; httponly" in cookie and "samesite=lax" in cookie
    db.close()


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http://evil.example/admin", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "%2F%2Fevil.example", "/%2F%2Fevil.example", "//evil.example/admin", "/admin@evil.example",
    "/admin/..//evil.example", "/admin/\\\\evil.example", "///evil.example", " //evil.example", "\t/\t/evil.example",
])
def test_login_redirect_stays_on_this_site(client, admin, target):
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", query_string={"next": target},
                           data={"username": admin[0], "password": admin[1], "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert not re.search(r"[\x00-\x20\\]", location), location


def test_login_redirect_with_a_newline_falls_back_to_admin(client, admin):
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", query_string={"next": "/admin\r\nSet-Cookie: x=1"},
                           data={"username": admin[0], "password": admin[1], "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_local_admin_next_is_kept(client, admin):
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", query_string={"next": "/admin/glossary/"},
                           data={"username": admin[0], "password": admin[1], "csrf_token": token})
    assert response.headers["Location"] == "/admin/glossary/"


def test_logout_only_by_post_with_token(logged_in):
    response = logged_in.get("/admin/logout")
    assert response.status_code == 405
    assert logged_in.get("/admin/").status_code == 200  # a link or <img src> cannot log anyone out
    assert logged_in.post("/admin/logout").status_code == 400  # nor a cross-site form
    assert logged_in.get("/admin/").status_code == 200
    token = csrf_token(logged_in, "/admin/")
    response = logged_in.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert logged_in.get("/admin/").status_code == 302


def test_a_session_cookie_stolen_before_logout_is_dead_after_it(app, logged_in):
    stolen = logged_in.get_cookie("session").value
    token = csrf_token(logged_in, "/admin/")
    assert logged_in.post("/admin/logout", data={"csrf_token": token}).status_code == 302
    attacker = app.test_client()
    attacker.set_cookie("session", stolen)
    assert attacker.get("/admin/").status_code == 302


# --- security headers on every HTML response --------------------------------------------------------------------

def csp_directives(value: str) -> dict[str, list[str]]:
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_security_headers(response, what):
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    csp = csp_directives(headers.get("Content-Security-Policy", ""))
    script = csp.get("script-src", csp.get("default-src"))
    assert script is not None, what
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(script), what
    assert csp.get("object-src") == ["'none'"], what
    assert csp.get("frame-ancestors") == ["'none'"] or headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin", "strict-origin",
                                              "strict-origin-when-cross-origin"), what


def test_security_headers_on_every_html_page_and_error_page(populated, db, app):
    withdrawn = make_release(db, title="Отозван")
    releases.set_status(db, withdrawn["id"], "withdrawn", languages=TARGETS)
    checked = {}
    # Logged in: every GET page of the URL map (public and admin).
    for url in html_get_urls(app, db):
        response = populated.get(url)
        assert response.status_code < 500, url
        checked[("admin", url)] = response
    anonymous = app.test_client()
    for url in html_get_urls(app, db) + ["/admin/login"]:
        checked[("anonymous", url)] = anonymous.get(url)  # admin pages: redirects to the login page
    errors = {
        404: anonymous.get("/ru/releases/99999"), 410: anonymous.get(f"/ru/releases/{withdrawn['id']}"),
        400: anonymous.get("/ru/?page=abc"), 405: populated.get("/admin/logout"),
        "csrf-400": populated.post("/admin/releases/1/withdrawn"), "unknown-404": anonymous.get("/nowhere"),
    }
    for code, response in errors.items():
        if isinstance(code, int):
            assert response.status_code == code, code
        checked[("error", str(code))] = response
    assert len(checked) >= 25
    html_seen = 0
    for what, response in checked.items():
        if response.mimetype == "text/html":
            html_seen += 1
            assert_security_headers(response, what)
            if response.status_code == 200:
                assert audit(response.get_data(as_text=True)) == [], what  # the CSP breaks nothing of ours
    assert html_seen >= 20
    # Non-HTML responses are not sniffed either.
    photo = releases.get_release(db, 1)["photo"]
    for url in ("/ru/feed.rss", "/kk/feed.atom", "/admin/glossary/export.csv", f"/media/{photo}",
                f"/admin/media/{photo}"):
        with populated.get(url) as response:
            assert response.headers["X-Content-Type-Options"] == "nosniff", url


def test_security_headers_on_a_server_error_page(tmp_path):
    app = create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "e.db"),
                      "UPLOAD_FOLDER": str(tmp_path / "up"), "MODELS_DIR": str(tmp_path / "m"),
                      "PROPAGATE_EXCEPTIONS": False}))

    def boom():
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", boom)
    disabled, app.logger.disabled = app.logger.disabled, True  # the logger is shared: restore it
    try:
        response = app.test_client().get("/boom")
    finally:
        app.logger.disabled = disabled
    assert response.status_code == 500
    assert "boom" not in response.get_data(as_text=True)  # no traceback or message leaks
    assert_security_headers(response, "500")
