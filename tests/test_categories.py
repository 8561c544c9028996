"""Categories as a managed list (issue 25): the admin's list, the form's choice, the CMS API and the importer
refusing unknown names, the office's feed adding them, and each category's pages and feeds in every language."""

import json
import re
from datetime import UTC
from datetime import datetime

import feedparser
import pytest
from lxml import etree

from feedsvc import categories
from feedsvc import jobs
from feedsvc import migrations
from feedsvc import releases
from feedsvc.editorial import review
from feedsvc.storage import connect
from tests.helpers import TARGETS
from tests.helpers import Page
from tests.helpers import atom_updated
from tests.helpers import csrf_token
from tests.helpers import json_feed
from tests.helpers import make_release
from tests.helpers import translate_all

LANGS = ("ru", "kk", "en")
FORMATS = ("rss", "atom", "json")


def triggers(db, table: str) -> set[str]:
    """The names of the triggers on ``table``."""
    return {row[0] for row in db.execute("select name from sqlite_master where type = 'trigger' and tbl_name = ?",
                                         [table])}


def test_the_migration_lists_free_text_categories_with_ascii_slugs_and_keeps_every_trigger(tmp_path):
    db = connect(str(tmp_path / "old.db"))
    migrations.migrations.apply(db, stop_before="m033_categories_managed_list")
    ids = [make_release(db, title=f"Релиз {n}")["id"] for n in range(4)]
    for release_id, name in zip(ids, ("Экономика", "Экономика", "экономика", "Пленарные заседания"), strict=True):
        db.execute("update releases set category = ? where id = ?", [name, release_id])
    db.execute("update translations set published_category = 'Экономика kk' where release_id = ? and lang = 'kk'",
               [ids[0]])
    before = triggers(db, "releases")
    migrations.migrate(db)
    assert triggers(db, "releases") >= before  # the column was added without rebuilding the table
    assert {"bump_categories_insert", "bump_categories_update", "bump_categories_delete"} <= triggers(db, "categories")
    listed = {c.name: c for c in categories.all_categories(db)}
    assert {name: c.slug for name, c in listed.items()} == {
        "Пленарные заседания": "plenarnye-zasedaniia", "Экономика": "ekonomika", "экономика": "ekonomika-2"}
    assert (listed["Экономика"].name_in("kk"), listed["Экономика"].reviewed["kk"]) == ("Экономика kk", False)
    rows = {row["id"]: row["category_id"] for row in db.query("select id, category_id from releases")}
    assert [rows[i] for i in ids] == [listed[n].id for n in ("Экономика", "Экономика", "экономика",
                                                             "Пленарные заседания")]


def test_a_new_category_is_named_by_its_first_published_translation_until_an_editor_names_it(client, db):
    release = make_release(db, title="Встреча с послом", category="Дипломатия")  # a name not on the list: added
    assert categories.find(db, "Дипломатия").name_in("en") == ""
    while job := jobs.claim(db):
        machine = {"kk": "Дипломатия kk", "en": "Diplomacy"}[job["lang"]]
        assert jobs.complete(db, job, {"title": "Meeting", "body": "Text.", "category": machine, "route": "test"})
    made = categories.find(db, "Дипломатия")
    assert (made.name_in("en"), made.reviewed["en"], made.name_in("kk")) == ("Diplomacy", False, "Дипломатия kk")
    assert "Diplomacy" in client.get(f"/en/category/{made.slug}/").get_data(as_text=True)
    row = releases.translations_of(db, release["id"])["kk"]  # an editor corrects one release's Kazakh category
    review.save_human(db, release["id"], "kk", row["title"], row["body"], author="editor",
                      expected_version=row["version"], source_revision=row["source_revision"],
                      category="Дипломатия", learn=False)
    made = categories.find(db, "Дипломатия")
    assert (made.name_in("kk"), made.reviewed["kk"]) == ("Дипломатия", True)  # an editor's name: reviewed
    categories.rename(db, made.id, {"en": "Diplomatic relations"}, {"en": True})
    releases.update_release(db, release["id"], {"title": "Встреча с послом Франции"}, languages=TARGETS)
    while job := jobs.claim(db):
        assert jobs.complete(db, job, {"title": "Meeting", "body": "Text.", "category": "Diplomacy", "route": "test"})
    assert categories.find(db, "Дипломатия").name_in("en") == "Diplomatic relations"  # an editor's name stays


def test_renaming_a_category_bumps_the_change_counter(db):
    category = categories.add(db, "Законы")
    version = releases.site_state(db)["version"]
    categories.rename(db, category.id, {"en": "Laws"}, {})
    assert releases.site_state(db)["version"] > version


def admin_post(client, url: str, form_url: str, **data):
    """Post an admin form the way a browser does (with the page's CSRF token)."""
    return client.post(url, data={"csrf_token": csrf_token(client, form_url), **data}, follow_redirects=True)


def test_staff_add_rename_merge_and_cannot_delete_a_category_in_use(logged_in, db):
    page = admin_post(logged_in, "/admin/categories/", "/admin/categories/", name_ru="Законы", name_en="Laws")
    assert page.status_code == 200 and "Законы" in page.get_data(as_text=True)
    laws = categories.find(db, "Законы")
    assert (laws.slug, laws.name_in("en"), laws.reviewed["en"], laws.name_in("kk")) == ("zakony", "Laws", True, "")
    again = admin_post(logged_in, "/admin/categories/", "/admin/categories/", name_ru="Законы")
    assert again.status_code == 400 and "exists already" in again.get_data(as_text=True)

    typo = categories.add(db, "Закноы")
    release = make_release(db, category="Закноы")
    edit_url = f"/admin/categories/{typo.id}"
    refused = admin_post(logged_in, f"{edit_url}/delete", edit_url)
    assert "is used by 1 releases" in refused.get_data(as_text=True) and categories.find(db, "Закноы")
    merged = admin_post(logged_in, f"{edit_url}/merge", edit_url, into=str(laws.id))
    assert "was merged into" in merged.get_data(as_text=True) and categories.find(db, "Закноы") is None
    stored = releases.get_release(db, release["id"])
    assert (stored["category_id"], stored["category"]) == (laws.id, "Законы")

    laws_url = f"/admin/categories/{laws.id}"
    admin_post(logged_in, laws_url, laws_url, name_ru="Законодательство", name_kk="Заңнама", name_en="Laws")
    renamed = categories.get(db, laws.id)
    assert (renamed.name, renamed.slug, renamed.name_in("kk"), renamed.reviewed["kk"]) == (
        "Законодательство", "zakony", "Заңнама", True)  # the URL stays
    assert releases.get_release(db, release["id"])["category"] == "Законодательство"
    empty = categories.add(db, "Пустая")
    gone = admin_post(logged_in, f"/admin/categories/{empty.id}/delete", f"/admin/categories/{empty.id}")
    assert "deleted" in gone.get_data(as_text=True) and categories.find(db, "Пустая") is None


def test_the_release_form_offers_the_list_and_refuses_a_name_not_on_it(logged_in, db):
    categories.add(db, "Встречи")
    form = logged_in.get("/admin/releases/new").get_data(as_text=True)
    assert re.search(r'<select[^>]*name="category"', form) and '<option value="Встречи">Встречи</option>' in form
    data = {"title": "Заголовок", "body": "Текст.", "category": "Вcтречи", "save_draft": "1",  # a Latin c
            "csrf_token": csrf_token(logged_in, "/admin/releases/new")}
    refused = logged_in.post("/admin/releases/new", data=data)
    assert refused.status_code == 400 and "Unknown category" in refused.get_data(as_text=True)
    assert releases.count_all(db) == 0
    saved = logged_in.post("/admin/releases/new", data=data | {"category": "Встречи"})
    assert saved.status_code == 302
    assert releases.get_release(db, 1)["category_id"] == categories.find(db, "Встречи").id


def test_the_api_refuses_an_unknown_category_as_a_problem_on_the_field(app, db):
    from feedsvc import apikeys

    _, token = apikeys.create(db, "CMS", "write")
    categories.add(db, "Законы")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    refused = client.post("/api/releases", json={"title": "Т", "body": "Текст.", "category": "Закон"}, headers=headers)
    assert refused.status_code == 400
    problem, = refused.json["errors"]
    assert problem["pointer"] == "#/category" and "Unknown category" in problem["detail"]
    created = client.post("/api/releases", json={"title": "Т", "body": "Текст.", "category": "Законы"},
                          headers=headers)
    assert created.status_code == 201 and created.json["category"] == "Законы"


def test_the_importer_refuses_an_unknown_category_in_one_line_and_files_under_a_known_one(runner, db, tmp_path):
    path = tmp_path / "release.txt"
    path.write_text("Заголовок\n\nТекст релиза.\n", encoding="utf-8")
    refused = runner.invoke(args=["import", "--category", "Закон", str(path)])
    assert refused.exit_code == 1 and "Unknown category 'Закон'" in refused.output and releases.count_all(db) == 0
    laws = categories.add(db, "Законы")
    imported = runner.invoke(args=["import", "--category", "zakony", str(path)])
    assert imported.exit_code == 0, imported.output
    assert releases.get_release(db, 1)["category_id"] == laws.id


def test_the_offices_feed_adds_a_category_it_names(db):
    release = make_release(db, category="Новости региона")  # what feedsvc.sources stores an entry through
    added = categories.find(db, "Новости региона")
    assert added is not None and release["category_id"] == added.id


def test_a_category_page_lists_its_releases_a_page_at_a_time_in_each_language(client, db, app):
    app.config.update(PAGE_SIZE=2)
    laws = categories.add(db, "Законы", {"kk": "Заңдар", "en": "Laws"})
    for n in range(3):
        make_release(db, title=f"Закон {n}", category="Законы", published_at=datetime(2026, 11, 1 + n, tzinfo=UTC))
    make_release(db, title="Встреча", category="Встречи")
    translate_all(db)
    first = client.get("/ru/category/zakony/").get_data(as_text=True)
    assert "Закон 2" in first and "Закон 1" in first and "Закон 0" not in first and "Встреча" not in first
    assert 'href="/ru/category/zakony/?page=2"' in first
    assert "Закон 0" in client.get("/ru/category/zakony/?page=2").get_data(as_text=True)
    assert client.get("/ru/category/zakony/?page=3").status_code == 404
    assert client.get("/ru/category/nope/").status_code == 404
    kazakh = client.get("/kk/category/zakony/").get_data(as_text=True)
    assert "Заңдар" in kazakh and "kk 3" in kazakh  # translated releases, the category's Kazakh name
    for lang in LANGS:
        assert f'<link rel="alternate" hreflang="{lang}" href="http://localhost/{lang}/category/zakony/">' in kazakh
    for fmt, mimetype in (("rss", "application/rss+xml"), ("atom", "application/atom+xml"),
                          ("json", "application/feed+json")):
        assert re.search(rf'<link rel="alternate" type="{re.escape(mimetype)}" title="[^"]*Заңдар" '
                         rf'href="http://localhost/kk/category/zakony/feed.{fmt}">', kazakh)
    assert laws.slug == "zakony"


def test_release_pages_and_the_index_link_the_category_page_with_its_name_in_each_language(client, db):
    categories.add(db, "Законы", {"en": "Laws"})
    release = make_release(db, category="Законы")
    translate_all(db)
    english = client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert '<a class="category" href="/en/category/zakony/" lang="en">Laws</a>' in english
    index = client.get("/ru/").get_data(as_text=True)
    assert '<a class="category" href="/ru/category/zakony/" lang="ru">Законы</a>' in index


def test_the_kazakh_latin_edition_names_a_category_in_latin_letters(client, db):
    categories.add(db, "Законы", {"kk": "Заңдар", "en": "Laws"})
    release = make_release(db, category="Законы")
    translate_all(db)
    page = client.get("/kk-latn/category/zakony/").get_data(as_text=True)
    assert "Zañdar" in page and "Заңдар" not in page
    assert '<link rel="alternate" hreflang="kk-Latn" href="http://localhost/kk-latn/category/zakony/">' in page
    release_page = client.get(f"/kk-latn/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert '<a class="category" href="/kk-latn/category/zakony/" lang="kk-Latn">Zañdar</a>' in release_page
    assert client.get("/kk-latn/category/zakony/feed.json").get_json()["title"].endswith(": Zañdar")


def test_search_filters_by_a_category_chosen_by_its_name_in_the_page_language(client, db):
    categories.add(db, "Законы", {"en": "Laws"})
    make_release(db, title="Сенат принял закон", category="Законы")
    make_release(db, title="Сенат провёл встречу", category="Встречи")
    page = client.get("/ru/search", query_string={"q": "Сенат", "category": "Законы"}).get_data(as_text=True)
    assert "принял закон" in page and "провёл встречу" not in page
    english = client.get("/en/search", query_string={"q": "Senate"}).get_data(as_text=True)
    assert '<option value="Законы">Laws</option>' in english


@pytest.mark.parametrize("lang", LANGS)
def test_category_feeds_are_valid_with_their_own_ids_and_only_the_categorys_releases(client, db, lang):
    categories.add(db, "Законы", {"kk": "Заңдар", "en": "Laws"})
    for n in range(3):
        make_release(db, title=f"Закон {n}", category="Законы", published_at=datetime(2026, 11, 1 + n, tzinfo=UTC))
    make_release(db, title="Встреча", category="Встречи")
    translate_all(db)  # translations stored within microseconds: atom:updated must still differ
    base = f"http://localhost/{lang}/category/zakony/feed"
    site_ids = set()
    for fmt in ("rss", "atom"):
        response = client.get(f"/{lang}/category/zakony/feed.{fmt}")
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) == 3 and parsed.feed.language == lang
        links = {(link.rel, link.get("hreflang")): link.href for link in parsed.feed.links}
        assert links[("self", None)] == f"{base}.{fmt}"
        assert {links[("alternate", other)] for other in LANGS if other != lang} == {
            f"http://localhost/{other}/category/zakony/feed.{fmt}" for other in LANGS if other != lang}
        assert not any(rel == "hub" for rel, _ in links)  # hubs are told only of the site's feeds
        site_ids.add(feedparser.parse(client.get(f"/{lang}/feed.{fmt}").data).feed.get("id"))
        if fmt == "atom":
            assert parsed.feed.id == f"{base}.atom" and parsed.feed.id not in site_ids
            updated = atom_updated(response.data)
            assert len(updated) == len(set(updated))
            assert etree.fromstring(response.data).findtext("{http://www.w3.org/2005/Atom}title").endswith(
                {"ru": "Законы", "kk": "Заңдар", "en": "Laws"}[lang])
    document = json_feed(client, f"/{lang}/category/zakony/feed.json")
    assert document["feed_url"] == f"{base}.json" and len(document["items"]) == 3
    assert document["home_page_url"] == f"http://localhost/{lang}/category/zakony/"
    assert client.get(f"/{lang}/category/nope/feed.rss").status_code == 404


def test_a_category_feed_is_cached_and_a_rename_is_a_new_document(client, db):
    category = categories.add(db, "Законы")
    make_release(db, category="Законы")
    first = client.get("/ru/category/zakony/feed.atom")
    assert client.get("/ru/category/zakony/feed.atom", headers={"If-None-Match": first.headers["ETag"]}
                      ).status_code == 304
    categories.rename(db, category.id, {"ru": "Законодательство"}, {})
    again = client.get("/ru/category/zakony/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 200 and "Законодательство" in again.get_data(as_text=True)
    assert json.loads(client.get("/ru/category/zakony/feed.json").data)["title"].endswith("Законодательство")


@pytest.mark.browser
def test_an_editor_adds_a_category_and_files_a_release_under_it_in_chromium(live_app, chrome, tmp_path):
    page = Page(chrome, live_app.config["LIVE_URL"])
    page.log_in()
    page.open("/admin/categories/")
    page.type("name_ru", "Пленарные заседания")
    page.type("name_kk", "Пленарлық отырыстар")
    page.type("name_en", "Plenary sessions")
    page.submit_with("submit")
    assert page.find(".flash.success").is_displayed()
    row = page.find("table.categories tbody tr")
    assert "Пленарные заседания" in row.text and "/plenarnye-zasedaniia/" in row.text
    chrome.save_screenshot(str(tmp_path / "admin-categories.png"))

    page.open("/admin/releases/new")
    page.type("title", "Сенат провёл пленарное заседание")
    page.fill_body("Депутаты рассмотрели законы.")
    page.choose("category", "Пленарные заседания")
    page.submit_with("publish")
    assert "/edit" in page.path(), page.find("main").text

    page.open("/ru/")
    page.find("article.card a.category").click()
    assert page.path() == "/ru/category/plenarnye-zasedaniia/"
    assert page.find("article.card h2 a").text == "Сенат провёл пленарное заседание"
    assert page.severe_console_errors() == []
    chrome.save_screenshot(str(tmp_path / "category-page.png"))
