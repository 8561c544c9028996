"""Uploads that used to crash the request are made or refused, never a 500: sizes WebP cannot hold are made as
JPEG only; too long, too many scans, too slow to decode are form errors that keep the text and leave no file.
The hostile images are built here."""

import io
import json
import os
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from PIL import Image

from feedsvc import clock
from feedsvc import photos
from tests.helpers import csrf_token

TITLE = "Сенат одобрил закон «О цифровых активах»"
BODY = "Депутаты Сената рассмотрели закон.\n\nВторой абзац, долго набранный редактором."
MAX_PIXELS = 40_000_000


def png(width: int, height: int, noise: bool = False) -> bytes:
    """A PNG of that size: a plain gradient, or noise that does not compress (many reads to decode)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def progressive_jpeg(extra_scans: int = 0) -> bytes:
    """A progressive JPEG (Pillow writes about 10 scans) with its last scan repeated ``extra_scans`` times: libjpeg
    only warns about a repeated scan and decodes each one again, which is how 200,000 scans took 30 s."""
    out = io.BytesIO()
    Image.linear_gradient("L").resize((320, 200)).convert("RGB").save(out, "JPEG", progressive=True, quality=80)
    data = out.getvalue()
    last = data.rindex(b"\xff\xda")
    scan = data[last:-2]  # the last SOS segment and its data, up to the EOI marker
    return data[:-2] + scan * extra_scans + data[-2:]


def files(folder) -> list[str]:
    """What is in the uploads folder."""
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_photo_too_tall_for_webp_gets_jpeg_sizes_only(tmp_path):
    stored = photos.save_photo(png(960, 18000), str(tmp_path), max_bytes=10**7, max_pixels=MAX_PIXELS)
    sizes = [(s["width"], s["height"], s["type"]) for s in json.loads(stored["photo_sizes"])]
    assert sizes == [(480, 9000, "image/webp"), (480, 9000, "image/jpeg"), (960, 18000, "image/jpeg")]
    for size in json.loads(stored["photo_sizes"]):
        with Image.open(tmp_path / size["name"]) as image:
            assert image.size == (size["width"], size["height"])
    assert len(files(tmp_path)) == 4  # the original and three sizes


def test_a_one_pixel_wide_strip_is_kept_with_a_jpeg_size(tmp_path):
    stored = photos.save_photo(png(1, 39000), str(tmp_path), max_bytes=10**7, max_pixels=MAX_PIXELS)
    assert [s["type"] for s in json.loads(stored["photo_sizes"])] == ["image/jpeg"]
    assert stored["photo_height"] == 39000


@pytest.mark.parametrize(("data", "reason"), [
    (lambda: png(1, photos.JPEG_MAX_SIDE + 1), photos.TOO_LONG),
    (lambda: progressive_jpeg(extra_scans=photos.MAX_SCANS), photos.TOO_MANY_SCANS),
])
def test_photos_no_format_can_hold_or_too_costly_to_decode_are_refused_before_decoding(tmp_path, data, reason):
    with pytest.raises(photos.InvalidPhoto) as refused:
        photos.save_photo(data(), str(tmp_path), max_bytes=10**7, max_pixels=MAX_PIXELS)
    assert refused.value.reason == reason
    assert files(tmp_path) == []


def test_an_ordinary_progressive_jpeg_is_accepted(tmp_path):
    data = progressive_jpeg()
    assert 1 < data.count(b"\xff\xda") <= photos.MAX_SCANS
    assert photos.save_photo(data, str(tmp_path), max_bytes=10**7, max_pixels=MAX_PIXELS)["photo_width"] == 320


class Ticking:
    """A clock that moves a second each time it is read: a decode's time is then its number of reads."""

    def __init__(self):
        self.moment = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


def test_a_decode_past_its_deadline_is_refused_and_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(clock, "now", Ticking().now)
    small, large = png(16, 16), png(400, 400, noise=True)  # about 20 reads, and 60 (470 KB)
    (tmp_path / "ok").mkdir()
    (tmp_path / "slow").mkdir()
    stored = photos.save_photo(small, str(tmp_path / "ok"), max_bytes=10**7, max_pixels=MAX_PIXELS, max_seconds=40)
    assert stored["photo_width"] == 16  # a few reads: within the bound
    with pytest.raises(photos.InvalidPhoto) as refused:
        photos.save_photo(large, str(tmp_path / "slow"), max_bytes=10**7, max_pixels=MAX_PIXELS, max_seconds=40)
    assert refused.value.reason == photos.TOO_SLOW
    assert files(tmp_path / "slow") == []


@pytest.mark.parametrize(("photo", "accepted"), [
    (lambda: png(1, 39000), True),
    (lambda: png(960, 18000), True),
    (lambda: png(1, photos.JPEG_MAX_SIDE + 1), False),
    (lambda: progressive_jpeg(extra_scans=photos.MAX_SCANS), False),
])
def test_hostile_photos_on_the_release_form_are_made_or_a_form_error_never_a_500(app, logged_in, db, photo,
                                                                                   accepted):
    token = csrf_token(logged_in, "/admin/releases/new")
    data = {"title": TITLE, "body": BODY, "save_draft": "1", "csrf_token": token,
            "photo": (io.BytesIO(photo()), "photo.png")}
    response = logged_in.post("/admin/releases/new", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    if accepted:
        assert response.status_code == 302, html[:400]
        assert db.execute("select count(*) from releases where photo is not null").fetchone()[0] == 1
        return
    assert response.status_code == 400, html[:400]
    assert "The photo was refused" in html
    assert TITLE in html and "долго набранный редактором" in html
    assert db.execute("select count(*) from releases").fetchone()[0] == 0
    assert files(app.config["UPLOAD_FOLDER"]) == []


def test_a_photo_too_slow_to_decode_is_a_form_error_on_the_release_form(app, logged_in, db, monkeypatch):
    token = csrf_token(logged_in, "/admin/releases/new")
    app.config["PHOTO_DECODE_SECONDS"] = 40
    monkeypatch.setattr(clock, "now", Ticking().now)
    data = {"title": TITLE, "body": BODY, "save_draft": "1", "csrf_token": token,
            "photo": (io.BytesIO(png(400, 400, noise=True)), "photo.png")}
    response = logged_in.post("/admin/releases/new", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html[:400]
    assert "it takes too long to decode" in html and TITLE in html
    assert files(app.config["UPLOAD_FOLDER"]) == []


def test_a_photo_failing_midway_leaves_no_new_file_and_keeps_the_sizes_another_photo_shares(tmp_path, monkeypatch):
    data = png(1200, 800)
    photos.save_photo(data, str(tmp_path), max_bytes=10**7, max_pixels=MAX_PIXELS)  # a stored release's photo
    before = files(tmp_path)
    real_encode, calls = photos.encode, []

    def disk_fills(image, fmt):
        """Encode, until the disk is full at the fifth file."""
        calls.append(fmt)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        return real_encode(image, fmt)

    monkeypatch.setattr(photos, "encode", disk_fills)
    with pytest.raises(OSError):
        photos.save_photo(png(1200, 800), str(tmp_path), max_bytes=10**7, max_pixels=MAX_PIXELS)  # the same again
    assert files(tmp_path) == before
    calls.clear()
    with pytest.raises(OSError):
        photos.save_photo(png(1000, 700), str(tmp_path), max_bytes=10**7, max_pixels=MAX_PIXELS)  # a new one
    assert files(tmp_path) == before
