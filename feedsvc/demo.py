"""Demo data: releases with generated photos, the glossary and the tiny demo models (commands: commands.demo)."""

import io
import json
from datetime import datetime
from pathlib import Path

from PIL import Image
from PIL import ImageDraw
from sqlite_utils import Database

from feedsvc import photos
from feedsvc import releases
from feedsvc.modelstore import packages

DEMO_DIR = Path(__file__).parent / "demo"
# Shipped inside the package, so the demo finds them with any MODELS_DIR and after a non-editable install.
DEMO_MODELS = DEMO_DIR / "models"


def demo_photo(seed: int) -> bytes:
    """A generated stand-in photo (a hall with flags), so the demo ships no binary images."""
    image = Image.new("RGB", (960, 600), (30 + seed * 40 % 90, 70, 120))
    draw = ImageDraw.Draw(image)
    for i in range(12):
        draw.rectangle([40 + i * 75, 380, 90 + i * 75, 560], fill=(200, 180 - i * 5, 120))
    draw.rectangle([0, 540, 960, 600], fill=(90, 60, 40))
    draw.ellipse([400, 80, 560, 240], fill=(240, 200, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def load_releases(db: Database, upload_folder: str, languages: tuple[str, ...]) -> int:
    """Store and publish the demo releases (with generated photos); returns how many."""
    items = json.loads((DEMO_DIR / "releases.json").read_text(encoding="utf-8"))
    for number, item in enumerate(items):
        photo, caption, credit = None, "", ""
        if item.get("photo"):
            photo = photos.save_photo(demo_photo(number), upload_folder, max_bytes=10**7, max_pixels=10**7)
            caption, credit = item["photo"].get("caption", ""), item["photo"].get("credit", "")
        releases.create_release(
            db, title=item["title"], body=item["body"], category=item.get("category", ""),
            published_at=datetime.fromisoformat(item["published"]), photo=photo, photo_caption=caption,
            photo_credit=credit, publish=True, languages=languages,
        )
    return len(items)


def install_demo_models(models_dir: str) -> list[packages.PackageInfo]:
    """Install the tiny demo packages shipped in feedsvc/demo/models/ (setup_demo calls it only with none installed)."""
    return [packages.install_file(models_dir, archive) for archive in sorted(DEMO_MODELS.glob("*.argosmodel"))]
