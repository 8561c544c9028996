"""Per-language RSS, Atom and JSON feeds and their RFC 5005 archives, built once per data change (web.cache)
and answered with 304 when unchanged."""

import hashlib
from datetime import datetime
from datetime import timedelta
from functools import cache
from importlib import metadata

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import request
from flask import url_for
from flask_babel import gettext as _

from feedsvc import clock
from feedsvc import feeds
from feedsvc import releases
from feedsvc.categories import Category
from feedsvc.states import FeedFormat
from feedsvc.text.editions import base_language
from feedsvc.text.editions import language_tag
from feedsvc.web import press_contact
from feedsvc.web import site_names
from feedsvc.web.cache import cached
from feedsvc.web.cache import current_state
from feedsvc.web.cache import per_version
from feedsvc.web.cache import set_last_modified
from feedsvc.web.db import get_db
from feedsvc.web.labels import correction_label
from feedsvc.web.labels import outdated_label
from feedsvc.web.labels import provenance_label
from feedsvc.web.seo import FAVICON
from feedsvc.web.seo import ICON

bp = Blueprint("feeds", __name__)
MIMETYPES = {FeedFormat.RSS: "application/rss+xml", FeedFormat.ATOM: "application/atom+xml",
             FeedFormat.JSON: "application/feed+json"}
# The URL part that matches a format's name (werkzeug's ``any`` converter), from the one list of formats.
FORMATS = f"any({', '.join(FeedFormat)})"
YEAR = 365 * 24 * 3600


@bp.route(f"/<lang:lang>/feed.<{FORMATS}:fmt>")
def feed(lang: str, fmt: str):
    """The subscription feed, from the cache when nothing changed since it was built (and the day is the same:
    tombstones expire by the day)."""
    g.lang = lang
    today = clock.now().date()
    return feed_response(("feed", lang, fmt, today), fmt, lambda state: build_feed(get_db(), lang, fmt, state, today))


def feed_response(key: tuple, fmt: str, build) -> Response:
    """A subscription feed answered from the cache under ``key`` (``build(state)`` makes it after a change), with
    its validators: 304 when the reader has it."""
    state = current_state()
    version, body = cached(key, state["version"], lambda: build(state))
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.set_etag("-".join(str(part) for part in (*key[1:], version)))
    set_last_modified(response, state)
    # the header as text: werkzeug's cache_control object costs more than the rest of a cache hit
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['FEED_MAX_AGE']}"
    return response.make_conditional(request)


@bp.route(f"/<lang:lang>/archive/<id:page>.<{FORMATS}:fmt>")
def archive(lang: str, page: int, fmt: str):
    """An RFC 5005 archive document: FEED_ARCHIVE_ITEMS releases in the order of first publication, page 1 the
    oldest. Only complete pages are archive documents (their places never change), so each is cached for a year;
    releases past the last complete page are in the subscription feed."""
    g.lang = lang
    state = current_state()
    complete = complete_pages(state)
    if page > complete:
        abort(404)
    _version, body = cached(("archive", lang, fmt, page), state["version"],
                            lambda: build_archive(get_db(), lang, fmt, page, state))
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])  # a complete page keeps its ETag across changes
    response.headers["Cache-Control"] = f"public, max-age={YEAR}"
    return response.make_conditional(request)


def complete_pages(state: dict) -> int:
    """How many archive pages are full: publication numbers given so far (below any scheduled release's),
    FEED_ARCHIVE_ITEMS a page."""
    last = per_version("last_seq", state["version"], lambda: releases.last_shown_seq(get_db()))
    return last // current_app.config["FEED_ARCHIVE_ITEMS"]


def build_feed(db, lang: str, fmt: str, state: dict, today) -> bytes:
    """Render the latest items for ``lang`` (kk and en carry only finished translations) and every release past
    the last complete archive page (RFC 5005: the subscription feed and the archives together hold everything),
    linking the newest archive page; Atom also carries tombstones of releases withdrawn in the last
    FEED_TOMBSTONE_DAYS days."""
    complete, size = complete_pages(state), current_app.config["FEED_ARCHIVE_ITEMS"]
    latest = releases.list_published(db, lang, limit=current_app.config["FEED_ITEMS"], translated_only=True)
    unarchived = releases.list_by_seq(db, lang, complete * size + 1, (complete + 1) * size)  # the open page's
    rows = sorted({row.id: row for row in (*latest, *unarchived)}.values(),
                  key=lambda row: (row.published_at, row.id), reverse=True)
    tombstones = []
    if fmt == FeedFormat.ATOM:
        since = datetime.combine(today, datetime.min.time(), clock.now().tzinfo) - timedelta(
            days=current_app.config["FEED_TOMBSTONE_DAYS"])
        tombstones = [feeds.Tombstone(row["entry_id"], clock.parse_time(row["withdrawn_at"]),
                                      row["withdrawal_reason"] or "")
                      for row in releases.withdrawn_since(db, lang, since)]
    history = {"prev-archive": archive_url(lang, fmt, complete)} if complete else {}
    return render(lang, fmt, rows, state, history=history, tombstones=tombstones)


def build_archive(db, lang: str, fmt: str, page: int, state: dict) -> bytes:
    """Render archive page ``page``, linked to its neighbours and the subscription feed."""
    size = current_app.config["FEED_ARCHIVE_ITEMS"]
    rows = releases.list_by_seq(db, lang, (page - 1) * size + 1, page * size)
    history = {"current": url_for("feeds.feed", lang=lang, fmt=fmt, _external=True)}
    if page > 1:
        history["prev-archive"] = archive_url(lang, fmt, page - 1)
    # The next page even before it is full (a 404 until then): a complete page's bytes never change.
    history["next-archive"] = archive_url(lang, fmt, page + 1)
    return render(lang, fmt, rows, state, history=history, archived=True,
                  self_url=archive_url(lang, fmt, page))


def archive_url(lang: str, fmt: str, page: int) -> str:
    """The absolute URL of an archive page."""
    return url_for("feeds.archive", lang=lang, fmt=fmt, page=page, _external=True)


def render(lang: str, fmt: str, rows: list[releases.LocalizedRelease], state: dict, *, history: dict,
           archived: bool = False, tombstones: list[feeds.Tombstone] | None = None, self_url: str = "",
           category: Category | None = None) -> bytes:
    """One feed document of ``rows`` with the feed's description, contact, rights, icons and WebSub hubs; a
    ``category``'s feed is titled, linked and identified as its own (hubs are told only of the site's feeds)."""
    items = [feed_item(row) for row in rows]
    tombstones = tombstones or []
    moments = [i.updated for i in items] + [t.when for t in tombstones]
    updated = max(moments, default=clock.parse_time(state["changed_at"]))
    site_name, publisher = site_names(lang)
    config = current_app.config
    meta = feeds.FeedMeta(
        lang=language_tag(lang), fmt=fmt, title=f"{site_name} — {_('Press releases')}{topic_name(category, lang)}",
        subtitle=_("Press releases of the press service"), publisher=publisher,
        self_url=self_url or feed_url(lang, fmt, category), html_url=home_url(lang, category), updated=updated,
        alternates=[(language_tag(other), feed_url(other, fmt, category), MIMETYPES[fmt])
                    for other in config["LANGUAGES"] if other != lang],
        contact=feeds.Contact(**press_contact(lang)),
        rights=config["FEED_RIGHTS"].get(lang) or f"© {publisher}",
        icon=url_for("static", filename=FAVICON, _external=True), logo=url_for("static", filename=ICON, _external=True),
        version=feedsvc_version(), hubs=[] if archived or category else config["WEBSUB_HUBS"], history=history,
        archived=archived,
        tombstones=tombstones,
    )
    return feeds.build(meta, items)


def feed_url(lang: str, fmt: str, category: Category | None = None) -> str:
    """The absolute URL of the site's subscription feed in ``lang``, or of a category's."""
    if category is None:
        return url_for("feeds.feed", lang=lang, fmt=fmt, _external=True)
    return url_for("categories.feed", lang=lang, slug=category.slug, fmt=fmt, _external=True)


def home_url(lang: str, category: Category | None = None) -> str:
    """The page a feed is the feed of: the language's index, or the category's page."""
    if category is None:
        return url_for("public.index", lang=lang, _external=True)
    return url_for("categories.page", lang=lang, slug=category.slug, _external=True)


def topic_name(category: Category | None, lang: str) -> str:
    """What a category feed's title adds to the site's: ": <the category's name in lang, else Russian>"."""
    return f": {category.shown_in(lang)[0]}" if category else ""


@cache
def feedsvc_version() -> str:
    """feedsvc's installed version, for the feeds' generator element."""
    try:
        return metadata.version("feedsvc")
    except metadata.PackageNotFoundError:
        return ""


def topics() -> dict[str, list[str]]:
    """Every subscription feed's URL by language (what WebSub hubs are told about), in an app context; an
    edition's feeds under its base language (a change to the Kazakh text changes the Latin feeds too)."""
    found: dict[str, list[str]] = {}
    for lang in current_app.config["LANGUAGES"]:
        found.setdefault(base_language(lang), []).extend(
            url_for("feeds.feed", lang=lang, fmt=fmt, _external=True) for fmt in MIMETYPES)
    return found


def feed_item(view: releases.LocalizedRelease) -> feeds.FeedItem:
    """One localized release as a feed item, with the machine-translation label where it applies."""
    url = url_for("public.release", lang=view.lang, release_id=view.id, slug=view.slug, _external=True)
    original = url_for("public.release", lang=view.source_lang, release_id=view.id, slug=view.source_slug,
                       _external=True)
    notice, labels, photo, enclosure, thumbnail = "", [], None, None, None
    if view.lang != view.source_lang and not view.is_original:
        notice = " ".join(filter(None, (provenance_label(view), outdated_label(view))))
        labels = [_("Machine translation") if view.is_machine else _("Human-reviewed translation")]
    if view.photo:
        src = url_for("public.photo", name=view.photo, _external=True)
        photo = feeds.FeedPhoto(src, view.photo_caption, view.photo_credit, view.photo_alt,
                                language_tag(view.photo_lang))
        enclosure = (src, view.photo_length, view.photo_type)
        thumbnail = smallest_size(view.photo_sizes)
    html = feeds.content_html(view.paragraphs, notice=notice, photo=photo, correction=correction_of(view),
                              notice_link=(original, _("Russian original")) if notice else None)
    return feeds.FeedItem(
        guid=view.entry_id, title=view.title, url=url, published=clock.parse_time(view.published_at),
        updated=clock.parse_time(view.text_updated_at), content_html=html,
        summary=feeds.summary(view.paragraphs), category=view.category, labels=labels, enclosure=enclosure,
        image_size=(view.photo_width, view.photo_height) if view.photo and view.photo_width else None,
        thumbnail=thumbnail,
        provenance=view.provenance.as_json() | {"original_updated": view.is_outdated} if view.provenance else None,
    )


def smallest_size(sizes: tuple[dict, ...]) -> tuple[str, int, int] | None:
    """The photo's smallest stored size (a JPEG if there is one: every reader shows it) as (url, width, height)."""
    if not sizes:
        return None
    smallest = min(sizes, key=lambda size: (size["type"] != "image/jpeg", size["width"]))
    return url_for("public.photo", name=smallest["name"], _external=True), smallest["width"], smallest["height"]


def correction_of(view: releases.LocalizedRelease) -> feeds.Correction | None:
    """The correction an item starts with, in the feed's language with the editor's note (None if never corrected)."""
    if not view.corrected_at:
        return None
    return feeds.Correction(correction_label(view), view.correction_note, view.correction_lang)
