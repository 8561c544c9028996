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
from flask_login import current_user

from feedsvc import releases
from feedsvc.states import ReleaseStatus
from feedsvc.web.cache import cached
from feedsvc.web.cache import current_state
from feedsvc.web.cache import per_version
from feedsvc.web.cache import set_last_modified
from feedsvc.web.db import get_db

bp = Blueprint("public", __name__)


@bp.url_value_preprocessor
def remember_lang(endpoint, values) -> None:
    """The URL's language is the page's language and its interface language."""
    if values and "lang" in values:
        g.lang = values["lang"]


@bp.route("/")
def root():
    """Send readers to their browser's language."""
    lang = request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "ru"
    response = redirect(url_for("public.index", lang=lang))
    response.vary.add("Accept-Language")  # the answer depends on it: no cache may hand it to another reader
    return response


def page_number() -> int:
    """The ?page= parameter: a positive whole number, else 400."""
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1 or len(raw) > 6:
        abort(400)
    return int(raw)


@bp.route("/<lang:lang>/")
def index(lang: str):
    """Published releases, newest first, a page at a time; built once per data change for anonymous readers.

    Pages show admin navigation (and flashed messages) to logged-in staff, so only anonymous
    responses with nothing flashed go through the cache, and only they carry validators; any other
    query parameter than ``page`` bypasses it (the language links repeat the query string).
    """
    page = page_number()
    state = current_state()
    if not anonymous_reader() or not set(request.args) <= {"page"}:
        return render_index(lang, page, state)
    key = ("index", lang, request.query_string)
    version, body = cached(key, state["version"], lambda: render_index(lang, page, state).encode())
    response = Response(body, mimetype="text/html")
    response.set_etag(f"index-{lang}-{page}-{version}")
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
    pages = max(1, -(-published_count(db, state["version"]) // size))
    if page > pages:
        abort(404)
    items = releases.list_published(db, lang, limit=size, offset=(page - 1) * size)
    return render_template("public/index.html", lang=lang, items=items, page=page, pages=pages)


def published_count(db, version: int) -> int:
    """How many releases are published, counted once per data change (the count reads the whole index)."""
    return per_version("published_count", version, lambda: releases.count_published(db))


@bp.route("/<lang:lang>/releases/<id:release_id>")
@bp.route("/<lang:lang>/releases/<id:release_id>-<slug>")
def release(lang: str, release_id: int, slug: str | None = None):
    """One release in one language; the canonical URL carries the current slug."""
    db = get_db()
    row = releases.get_public_release(db, release_id)  # not found: 404, withdrawn: 410 (web.domain_error)
    view = releases.localized(row, releases.translations_of(db, release_id).get(lang), lang)
    if slug != view.slug:
        return redirect(url_for("public.release", lang=lang, release_id=release_id, slug=view.slug), 301)
    return render_template("public/release.html", lang=lang, release=view)


@bp.route("/<lang:lang>/search")
def search(lang: str):
    """Full-text search in the language's own text."""
    query = request.args.get("q", "").strip()[:200]
    results = releases.search(get_db(), lang, query) if query else []
    return render_template("public/search.html", lang=lang, query=query, results=results)


@bp.route("/media/<name>")
def photo(name: str):
    """A release photo, only while its release is published."""
    row = get_db().execute(
        "select 1 from releases where photo = ? and status = ?", [name, ReleaseStatus.PUBLISHED]
    ).fetchone()
    if row is None:
        abort(404)
    accel = current_app.config["MEDIA_ACCEL_REDIRECT"]
    if accel:  # behind nginx (deploy/nginx/feedsvc.conf): it sends the file, the app only decides
        return Response(headers={"X-Accel-Redirect": f"{accel.rstrip('/')}/{name}", "Content-Type": ""})
    return send_from_directory(current_app.config["UPLOAD_FOLDER"], name, max_age=86400)
