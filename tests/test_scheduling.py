"""Scheduled publication: a release published for a later time is nowhere until then, everywhere it is ready at
its moment, announced to WebSub hubs at that moment, and listed, moved or cancelled in the admin."""

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import feedparser
import pytest

from feedsvc import jobs
from feedsvc import releases
from feedsvc import websub
from feedsvc.editorial import review
from feedsvc.states import SCHEDULED
from tests.helpers import TARGETS
from tests.helpers import csrf_token
from tests.helpers import edit_form_data
from tests.helpers import feed_urls
from tests.helpers import make_release
from tests.helpers import sitemap_urls
from tests.helpers import topics
from tests.helpers import translate_by_hand

LANGS = ("ru", "kk", "en")
FEEDS = ("rss", "atom", "json")
MOMENT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # tomorrow 14:00 in Almaty; the clock starts at 19.11 12:00 UTC
TITLES = {"ru": "Сенат рассмотрит бюджет завтра", "kk": "Сенат ертең бюджетті қарайды",
          "en": "The Senate will discuss the budget tomorrow"}


def schedule(db, **kw) -> dict:
    """A release published tonight for MOMENT, its Kazakh translation made ahead; English held for an editor."""
    release = make_release(db, title=TITLES["ru"], body="Сенат рассмотрит проект бюджета.", published_at=MOMENT, **kw)
    translate_by_hand(db, release, "kk", TITLES["kk"], "Сенат бюджет жобасын қарайды.")
    job = jobs.claim(db)
    assert job["lang"] == "en" and jobs.complete(db, job, {"title": TITLES["en"], "body": "The Senate will.",
                                                           "route": "test"}, hold=True)
    return release


def feed_titles(client, lang: str, fmt: str) -> list[str]:
    """The entry titles of a subscription feed, which must parse cleanly and date nothing in the future."""
    response = client.get(f"/{lang}/feed.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        return [item["title"] for item in response.json["items"]]
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return [entry.title for entry in feed.entries]


def seen(client, release: dict, lang: str) -> dict[str, bool]:
    """Where a reader of ``lang`` finds the release's text in that language: index, feeds, sitemap, search, URL."""
    title = TITLES[lang]
    url = f"/{lang}/releases/{release['id']}"
    page = client.get(url, follow_redirects=True)
    sitemap = sitemap_urls(client).get(lang, {})
    word = {"ru": "бюджет", "kk": "бюджетті", "en": "budget"}[lang]
    return {
        "index": title in client.get(f"/{lang}/").get_data(as_text=True),
        **{fmt: title in feed_titles(client, lang, fmt) for fmt in FEEDS},
        "sitemap": any(f"/{lang}/releases/{release['id']}-" in loc for loc in sitemap),
        "search": f"/{lang}/releases/{release['id']}-" in client.get(  # the title's words are marked there
            f"/{lang}/search", query_string={"q": word}).get_data(as_text=True),
        "page": page.status_code == 200 and title in page.get_data(as_text=True),
    }


def test_a_scheduled_release_is_nowhere_until_its_moment_then_in_every_ready_language(client, db, set_clock):
    make_release(db, title="Вчерашний релиз")  # the feeds are never empty
    release = schedule(db)
    nowhere = dict.fromkeys(("index", *FEEDS, "sitemap", "search", "page"), False)
    everywhere = dict.fromkeys(nowhere, True)
    set_clock.set(MOMENT - timedelta(seconds=1))
    for lang in LANGS:
        assert seen(client, release, lang) == nowhere, lang
        assert client.get(f"/{lang}/releases/{release['id']}").status_code == 404
    set_clock.set(MOMENT)  # nothing is written at the moment: pages, feeds and caches follow the clock alone
    assert seen(client, release, "ru") == everywhere
    assert seen(client, release, "kk") == everywhere
    assert seen(client, release, "en") == nowhere | {"page": False}  # held: its page shows the Russian original
    assert TITLES["ru"] in client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    set_clock.advance(hours=1)
    version = releases.translations_of(db, release["id"])["en"]["version"]
    review.approve(db, release["id"], "en", author="editor", expected_version=version)  # held ones follow
    assert seen(client, release, "en") == everywhere


def test_the_feed_dates_a_scheduled_entry_at_its_moment(client, db, set_clock):
    release = schedule(db)
    set_clock.set(MOMENT + timedelta(minutes=5))
    entry = feedparser.parse(client.get("/kk/feed.atom").data).entries[0]
    assert entry.id == releases.entry_id(release["guid"], "kk")
    published, updated = (datetime(*entry[key][:6], tzinfo=UTC) for key in ("published_parsed", "updated_parsed"))
    assert published == MOMENT and updated >= published  # written ahead, new to readers at its moment


def test_cached_pages_feeds_and_validators_do_not_outlive_the_moment(client, db, set_clock):
    release = schedule(db)
    set_clock.set(MOMENT - timedelta(minutes=1))
    before = {url: client.get(url) for url in ("/ru/", "/ru/feed.atom", "/sitemaps/ru-1.xml")}
    assert all(r.status_code == 200 and TITLES["ru"] not in r.get_data(as_text=True) for r in before.values())
    set_clock.set(MOMENT)
    for url, old in before.items():
        again = client.get(url, headers={"If-None-Match": old.headers["ETag"]})
        assert again.status_code == 200, url  # a new ETag, not 304 with the page of a minute ago
        assert (TITLES["ru"] in again.get_data(as_text=True)) if url != "/sitemaps/ru-1.xml" else \
            f"/ru/releases/{release['id']}-" in again.get_data(as_text=True)
    set_clock.advance(seconds=5)
    # The triggers stamp changes by SQLite's own clock, not the test's: put the last change back before the moment.
    db.execute("update site_state set changed_at = '2026-11-19T12:00:00+00:00' where id = 1")
    modified = client.get("/ru/").last_modified
    assert modified == MOMENT  # If-Modified-Since readers see the change too


def test_the_archive_page_holding_a_scheduled_release_is_complete_only_at_its_moment(client, db, app, set_clock):
    app.config.update(FEED_ARCHIVE_ITEMS=2)
    release = schedule(db)  # publication number 1
    make_release(db, title="Второй")
    make_release(db, title="Третий")
    assert client.get("/ru/archive/1.atom").status_code == 404  # it would be cached a year without the release
    set_clock.set(MOMENT)
    archive = feedparser.parse(client.get("/ru/archive/1.atom").data)
    assert {entry.id for entry in archive.entries} >= {release["guid"]}


def test_a_scheduled_release_withdrawn_before_its_moment_was_never_public(client, db, set_clock):
    release = schedule(db)
    releases.set_status(db, release["id"], "withdrawn", TARGETS)
    set_clock.set(MOMENT + timedelta(hours=1))
    assert client.get(f"/ru/releases/{release['id']}").status_code == 404
    assert release["guid"] not in client.get("/ru/feed.atom").get_data(as_text=True)  # no tombstone


def test_the_websub_ping_goes_out_at_the_moment(hub_app, db, hub, set_clock):  # noqa: F811 (fixtures)
    schedule(db)
    websub.deliver(db, [hub.url], topics(hub_app))  # what scheduling and the translations changed
    while not hub.pings.empty():
        hub.pings.get()
    set_clock.set(MOMENT - timedelta(seconds=1))
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 0 and hub.pings.empty()
    set_clock.set(MOMENT)
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 1
    assert {url for _, url in hub.received(len(feed_urls()))} == feed_urls()
    set_clock.advance(minutes=1)
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 0 and hub.pings.empty()  # announced once


def status_cells(client, query: str = "") -> dict[str, str]:
    """The admin list's rows: title → status cell text."""
    html = client.get(f"/admin/{query}").get_data(as_text=True)
    rows = re.findall(r'edit">([^<]+)</a></td>\s*<td>.*?</td>\s*<td class="status-(\w+)">', html, re.S)
    return dict(rows)


def test_the_admin_lists_scheduled_releases_and_an_editor_moves_or_cancels_them(logged_in, db, set_clock):
    make_release(db, title="Вчерашний релиз")
    release = schedule(db)
    assert status_cells(logged_in) == {TITLES["ru"]: "scheduled", "Вчерашний релиз": "published"}
    draft = make_release(db, title="Черновик на завтра", publish=False, published_at=MOMENT)
    token = csrf_token(logged_in, f"/admin/releases/{draft['id']}/edit")
    published = logged_in.post(f"/admin/releases/{draft['id']}/published", data={"csrf_token": token},
                               follow_redirects=True).get_data(as_text=True)
    assert "Release scheduled: readers see it from 20 November 2026, 14:00" in published
    releases.set_status(db, draft["id"], "draft", TARGETS)
    assert status_cells(logged_in, "?status=scheduled") == {TITLES["ru"]: "scheduled"}
    assert status_cells(logged_in, "?status=published") == {"Вчерашний релиз": "published"}
    page = logged_in.get(f"/admin/releases/{release['id']}/edit").get_data(as_text=True)
    assert "20 November 2026, 14:00" in page and "Cancel the schedule" in page
    moved = edit_form_data(logged_in, release["id"], published_at="2026-11-21T10:00", save_draft=None)
    moved = {key: value for key, value in moved.items() if value is not None}
    assert logged_in.post(f"/admin/releases/{release['id']}/edit", data=moved).status_code == 302
    assert releases.get_release(db, release["id"])["published_at"] == "2026-11-21T05:00:00+00:00"
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    other = schedule(db)
    assert logged_in.post(f"/admin/releases/{other['id']}/draft", data={"csrf_token": token}).status_code == 302
    assert status_cells(logged_in, "?status=draft") == {TITLES["ru"]: "draft", "Черновик на завтра": "draft"}
    set_clock.set(MOMENT + timedelta(minutes=30))  # the old moment passed: the moved one waits for its new one
    listed, _ = releases.list_admin(db, releases.ReleaseFilter(status=SCHEDULED), page=1, size=10)
    assert [row["id"] for row in listed] == [release["id"]]
    assert [logged_in.get(f"/ru/releases/{r['id']}").status_code for r in (release, other)] == [404, 404]


@pytest.mark.parametrize("lang", LANGS)
def test_a_release_dated_in_the_future_puts_no_future_date_into_any_feed(client, db, set_clock, lang):
    schedule(db)
    make_release(db, title="Сегодняшний")
    for fmt in ("rss", "atom"):
        for entry in feedparser.parse(client.get(f"/{lang}/feed.{fmt}").data).entries:
            assert datetime(*entry.published_parsed[:6], tzinfo=UTC) <= set_clock.now()
