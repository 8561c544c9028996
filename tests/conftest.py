"""Fixtures in the style of Flask's tutorial: a real SQLite file per test, the real test client."""

import os
import shutil
import socket
import tempfile
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from feedsvc import clock
from feedsvc.demo import DEMO_DIR
from feedsvc.demo import install_demo_models
from feedsvc.modelstore import packages
from feedsvc.storage import connect
from feedsvc.translation import glossary
from feedsvc.web import create_app
from feedsvc.web import users
from tests.helpers import CHROMEDRIVER
from tests.helpers import CHROMIUM
from tests.helpers import CHROMIUM_FLAGS
from tests.helpers import PASSWORD
from tests.helpers import SITE
from tests.helpers import USERNAME
from tests.helpers import WAIT
from tests.helpers import HubStub
from tests.helpers import cli_runner
from tests.helpers import csrf_token
from tests.helpers import migrated
from tests.helpers import missing_browser
from tests.helpers import served

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
    return cli_runner(app)


@pytest.fixture
def admin(db):
    """An admin user; returns (username, password)."""
    users.create_user(db, "editor", PASSWORD)
    return "editor", PASSWORD


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


@pytest.fixture
def live_app(app):
    """The test app (see conftest), served by a real threaded HTTP server on 127.0.0.1:<free port>."""
    db = connect(app.config["DATABASE"])
    users.create_user(db, USERNAME, PASSWORD)
    db.close()
    with served(app) as url:
        app.config["LIVE_URL"] = url
        yield app


@pytest.fixture
def chrome(monkeypatch):
    """Headless Chromium through Debian's chromedriver, with a fresh profile; never downloads anything."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            missing_browser(f"{path} is missing")
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing_browser("selenium is not installed (pip install -e '.[test]')")
    # selenium-manager must not look for or fetch a browser or driver: both paths are explicit.
    monkeypatch.setenv("SE_OFFLINE", "1")
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    profile = tempfile.mkdtemp(prefix="feedsvc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # A Russian-speaking press officer: the interface follows Accept-Language (headless ignores --lang).
    options.add_experimental_option("prefs", {"intl.accept_languages": "ru-RU,ru"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        pytest.fail(f"Chromium did not start through {CHROMEDRIVER}: {exc.msg or exc}", pytrace=False)
    driver.set_page_load_timeout(WAIT * 2)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def hub():
    """A hub stub on loopback."""
    stub = HubStub()
    yield stub
    stub.close()


@pytest.fixture
def hub_app(app, hub):
    """The app with SITE_URL and the stub as its one hub."""
    return create_app({**app.config, "SITE_URL": SITE, "WEBSUB_HUBS": [hub.url]})
