"""The correction's note in every language (issue 25): translated and checked like the rest of the release, held for
an editor when a check flags it, and shown in Russian (marked so) until its translation is published."""

import json
import re

import feedparser
from markupsafe import escape

from feedsvc import releases
from feedsvc import translations
from feedsvc.demo import DEMO_DIR
from feedsvc.editorial import review
from feedsvc.migrations import migrations
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.text.latin import kazakh_latin_text
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import glossary
from feedsvc.translation import typography
from feedsvc.translation import worker
from tests.helpers import TARGETS
from tests.helpers import corpus
from tests.helpers import demo_releases
from tests.helpers import edit_through_form
from tests.helpers import publish

# A note the demo models cannot translate: its name is lost, and the checks flag it.
FLAGGED_NOTE = "Сенатор Иванов попросил снять публикацию."
MIGRATION = "m034_translated_correction_note"


def drain(app, db, engine) -> int:
    """Run the real worker with the demo models until the queue is empty (the default policy: flagged is held)."""
    settings = WorkerSettings(models_dir=app.config["MODELS_DIR"], publish_policy=app.config["PUBLISH_POLICY"])
    return worker.run(db, engine.translate_scored, settings, once=True)


def known_note() -> str:
    """A sentence the demo models know (from another release), used as a correction's note."""
    return split_sentences(split_paragraphs(demo_releases()[1]["body"])[0])[0]


def corrected(app, db, engine, note: str) -> dict:
    """The first demo release, published and translated, then corrected with ``note`` (its text unchanged)."""
    release = publish(db, demo_releases()[0])
    drain(app, db, engine)
    return releases.update_release(db, release["id"], {}, TARGETS, correction=note)


def page(client, lang: str, release_id: int) -> str:
    """A release's public page in ``lang``."""
    return client.get(f"/{lang}/releases/{release_id}", follow_redirects=True).get_data(as_text=True)


def correction_ld(html: str) -> dict:
    """The ``correction`` of the page's schema.org NewsArticle."""
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))[
        "correction"]


def feed_htmls(client, lang: str) -> list[str]:
    """The first item's content in each of the language's feeds (RSS, Atom, JSON Feed)."""
    found = []
    for name in ("feed.rss", "feed.atom"):
        parsed = feedparser.parse(client.get(f"/{lang}/{name}").data)
        assert parsed.bozo == 0, parsed.bozo_exception
        found.append(parsed.entries[0].content[0].value)
    return found + [client.get(f"/{lang}/feed.json").get_json()["items"][0]["content_html"]]


def note_of(row: dict) -> list[dict]:
    """The correction note's sentences in a translation's record."""
    return [sentence for sentence in json.loads(row["checks"] or "[]") if sentence.get("part") == "correction_note"]


def test_the_note_is_translated_checked_and_shown_on_pages_feeds_and_json_ld(app, client, db, models, terms,
                                                                              engine):
    note = known_note()
    release = corrected(app, db, engine, note)
    assert drain(app, db, engine) == 2  # queued in both languages; memory gives the release's sentences back
    rows = releases.translations_of(db, release["id"])
    for lang in TARGETS:
        wanted = typography.apply(corpus()[note][lang], lang)
        assert (rows[lang]["status"], rows[lang]["published_correction_note"]) == ("machine", wanted)
        assert [(s["source"], s["findings"]) for s in note_of(rows[lang])] == [(note, [])]  # checked like the rest
        html = page(client, lang, release["id"])
        assert f'<span lang="{lang}">{escape(wanted)}</span>' in html and note not in html
        assert correction_ld(html) | {"datePublished": None} == {
            "@type": "CorrectionComment", "text": wanted, "inLanguage": lang, "datePublished": None}
        for content in feed_htmls(client, lang):
            assert f'<span lang="{lang}">{escape(wanted)}</span>' in content and note not in content
    assert f'<span lang="ru">{note}</span>' in page(client, "ru", release["id"])
    latin = kazakh_latin_text(typography.apply(corpus()[note]["kk"], "kk"))
    assert f'<span lang="kk-Latn">{escape(latin)}</span>' in page(client, "kk-latn", release["id"])


def test_a_new_note_never_shows_the_translation_of_the_last_one(app, client, db, models, terms, engine):
    release = corrected(app, db, engine, known_note())
    drain(app, db, engine)
    releases.update_release(db, release["id"], {}, TARGETS, correction=FLAGGED_NOTE)
    row = releases.translations_of(db, release["id"])["en"]
    assert (row["correction_note"], row["published_correction_note"]) == (None, None)
    assert f'<span lang="ru">{FLAGGED_NOTE}</span>' in page(client, "en", release["id"])


def test_a_flagged_note_holds_the_translation_and_the_russian_is_shown_marked(app, client, db, models, terms,
                                                                              engine):
    release = corrected(app, db, engine, FLAGGED_NOTE)
    drain(app, db, engine)
    row = releases.translations_of(db, release["id"])["en"]
    assert row["status"] == "held" and row["correction_note"] and row["published_correction_note"] is None
    assert note_of(row)[0]["findings"]
    assert row["release_id"] in {waiting["release_id"] for waiting in translations.waiting(db, "en")}
    for lang in TARGETS:  # readers keep the published translation, with the note in Russian
        html = page(client, lang, release["id"])
        assert f'<span lang="ru">{FLAGGED_NOTE}</span>' in html and 'lang="ru"' in html
        assert correction_ld(html)["text"] == FLAGGED_NOTE and correction_ld(html)["inLanguage"] == "ru"
        assert all(f'<span lang="ru">{FLAGGED_NOTE}</span>' in content for content in feed_htmls(client, lang))


def test_an_editor_fixes_a_flagged_note_on_the_review_screen(app, logged_in, client, db, models, terms, engine):
    release = corrected(app, db, engine, FLAGGED_NOTE)
    drain(app, db, engine)
    screen = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert "Correction note" in screen and 'name="en-correction_note"' in screen
    pair = re.search(r'<div class="notice pending note-pair" id="note-en">(.*?)</div>', screen, re.S).group(1)
    assert f'<dd lang="ru">{FLAGGED_NOTE}</dd>' in pair and 'class="flags"' in pair
    row = releases.translations_of(db, release["id"])["en"]
    side_by_side = re.search(r'<tr class="[^"]*note-row">(.*?)</tr>', screen, re.S).group(1)
    assert f'<td lang="ru">{FLAGGED_NOTE}</td>' in side_by_side
    assert f'<td lang="en">{escape(row["correction_note"])}</td>' in side_by_side
    fixed = "Senator Ivanov asked to withdraw the publication."
    response, _ = edit_through_form(logged_in, release["id"], "en", row["title"], row["body"],
                                    extra={"en-correction_note": fixed})
    assert response.status_code in (302, 303)
    row = releases.translations_of(db, release["id"])["en"]
    assert (row["status"], row["published_correction_note"]) == ("reviewed", fixed)
    html = page(client, "en", release["id"])
    assert f'<span lang="en">{fixed}</span>' in html and correction_ld(html)["inLanguage"] == "en"


def test_a_flagged_note_of_a_hand_written_translation_enters_the_review_queue(app, logged_in, client, db, models,
                                                                               terms, engine):
    release = publish(db, demo_releases()[0])
    drain(app, db, engine)
    row = releases.translations_of(db, release["id"])["en"]
    review.save_human(db, release["id"], "en", "An editor's own title", row["body"], author="editor",
                      expected_version=row["version"])
    assert not translations.waiting(db, "en")
    releases.update_release(db, release["id"], {}, TARGETS, correction=FLAGGED_NOTE)
    drain(app, db, engine)
    row = releases.translations_of(db, release["id"])["en"]
    assert (row["origin"], row["status"], row["title"]) == ("human", "held", "An editor's own title")
    assert [waiting["release_id"] for waiting in translations.waiting(db, "en")] == [release["id"]]
    assert row["published_title"] == "An editor's own title" and row["published_correction_note"] is None
    assert f'<span lang="ru">{FLAGGED_NOTE}</span>' in page(client, "en", release["id"])
    screen = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert 'id="note-en"' in screen and f'<dd lang="ru">{FLAGGED_NOTE}</dd>' in screen
    # The editor's text as it was, saved again: the note left as the model wrote it stays open.
    edit_through_form(logged_in, release["id"], "en", row["title"], row["body"])
    assert releases.translations_of(db, release["id"])["en"]["status"] == "held"
    fixed = "Senator Ivanov asked to withdraw the publication."
    edit_through_form(logged_in, release["id"], "en", row["title"], row["body"], extra={"en-correction_note": fixed})
    row = releases.translations_of(db, release["id"])["en"]
    assert (row["status"], row["published_correction_note"]) == ("reviewed", fixed)
    assert not translations.waiting(db, "en")


def test_a_checked_note_of_a_hand_written_translation_is_published_with_it(app, client, db, models, terms,
                                                                            engine):
    release = publish(db, demo_releases()[0])
    drain(app, db, engine)
    row = releases.translations_of(db, release["id"])["kk"]
    review.save_human(db, release["id"], "kk", row["title"], row["body"], author="editor",
                      expected_version=row["version"])
    note = known_note()
    releases.update_release(db, release["id"], {}, TARGETS, correction=note)
    drain(app, db, engine)
    row = releases.translations_of(db, release["id"])["kk"]
    wanted = typography.apply(corpus()[note]["kk"], "kk")
    assert (row["origin"], row["status"], row["published_correction_note"]) == ("human", "reviewed", wanted)
    assert f'<span lang="kk">{escape(wanted)}</span>' in page(client, "kk", release["id"])


def test_the_review_form_has_the_note_field_only_for_a_corrected_release(app, logged_in, db, models, terms, engine):
    release = publish(db, demo_releases()[0])
    drain(app, db, engine)
    assert 'name="en-correction_note"' not in logged_in.get(f"/admin/releases/{release['id']}/review").get_data(
        as_text=True)
    releases.update_release(db, release["id"], {}, TARGETS, correction=known_note())
    assert 'name="en-correction_note"' in logged_in.get(f"/admin/releases/{release['id']}/review").get_data(
        as_text=True)


def triggers(db) -> dict[str, str]:
    """The database's triggers and their SQL."""
    return {row[0]: row[1] for row in db.execute("select name, sql from sqlite_master where type = 'trigger'")}


def test_the_migration_keeps_every_trigger_and_queues_the_notes_of_earlier_corrections(app, tmp_path, models, engine):
    db = connect(str(tmp_path / "old.db"))
    migrations.apply(db, stop_before=MIGRATION)
    glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))
    release = publish(db, demo_releases()[0])  # queued in both languages
    db.execute("update jobs set status = 'done'")
    db.execute("update translations set title = 'Old title', body = 'Old text.', status = 'machine'")
    note = known_note()
    db.execute("update releases set corrected_at = updated_at, correction_note = ?", [note])
    before = triggers(db)
    migrations.apply(db)
    after = triggers(db)
    assert set(after) >= set(before) and "published_correction_note = new.correction_note" in after[
        "translations_publish"]
    queued = list(db.query("select release_id, lang, source_revision from jobs where status = 'queued' order by lang"))
    assert queued == [{"release_id": release["id"], "lang": lang, "source_revision": 1} for lang in ("en", "kk")]
    drain(app, db, engine)
    for lang, row in releases.translations_of(db, release["id"]).items():
        assert row["published_correction_note"] == typography.apply(corpus()[note][lang], lang)
    db.close()
