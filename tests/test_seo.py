"""What search engines and link previews read: robots.txt, sitemaps with hreflang, each page's meta, canonical,
cards and JSON-LD, the favicon, responsive photos with immutable caching, and the print stylesheet."""

import io
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from PIL import Image

from feedsvc import clock
from feedsvc import photos
from feedsvc import releases
from feedsvc import sitemaps
from feedsvc.migrations import SITEMAP_WINDOWS
from feedsvc.text.editions import base_language
from tests.helpers import NS
from tests.helpers import ROOT
from tests.helpers import TARGETS
from tests.helpers import make_release
from tests.helpers import sitemap_urls
from tests.helpers import translate_by_hand
from tests.helpers import xml

LANGS = ("ru", "kk", "en")


class Head(HTMLParser):
    """The parts of a page search engines and previews read: meta tags, link tags, JSON-LD blocks, pictures."""

    def __init__(self, html: str):
        """Parse ``html`` at once."""
        super().__init__(convert_charrefs=True)
        self.meta, self.links, self.json_ld, self.tags = {}, [], [], []
        self._in_json = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        """Collect meta (by name or property), links and every tag with its attributes."""
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "meta" and ("name" in attrs or "property" in attrs):
            self.meta.setdefault(attrs.get("name") or attrs["property"], []).append(attrs["content"])
        elif tag == "link":
            self.links.append(attrs)
        self._in_json = tag == "script" and attrs.get("type") == "application/ld+json"

    def handle_data(self, data):
        """Keep the text of JSON-LD blocks."""
        if self._in_json:
            self.json_ld.append(json.loads(data))

    def handle_endtag(self, tag):
        """A script ends."""
        self._in_json = False

    def one(self, name: str) -> str:
        """The only value of a meta tag."""
        [value] = self.meta[name]
        return value

    def link(self, rel: str, **attrs) -> list[str]:
        """The hrefs of link tags with this rel (and these attributes)."""
        return [link["href"] for link in self.links if link.get("rel") == rel
                and all(link.get(k) == v for k, v in attrs.items())]


def head(client, url: str) -> Head:
    """Fetch a page (200) and parse its head."""
    response = client.get(url)
    assert response.status_code == 200, url
    return Head(response.get_data(as_text=True))


def page_url(db, release: dict, lang: str) -> str:
    """A release's absolute URL in a language (at that language's slug), as the test client's host builds it."""
    stored = releases.get_release(db, release["id"])
    view = releases.localized(stored, releases.translations_of(db, release["id"]).get(base_language(lang)), lang)
    return f"http://localhost/{lang}/releases/{release['id']}-{view.slug}"


@pytest.fixture
def site(db, set_clock):
    """Releases in every state a sitemap must tell apart, created at known times."""
    done = make_release(db, title="Сенат принял закон")
    set_clock.advance(hours=1)
    translate_by_hand(db, done, "kk", "Сенат заң қабылдады", "Сенат заңды қабылдады.")
    translate_by_hand(db, done, "en", "The Senate passed a law", "The Senate passed the law today.")
    set_clock.advance(hours=1)
    half = make_release(db, title="Депутаты обсудили бюджет")
    set_clock.advance(hours=1)
    translate_by_hand(db, half, "en", "Deputies discussed the budget", "Deputies discussed it.")
    draft = make_release(db, title="Черновик", publish=False)
    gone = make_release(db, title="Отозванный релиз")
    releases.set_status(db, gone["id"], "withdrawn", languages=TARGETS)
    return {"done": done, "half": half, "draft": draft, "gone": gone}


def test_robots_txt_points_at_the_sitemap_and_keeps_crawlers_out_of_admin(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /admin/" in lines
    assert not any("search" in line for line in lines)  # crawlers must fetch search pages to see their noindex
    assert "Sitemap: http://localhost/sitemap.xml" in lines


def test_sitemaps_list_every_readable_page_with_its_language_versions(client, db, site):
    urls = sitemap_urls(client)
    done, half = site["done"], site["half"]
    assert set(urls) == {*LANGS, "kk-latn"}  # the Kazakh Latin edition has its own sitemaps
    for lang in LANGS:  # each language: its front page, and each release readable in it
        expected = {f"http://localhost/{lang}/", page_url(db, done, lang)} | (
            {page_url(db, half, lang)} if lang != "kk" else set())  # kk of "half" is pending: not a kk page
        assert set(urls[lang]) == expected, lang
        assert urls[lang][page_url(db, done, lang)]["alternates"] == {
            **{code: page_url(db, done, code) for code in LANGS}, "kk-Latn": page_url(db, done, "kk-latn"),
            "x-default": page_url(db, done, "ru")}
        assert urls[lang][f"http://localhost/{lang}/"]["alternates"]["x-default"] == "http://localhost/ru/"
    assert urls["en"][page_url(db, half, "en")]["alternates"] == {
        "ru": page_url(db, half, "ru"), "en": page_url(db, half, "en"), "x-default": page_url(db, half, "ru")}
    every = {loc for pages in urls.values() for loc in pages}
    assert not any(str(site[name]["id"]) + "-" in loc for name in ("draft", "gone") for loc in every)


def test_news_sitemaps_list_each_languages_releases_of_the_last_two_days(client, db, site, set_clock):
    news = {"s": sitemaps.SITEMAP_NS, "n": sitemaps.NEWS_NS}
    index = xml(client, "/sitemap.xml").xpath("s:sitemap/s:loc/text()", namespaces=NS)
    assert {f"http://localhost/sitemaps/{lang}-news.xml" for lang in LANGS} <= set(index)

    def listed(lang: str) -> dict[str, tuple]:
        document = xml(client, f"/sitemaps/{lang}-news.xml")
        return {url.findtext("s:loc", namespaces=news): (
            url.findtext("n:news/n:publication/n:name", namespaces=news),
            url.findtext("n:news/n:publication/n:language", namespaces=news),
            url.findtext("n:news/n:title", namespaces=news),
            url.findtext("n:news/n:publication_date", namespaces=news)) for url in document.xpath("s:url",
                                                                                               namespaces=news)}

    done, half = site["done"], site["half"]
    ru, en, kk = listed("ru"), listed("en"), listed("kk")
    assert set(ru) == {page_url(db, done, "ru"), page_url(db, half, "ru")}  # not the draft, not the withdrawn
    assert set(en) == {page_url(db, done, "en"), page_url(db, half, "en")}
    assert set(kk) == {page_url(db, done, "kk")}  # kk of "half" is pending: not a Kazakh page
    name, lang, title, published = en[page_url(db, done, "en")]
    assert (name, lang, title) == ("Senate Press Service", "en", "The Senate passed a law")
    assert published == releases.get_release(db, done["id"])["published_at"]
    assert ru[page_url(db, done, "ru")][:3] == ("Пресс-служба Сената", "ru", "Сенат принял закон")
    fresh = make_release(db, title="Свежий релиз", published_at=clock.now())  # hours after the others
    set_clock.advance(days=2)
    assert set(listed("ru")) == {page_url(db, fresh, "ru")}  # the others aged out without a change
    etag = client.get("/sitemaps/ru-news.xml").headers["ETag"]
    set_clock.advance(hours=1)
    assert client.get("/sitemaps/ru-news.xml", headers={"If-None-Match": etag}).status_code == 200  # not 304
    assert listed("ru") == {} and listed("en") == {}


def test_sitemap_lastmod_is_when_that_languages_text_last_changed(client, db, site, set_clock):
    done, half = site["done"], site["half"]
    urls = sitemap_urls(client)
    assert urls["ru"][page_url(db, done, "ru")]["lastmod"] == "2026-11-19T12:00:00.000000+00:00"
    # The English text was translated an hour later.
    assert urls["en"][page_url(db, done, "en")]["lastmod"] == "2026-11-19T13:00:00.000000+00:00"
    assert urls["en"][page_url(db, half, "en")]["lastmod"] == "2026-11-19T15:00:00.000000+00:00"
    assert urls["en"]["http://localhost/en/"]["lastmod"] == "2026-11-19T15:00:00.000000+00:00"  # its newest page
    set_clock.set(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    releases.update_release(db, done["id"], {"category": "Законы"}, languages=TARGETS)
    urls = sitemap_urls(client)
    assert urls["ru"][page_url(db, done, "ru")]["lastmod"] == "2026-11-25T08:00:00.000000+00:00"
    index = xml(client, "/sitemap.xml")
    lastmods = index.xpath("s:sitemap/s:lastmod/text()", namespaces=NS)
    assert "2026-11-25T08:00:00.000000+00:00" in lastmods


def next_release_id(db, number: int) -> None:
    """Make the next release's id ``number`` (in a later sitemap window): a draft, no page anywhere, takes the id
    before it."""
    db.table("releases").insert({"id": number - 1, "guid": f"placeholder-{number}", "title": "Заготовка",
                                 "body": "Текст.", "status": "draft", "published_at": "2026-11-19T06:30:00+00:00"})


def test_sitemap_files_hold_fixed_windows_of_release_ids(client, db, site):
    size = sitemaps.MAX_URLS
    next_release_id(db, size + 50)
    gone = make_release(db, title="Отозванный позже")
    releases.set_status(db, gone["id"], "withdrawn", languages=TARGETS)
    next_release_id(db, 2 * size + 1)
    more = [make_release(db, title=f"Новость {number}") for number in range(2)]
    next_release_id(db, 3 * size + 1)
    more.append(make_release(db, title="Новость 2"))
    assert [release["id"] for release in more] == [2 * size + 1, 2 * size + 2, 3 * size + 1]  # windows 3 and 4
    locs = [loc for loc in xml(client, "/sitemap.xml").xpath("s:sitemap/s:loc/text()", namespaces=NS)
            if not loc.endswith("-news.xml")]
    # Window 2 holds drafts and a withdrawn release: no file; kk and en have pages in window 1 only.
    assert [loc for loc in locs if "/ru-" in loc] == [f"http://localhost/sitemaps/ru-{n}.xml" for n in (1, 3, 4)]
    assert [loc for loc in locs if "/kk-" in loc] == [f"http://localhost/sitemaps/{code}-1.xml"
                                                      for code in ("kk", "kk-latn")]
    assert [loc for loc in locs if "/en-" in loc] == ["http://localhost/sitemaps/en-1.xml"]
    sizes = [len(xml(client, f"/sitemaps/ru-{n}.xml").xpath("s:url", namespaces=NS)) for n in (1, 3, 4)]
    assert sizes == [3, 2, 1]  # file 1: the front page and ids 1-2
    for path in ("/sitemaps/ru-2.xml", "/sitemaps/ru-5.xml", "/sitemaps/kk-3.xml", "/sitemaps/de-1.xml"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/sitemaps/ru-{2**63 - 1}.xml").status_code == 404  # past any id SQLite holds


def test_a_sitemap_file_is_built_from_its_window_only(client, db, site, monkeypatch, set_clock):
    size = sitemaps.MAX_URLS
    next_release_id(db, size + 1)
    own = make_release(db, title="Релиз второго окна")
    windows_read = []
    read = releases.readable_languages
    monkeypatch.setattr(releases, "readable_languages",
                        lambda db, first, last: windows_read.append((first, last)) or read(db, first, last))
    before = client.get("/sitemaps/ru-2.xml").get_data(as_text=True)
    assert windows_read == [(size + 1, 2 * size)]
    assert page_url(db, own, "ru") in before and page_url(db, site["done"], "ru") not in before
    set_clock.advance(hours=1)
    next_release_id(db, 2 * size + 1)
    later = make_release(db, title="Новый релиз")
    releases.update_release(db, site["done"]["id"], {"category": "Законы"}, languages=TARGETS)
    assert client.get("/sitemaps/ru-2.xml").get_data(as_text=True) == before  # rebuilt (new data), the same
    assert windows_read == [(size + 1, 2 * size)] * 2
    assert page_url(db, later, "ru") in client.get("/sitemaps/ru-3.xml").get_data(as_text=True)


def test_the_index_windows_kept_by_triggers_match_the_archive_through_every_change(db, site, set_clock):
    def check() -> None:
        counted: dict[str, dict[int, str]] = {}
        for row in db.query(SITEMAP_WINDOWS.format(where=releases.VISIBLE_SQL), {"now": releases.moment()}):
            counted.setdefault(row["lang"], {})[row["number"]] = row["lastmod"]
        assert releases.readable_windows(db) == releases.with_editions(counted)  # kk-latn reads kk's windows

    check()
    next_release_id(db, sitemaps.MAX_URLS + 1)
    later = make_release(db, title="Релиз второго окна")
    set_clock.advance(hours=1)
    translate_by_hand(db, later, "kk", "Екінші терезе", "Мәтін.")
    check()
    assert 2 in releases.readable_windows(db)["kk"]
    set_clock.advance(hours=1)
    releases.update_release(db, site["done"]["id"], {"title": "Сенат принял новый закон"}, languages=TARGETS)
    check()
    releases.set_status(db, later["id"], "withdrawn", languages=TARGETS)
    check()
    assert 2 not in releases.readable_windows(db)["ru"]
    releases.set_status(db, later["id"], "published", languages=TARGETS)
    check()
    make_release(db, title="Завтрашний релиз", published_at=clock.now() + timedelta(days=1))
    next_release_id(db, 2 * sitemaps.MAX_URLS + 1)
    scheduled = make_release(db, title="Релиз третьего окна", published_at=clock.now() + timedelta(days=1))
    check()  # neither shows before its time, nor changes its window's lastmod
    assert 3 not in releases.readable_windows(db)["ru"]
    set_clock.advance(days=2)
    check()
    assert scheduled["id"] == 2 * sitemaps.MAX_URLS + 1 and 3 in releases.readable_windows(db)["ru"]
    db.execute("delete from translations where release_id = ? and lang = 'kk'", [later["id"]])
    check()


def test_pages_carry_description_canonical_and_cards(client, db, site):
    done = site["done"]
    en = head(client, page_url(db, done, "en").removeprefix("http://localhost"))
    assert en.one("description") == "The Senate passed the law today."  # the lead, in the page's language
    assert en.link("canonical") == [page_url(db, done, "en")]
    assert "robots" not in en.meta
    assert en.one("og:type") == "article" and en.one("og:title") == "The Senate passed a law"
    assert en.one("og:url") == page_url(db, done, "en") and en.one("og:locale") == "en_US"
    assert sorted(en.meta["og:locale:alternate"]) == ["kk_KZ", "ru_RU"]
    assert en.one("twitter:card") == "summary"  # no photo: the icon, as a small card
    assert en.one("og:image") == "http://localhost/static/icons/icon-512.png"
    assert en.link("icon") and en.link("apple-touch-icon") == ["/static/icons/apple-touch-icon.png"]
    for lang in LANGS:
        index = head(client, f"/{lang}/")
        assert index.link("canonical") == [f"http://localhost/{lang}/"] and "robots" not in index.meta
        assert "Senate" in head(client, "/en/").one("description")
        search = head(client, f"/{lang}/search?q=закон")
        assert search.one("robots") == "noindex, follow"
        assert search.link("canonical") == [f"http://localhost/{lang}/search?q=%D0%B7%D0%B0%D0%BA%D0%BE%D0%BD"]
    assert head(client, "/ru/").one("description") != head(client, "/kk/").one("description")


def test_pending_translation_points_to_the_original(client, db, site):
    half = site["half"]
    kk = head(client, page_url(db, half, "kk").removeprefix("http://localhost"))
    assert kk.link("canonical") == [page_url(db, half, "ru")]
    assert kk.one("og:locale") == "ru_RU" and kk.one("description") == "Первый абзац «с цитатой»."
    # a copy of the original, not a Kazakh page yet: no language versions (they belong to the canonical page)
    assert [link for link in kk.links if link.get("hreflang")] == []
    ru = head(client, page_url(db, half, "ru").removeprefix("http://localhost"))
    assert {link["hreflang"]: link["href"] for link in ru.links if link.get("hreflang")} == {
        "ru": page_url(db, half, "ru"), "en": page_url(db, half, "en"), "x-default": page_url(db, half, "ru")}
    [article] = kk.json_ld
    assert article["inLanguage"] == "ru" and article["url"] == page_url(db, half, "ru")


def test_json_ld_links_an_original_and_its_translations(client, db, site):
    done = site["done"]
    [original] = head(client, page_url(db, done, "ru").removeprefix("http://localhost")).json_ld
    assert original["@context"] == "https://schema.org" and original["@type"] == "NewsArticle"
    assert original["inLanguage"] == "ru" and original["headline"] == "Сенат принял закон"
    assert original["datePublished"] == "2026-11-19T06:30:00+00:00"
    assert original["dateModified"] == "2026-11-19T12:00:00.000000+00:00"
    assert original["publisher"]["logo"]["url"] == "http://localhost/static/icons/icon-512.png"
    assert original["publisher"]["name"].startswith("Пресс-служба Сената")
    assert {(work["inLanguage"], work["url"]) for work in original["workTranslation"]} == {
        ("kk", page_url(db, done, "kk")), ("kk-Latn", page_url(db, done, "kk-latn")), ("en", page_url(db, done, "en"))}
    assert "translationOfWork" not in original
    [english] = head(client, page_url(db, done, "en").removeprefix("http://localhost")).json_ld
    assert english["inLanguage"] == "en" and english["headline"] == "The Senate passed a law"
    assert english["publisher"]["name"].startswith("Press Service of the Senate")
    assert english["translationOfWork"] == {"@type": "NewsArticle", "@id": page_url(db, done, "ru"),
                                            "url": page_url(db, done, "ru"), "inLanguage": "ru"}
    assert english["dateModified"] == "2026-11-19T13:00:00.000000+00:00"


def test_json_ld_cannot_be_broken_out_of_by_a_title(client, db):
    title = '</script><script>alert(1)</script> <!-- "quotes" & \u2028'
    release = make_release(db, title=title)
    response = client.get(f"/ru/releases/{release['id']}", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "</script><script>" not in html
    [article] = Head(html).json_ld
    assert article["headline"] == title.strip()


def big_photo(width: int, height: int) -> bytes:
    """A JPEG of this size, with some detail so sizes differ."""
    image = Image.new("RGB", (width, height), (40, 80, 140))
    image.paste((230, 200, 60), (width // 4, height // 4, width // 2, height // 2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def store(app, data: bytes) -> dict:
    """Store an upload as the admin form does."""
    return photos.save_photo(data, app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**8)


def test_photo_sizes_are_made_once_never_upscaled_and_served_with_srcset(client, db, app):
    stored = store(app, big_photo(2400, 1500))
    sizes = photos.sizes_of(stored["photo_sizes"])
    assert [(s["width"], s["height"], s["type"]) for s in sizes] == [
        (w, h, kind) for w, h in ((480, 300), (960, 600), (1600, 1000)) for kind in ("image/webp", "image/jpeg")]
    release = make_release(db, photo=stored, photo_caption="Зал заседаний")
    page = Head(client.get(f"/ru/releases/{release['id']}", follow_redirects=True).get_data(as_text=True))
    [source] = [attrs for tag, attrs in page.tags if tag == "source"]
    [img] = [attrs for tag, attrs in page.tags if tag == "img"]
    assert source["type"] == "image/webp" and img["sizes"] == source["sizes"] == "min(800px, calc(100vw - 2rem))"
    webp = [s for s in sizes if s["type"] == "image/webp"]
    assert source["srcset"] == ", ".join(f"/media/{s['name']} {s['width']}w" for s in webp)
    assert [part.split()[1] for part in img["srcset"].split(", ")] == ["480w", "960w", "1600w"]
    assert (img["width"], img["height"], img["alt"]) == ("2400", "1500", "Зал заседаний")
    assert img["src"] == f"/media/{sizes[3]['name']}"  # the 960 px JPEG for browsers without srcset
    for size in sizes:
        response = client.get(f"/media/{size['name']}")
        assert response.status_code == 200 and response.mimetype == size["type"]
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        with Image.open(io.BytesIO(response.data)) as image:
            assert image.size == (size["width"], size["height"])
        response.close()
    card = page.one("og:image")
    assert card == f"http://localhost/media/{sizes[-1]['name']}" and page.one("og:image:width") == "1600"
    assert page.one("twitter:card") == "summary_large_image" and page.one("twitter:image") == card
    assert page.json_ld[0]["image"] == [card]
    small = photos.sizes_of(store(app, big_photo(300, 200))["photo_sizes"])
    assert [(s["width"], s["type"]) for s in small] == [(300, "image/webp"), (300, "image/jpeg")]  # not upscaled


def test_withdrawn_release_photo_and_sizes_are_not_served(client, db, app):
    stored = store(app, big_photo(1200, 800))
    release = make_release(db, photo=stored)
    names = [stored["photo"], *(s["name"] for s in photos.sizes_of(stored["photo_sizes"]))]
    for name in names:
        response = client.get(f"/media/{name}")
        assert response.status_code == 200
        response.close()
    releases.set_status(db, release["id"], "withdrawn", languages=TARGETS)
    assert [client.get(f"/media/{name}").status_code for name in names] == [404] * len(names)
    assert photos.cleanup_uploads(db, app.config["UPLOAD_FOLDER"], 0, dry_run=True) == []  # kept, not orphans


def test_photo_sizes_command_gives_older_photos_their_sizes(runner, client, db, app):
    stored = store(app, big_photo(1000, 500))
    for size in photos.sizes_of(stored.pop("photo_sizes")):  # as uploaded before sizes existed
        photos.delete_photo(app.config["UPLOAD_FOLDER"], size["name"])
    release = make_release(db, photo=stored)
    html = client.get(f"/ru/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert "srcset" not in html and f'src="/media/{stored["photo"]}"' in html  # the original, as before
    result = runner.invoke(args=["photo-sizes"])
    assert result.exit_code == 0 and "1 photo(s)" in result.output, result.output
    sizes = photos.sizes_of(releases.get_release(db, release["id"])["photo_sizes"])
    assert [s["width"] for s in sizes] == [480, 480, 960, 960, 1000, 1000]
    html = client.get(f"/ru/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert f"/media/{sizes[0]['name']} 480w" in html
    assert "0 photo(s)" in runner.invoke(args=["photo-sizes"]).output  # made once


def test_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.data == (ROOT / "feedsvc" / "web" / "static" / "icons" / "favicon.ico").read_bytes()
    response.close()


def test_print_stylesheet_hides_navigation_and_prints_the_address(client, db):
    release = make_release(db)
    html = client.get(f"/ru/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    [sheet] = [link for link in Head(html).links if link.get("media") == "print"]
    response = client.get(sheet["href"])
    css = response.get_data(as_text=True)
    response.close()
    hidden = css.split("{", 1)[0]
    for selector in ("header.site", "footer.site", "nav", "form.search"):
        assert selector in hidden
    assert f'<div class="print-only">{page_url(db, release, "ru")}</div>' in html


def test_transparent_photo_keeps_transparency_in_webp_and_lies_on_white_in_jpeg(app):
    image = Image.new("RGBA", (600, 400), (10, 20, 30, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    for size in photos.sizes_of(store(app, out.getvalue())["photo_sizes"]):
        with Image.open(f"{app.config['UPLOAD_FOLDER']}/{size['name']}") as stored:
            pixel = stored.getpixel((5, 5))
        if size["type"] == "image/jpeg":
            assert pixel == (255, 255, 255)  # white, not the colour hidden under the transparency
        else:
            assert pixel[3] == 0  # still transparent
