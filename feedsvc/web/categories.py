"""A category's public page (its releases, a page at a time) and its RSS, Atom and JSON feeds, per language."""

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import url_for

from feedsvc import categories
from feedsvc import releases
from feedsvc.web import seo
from feedsvc.web import site_names
from feedsvc.web.cache import per_version
from feedsvc.web.db import get_db
from feedsvc.web.feeds import FORMATS
from feedsvc.web.feeds import MIMETYPES
from feedsvc.web.feeds import feed_response
from feedsvc.web.feeds import render
from feedsvc.web.public import page_count
from feedsvc.web.public import page_number
from feedsvc.web.public import remember_lang
from feedsvc.web.public import shared_page

bp = Blueprint("categories", __name__)
bp.url_value_preprocessor(remember_lang)


@bp.route("/<lang:lang>/category/<slug>/")
def page(lang: str, slug: str):
    """A category's releases in ``lang``, newest first, a page at a time (cached as the index is)."""
    number = page_number()
    return shared_page(("category", lang, slug, number), lambda state: render_page(lang, slug, number, state))


def render_page(lang: str, slug: str, number: int, state: dict) -> str:
    """One page of a category; an unknown slug or a page past the last is 404."""
    db = get_db()
    category = categories.by_slug(db, slug)
    total = per_version(f"category_count_{lang}_{category.id}", state["version"],
                        lambda: releases.count_in_category(db, lang, category.id))
    pages = page_count(total, number)
    size = current_app.config["PAGE_SIZE"]
    items = releases.list_published(db, lang, limit=size, offset=(number - 1) * size, translated_only=True,
                                    total=total, category_id=category.id)
    name, name_lang = category.shown_in(lang)
    canonical = url_for("categories.page", lang=lang, slug=slug, page=number if number > 1 else None, _external=True)
    meta = seo.page_meta(lang, f"{name} · {site_names(lang)[0]}", canonical)
    return render_template("public/category.html", lang=lang, category=category, name=name, name_lang=name_lang,
                           items=items, page=number, pages=pages, meta=meta, feed_types=MIMETYPES)


@bp.route(f"/<lang:lang>/category/<slug>/feed.<{FORMATS}:fmt>")
def feed(lang: str, slug: str, fmt: str):
    """A category's subscription feed in ``lang``: its FEED_ITEMS newest releases (translated ones in kk and en)."""
    return feed_response(("category-feed", lang, slug, fmt), fmt, lambda state: build_feed(lang, slug, fmt, state))


def build_feed(lang: str, slug: str, fmt: str, state: dict) -> bytes:
    """Render a category's feed (no archives: the site's feeds and their archives hold every release)."""
    db = get_db()
    category = categories.by_slug(db, slug)
    rows = releases.list_published(db, lang, limit=current_app.config["FEED_ITEMS"], translated_only=True,
                                   category_id=category.id)
    return render(lang, fmt, rows, state, history={}, category=category)
