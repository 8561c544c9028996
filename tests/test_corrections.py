"""Corrections readers can see (issue 25): an edit of a published release is a silent fix or a dated correction."""

import json
import re
from datetime import UTC
from datetime import datetime

import feedparser
import pytest

from feedsvc import releases
from tests.helpers import TARGETS
from tests.helpers import edit_form_data
from tests.helpers import make_release
from tests.helpers import translate_by_hand

NOTE = "В первой версии была неверно указана дата заседания."


def edit(client, release_id: int, **fields):
    """Post the edit form with ``fields`` changed (saving, not publishing again)."""
    data = edit_form_data(client, release_id, **fields)
    return client.post(f"/admin/releases/{release_id}/edit", data=data, content_type="multipart/form-data")


def feed_entry(client, lang: str, name: str) -> dict:
    """The first entry of a feed, parsed as readers parse it: its updated time (Atom's; RSS has none) and its
    content's HTML."""
    parsed = feedparser.parse(client.get(f"/{lang}/{name}").data)
    assert parsed.bozo == 0, parsed.bozo_exception  # still well-formed with the correction's markup
    entry = parsed.entries[0]
    return {"updated": dict.get(entry, "updated_parsed"), "html": entry.content[0].value}


def json_item(client, lang: str) -> dict:
    """The first item of the JSON Feed (feedparser does not read JSON Feed)."""
    return client.get(f"/{lang}/feed.json").get_json()["items"][0]


def json_ld(page: str) -> dict:
    """The page's schema.org NewsArticle."""
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))


@pytest.fixture
def published(db, set_clock):
    """A release published on 19 November with its English translation; the clock a day later."""
    release = make_release(db)
    translate_by_hand(db, release, "en", "Senate Speaker met secretaries", "First paragraph.\n\nSecond paragraph.")
    set_clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    return release


def test_a_silent_fix_shows_no_notice_and_keeps_updated(logged_in, client, db, published):
    before = {name: feed_entry(client, "ru", name) for name in ("feed.rss", "feed.atom")}
    assert before["feed.atom"]["updated"]
    before_json = json_item(client, "ru")
    response = edit(logged_in, published["id"], body="Первый абзац «с цитатой».\n\nВторой абзац, 19.11.2021.")
    assert response.status_code == 302
    assert releases.get_release(db, published["id"])["revision"] == 2  # the text did change
    page = client.get(f"/ru/releases/{published['id']}", follow_redirects=True).get_data(as_text=True)
    assert "Исправлено" not in page and "CorrectionComment" not in page and 'class="notice correction"' not in page
    for name, old in before.items():
        now = feed_entry(client, "ru", name)
        assert now["updated"] == old["updated"] and "Исправлено" not in now["html"]
    assert json_item(client, "ru")["date_modified"] == before_json["date_modified"]


def test_a_correction_is_shown_on_the_page_and_in_every_feed(logged_in, client, db, published):
    before = feed_entry(client, "ru", "feed.atom")
    response = edit(logged_in, published["id"], title="Спикер Сената встретился с секретарями маслихатов 20 ноября",
                    change="correction", correction_note=NOTE)
    assert response.status_code == 302
    stored = releases.get_release(db, published["id"])
    assert stored["correction_note"] == NOTE and stored["corrected_at"].startswith("2026-11-20T09:00")
    page = client.get(f"/ru/releases/{published['id']}", follow_redirects=True).get_data(as_text=True)
    assert "Исправлено 20 ноября 2026" in page and NOTE in page
    for name in ("feed.rss", "feed.atom"):
        html = feed_entry(client, "ru", name)["html"]
        assert html.index(NOTE) < html.index("Первый абзац")  # at the top of the item
    assert feed_entry(client, "ru", "feed.atom")["updated"] > before["updated"]
    item = json_item(client, "ru")
    assert NOTE in item["content_html"] and item["date_modified"].startswith("2026-11-20T09:00")


def test_the_correction_is_read_in_every_language_with_its_note_marked_russian(logged_in, client, published):
    edit(logged_in, published["id"], change="correction", correction_note=NOTE)
    english = client.get(f"/en/releases/{published['id']}", follow_redirects=True).get_data(as_text=True)
    assert "Corrected on 20 November 2026" in english and f'<span lang="ru">{NOTE}</span>' in english
    kazakh = client.get(f"/kk/releases/{published['id']}", follow_redirects=True).get_data(as_text=True)
    assert "түзетілді" in kazakh.lower() and f'<span lang="ru">{NOTE}</span>' in kazakh
    for name in ("feed.rss", "feed.atom"):
        html = feed_entry(client, "en", name)["html"]
        assert "Corrected on" in html and NOTE in html
    assert "Corrected on" in json_item(client, "en")["content_html"]


def test_json_ld_has_date_modified_and_a_correction_comment(logged_in, client, published):
    edit(logged_in, published["id"], change="correction", correction_note=NOTE)
    for lang in ("ru", "en"):
        page = client.get(f"/{lang}/releases/{published['id']}", follow_redirects=True).get_data(as_text=True)
        article = json_ld(page)
        assert article["dateModified"].startswith("2026-11-20T09:00")
        assert article["correction"] == {"@type": "CorrectionComment", "text": NOTE, "inLanguage": "ru",
                                         "datePublished": article["dateModified"]}


def test_a_correction_needs_its_note_and_keeps_the_text_typed(logged_in, db, published):
    response = edit(logged_in, published["id"], title="Новый заголовок правки", change="correction",
                    correction_note="  ")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "A correction needs a short note" in page or "Для исправления нужна" in page
    assert "Новый заголовок правки" in page
    stored = releases.get_release(db, published["id"])
    assert stored["title"] == published["title"] and stored["corrected_at"] is None


def test_only_a_release_readers_see_is_corrected(db, set_clock):
    draft = make_release(db, publish=False)
    edited = releases.update_release(db, draft["id"], {"title": "Черновик"}, TARGETS, correction=NOTE)
    assert edited["corrected_at"] is None and edited["correction_note"] is None


def test_the_edit_form_offers_the_choice_only_for_a_published_release(logged_in, db, published):
    assert 'name="correction_note"' in logged_in.get(f"/admin/releases/{published['id']}/edit").get_data(as_text=True)
    draft = make_release(db, publish=False)
    assert 'name="correction_note"' not in logged_in.get(f"/admin/releases/{draft['id']}/edit").get_data(as_text=True)
