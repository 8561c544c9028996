"""The public side: index per language, release pages, search, photos."""

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import send_from_directory
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from feedsvc import categories
from feedsvc import clock
from feedsvc import releases
from feedsvc import search as search_index
from feedsvc.text.editions import base_language
from feedsvc.web import labels
from feedsvc.web import lang_url
from feedsvc.web import seo
from feedsvc.web import site_names
from feedsvc.web.cache import cached
from feedsvc.web.cache import current_state
from feedsvc.web.cache import per_version
from feedsvc.web.cache import set_last_modified
from feedsvc.web.db import get_db
from feedsvc.web.extensions import browser_language
from feedsvc.web.forms import search_form

bp = Blueprint("public", __name__)
# Photos and their sizes: a year (the longest HTTP caches are asked to keep anything), never revalidated.
MEDIA_MAX_AGE = 365 * 24 * 3600
# The search's query parameters (besides ``page``).
SEARCH_ARGS = ("q", "sort", "category", "since", "until")


@bp.url_value_preprocessor
def remember_lang(endpoint, values) -> None:
    """The URL's language is the page's language and its interface language."""
    if values and "lang" in values:
        g.lang = values["lang"]


@bp.route("/")
def root():
    """Send readers to their browser's language."""
    response = redirect(url_for("public.index", lang=browser_language()))
    response.vary.add("Accept-Language")  # the answer depends on it: no cache may hand it to another reader
    return response


def page_number() -> int:
    """The ?page= parameter: one positive whole number in ASCII digits without a leading zero, else 400.

    One spelling per page (a repeated ``page`` is ambiguous, ``01`` is 1 spelled otherwise), so a page's cached
    body and its links never carry another spelling.
    """
    given = request.args.getlist("page") or ["1"]
    raw = given[0]
    if len(given) > 1 or not (raw.isascii() and raw.isdigit()) or raw.startswith("0") or len(raw) > 6:
        abort(400)
    return int(raw)


@bp.route("/<lang:lang>/")
def index(lang: str):
    """Published releases, newest first, a page at a time; built once per data change for anonymous readers.

    Pages show admin navigation (and flashed messages) to logged-in staff, so only anonymous
    responses with nothing flashed go through the cache, and only they carry validators; any other
    query parameter than ``page`` bypasses it (the language links repeat the query string). The cache
    key is the parsed page number, never the query's text: ``?page=01`` or ``?page=1&page=1`` cannot
    each take an entry (and push the feeds out of the cache).
    """
    page = page_number()
    return shared_page(("index", lang, page), lambda state: render_index(lang, page, state))


def shared_page(key: tuple, render) -> Response | str:
    """A reader's page (``render(state)`` makes it), through the response cache under ``key`` for anonymous
    readers asking for nothing but a ``page`` (see index)."""
    state = current_state()
    if not anonymous_reader() or not set(request.args) <= {"page"}:
        return render(state)
    version, body = cached(key, state["version"], lambda: render(state).encode())
    response = Response(body, mimetype="text/html")
    response.set_etag("-".join(str(part) for part in (*key, version)))
    set_last_modified(response, state)
    response.headers["Cache-Control"] = "no-cache"  # with validators alone browsers would guess a freshness
    return response.make_conditional(request)


def anonymous_reader() -> bool:
    """Whether this response may be shared: nobody logged in and no flashed message waiting."""
    return not current_user.is_authenticated and "_flashes" not in session


def render_index(lang: str, page: int, state: dict) -> str:
    """One index page; pages past the last are 404 without reading them."""
    db = get_db()
    size = current_app.config["PAGE_SIZE"]
    total = published_count(db, lang, state["version"])
    pages = page_count(total, page)
    # A release never published in this language is not listed (its own URL shows the original).
    items = releases.list_published(db, lang, limit=size, offset=(page - 1) * size, translated_only=True,
                                    total=total)
    canonical = url_for("public.index", lang=lang, page=page if page > 1 else None, _external=True)
    meta = seo.page_meta(lang, f"{_('Press releases')} · {site_names(lang)[0]}", canonical)
    return render_template("public/index.html", lang=lang, items=items, page=page, pages=pages, meta=meta)


def page_count(total: int, page: int) -> int:
    """How many pages of PAGE_SIZE ``total`` releases fill (at least one); asking for a page past them is 404."""
    pages = max(1, -(-total // current_app.config["PAGE_SIZE"]))
    if page > pages:
        abort(404)
    return pages


def published_count(db, lang: str, version: str) -> int:
    """How many releases ``lang``'s index lists, counted once per data change (the count reads the whole index)."""
    return per_version(f"published_count_{lang}", version, lambda: releases.count_published(db, lang))


@bp.route("/<lang:lang>/releases/<id:release_id>")
@bp.route("/<lang:lang>/releases/<id:release_id>-<slug>")
def release(lang: str, release_id: int, slug: str | None = None):
    """One release in one language; the canonical URL carries the current slug of that language.

    The id is the key: any other slug (the Russian one it had before slugs were translated, or one of
    a title since edited) is answered 301 with the current URL.
    """
    row = releases.get_public_release(get_db(), release_id)  # not found: 404, withdrawn: 410 (web.domain_error)
    views = release_views(row)
    if slug != views[lang].slug:
        return redirect(url_for("public.release", lang=lang, release_id=release_id, slug=views[lang].slug), 301)
    return release_page(row, views, lang)


def release_views(row: dict) -> dict[str, releases.LocalizedRelease]:
    """The release in every published language; the language links go to each one's own slug (``g.slugs``)."""
    translations = releases.translations_of(get_db(), row["id"])
    category = releases.category_of(get_db(), row)
    views = {code: releases.localized(row, translations.get(base_language(code)), code, category)
             for code in current_app.config["LANGUAGES"]}
    g.slugs = {code: other.slug for code, other in views.items()}
    return views


def release_page(row: dict, views: dict[str, releases.LocalizedRelease], lang: str, preview: bool = False) -> str:
    """A release's page in ``lang``; a preview (the admin's, of a release readers do not see yet) is marked as
    such and kept out of search engines."""
    view = views[lang]
    shown = releases.shown_languages(views)
    # A pending translation's page shows the original and names it canonical: it declares no language versions.
    alternates = [] if view.is_original else shown
    meta = seo.release_meta(view, shown) | {"noindex": preview}
    return render_template("public/release.html", lang=lang, release=view, shown_languages=alternates,
                           meta=meta, original=row.get("original_url"), preview=preview)


@bp.route("/<lang:lang>/search")
def search(lang: str):
    """Full-text search in the language's own text, a page at a time, by relevance or date, filtered.

    An empty query gets the page with a hint; one over MAX_QUERY_BYTES the page with another hint, as 400.
    """
    query, db = request.args.get("q", ""), get_db()
    form = search_form(request.args, [(category.name, category.shown_in(lang)[0])
                                      for category in categories.all_categories(db)])
    page = page_number()
    if len(query.encode()) > search_index.MAX_QUERY_BYTES:
        return search_page(lang, "", form, hint=_("This query is too long: a search takes at most %(size)s KB. "
                                                  "Search for a few words of it.",
                                                  size=search_index.MAX_QUERY_BYTES // 1024)), 400
    query = query.strip()
    if not search_index.parse(query):
        return search_page(lang, query, form, hint=_("Type a word or a name to search the press releases: "
                                                     "a name is found in any spelling."))
    if not form.validate():
        return search_page(lang, query, form), 400
    filters = search_index.SearchFilter(category=form.category.data or None, since=labels.day_start(form.since.data),
                                        until=labels.day_start(form.until.data, 1))
    results = search_index.find(db, lang, query, page=page, size=current_app.config["PAGE_SIZE"],
                                sort=form.sort.data or "relevance", filters=filters)
    if page > results.pages:
        abort(404)
    return search_page(lang, query, form, results=results)


def search_page(lang: str, query: str, form, *, results=None, hint: str = "") -> str:
    """The search page: the form, and the results or a hint."""
    meta = seo.page_meta(lang, f"{_('Search')} · {site_names(lang)[0]}", lang_url(lang, external=True) or "",
                         noindex=True)
    link_args = {name: request.args[name] for name in SEARCH_ARGS if request.args.get(name)}  # page links keep them
    return render_template("public/search.html", lang=lang, query=query, form=form, results=results, hint=hint,
                           meta=meta, link_args=link_args)


@bp.route("/<lang:lang>/contact")
def contact(lang: str):
    """The press office's contact for journalists, in the page's language, and the time zone pages use."""
    zone = labels.zone_label(labels.local_moment(clock.now()))
    return render_template("public/contact.html", lang=lang, zone=zone)


@bp.route("/media/<name>")
def photo(name: str):
    """A release photo or one of its sizes, only while its release is published.

    A stored name never gets other bytes (a new upload is a new name; sizes are named by their content),
    so readers and caches may keep it for a year without asking again.
    """
    if not releases.photo_is_public(get_db(), name):
        abort(404)
    accel = current_app.config["MEDIA_ACCEL_REDIRECT"]
    if accel:  # behind nginx (deploy/nginx/feedsvc.conf): it sends the file, the app only decides
        response = Response(headers={"X-Accel-Redirect": f"{accel.rstrip('/')}/{name}", "Content-Type": ""})
    else:
        response = send_from_directory(current_app.config["UPLOAD_FOLDER"], name, max_age=MEDIA_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}, immutable"
    return response
