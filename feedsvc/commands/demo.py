"""`feedsvc demo`: demo releases, glossary, models and a demo admin for an empty instance."""

import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlite_utils import Database

from feedsvc import releases
from feedsvc.demo import DEMO_DIR
from feedsvc.demo import install_demo_models
from feedsvc.demo import load_releases
from feedsvc.modelstore import packages
from feedsvc.storage import connect
from feedsvc.translation import glossary
from feedsvc.web import users

DEMO_USER = "admin"


def demo_admin(db: Database, note: Path) -> str | None:
    """Create the demo admin with a random password when the instance has no user at all; returns it.

    An instance with any user keeps exactly the users it has: a deleted "admin" never comes back.
    """
    if db.table("users").count:
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
