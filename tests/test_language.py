"""Every word of a translated page in its language: photo texts, typography, English dates, slugs."""

import html
import json
import re
from datetime import UTC
from datetime import datetime

import feedparser
import pytest
from lxml import html as lxml_html

from feedsvc import photos
from feedsvc import releases
from feedsvc import revisions
from feedsvc.demo import DEMO_DIR
from feedsvc.demo import demo_photo
from feedsvc.demo import load_releases
from feedsvc.settings import Typography
from feedsvc.text.latin import kazakh_latin
from feedsvc.translation import credits
from feedsvc.translation import glossary
from feedsvc.translation import typography
from feedsvc.translation.typography import NBSP
from tests.helpers import TARGETS
from tests.helpers import corpus
from tests.helpers import csrf_token
from tests.helpers import demo_releases
from tests.helpers import drain
from tests.helpers import edit_through_form

CYRILLIC = re.compile(r"[\u0400-\u04ff]")
DEMO_CAPTION = "Пленарное заседание Сената 19.11.2026"


@pytest.mark.parametrize(("text", "lang", "typeset"), [
    ("«Open to dialogue», - said Maulen Ashimbayev.", "en", f"“Open to dialogue”{NBSP}— said Maulen Ashimbayev."),
    ("«Open to dialogue» – noted he.", "en", f"“Open to dialogue”{NBSP}— noted he."),
    ('He said "the «group» works" today.', "en", "He said “the ‘group’ works” today."),
    ("«Жаңа «Өңір» тобы», - деді ол.", "kk", f"«Жаңа „Өңір“ тобы»,{NBSP}— деді ол."),
    ('Ол "Өңір" тобын атады.', "kk", "Ол «Өңір» тобын атады."),
    ("On 19.11.2026 and 01.01.2027.", "en", "On 19 November 2026 and 1 January 2027."),
    ("Left over: 19 ноября 2026, 3 марта 2027, 9 мая 2026.", "en",
     "Left over: 19 November 2026, 3 March 2027, 9 May 2026."),
    ("Not dates: 32.13.2026, 74-72-27, version 1.2.3, 19.11.20261.", "en",
     "Not dates: 32.13.2026, 74-72-27, version 1.2.3, 19.11.20261."),
    ("Сенат 19.11.2026 ж.", "kk", "Сенат 19.11.2026 ж."),  # Kazakh text keeps its own date form
    ("well-known self-government", "en", "well-known self-government"),  # a hyphen in a word stays
])
def test_typography_rules(text, lang, typeset):
    assert typography.apply(text, lang) == typeset


@pytest.mark.parametrize(("rules", "typeset"), [
    (Typography(quotes=False), f"«Done», 19 November 2026{NBSP}— said he."),
    (Typography(dashes=False), "“Done”, 19 November 2026 - said he."),
    (Typography(dates=False), f"“Done”, 19.11.2026{NBSP}— said he."),
])
def test_each_typography_rule_can_be_turned_off(rules, typeset):
    assert typography.apply("«Done», 19.11.2026 - said he.", "en", rules) == typeset


@pytest.mark.parametrize(("credit", "en", "kk"), [
    ("Фото – А.Нурланов", "Photo: A. Nurlanov", "Фото: А. Нурланов"),
    ("Фото: Е.Укибаев, Ж.Щукина", "Photo: Ye. Ukibayev, Zh. Shchukina", "Фото: Е. Укибаев, Ж. Щукина"),
    ("фото Маулен Ашимбаев", "Photo: Maulen Ashimbayev", "Фото: Маулен Ашимбаев"),
    ("Фото – пресс-служба Сената", None, None),  # not a person's name: translated as text
    ("Фото – Пресс-служба Сената", None, None),  # capitalised, still no person: the dictionary knows the words
    ("Фото Парламента РК", None, None),
    ("А.Нурланов", None, None),  # no label: translated as text
])
def test_credit_label_is_localised_and_the_name_romanized_by_bgn_pcgn_never_translated(credit, en, kk):
    assert (credits.localize(credit, "en"), credits.localize(credit, "kk")) == (en, kk)


def test_slugs_follow_the_language_kazakh_by_the_kazakh_latin_alphabet():
    # The 2021 Kazakh Latin letters (ğ, ñ, ä, ş, ı…) folded to ASCII: not the Russian-style "gh", "kh", "sh".
    assert releases.slug("Сенат Төрағасының мәслихат хатшыларымен кездесуі", "kk") == (
        "senat-toragasynyn-maslihat-hatsylarymen-kezdesui")
    assert kazakh_latin("Қазақстан Республикасы Төрағасы, ұлттық үнқатысу") == (
        "qazaqstan respublikasy törağasy, ūlttyq ünqatysu")
    assert releases.slug("The Senate passed a law", "en") == "the-senate-passed-a-law"
    # Russian slugs are what they always were: no Russian URL changes.
    assert releases.slug("Сенат принял закон") == "senat-prinial-zakon"


@pytest.fixture
def demo_site(app, db, runner, models, terms):
    """The demo releases (photos, captions, credits) published and translated by the real worker."""
    count = load_releases(db, app.config["UPLOAD_FOLDER"], tuple(app.config["TARGET_LANGUAGES"]))
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert f"{2 * count} job(s) handled" in result.output
    return list(db.query("select * from releases order by id"))


def english_text(page: str) -> str:
    """The text and attribute values a reader of an English page meets, without what is marked another language
    (the language switcher names each language in itself)."""
    tree = lxml_html.fromstring(page)
    for element in tree.xpath('//*[@lang and not(starts-with(@lang, "en"))]'):
        element.drop_tree()
    attributes = " ".join(tree.xpath("//@alt | //@title | //@aria-label | //meta/@content"))  # cards, description
    return tree.text_content() + " " + attributes


def test_english_pages_and_feeds_have_no_cyrillic_letter_once_translated(client, demo_site):
    for release in demo_site:
        page = client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
        assert 'lang="ru"' not in page.split("<main", 1)[-1].replace('hreflang="ru" lang="ru"', "")
        assert not CYRILLIC.search(english_text(page)), CYRILLIC.findall(english_text(page))
    assert not CYRILLIC.search(english_text(client.get("/en/").get_data(as_text=True)))
    for fmt in ("rss", "atom"):
        feed = feedparser.parse(client.get(f"/en/feed.{fmt}").data)
        assert len(feed.entries) == len(demo_site)
        for entry in feed.entries:
            content = entry.content[0].value if fmt == "atom" else entry.description
            for text in (entry.title, content, entry.get("summary", ""), entry.link):
                assert not CYRILLIC.search(text), text
    items = client.get("/en/feed.json").get_json()["items"]
    assert len(items) == len(demo_site) and not CYRILLIC.search(json.dumps(items, ensure_ascii=False))


def test_photo_caption_and_credit_are_translated_with_the_release(client, db, demo_site):
    first = demo_site[0]
    en = releases.translations_of(db, first["id"])["en"]
    kk = releases.translations_of(db, first["id"])["kk"]
    assert first["photo_caption"] == DEMO_CAPTION
    # The caption went through the same memory, glossary and checks (and typography) as the text.
    assert en["photo_caption"] == typography.apply(corpus()[DEMO_CAPTION]["en"], "en")
    assert en["photo_caption"] == "Plenary session of the Senate 19 November 2026"
    assert kk["photo_caption"] == corpus()[DEMO_CAPTION]["kk"]
    # The Kazakh text spells the photographer Нұрланов (its credit line): the Kazakh credit does the same.
    assert (en["photo_credit"], kk["photo_credit"]) == ("Photo: A. Nurlanov", "Фото: А. Нұрланов")
    page = client.get(f"/en/releases/{first['id']}", follow_redirects=True).get_data(as_text=True)
    figure = lxml_html.fromstring(page).xpath("//figure")[0]
    assert figure.xpath(".//img/@alt") == [en["photo_caption"]] and figure.xpath(".//img/@lang") == ["en"]
    assert figure.xpath(".//figcaption/@lang") == ["en"]
    assert "Photo: A. Nurlanov" in figure.text_content()
    entry = next(e for e in feedparser.parse(client.get("/kk/feed.atom").data).entries
                 if e.link.rsplit("/", 1)[1].startswith(f"{first['id']}-"))
    assert 'figcaption lang="kk"' in entry.content[0].value and "Фото: А. Нұрланов" in entry.content[0].value


def test_pending_translation_shows_the_russian_caption_marked_russian(client, db, app):
    load_releases(db, app.config["UPLOAD_FOLDER"], tuple(app.config["TARGET_LANGUAGES"]))
    page = client.get("/en/releases/1", follow_redirects=True).get_data(as_text=True)
    figure = lxml_html.fromstring(page).xpath("//figure")[0]
    assert figure.xpath(".//figcaption/@lang") == ["ru"] and figure.xpath(".//img/@lang") == ["ru"]
    assert DEMO_CAPTION in figure.text_content()


def test_english_items_use_english_quotes_and_dashes(client, demo_site):
    for entry in feedparser.parse(client.get("/en/feed.atom").data).entries:
        content = html.unescape(entry.content[0].value)
        assert "«" not in content and "»" not in content and " - " not in content
        assert "“" in content and f"”{NBSP}— " in content  # every demo release quotes someone
        assert not re.search(r"\b\d{2}\.\d{2}\.\d{4}\b", content)
    kk = feedparser.parse(client.get("/kk/feed.atom").data).entries[0].content[0].value
    assert "«" in kk and "“" not in kk


def test_typography_settings_turn_rules_off_in_the_worker(app, db, runner, models, terms):
    app.config.update(TYPOGRAPHY_QUOTES=False, TYPOGRAPHY_DATES=False)
    load_releases(db, app.config["UPLOAD_FOLDER"], ("en",))
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    en = releases.translations_of(db, 1)["en"]
    assert "«" in en["body"] and "19.11.2026" in en["body"] and f"{NBSP}— said" in en["body"]


def test_english_slugs_are_english_words_and_every_old_slug_redirects(client, db, demo_site):
    for release in demo_site:
        en = releases.translations_of(db, release["id"])["en"]
        response = client.get(f"/en/releases/{release['id']}")
        assert response.status_code == 301
        url = response.headers["Location"]
        slug = url.rsplit(f"/{release['id']}-", 1)[1]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)
        assert set(slug.split("-")) <= set(re.findall(r"[a-z0-9]+", en["title"].lower()))
        # The slug every page had before slugs were translated (the Russian title's) answers 301 to it.
        old = client.get(f"/en/releases/{release['id']}-{releases.slug(release['title'])}")
        assert (old.status_code, old.headers["Location"]) == (301, url)
        assert client.get(url).status_code == 200
    kk = client.get(f"/kk/releases/{demo_site[0]['id']}").headers["Location"]
    assert kk.endswith("/1-senat-jergilikti-ozin-ozi-basqarudy-damytu-turaly-zan-qabyldady")
    # The language links of a page lead to each language's own slug, with no redirect on the way.
    page = lxml_html.fromstring(client.get(kk).get_data(as_text=True))
    assert page.xpath('//link[@hreflang="en"]/@href')[0].endswith(url_for_release(client, demo_site[0]["id"], "en"))


def url_for_release(client, release_id: int, lang: str) -> str:
    """Where a release's page in ``lang`` lives now (the 301 target of its bare id URL)."""
    return client.get(f"/{lang}/releases/{release_id}").headers["Location"]


def test_editors_edit_caption_credit_and_alt_on_review_and_readers_see_them(client, db, demo_site, admin):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/admin/login")
    client.post("/admin/login", data={"username": admin[0], "password": admin[1], "csrf_token": token})
    release = demo_site[0]
    before = client.get(f"/en/releases/{release['id']}").headers["Location"]
    review_page = client.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert 'name="en-photo_caption"' in review_page and 'name="en-photo_alt"' in review_page
    en = releases.translations_of(db, release["id"])["en"]
    response, _ = edit_through_form(client, release["id"], "en", "Senate adopts the local government law", en["body"],
                                    extra={"en-photo_caption": "Senators at the plenary session of 19 November 2026",
                                           "en-photo_credit": "Photo: A. Nurlanov",
                                           "en-photo_alt": "Senators seated in the plenary hall"})
    assert response.status_code == 302, response.get_data(as_text=True)
    row = releases.translations_of(db, release["id"])["en"]
    assert (row["origin"], row["photo_caption"]) == ("human", "Senators at the plenary session of 19 November 2026")
    # The edit is in the history like a title or body edit.
    latest = revisions.list_revisions(db, release["id"], "en")[0]
    assert (latest["photo_caption"], latest["photo_alt"]) == ("Senators at the plenary session of 19 November 2026",
                                                             "Senators seated in the plenary hall")
    history = client.get(f"/admin/releases/{release['id']}/history/en").get_data(as_text=True)
    assert 'class="photo-texts"' in history and "<ins>Senators seated in the plenary hall</ins>" in history
    client.get("/admin/logout")
    page = client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert "Senators at the plenary session of 19 November 2026" in page
    assert 'alt="Senators seated in the plenary hall"' in page
    entry = feedparser.parse(client.get("/en/feed.atom").data).entries[0]
    assert "Senators at the plenary session of 19 November 2026" in entry.content[0].value
    # The edited title changed the slug: the one before keeps redirecting to the new one.
    old = client.get(before.removeprefix("http://localhost"))
    assert old.status_code == 301 and old.headers["Location"].endswith("-senate-adopts-the-local-government-law")


def test_upgrade_queues_translations_made_before_captions_were_translated(app, models, engine, tmp_path):
    from feedsvc import migrations
    from feedsvc.storage import connect

    db = connect(str(tmp_path / "old.db"))
    WHEN = "2026-11-19T06:30:00+00:00"  # noqa: N806
    steps = migrations.migrations._migrations
    upgrade = next(step for step in steps if step.name == "m013_photo_translations")
    for step in steps[:steps.index(upgrade)]:  # the schema as it was before this change
        step.fn(db)
    db.table("releases").insert({"id": 1, "guid": "urn:x", "title": "Сенаторы", "body": "Текст.", "status": "published",
                                 "published_at": WHEN, "revision": 1, "updated_at": WHEN,
                                 "photo": "p.jpg", "photo_caption": DEMO_CAPTION, "photo_credit": "Фото – А.Нурланов"})
    db.table("translations").insert({"release_id": 1, "lang": "en", "title": "Senators", "body": "Text.",
                                     "status": "machine", "source_revision": 1, "updated_at": WHEN})
    upgrade.fn(db)
    assert [(job["lang"], job["status"]) for job in db.table("jobs").rows] == [("en", "queued")]
    assert releases.translations_of(db, 1)["en"]["status"] == "machine"  # readers keep it meanwhile
    for step in steps[steps.index(upgrade) + 1:]:  # the rest of the upgrade, before a worker starts
        step.fn(db)
    glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))  # as today's schema holds it
    drain(app, db, engine)
    en = releases.translations_of(db, 1)["en"]
    assert (en["photo_caption"], en["photo_credit"]) == ("Plenary session of the Senate 19 November 2026",
                                                         "Photo: A. Nurlanov")


def test_typography_settings_are_checked_at_start(tmp_path):
    from feedsvc.config import ConfigError
    from tests.helpers import app_with_settings

    assert app_with_settings(tmp_path, TYPOGRAPHY_DATES="off").config["TYPOGRAPHY_DATES"] is False
    assert app_with_settings(tmp_path).config["TYPOGRAPHY_QUOTES"] is Typography.quotes is True
    with pytest.raises(ConfigError, match="TYPOGRAPHY_QUOTES = 'maybe': expected true or false"):
        app_with_settings(tmp_path, TYPOGRAPHY_QUOTES="maybe")
    with pytest.raises(ConfigError, match="unknown setting TYPOGRAPHY_QUOTE "):
        app_with_settings(tmp_path, TYPOGRAPHY_QUOTE=False)


def test_a_caption_the_checks_flag_is_held_and_flagged_on_the_review_screen(app, logged_in, db, models, terms, engine):
    photo = photos.save_photo(demo_photo(0), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
    caption = "Сенатор Иванов принял участие в форуме по цифровизации"  # a name the tiny model never saw
    release = releases.create_release(db, title=demo_releases()[2]["title"], body=demo_releases()[2]["body"],
                                      published_at=datetime(2026, 11, 19, tzinfo=UTC), photo=photo,
                                      photo_caption=caption, publish=True, languages=TARGETS)
    drain(app, db, engine)
    en = releases.translations_of(db, release["id"])["en"]
    assert en["status"] == "held" and en["flags"] >= 1  # the default policy holds flagged translations
    page = lxml_html.fromstring(logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True))
    (row,) = page.xpath('//table[@data-lang="en"]//tr[@data-part="photo_caption"]')
    assert row.xpath("./td[1]")[0].text_content() == caption
    assert "flagged" in row.get("class") and "Иванов" in row.xpath('./td[@lang="en"]')[0].text_content()
