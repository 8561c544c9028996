"""Feeds as a feed reader sees them: parsed by feedparser, right language, stable GUIDs, 304s."""

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import feedparser
import pytest
from lxml import etree

from feedsvc import clock
from feedsvc import jobs
from feedsvc import migrations
from feedsvc import releases
from feedsvc.feeds import ATOM
from feedsvc.feeds import TOMBSTONES
from feedsvc.storage import connect
from tests.helpers import TARGETS
from tests.helpers import atom_updated
from tests.helpers import json_feed
from tests.helpers import make_release
from tests.helpers import settle
from tests.helpers import translate_all
from tests.helpers import translate_by_hand

FORMATS = ("rss", "atom")
LANGS = ("ru", "kk", "en")


def parse(client, lang, fmt):
    """Fetch and parse a feed."""
    response = client.get(f"/{lang}/feed.{fmt}")
    assert response.status_code == 200
    return response, feedparser.parse(response.data)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_feed_is_valid_and_in_its_own_language(client, db, lang, fmt):
    release = make_release(db)
    translate_by_hand(db, release, "kk", "Сенат Спикері кездесті", "Бірінші абзац.")
    translate_by_hand(db, release, "en", "Senate Speaker met", "First paragraph.")
    response, feed = parse(client, lang, fmt)
    assert feed.bozo == 0, feed.bozo_exception
    assert response.mimetype == f"application/{fmt}+xml"
    assert feed.feed.language == lang
    assert len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.id == releases.entry_id(release["guid"], lang)  # the original keeps its GUID: see below
    expected = {"ru": release["title"], "kk": "Сенат Спикері кездесті", "en": "Senate Speaker met"}[lang]
    assert entry.title == expected
    assert entry.link.endswith(f"/{lang}/releases/{release['id']}-{releases.slug(expected, lang)}")
    assert entry.published_parsed
    if fmt == "atom":
        assert "updated_parsed" in entry


@pytest.mark.parametrize("fmt", FORMATS)
def test_feed_links_itself_and_the_other_languages_feeds(client, db, fmt):
    make_release(db)
    _, feed = parse(client, "kk", fmt)
    links = {(link.rel, link.get("hreflang"), link.get("type")): link.href for link in feed.feed.links}
    mimetype = f"application/{fmt}+xml"
    assert links[("self", None, mimetype)].endswith(f"/kk/feed.{fmt}")
    assert feed.feed.link.endswith("/kk/")
    assert links[("alternate", "ru", mimetype)].endswith(f"/ru/feed.{fmt}")
    assert links[("alternate", "en", mimetype)].endswith(f"/en/feed.{fmt}")


def test_rss_channel_link_is_the_html_index(client, db):
    make_release(db)
    _, feed = parse(client, "en", "rss")
    assert feed.feed.link.endswith("/en/")


def test_translated_feeds_carry_only_finished_translations(client, db):
    done = make_release(db, title="Готовый перевод")
    make_release(db, title="Ещё не переведён")
    translate_by_hand(db, done, "en", "Finished translation", "Text.")
    _, en = parse(client, "en", "rss")
    _, kk = parse(client, "kk", "rss")
    _, ru = parse(client, "ru", "rss")
    assert [e.title for e in en.entries] == ["Finished translation"]
    assert kk.entries == []
    assert len(ru.entries) == 2


def test_guid_survives_edits_and_updated_moves(client, db):
    release = make_release(db)
    db.execute("update releases set text_updated_at = '2026-11-20T00:00:00+00:00' where id = ?", [release["id"]])
    _, before = parse(client, "ru", "atom")
    # A correction readers are told of moves ``updated``; a silent fix does not (tests/test_corrections.py).
    releases.update_release(db, release["id"], {"title": "Новый заголовок", "body": "Новый текст."}, languages=TARGETS,
                            correction="Заголовок исправлен.")
    _, after = parse(client, "ru", "atom")
    assert after.entries[0].id == before.entries[0].id == release["guid"]
    assert after.entries[0].title == "Новый заголовок"
    assert after.entries[0].updated_parsed > before.entries[0].updated_parsed


@pytest.mark.parametrize("fmt", FORMATS)
def test_conditional_get_answers_304_until_something_changes(client, db, fmt):
    make_release(db)
    settle(db)
    first = client.get(f"/ru/feed.{fmt}")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert "max-age" in first.headers["Cache-Control"]
    assert client.get(f"/ru/feed.{fmt}", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/ru/feed.{fmt}", headers={"If-Modified-Since": modified}).status_code == 304
    make_release(db, title="Ещё один релиз")
    again = client.get(f"/ru/feed.{fmt}", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert again.headers["ETag"] != etag


def test_no_last_modified_while_the_changes_second_is_still_running(client, db, set_clock):
    # Last-Modified counts whole seconds: sent now, a second change in this same second would look
    # unmodified to a reader that sends only If-Modified-Since.
    make_release(db)
    changed_at = clock.parse_time(db.execute("select changed_at from site_state").fetchone()[0])
    set_clock.set(changed_at + timedelta(milliseconds=999))  # the last moment of the change's second
    fresh = client.get("/ru/feed.rss")
    assert "Last-Modified" not in fresh.headers and fresh.headers["ETag"]
    assert client.get("/ru/feed.rss", headers={"If-None-Match": fresh.headers["ETag"]}).status_code == 304
    set_clock.advance(milliseconds=1)  # the change's second is over: the header is safe to send
    assert client.get("/ru/feed.rss").headers["Last-Modified"]
    settle(db)
    modified = client.get("/ru/feed.rss").headers["Last-Modified"]
    assert client.get("/ru/feed.rss", headers={"If-Modified-Since": modified}).status_code == 304
    make_release(db, title="Ещё один релиз")
    assert client.get("/ru/feed.rss", headers={"If-Modified-Since": modified}).status_code == 200


def test_withdrawn_release_leaves_every_feed(client, db):
    release = make_release(db)
    releases.set_status(db, release["id"], "withdrawn", languages=TARGETS)
    for lang in LANGS:
        assert parse(client, lang, "rss")[1].entries == []
    assert client.get(f"/ru/releases/{release['id']}").status_code == 410


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_items_carry_full_content_category_creator_and_photo_enclosure(client, db, tmp_path, app, fmt):
    from feedsvc.demo import demo_photo
    from feedsvc.photos import save_photo

    photo = save_photo(demo_photo(1), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
    release = make_release(db, category="Встречи", photo=photo, photo_caption="Участники встречи",
                           photo_credit="Фото – Е.Укибаев")
    _, feed = parse(client, "ru", fmt)
    entry = feed.entries[0]
    assert "Второй абзац" in entry.content[0].value
    assert "Участники встречи" in entry.content[0].value
    assert entry.tags[0].term == "Встречи"
    assert entry.author == "Пресс-служба Сената Парламента Республики Казахстан"
    # The item's link is its page, never the photo; the photo is the one enclosure.
    assert entry.link.startswith(f"http://localhost/ru/releases/{release['id']}")
    assert [link.rel for link in entry.links] == ["alternate", "enclosure"]
    enclosure, = entry.enclosures
    assert enclosure.type == "image/jpeg"
    assert int(enclosure.length) == photo["photo_length"]
    with client.get(enclosure.href.replace("http://localhost", "")) as image:
        assert image.data == (tmp_path / "uploads" / photo["photo"]).read_bytes()


def test_rss_items_carry_the_photo_as_media_rss_with_its_smallest_size_as_thumbnail(client, db, app):
    from feedsvc.demo import demo_photo
    from feedsvc.photos import save_photo

    photo = save_photo(demo_photo(1), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
    make_release(db, photo=photo, photo_caption="Участники встречи")
    sizes = json.loads(photo["photo_sizes"])
    smallest = min((size for size in sizes if size["type"] == "image/jpeg"), key=lambda size: size["width"])
    entry = parse(client, "ru", "rss")[1].entries[0]
    content, = entry.media_content
    assert (content["medium"], content["type"], content["filesize"]) == ("image", "image/jpeg",
                                                                          str(photo["photo_length"]))
    assert (content["width"], content["height"]) == (str(photo["photo_width"]), str(photo["photo_height"]))
    thumbnail, = entry.media_thumbnail
    assert thumbnail["url"].endswith("/" + smallest["name"])
    assert (thumbnail["width"], thumbnail["height"]) == (str(smallest["width"]), str(smallest["height"]))
    with client.get(thumbnail["url"].removeprefix("http://localhost")) as image:
        assert image.status_code == 200
    assert b"search.yahoo.com/mrss" not in client.get("/ru/feed.atom").data  # Atom has its enclosure link only


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_each_feed_names_the_site_and_publisher_in_its_language(client, db, fmt):
    translate_by_hand(db, make_release(db), "en", "Senate Speaker met", "First paragraph.")
    for lang, site, publisher in (("ru", "Пресс-служба Сената", "Пресс-служба Сената Парламента"),
                                  ("en", "Senate Press Service", "Press Service of the Senate")):
        parsed = parse(client, lang, fmt)[1]
        assert parsed.feed.title.startswith(site), (lang, parsed.feed.title)
        assert parsed.entries[0].author.startswith(publisher), (lang, parsed.entries[0].author)


def test_machine_translations_are_labelled_with_a_link_to_the_original(client, db):
    release = make_release(db)
    translate_by_hand(db, release, "en", "Senate Speaker met", "First paragraph.")
    _, atom = parse(client, "en", "atom")
    entry = atom.entries[0]
    assert "Machine translation" in entry.content[0].value
    assert f"/ru/releases/{release['id']}-" in entry.content[0].value
    assert "Machine translation" in [t.term for t in entry.tags]


def test_script_in_title_is_text_in_every_feed(client, db):
    release = make_release(db, title="<script>alert(1)</script> Сенат",
                           body="<b>жирный</b> <img src=x onerror=alert(1)>")
    translate_by_hand(db, release, "kk", "<script>alert(2)</script>", "<iframe src=//evil>")
    for lang in ("ru", "kk"):
        for fmt in FORMATS:
            raw = client.get(f"/{lang}/feed.{fmt}").get_data(as_text=True)
            assert "<script>" not in raw and "<iframe" not in raw and "<img src=x" not in raw
            entry = parse(client, lang, fmt)[1].entries[0]
            assert "<script>" in entry.title  # shown as text, not dropped
            assert "<script" not in entry.content[0].value.replace("&lt;script", "")


def test_each_language_has_its_own_entry_ids_and_the_originals_keep_theirs(client, db):
    first, second = make_release(db), make_release(db, title="Ещё один релиз")
    while job := jobs.claim(db):  # both releases translated into both languages, as the worker would
        assert jobs.complete(db, job, {"title": f"{job['lang']} {job['release_id']}", "body": "Text.",
                                       "route": "test"})
    ids = {}
    for lang in LANGS:
        for fmt in ("rss", "atom"):
            ids[lang, fmt] = {entry.id for entry in parse(client, lang, fmt)[1].entries}
        assert ids[lang, "rss"] == ids[lang, "atom"]  # one id per release and language, whatever the format
    assert ids["ru", "atom"] == {first["guid"], second["guid"]}  # existing subscribers see nothing new
    assert not ids["ru", "atom"] & ids["kk", "atom"] and not ids["kk", "atom"] & ids["en", "atom"]
    assert len(set().union(*ids.values())) == 6  # a reader of all six feeds keeps every item
    assert releases.entry_id(first["guid"], "kk") == releases.entry_id(first["guid"], "kk")  # stable, not stored


def test_no_two_entries_share_updated_and_every_feed_and_archive_parses(client, db, app):
    app.config.update(FEED_ARCHIVE_ITEMS=2)
    for number in range(5):
        make_release(db, title=f"Релиз {number}")
    translate_all(db)  # ten translations stored within the same second
    for lang in LANGS:
        urls = [f"/{lang}/feed.{fmt}" for fmt in FORMATS] + [f"/{lang}/archive/{n}.{fmt}" for n in (1, 2)
                                                            for fmt in FORMATS]
        for url in urls:
            response = client.get(url)
            parsed = feedparser.parse(response.data)
            assert parsed.bozo == 0, (url, parsed.get("bozo_exception"))
            if url.endswith(".atom"):
                updated = atom_updated(response.data)
                assert len(updated) == len(set(updated)), (url, updated)
        assert len(atom_updated(client.get(f"/{lang}/feed.atom").data)) == 5
        json_feed(client, f"/{lang}/feed.json")


def test_json_feed_carries_the_same_ids_language_authors_and_photo(client, db, app):
    from feedsvc.demo import demo_photo
    from feedsvc.photos import save_photo

    photo = save_photo(demo_photo(1), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
    make_release(db, photo=photo, photo_caption="Участники")
    translate_all(db)
    for lang in LANGS:
        document = json_feed(client, f"/{lang}/feed.json")
        assert document["language"] == lang and document["feed_url"] == f"http://localhost/{lang}/feed.json"
        assert document["authors"][0]["url"] == "mailto:press@senate.example.kz"
        assert document["icon"].endswith("/static/icons/icon-512.png")
        atom_ids = [entry.id for entry in parse(client, lang, "atom")[1].entries]
        assert [item["id"] for item in document["items"]] == atom_ids
        item, = document["items"]
        assert item["language"] == lang and item["date_modified"] and item["date_published"]
        attachment, = item["attachments"]
        assert (attachment["mime_type"], attachment["size_in_bytes"]) == ("image/jpeg", photo["photo_length"])
    page = client.get("/kk/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/feed+json"' in page and "http://localhost/kk/feed.json" in page


def history_links(raw: bytes, fmt: str) -> dict[str, str]:
    """The RFC 5005 links of a feed document (atom:link in Atom and in the RSS channel, JSON's _feedsvc)."""
    if fmt == "json":
        extra = json.loads(raw)["_feedsvc"]
        return {rel: extra[rel.replace("-", "_")] for rel in ("current", "prev-archive", "next-archive")
                if rel.replace("-", "_") in extra}
    return {link.get("rel"): link.get("href") for link in etree.fromstring(raw).iter(f"{{{ATOM}}}link")
            if link.get("rel") in ("current", "prev-archive", "next-archive")}


def entry_ids(raw: bytes, fmt: str) -> list[str]:
    """The entry ids of a feed document in any format."""
    if fmt == "json":
        return [item["id"] for item in json.loads(raw)["items"]]
    return [entry.id for entry in feedparser.parse(raw).entries]


@pytest.mark.parametrize("fmt", (*FORMATS, "json"))
def test_archives_walk_back_to_the_first_release_and_complete_pages_never_change(client, db, app, fmt):
    app.config.update(FEED_ITEMS=2, FEED_ARCHIVE_ITEMS=3)
    made = [make_release(db, title=f"Релиз {n}", published_at=datetime(2026, 11, n + 1, tzinfo=UTC))
            for n in range(7)]
    make_release(db, title="Черновик", publish=False)
    releases.set_status(db, made[1]["id"], "withdrawn", languages=TARGETS)
    backdated = make_release(db, title="Задним числом", published_at=datetime(2020, 1, 1, tzinfo=UTC))
    subscription = client.get(f"/ru/feed.{fmt}")
    # The two latest, and the back-dated release: it is past the last complete page (numbers 7-8 of pages of 3).
    assert sorted(entry_ids(subscription.data, fmt)) == sorted(r["guid"] for r in (made[6], made[5], backdated))
    url, seen, pages = history_links(subscription.data, fmt)["prev-archive"], [], {}
    while url:
        path = url.removeprefix("http://localhost")
        response = client.get(path)
        assert response.status_code == 200
        pages[path] = response
        seen += entry_ids(response.data, fmt)
        links = history_links(response.data, fmt)
        assert links["current"] == f"http://localhost/ru/feed.{fmt}"
        url = links.get("prev-archive")
    assert len(seen) == len(set(seen))  # no release on two archive pages
    published = {r["guid"] for r in (*made, backdated)} - {made[1]["guid"]}
    assert set(seen) | set(entry_ids(subscription.data, fmt)) == published  # the walk finds every release
    assert list(pages) == [f"/ru/archive/{n}.{fmt}" for n in (2, 1)]
    assert {page.headers["Cache-Control"] for page in pages.values()} == {"public, max-age=31536000"}
    if fmt != "json":
        assert b"<fh:archive" in pages[f"/ru/archive/1.{fmt}"].data and b"fh:archive" not in subscription.data
    assert client.get(f"/ru/archive/3.{fmt}").status_code == 404  # not full yet: no archive document
    make_release(db, title="Ещё один", published_at=datetime(2019, 1, 1, tzinfo=UTC))
    for n in (1, 2):  # full pages: the same bytes (and ETag) whatever is published later
        again = client.get(f"/ru/archive/{n}.{fmt}")
        assert again.data == pages[f"/ru/archive/{n}.{fmt}"].data
        assert client.get(f"/ru/archive/{n}.{fmt}", headers={"If-None-Match": again.headers["ETag"]}).status_code == 304
    assert client.get(f"/ru/archive/3.{fmt}").status_code == 200  # numbers 7-9: now a complete page
    assert history_links(client.get(f"/ru/feed.{fmt}").data, fmt)["prev-archive"].endswith(f"/ru/archive/3.{fmt}")
    assert client.get(f"/ru/archive/4.{fmt}").status_code == 404


def test_a_withdrawn_release_is_a_tombstone_in_its_atom_feeds_for_the_configured_days(client, db, app, set_clock):
    app.config["FEED_TOMBSTONE_DAYS"] = 3
    release = make_release(db)
    translate_all(db)
    releases.set_status(db, release["id"], "withdrawn", reason="Опубликован по ошибке", languages=TARGETS)
    for lang in LANGS:
        raw = client.get(f"/{lang}/feed.atom").data
        tombstone, = etree.fromstring(raw).iterfind(f"{{{TOMBSTONES}}}deleted-entry")
        assert tombstone.get("ref") == releases.entry_id(release["guid"], lang)
        assert tombstone.get("when") == "2026-11-19T12:00:00+00:00"
        assert tombstone.findtext(f"{{{TOMBSTONES}}}comment") == "Опубликован по ошибке"
        assert tombstone.find(f"{{{TOMBSTONES}}}comment").get("{http://www.w3.org/XML/1998/namespace}lang") == "ru"
        assert feedparser.parse(raw).bozo == 0 and feedparser.parse(raw).entries == []
        assert b"deleted-entry" not in client.get(f"/{lang}/feed.rss").data  # RSS and JSON readers just drop it
        assert json_feed(client, f"/{lang}/feed.json")["items"] == []
    set_clock.advance(days=3)
    assert b"deleted-entry" in client.get("/ru/feed.atom").data
    set_clock.advance(days=1)  # whole UTC days: gone on the fourth
    assert b"deleted-entry" not in client.get("/ru/feed.atom").data


def test_a_draft_withdrawn_before_it_was_ever_published_stays_unknown_to_readers(client, db):
    draft = make_release(db, title="Секретный черновик", publish=False)
    releases.set_status(db, draft["id"], "withdrawn", reason="Не для печати", languages=TARGETS)
    assert client.get(f"/ru/releases/{draft['id']}").status_code == 404  # not a 410 naming it
    for lang in LANGS:
        assert b"deleted-entry" not in client.get(f"/{lang}/feed.atom").data


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_feed_names_the_press_contact_rights_icon_and_generator(client, db, app, fmt):
    app.config["FEED_RIGHTS"] = {"en": "CC BY 4.0"}
    make_release(db)
    for lang, name, rights in (("ru", "Пресс-служба Сената", "© Пресс-служба Сената Парламента Республики Казахстан"),
                               ("en", "Senate Press Service", "CC BY 4.0")):
        raw = client.get(f"/{lang}/feed.{fmt}").data
        feed = feedparser.parse(raw).feed
        assert feed.rights == rights
        assert feed.generator == "feedsvc" if fmt == "atom" else feed.generator.startswith("feedsvc 0.")
        assert (feed.logo if fmt == "atom" else feed.image.href).endswith("/static/icons/icon-512.png")
        if fmt == "atom":
            assert (feed.author_detail.name, feed.author_detail.email) == (name, "press@senate.example.kz")
            assert feed.author_detail.href == "tel:+7-7172-74-70-00"
            assert feed.icon.endswith("/static/icons/favicon.ico")
            assert feed.generator_detail.version
        else:
            assert f"<managingEditor>press@senate.example.kz ({name})</managingEditor>" in raw.decode()
            assert f"<webMaster>press@senate.example.kz ({name})</webMaster>" in raw.decode()


def test_the_upgrade_orders_published_releases_and_lets_undated_drafts_be_dated_when_published(tmp_path):
    db = connect(str(tmp_path / "old.db"))
    migrations.migrations.apply(db, stop_before="m014_feed_times")
    stored = "2026-11-19T12:00:00+00:00"
    for guid, status, published, created in (
            ("a", "published", "2026-11-18T09:00:00+00:00", stored),  # stored first, dated later
            ("b", "published", "2026-11-17T09:00:00+00:00", stored),
            ("c", "draft", "2026-11-19T12:00:00+00:00", "2026-11-19T12:00:30+00:00"),  # the form's default date
            ("d", "draft", "2026-11-25T10:00:00+00:00", stored)):  # an editor dated it
        db.table("releases").insert({"guid": guid, "title": guid, "body": guid, "status": status,
                                     "published_at": published, "created_at": created, "updated_at": stored})
    migrations.migrate(db)
    rows = {row["guid"]: row for row in db.query("select * from releases")}
    assert [(rows[g]["seq"], rows[g]["date_set"]) for g in "abcd"] == [(2, 1), (1, 1), (None, 0), (None, 1)]
    assert len({row["text_updated_at"] for row in rows.values()}) == 4
