"""Build RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents from localized releases: pure functions, no request."""

import json
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import NamedTuple

import nh3
from feedgen.feed import FeedGenerator
from lxml import etree
from markupsafe import Markup
from markupsafe import escape

from feedsvc.config import SOURCE_LANGUAGE
from feedsvc.states import FeedFormat

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HISTORY = "http://purl.org/syndication/history/1.0"  # RFC 5005 (fh:archive)
TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721 (at:deleted-entry)
JSON_FEED = "https://jsonfeed.org/version/1.1"
CONTENT_TAGS = {"p", "figure", "figcaption", "img", "a", "em", "strong", "span"}
CONTENT_ATTRIBUTES = {"img": {"src", "alt", "width", "height"}, "a": {"href", "hreflang"}, "figcaption": {"lang"},
                      "span": {"lang"}}


@dataclass
class Contact:
    """The press office as readers may reach it: every feed names it."""

    name: str
    email: str = ""
    phone: str = ""
    tel: str = ""  # the phone as a tel: URI (RFC 3966), made once by config.check_contact

    @property
    def mailbox(self) -> str:
        """RSS's ``managingEditor``/``webMaster`` form: "email (name)"."""
        return f"{self.email} ({self.name})" if self.email else ""


@dataclass
class Tombstone:
    """A withdrawn entry (RFC 6721): its id in this feed, when it was withdrawn, and the public reason."""

    ref: str
    when: datetime
    comment: str = ""
    comment_lang: str = SOURCE_LANGUAGE


@dataclass
class FeedMeta:
    """What describes the feed itself."""

    lang: str
    fmt: FeedFormat
    title: str
    subtitle: str
    self_url: str
    html_url: str
    publisher: str
    updated: datetime
    alternates: list[tuple[str, str, str]] = field(default_factory=list)  # (lang, url, mimetype)
    contact: Contact | None = None
    rights: str = ""
    icon: str = ""  # a small square image (favicon)
    logo: str = ""  # a large square image
    version: str = ""  # feedsvc's, for the generator element
    hubs: list[str] = field(default_factory=list)  # WebSub hubs
    history: dict[str, str] = field(default_factory=dict)  # RFC 5005 rel -> URL: current, prev-archive, next-archive
    archived: bool = False  # an archive document (fh:archive)
    tombstones: list[Tombstone] = field(default_factory=list)


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
    # The photo's pixel size and its smallest stored size, for Media RSS (media:content, media:thumbnail).
    image_size: tuple[int, int] | None = None  # (width, height)
    thumbnail: tuple[str, int, int] | None = None  # (url, width, height)
    # A translation's provenance for the JSON Feed's ``_feedsvc`` object (Provenance.as_json), None for originals.
    provenance: dict | None = None


class Correction(NamedTuple):
    """A correction readers are told of at the top of an item: the words before it, the note and its language."""

    label: str
    note: str
    lang: str


class FeedPhoto(NamedTuple):
    """A photo in an item's content: its texts are the item language's, or the original's (``lang``)."""

    src: str
    caption: str
    credit: str
    alt: str
    lang: str


def content_html(paragraphs: list[str], *, notice: str = "", notice_link: tuple[str, str] | None = None,
                 photo: FeedPhoto | None = None, correction: Correction | None = None) -> str:
    """Full text as safe HTML: the correction, a notice line, the photo with its caption, then the paragraphs.

    Everything user-written is escaped first; nh3 then guarantees only harmless tags remain.
    """
    parts = []
    if correction:
        line = Markup('<p><strong>{0.label}</strong> <span lang="{0.lang}">{0.note}</span></p>')
        parts.append(line.format(correction))
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
    """Render the feed as RSS 2.0 (``fmt='rss'``), Atom 1.0 (``fmt='atom'``) or JSON Feed 1.1 (``fmt='json'``)."""
    if meta.fmt == FeedFormat.JSON:
        return build_json(meta, items)
    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.load_extension("media", atom=False, rss=True)  # Media RSS: the photo and its thumbnail, in RSS only
    fg.id(meta.self_url)
    fg.title(meta.title)
    fg.subtitle(meta.subtitle)
    fg.description(meta.subtitle)
    fg.language(meta.lang)
    describe(fg, meta)
    fg.updated(meta.updated)
    fg.lastBuildDate(meta.updated)
    # Atom has a version attribute; RSS's generator is one text.
    generator = "feedsvc" if meta.fmt == FeedFormat.ATOM else f"feedsvc {meta.version}".strip()
    fg.generator(generator, version=meta.version or None)
    fg.link(href=meta.self_url, rel="self", type=f"application/{meta.fmt}+xml")
    # feedgen makes the last link the RSS channel <link>, which must be the HTML page.
    fg.link(href=meta.html_url, rel="alternate", type="text/html", hreflang=meta.lang)
    for item in reversed(items):  # feedgen prepends entries; reversed keeps newest first
        add_entry(fg, item, meta.publisher)
    if meta.fmt == FeedFormat.ATOM:
        root = etree.fromstring(fg.atom_str(pretty=True))
        entry_links(root, items)
        add_tombstones(root, meta.tombstones)
        return serialize(add_feed_links(root, root, meta))
    root = etree.fromstring(fg.rss_str(pretty=True))
    return serialize(add_feed_links(root, root.find("channel"), meta))


def describe(fg: FeedGenerator, meta: FeedMeta) -> None:
    """Who publishes the feed and how to reach them, its rights and images (Atom and RSS)."""
    contact = meta.contact or Contact(meta.publisher)
    fg.author({k: v for k, v in {"name": contact.name, "email": contact.email, "uri": contact.tel}.items() if v})
    if contact.mailbox:
        fg.managingEditor(contact.mailbox)
        fg.webMaster(contact.mailbox)
    if meta.rights:
        fg.rights(meta.rights)
    if meta.icon:
        fg.icon(meta.icon)
    if meta.logo:
        fg.logo(meta.logo)
        fg.image(url=meta.logo, title=meta.title, link=meta.html_url)


def feed_links(meta: FeedMeta) -> list[dict[str, str]]:
    """The feed-level atom:links feedgen does not write: the other languages, WebSub hubs, RFC 5005 history."""
    links = [{"rel": "alternate", "href": url, "type": mimetype, "hreflang": lang} for lang, url, mimetype in
             meta.alternates]
    links += [{"rel": "hub", "href": hub} for hub in meta.hubs]
    return links + [{"rel": rel, "href": url} for rel, url in meta.history.items()]


def add_feed_links(root, parent, meta: FeedMeta):
    """Write feed_links() after the self link (in the Atom feed or the RSS channel), and fh:archive if archived."""
    anchor = next(link for link in parent.iterfind(f"{{{ATOM}}}link") if link.get("rel") == "self")
    for attributes in reversed(feed_links(meta)):
        anchor.addnext(etree.Element(f"{{{ATOM}}}link", attributes))
    if meta.archived:
        anchor.addnext(etree.Element(f"{{{HISTORY}}}archive", nsmap={"fh": HISTORY}))
    return root


def add_tombstones(root, tombstones: list[Tombstone]) -> None:
    """Append an RFC 6721 at:deleted-entry per withdrawn entry, with the reason as at:comment."""
    for tombstone in tombstones:
        element = etree.SubElement(root, f"{{{TOMBSTONES}}}deleted-entry",
                                   {"ref": tombstone.ref, "when": tombstone.when.isoformat()}, nsmap={"at": TOMBSTONES})
        if tombstone.comment:  # the editor's words, in the original's language whatever the feed's
            comment = etree.SubElement(element, f"{{{TOMBSTONES}}}comment", {XML_LANG: tombstone.comment_lang})
            comment.text = tombstone.comment


def build_json(meta: FeedMeta, items: list[FeedItem]) -> bytes:
    """The feed as JSON Feed 1.1, with the same ids as RSS and Atom; older items through ``next_url``."""
    contact = meta.contact or Contact(meta.publisher)
    document: dict[str, object] = {
        "version": JSON_FEED, "title": meta.title, "home_page_url": meta.html_url, "feed_url": meta.self_url,
        "description": meta.subtitle, "language": meta.lang, "icon": meta.logo, "favicon": meta.icon,
        "authors": [{"name": contact.name, "url": f"mailto:{contact.email}" if contact.email else meta.html_url}],
        "items": [json_item(item, meta) for item in items],
    }
    if "prev-archive" in meta.history:
        document["next_url"] = meta.history["prev-archive"]  # JSON Feed's "next" is the older items
    if meta.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in meta.hubs]
    document["_feedsvc"] = {"rights": meta.rights, "phone": contact.phone, "archive": meta.archived,
                            "generator": f"feedsvc {meta.version}".strip(),
                            **{rel.replace("-", "_"): url for rel, url in meta.history.items()}}
    return json.dumps({k: v for k, v in document.items() if v != ""}, ensure_ascii=False, indent=1).encode()


def json_item(item: FeedItem, meta: FeedMeta) -> dict:
    """One JSON Feed item (attachments: the photo)."""
    entry: dict = {"id": item.guid, "url": item.url, "title": item.title, "content_html": item.content_html,
                   "summary": item.summary, "date_published": item.published.isoformat(),
                   "date_modified": item.updated.isoformat(), "language": meta.lang,
                   "authors": [{"name": meta.publisher}],
                   "tags": ([item.category] if item.category else []) + item.labels}
    if item.enclosure:
        url, length, mimetype = item.enclosure
        entry["image"] = url
        entry["attachments"] = [{"url": url, "mime_type": mimetype, "size_in_bytes": length}]
    if item.provenance is not None:
        entry["_feedsvc"] = {"translation": item.provenance}
    return entry


def entry_links(root, items: list[FeedItem]) -> None:
    """Write each Atom entry's links ourselves: feedgen 1.0 drops their rel, type and length
    (lkiesow/python-feedgen#135), which turns the photo enclosure into a second alternate link."""
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
        add_media(entry, item, item.enclosure)


def add_media(entry, item: FeedItem, enclosure: tuple[str, int, str]) -> None:
    """The photo as Media RSS (readers that show images beside items take it from there), with its thumbnail."""
    url, length, mimetype = enclosure
    content = {"url": url, "fileSize": str(length), "type": mimetype, "medium": "image", "isDefault": "true"}
    if item.image_size:
        content |= {"width": str(item.image_size[0]), "height": str(item.image_size[1])}
    entry.media.content(**content)
    if item.thumbnail:
        thumbnail, width, height = item.thumbnail
        entry.media.thumbnail(url=thumbnail, width=str(width), height=str(height))
