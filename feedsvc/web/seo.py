"""What search engines and link previews read: robots.txt, sitemaps, the favicon, and each page's own description
(meta description, canonical, OpenGraph/Twitter card, schema.org JSON-LD)."""

from datetime import datetime
from datetime import timedelta

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask import send_from_directory
from flask import url_for
from flask_babel import gettext as _

from feedsvc import clock
from feedsvc import feeds
from feedsvc import releases
from feedsvc import sitemaps
from feedsvc.text.editions import base_language
from feedsvc.text.editions import language_tag
from feedsvc.web import site_names
from feedsvc.web.cache import cached
from feedsvc.web.cache import current_state
from feedsvc.web.cache import set_last_modified
from feedsvc.web.db import get_db

bp = Blueprint("seo", __name__)
# OpenGraph locales (language_TERRITORY) of the published languages.
OG_LOCALES = {"ru": "ru_RU", "kk": "kk_KZ", "kk-latn": "kk_KZ", "en": "en_US"}
# The icon every card, publisher logo and touch icon shows (drawn by scripts/icons.py).
ICON, ICON_SIZE = "icons/icon-512.png", 512
FAVICON = "icons/favicon.ico"  # also answered at /favicon.ico
# A release's description: its lead, cut where search engines cut snippets.
DESCRIPTION_CHARS = 160
# The page column is 50rem (800 CSS px) wide, less on narrow screens; a photo is never shown wider than itself.
COLUMN_PX = 800
# Releases read per query while looking for the last two days' (news sitemaps).
NEWS_BATCH = 50


@bp.route("/robots.txt")
def robots():
    """Crawl everything public (search results say noindex themselves); the sitemap index's address."""
    # Search results are not disallowed: a crawler must fetch them to read their noindex (a disallowed URL can
    # still be indexed from links to it, without its content).
    lines = ["User-agent: *", "Disallow: /admin/"]
    lines += ["", f"Sitemap: {url_for('seo.sitemap_index', _external=True)}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.route("/favicon.ico")
def favicon():
    """The icon browsers ask for at the root (the same file as /static/icons/favicon.ico)."""
    return send_from_directory(current_app.static_folder or "", FAVICON, max_age=86400)


@bp.route("/sitemap.xml")
def sitemap_index():
    """The sitemap index: every language's sitemap files, with when each last changed."""
    def build() -> bytes:
        """The index document: which id windows hold pages of each language (a row per window, kept by triggers)."""
        windows = releases.readable_windows(get_db())
        files = [(url_for("seo.sitemap", lang=lang, number=number, _external=True), lastmod)
                 for lang in current_app.config["LANGUAGES"]
                 for number, lastmod in sitemaps.index_files(windows.get(lang, {}), front_lastmod(lang))]
        news = [(url_for("seo.news_sitemap", lang=lang, _external=True), None)
                for lang in current_app.config["LANGUAGES"]]
        return sitemaps.sitemap_index(files + news)
    return xml_response("index", build)


@bp.route("/sitemaps/<lang:lang>-news.xml")
def news_sitemap(lang: str):
    """One language's Google News sitemap: its releases of the last two days (built again every hour too, as
    releases age out of it without any change)."""
    hour = clock.now().replace(minute=0, second=0, microsecond=0)

    def build() -> bytes:
        """The news document from the newest releases readable in the language."""
        since = hour - timedelta(days=sitemaps.NEWS_DAYS)
        pages = [sitemaps.NewsPage(url_for("public.release", lang=lang, release_id=view.id, slug=view.slug,
                                           _external=True), view.title, view.published_at)
                 for view in recent_releases(lang, since)]
        return sitemaps.news_urlset(pages, site_names(lang)[0], base_language(lang))  # News takes ISO 639 codes
    return xml_response(("news", lang, hour), build, hour)


def recent_releases(lang: str, since: datetime) -> list[releases.LocalizedRelease]:
    """The releases readers of ``lang`` can read that were published since ``since``, newest first: read a page
    at a time, so a cold build costs the recent releases, not the archive."""
    found: list[releases.LocalizedRelease] = []
    translated_only = lang != current_app.config["SOURCE_LANGUAGE"]
    for offset in range(0, sitemaps.NEWS_MAX_URLS, NEWS_BATCH):
        batch = releases.list_published(get_db(), lang, limit=NEWS_BATCH, offset=offset,
                                        translated_only=translated_only)
        found += [view for view in batch if clock.parse_time(view.published_at) >= since]
        if len(batch) < NEWS_BATCH or clock.parse_time(batch[-1].published_at) < since:
            break
    return found[: sitemaps.NEWS_MAX_URLS]


@bp.route("/sitemaps/<lang:lang>-<id:number>.xml")  # one spelling per number (web.IdConverter)
def sitemap(lang: str, number: int):
    """One language's sitemap file: the releases of its id window (sitemaps.MAX_URLS ids), file 1 with the front
    page; a window without a page in the language is 404."""
    def build() -> bytes:
        """The file's document, read from its own window only (empty: no such file)."""
        ids = sitemaps.window(number)
        pages = window_pages(lang, *ids) if ids else []
        if number == 1:
            pages.insert(0, home_page(lang))
        return sitemaps.urlset(pages) if pages else b""
    return xml_response(("file", lang, number), build)


def xml_response(what, build, hour: datetime | None = None) -> Response:
    """A sitemap document built once per data change (web.cache), with validators; empty means 404. One that
    also changes with the ``hour`` (news) carries it in its ETag, and no Last-Modified (the data's time)."""
    state = current_state()
    version, body = cached(("sitemap", what), state["version"], build)  # cached() keys by host itself
    if not body:
        return Response(status=404)
    response = Response(body, mimetype="application/xml")
    response.set_etag(f"sitemap-{version}" + (f"-{hour:%Y%m%d%H}" if hour else ""))
    if hour is None:
        set_last_modified(response, state)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def window_pages(lang: str, first: int, last: int) -> list[sitemaps.Page]:
    """The pages of ``lang`` among the published releases with ids ``first``..``last``."""
    config = current_app.config
    rows = releases.readable_languages(get_db(), first, last)
    return sitemaps.release_pages(rows, config["LANGUAGES"], config["SOURCE_LANGUAGE"], release_page_url)[lang]


def release_page_url(lang: str, row: dict) -> str:
    """A release's page in a language, at the slug of that language's title (the page's canonical URL)."""
    slug = releases.slug(row["titles"][lang], lang)
    return url_for("public.release", lang=lang, release_id=row["id"], slug=slug, _external=True)


def home_url(lang: str) -> str:
    """A language's front page."""
    return url_for("public.index", lang=lang, _external=True)


def front_lastmod(lang: str) -> str | None:
    """When the front page of a language last changed: the newest change among the releases it lists."""
    return releases.newest_change(get_db(), lang, current_app.config["PAGE_SIZE"])


def home_page(lang: str) -> sitemaps.Page:
    """A language's front page as a sitemap page."""
    config = current_app.config
    return sitemaps.home_page(config["LANGUAGES"], config["SOURCE_LANGUAGE"], lang, home_url, front_lastmod(lang))


def absolute_static(filename: str) -> str:
    """An absolute URL of a static file (cards and structured data need absolute addresses)."""
    return url_for("static", filename=filename, _external=True)


def site_description(lang: str) -> str:
    """What the site is, in a language: the description of front pages and search."""
    return _("%(publisher)s: official press releases in Russian, Kazakh and English.", publisher=site_names(lang)[1])


def page_meta(lang: str, title: str, canonical: str, *, noindex: bool = False) -> dict:
    """The description of a page that is not a release (front pages, search): a website card, no article."""
    return {"title": title, "description": site_description(lang), "canonical": canonical, "noindex": noindex,
            "type": "website", "locale": OG_LOCALES.get(lang, lang), "locale_alternates": alternate_locales(lang, None),
            "image": icon_image(), "json_ld": None}


def alternate_locales(lang: str, shown: list[str] | None) -> list[str]:
    """The OpenGraph locales of the page's other language versions."""
    codes = shown if shown is not None else current_app.config["LANGUAGES"]
    own = OG_LOCALES.get(lang, lang)  # an edition shares its base's locale (OpenGraph names no script)
    return [locale for locale in dict.fromkeys(OG_LOCALES.get(code, code) for code in codes) if locale != own]


def icon_image() -> dict:
    """The site icon as a card image (pages without a photo)."""
    return {"url": absolute_static(ICON), "width": ICON_SIZE, "height": ICON_SIZE, "alt": "", "large": False}


def release_url(view: releases.LocalizedRelease, lang: str) -> str:
    """The absolute URL of the release's page in a language, at that language's slug (``g.slugs``, which the
    release view sets for the language links too)."""
    return url_for("public.release", lang=lang, release_id=view.id, slug=g.slugs[lang], _external=True)


def release_meta(view: releases.LocalizedRelease, shown: list[str]) -> dict:
    """A release page's description: its lead, its canonical URL (the original's while a translation is pending),
    a large card with its photo, and a NewsArticle linked to its original or its translations."""
    text_lang = view.source_lang if view.is_original else view.lang
    canonical = release_url(view, text_lang)
    meta = {"title": view.title, "description": feeds.summary(view.paragraphs, DESCRIPTION_CHARS),
            "canonical": canonical, "noindex": False, "type": "article", "image": photo_image(view) or icon_image(),
            "locale": OG_LOCALES.get(text_lang, text_lang), "locale_alternates": alternate_locales(text_lang, shown),
            "published": view.published_at, "modified": view.text_updated_at}
    meta["json_ld"] = news_article(view, text_lang, shown, meta)
    return meta


def photo_image(view: releases.LocalizedRelease) -> dict | None:
    """The release's photo for cards: its widest JPEG size (every reader of cards takes JPEG), else the original."""
    if not view.photo:
        return None
    jpegs = [size for size in view.photo_sizes if size["type"] == "image/jpeg"]
    widest = jpegs[-1] if jpegs else {"name": view.photo, "width": view.photo_width, "height": view.photo_height}
    return {"url": url_for("public.photo", name=widest["name"], _external=True), "width": widest["width"],
            "height": widest["height"], "alt": view.photo_alt, "large": True}


def news_article(view: releases.LocalizedRelease, text_lang: str, shown: list[str], meta: dict) -> dict:
    """schema.org NewsArticle of the text shown, with the link between the original and its translations."""
    logo = {"@type": "ImageObject", "url": absolute_static(ICON), "width": ICON_SIZE, "height": ICON_SIZE}
    organization = {"@type": "Organization", "name": site_names(text_lang)[1], "logo": logo,
                    "url": url_for("public.index", lang=text_lang, _external=True)}
    canonical = meta["canonical"]
    article = {"@context": "https://schema.org", "@type": "NewsArticle", "@id": canonical, "url": canonical,
               "mainEntityOfPage": canonical, "headline": view.title, "inLanguage": language_tag(text_lang),
               "description": meta["description"], "datePublished": meta["published"],
               "dateModified": meta["modified"], "image": [meta["image"]["url"]], "publisher": organization,
               "author": organization}
    if view.corrected_at:  # dateModified is then the correction's moment (text_updated_at moves with it)
        article["correction"] = {"@type": "CorrectionComment", "text": view.correction_note,
                                 "inLanguage": view.correction_lang, "datePublished": view.corrected_at}
    translations = [work(view, lang) for lang in shown if lang != text_lang]
    if text_lang != view.source_lang:
        article["translationOfWork"] = work(view, view.source_lang)
    elif translations:
        article["workTranslation"] = translations
    return article


def work(view: releases.LocalizedRelease, lang: str) -> dict:
    """A reference to the release's page in another language."""
    url = release_url(view, lang)
    return {"@type": "NewsArticle", "@id": url, "url": url, "inLanguage": language_tag(lang)}


@bp.app_template_global()
def picture(view: releases.LocalizedRelease) -> dict:
    """The photo's ``srcset`` per format (WebP first, then the JPEG fallback) and the size shown by default."""
    by_type: dict[str, list[dict]] = {}
    for size in view.photo_sizes:
        by_type.setdefault(size["type"], []).append(size)
    srcsets = {kind: ", ".join(f"{url_for('public.photo', name=s['name'])} {s['width']}w" for s in sizes)
               for kind, sizes in by_type.items()}
    fallback = by_type.get("image/jpeg", [])
    default = fallback[len(fallback) // 2] if fallback else None  # a middle width for browsers without srcset
    shown = min(view.photo_width or COLUMN_PX, COLUMN_PX)
    return {"webp": srcsets.get("image/webp"), "jpeg": srcsets.get("image/jpeg"),
            "sizes": f"min({shown}px, calc(100vw - 2rem))",
            "src": url_for("public.photo", name=default["name"] if default else view.photo)}
