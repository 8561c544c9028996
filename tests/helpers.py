"""Helpers shared between test modules (conftest.py holds the fixtures)."""

import contextlib
import csv
import html
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from flask.testing import FlaskCliRunner
from lxml import etree

from feedsvc import clock
from feedsvc import commands
from feedsvc import jobs
from feedsvc import releases
from feedsvc import sitemaps
from feedsvc import translations
from feedsvc.commands.serve import no_control_socket
from feedsvc.demo import DEMO_DIR
from feedsvc.demo import install_demo_models
from feedsvc.feeds import ATOM
from feedsvc.migrations import migrate
from feedsvc.modelstore import packages
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.text.editions import EDITIONS
from feedsvc.text.segment import join_paragraph
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import glossary
from feedsvc.translation import typography
from feedsvc.translation import worker
from feedsvc.translation.checks import Finding
from feedsvc.translation.checks import Flag
from feedsvc.translation.checks import Policy
from feedsvc.translation.checks import SentenceCheck
from feedsvc.translation.pipeline import Outcome
from feedsvc.translation.pipeline import units
from feedsvc.translation.worker import run
from feedsvc.web import create_app
from feedsvc.web import users

# The default site's target languages (config.TARGET_LANGUAGES), as the domain functions take them.
TARGETS = ("kk", "en")
PASSWORD = "correct horse battery"


# How long a wait may last before the test calls it a hang. Nothing waits this long when all is well:
# tests wait for events (a row, a file, a process), and this bound only stops a hung one.
HANG_SECONDS = 180


ROOT = Path(__file__).resolve().parent.parent


def migrated(config: dict) -> dict:
    """Bring ``config``'s database up to date, as `feedsvc init-db` does before any process starts; returns it."""
    db = connect(config["DATABASE"])
    try:
        migrate(db)
    finally:
        db.close()
    return config


def csrf_token(client, url: str) -> str:
    """The CSRF token of the form on ``url`` (tests post forms the way a browser does)."""
    import re

    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


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


def translate_by_hand(db, release, lang, title, body):
    """Finish a translation the way the worker does (claim + complete), without a model."""
    job = jobs.claim(db)
    while job and (job["release_id"], job["lang"]) != (release["id"], lang):
        jobs.complete_superseded(db, job)
        job = jobs.claim(db)
    assert jobs.complete(db, job, {"title": title, "body": body, "route": "test"})


def corpus() -> dict[str, dict]:
    """The demo corpus by Russian sentence."""
    with open(DEMO_DIR / "corpus.tsv", encoding="utf-8") as fh:
        return {row["ru"]: row for row in csv.DictReader(fh, delimiter="\t")}


def demo_releases() -> list[dict]:
    """The demo releases as shipped."""
    return json.loads((DEMO_DIR / "releases.json").read_text(encoding="utf-8"))


def expected(release: dict, lang: str, typeset: bool = True) -> tuple[str, str]:
    """The reference translation of a release, sentence by sentence from the corpus; with ``typeset`` in the
    language's typography, as the worker stores it (the pipeline itself gives the model's text)."""
    rows = corpus()
    title = rows[release["title"]][lang]
    body = "\n\n".join(" ".join(rows[s][lang] for s in split_sentences(p)) for p in split_paragraphs(release["body"]))
    if not typeset:
        return title, body
    return typography.apply(title, lang), typography.apply(body, lang)


def publish(db, item: dict) -> dict:
    """Store and publish one demo release."""
    from datetime import datetime

    return releases.create_release(db, title=item["title"], body=item["body"], category=item["category"],
                                   published_at=datetime.fromisoformat(item["published"]), publish=True,
                                   languages=TARGETS)


def drain(app, db, engine) -> int:
    """Run the real worker until the queue is empty; returns sentences sent to models."""
    before = engine.sentences_translated
    run(db, engine.translate, WorkerSettings(models_dir=app.config["MODELS_DIR"]), once=True)
    return engine.sentences_translated - before


def edit_through_form(client, release_id, lang, title, body, category=None, extra=None):
    """Save a translation on the review screen, as an editor does (the category as shown unless given;
    ``extra``: other fields, e.g. {"en-photo_caption": …})."""
    page = client.get(f"/admin/releases/{release_id}/review").get_data(as_text=True)
    shown = re.search(rf'name="{lang}-category"[^>]*value="([^"]*)"', page)
    token = re.search(rf'id="{lang}-csrf_token" name="{lang}-csrf_token" type="hidden" value="([^"]+)"', page)
    version = re.search(rf'id="{lang}-version" name="{lang}-version" type="hidden" value="(\d+)"', page)
    source = re.search(rf'id="{lang}-source_revision" name="{lang}-source_revision" type="hidden" value="(\d+)"', page)
    data = {f"{lang}-csrf_token": token.group(1), f"{lang}-version": version.group(1),
            f"{lang}-source_revision": source.group(1), f"{lang}-title": title, f"{lang}-body": body,
            f"{lang}-category": category if category is not None else html.unescape(shown.group(1)) if shown else "",
            **(extra or {})}
    return client.post(f"/admin/releases/{release_id}/review/{lang}", data=data), data


# A release the demo models have never seen (written for this test): they answer with fluent, false English.
UNSEEN = {
    "title": "Сенатор Иванов принял участие в форуме по цифровизации",
    "body": "Доля цифровых государственных услуг вырастет до 30% (сейчас < 20%).\n\n"
            "Депутаты посетили новый медицинский центр в Караганде.",
    "category": "Встречи", "published": "2026-11-21T10:00:00+05:00",
}


def app_with_settings(tmp_path, **config):
    """An app on a fresh instance folder with these settings."""
    return create_app(migrated({"TESTING": True, "SECRET_KEY": "test", "DATABASE": str(tmp_path / "feedsvc.db"),
                       "UPLOAD_FOLDER": str(tmp_path / "uploads"), "MODELS_DIR": str(tmp_path / "models"),
                       **config}))


def po_path(lang: str) -> Path:
    return I18N / lang / "LC_MESSAGES" / "messages.po"


def package(name, source, target, version="1"):
    """A PackageInfo for a package that need not exist on disk."""
    return packages.PackageInfo(name=name, path=Path(name), from_code=source, to_code=target, version=version)


def make_instance(folder: Path, *, models: bool = True, demo: bool = True, config: dict | None = None):
    """A fresh instance: schema, an admin, optionally the demo models, glossary and published demo releases."""
    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(migrated({
        "TESTING": True, "SECRET_KEY": "test", "DATABASE": str(folder / "feedsvc.db"),
        "UPLOAD_FOLDER": str(folder / "uploads"), "MODELS_DIR": str(folder / "models"),
        "ARGOS_HOME": str(folder / "argos"), "RATELIMIT_ENABLED": False, **(config or {}),
    }))
    db = connect(app.config["DATABASE"])
    users.create_user(db, "editor", PASSWORD)
    if models:
        install_demo_models(app.config["MODELS_DIR"])
        glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))
    if demo:
        for item in demo_releases():
            releases.create_release(db, title=item["title"], body=item["body"], category=item["category"],
                                    published_at=datetime.fromisoformat(item["published"]), publish=True,
                                    languages=TARGETS)
    db.close()
    return app


def service_env(app, **extra) -> dict:
    """Environment for `feedsvc` processes (gunicorn, worker) on the instance, like worker_env below."""
    env = dict(os.environ)
    env.update({
        "FEEDSVC_DATABASE": app.config["DATABASE"], "FEEDSVC_MODELS_DIR": app.config["MODELS_DIR"],
        "FEEDSVC_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "FEEDSVC_ARGOS_HOME": app.config["ARGOS_HOME"],
        "FEEDSVC_SECRET_KEY": "reliability-test-secret", "FEEDSVC_RATELIMIT_ENABLED": "false",
        "FEEDSVC_WORKER_LEASE_SECONDS": "2", "FEEDSVC_WORKER_POLL_SECONDS": "0.2",
    })
    env.update({f"FEEDSVC_{k}": str(v) for k, v in extra.items()})
    return env


def free_port() -> int:
    """A free loopback port (the tiny race with other processes is acceptable in tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Web:
    """gunicorn (2 sync workers, as in production) in its own process group, logging to a file."""

    def __init__(self, app, log: Path, workers: int = 2):
        self.port = free_port()
        self.log = log
        self.logfile = open(log, "ab")  # noqa: SIM115 (closed in stop/kill)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--access-logfile", "-", "--error-logfile", "-", "--timeout", "60", *no_control_socket(),
             "feedsvc.web:create_app()"],
            env=service_env(app), cwd=log.parent, stdout=self.logfile, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_until(self.answers, "gunicorn did not start")

    def answers(self) -> bool:
        """Whether the server answers a page (asserting it did not exit)."""
        assert self.process.poll() is None, f"gunicorn exited: {self.log.read_text()[-2000:]}"
        with contextlib.suppress(OSError):
            return request(self.port, "GET", "/ru/")[0] == 200
        return False

    def kill(self) -> None:
        """SIGKILL the whole server: the master and the worker handling the request, at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.logfile.close()

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master, which stops its workers)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.logfile.close()


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 30) -> tuple[int, dict, bytes]:
    """One HTTP request on a fresh connection; (status, lower-cased headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


class Session:
    """An admin's browser: cookies, the CSRF token, the forms."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.token = ""

    def open(self, method: str, path: str, body: bytes | None = None, ctype: str | None = None):
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if ctype:
            headers["Content-Type"] = ctype
        status, response_headers, data = request(self.port, method, path, body, headers)
        if "set-cookie" in response_headers:
            for morsel in SimpleCookie(response_headers["set-cookie"]).values():
                self.cookies[morsel.key] = morsel.value
        return status, response_headers, data

    def login(self) -> None:
        self.token = self.csrf("/admin/login")
        body = urllib.parse.urlencode({"username": "editor", "password": PASSWORD, "csrf_token": self.token})
        status, _, data = self.open("POST", "/admin/login", body.encode(), "application/x-www-form-urlencoded")
        assert status == 302, data[:500]
        self.token = self.csrf("/admin/releases/new")

    def csrf(self, path: str) -> str:
        status, _, data = self.open("GET", path)
        assert status == 200, (path, status)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', data.decode())
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def release_form(self, title: str, body: str, photo: bytes | None = None) -> tuple[bytes, str]:
        fields = {"csrf_token": self.token, "title": title, "body": body, "published_at": "2026-11-20T10:00",
                  "category": "Пленарные заседания", "photo_caption": "Зал" if photo else "",
                  "photo_credit": "Фото – тест" if photo else "", "publish": "1"}
        return multipart(fields, {"photo": ("photo.jpg", photo, "image/jpeg")} if photo else None)


def children(pid: int) -> dict[int, str]:
    """The child processes of ``pid`` and their command lines (Linux /proc)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return {}
    found = {}
    for child in map(int, listed):
        with contextlib.suppress(OSError):
            found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return found


I18N = ROOT / "feedsvc" / "i18n"


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser sends the upload form; (body, content type)."""
    boundary = f"----feedsvc{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data, ctype) in (files or {}).items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


CHROMIUM = os.environ.get("FEEDSVC_CHROMIUM", "/usr/bin/chromium")


CHROMEDRIVER = os.environ.get("FEEDSVC_CHROMEDRIVER", "/usr/bin/chromedriver")


CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-default-browser-check", "--disable-extensions", "--window-size=1280,1100", "--lang=ru",
]


WAIT = 120  # seconds an explicit wait may take before the test calls it a hang (nothing waits this long)


USERNAME = "editor"


def missing_browser(reason: str):
    """Skip locally, fail under CI: CI must never pass without having driven a browser."""
    missing_program(reason, "chromium and chromium-driver")


class Page:
    """The few browser moves the test needs, each followed by an explicit wait, never a sleep."""

    def __init__(self, driver, base_url: str):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.base = base_url
        self.wait = WebDriverWait(driver, WAIT)

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")

    def find(self, css: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def type(self, name: str, text: str) -> None:
        element = self.find(f'[name="{name}"]')
        element.clear()
        element.send_keys(text)

    def choose(self, name: str, text: str) -> None:
        """Pick the option shown as ``text`` in the select ``name``."""
        from selenium.webdriver.support.ui import Select

        Select(self.find(f'select[name="{name}"]')).select_by_visible_text(text)

    def fill_body(self, text: str) -> None:
        # send_keys types "\n" as Enter, which in a textarea is a new line: the blank line survives.
        self.type("body", text)

    def submit_with(self, button_name: str) -> None:
        """Click a submit button and wait until the next page (a new document) has loaded.

        The old document is marked by a script variable the new one does not have. (Waiting for the old <html>
        element to go stale races with chromedriver: mid-navigation it may answer "Node with given id does not
        belong to the document" instead of "stale element", and the wait gives up.)
        """
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.execute_script("window.feedsvcOldPage = true")
        self.find(f'[name="{button_name}"]').click()
        loaded = "return window.feedsvcOldPage === undefined && document.readyState === 'complete'"
        WebDriverWait(self.driver, WAIT, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(loaded))

    def log_in(self) -> None:
        """Log in through the real form (CSRF token and all)."""
        self.open("/admin/login")
        self.type("username", USERNAME)
        self.type("password", PASSWORD)
        self.submit_with("submit")

    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base)

    def severe_console_errors(self) -> list[str]:
        """Console errors (a failed stylesheet or image, a CSP refusal), the favicon's 404 aside."""
        return [entry["message"] for entry in self.driver.get_log("browser")
                if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]


def edit_form_data(client, release_id: int, **fields) -> dict:
    """The edit form as a browser submits it: the stored values, the hidden version, then ``fields``."""
    page = client.get(f"/admin/releases/{release_id}/edit").get_data(as_text=True)
    version = re.search(r'id="version" name="version" type="hidden" value="(\d+)"', page).group(1)
    release = releases.get_release(db_of(client), release_id)
    data = {"title": release["title"], "body": release["body"], "category": release["category"],
            "published_at": "2026-11-19T11:30", "version": version, "save_draft": "1",
            "csrf_token": csrf_token(client, f"/admin/releases/{release_id}/edit")}
    data.update(fields)
    return data


def db_of(client):
    """The database of the app behind a test client."""
    from feedsvc.storage import connect

    return connect(client.application.config["DATABASE"])


NS = {"s": sitemaps.SITEMAP_NS, "x": sitemaps.XHTML_NS}


def xml(client, url: str) -> etree._Element:
    """Fetch and parse an XML document (200, application/xml)."""
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/xml", url
    return etree.fromstring(response.data)


def sitemap_urls(client) -> dict[str, dict[str, dict]]:
    """Every sitemap file the index lists, read: language → loc → {lastmod, alternates {hreflang: href}}."""
    found: dict[str, dict[str, dict]] = {}
    for loc in xml(client, "/sitemap.xml").xpath("s:sitemap/s:loc/text()", namespaces=NS):
        if loc.endswith("-news.xml"):  # Google News sitemaps: the recent releases again, in their own shape
            continue
        lang = loc.rsplit("/", 1)[1].rsplit("-", 1)[0]  # ru-1.xml, kk-latn-1.xml
        for node in xml(client, loc.removeprefix("http://localhost")).xpath("s:url", namespaces=NS):
            alternates = {link.get("hreflang"): link.get("href") for link in node.xpath("x:link", namespaces=NS)}
            found.setdefault(lang, {})[node.findtext("s:loc", namespaces=NS)] = {
                "lastmod": node.findtext("s:lastmod", namespaces=NS), "alternates": alternates}
    return found


SITE = "http://press.example.kz"


class HubStub:
    """A WebSub hub on loopback: records every publish ping; answers the queued statuses first, then 204."""

    def __init__(self, statuses=()):
        """Start serving on 127.0.0.1:<free port>."""
        self.pings: queue.Queue = queue.Queue()
        self.statuses = list(statuses)
        self.gate = threading.Event()
        self.gate.set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            """One publish request."""

            def do_POST(self):
                """Record the form, wait at the gate, answer."""
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                stub.pings.put((form["hub.mode"][0], form["hub.url"][0]))
                assert stub.gate.wait(HANG_SECONDS)
                self.send_response(stub.statuses.pop(0) if stub.statuses else 204)
                self.end_headers()

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hub"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, count: int) -> list[tuple[str, str]]:
        """Wait for ``count`` more pings and return them."""
        return [self.pings.get(timeout=HANG_SECONDS) for _ in range(count)]

    def close(self):
        """Stop serving."""
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


def feed_urls(langs=("ru", "kk", "en")) -> set[str]:
    """Every subscription feed URL of these languages, and of the editions written from them (kk: kk-latn)."""
    langs = [*langs, *(code for code, edition in EDITIONS.items() if edition.base in langs)]
    return {f"{SITE}/{lang}/feed.{fmt}" for lang in langs for fmt in ("rss", "atom", "json")}


def topics(app) -> dict[str, list[str]]:
    """The topics the worker announces, as it computes them."""
    from feedsvc.web.feeds import topics as feed_topics

    with app.app_context():
        return feed_topics()


def outputs_for(release: dict) -> list[str]:
    """One English sentence per Russian one, in the pipeline's order (title, then the body's sentences)."""
    flat = [s for paragraph in units(release["title"], release["body"]) for s in paragraph]
    return ["The Senate held a plenary session"] + [f"The Senate considered item {n} at the session."
                                                      for n in range(1, len(flat))]


def store_machine(db, release: dict, lang: str, outputs: list[str], flagged=(), policy=Policy.CHECKED,
                  alternatives: dict | None = None) -> str:
    """Store a machine translation the way the worker does (claim, typeset checks record, publish or hold):
    ``outputs`` one per sentence in the pipeline's order, those numbered in ``flagged`` with a finding."""
    paragraphs = units(release["title"], release["body"])
    flat = [s for paragraph in paragraphs for s in paragraph]
    outputs = [typography.apply(output, lang) for output in outputs]  # as the pipeline sets them
    finding = Finding(Flag.NAMES, "name not found: Иванов")
    checks = [SentenceCheck(source, output, -0.2, [finding] if n in flagged else [])
              for n, (source, output) in enumerate(zip(flat, outputs, strict=True))]
    rebuilt, position = [], 0
    for paragraph in paragraphs:
        rebuilt.append(join_paragraph(outputs[position:position + len(paragraph)]))
        position += len(paragraph)
    outcome = Outcome(title=rebuilt[0], body="\n\n".join(rebuilt[1:]), category="", route="test",
                      sentences=len(flat), sent_to_model=0, checks=checks)
    job = jobs.claim(db)
    while job and (job["release_id"], job["lang"]) != (release["id"], lang):
        jobs.complete_superseded(db, job)
        job = jobs.claim(db)
    if alternatives:  # the model's other hypotheses, as helper "checks" stores them in the record
        result = worker._store(db, job, outcome, policy)
        row = translations.translation_row(db, release["id"], lang)
        record = json.loads(row["checks"])
        for n, options in alternatives.items():
            record[n]["alternatives"] = options
        db.execute("update translations set checks = ? where release_id = ? and lang = ?",
                   [json.dumps(record, ensure_ascii=False), release["id"], lang])
        return result
    return worker._store(db, job, outcome, policy)


def worker_env(app) -> dict:
    """Environment for a `feedsvc worker` subprocess on the test's instance."""
    env = dict(os.environ)
    env.update({
        "FEEDSVC_DATABASE": app.config["DATABASE"], "FEEDSVC_MODELS_DIR": app.config["MODELS_DIR"],
        "FEEDSVC_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"], "FEEDSVC_ARGOS_HOME": app.config["ARGOS_HOME"],
        "FEEDSVC_WORKER_POLL_SECONDS": "0.2",
    })
    return env


class CommandRunner(FlaskCliRunner):
    """Flask's CLI runner for the `feedsvc` group (create_app registers no commands: feedsvc.commands does)."""

    def invoke(self, cli=None, args=None, **kwargs):
        """Run ``args`` through the `feedsvc` group, on the runner's app."""
        return super().invoke(cli or commands.cli, args, **kwargs)


def cli_runner(app) -> CommandRunner:
    """A runner for `feedsvc` commands on ``app`` (as the test's app: its settings and database)."""
    return CommandRunner(app)


NEWSBOAT = shutil.which("newsboat") or "/usr/bin/newsboat"


def unread(folder, urls: list[str]) -> str:
    """What newsboat says after fetching ``urls`` into a fresh cache ("N unread articles")."""
    folder.mkdir(exist_ok=True)
    (folder / "urls").write_text("\n".join(urls) + "\n")
    (folder / "config").write_text("")
    result = subprocess.run([NEWSBOAT, "-u", str(folder / "urls"), "-c", str(folder / "cache.db"), "-C",
                             str(folder / "config"), "-x", "reload", "print-unread"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(folder)})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def translate_all(db):
    """Translate every queued job as one worker batch would (stored one after another, within microseconds)."""
    while job := jobs.claim(db):
        assert jobs.complete(db, job, {"title": f"{job['lang']} {job['release_id']}", "body": "Text.",
                                       "route": "test"})


def json_feed(client, url):
    """Fetch a JSON Feed and check what JSON Feed 1.1 requires (feedparser 6.0 reads no JSON Feed)."""
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/feed+json"
    document = json.loads(response.data)
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] and isinstance(document["items"], list)
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert "content_html" in item or "content_text" in item
        for attachment in item.get("attachments", []):
            assert attachment["url"] and attachment["mime_type"]
    return document


def atom_updated(raw: bytes) -> list[str]:
    """Every entry's atom:updated text (as the W3C validator compares them)."""
    return [e.text for e in etree.fromstring(raw).iterfind(f"{{{ATOM}}}entry/{{{ATOM}}}updated")]
