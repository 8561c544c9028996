"""End to end in a real browser: headless Chromium (Debian's package) drives the real app over HTTP.

An admin logs in through the form, publishes a release with a photo, and the public pages show it;
a text file renamed ``.jpg`` is refused with a form error that keeps what was typed. CSRF stays on.

Chromium and chromedriver come from Debian (``make browser-deps``). Without them the test skips
locally, but fails under CI (``CI`` set), so a CI machine missing the browser cannot pass silently.
Nothing here touches the network beyond 127.0.0.1: selenium-manager is kept offline and Chromium's
background services are off.
"""

import io
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL import ImageDraw

from feedsvc import categories
from feedsvc.web.db import connect
from tests.helpers import PASSWORD
from tests.helpers import TARGETS
from tests.helpers import USERNAME
from tests.helpers import Page

pytestmark = pytest.mark.browser

TITLE = "Сенат одобрил закон «О цифровых активах» в первом чтении"
PARAGRAPH_1 = "Депутаты Сената на пленарном заседании рассмотрели закон «О цифровых активах»."
PARAGRAPH_2 = "Второй абзац: документ направлен Главе государства на подпись, тел. 74-72-27."
CATEGORY = "Пленарные заседания"
CAPTION = "Пленарное заседание Сената"
CREDIT = "Фото: пресс-служба Сената"


@pytest.fixture(autouse=True)
def listed_category(live_app):
    """The category these releases are filed under, on the managed list the form chooses from (issue 25)."""
    db = connect(live_app.config["DATABASE"])
    categories.add(db, CATEGORY)
    db.close()


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
    page.choose("category", CATEGORY)
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
    page.choose("category", CATEGORY)


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
