"""Fixtures in the style of Flask's tutorial: a real SQLite file per test, the real test client."""

from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from feedsvc import create_app
from feedsvc import releases
from feedsvc import users
from feedsvc.db import connect

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(tmp_path):
    """An app on a fresh database file and upload folder, with no models installed."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATABASE": str(tmp_path / "feedsvc.db"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "MODELS_DIR": str(tmp_path / "models"),
        "RATELIMIT_ENABLED": False,
    })
    yield app


@pytest.fixture
def db(app):
    """A connection to the app's database, as the worker and CLI open it."""
    database = connect(app.config["DATABASE"])
    yield database
    database.close()


@pytest.fixture
def client(app):
    """The Flask test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """The Flask CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def admin(db):
    """An admin user; returns (username, password)."""
    users.create_user(db, "editor", PASSWORD)
    return "editor", PASSWORD


def csrf_token(client, url: str) -> str:
    """The CSRF token of the form on ``url`` (tests post forms the way a browser does)."""
    import re

    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@pytest.fixture
def logged_in(client, admin):
    """The test client with an admin session (logged in through the real form, CSRF and all)."""
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", data={"username": admin[0], "password": admin[1], "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def make_release(db, title="Спикер Сената встретился с секретарями маслихатов", body=None, publish=True, **kw):
    """A stored release with sensible defaults."""
    body = body or "Первый абзац «с цитатой».\n\nВторой абзац, 19.11.2021, тел. 74-72-27."
    return releases.create_release(db, title=title, body=body, published_at=kw.pop(
        "published_at", datetime(2026, 11, 19, 6, 30, tzinfo=UTC)), publish=publish, **kw)
