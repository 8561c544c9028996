"""The Kazakh Latin edition (kk-latn): the Kazakh translation written in the 2021 Latin alphabet, at /kk-latn/."""

import json
import os
import re

import pytest
from lxml import etree
from lxml import html
from slugify import slugify

from feedsvc import clock
from feedsvc import jobs
from feedsvc import releases
from feedsvc import search
from feedsvc.text.latin import MAX_SPELLINGS
from feedsvc.text.latin import cyrillic_spellings
from feedsvc.text.latin import kazakh_latin_text
from feedsvc.web import create_app
from feedsvc.web.db import connect
from tests.helpers import NEWSBOAT
from tests.helpers import NS
from tests.helpers import SITE
from tests.helpers import TARGETS
from tests.helpers import Page
from tests.helpers import app_with_settings
from tests.helpers import make_release
from tests.helpers import missing_program
from tests.helpers import served
from tests.helpers import sitemap_urls
from tests.helpers import topics
from tests.helpers import unread

CYRILLIC = re.compile("[\u0400-\u04ff]")
ATOM = "{http://www.w3.org/2005/Atom}"
# The alphabet of 2021 (Kazakh Cyrillic → Latin, capital and small), as the decree's table gives it: и and й
# are both İ i; і is I ı (dotless); х and һ are both H h.
OFFICIAL_TABLE = (
    ("А а", "A a"), ("Ә ә", "Ä ä"), ("Б б", "B b"), ("В в", "V v"), ("Г г", "G g"), ("Ғ ғ", "Ğ ğ"), ("Д д", "D d"),
    ("Е е", "E e"), ("Ж ж", "J j"), ("З з", "Z z"), ("И и", "İ i"), ("Й й", "İ i"), ("К к", "K k"), ("Қ қ", "Q q"),
    ("Л л", "L l"), ("М м", "M m"), ("Н н", "N n"), ("Ң ң", "Ñ ñ"), ("О о", "O o"), ("Ө ө", "Ö ö"), ("П п", "P p"),
    ("Р р", "R r"), ("С с", "S s"), ("Т т", "T t"), ("У у", "U u"), ("Ұ ұ", "Ū ū"), ("Ү ү", "Ü ü"), ("Ф ф", "F f"),
    ("Х х", "H h"), ("Һ һ", "H h"), ("Ч ч", "Ç ç"), ("Ш ш", "Ş ş"), ("Ы ы", "Y y"), ("І і", "I ı"),
)
# A paragraph of real Kazakh (Wikipedia, "Kazakh alphabets": a 1902 text in modern spelling and in the 2021
# alphabet), its one typo there ("бала — менің" given as "bala - menıñ") left out.
PARAGRAPH = ("Бұрыңғы өткен заманда, бір данышпан кісі, Бағдат шаһарының бір үлкен қазысының үйіне келіп қоныпты. "
             "Қазыменен сөйлесіп, қазыны сөзге жеңе беріпті. Сонда қазы қорқып, — „Бұл маған келген бала. "
             "Не де болса, бұған жалынып, сый беріп, орнымда қалайын!“ — деп, қатынына ақылдасыпты.")
PARAGRAPH_LATIN = ("Būryñğy ötken zamanda, bır danyşpan kısı, Bağdat şaharynyñ bır ülken qazysynyñ üiıne kelıp "
                   "qonypty. Qazymenen söilesıp, qazyny sözge jeñe berıptı. Sonda qazy qorqyp, — „Būl mağan "
                   "kelgen bala. Ne de bolsa, būğan jalynyp, syi berıp, ornymda qalaiyn!“ — dep, qatynyna aqyldasypty.")
KK_TITLE = "Сенат Төрағасы мәслихат хатшыларымен кездесті"
KK_BODY = "Қазақстан Республикасы Парламенті Сенатының отырысы өтті.\n\nДепутаттар заң жобасын қарады."


@pytest.mark.parametrize(("cyrillic", "latin"), OFFICIAL_TABLE)
def test_every_letter_is_written_as_the_official_2021_table_says(cyrillic, latin):
    assert kazakh_latin_text(cyrillic) == latin


def test_a_paragraph_of_real_kazakh_text_is_written_as_the_2021_alphabet_writes_it():
    assert kazakh_latin_text(PARAGRAPH) == PARAGRAPH_LATIN


def test_capitals_stay_capitals_and_words_in_capitals_stay_in_capitals():
    assert kazakh_latin_text("Ілияс Ясауи ЯҢА ҚАЗАҚСТАН, 2024 жылғы 5 наурыз") == (
        "Ilias İasaui İAÑA QAZAQSTAN, 2024 jylğy 5 nauryz")


def test_slugs_are_folded_from_the_same_table():
    assert releases.slug(KK_TITLE, "kk") == slugify(kazakh_latin_text(KK_TITLE), max_length=80, word_boundary=True)
    assert releases.slug(KK_TITLE, "kk-latn") == releases.slug(KK_TITLE, "kk")


def test_a_latin_word_gives_a_bounded_set_of_cyrillic_spellings_with_the_word_among_them():
    assert cyrillic_spellings("Qazaqstan") == ["қазақстан"]
    assert "хатшыларымен" in cyrillic_spellings("hatşylarymen")
    assert "ясауи" in cyrillic_spellings("İasaui") and "демократиялық" in cyrillic_spellings("demokratialyq")
    assert len(cyrillic_spellings("iiiiiiiihhhh")) == MAX_SPELLINGS
    assert cyrillic_spellings("Senate's") == [] and cyrillic_spellings("сенат") == []


def published_in_kazakh(db, title=KK_TITLE, body=KK_BODY, *, hold=False, **release):
    """A release whose Kazakh translation is stored as the worker stores it (held for an editor with ``hold``)."""
    release = make_release(db, **release)
    job = jobs.claim(db)
    while job["lang"] != "kk":
        jobs.complete_superseded(db, job)
        job = jobs.claim(db)
    assert jobs.complete(db, job, {"title": title, "body": body, "route": "test"}, hold=hold)
    return release


def own_text(document) -> str:
    """The page's text in its own language: elements marked as another language (the language switcher's
    names, a Russian original's words) are left out."""
    for element in document.xpath("//body//*[@lang][@lang != 'kk-Latn']"):
        element.drop_tree()
    return document.xpath("string(//body)") + document.xpath("string(//head/title)")


def test_latin_pages_and_feeds_carry_no_cyrillic_letter(client, db):
    release = published_in_kazakh(db)
    pages = ["/kk-latn/", f"/kk-latn/releases/{release['id']}", "/kk-latn/contact", "/kk-latn/no-such-page",
             "/kk-latn/search?q=Senat"]
    for url in pages:
        response = client.get(url, follow_redirects=True)
        assert response.status_code in (200, 404), url
        text = own_text(html.fromstring(response.data))
        assert not CYRILLIC.search(text), (url, CYRILLIC.findall(text))
    page = client.get(f"/kk-latn/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert kazakh_latin_text(KK_TITLE) in page and "Senatynyñ otyrysy öttı." in page
    assert kazakh_latin_text("Қазақша аударманың 2021 жылғы латын әліпбиіндегі транслитерациясы.") in page
    for fmt in ("rss", "atom", "json"):
        feed = client.get(f"/kk-latn/feed.{fmt}").get_data(as_text=True)
        assert kazakh_latin_text(KK_TITLE) in feed and not CYRILLIC.search(feed), fmt


def test_the_interface_speaks_the_kazakh_catalogue_in_latin_letters(client, db):
    published_in_kazakh(db)
    kazakh = html.fromstring(client.get("/kk/").data)
    latin = html.fromstring(client.get("/kk-latn/").data)
    assert latin.get("lang") == "kk-Latn"
    assert latin.findtext(".//h1") == kazakh_latin_text(kazakh.findtext(".//h1")) == "Baspasöz relizderı"
    assert latin.xpath("string(//time)") == kazakh_latin_text(kazakh.xpath("string(//time)"))
    assert latin.xpath("//nav[@class='languages']/strong")[0].text == "Qazaqşa"


def test_kazakh_and_latin_pages_and_sitemaps_name_each_other(client, db):
    release = published_in_kazakh(db, published_at=clock.now())  # new enough for the news sitemap
    for lang, other, tag in (("kk", "kk-latn", "kk-Latn"), ("kk-latn", "kk", "kk")):
        for url in (f"/{lang}/", f"/{lang}/releases/{release['id']}"):
            document = html.fromstring(client.get(url, follow_redirects=True).data)
            alternates = {link.get("hreflang"): link.get("href") for link in document.xpath("//link[@hreflang]")}
            assert alternates[tag].startswith(f"http://localhost/{other}/"), (url, alternates)
    sitemaps = sitemap_urls(client)
    latin_page = next(loc for loc in sitemaps["kk-latn"] if "/releases/" in loc)
    kazakh_page = next(loc for loc in sitemaps["kk"] if "/releases/" in loc)
    assert sitemaps["kk-latn"][latin_page]["alternates"]["kk"] == kazakh_page
    assert sitemaps["kk"][kazakh_page]["alternates"]["kk-Latn"] == latin_page
    news = etree.fromstring(client.get("/sitemaps/kk-latn-news.xml").data)
    assert news.xpath("//s:loc/text()", namespaces=NS) == [latin_page]


def test_latin_feed_entries_have_their_own_ids(app, client, db):
    app.config["FEED_ARCHIVE_ITEMS"] = 1  # the one release fills archive page 1
    published_in_kazakh(db)

    def ids(path):
        """The entry ids of an Atom document."""
        return etree.fromstring(client.get(path).data).xpath("//a:entry/a:id/text()", namespaces={"a": ATOM[1:-1]})

    kazakh, latin = ids("/kk/feed.atom"), ids("/kk-latn/feed.atom")
    assert len(latin) == 1 and not set(latin) & set(kazakh)
    assert json.loads(client.get("/kk-latn/feed.json").data)["items"][0]["id"] == latin[0]
    assert ids("/kk-latn/archive/1.atom") == latin  # the RFC 5005 archive page: the same entries


def test_a_withdrawn_release_answers_410_in_latin_letters(client, db):
    release = published_in_kazakh(db)
    releases.set_status(db, release["id"], "withdrawn", languages=TARGETS, reason="Ошибка в тексте")
    page = html.fromstring(client.get(f"/kk-latn/releases/{release['id']}").data)
    assert page.get("lang") == "kk-Latn" and page.findtext(".//h1") == "Reliz kerı qaitaryp alyndy"
    assert page.xpath("string(//dd[@lang='kk-Latn'])") == kazakh_latin_text(KK_TITLE)
    assert not CYRILLIC.search(own_text(page))  # the reason is the Russian original's, marked lang="ru"


def test_a_held_kazakh_translation_is_not_shown_in_latin_either(client, db):
    release = published_in_kazakh(db, hold=True)
    assert b"/kk-latn/releases/" not in client.get("/kk-latn/").data
    assert b"<entry>" not in client.get("/kk-latn/feed.atom").data
    page = client.get(f"/kk-latn/releases/{release['id']}", follow_redirects=True)
    assert page.status_code == 200 and "Спикер Сената" in page.get_data(as_text=True)  # the original, as on /kk/
    assert kazakh_latin_text(KK_TITLE).encode() not in page.data


@pytest.mark.parametrize(("lang", "query"), (("kk-latn", "hatşylarymen"), ("kk-latn", "хатшыларымен"),
                                             ("kk-latn", "Senat"), ("kk", "hatşylarymen"), ("kk", "Сенат")))
def test_search_finds_a_kazakh_release_by_a_word_in_either_script(client, db, lang, query):
    release = published_in_kazakh(db)
    document = html.fromstring(client.get(f"/{lang}/search", query_string={"q": query}).data)
    links = document.xpath("//article[@class='card']//h2/a/@href")
    assert links and links[0].startswith(f"/{lang}/releases/{release['id']}-")
    shown = document.xpath("string(//article[@class='card']//h2)").strip()
    assert shown == (kazakh_latin_text(KK_TITLE) if lang == "kk-latn" else KK_TITLE)


def test_websub_pings_for_kazakh_announce_the_latin_feeds_too(app):
    announced = topics(create_app({**app.config, "SITE_URL": SITE}))
    assert f"{SITE}/kk-latn/feed.atom" in announced["kk"]
    assert "kk-latn" not in announced


def test_the_setting_turns_the_edition_off(tmp_path):
    app = app_with_settings(tmp_path, KAZAKH_LATIN_EDITION=False)
    db = connect(app.config["DATABASE"])
    release = published_in_kazakh(db)
    db.close()
    client = app.test_client()
    for url in ("/kk-latn/", "/kk-latn/feed.atom", f"/kk-latn/releases/{release['id']}", "/sitemaps/kk-latn-1.xml"):
        assert client.get(url).status_code == 404, url
    assert b"kk-latn" not in client.get("/sitemap.xml").data
    assert b"kk-Latn" not in client.get(f"/kk/releases/{release['id']}", follow_redirects=True).data


def test_a_reader_subscribes_to_the_latin_atom_feed_in_newsboat(app, db, tmp_path):
    if not os.access(NEWSBOAT, os.X_OK):
        missing_program(f"{NEWSBOAT} is missing", "newsboat")
    published_in_kazakh(db)
    published_in_kazakh(db, "Сенат заңды қабылдады", "Депутаттар заңды қабылдады.")
    with served(app) as url:
        assert unread(tmp_path / "latin", [f"{url}/kk-latn/feed.atom"]) == "2 unread articles"
        # Its own entries: beside the Kazakh feed nothing is taken for the same article.
        assert unread(tmp_path / "both", [f"{url}/kk/feed.atom", f"{url}/kk-latn/feed.atom"]) == "4 unread articles"


@pytest.mark.browser
def test_a_reader_reads_the_latin_edition_in_chromium(live_app, chrome, tmp_path):
    db = connect(live_app.config["DATABASE"])
    release = published_in_kazakh(db)
    db.close()
    page = Page(chrome, live_app.config["LIVE_URL"])
    page.open("/kk-latn/")
    assert page.find("h1").text == "Baspasöz relizderı"
    chrome.save_screenshot(str(tmp_path / "kk-latn-index.png"))
    page.open(f"/kk-latn/releases/{release['id']}")
    assert page.find("article.release h1").text == kazakh_latin_text(KK_TITLE)
    assert "transliteratsiasy" in page.find("article.release .notice").text
    assert not CYRILLIC.search(page.find("article.release").text)
    chrome.save_screenshot(str(tmp_path / "kk-latn-release.png"))


def test_a_word_one_letter_away_is_offered_in_latin_letters(db):
    published_in_kazakh(db)
    results = search.find(db, "kk-latn", "hatşylarymem")  # one letter wrong: the index's word, written in Latin
    assert results.total == 1 and results.similar == ["hatşylarymen"]
    assert search.find(db, "kk", "хатшыларымем").similar == ["хатшыларымен"]
