"""Fixtures in the style of Flask's tutorial: a real SQLite file per test, the real test client."""

import contextlib
import os
import socket
import threading
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest

from feedsvc import clock
from feedsvc import releases
from feedsvc.demo import DEMO_DIR
from feedsvc.demo import install_demo_models
from feedsvc.migrations import migrate
from feedsvc.modelstore import packages
from feedsvc.storage import connect
from feedsvc.translation import glossary
from feedsvc.web import create_app
from feedsvc.web import users
from tests.helpers import TARGETS

PASSWORD = "correct horse battery"
# How long a wait may last before the test calls it a hang. Nothing waits this long when all is well:
# tests wait for events (a row, a file, a process), and this bound only stops a hung one.
HANG_SECONDS = 180
LOOPBACK = ("127.", "::1", "localhost")


def pytest_configure(config):
    """Fail any test that connects anywhere but loopback: nothing may touch the network at run time.

    CI also runs the whole suite in a network namespace with no network at all (see .ci/run);
    this guard gives the same answer on a developer machine that has a network.
    """
    real_connect = socket.socket.connect

    def guarded_connect(sock, address, *args):
        host = address[0] if isinstance(address, tuple) else str(address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(LOOPBACK):
            raise AssertionError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address, *args)

    socket.socket.connect = guarded_connect
ROOT = Path(__file__).resolve().parent.parent


def migrated(config: dict) -> dict:
    """Bring ``config``'s database up to date, as `feedsvc init-db` does before any process starts; returns it."""
    db = connect(config["DATABASE"])
    try:
        migrate(db)
    finally:
        db.close()
    return config


@pytest.fixture
def app(tmp_path):
    """An app on a fresh database file (migrated) and upload folder, with no models installed."""
    app = create_app(migrated({
        "TESTING": True,
        "SECRET_KEY": "test",
        "DATABASE": str(tmp_path / "feedsvc.db"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "MODELS_DIR": str(tmp_path / "models"),
        "ARGOS_HOME": str(tmp_path / "argos"),
        "RATELIMIT_ENABLED": False,
    }))
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
    """The test client with an admin session (logged in through the real form, CSRF and all).

    Its interface language is English so assertions read like the msgids.
    """
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", data={"username": admin[0], "password": admin[1], "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


class SetClock:
    """A clock the test sets: ``feedsvc.clock.now`` answers ``moment`` until the test moves it."""

    def __init__(self, moment: datetime):
        """Start at ``moment`` (timezone-aware)."""
        self.moment = moment

    def now(self) -> datetime:
        """The set time."""
        return self.moment

    def set(self, moment: datetime) -> None:
        """Jump to ``moment``."""
        self.moment = moment

    def advance(self, **delta) -> None:
        """Move forward by ``timedelta(**delta)``."""
        self.moment += timedelta(**delta)


@pytest.fixture
def set_clock(monkeypatch):
    """The service's clock, stopped at 2026-11-19 12:00 UTC until the test moves it."""
    fixed = SetClock(datetime(2026, 11, 19, 12, 0, tzinfo=UTC))
    monkeypatch.setattr(clock, "now", fixed.now)
    return fixed


def missing_program(reason: str, packages: str):
    """Skip locally, fail under CI: CI must never pass without having run the Debian program a test drives."""
    message = f"{reason}: install Debian's {packages} (`make system-deps`)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def served(app):
    """The app served by a real threaded HTTP server on 127.0.0.1:<free port>; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=HANG_SECONDS)
        server.server_close()


def wait_until(condition, what: str, seconds: float = HANG_SECONDS):
    """Poll ``condition`` until it returns something true, and return that; ``what`` names a hang."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what} (waited {seconds} s)"
        time.sleep(0.05)
    return result


def expire_leases(db) -> None:
    """Let every job lease run out now (what a dead worker's lease does after WORKER_LEASE_SECONDS)."""
    db.execute("update jobs set lease_until = ? where status = 'running'",
               [clock.iso(clock.now() - timedelta(seconds=1))])


def settle(db, seconds: int = 2) -> None:
    """Let time pass since the last change (its stamp moves back), so responses carry Last-Modified again."""
    changed_at = clock.parse_time(db.execute("select changed_at from site_state where id = 1").fetchone()[0])
    db.execute("update site_state set changed_at = ? where id = 1",
               [(changed_at - timedelta(seconds=seconds)).isoformat()])


def make_release(db, title="Спикер Сената встретился с секретарями маслихатов", body=None, publish=True, **kw):
    """A stored release with sensible defaults."""
    body = body or "Первый абзац «с цитатой».\n\nВторой абзац, 19.11.2021, тел. 74-72-27."
    kw.setdefault("languages", TARGETS)
    return releases.create_release(db, title=title, body=body, published_at=kw.pop(
        "published_at", datetime(2026, 11, 19, 6, 30, tzinfo=UTC)), publish=publish, **kw)


@pytest.fixture
def models(app):
    """The demo models (ru→en, en→kk) installed into the app's models folder."""
    install_demo_models(app.config["MODELS_DIR"])
    return packages.list_packages(app.config["MODELS_DIR"])


@pytest.fixture
def terms(db):
    """The demo glossary, stored."""
    glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))
    return glossary.load_terms(db)


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    """One real engine for the session (loading torch once); models load on first use."""
    from feedsvc.translation.engine import Engine
    from feedsvc.translation.engine import prepare_environment

    prepare_environment(tmp_path_factory.mktemp("argos"), tmp_path_factory.mktemp("unused-models"))
    return Engine()
