"""Per-language RSS and Atom feeds, built once per data change and answered with 304 when unchanged."""

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask import url_for
from flask_babel import gettext as _

from feedsvc import feeds
from feedsvc import releases
from feedsvc.db import get_db

bp = Blueprint("feeds", __name__)
MIMETYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


@bp.route("/<lang:lang>/feed.<any(rss, atom):fmt>")
def feed(lang: str, fmt: str):
    """The feed, from the cache when nothing changed since it was built."""
    g.lang = lang
    db = get_db()
    state = releases.site_state(db)
    cache = current_app.extensions["feedsvc"]["cache"]
    key = ("feed", lang, fmt, request.host_url)
    cached = cache.get(key)
    if cached is None or cached[0] != state["version"]:
        cached = (state["version"], build_feed(db, lang, fmt, state))
        cache[key] = cached
    response = Response(cached[1], mimetype=MIMETYPES[fmt])
    response.set_etag(f"{lang}-{fmt}-{cached[0]}")
    response.last_modified = releases.parse_time(state["changed_at"])
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["FEED_MAX_AGE"]
    return response.make_conditional(request)


def build_feed(db, lang: str, fmt: str, state: dict) -> bytes:
    """Render the latest items for ``lang``; kk and en carry only finished translations."""
    rows = releases.list_published(db, lang, limit=current_app.config["FEED_ITEMS"], translated_only=True)
    items = [feed_item(row) for row in rows]
    updated = max((i.updated for i in items), default=releases.parse_time(state["changed_at"]))
    meta = feeds.FeedMeta(
        lang=lang, fmt=fmt, title=f"{current_app.config['SITE_NAME']} — {_('Press releases')}",
        subtitle=_("Press releases of the press service"), publisher=current_app.config["PUBLISHER"],
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
    if view["photo"]:
        src = url_for("public.photo", name=view["photo"], _external=True)
        photo = (src, view["photo_caption"] or "", view["photo_credit"] or "")
        enclosure = (src, view["photo_length"], view["photo_type"])
    html = feeds.content_html(view["paragraphs"], notice=notice, photo=photo,
                              notice_link=(original, _("Russian original")) if notice else None)
    return feeds.FeedItem(
        guid=view["guid"], title=view["title"], url=url, published=releases.parse_time(view["published_at"]),
        updated=releases.parse_time(view["text_updated_at"]), content_html=html,
        summary=feeds.summary(view["paragraphs"]), category=view["category"], labels=labels, enclosure=enclosure,
    )
