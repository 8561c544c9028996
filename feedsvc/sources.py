"""Following the office's own feeds: fetch each configured source politely and store its entries as releases.

A source is polled at most every MIN_INTERVAL seconds, less often when its TTL or Cache-Control max-age asks,
with ETag / If-Modified-Since, and after a failure only after a growing pause (clock.backoff). A fetch reads at
most ``max_bytes``, fails after ``timeout`` seconds of silence and follows a few redirects on the same host only.
XML is parsed by lxml without loading a DTD, resolving an entity or touching the network, and a document that
declares entities is refused (billion laughs, external entities) before feedparser reads it; JSON Feed is read
here. Each entry is remembered (feed_source_entries: source, entry id, release, content hash), so nothing is
imported twice, across restarts too; an entry that changes upstream becomes an edit (releases.update_release:
history kept, translations re-queued), and only an RFC 6721 tombstone (at:deleted-entry) withdraws one.
"""

import calendar
import hashlib
import io
import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from urllib.parse import urljoin
from urllib.parse import urlsplit

import feedparser
import lxml.etree
import lxml.html
from sqlite_utils import Database

from feedsvc import clock
from feedsvc import photos
from feedsvc import releases
from feedsvc.errors import FeedsvcError
from feedsvc.errors import InvalidInput
from feedsvc.states import ReleaseStatus
from feedsvc.storage import write
from feedsvc.supervise import Periodic
from feedsvc.text import one_line

log = logging.getLogger(__name__)
MIN_INTERVAL = 300  # never poll a source more often (seconds), whatever it says
MAX_INTERVAL = 6 * 3600  # a huge TTL or max-age must not stop following for days
MAX_REDIRECTS = 3
TOMBSTONES = "http://purl.org/atompub/tombstones/1.0"
ACCEPT = "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5"
USER_AGENT = "feedsvc (follows this office's own feed)"
# Elements whose text is not the release's text: code, embedded objects, and figures (the photo and its caption).
DROPPED = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "figure", "form",
           "button", "select", "textarea", "head", "title")
BLOCKS = ("p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "dd", "dt", "section",
          "article", "header", "footer", "ul", "ol", "table", "br", "hr")


class SourceError(FeedsvcError):
    """A source could not be fetched or read; ``url`` names it, the message says why (shown to admins)."""

    def __init__(self, url: str, reason: str):
        """Keep the source's URL and the reason."""
        super().__init__(f"{url}: {reason}")
        self.url, self.reason = url, reason


@dataclass(frozen=True)
class Settings:
    """How sources are fetched and their entries stored (from FEED_SOURCE_*, PHOTO_*, TITLE_MAX, BODY_MAX)."""

    languages: tuple[str, ...]  # the site's target languages: a published entry is queued for them
    timeout: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    photo_folder: str = ""
    photo_max_bytes: int = 10 * 1024 * 1024
    photo_max_pixels: int = 40_000_000
    title_max: int = 300
    body_max: int = 100_000


@dataclass(frozen=True)
class Fetched:
    """One answer of a source: 200 with a body, or 304 (not modified); plus what it says about caching."""

    status: int
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    max_age: int | None = None
    url: str = ""


@dataclass(frozen=True)
class Entry:
    """One feed entry as a release would hold it: plain-text paragraphs, the first image and its caption."""

    id: str
    title: str
    body: str
    link: str
    published: datetime | None
    category: str
    image: str
    caption: str

    def content_hash(self) -> str:
        """A digest of everything stored from the entry: a different one upstream means an edit."""
        fields = [self.title, self.body, self.link, self.published and self.published.isoformat(), self.category,
                  self.image, self.caption]
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Document:
    """A parsed feed: its entries, the ids its tombstones withdraw (with their comments), and its TTL."""

    entries: tuple[Entry, ...]
    deleted: tuple[tuple[str, str], ...] = ()
    ttl: int | None = None


class SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow at most MAX_REDIRECTS redirects, and only on the source's own host (never to another site)."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        """Refuse a redirect to another host or scheme; otherwise redirect as urllib does."""
        target = urlsplit(urljoin(req.full_url, newurl))
        if target.scheme not in ("http", "https") or target.hostname != urlsplit(req.full_url).hostname:
            raise SourceError(req.full_url, f"redirect to another host refused ({newurl})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, timeout: float, max_bytes: int, etag: str | None = None,
          last_modified: str | None = None) -> Fetched:
    """GET ``url`` conditionally; a body over ``max_bytes``, silence over ``timeout`` or an HTTP error raise."""
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    opener = urllib.request.build_opener(SameHostRedirects)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            body = read_capped(url, response, max_bytes)
            answer = response.headers
            return Fetched(200, body, answer.get("Content-Type", ""), answer.get("ETag"),
                           answer.get("Last-Modified"), max_age(answer.get("Cache-Control")), response.geturl())
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Fetched(304, max_age=max_age(exc.headers.get("Cache-Control")), etag=exc.headers.get("ETag"))
        raise SourceError(url, f"HTTP {exc.code} {exc.reason}") from exc
    except TimeoutError as exc:
        raise SourceError(url, f"no answer within {timeout:g} s") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SourceError(url, f"cannot fetch ({getattr(exc, 'reason', exc)})") from exc


def read_capped(url: str, response, max_bytes: int) -> bytes:
    """The body, read in pieces, refused as soon as it passes ``max_bytes`` (a stated length is checked first)."""
    stated = response.headers.get("Content-Length")
    if stated and stated.isdigit() and int(stated) > max_bytes:
        raise SourceError(url, f"larger than {max_bytes} bytes ({stated} stated)")
    chunks, size = [], 0
    while chunk := response.read(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(url, f"larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def max_age(cache_control: str | None) -> int | None:
    """Cache-Control's max-age in seconds, if given."""
    match = re.search(r"max-age\s*=\s*\"?(\d+)", cache_control or "")
    return int(match.group(1)) if match else None


def parse(url: str, fetched: Fetched) -> Document:
    """The feed in ``fetched`` (RSS, Atom or JSON Feed), read safely; a malformed or hostile one raises."""
    body = fetched.body
    if "json" in fetched.content_type or body.lstrip()[:1] == b"{":
        return parse_json_feed(url, body)
    root = safe_xml(url, body)
    parsed = feedparser.parse(io.BytesIO(body), response_headers={
        "content-type": fetched.content_type or "application/xml", "content-location": fetched.url or url})
    entries = [entry_of(url, item) for item in parsed.entries]
    deleted = tuple((element.get("ref", ""), one_line(element.findtext(f"{{{TOMBSTONES}}}comment")))
                    for element in root.iter(f"{{{TOMBSTONES}}}deleted-entry") if element.get("ref"))
    ttl = root.findtext("channel/ttl")
    return Document(tuple(entries), deleted, int(ttl) * 60 if ttl and ttl.strip().isdigit() else None)


def safe_xml(url: str, body: bytes) -> lxml.etree._Element:
    """Parse XML without a DTD, entities or network, refusing malformed documents and any entity declaration."""
    parser = lxml.etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False,
                                  dtd_validation=False)
    try:
        root = lxml.etree.fromstring(body, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise SourceError(url, f"malformed XML ({exc})") from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise SourceError(url, "the feed declares XML entities (refused: entities are never expanded)")
    return root


def entry_of(url: str, item) -> Entry:
    """A feedparser entry as an Entry: its full content (else its summary) as text, its first image."""
    contents = item.get("content") or []
    html = max((content.get("value", "") for content in contents), key=len, default="") or item.get("summary", "")
    image, caption = first_image(item, html)
    moment = item.get("published_parsed") or item.get("updated_parsed")
    tags = [tag.get("term", "") for tag in item.get("tags") or [] if tag.get("term")]
    link = item.get("link", "")
    return Entry(id=item.get("id") or link or hashlib.sha256(item.get("title", "").encode()).hexdigest(),
                 title=text_of(item.get("title", "")), body=paragraphs_of(html), link=link,
                 published=datetime.fromtimestamp(calendar.timegm(moment), UTC) if moment else None,
                 category=one_line(tags[0]) if tags else "", image=urljoin(url, image) if image else "",
                 caption=caption)


def first_image(item, html: str) -> tuple[str, str]:
    """The entry's first image (an image enclosure or media:content, else the first <img>) and its caption."""
    caption = text_of(item.get("media_description") or "")
    for media in [*(item.get("enclosures") or []), *(item.get("media_content") or [])]:
        if str(media.get("type", "")).startswith("image/") or media.get("medium") == "image":
            return media.get("href") or media.get("url") or "", caption
    root = html_root(html)
    image = next(iter(root.iter("img")), None) if root is not None else None
    if image is None or not image.get("src"):
        return "", ""
    figure = next((parent for parent in image.iterancestors("figure")), None)
    figcaption = figure.find(".//figcaption") if figure is not None else None
    return image.get("src"), one_line(figcaption.text_content() if figcaption is not None else image.get("alt"))


def html_root(html: str) -> lxml.html.HtmlElement | None:
    """An HTML fragment as an element (inside a <div>), or None for an empty or unreadable one."""
    if not html.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return None


def paragraphs_of(html: str) -> str:
    """HTML content as plain-text paragraphs separated by blank lines: scripts, styles and figures dropped."""
    root = html_root(html)
    if root is None:
        return ""
    for element in list(root.iter(*DROPPED)):
        element.drop_tree()
    for element in root.iter(*BLOCKS):
        element.text, element.tail = "\n\n" + (element.text or ""), "\n\n" + (element.tail or "")
    return releases.normalize_body(root.text_content())


def text_of(html: str) -> str:
    """A one-line text (a title, a caption) with any markup taken out."""
    return one_line(" ".join(paragraphs_of(html).split())) if "<" in html or "&" in html else one_line(html)


def parse_json_feed(url: str, body: bytes) -> Document:
    """A JSON Feed (1.0 or 1.1) document as a Document."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceError(url, f"malformed JSON ({str(exc)[:200]})") from exc
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list) or not str(data.get("version", "")).startswith("https://jsonfeed.org/"):
        raise SourceError(url, "not a JSON Feed (no version or items)")
    try:
        return Document(tuple(json_entry(url, item) for item in items if isinstance(item, dict)))
    except (ValueError, TypeError) as exc:
        raise SourceError(url, f"unreadable JSON Feed item ({exc})") from exc


def json_entry(url: str, item: dict) -> Entry:
    """One JSON Feed item as an Entry."""
    html = str(item.get("content_html") or "")
    body = paragraphs_of(html) if html else releases.normalize_body(str(item.get("content_text") or ""))
    image, caption = first_image({}, html)
    image = str(item.get("image") or image or "")
    published = item.get("date_published") or item.get("date_modified")
    tags = [str(tag) for tag in item.get("tags") or [] if tag]
    link = str(item.get("url") or "")
    return Entry(id=str(item.get("id") or link), title=text_of(str(item.get("title") or "")), body=body, link=link,
                 published=aware(datetime.fromisoformat(published)) if isinstance(published, str) else None,
                 category=one_line(tags[0]) if tags else "", image=urljoin(url, image) if image else "",
                 caption=caption)


def aware(moment: datetime) -> datetime:
    """A feed's time with its zone; one written without a zone is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---- The sources' state and their entries in the database -------------------------------------------------


def state(db: Database, url: str) -> dict:
    """A source's stored state (its row in feed_sources), or a fresh one never polled."""
    rows = list(db.query("select * from feed_sources where url = ?", [url]))
    return rows[0] if rows else {"url": url, "etag": None, "last_modified": None, "ttl": None, "checked_at": None,
                                 "succeeded_at": None, "next_poll": "", "attempts": 0, "error": None,
                                 "error_at": None, "imported": 0, "edited": 0, "withdrawn": 0}


def states(db: Database, sources: list[dict]) -> list[dict]:
    """Each configured source with its state, as the admin page shows them."""
    return [{**state(db, source["url"]), **source} for source in sources]


def save_state(db: Database, row: dict) -> None:
    """Store a source's state."""
    db.table("feed_sources").upsert(row, pk="url")


def poll_due(db: Database, sources: list[dict], settings: Settings, *, force: bool = False) -> list[dict]:
    """Poll every source whose time has come (every source with ``force``); returns their new states."""
    now = clock.utcnow()
    return [poll(db, source, settings) for source in sources if force or state(db, source["url"])["next_poll"] <= now]


def poll(db: Database, source: dict, settings: Settings) -> dict:
    """Fetch one source and store what changed; any failure is recorded and logged, and retried after a pause."""
    row = state(db, source["url"])
    row["checked_at"] = clock.utcnow()
    try:
        fetched = fetch(source["url"], timeout=settings.timeout, max_bytes=settings.max_bytes, etag=row["etag"],
                        last_modified=row["last_modified"])
        if fetched.status == 200:
            document = parse(source["url"], fetched)
            problems = store(db, source, document, settings, row)
            row.update(etag=fetched.etag, last_modified=fetched.last_modified, ttl=document.ttl)
            row.update(error="; ".join(problems)[:2000] or None, error_at=row["checked_at"] if problems else None)
    except Exception as exc:  # a hostile or broken feed must never end the worker: recorded, shown, retried
        delay = clock.backoff(MIN_INTERVAL, row["attempts"], cap=MAX_INTERVAL)
        reason = exc.reason if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        log.warning("feed source %s failed (attempt %d, again in %d s): %s", source["url"], row["attempts"] + 1,
                    delay, reason)
        row.update(attempts=row["attempts"] + 1, error=reason[:2000], error_at=row["checked_at"],
                   next_poll=clock.after(delay))
        save_state(db, row)
        return row
    wait = max(MIN_INTERVAL, min(MAX_INTERVAL, max(fetched.max_age or 0, row["ttl"] or 0)))
    row.update(attempts=0, succeeded_at=row["checked_at"], next_poll=clock.after(wait))
    save_state(db, row)
    return row


def store(db: Database, source: dict, document: Document, settings: Settings, row: dict) -> list[str]:
    """Import new entries, edit changed ones, withdraw tombstoned ones; returns the problems met (entry skipped)."""
    problems = []
    for entry in document.entries:
        try:
            outcome = store_entry(db, source, entry, settings)
        except InvalidInput as exc:
            log.warning("feed source %s: entry %s skipped: %s", source["url"], entry.id, exc)
            problems.append(f"{entry.id}: {exc}")
            continue
        if outcome:
            row[outcome] += 1
    for ref, comment in document.deleted:
        if withdraw_entry(db, source["url"], ref, comment):
            row["withdrawn"] += 1
    return problems


class BadEntry(InvalidInput):
    """An entry feedsvc cannot store as a release (no title, or longer than a release may be)."""


def store_entry(db: Database, source: dict, entry: Entry, settings: Settings) -> str | None:
    """Store one entry: "imported" when new, "edited" when it changed upstream, None when already stored as is."""
    if not entry.title or len(entry.title) > settings.title_max or len(entry.body) > settings.body_max:
        raise BadEntry(f"no title, or longer than {settings.title_max}/{settings.body_max} characters")
    known = list(db.query("select * from feed_source_entries where source_url = ? and entry_id = ?",
                          [source["url"], entry.id]))
    digest = entry.content_hash()
    if known and known[0]["content_hash"] == digest:
        return None
    fields = {"title": entry.title, "body": entry.body, "category": source.get("category") or entry.category,
              "photo_caption": entry.caption}
    if known:
        return edit_entry(db, source, entry, known[0], fields, settings)
    photo = entry_photo(source["url"], entry, settings)
    fields["photo_caption"] = entry.caption if photo else ""
    with write(db):
        release = releases.create_release(db, **fields, published_at=entry.published, photo=photo,
                                          publish=bool(source.get("publish")), languages=settings.languages,
                                          author=source["url"])
        db.table("releases").update(release["id"], {"original_url": web_link(entry.link)})
        db.table("feed_source_entries").insert({
            "source_url": source["url"], "entry_id": entry.id, "release_id": release["id"], "content_hash": digest,
            "image": entry.image, "imported_at": clock.utcnow(), "updated_at": clock.utcnow()})
    return "imported"


def edit_entry(db: Database, source: dict, entry: Entry, known: dict, fields: dict, settings: Settings) -> str:
    """An entry changed upstream: the same edit an editor would make (history kept, translations follow)."""
    changes = dict(fields)
    if entry.published:
        changes["published_at"] = entry.published
    old_photo = None
    if entry.image != known["image"]:
        old_photo = releases.get_release(db, known["release_id"])
        changes.update(entry_photo(source["url"], entry, settings) or dict.fromkeys(releases.PHOTO_FIELDS))
    with write(db):
        releases.update_release(db, known["release_id"], changes, settings.languages, author=source["url"])
        db.table("releases").update(known["release_id"], {"original_url": web_link(entry.link)})
        db.table("feed_source_entries").update((source["url"], entry.id), {
            "content_hash": entry.content_hash(), "image": entry.image, "updated_at": clock.utcnow()})
    if old_photo:
        photos.delete_stored(db, settings.photo_folder, old_photo)
    return "edited"


def web_link(link: str) -> str | None:
    """The entry's link if it is an http(s) URL (pages link it: a javascript: or data: link is never kept)."""
    parts = urlsplit(link)
    return link if parts.scheme in ("http", "https") and parts.hostname else None


def entry_photo(url: str, entry: Entry, settings: Settings) -> dict | None:
    """The entry's image, fetched from the source's own host and checked as an upload; None if it has none.

    An image elsewhere, too large or not an image is left out (logged): the text is imported all the same.
    """
    if not entry.image:
        return None
    try:
        if urlsplit(entry.image).hostname != urlsplit(url).hostname:
            raise SourceError(entry.image, "image on another host refused")
        fetched = fetch(entry.image, timeout=settings.timeout, max_bytes=settings.photo_max_bytes)
        return photos.save_photo(fetched.body, settings.photo_folder, max_bytes=settings.photo_max_bytes,
                                 max_pixels=settings.photo_max_pixels)
    except (SourceError, photos.InvalidPhoto) as exc:
        log.warning("feed source %s: photo of entry %s left out: %s", url, entry.id, exc)
        return None


def withdraw_entry(db: Database, url: str, ref: str, comment: str) -> bool:
    """Withdraw the release of a tombstoned entry (RFC 6721), once; False when unknown or already withdrawn."""
    known = list(db.query("""select r.id, r.status from feed_source_entries e join releases r on r.id = e.release_id
        where e.source_url = ? and e.entry_id = ?""", [url, ref]))
    if not known or known[0]["status"] == ReleaseStatus.WITHDRAWN:
        return False
    # Withdrawing queues no translation: no languages are needed.
    releases.set_status(db, known[0]["id"], ReleaseStatus.WITHDRAWN, (), reason=comment or "withdrawn by its source")
    return True



def poller(connect: Callable[[], Database], sources: list[dict], settings: Settings,
           interval: float = 30.0) -> Periodic:
    """The worker's background thread (not started): poll the due sources every ``interval`` seconds."""
    return Periodic("feed-sources", connect, lambda db: poll_due(db, sources, settings), interval)
