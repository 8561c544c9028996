"""Per-language RSS and Atom feeds, built once per data change and answered with 304 when unchanged.

Also the response cache that feeds and index pages share: rendered bodies in the app's state dict
(``app.extensions["feedsvc"]["cache"]``), each stored with the change counter it was built at, so a
request costs one small query while nothing changed. The cache is a plain dict used in LRU order and
bounded in entries and bytes: the key holds the request's host, which the client chooses.
"""

import os
import threading
import weakref
from collections.abc import Callable

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask import url_for
from flask_babel import gettext as _

from feedsvc import clock
from feedsvc import feeds
from feedsvc import releases
from feedsvc.storage import connect
from feedsvc.web import site_names
from feedsvc.web.db import get_db

bp = Blueprint("feeds", __name__)
MIMETYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
CACHE_ENTRIES = 512  # default bounds of the response cache, per web worker (config: RESPONSE_CACHE_*)
CACHE_BYTES = 32 * 1024 * 1024


def current_state() -> dict:
    """The change counter (``version``, ``changed_at``), read on one long-lived connection per process.

    A request that is answered from the cache must not open a database: SQLite parses the whole
    schema (FTS tables, triggers) on a new connection's first statement, which costs more than
    serving the cached body. One row read on a connection kept open takes microseconds; in autocommit
    mode with the rows drained it holds no snapshot, so it sees every process's last commit. A
    connection is never used across a fork (gunicorn --preload) and is closed with its app.
    """
    state = current_app.extensions["feedsvc"]
    with state.setdefault("state_lock", threading.Lock()):
        reader = state.get("state_reader")
        if reader is None or reader[0] != os.getpid():
            reader = state["state_reader"] = (os.getpid(), connect(current_app.config["DATABASE"]))
            weakref.finalize(current_app._get_current_object(), close_in_owner, *reader)
        read_at = clock.now().timestamp()  # before the read: any later change is stamped at or after this
        version, changed_at = reader[1].execute("select version, changed_at from site_state where id = 1").fetchall()[0]
    return {"version": version, "changed_at": changed_at, "read_at": read_at}


def set_last_modified(response: Response, state: dict) -> None:
    """Last-Modified from the change counter's time, left out while that second may still see changes.

    The header counts whole seconds: a second change within the same second would look unchanged
    to a reader that sends only If-Modified-Since (ETag readers are never fooled). So, as Apache
    does, a state read within the second it changed carries only its ETag.
    """
    moment = clock.parse_time(state["changed_at"])
    if state["read_at"] >= moment.timestamp() + 1:
        response.last_modified = moment


def close_in_owner(pid: int, db) -> None:
    """Close a connection, but only in the process that opened it."""
    if os.getpid() == pid:
        db.close()


def cached(key: tuple, version: int, build: Callable[[], bytes]) -> tuple[int, bytes]:
    """``(version, body)`` for ``key``: the stored body while the change counter is still ``version``,
    else ``build()``'s, stored for the next request. Read the counter before building, so a body is
    never older than the version it is stored under.
    """
    state = current_app.extensions["feedsvc"]
    cache, lock = state["cache"], state.setdefault("cache_lock", threading.Lock())
    with lock:
        entry = cache.pop(key, None)  # popped and put back: the dict's order is least recently used first
        if entry is not None and entry[0] == version:
            cache[key] = entry
            return entry
    entry = (version, build())  # outside the lock: a slow build never holds up cache hits
    with lock:
        cache[key] = entry
        evict(cache)
    return entry


def evict(cache: dict) -> None:
    """Drop least recently used entries while the cache holds too many entries or bytes."""
    max_entries = current_app.config.get("RESPONSE_CACHE_ENTRIES", CACHE_ENTRIES)
    max_bytes = current_app.config.get("RESPONSE_CACHE_BYTES", CACHE_BYTES)
    size = sum(len(entry[1]) for entry in cache.values())
    while len(cache) > 1 and (len(cache) > max_entries or size > max_bytes):
        size -= len(cache.pop(next(iter(cache)))[1])


@bp.route("/<lang:lang>/feed.<any(rss, atom):fmt>")
def feed(lang: str, fmt: str):
    """The feed, from the cache when nothing changed since it was built."""
    g.lang = lang
    state = current_state()
    key = ("feed", lang, fmt, request.host_url)
    version, body = cached(key, state["version"], lambda: build_feed(get_db(), lang, fmt, state))
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.set_etag(f"{lang}-{fmt}-{version}")
    set_last_modified(response, state)
    # the header as text: werkzeug's cache_control object costs more than the rest of a cache hit
    response.headers["Cache-Control"] = f"public, max-age={current_app.config['FEED_MAX_AGE']}"
    return response.make_conditional(request)


def build_feed(db, lang: str, fmt: str, state: dict) -> bytes:
    """Render the latest items for ``lang``; kk and en carry only finished translations."""
    rows = releases.list_published(db, lang, limit=current_app.config["FEED_ITEMS"], translated_only=True)
    items = [feed_item(row) for row in rows]
    updated = max((i.updated for i in items), default=clock.parse_time(state["changed_at"]))
    site_name, publisher = site_names(lang)
    meta = feeds.FeedMeta(
        lang=lang, fmt=fmt, title=f"{site_name} — {_('Press releases')}",
        subtitle=_("Press releases of the press service"), publisher=publisher,
        self_url=url_for("feeds.feed", lang=lang, fmt=fmt, _external=True),
        html_url=url_for("public.index", lang=lang, _external=True), updated=updated,
        alternates=[(other, url_for("feeds.feed", lang=other, fmt=fmt, _external=True), MIMETYPES[fmt])
                    for other in current_app.config["LANGUAGES"] if other != lang],
    )
    return feeds.build(meta, items)


def feed_item(view: dict) -> feeds.FeedItem:
    """One localized release as a feed item, with the machine-translation label where it applies."""
    url = url_for("public.release", lang=view["lang"], release_id=view["id"], slug=view["slug"], _external=True)
    original = url_for("public.release", lang="ru", release_id=view["id"], slug=view["slug"], _external=True)
    notice, labels, photo, enclosure = "", [], None, None
    if view["lang"] != "ru":
        notice = _("Machine translation.") if view["is_machine"] else _("Translation reviewed by the press service.")
        labels = [_("Machine translation") if view["is_machine"] else _("Human-reviewed translation")]
        if view["is_outdated"]:
            notice += " " + _("The Russian original changed after this translation was reviewed.")
    if view["photo"]:
        src = url_for("public.photo", name=view["photo"], _external=True)
        photo = (src, view["photo_caption"] or "", view["photo_credit"] or "")
        enclosure = (src, view["photo_length"], view["photo_type"])
    html = feeds.content_html(view["paragraphs"], notice=notice, photo=photo,
                              notice_link=(original, _("Russian original")) if notice else None)
    return feeds.FeedItem(
        guid=view["guid"], title=view["title"], url=url, published=clock.parse_time(view["published_at"]),
        updated=clock.parse_time(view["text_updated_at"]), content_html=html,
        summary=feeds.summary(view["paragraphs"]), category=view["category"], labels=labels, enclosure=enclosure,
    )
