"""Per-language RSS and Atom feeds, built once per data change (web.cache) and answered with 304 when unchanged."""


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
from feedsvc.web import site_names
from feedsvc.web.cache import cached
from feedsvc.web.cache import current_state
from feedsvc.web.cache import set_last_modified
from feedsvc.web.db import get_db

bp = Blueprint("feeds", __name__)
MIMETYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}


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


def feed_item(view: releases.LocalizedRelease) -> feeds.FeedItem:
    """One localized release as a feed item, with the machine-translation label where it applies."""
    url = url_for("public.release", lang=view.lang, release_id=view.id, slug=view.slug, _external=True)
    original = url_for("public.release", lang="ru", release_id=view.id, slug=view.source_slug, _external=True)
    notice, labels, photo, enclosure = "", [], None, None
    if view.lang != "ru":
        notice = _("Machine translation.") if view.is_machine else _("Translation reviewed by the press service.")
        labels = [_("Machine translation") if view.is_machine else _("Human-reviewed translation")]
        if view.is_outdated:
            notice += " " + _("The Russian original changed after this translation was reviewed.")
    if view.photo:
        src = url_for("public.photo", name=view.photo, _external=True)
        photo = feeds.FeedPhoto(src, view.photo_caption, view.photo_credit, view.photo_alt, view.photo_lang)
        enclosure = (src, view.photo_length, view.photo_type)
    html = feeds.content_html(view.paragraphs, notice=notice, photo=photo,
                              notice_link=(original, _("Russian original")) if notice else None)
    return feeds.FeedItem(
        guid=view.entry_id, title=view.title, url=url, published=clock.parse_time(view.published_at),
        updated=clock.parse_time(view.text_updated_at), content_html=html,
        summary=feeds.summary(view.paragraphs), category=view.category, labels=labels, enclosure=enclosure,
    )
