"""Sentence-level review: flagged sentences are decided one by one, nothing unseen goes out as reviewed, and
what readers had stays until something better is published (issue 20, items 1-3, 6 and 7)."""

import json
import re
from datetime import UTC
from datetime import datetime

import feedparser
import pytest
from lxml import html as lxml_html

from feedsvc import releases
from feedsvc.editorial import review
from tests.helpers import TARGETS
from tests.helpers import Page
from tests.helpers import csrf_token
from tests.helpers import make_release
from tests.helpers import outputs_for
from tests.helpers import store_machine

# 27 sentences: the title and 26 in two paragraphs, as long as a real release.
SOURCES = [f"Сенат рассмотрел вопрос номер {n} на заседании." for n in range(1, 27)]
TITLE = "Сенат провёл пленарное заседание"
BODY = " ".join(SOURCES[:13]) + "\n\n" + " ".join(SOURCES[13:])


def seed(db, flagged=range(1, 23)) -> dict:
    """The seed release's shape: 27 English sentences, 22 of them flagged, held for review."""
    release = make_release(db, title=TITLE, body=BODY)
    assert store_machine(db, release, "en", outputs_for(release), flagged=set(flagged)) == "held"
    return release


def row_of(db, release, lang="en") -> dict:
    """The stored translation row."""
    return releases.translations_of(db, release["id"])[lang]


def save_whole_text(client, release, lang, title, body, seen_all=False):
    """Save through the whole-text editor, as an editor does."""
    page = client.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    token = re.search(rf'id="{lang}-csrf_token" name="{lang}-csrf_token" type="hidden" value="([^"]+)"', page)
    version = re.search(rf'id="{lang}-version" name="{lang}-version" type="hidden" value="(\d+)"', page)
    source = re.search(rf'id="{lang}-source_revision" name="{lang}-source_revision" type="hidden" value="(\d+)"', page)
    data = {f"{lang}-csrf_token": token.group(1), f"{lang}-version": version.group(1),
            f"{lang}-source_revision": source.group(1), f"{lang}-title": title, f"{lang}-body": body}
    if seen_all:
        data[f"{lang}-seen_all"] = "1"
    return client.post(f"/admin/releases/{release['id']}/review/{lang}", data=data)


def post_sentences(client, release, lang, fields: dict):
    """Post the sentence form (``fields``: text-N / approve-N / alt-N), with what each sentence showed."""
    token = csrf_token(client, f"/admin/releases/{release['id']}/review")
    page = lxml_html.fromstring(client.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True))
    version = page.xpath(f'//form[contains(@action, "/review/{lang}/sentences")]//input[@name="version"]/@value')[0]
    shown = {field.get("name"): field.get("value") for field in
             page.xpath(f'//form[contains(@action, "/review/{lang}/sentences")]//input[starts-with(@name, "shown-")]')}
    return client.post(f"/admin/releases/{release['id']}/review/{lang}/sentences",
                       data={"csrf_token": token, "version": version, **shown, **fields})


def english_everywhere(client, release) -> dict:
    """What English readers get of the release: page, index, search, and the entry of each feed."""
    page = client.get(f"/en/releases/{release['id']}", follow_redirects=True)
    feeds = {fmt: client.get(f"/en/feed.{fmt}").data for fmt in ("rss", "atom", "json")}
    return {"page": page.get_data(as_text=True), "url": page.request.path,
            "index": client.get("/en/").get_data(as_text=True),
            "atom": feedparser.parse(feeds["atom"]).entries, "rss": feedparser.parse(feeds["rss"]).entries,
            "json": json.loads(feeds["json"])["items"]}


def test_fixing_one_of_22_flagged_sentences_does_not_publish_the_other_21(app, logged_in, client, db):
    release = seed(db)
    row = row_of(db, release)
    assert (row["status"], row["flags"]) == ("held", 22)
    fixed_body = row["body"].replace("item 1 at", "item one at", 1)
    response = save_whole_text(logged_in, release, "en", row["title"], fixed_body)
    assert response.status_code == 302
    row = row_of(db, release)
    assert (row["status"], row["flags"]) == ("held", 21)  # stored, still held: 21 flagged sentences open
    assert "item one at" in row["body"] and row["published_title"] is None
    record = json.loads(row["checks"])
    assert [(e["origin"], e["by"]) for e in record if e["origin"] != "machine"] == [("edited", "editor")]
    flashed = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert "21 flagged sentences are still open" in flashed and "item 2 at the session" in flashed
    # Nothing of it reached readers: the page shows the original with its notice, the feeds and index omit it.
    seen = english_everywhere(client, release)
    assert TITLE in seen["page"] and "The Senate held" not in seen["page"]
    assert seen["atom"] == [] and seen["rss"] == [] and seen["json"] == []
    assert TITLE not in seen["index"]


def test_sentence_decisions_publish_once_every_flagged_sentence_is_decided(app, logged_in, client, db):
    release = seed(db, flagged=(1, 2, 3))
    record = json.loads(row_of(db, release)["checks"])
    response = post_sentences(logged_in, release, "en", {"text-1": "The Senate considered the first item.",
                                                         "approve-2": "1"})
    assert response.status_code == 302 and row_of(db, release)["status"] == "held"  # sentence 3 is open
    response = post_sentences(logged_in, release, "en", {"approve-3": "1"})
    assert response.status_code == 302
    row = row_of(db, release)
    assert row["status"] == "reviewed" and row["published_title"] == row["title"]
    decided = json.loads(row["checks"])
    assert [decided[n]["origin"] for n in (0, 1, 2, 3, 4)] == ["machine", "edited", "approved", "approved", "machine"]
    assert decided[1]["output"] == "The Senate considered the first item." and decided[1]["at"]
    placement = ("part", "index", "paragraph")  # filled in where the record had none (a record made by hand here)
    assert {k: v for k, v in decided[4].items() if k not in placement} == {
        k: v for k, v in record[4].items() if k not in placement}  # untouched sentences keep their record
    assert "The Senate considered the first item." in row["body"]
    # Seen: 3 of 27, so readers are told it is a machine translation with 3 sentences reviewed.
    seen = english_everywhere(client, release)
    assert "Machine translation, 3 of 27 sentences reviewed." in seen["page"]
    article = lxml_html.fromstring(seen["page"]).xpath("//article[@data-translation]")[0]
    assert (article.get("data-translation"), article.get("data-sentences-reviewed"),
            article.get("data-sentences")) == ("machine", "3", "27")
    (item,) = seen["json"]
    assert item["_feedsvc"]["translation"] == {"reviewed": False, "sentences_reviewed": 3, "sentences": 27,
                                               "original_updated": False}
    # Approving every sentence (confirmed) makes it "reviewed by the press service".
    token = csrf_token(logged_in, f"/admin/releases/{release['id']}/review")
    logged_in.post(f"/admin/releases/{release['id']}/review/en/approve",
                   data={"csrf_token": token, "version": row["version"], "confirm": "1"})
    seen = english_everywhere(client, release)
    assert "Translation reviewed by the press service." in seen["page"]
    assert lxml_html.fromstring(seen["page"]).xpath("//article/@data-translation") == ["reviewed"]
    assert seen["json"][0]["_feedsvc"]["translation"]["reviewed"] is True


def test_a_slot_is_never_published_by_an_editor_save(app, logged_in, db):
    release = seed(db, flagged=(1,))
    row = row_of(db, release)
    response = save_whole_text(logged_in, release, "en", row["title"], row["body"] + " Said [1].", seen_all=True)
    assert response.status_code == 400 and "[1]" in response.get_data(as_text=True)
    assert row_of(db, release)["version"] == row["version"]
    response = post_sentences(logged_in, release, "en", {"text-1": "— said [2]."})
    assert response.status_code == 400 and row_of(db, release)["version"] == row["version"]


def test_flags_stay_on_their_sentence_through_typography_and_same_outputs(app, logged_in, db):
    release = make_release(db, title=TITLE, body="Он сказал: «Казахстан открыт». Заседание продолжилось. "
                                                 "Заседание продолжилось снова.")
    outputs = ["The Senate held a plenary session", 'He said: "Kazakhstan is open".', "The session went on.",
               "The session went on."]
    assert store_machine(db, release, "en", outputs, flagged={1, 3}) == "held"
    page = lxml_html.fromstring(logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True))
    rows = page.xpath('//table[@data-lang="en"]//tr[@data-part]')
    flagged = [(row.get("data-part"), row.get("data-index")) for row in rows if "flagged" in row.get("class")]
    assert flagged == [("body", "0"), ("body", "2")]  # the typeset quote and the second of two same outputs
    assert "“Kazakhstan is open”" in rows[1].xpath(".//textarea")[0].text  # shown as stored: typeset


def test_the_models_alternatives_can_be_taken(app, logged_in, db):
    release = make_release(db, title=TITLE, body=BODY)
    store_machine(db, release, "en", outputs_for(release), flagged={5},
                  alternatives={5: ["The Senate examined item 5 at the session."]})
    page = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert "The Senate examined item 5 at the session." in page
    response = post_sentences(logged_in, release, "en", {"alt-5": "The Senate examined item 5 at the session."})
    assert response.status_code == 302
    row = row_of(db, release)
    assert row["status"] == "reviewed" and "The Senate examined item 5 at the session." in row["body"]
    assert json.loads(row["checks"])[5]["origin"] == "edited"


def test_a_source_edit_keeps_the_published_translation_until_the_new_one_is_published(app, logged_in, client, db,
                                                                                      set_clock):
    set_clock.set(datetime(2026, 11, 19, 8, tzinfo=UTC))
    release = make_release(db, title=TITLE, body=BODY)
    assert store_machine(db, release, "en", outputs_for(release)) == "done"
    before = english_everywhere(client, release)
    entry_id = releases.entry_id(release["guid"], "en")
    assert [e.id for e in before["atom"]] == [entry_id] and before["json"][0]["id"] == entry_id
    set_clock.set(datetime(2026, 11, 20, 8, tzinfo=UTC))
    edited = releases.update_release(db, release["id"], {"body": BODY + " Добавлено новое предложение."},
                                     languages=TARGETS)
    assert row_of(db, release)["status"] == "pending"
    during = english_everywhere(client, release)
    # Same URL, same entry id in every feed, the last published English, marked as being checked.
    assert during["url"] == before["url"] and "The Senate held a plenary session" in during["page"]
    assert "the updated translation is being checked" in during["page"]
    assert [e.id for e in during["atom"]] == [entry_id] and [e.id for e in during["rss"]] == [entry_id]
    assert during["json"][0]["id"] == entry_id and during["json"][0]["_feedsvc"]["translation"]["original_updated"]
    assert "The Senate held a plenary session" in during["index"]
    # The new machine translation is held (a flag): readers still keep the old one.
    new_outputs = outputs_for(edited)
    new_outputs[0] = "The Senate met in plenary"
    set_clock.set(datetime(2026, 11, 21, 8, tzinfo=UTC))
    assert store_machine(db, edited, "en", new_outputs, flagged={27}) == "held"
    assert "The Senate held a plenary session" in english_everywhere(client, release)["page"]
    # An editor approves it: it replaces the old one at the same URL and entry id, and ``updated`` moves.
    review.approve(db, release["id"], "en", author="editor", expected_version=row_of(db, release)["version"])
    after = english_everywhere(client, release)
    assert "The Senate met in plenary" in after["page"] and "being checked" not in after["page"]
    assert [e.id for e in after["atom"]] == [entry_id] and after["json"][0]["id"] == entry_id
    assert after["atom"][0].updated_parsed > during["atom"][0].updated_parsed
    assert after["url"].startswith(f"/en/releases/{release['id']}-")


def test_an_editor_can_take_the_old_text_down_with_confirmation(app, logged_in, client, db):
    release = make_release(db, title=TITLE, body=BODY)
    store_machine(db, release, "en", outputs_for(release))
    releases.update_release(db, release["id"], {"body": BODY + " Цифра исправлена: 94 закона."}, languages=TARGETS)
    page = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert "Take the published translation down" in page
    token = csrf_token(logged_in, f"/admin/releases/{release['id']}/review")
    version = row_of(db, release)["version"]
    url = f"/admin/releases/{release['id']}/review/en/take-down"
    assert logged_in.post(url, data={"csrf_token": token, "version": version}).status_code == 400
    assert row_of(db, release)["published_title"]  # not without the confirmation
    assert logged_in.post(url, data={"csrf_token": token, "version": version, "confirm": "1"}).status_code == 302
    seen = english_everywhere(client, release)
    assert seen["atom"] == [] and TITLE in seen["page"] and "The Senate held" not in seen["page"]


def test_a_never_published_translation_is_not_listed_or_found(app, client, db):
    release = seed(db, flagged=(1,))
    index = client.get("/en/").get_data(as_text=True)
    found = client.get("/en/search?q=Senate").get_data(as_text=True)
    assert TITLE not in index and "The Senate held" not in found and f"/en/releases/{release['id']}" not in found
    page = client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert TITLE in page and 'class="notice pending"' in page  # its own URL shows the original


def test_review_queue_filters_orders_counts_and_approves_ticked_sentences(app, logged_in, db, set_clock):
    set_clock.set(datetime(2026, 11, 19, 8, tzinfo=UTC))
    older = seed(db, flagged=(1, 2))
    set_clock.set(datetime(2026, 11, 19, 9, tzinfo=UTC))
    newer = make_release(db, title="Сенат принял закон", body=BODY)
    store_machine(db, newer, "kk", outputs_for(newer), flagged={3})
    listing = logged_in.get("/admin/review-queue/").get_data(as_text=True)
    page = lxml_html.fromstring(listing)
    items = [(int(s.get("data-release")), s.get("data-lang")) for s in page.xpath('//section[@class="queue-item"]')]
    assert items == [(older["id"], "en"), (newer["id"], "kk")]  # oldest first
    assert page.xpath('//nav[@class="admin-nav"]//span[@class="count"]/text()') == ["2"]
    only_kk = lxml_html.fromstring(logged_in.get("/admin/review-queue/?lang=kk").get_data(as_text=True))
    assert len(only_kk.xpath('//section[@class="queue-item"]')) == 1
    no_copy = lxml_html.fromstring(logged_in.get("/admin/review-queue/?flag=copy").get_data(as_text=True))
    assert no_copy.xpath('//section[@class="queue-item"]') == []
    ticks = page.xpath(f'//section[@data-release="{older["id"]}"]//input[@name="pick"]/@value')
    assert len(ticks) == 2
    token = csrf_token(logged_in, "/admin/review-queue/")
    logged_in.post("/admin/review-queue/approve", data={"csrf_token": token, "pick": ticks[:1]})
    assert row_of(db, older)["status"] == "held"  # one of two ticked: the other is still open
    again = lxml_html.fromstring(logged_in.get("/admin/review-queue/").get_data(as_text=True))
    (rest,) = again.xpath(f'//section[@data-release="{older["id"]}"]//input[@name="pick"]/@value')
    logged_in.post("/admin/review-queue/approve", data={"csrf_token": token, "pick": [rest]})
    row = row_of(db, older)
    assert row["status"] == "reviewed"
    assert [e["origin"] for e in json.loads(row["checks"])[1:3]] == ["approved", "approved"]
    counted = lxml_html.fromstring(logged_in.get("/admin/review-queue/").get_data(as_text=True))
    assert counted.xpath('//nav[@class="admin-nav"]//span[@class="count"]/text()') == ["1"]


@pytest.mark.browser
def test_review_screen_in_chromium(live_app, chrome, db):  # noqa: F811 (fixtures)
    release = seed(db, flagged=(1, 2))
    page = Page(chrome, live_app.config["LIVE_URL"])
    page.log_in()
    page.open(f"/admin/releases/{release['id']}/review")
    assert "flagged" in page.find('table[data-lang="en"] tr[data-part="body"][data-index="0"]').get_attribute("class")
    page.type("text-1", "The Senate considered the first item.")
    page.find('[name="approve-2"]').click()
    page.submit_with("save-sentences")
    row = row_of(db, release)
    assert row["status"] == "reviewed" and "The Senate considered the first item." in row["body"]
    assert page.severe_console_errors() == []
    page.open(f"/en/releases/{release['id']}")
    assert "2 of 27" in page.find("article .notice").text
