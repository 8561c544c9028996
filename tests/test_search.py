"""Search that understands word forms: the stemmers and name keys, and the search page on the demo data."""

import json
import re
from datetime import UTC
from datetime import datetime

import pytest

from feedsvc import releases
from feedsvc import search
from feedsvc.demo import DEMO_DIR
from feedsvc.migrations import migrations
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.text import stemming
from feedsvc.translation import worker
from tests.helpers import TARGETS
from tests.helpers import make_release
from tests.helpers import translate_all
from tests.helpers import translate_by_hand


@pytest.mark.parametrize(("form", "stem"), [
    ("Сенат", "сенат"), ("Сенаты", "сенат"), ("Сенатты", "сенат"), ("Сенатының", "сенат"), ("Сенатқа", "сенат"),
    ("Сенатта", "сенат"), ("Сенатына", "сенат"), ("Сенатпен", "сенат"), ("Депутаттарының", "депутат"),
    ("депутаттар", "депутат"), ("сенаторлар", "сенатор"), ("Парламенті", "парламент"),
    ("Парламентінің", "парламент"), ("Мәжілісінде", "мәжіліс"), ("Қазақстанда", "қазақстан"),
    ("Қазақстанның", "қазақстан"), ("Қазақстаннан", "қазақстан"), ("Астана", "астана"), ("Астанада", "астана"),
    ("Астанадағы", "астана"), ("Астананы", "астана"), ("заң", "заң"), ("заңды", "заң"), ("заңға", "заң"),
    ("заңын", "заң"), ("Әшімбаевтың", "әшімбаев"), ("Ашимбаевқа", "ашимбаев"), ("отырысы", "отырыс"),
    ("отырысында", "отырыс"), ("үшін", "үшін"),
])
def test_kazakh_stemmer_gives_word_forms_one_stem(form, stem):
    assert stemming.kazakh_stem(form) == stem


@pytest.mark.parametrize(("lang", "forms"), [
    ("ru", ("закон", "закона", "законы", "законов")), ("ru", ("сенаторы", "сенатора", "сенатор")),
    ("en", ("senator", "senators")), ("en", ("law", "laws")), ("kk", ("Сенат", "Сенатының", "Сенатқа")),
])
def test_snowball_and_kazakh_stems_join_forms(lang, forms):
    assert len({stemming.stem(form, lang) for form in forms}) == 1


def test_name_keys_are_one_for_every_spelling_of_a_name():
    assert {stemming.name_key(name) for name in ("Ашимбаев", "Ashimbaev", "Ashimbayev", "Әшімбаев",
                                                 "Ашимбаева")} == {"asmbv"}
    assert stemming.name_key("закон") == stemming.name_key("Ким") == stemming.NO_NAME  # not names


def test_index_columns_have_one_token_per_word_of_the_text():
    for item in json.loads((DEMO_DIR / "releases.json").read_text(encoding="utf-8")):
        words = stemming.TOKEN.findall(item["body"])
        assert len(stemming.TOKEN.findall(stemming.index_stems(item["body"], "ru"))) == len(words)
        assert len(stemming.TOKEN.findall(stemming.index_names(item["body"]))) == len(words)
    assert stemming.index_stems(None, "kk") is None and stemming.index_names(None) is None


@pytest.mark.parametrize(("query", "words"), [
    ('Сенат* "закон"', [("Сенат", True), ("закон", False)]),
    ('NEAR(a b) OR c* AND ^d - e : f {title}: "x', [("NEAR", False), ("a", False), ("b", False), ("OR", False),
                                                   ("c", True), ("AND", False), ("d", False), ("e", False),
                                                   ("f", False), ("title", False), ("x", False)]),
    ("* ** ' \" () \x00 _", []),
])
def test_a_query_is_only_words_and_prefixes(query, words):
    assert [(word.text, word.prefix) for word in search.parse(query)] == words


def test_marked_words_are_counted_as_fts5_cuts_the_text():
    assert search.marked_words("Сенат, \x01принял\x02 закон «о \x01развитии местного\x02»") == {1, 4, 5}


def test_a_snippet_is_the_words_around_the_first_match():
    body = " ".join(f"w{n}" for n in range(100))
    pieces = search.snippet(body, {60, 62})
    assert "".join(text for text, _ in pieces) == "… " + " ".join(f"w{n}" for n in range(52, 82)) + " …"
    assert [text for text, mark in pieces if mark] == ["w60", "w62"]
    assert search.snippet("Сенат принял закон.", set()) == [("Сенат принял закон.", False)]


@pytest.fixture
def demo(app, db, engine, models, terms):
    """The demo releases and glossary, translated into Kazakh and English by the demo models through the real worker."""
    for item in json.loads((DEMO_DIR / "releases.json").read_text(encoding="utf-8")):
        releases.create_release(db, title=item["title"], body=item["body"], category=item.get("category", ""),
                                published_at=datetime.fromisoformat(item["published"]), publish=True, languages=TARGETS)
    settings = WorkerSettings(models_dir=app.config["MODELS_DIR"], publish_policy={"kk": "auto", "en": "auto"})
    assert worker.run(db, engine.translate, settings, once=True) == 8
    return db


def found(client, lang, query) -> list[int]:
    """The ids of the releases a search page lists, in its order."""
    html = client.get(f"/{lang}/search", query_string={"q": query}).get_data(as_text=True)
    return [int(n) for n in re.findall(rf'<h2><a href="/{lang}/releases/(\d+)-', html)]


@pytest.mark.parametrize(("lang", "query", "exact", "forms"), [
    ("ru", "закона", [1], [1, 4]),  # «закон» in both, «закона» in the first only
    ("en", "senator", [], [1, 2, 3, 4]),  # "senators" in 4 and 1, "Senate" (Snowball: senat) in all
    ("ru", "Ашимбаева", [1], [1, 2, 3, 4]),  # «Ашимбаев» in the others
    ("kk", "Сенаттың", [], [1, 2, 3, 4]),
])
def test_a_word_finds_its_other_forms_after_its_own(client, demo, lang, query, exact, forms):
    ids = found(client, lang, query)
    assert sorted(ids) == forms
    assert sorted(ids[:len(exact)]) == exact


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_a_name_is_found_in_any_spelling_in_every_language(client, demo, lang):
    every = [sorted(found(client, lang, name)) for name in ("Ashimbaev", "Ashimbayev", "Ашимбаев", "Әшімбаев")]
    assert every == [[1, 2, 3, 4]] * 4


@pytest.mark.parametrize(("lang", "query"), [("ru", "Сенат*"), ("en", "Senat*"), ("kk", "Сенат*")])
def test_a_trailing_star_is_a_prefix_query(client, demo, lang, query):
    assert sorted(found(client, lang, query)) == [1, 2, 3, 4]
    assert found(client, lang, query.rstrip("*") + "x*") == []


def test_results_show_the_matches_marked_in_the_page_language(client, demo):
    html = client.get("/kk/search", query_string={"q": "Ashimbaev"}).get_data(as_text=True)
    assert "<mark>Әшімбаев</mark>" in html
    html = client.get("/en/search", query_string={"q": "закон"}).get_data(as_text=True)
    assert "<mark>" not in html  # the English page searches English text
    html = client.get("/ru/search", query_string={"q": "закона"}).get_data(as_text=True)
    assert "<mark>закон</mark> о развитии" in html and "Закон о государственных <mark>закупках</mark>" not in html


def test_marked_text_is_escaped(client, db):
    make_release(db, title="<script>alert(1)</script> и <b>закон</b>", body="<img src=x onerror=alert(1)> закона")
    html = client.get("/ru/search", query_string={"q": "закон alert"}).get_data(as_text=True)
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; и &lt;b&gt;<mark>закон</mark>&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=<mark>alert</mark>(1)&gt; <mark>закона</mark>" in html


@pytest.mark.parametrize("query", ['"', "*", "Сенат**", "NEAR(Сенат закон, 2)", "{title}: x", "title:x", "^Сенат",
                                   "Сенат AND OR NOT", "(((", "a" * 200, "Сенат* -закон", "😀*", "_*_"])
@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_fts5_syntax_in_a_query_is_harmless(client, demo, lang, query):
    assert client.get(f"/{lang}/search", query_string={"q": query}).status_code == 200


def test_the_index_follows_every_write(client, db):
    release = make_release(db, title="Сенаторы обсудили бюджет", body="Текст.")
    translate_by_hand(db, release, "en", "Senators discussed the budget", "Text.")
    assert found(client, "ru", "бюджета") == found(client, "en", "senator") == [release["id"]]
    releases.update_release(db, release["id"], {"title": "Сенаторы обсудили налоги"}, languages=TARGETS)
    assert found(client, "ru", "бюджета") == [] and found(client, "ru", "налогов") == [release["id"]]
    releases.set_status(db, release["id"], "withdrawn", languages=TARGETS)
    assert found(client, "ru", "налогов") == []


def test_the_migration_indexes_existing_texts(tmp_path):
    db = connect(str(tmp_path / "old.db"))
    migrations.apply(db, stop_before="m015_search_stems")
    release = make_release(db, title="Маулен Ашимбаев встретился с сенаторами")
    migrations.apply(db)
    hits = search.find(db, "ru", "Ashimbayev сенатор").hits
    assert [(hit.release.id, hit.tier) for hit in hits] == [(release["id"], 2)]
    assert ("Ашимбаев", True) in hits[0].title and ("сенаторами", True) in hits[0].title


def search_page(client, lang="en", **args):
    """A search page's response."""
    return client.get(f"/{lang}/search", query_string=args)


def listed(response, lang="en") -> list[int]:
    """The release ids a search page lists, in its order."""
    return [int(n) for n in re.findall(rf'<h2><a href="/{lang}/releases/(\d+)-', response.get_data(as_text=True))]


def test_results_come_a_page_at_a_time_with_their_total_and_page_links(client, db):
    ids = [make_release(db, title=f"Ашимбаев встретился с делегацией {n}", published_at=datetime(
        2026, 1, 1 + n % 28, n % 24, tzinfo=UTC))["id"] for n in range(45)]
    pages = [search_page(client, "ru", q="Ашимбаев", page=str(page)) for page in (1, 2, 3)]
    assert [len(listed(page, "ru")) for page in pages] == [20, 20, 5]
    assert sorted(sum((listed(page, "ru") for page in pages), [])) == ids  # every match once, none lost
    html = pages[0].get_data(as_text=True)
    assert "45" in html and 'href="/ru/search?q=%D0%90' in html and "page=3" in html and "page=4" not in html
    assert search_page(client, "ru", q="Ашимбаев", page="4").status_code == 404
    assert search.find(db, "ru", "Ашимбаев", page=2, size=20).total == 45


def test_a_common_words_matches_are_counted_up_to_a_limit_and_every_one_is_paged_to(app, client, db, monkeypatch):
    for n in range(5):
        make_release(db, title=f"Ашимбаев встретился с делегацией {n}")
    monkeypatch.setattr(search, "MAX_TOTAL", 3)
    found = search.find(db, "ru", "Ашимбаев", size=2)
    assert (found.total, found.more, found.pages, len(found.hits)) == (3, True, 2, 2)
    exact = search.find(db, "ru", "делегацией 4", size=2)
    assert (exact.total, exact.more) == (1, False)
    html = search_page(client, "ru", q="Ашимбаев").get_data(as_text=True)
    assert "По запросу «Ашимбаев» найдено более 3 релизов" in html
    app.config.update(PAGE_SIZE=2)
    for sort in ("relevance", "date"):  # past the counted matches, pages go on to the last match
        pages = [search_page(client, "ru", q="Ашимбаев", sort=sort, page=str(page)) for page in (1, 2, 3)]
        assert [len(listed(page, "ru")) for page in pages] == [2, 2, 1], sort
        assert len({n for page in pages for n in listed(page, "ru")}) == 5, sort  # every match once
        assert 'rel="next"' in pages[1].get_data(as_text=True) and 'rel="next"' not in pages[2].get_data(as_text=True)
        assert search_page(client, "ru", q="Ашимбаев", sort=sort, page="4").status_code == 404
    assert "найден 1 релиз" in search_page(client, "ru", q="делегацией 4").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_common_words_newest_matches_are_walked_to_in_publication_order_with_the_filters(db, monkeypatch, lang):
    made = [make_release(db, title=f"Ашимбаев встретился с делегацией {n}", category="Встречи" if n % 2 else "Законы",
                         published_at=datetime(2026, 1, 1 + (n * 7) % 28, tzinfo=UTC)) for n in range(9)]
    translate_all(db)  # English titles "en <id>", bodies "Text."
    word = "Ашимбаев" if lang == "ru" else "Text"

    def listed_ids(sort: str, **filters) -> list[int]:
        """Every match, page after page of 2 (the pages go on while a match follows)."""
        found, page = [], 1
        while True:
            results = search.find(db, lang, word, page=page, size=2, sort=sort, filters=search.SearchFilter(**filters))
            found += [hit.release.id for hit in results.hits]
            if not results.further:
                return found
            page += 1

    def newest_first(releases_made) -> list[int]:
        """Ids by publication time, newest first (ties: the higher id)."""
        return [r["id"] for r in sorted(releases_made, key=lambda r: (r["published_at"], r["id"]), reverse=True)]

    exact = listed_ids("date")
    monkeypatch.setattr(search, "MAX_TOTAL", 3)  # now a common word: walked, not sorted
    monkeypatch.setattr(search, "RANK_WINDOW", 2)  # relevance ranks 2, then walks past them
    assert listed_ids("date") == exact == newest_first(made)
    assert sorted(listed_ids("relevance")) == sorted(exact)
    assert listed_ids("date", category="Встречи") == newest_first([r for r in made if r["category"] == "Встречи"])


def test_results_sort_by_relevance_or_date_and_filter_by_category_and_dates(client, db):
    old = make_release(db, title="Бюджет бюджет бюджет", body="Бюджет.", category="Бюджет",
                       published_at=datetime(2026, 3, 1, 6, tzinfo=UTC))
    new = make_release(db, title="Заседание Сената", body="Обсудили бюджет.", category="Заседания",
                       published_at=datetime(2026, 9, 1, 6, tzinfo=UTC))
    assert listed(search_page(client, "ru", q="бюджет"), "ru") == [old["id"], new["id"]]
    assert listed(search_page(client, "ru", q="бюджет", sort="date"), "ru") == [new["id"], old["id"]]
    assert listed(search_page(client, "ru", q="бюджет", category="Заседания"), "ru") == [new["id"]]
    assert listed(search_page(client, "ru", q="бюджет", since="2026-06-01"), "ru") == [new["id"]]
    assert listed(search_page(client, "ru", q="бюджет", until="2026-03-01"), "ru") == [old["id"]]  # the day included
    assert search_page(client, "ru", q="бюджет", sort="sideways").status_code == 400
    html = search_page(client, "ru", q="бюджет", sort="date", page="1").get_data(as_text=True)
    assert '<option selected value="date">' in html or '<option value="date" selected>' in html


@pytest.mark.parametrize(("lang", "query", "expected"), [
    ("ru", "Ашимбаеф", [1, 2, 3, 4]), ("kk", "Ашимбаеф", [1, 2, 3, 4]), ("en", "Ашимбаеф", [1, 2, 3, 4]),
    ("en", "Ashimbaef", [1, 2, 3, 4]), ("ru", "Majilis", [4]),
])
def test_a_name_with_one_letter_wrong_is_found(client, demo, lang, query, expected):
    response = search_page(client, lang, q=query)
    assert sorted(listed(response, lang)) == expected
    assert 'class="hint"' in response.get_data(as_text=True)  # the page says it searched similar words


def test_a_kazakh_latin_word_on_the_kazakh_page_needs_no_correction(client, demo):
    response = search_page(client, "kk", q="Majilis")  # the 2021 alphabet's spelling of мажилис
    assert sorted(listed(response, "kk")) == [4]
    assert 'class="hint"' not in response.get_data(as_text=True)


def test_one_letter_wrong_finds_the_english_spelling_and_no_other_word(client, db):
    release = make_release(db, title="Мажилис одобрил закон", body="Депутаты Мажилиса одобрили закон.")
    translate_by_hand(db, release, "kk", "Мәжіліс заңды мақұлдады", "Депутаттар заңды мақұлдады.")
    translate_by_hand(db, release, "en", "Mazhilis approved the law", "Deputies approved the law.")
    make_release(db, title="Маслихат собрался")
    assert listed(search_page(client, "en", q="Majilis")) == [release["id"]]
    assert listed(search_page(client, "en", q="Mazhilis")) == [release["id"]]
    assert listed(search_page(client, "en", q="Majlisx")) == []  # two letters away: nothing
    assert search.find(db, "en", "Majilis").similar == ["mazhilis"]


@pytest.mark.parametrize(("lang", "hint"), [
    ("ru", "Запрос слишком длинный"), ("kk", "Сұрау тым ұзын"), ("en", "This query is too long")])
def test_an_overlong_query_gets_the_sites_own_page_with_a_hint(client, db, lang, hint):
    response = search_page(client, lang, q="сенат " * 700)  # 4.9 KB
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert hint in html and f'<html lang="{lang}"' in html and 'class="search-options"' in html


@pytest.mark.parametrize(("lang", "hint"), [
    ("ru", "Введите слово или имя"), ("kk", "сөз немесе есім жазыңыз"), ("en", "Type a word or a name")])
@pytest.mark.parametrize("query", ["", "   ", "*** ()"])
def test_an_empty_query_gets_a_hint(client, db, lang, hint, query):
    response = search_page(client, lang, q=query)
    assert response.status_code == 200 and hint in response.get_data(as_text=True)
