"""Demo data and the one-command start: `feedsvc demo` and `feedsvc serve`."""

import io
import json
import os
import secrets
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from PIL import Image
from PIL import ImageDraw
from sqlite_utils import Database

from feedsvc import photos
from feedsvc import releases
from feedsvc import supervise
from feedsvc import users
from feedsvc.storage import connect
from feedsvc.translation import glossary
from feedsvc.translation import packages

DEMO_DIR = Path(__file__).parent / "demo"
# Shipped inside the package, so the demo finds them with any MODELS_DIR and after a non-editable install.
DEMO_MODELS = DEMO_DIR / "models"
DEMO_USER = "admin"


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


def demo_admin(db: Database, note: Path) -> str | None:
    """Create the demo admin with a random password when the instance has no user at all; returns it.

    An instance with any user keeps exactly the users it has: a deleted "admin" never comes back.
    """
    if db.execute("select count(*) from users").fetchone()[0]:
        return None
    password = secrets.token_urlsafe(12)
    users.create_user(db, DEMO_USER, password)
    note.write_text(f"user: {DEMO_USER}\npassword: {password}\n")
    note.chmod(0o600)
    return password


def admin_note(app) -> Path:
    """Where the demo admin's password is kept: beside the database it belongs to."""
    return Path(app.config["DATABASE"]).parent / "demo-admin.txt"


def setup_demo(app) -> dict:
    """Load everything the demo needs into an empty instance; does nothing to one that has data."""
    db = connect(app.config["DATABASE"])
    done = {"releases": 0, "models": [], "password": None}
    if releases.count_all(db) == 0:
        glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))
        done["releases"] = load_releases(db, app.config["UPLOAD_FOLDER"], tuple(app.config["TARGET_LANGUAGES"]))
    if not packages.list_packages(app.config["MODELS_DIR"]):
        done["models"] = install_demo_models(app.config["MODELS_DIR"])
    done["password"] = demo_admin(db, admin_note(app))
    return done


def report(done: dict, note: Path) -> None:
    """Tell the operator what the demo set-up did, including the admin password."""
    if done["releases"]:
        click.echo(f"Loaded {done['releases']} demo releases and the demo glossary.")
    for package in done["models"]:
        click.echo(f"Installed demo model {package.key} ({package.from_code}→{package.to_code}).")
    if done["password"]:
        click.echo(f"Demo admin → user: {DEMO_USER}  password: {done['password']}  "
                   f"(also in {note})")


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo releases, glossary, demo models and a demo admin into an empty instance."""
    done = setup_demo(current_app)
    report(done, admin_note(current_app))
    if not any(done.values()):
        click.echo("The instance already has data; nothing loaded.")


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn web workers")
@click.option("--no-demo", is_flag=True, help="Do not load demo data into an empty instance.")
def serve_command(host: str, port: int, workers: int, no_demo: bool) -> None:
    """Start the web app (gunicorn) and a translation worker together; Ctrl+C or SIGTERM stops both."""
    try:
        supervise.check_port(host, port)
    except supervise.PortInUse as exc:
        raise click.ClickException(str(exc)) from exc
    if not no_demo:
        report(setup_demo(current_app), admin_note(current_app))
    web = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{host}:{port}",
           "--access-logfile", "-", "feedsvc:create_app()"]
    worker = [sys.executable, "-m", "feedsvc.cli", "worker"]
    click.echo(f"feedsvc is serving on http://{host}:{port}/ (admin: http://{host}:{port}/admin/)")
    code = supervise.run(web, worker, dict(os.environ), echo=lambda line: click.echo(line, err=True))
    if code:
        raise SystemExit(code)
