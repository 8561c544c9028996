"""Editors fix machine translations: edits stick, outdated + suggestions, memory learns, history, labels."""

import re

import feedparser
import pytest

from feedsvc import jobs
from feedsvc import releases
from feedsvc import revisions
from feedsvc.editorial import review
from feedsvc.settings import Languages
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import memory
from tests.helpers import TARGETS
from tests.helpers import corpus
from tests.helpers import csrf_token
from tests.helpers import demo_releases
from tests.helpers import drain
from tests.helpers import edit_through_form
from tests.helpers import expected
from tests.helpers import publish

OUTDATED_KK = "жаңартылған аударма тексерілуде"
HUMAN_KK_TITLE = "Сенат жергілікті өзін-өзі басқару туралы заңды қабылдады"


def translated_release(app, db, engine, index=0):
    """A published demo release with its machine translations done."""
    release = publish(db, demo_releases()[index])
    drain(app, db, engine)
    return release


def test_review_screen_shows_original_and_translations_side_by_side(app, logged_in, db, models, terms, engine):
    release = translated_release(app, db, engine)
    html = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    kk_title, kk_body = expected(demo_releases()[0], "kk")
    assert release["title"] in html and kk_title in html and split_paragraphs(kk_body)[0] in html
    assert "ru→en→kk" in html and "machine" in html


def test_edited_translation_is_never_overwritten_by_machine(app, logged_in, db, models, terms, engine):
    release = translated_release(app, db, engine)
    body = releases.translations_of(db, release["id"])["kk"]["body"]
    response, _ = edit_through_form(logged_in, release["id"], "kk", HUMAN_KK_TITLE, body)
    assert response.status_code == 302
    row = releases.translations_of(db, release["id"])["kk"]
    assert (row["origin"], row["status"], row["reviewed_by"]) == ("human", "reviewed", "editor")
    # Retry, re-queue, model install and bulk re-translation: none may replace the human text.
    jobs.enqueue_release(db, releases.get_release(db, release["id"]), ["kk"])
    jobs.requeue_no_model(db)
    assert jobs.requeue_machine(db, "kk") == 0
    drain(app, db, engine)
    row = releases.translations_of(db, release["id"])["kk"]
    assert row["title"] == HUMAN_KK_TITLE and row["status"] == "reviewed"
    # The corrected title was learned: the machine now says the same, so there is nothing to suggest.
    assert row["suggestion_title"] is None
    assert memory.lookup(db, memory.human_step("kk"), [release["title"]])


def test_source_change_marks_review_outdated_with_a_suggestion_and_retranslates_one_sentence(
        app, logged_in, db, models, terms, engine, client):
    item = demo_releases()[1]
    release = publish(db, item)
    drain(app, db, engine)
    kk = releases.translations_of(db, release["id"])["kk"]
    review.save_human(db, release["id"], "kk", HUMAN_KK_TITLE, kk["body"], author="editor",
                      expected_version=kk["version"])
    first = split_sentences(split_paragraphs(item["body"])[0])[0]
    used = " ".join(i["title"] + " " + i["body"] for i in demo_releases())
    replacement = next(ru for ru in corpus() if ru.endswith(".") and ru not in used)
    edited = releases.update_release(db, release["id"], {"body": item["body"].replace(first, replacement, 1)},
                                     languages=TARGETS)
    assert releases.translations_of(db, release["id"])["kk"]["status"] == "outdated"
    sent = drain(app, db, engine)
    assert sent == 2  # one new sentence: ru→en once (shared by en and the kk pivot), en→kk once
    row = releases.translations_of(db, release["id"])["kk"]
    assert row["status"] == "outdated" and row["title"] == HUMAN_KK_TITLE
    assert corpus()[replacement]["kk"] in row["suggestion_body"] and row["suggestion_revision"] == edited["revision"]
    page = client.get(f"/kk/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert HUMAN_KK_TITLE in page and 'class="outdated"' in page
    entry = feedparser.parse(client.get("/kk/feed.atom").data).entries[0]  # feed readers are told as well
    assert entry.title == HUMAN_KK_TITLE and OUTDATED_KK in entry.content[0].value
    # The editor accepts the suggestion: reviewed again, against the new revision.
    review.accept_suggestion(db, release["id"], "kk", author="editor", expected_version=row["version"])
    row = releases.translations_of(db, release["id"])["kk"]
    assert (row["status"], row["source_revision"]) == ("reviewed", edited["revision"])
    assert corpus()[replacement]["kk"] in row["body"] and row["suggestion_title"] is None


def reviewed_then_source_changed(app, db, engine) -> dict:
    """A release whose kk translation an editor reviewed ("Өз аудармам") before the Russian title changed."""
    release = translated_release(app, db, engine)
    kk = releases.translations_of(db, release["id"])["kk"]
    review.save_human(db, release["id"], "kk", "Өз аудармам", kk["body"], author="a", expected_version=kk["version"])
    releases.update_release(db, release["id"], {"title": demo_releases()[1]["title"]}, languages=TARGETS)
    drain(app, db, engine)
    return release


def test_ignoring_a_suggestion_confirms_the_reviewed_text(app, db, models, terms, engine):
    release = reviewed_then_source_changed(app, db, engine)
    row = releases.translations_of(db, release["id"])["kk"]
    review.ignore_suggestion(db, release["id"], "kk", author="b", expected_version=row["version"])
    row = releases.translations_of(db, release["id"])["kk"]
    assert (row["title"], row["status"], row["suggestion_title"], row["reviewed_by"]) == (
        "Өз аудармам", "reviewed", None, "b")


def test_corrected_sentence_is_reused_in_a_new_release_without_a_model_call(app, db, models, terms, engine):
    first, second = demo_releases()[0], demo_releases()[1]
    release = translated_release(app, db, engine)
    en = releases.translations_of(db, release["id"])["en"]
    stock = "(Пресс-служба Сената, 74-72-27."
    assert stock in first["body"] and stock in second["body"]
    machine = en["body"].split("\n\n")[-1].split(". ")[0] + "."
    corrected_body = en["body"].replace(machine, "(Press Service of the Senate of Kazakhstan, 74-72-27.")
    review.save_human(db, release["id"], "en", en["title"], corrected_body, author="editor",
                      expected_version=en["version"])
    assert memory.lookup(db, memory.human_step("en"), [stock])
    other = publish(db, second)
    before = engine.sentences_translated
    drain(app, db, engine)
    row = releases.translations_of(db, other["id"])["en"]
    assert "(Press Service of the Senate of Kazakhstan, 74-72-27." in row["body"]
    assert row["origin"] == "machine"
    stock_rows = [ru for p in split_paragraphs(second["body"]) for ru in split_sentences(p) if ru == stock]
    assert stock_rows and engine.sentences_translated > before  # others were translated, the stock line was not
    assert memory.lookup(db, memory.human_step("en"), [stock])[memory.normalize(stock)].startswith("(Press Service")
    # Human entries survive a model upgrade.
    memory.forget_model(db, "translate-ru_en-demo")
    assert memory.lookup(db, memory.human_step("en"), [stock])


def test_editor_corrects_the_category_and_later_releases_reuse_it(app, logged_in, db, models, terms, engine):
    first, later = demo_releases()[0], demo_releases()[3]
    assert first["category"] == later["category"]
    release = translated_release(app, db, engine)
    kk = releases.translations_of(db, release["id"])["kk"]
    page = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert f'value="{kk["category"]}"' in page  # the machine category, ready to correct
    response, _ = edit_through_form(logged_in, release["id"], "kk", kk["title"], kk["body"], "Пленарлық отырыстар")
    assert response.status_code == 302
    assert releases.translations_of(db, release["id"])["kk"]["category"] == "Пленарлық отырыстар"
    html_page = logged_in.get(f"/kk/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert 'lang="kk">Пленарлық отырыстар</a>' in html_page  # linked to its category's page (issue 25)
    entry = feedparser.parse(logged_in.get("/kk/feed.atom").data).entries[0]
    assert "Пленарлық отырыстар" in [t.term for t in entry.tags]
    # The correction is remembered: a later release in the same category gets it from the machine path.
    other = publish(db, later)
    drain(app, db, engine)
    row = releases.translations_of(db, other["id"])["kk"]
    assert (row["origin"], row["category"]) == ("machine", "Пленарлық отырыстар")
    # A too-long category is a form error that keeps what was typed.
    kk = releases.translations_of(db, release["id"])["kk"]
    response, _ = edit_through_form(logged_in, release["id"], "kk", kk["title"], kk["body"], "ж" * 101)
    assert response.status_code == 400 and "ж" * 101 in response.get_data(as_text=True)
    assert releases.translations_of(db, release["id"])["kk"]["category"] == "Пленарлық отырыстар"


def test_second_save_of_the_same_translation_is_refused(app, logged_in, db, models, terms, engine):
    release = translated_release(app, db, engine)
    body = releases.translations_of(db, release["id"])["en"]["body"]
    first, data = edit_through_form(logged_in, release["id"], "en", "First editor's title", body)
    assert first.status_code == 302
    data["en-title"] = "Second editor's title"  # same version as the first editor opened
    second = logged_in.post(f"/admin/releases/{release['id']}/review/en", data=data)
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "changed by someone else since you opened it" in html and "Second editor&#39;s title" in html
    assert releases.translations_of(db, release["id"])["en"]["title"] == "First editor's title"
    # The refused form now carries the current version: saving it again is a deliberate choice.
    version = re.search(r'id="en-version" name="en-version" type="hidden" value="(\d+)"', html).group(1)
    again = logged_in.post(f"/admin/releases/{release['id']}/review/en", data={**data, "en-version": version})
    assert again.status_code == 302
    assert releases.translations_of(db, release["id"])["en"]["title"] == "Second editor's title"
    # A tampered hidden field is a 400, not a server error.
    for field in ("en-version", "en-source_revision"):
        assert logged_in.post(f"/admin/releases/{release['id']}/review/en",
                              data={**data, field: "abc"}).status_code == 400
    token = data["en-csrf_token"]
    tampered = logged_in.post(f"/admin/releases/{release['id']}/review/en/accept",
                              data={"version": "abc", "csrf_token": token})
    assert tampered.status_code == 400


def test_bad_edits_get_form_errors_and_html_is_stripped(app, logged_in, db, models, terms, engine):
    release = translated_release(app, db, engine)
    response, _ = edit_through_form(logged_in, release["id"], "en", "", "Text.")
    assert response.status_code == 400 and "This field is required." in response.get_data(as_text=True)
    response, _ = edit_through_form(logged_in, release["id"], "en", "T" * 301, "Text.")
    assert response.status_code == 400
    response, _ = edit_through_form(logged_in, release["id"], "en", "<b>Bold</b> title",
                                    "Safe <script>alert(1)</script>text & more.\n\n<i>Second</i>.")
    assert response.status_code == 302
    row = releases.translations_of(db, release["id"])["en"]
    assert (row["title"], row["body"]) == ("Bold title", "Safe text & more.\n\nSecond.")
    # Nothing but markup: refused, not saved as an empty "reviewed" translation.
    response, _ = edit_through_form(logged_in, release["id"], "en", "<b></b>", "<p></p>")
    assert response.status_code == 400 and "not only markup" in response.get_data(as_text=True)
    assert releases.translations_of(db, release["id"])["en"]["title"] == "Bold title"


def test_history_diff_and_restore(app, logged_in, db, models, terms, engine):
    release = translated_release(app, db, engine)
    machine = releases.translations_of(db, release["id"])["en"]
    review.save_human(db, release["id"], "en", "Edited title", machine["body"], author="editor",
                      expected_version=machine["version"])
    versions = revisions.list_revisions(db, release["id"], "en")
    assert [v["origin"] for v in versions] == ["human", "machine"]
    html = logged_in.get(f"/admin/releases/{release['id']}/history/en").get_data(as_text=True)
    assert "<del>" in html and "<ins>Edited title</ins>" in html  # the whole changed title, not word by word
    token = csrf_token(logged_in, f"/admin/releases/{release['id']}/history/en")
    response = logged_in.post(f"/admin/releases/{release['id']}/history/en/{versions[1]['id']}/restore",
                              data={"csrf_token": token})
    assert response.status_code == 302
    row = releases.translations_of(db, release["id"])["en"]
    assert row["title"] == machine["title"] and len(revisions.list_revisions(db, release["id"], "en")) == 3


def test_restoring_an_old_translation_is_outdated_and_teaches_nothing(app, logged_in, db, models, terms, engine):
    item = demo_releases()[0]
    release = translated_release(app, db, engine)
    old = revisions.list_revisions(db, release["id"], "en")[0]  # the machine text of revision 1
    edited = releases.update_release(db, release["id"], {"title": demo_releases()[1]["title"]}, languages=TARGETS)
    drain(app, db, engine)
    url = f"/admin/releases/{release['id']}/history/en"
    response = logged_in.post(f"{url}/{old['id']}/restore", data={"csrf_token": csrf_token(logged_in, url)})
    assert response.status_code == 302
    row = releases.translations_of(db, release["id"])["en"]
    assert (row["title"], row["status"], row["source_revision"]) == (old["title"], "outdated", 1)
    assert edited["revision"] == 2
    # The old English title is not remembered as a correction of the new Russian title.
    assert memory.lookup(db, memory.human_step("en"), [edited["title"], item["title"]]) == {}


def test_accept_refuses_a_suggestion_the_editor_did_not_see(app, db, models, terms, engine):
    release = reviewed_then_source_changed(app, db, engine)
    seen = releases.translations_of(db, release["id"])["kk"]  # the editor opens the page: a suggestion
    assert seen["suggestion_title"]
    releases.update_release(db, release["id"], {"title": demo_releases()[2]["title"]}, languages=TARGETS)
    drain(app, db, engine)  # a newer suggestion arrives
    with pytest.raises(review.EditConflict):
        review.accept_suggestion(db, release["id"], "kk", author="a", expected_version=seen["version"])
    assert releases.translations_of(db, release["id"])["kk"]["title"] == "Өз аудармам"


def test_original_history_restore_creates_a_new_revision(logged_in, db):
    release = publish(db, demo_releases()[0])
    releases.update_release(db, release["id"], {"title": "Другой заголовок"}, author="editor", languages=TARGETS)
    versions = revisions.list_revisions(db, release["id"], "ru")
    assert [v["title"] for v in versions] == ["Другой заголовок", release["title"]]
    token = csrf_token(logged_in, f"/admin/releases/{release['id']}/history/ru")
    logged_in.post(f"/admin/releases/{release['id']}/history/ru/{versions[1]['id']}/restore",
                   data={"csrf_token": token})
    restored = releases.get_release(db, release["id"])
    assert restored["title"] == release["title"] and restored["revision"] == 3


def test_labels_machine_vs_reviewed_in_pages_and_feeds(app, client, db, models, terms, engine):
    release = translated_release(app, db, engine)
    kk = releases.translations_of(db, release["id"])["kk"]
    # The editor read every sentence and said so: only then is the label "reviewed by the press service".
    review.save_human(db, release["id"], "kk", kk["title"], kk["body"], author="editor", expected_version=kk["version"],
                      seen_all=True)
    kk_page = client.get(f"/kk/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    en_page = client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert 'class="notice reviewed"' in kk_page and 'class="notice machine"' in en_page
    kk_entry = feedparser.parse(client.get("/kk/feed.atom").data).entries[0]
    en_entry = feedparser.parse(client.get("/en/feed.atom").data).entries[0]
    original = f"/ru/releases/{release['id']}-"
    assert original in kk_entry.content[0].value and original in en_entry.content[0].value
    assert "Machine translation" in [t.term for t in en_entry.tags]
    assert "Human-reviewed translation" not in [t.term for t in en_entry.tags]
    kk_terms = [t.term for t in kk_entry.tags]
    assert "Machine translation" not in kk_terms and len(kk_terms) == 2  # category + the reviewed label


def test_retranslate_cli_requeues_only_machine_translations(app, runner, db, models, terms, engine):
    first = translated_release(app, db, engine, 0)
    second = translated_release(app, db, engine, 1)
    kk = releases.translations_of(db, first["id"])["kk"]
    review.save_human(db, first["id"], "kk", "Адам аудармасы", kk["body"], author="e", expected_version=kk["version"])
    result = runner.invoke(args=["retranslate", "--lang", "kk", "--run"])
    assert result.exit_code == 0, result.output
    assert "1 machine translation(s) into kk queued" in result.output
    assert releases.translations_of(db, first["id"])["kk"]["title"] == "Адам аудармасы"
    assert releases.translations_of(db, second["id"])["kk"]["status"] == "machine"
    assert runner.invoke(args=["retranslate", "--lang", "de"]).exit_code == 2


def test_machine_translation_stays_visible_while_it_is_redone(app, client, db, models, terms, engine):
    release = translated_release(app, db, engine)
    jobs.requeue_machine(db, "en")
    page = client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert expected(demo_releases()[0], "en")[0] in page


def test_glossary_term_edit_shows_users_and_retranslates_them(app, logged_in, db, models, terms, engine):
    release = translated_release(app, db, engine)
    term = next(t for t in terms if t.source.startswith("маслихат"))
    page = logged_in.get(f"/admin/glossary/{term.id}").get_data(as_text=True)
    assert release["title"] in page or "Releases that use this term (1)" in page
    token = csrf_token(logged_in, f"/admin/glossary/{term.id}")
    response = logged_in.post(f"/admin/glossary/{term.id}", data={
        "csrf_token": token, "ru": term.source, "en": "maslikhat (local assembly)", "kk": term.targets["kk"]})
    assert response.status_code == 302
    response = logged_in.post(f"/admin/glossary/{term.id}/retranslate", data={"csrf_token": token})
    assert response.status_code == 302
    sent = drain(app, db, engine)
    assert sent == 0  # placeholders make a glossary change free: every sentence came from memory
    assert "maslikhat (local assembly)" in releases.translations_of(db, release["id"])["en"]["body"]


def test_review_rows_go_sentence_by_sentence_where_the_segmentation_allows():
    release = {"title": "Заголовок", "body": "Первое. Второе.\n\nТретье. Четвёртое."}
    translations = {"en": {"title": "Title", "body": "First. Second.\n\nThird and fourth."},
                    "kk": {"title": "Тақырып", "body": "Бірінші. Екінші.\n\nҮшінші. Төртінші."}}
    rows = review.review_rows(release, translations, Languages("ru", ("kk", "en")))
    assert [(r["ru"], r["kk"], r["en"]) for r in rows] == [
        ("Заголовок", "Тақырып", "Title"),
        ("Первое.", "Бірінші.", "First."), ("Второе.", "Екінші.", "Second."),
        ("Третье. Четвёртое.", "Үшінші. Төртінші.", "Third and fourth."),
    ]
