"""The response cache of index pages and feeds: served until the data changes, fresh right after, never
shared between anonymous readers and logged-in staff, bounded, and answered with 304 when unchanged."""

from datetime import UTC
from datetime import datetime

import feedparser
import pytest

from feedsvc import clock
from feedsvc import releases
from feedsvc.web import create_app
from tests.helpers import TARGETS
from tests.helpers import make_release
from tests.helpers import settle
from tests.helpers import translate_by_hand

ADMIN_NAV = 'class="admin-nav"'


def behind_the_counter(db, sql: str, params=()) -> None:
    """Change the data without moving the change counter, the way no real write can: what a reader
    sees afterwards shows whether the response came from the cache."""
    version = releases.site_state(db)["version"]
    db.execute(sql, params)
    db.execute("update site_state set version = ? where id = 1", [version])


def html(client, url: str, **kw) -> str:
    response = client.get(url, **kw)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_index_is_served_from_the_cache_until_something_changes(client, db):
    release = make_release(db, title="Первый заголовок")
    assert "Первый заголовок" in html(client, "/ru/")
    behind_the_counter(db, "update releases set title = 'Тихая правка' where id = ?", [release["id"]])
    assert "Первый заголовок" in html(client, "/ru/")  # cached: the counter did not move
    assert "Тихая правка" in html(client, "/ru/?x=1")  # any other parameter bypasses the cache
    make_release(db, title="Второй релиз")
    fresh = html(client, "/ru/")
    assert "Второй релиз" in fresh and "Тихая правка" in fresh and "Первый заголовок" not in fresh


def test_feed_is_served_from_the_cache_until_something_changes(client, db):
    release = make_release(db, title="Первый заголовок")
    assert feedparser.parse(client.get("/ru/feed.atom").data).entries[0].title == "Первый заголовок"
    behind_the_counter(db, "update releases set title = 'Тихая правка' where id = ?", [release["id"]])
    assert feedparser.parse(client.get("/ru/feed.atom").data).entries[0].title == "Первый заголовок"
    releases.update_release(db, release["id"], {"category": "Встречи"}, languages=TARGETS)
    assert feedparser.parse(client.get("/ru/feed.atom").data).entries[0].title == "Тихая правка"


def publish_new(db, release):
    make_release(db, title="Новый релиз", published_at=datetime(2026, 11, 20, tzinfo=UTC))
    # Not translated yet: listed in Russian only (the English index lists published translations).
    return {"ru": "Новый релиз"}, {"en": "Новый релиз"}


def edit_title(db, release):
    releases.update_release(db, release["id"], {"title": "Исправленный заголовок"}, languages=TARGETS)
    return {"ru": "Исправленный заголовок"}, {"ru": "Заседание Сената"}


def translate(db, release):
    translate_by_hand(db, release, "en", "Senate session", "First paragraph.")
    return {"en": "Senate session"}, {"en": "Заседание Сената"}


def withdraw(db, release):
    releases.set_status(db, release["id"], "withdrawn", languages=TARGETS)
    return {}, {"ru": "Заседание Сената", "en": "Заседание Сената"}


def unpublish(db, release):
    releases.set_status(db, release["id"], "draft", languages=TARGETS)
    return {}, {"ru": "Заседание Сената", "en": "Заседание Сената"}


@pytest.mark.parametrize("change", [publish_new, edit_title, translate, withdraw, unpublish])
def test_every_kind_of_change_shows_at_once_on_pages_and_feeds(client, db, change):
    release = make_release(db, title="Заседание Сената")
    for lang in ("ru", "en"):
        html(client, f"/{lang}/")
        client.get(f"/{lang}/feed.rss")
    present, gone = change(db, release)
    for lang, title in present.items():
        assert title in html(client, f"/{lang}/")
        if lang == "ru" or change is translate:
            assert title in [e.title for e in feedparser.parse(client.get(f"/{lang}/feed.rss").data).entries]
    for lang, title in gone.items():
        assert title not in html(client, f"/{lang}/")
        assert title not in [e.title for e in feedparser.parse(client.get(f"/{lang}/feed.rss").data).entries]


def test_a_change_made_through_another_worker_reaches_every_worker(app, db):
    """Two apps on one database file stand for two gunicorn workers; the counter is in the database."""
    other = create_app(dict(app.config))
    first, second = app.test_client(), other.test_client()
    make_release(db, title="Первый релиз")
    for client in (first, second):
        assert "Первый релиз" in html(client, "/ru/")
    make_release(db, title="Второй релиз", published_at=datetime(2026, 11, 20, tzinfo=UTC))
    for client in (first, second):
        assert "Второй релиз" in html(client, "/ru/")
        assert "Второй релиз" in client.get("/ru/feed.atom").get_data(as_text=True)


def test_anonymous_page_is_never_shown_to_staff(app, logged_in, db):
    make_release(db)
    anonymous = app.test_client()
    reader_page = anonymous.get("/en/")
    assert ADMIN_NAV not in reader_page.get_data(as_text=True)
    staff = logged_in.get("/en/", headers={"If-None-Match": reader_page.headers["ETag"]})
    assert staff.status_code == 200
    assert ADMIN_NAV in staff.get_data(as_text=True)
    assert "ETag" not in staff.headers and "Last-Modified" not in staff.headers


def test_staff_page_is_never_shown_to_anonymous_readers(app, logged_in, db):
    make_release(db)
    assert ADMIN_NAV in html(logged_in, "/en/")
    assert ADMIN_NAV in html(logged_in, "/en/?page=1")
    anonymous = app.test_client()
    for url in ("/en/", "/en/?page=1"):
        page = html(anonymous, url)
        assert ADMIN_NAV not in page and "Log out" not in page and "csrf_token" not in page
    assert ADMIN_NAV in html(logged_in, "/en/")


def test_anonymous_responses_vary_on_cookie(client, db):
    make_release(db)
    for _ in range(2):  # built, then from the cache
        assert "Cookie" in client.get("/ru/").headers.get("Vary", "")


def test_a_flashed_message_is_neither_cached_nor_served_from_the_cache(app, client, db):
    make_release(db)
    html(client, "/ru/")
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Только для этого читателя")]
    assert "Только для этого читателя" in html(client, "/ru/")
    assert "Только для этого читателя" not in html(client, "/ru/")  # shown once, as flashes are
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Снова только для него")]
    html(client, "/ru/?page=1")
    assert "Снова только для него" not in html(app.test_client(), "/ru/?page=1")


def test_index_answers_304_until_something_changes(client, db):
    make_release(db)
    settle(db)
    first = client.get("/ru/")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    not_modified = client.get("/ru/", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert client.get("/ru/", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/en/", headers={"If-None-Match": etag}).status_code == 200  # another language
    make_release(db, title="Ещё один релиз")
    again = client.get("/ru/", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert "Ещё один релиз" in again.get_data(as_text=True)


def test_pages_are_cached_apart_and_past_the_last_is_404(app, client, db):
    app.config["PAGE_SIZE"] = 2
    for day in range(1, 6):
        make_release(db, title=f"Релиз {day}", published_at=datetime(2026, 11, day, tzinfo=UTC))
    assert "Релиз 5" in html(client, "/ru/") and "Релиз 5" in html(client, "/ru/?page=1")
    assert "Релиз 3" in html(client, "/ru/?page=2") and "Релиз 5" not in html(client, "/ru/?page=2")
    assert "Релиз 1" in html(client, "/ru/?page=3")
    assert client.get("/ru/?page=4").status_code == 404
    for day in (6, 7):
        make_release(db, title=f"Релиз {day}", published_at=datetime(2026, 11, day, tzinfo=UTC))
    assert "Релиз 1" in html(client, "/ru/?page=4")  # the page count follows the change too


def test_links_follow_the_host_and_the_query_string_of_each_request(client, db):
    make_release(db)
    html(client, "/ru/?page=1&utm=x")
    assert "utm=x" not in html(client, "/ru/?page=1")
    assert "http://mirror.example/" in html(client, "/ru/", base_url="http://mirror.example")
    assert "mirror.example" not in html(client, "/ru/")
    assert "mirror.example" not in client.get("/ru/feed.atom").get_data(as_text=True)


def test_the_cache_is_bounded(app, client, db):
    app.config.update(RESPONSE_CACHE_ENTRIES=3, RESPONSE_CACHE_HOSTS=8)
    make_release(db)
    for number in range(8):
        html(client, "/ru/", base_url=f"http://host{number}.example")
        client.get("/ru/feed.atom", base_url=f"http://host{number}.example")
    cache = app.extensions["feedsvc"]["cache"]
    assert len(cache) == 3
    assert ("feed", "ru", "atom", clock.now().date(), "http://host7.example/") in cache  # the most recent stay
    app.config["RESPONSE_CACHE_BYTES"] = 1
    client.get("/en/feed.atom", base_url="http://host7.example")  # a new entry ("/ru/?page=1" is /ru/'s)
    assert len(cache) == 1  # the newest entry stays even when it alone is over the byte bound


def test_one_page_is_one_cache_entry_however_its_query_is_spelled(app, client, db):
    app.config.update(RESPONSE_CACHE_ENTRIES=3)
    make_release(db)
    feed = client.get("/en/feed.atom").data
    html(client, "/ru/")
    html(client, "/ru/?page=1")
    cache = app.extensions["feedsvc"]["cache"]
    assert [key[:3] for key in cache.entries if key[0] == "index"] == [("index", "ru", 1)]
    before = set(cache.entries)
    repeated = "&".join(["page=1"] * 3)
    for query in (repeated, "page=01", "page=%EF%BC%91", "page=%D9%A1", "page=1&page=2", "page=+1"):
        assert client.get(f"/ru/?{query}").status_code == 400, query
    for number in range(20):  # parameters other than page: answered, never cached
        assert client.get(f"/ru/?page=1&v={number}").status_code == 200
    assert set(cache.entries) == before  # the variants took no entry: the feed is still there
    assert ("feed", "en", "atom", clock.now().date(), "http://localhost/") in cache
    assert client.get("/en/feed.atom").data == feed


@pytest.mark.parametrize("number", ["01", "001", "%D9%A1", "%EF%BC%91", "%E0%A5%A7", "+1", "1%20"])
def test_an_archive_release_or_sitemap_number_has_one_spelling(app, client, db, number):
    app.config["FEED_ARCHIVE_ITEMS"] = 1
    release = make_release(db)
    assert client.get("/ru/archive/1.rss").status_code == 200
    assert client.get(f"/ru/releases/{release['id']}").status_code in (200, 301)
    assert client.get(f"/ru/archive/{number}.rss").status_code == 404
    assert client.get(f"/ru/releases/{number}").status_code == 404
    assert client.get("/sitemaps/ru-1.xml").status_code == 200
    assert client.get(f"/sitemaps/ru-{number}.xml").status_code == 404
    assert len([key for key in app.extensions["feedsvc"]["cache"].entries if key[0] == "archive"]) == 1
