"""End to end in a real browser: headless Chromium (Debian's package) drives the real app over HTTP.

An admin logs in through the form, publishes a release with a photo, and the public pages show it;
a text file renamed ``.jpg`` is refused with a form error that keeps what was typed. CSRF stays on.

Chromium and chromedriver come from Debian (``make browser-deps``). Without them the test skips
locally, but fails under CI (``CI`` set), so a CI machine missing the browser cannot pass silently.
Nothing here touches the network beyond 127.0.0.1: selenium-manager is kept offline and Chromium's
background services are off.
"""

import io
import os
import shutil
import tempfile
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL import ImageDraw

from feedsvc.web import users
from feedsvc.web.db import connect
from tests.conftest import missing_program
from tests.conftest import served
from tests.helpers import TARGETS

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FEEDSVC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FEEDSVC_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-default-browser-check", "--disable-extensions", "--window-size=1280,1100", "--lang=ru",
]
WAIT = 120  # seconds an explicit wait may take before the test calls it a hang (nothing waits this long)
USERNAME = "editor"
PASSWORD = "correct horse battery"
TITLE = "Сенат одобрил закон «О цифровых активах» в первом чтении"
PARAGRAPH_1 = "Депутаты Сената на пленарном заседании рассмотрели закон «О цифровых активах»."
PARAGRAPH_2 = "Второй абзац: документ направлен Главе государства на подпись, тел. 74-72-27."
CATEGORY = "Пленарные заседания"
CAPTION = "Пленарное заседание Сената"
CREDIT = "Фото: пресс-служба Сената"


def missing_browser(reason: str):
    """Skip locally, fail under CI: CI must never pass without having driven a browser."""
    missing_program(reason, "chromium and chromium-driver")


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


def jpeg(path: Path) -> Path:
    """A small real JPEG (a sun over a hall), generated so the test ships no binary files."""
    image = Image.new("RGB", (320, 200), (40, 80, 130))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 160, 320, 200], fill=(90, 60, 40))
    draw.ellipse([130, 30, 190, 90], fill=(240, 200, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


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


def test_admin_publishes_a_release_with_a_photo_and_readers_see_it(live_app, chrome, tmp_path):
    page = Page(chrome, live_app.config["LIVE_URL"])

    # Log in through the real form (CSRF token and all).
    page.open("/admin/login")
    page.type("username", USERNAME)
    page.type("password", PASSWORD)
    page.submit_with("submit")
    assert page.path().startswith("/admin/"), page.path()
    assert "/login" not in page.path(), page.find("main").text

    # A text file renamed .jpg is refused; the form comes back with an error and what was typed.
    fake = tmp_path / "not-a-photo.jpg"
    fake.write_text("это не фотография, а текст\n", encoding="utf-8")
    page.open("/admin/releases/new")
    page.type("title", TITLE)
    page.fill_body(f"{PARAGRAPH_1}\n\n{PARAGRAPH_2}")
    page.find('[name="photo"]').send_keys(str(fake))
    page.submit_with("publish")
    error = page.find('.field.has-error:has([name="photo"]) .error')
    assert error.is_displayed()
    assert error.text.strip(), "the refused photo's error message is empty"
    assert page.find('[name="title"]').get_attribute("value") == TITLE
    assert PARAGRAPH_2 in page.find('[name="body"]').get_attribute("value")
    chrome.execute_script("arguments[0].scrollIntoView({block: 'center'})", error)
    chrome.save_screenshot(str(tmp_path / "refused-photo.png"))
    assert not list((tmp_path / "uploads").iterdir()), "a refused upload left a file behind"
    page.severe_console_errors()  # drains the log: the refusal's 400 was expected

    # Now the real thing: every field, a real JPEG, the Publish button.
    photo = jpeg(tmp_path / "senate.jpg")
    page.open("/admin/releases/new")
    page.type("title", TITLE)
    page.fill_body(f"{PARAGRAPH_1}\n\n{PARAGRAPH_2}")
    page.type("category", CATEGORY)
    page.find('[name="photo"]').send_keys(str(photo))
    page.type("photo_caption", CAPTION)
    page.type("photo_credit", CREDIT)
    page.submit_with("publish")
    assert "/edit" in page.path(), (page.path(), page.find("main").text)
    assert page.find(".flash.success").is_displayed()
    assert page.find('[name="title"]').get_attribute("value") == TITLE

    # Readers see it on the Russian index...
    page.open("/ru/")
    link = page.find("article.card h2 a")
    assert link.text == TITLE
    assert CATEGORY in page.find("article.card .meta").text

    # ...and on its page: the title, both paragraphs, the photo (really decoded), caption and credit.
    link.click()
    heading = page.find("article.release h1")
    page.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    assert page.path().startswith("/ru/releases/"), page.path()
    assert heading.text == TITLE
    paragraphs = [p.text for p in chrome.find_elements("css selector", "article.release > p:not(.meta)")]
    assert paragraphs == [PARAGRAPH_1, PARAGRAPH_2]
    img = page.find("article.release figure img")
    page.wait.until(lambda d: d.execute_script("return arguments[0].complete", img))
    assert chrome.execute_script("return arguments[0].naturalWidth", img) == 320
    assert chrome.execute_script("return arguments[0].naturalHeight", img) == 200
    # the browser took the WebP size from the <picture>'s srcset (made at upload, sent for a year)
    assert chrome.execute_script("return arguments[0].currentSrc", img).endswith(".webp")
    assert img.get_attribute("alt") == CAPTION
    caption = page.find("article.release figcaption")
    assert CAPTION in caption.text
    assert page.find("article.release figcaption .credit").text == CREDIT
    assert caption.is_displayed()
    assert page.severe_console_errors() == []
    chrome.save_screenshot(str(tmp_path / "release.png"))


def test_editor_reviews_a_kazakh_translation_and_readers_see_the_reviewed_label(live_app, chrome, tmp_path):
    from feedsvc import jobs
    from feedsvc import releases

    db = connect(live_app.config["DATABASE"])
    release = releases.create_release(db, title=TITLE, body=f"{PARAGRAPH_1}\n\n{PARAGRAPH_2}", publish=True,
                                      published_at=datetime.now(UTC), languages=TARGETS)
    job = jobs.claim(db)  # a machine translation, as the worker would store it
    while job["lang"] != "kk":
        jobs.complete_superseded(db, job)
        job = jobs.claim(db)
    jobs.complete(db, job, {"title": "Машиналық тақырып", "body": "Бірінші абзац.\n\nЕкінші абзац.", "route": "test"})
    db.close()
    page = Page(chrome, live_app.config["LIVE_URL"])
    page.log_in()

    page.open(f"/admin/releases/{release['id']}/review")
    assert "Машиналық тақырып" in page.find("table.review").text
    page.type("kk-title", "Сенат «Цифрлық активтер туралы» заңды бірінші оқылымда мақұлдады")
    page.submit_with("kk-save")
    assert page.find(".flash.success").is_displayed()

    page.open(f"/kk/releases/{release['id']}")
    assert page.find("article.release h1").text == "Сенат «Цифрлық активтер туралы» заңды бірінші оқылымда мақұлдады"
    notice = page.find("article.release .notice.reviewed")
    assert "Аударманы баспасөз қызметі тексерген." in notice.text
    assert page.find("article.release .notice.reviewed a").get_attribute("hreflang") == "ru"
    chrome.save_screenshot(str(tmp_path / "reviewed.png"))


def log_in(page: Page) -> None:
    """Log in through the real form."""
    page.open("/admin/login")
    page.type("username", USERNAME)
    page.type("password", PASSWORD)
    page.submit_with("submit")
    assert "/login" not in page.path(), page.find("main").text


def type_release(page: Page) -> None:
    """Open the new release form and type a release into it."""
    page.open("/admin/releases/new")
    page.type("title", TITLE)
    page.fill_body(f"{PARAGRAPH_1}\n\n{PARAGRAPH_2}")
    page.type("category", CATEGORY)


def assert_typed_text_shown(page: Page) -> None:
    """The page holds everything typed."""
    assert page.find('[name="title"]').get_attribute("value") == TITLE
    assert page.find('[name="body"]').get_attribute("value").replace("\r\n", "\n") == f"{PARAGRAPH_1}\n\n{PARAGRAPH_2}"
    assert page.find('[name="category"]').get_attribute("value") == CATEGORY


def stored_titles(app) -> list[str]:
    """The titles of the stored releases."""
    db = connect(app.config["DATABASE"])
    try:
        return [row["title"] for row in db.query("select title from releases")]
    finally:
        db.close()


def test_an_editor_whose_session_ended_logs_in_again_in_a_new_tab_and_the_text_is_saved(
        live_app, chrome, set_clock, tmp_path):
    page = Page(chrome, live_app.config["LIVE_URL"])
    log_in(page)
    type_release(page)
    set_clock.advance(seconds=live_app.config["SESSION_IDLE_SECONDS"] + 60)  # typed for over an hour
    page.submit_with("save_draft")
    assert_typed_text_shown(page)
    assert "Сеанс завершился, поэтому ничего не сохранено" in page.find(".flash.error").text  # the interface is Russian
    assert stored_titles(live_app) == []
    chrome.save_screenshot(str(tmp_path / "session-ended.png"))

    form_tab = chrome.current_window_handle
    page.find("a.relogin").click()  # the login opens in a new tab; this one keeps the text
    page.wait.until(lambda d: len(d.window_handles) == 2)
    chrome.switch_to.window(next(handle for handle in chrome.window_handles if handle != form_tab))
    page.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    page.type("username", USERNAME)
    page.type("password", PASSWORD)
    page.submit_with("submit")
    assert "/login" not in page.path()
    chrome.close()
    chrome.switch_to.window(form_tab)

    page.submit_with("save_draft")
    assert "/edit" in page.path(), page.find("main").text
    assert page.find(".flash.success").is_displayed()
    assert stored_titles(live_app) == [TITLE]


def test_an_editor_saving_while_the_database_is_busy_keeps_the_text_and_saves_it_again(
        live_app, chrome, monkeypatch, tmp_path):
    import sqlite3

    import feedsvc.storage

    page = Page(chrome, live_app.config["LIVE_URL"])
    log_in(page)
    type_release(page)
    monkeypatch.setattr(feedsvc.storage, "BUSY_TIMEOUT_MS", 50)  # wait 50 ms for the lock, not 10 s
    holder = sqlite3.connect(live_app.config["DATABASE"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        page.submit_with("publish")
        assert "база данных занята, попробуйте ещё раз" in page.find(".flash.error").text  # the interface is Russian
        assert "диск заполнен" not in page.find("main").text
        assert_typed_text_shown(page)
        chrome.save_screenshot(str(tmp_path / "busy.png"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert stored_titles(live_app) == []
    page.submit_with("publish")
    assert "/edit" in page.path(), page.find("main").text
    assert stored_titles(live_app) == [TITLE]
