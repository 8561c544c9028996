"""Sitemaps (sitemaps.org) with hreflang alternates: pure functions from release rows to XML, no request.

Each language has its own sitemap files; every page lists the languages the release can be read in
(``xhtml:link rel="alternate" hreflang``) and ``x-default`` (the original). A translation readers cannot see
yet (pending, failed, held for review) is not a page of that language here: its URL shows the original.
"""

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from feedsvc.migrations import SITEMAP_WINDOW
from feedsvc.text.editions import language_tag

# Release ids per sitemap file: file n of a language lists the releases with ids (n-1)*MAX_URLS+1..n*MAX_URLS
# readable in it (file 1 its front page too), so a file is built from its own window, whatever the archive's size,
# and an old file stays as it is while new releases arrive. The protocol allows 50,000 URLs, but a national
# archive's files are kept small: each is built in milliseconds and fits the response cache, and the index reads
# a row per window that triggers keep (migration m035 holds the size).
MAX_URLS = SITEMAP_WINDOW
LAST_ID = 2**63 - 1  # SQLite's largest rowid
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
NSMAP = {None: SITEMAP_NS, "xhtml": XHTML_NS}
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
# A news sitemap lists the releases of the last two days, at most 1,000 (Google News' own rules).
NEWS_DAYS = 2
NEWS_MAX_URLS = 1_000


@dataclass(frozen=True)
class Page:
    """One URL of a sitemap: its language, when its text last changed, and its language versions."""

    url: str
    lastmod: str | None
    alternates: tuple[tuple[str, str], ...]  # (hreflang, url), x-default included


def release_pages(rows: Iterable[dict], languages: list[str], source_lang: str,
                  url: Callable[[str, dict], str]) -> dict[str, list[Page]]:
    """Each language's pages: every release readable in it, with the URL ``url(lang, row)`` gives.

    ``rows`` come from ``releases.readable_languages``: ``languages`` maps each language a release can be
    read in to when its text last changed. Each URL is built once and shared by the pages that list it.
    """
    pages: dict[str, list[Page]] = {lang: [] for lang in languages}
    for row in rows:
        readable = [lang for lang in languages if lang in row["languages"]]
        urls = {lang: url(lang, row) for lang in readable}
        alternates = (*urls.items(), ("x-default", urls[source_lang]))
        for lang in readable:
            pages[lang].append(Page(urls[lang], row["languages"][lang], alternates))
    return pages


def home_page(languages: list[str], source_lang: str, lang: str, url: Callable[[str], str],
              lastmod: str | None) -> Page:
    """A language's front page, with the other languages' front pages as its alternates."""
    alternates = (*((code, url(code)) for code in languages), ("x-default", url(source_lang)))
    return Page(url(lang), lastmod, alternates)


def window(number: int) -> tuple[int, int] | None:
    """The release ids sitemap file ``number`` holds (first, last), or None past any id SQLite can hold."""
    first = (number - 1) * MAX_URLS + 1
    return (first, min(number * MAX_URLS, LAST_ID)) if first <= LAST_ID else None


def index_files(windows: dict[int, str], front_lastmod: str | None) -> list[tuple[int, str | None]]:
    """A language's files as (number, lastmod): each window holding a page (file 1 always, with the front page)."""
    files = {**windows, 1: max(filter(None, (windows.get(1), front_lastmod)), default=None)}
    return sorted(files.items())


def urlset(pages: list[Page]) -> bytes:
    """One sitemap file: ``<urlset>`` with a ``<url>`` per page and its hreflang alternates."""
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap=NSMAP)
    for page in pages:
        node = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(node, f"{{{SITEMAP_NS}}}loc").text = page.url
        if page.lastmod:
            etree.SubElement(node, f"{{{SITEMAP_NS}}}lastmod").text = page.lastmod
        for hreflang, href in page.alternates:
            etree.SubElement(node, f"{{{XHTML_NS}}}link", rel="alternate", hreflang=language_tag(hreflang), href=href)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sitemap_index(files: list[tuple[str, str | None]]) -> bytes:
    """The sitemap index: one ``<sitemap>`` per file, as ``(url, lastmod)``."""
    root = etree.Element(f"{{{SITEMAP_NS}}}sitemapindex", nsmap={None: SITEMAP_NS})
    for url, lastmod in files:
        node = etree.SubElement(root, f"{{{SITEMAP_NS}}}sitemap")
        etree.SubElement(node, f"{{{SITEMAP_NS}}}loc").text = url
        if lastmod:
            etree.SubElement(node, f"{{{SITEMAP_NS}}}lastmod").text = lastmod
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class NewsPage:
    """A release in a news sitemap: its page, title and publication time in one language."""

    url: str
    title: str
    published: str  # W3C datetime (RFC 3339)


def news_urlset(pages: list[NewsPage], publication: str, lang: str) -> bytes:
    """A Google News sitemap: each page with ``news:publication`` (name, language), its date and title."""
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "news": NEWS_NS})
    for page in pages:
        node = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(node, f"{{{SITEMAP_NS}}}loc").text = page.url
        news = etree.SubElement(node, f"{{{NEWS_NS}}}news")
        source = etree.SubElement(news, f"{{{NEWS_NS}}}publication")
        etree.SubElement(source, f"{{{NEWS_NS}}}name").text = publication
        etree.SubElement(source, f"{{{NEWS_NS}}}language").text = lang
        etree.SubElement(news, f"{{{NEWS_NS}}}publication_date").text = page.published
        etree.SubElement(news, f"{{{NEWS_NS}}}title").text = page.title
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
