"""Release photos: verified and re-encoded with Pillow, so only real images are kept and only pixels leave."""

import hashlib
import io
import json
import os
import sqlite3
import uuid
import warnings
from datetime import datetime
from datetime import timedelta

from PIL import Image
from PIL import ImageCms
from PIL import UnidentifiedImageError
from sqlite_utils import Database

from feedsvc import clock
from feedsvc.errors import InvalidInput
from feedsvc.storage import write

FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
# Widths made once at upload, never wider than the photo: phones, the page column (800 CSS px) on
# ordinary and on high-density screens, and share cards. Each in WebP, with a JPEG for older readers.
SIZE_WIDTHS = (480, 960, 1600)
SIZE_FORMATS = ("WEBP", "JPEG")
WEBP_MAX_SIDE = 16383  # WebP cannot hold a longer side: such sizes are made as JPEG only
JPEG_MAX_SIDE = 65535  # nor can JPEG: an image longer than this is refused
# A progressive JPEG's decoding costs about its pixels times its scans: 200,000 scans in 9.4 MB took over 30 s.
# Cameras and encoders write about 10.
MAX_SCANS = 100
DECODE_SECONDS = 20.0  # the longest an upload may take to decode (see Deadline)


class InvalidPhoto(InvalidInput):
    """The upload is not a JPEG, PNG or WebP image we accept; ``reason`` is one of REASONS."""

    def __init__(self, reason: str):
        """Keep the reason code for the message in the admin's language."""
        super().__init__(reason)
        self.reason = reason


# Reasons, as codes: the web layer turns them into interface text in the admin's language.
NOT_AN_IMAGE, TOO_MANY_PIXELS, DAMAGED, TOO_LARGE = "not-an-image", "too-many-pixels", "damaged", "too-large"
TOO_LONG, TOO_MANY_SCANS, TOO_SLOW = "too-long", "too-many-scans", "too-slow"


class Deadline(io.BytesIO):
    """An upload's bytes that refuse to be read past a deadline (on ``feedsvc.clock``, so tests can move it).

    Pillow decodes as it reads (64 KiB at a time), so a decode that takes too long stops at its next read,
    as a refused photo, instead of holding the web worker until its timeout kills it.
    """

    def __init__(self, data: bytes, deadline: datetime):
        """Wrap ``data``; reading fails once ``clock.now()`` is past ``deadline``."""
        super().__init__(data)
        self.deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        """Read on, if there is still time."""
        if clock.now() > self.deadline:
            raise InvalidPhoto(TOO_SLOW)
        return super().read(size)


def read_image(data: bytes, max_pixels: int, max_seconds: float = DECODE_SECONDS) -> Image.Image:
    """Open and fully decode an upload, refusing non-images, decompression bombs and decodes too costly."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    deadline = clock.now() + timedelta(seconds=max_seconds)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x the limit; here every bomb is refused alike.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(Deadline(data, deadline)) as probe:
                probe.verify()
            image = Image.open(Deadline(data, deadline))
        check_size(image, data, max_pixels)
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidPhoto(TOO_MANY_PIXELS) from exc
    except UnidentifiedImageError as exc:
        raise InvalidPhoto(NOT_AN_IMAGE) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, InvalidPhoto):
            raise
        raise InvalidPhoto(DAMAGED) from exc
    return image


def check_size(image: Image.Image, data: bytes, max_pixels: int) -> None:
    """Refuse, before decoding, what costs too much to decode or cannot be stored: too many pixels, a side
    longer than JPEG holds, a JPEG of too many scans (each SOS marker starts one; a marker cannot hide in the
    compressed data, so the count may only be too high, by the scans of an embedded thumbnail)."""
    if image.format not in FORMATS:
        raise InvalidPhoto(NOT_AN_IMAGE)
    if image.width * image.height > max_pixels:
        raise InvalidPhoto(TOO_MANY_PIXELS)
    if max(image.size) > JPEG_MAX_SIDE:
        raise InvalidPhoto(TOO_LONG)
    if image.format == "JPEG" and data.count(b"\xff\xda") > MAX_SCANS:
        raise InvalidPhoto(TOO_MANY_SCANS)


def encode(image: Image.Image, fmt: str) -> bytes:
    """Re-encode pixels only: no EXIF, XMP, ICC profile, comment or text chunk survives (see pixels_only)."""
    clean = pixels_only(image, "RGB" if fmt == "JPEG" else None)
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=88, optimize=True)
    elif fmt == "PNG":
        clean.save(out, "PNG", optimize=True)
    else:
        clean.save(out, "WEBP", quality=85)
    return out.getvalue()


def pixels_only(image: Image.Image, mode: str | None) -> Image.Image:
    """A new image holding only the pixels, in sRGB, with an empty ``info``.

    Pillow's savers fall back to ``image.info`` for a JPEG comment, a PNG's ICC profile and more, so
    saving the decoded image would carry them over; a fresh image built from the raw pixels has none.
    """
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = to_srgb(image, "RGBA" if alpha else "RGB")
    kept = ("RGB", "RGBA", "L", "1", "I;16")  # what PNG stores as decoded (16-bit grey stays 16-bit)
    target = mode or (image.mode if image.mode in kept else "RGBA" if alpha else "RGB")
    if image.mode != target:
        image = image.convert(target)
    return Image.frombytes(image.mode, image.size, image.tobytes())


def to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """Convert colours to sRGB when the image carries an ICC profile, so dropping the profile keeps its look.

    A profile littlecms cannot read or apply to these pixels is dropped as it is: it described nothing usable.
    """
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
            image = image.convert(mode)
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=mode) or image
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image


def save_photo(data: bytes, folder: str, *, max_bytes: int, max_pixels: int,
               max_seconds: float = DECODE_SECONDS) -> dict:
    """Check, re-encode and store an uploaded photo and its sizes; returns the release's photo fields."""
    if len(data) > max_bytes:
        raise InvalidPhoto(TOO_LARGE)
    image = read_image(data, max_pixels, max_seconds)
    kind = str(image.format)  # read_image accepts only the FORMATS
    mimetype, suffix = FORMATS[kind]
    encoded = encode(image, kind)
    name = uuid.uuid4().hex + suffix
    store_file(folder, name, encoded)
    try:
        sizes = make_sizes(image, folder)
    except BaseException:
        delete_photo(folder, name)
        raise
    return {"photo": name, "photo_type": mimetype, "photo_length": len(encoded),
            "photo_width": image.width, "photo_height": image.height, "photo_sizes": json.dumps(sizes)}


def store_file(folder: str, name: str, data: bytes) -> None:
    """Write a file under its final name atomically (a crash leaves at most a ".part" file, never half a photo)."""
    tmp = os.path.join(folder, f".{name}.part")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        delete_photo(folder, os.path.basename(tmp))  # a full disk must not leave half a file behind
        raise


def make_sizes(image: Image.Image, folder: str) -> list[dict]:
    """Store each of SIZE_WIDTHS (at most the photo's width) in SIZE_FORMATS; returns them, narrowest first.

    Names are the content's hash (32 hex digits, as the original's): the same bytes always have the same
    name and a name never gets other bytes, so readers may keep them for a year (``immutable``).
    """
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    base = pixels_only(image, "RGBA" if alpha else "RGB")
    sizes: list[dict] = []
    created: list[str] = []
    try:
        for width in sorted({min(width, base.width) for width in SIZE_WIDTHS}):
            height = max(1, round(base.height * width / base.width))
            scaled = base if width == base.width else base.resize((width, height), Image.Resampling.LANCZOS)
            for fmt in SIZE_FORMATS if max(width, height) <= WEBP_MAX_SIDE else ("JPEG",):
                sizes.append(store_size(on_white(scaled) if fmt == "JPEG" else scaled, fmt, folder, created))
    except BaseException:
        for name in created:  # no size file without its photo (a full disk); ones another photo shares stay
            delete_photo(folder, name)
        raise
    return sizes


def store_size(image: Image.Image, fmt: str, folder: str, created: list[str]) -> dict:
    """Encode and store one size under its content's name (noted in ``created`` if no file had it yet);
    returns its entry in ``photo_sizes``."""
    data = encode(image, fmt)
    mimetype, suffix = FORMATS[fmt]
    name = hashlib.sha256(data).hexdigest()[:32] + suffix
    if not os.path.exists(os.path.join(folder, name)):
        created.append(name)
    store_file(folder, name, data)
    return {"name": name, "type": mimetype, "width": image.width, "height": image.height, "length": len(data)}


def on_white(image: Image.Image) -> Image.Image:
    """A transparent image laid on white, for a format without transparency (else its hidden pixels show)."""
    if image.mode != "RGBA":
        return image
    return Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image)


def add_missing_sizes(db: Database, folder: str, max_pixels: int) -> list[str]:
    """Make the sizes of every stored photo that has none yet (photos uploaded before sizes existed).

    Returns the photos done. A photo file that is missing or unreadable is left as it is: its page keeps
    showing the original.
    """
    done = []
    for row in list(db.query("select id, photo from releases where photo is not null and photo_sizes is null")):
        try:
            with open(os.path.join(folder, row["photo"]), "rb") as fh:
                image = read_image(fh.read(), max_pixels)
        except (OSError, InvalidPhoto):
            continue
        sizes = json.dumps(make_sizes(image, folder))
        with write(db):
            db.execute("update releases set photo_sizes = ? where id = ?", [sizes, row["id"]])
        done.append(row["photo"])
    return done


def delete_photo(folder: str, name: str | None) -> None:
    """Remove a stored photo file if it exists (after a failed save or a replacement)."""
    if name:
        try:
            os.remove(os.path.join(folder, name))
        except FileNotFoundError:
            pass


def delete_stored(db: Database, folder: str, fields: dict | None) -> None:
    """Remove a photo and its sizes (a release's or save_photo's photo fields) that no release references.

    Sizes are named by their content, so the same photo uploaded twice shares them. When the database
    cannot be read, the files stay for ``cleanup_uploads``.
    """
    fields = fields or {}
    try:
        referenced = referenced_photos(db)
    except sqlite3.Error:
        return
    for name in [fields.get("photo"), *(size["name"] for size in sizes_of(fields.get("photo_sizes")))]:
        if name not in referenced:
            delete_photo(folder, name)


def orphans(folder: str, referenced: set[str], min_age_seconds: float) -> list[str]:
    """Files in the uploads folder that no release references, older than the grace period.

    A crash between storing a photo and committing its release (or a half-written ".part"
    file) leaves such files; younger ones may belong to an upload still in flight.
    """
    now = clock.now().timestamp()
    found = []
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False) and entry.name not in referenced and (
            now - entry.stat(follow_symlinks=False).st_mtime >= min_age_seconds
        ):
            found.append(entry.name)
    return sorted(found)


# Files younger than this may belong to an upload still in flight.
GRACE_SECONDS = 3600


def referenced_photos(db: Database) -> set[str]:
    """Every photo file name a release (any status, withdrawn included) points to, its sizes included."""
    names = set()
    for row in db.query("select photo, photo_sizes from releases where photo is not null"):
        names.add(row["photo"])
        names.update(size["name"] for size in sizes_of(row["photo_sizes"]))
    return names


def sizes_of(stored: str | None) -> list[dict]:
    """A release's stored ``photo_sizes`` as a list (empty for a photo without sizes)."""
    return json.loads(stored) if stored else []


def cleanup_uploads(db: Database, folder: str, min_age_seconds: float = GRACE_SECONDS,
                    dry_run: bool = False) -> list[str]:
    """Delete unreferenced upload files older than the grace period; returns their names."""
    names = orphans(folder, referenced_photos(db), min_age_seconds)
    if not dry_run:
        for name in names:
            delete_photo(folder, name)
    return names
