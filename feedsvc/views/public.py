"""The public side: index per language, release pages, search, photos."""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import send_from_directory
from flask import url_for

from feedsvc import releases
from feedsvc.db import get_db

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
    return redirect(url_for("public.index", lang=lang))


def page_number() -> int:
    """The ?page= parameter: a positive whole number, else 400."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 6:
        abort(400)
    return int(raw)


@bp.route("/<lang:lang>/")
def index(lang: str):
    """Published releases, newest first, a page at a time."""
    page = page_number()
    size = current_app.config["PAGE_SIZE"]
    db = get_db()
    items = releases.list_published(db, lang, limit=size, offset=(page - 1) * size)
    if not items and page > 1:
        abort(404)
    pages = max(1, -(-releases.count_published(db) // size))
    return render_template("public/index.html", lang=lang, items=items, page=page, pages=pages)


@bp.route("/<lang:lang>/releases/<int:release_id>")
@bp.route("/<lang:lang>/releases/<int:release_id>-<slug>")
def release(lang: str, release_id: int, slug: str | None = None):
    """One release in one language; the canonical URL carries the current slug."""
    db = get_db()
    try:
        row = releases.get_public_release(db, release_id)
    except releases.ReleaseNotFound:
        abort(404)
    except releases.ReleaseWithdrawn:
        abort(410)
    view = releases.localized(row, releases.translations_of(db, release_id).get(lang), lang)
    if slug != view["slug"]:
        return redirect(url_for("public.release", lang=lang, release_id=release_id, slug=view["slug"]), 301)
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
        "select 1 from releases where photo = ? and status = 'published'", [name]
    ).fetchone()
    if row is None:
        abort(404)
    response = send_from_directory(current_app.config["UPLOAD_FOLDER"], name, max_age=86400)
    return response
