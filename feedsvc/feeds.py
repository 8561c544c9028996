"""Build RSS 2.0 and Atom 1.0 documents from localized releases: pure functions, no request."""

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import NamedTuple

import nh3
from feedgen.feed import FeedGenerator
from lxml import etree
from markupsafe import Markup
from markupsafe import escape

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TAGS = {"p", "figure", "figcaption", "img", "a", "em", "strong"}
CONTENT_ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "a": {"href", "hreflang"}, "figcaption": {"lang"}}


@dataclass
class FeedMeta:
    """What describes the feed itself."""

    lang: str
    fmt: str
    title: str
    subtitle: str
    self_url: str
    html_url: str
    publisher: str
    updated: datetime
    alternates: list[tuple[str, str, str]] = field(default_factory=list)  # (lang, url, mimetype)


@dataclass
class FeedItem:
    """One release as a feed entry."""

    guid: str
    title: str
    url: str
    published: datetime
    updated: datetime
    content_html: str
    summary: str
    category: str = ""
    labels: list[str] = field(default_factory=list)
    enclosure: tuple[str, int, str] | None = None  # (url, length, mimetype)


class FeedPhoto(NamedTuple):
    """A photo in an item's content: its texts are the item language's, or the original's (``lang``)."""

    src: str
    caption: str
    credit: str
    alt: str
    lang: str


def content_html(paragraphs: list[str], *, notice: str = "", notice_link: tuple[str, str] | None = None,
                 photo: FeedPhoto | None = None) -> str:
    """Full text as safe HTML: a notice line, the photo with its caption, then the paragraphs.

    Everything user-written is escaped first; nh3 then guarantees only harmless tags remain.
    """
    parts = []
    if notice:
        link = Markup(' <a href="{0}">{1}</a>').format(*notice_link) if notice_link else ""
        parts.append(Markup("<p><em>{0}{1}</em></p>").format(notice, link))
    if photo:
        parts.append(Markup('<figure><img src="{0.src}" alt="{0.alt}"><figcaption lang="{0.lang}">{0.caption} '
                            '{0.credit}</figcaption></figure>').format(photo))
    parts.extend(Markup("<p>{0}</p>").format(p) for p in paragraphs)
    return nh3.clean("\n".join(str(p) for p in parts), tags=CONTENT_TAGS, attributes=CONTENT_ATTRIBUTES)


def summary(paragraphs: list[str], limit: int = 300) -> str:
    """The first paragraph, cut at a word boundary: plain text for RSS description and Atom summary."""
    first = paragraphs[0] if paragraphs else ""
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + "…"


def build(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    """Render the feed as RSS 2.0 (``fmt='rss'``) or Atom 1.0 (``fmt='atom'``)."""
    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.id(meta.self_url)
    fg.title(meta.title)
    fg.subtitle(meta.subtitle)
    fg.description(meta.subtitle)
    fg.language(meta.lang)
    fg.author({"name": meta.publisher})
    fg.updated(meta.updated)
    fg.lastBuildDate(meta.updated)
    fg.generator("feedsvc")
    fg.link(href=meta.self_url, rel="self", type=f"application/{meta.fmt}+xml")
    for lang, url, mimetype in meta.alternates:
        fg.link(href=url, rel="alternate", type=mimetype, hreflang=lang)
    # feedgen makes the last link the RSS channel <link>, which must be the HTML page.
    fg.link(href=meta.html_url, rel="alternate", type="text/html", hreflang=meta.lang)
    for item in reversed(items):  # feedgen prepends entries; reversed keeps newest first
        add_entry(fg, item, meta.publisher)
    if meta.fmt == "atom":
        return entry_links(fg.atom_str(pretty=True), items)
    return channel_alternates(fg.rss_str(pretty=True), meta)


def channel_alternates(rss: bytes, meta: FeedMeta) -> bytes:
    """Add the other languages' feeds to the RSS channel as atom:link alternates with hreflang
    (feedgen writes only the self link there)."""
    root = etree.fromstring(rss)
    anchor = root.find(f"channel/{{{ATOM}}}link")
    for lang, url, mimetype in reversed(meta.alternates):
        anchor.addnext(etree.Element(f"{{{ATOM}}}link", {"href": url, "rel": "alternate", "type": mimetype,
                                                          "hreflang": lang}))
    return serialize(root)


def entry_links(atom: bytes, items: list[FeedItem]) -> bytes:
    """Write each Atom entry's links ourselves: feedgen 1.0 drops their rel, type and length
    (lkiesow/python-feedgen#135), which turns the photo enclosure into a second alternate link."""
    root = etree.fromstring(atom)
    by_id = {item.guid: item for item in items}
    for entry in root.iterfind(f"{{{ATOM}}}entry"):
        item = by_id[entry.findtext(f"{{{ATOM}}}id")]
        for old in entry.findall(f"{{{ATOM}}}link"):
            entry.remove(old)
        links = [{"rel": "alternate", "type": "text/html", "href": item.url}]
        if item.enclosure:
            url, length, mimetype = item.enclosure
            links.append({"rel": "enclosure", "type": mimetype, "length": str(length), "href": url})
        title = entry.find(f"{{{ATOM}}}title")
        for attributes in reversed(links):
            title.addnext(etree.Element(f"{{{ATOM}}}link", attributes))
    return serialize(root)


def serialize(root) -> bytes:
    """A mended feed document as UTF-8 bytes, indented as feedgen's own output is."""
    etree.indent(root)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def add_entry(fg: FeedGenerator, item: FeedItem, publisher: str) -> None:
    """Add one item: stable GUID, dates, full content, category, creator, photo enclosure."""
    entry = fg.add_entry()
    entry.id(item.guid)
    entry.guid(item.guid, permalink=False)
    entry.title(item.title)
    entry.link(href=item.url, rel="alternate", type="text/html")
    entry.published(item.published)
    entry.updated(item.updated)
    entry.content(item.content_html, type="html")
    # RSS <description> and Atom summary are HTML to readers: the plain-text summary is escaped for them.
    entry.summary(str(escape(item.summary)), type="html")
    entry.dc.dc_creator(publisher)
    entry.author({"name": publisher})
    for term in ([item.category] if item.category else []) + item.labels:
        entry.category(term=term, label=term)
    if item.enclosure:
        url, length, mimetype = item.enclosure
        entry.enclosure(url, str(length), mimetype)
