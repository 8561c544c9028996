"""Feeds as a feed reader sees them: parsed by feedparser, right language, stable GUIDs, 304s."""

from datetime import timedelta

import feedparser
import pytest

from feedsvc import clock
from feedsvc import releases
from feedsvc.translation import jobs
from tests.conftest import make_release
from tests.conftest import settle

FORMATS = ("rss", "atom")
LANGS = ("ru", "kk", "en")


def translate_by_hand(db, release, lang, title, body):
    """Finish a translation the way the worker does (claim + complete), without a model."""
    job = jobs.claim(db)
    while job and (job["release_id"], job["lang"]) != (release["id"], lang):
        jobs.complete_superseded(db, job)
        job = jobs.claim(db)
    assert jobs.complete(db, job, {"title": title, "body": body, "route": "test"})


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
    assert entry.link.endswith(f"/{lang}/releases/{release['id']}-{releases.slug(release['title'])}")
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
    releases.update_release(db, release["id"], {"title": "Новый заголовок", "body": "Новый текст."})
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
    releases.set_status(db, release["id"], "withdrawn")
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
