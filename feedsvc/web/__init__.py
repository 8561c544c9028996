"""The web application: create_app (the composition root), blueprints (one module each), the error pages they share."""

import re
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from flask import current_app
from flask import g
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import refresh
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Conflict
from werkzeug.exceptions import Gone
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.routing import BaseConverter
from werkzeug.routing import IntegerConverter

from feedsvc import errors
from feedsvc import photos
from feedsvc import releases
from feedsvc.config import check_config
from feedsvc.config import default_config
from feedsvc.search import MAX_QUERY_CHARS
from feedsvc.storage import PRIVATE_FOLDER
from feedsvc.storage import make_folder
from feedsvc.text import editions
from feedsvc.web import db
from feedsvc.web import extensions
from feedsvc.web import hosts
from feedsvc.web import labels
from feedsvc.web import security
from feedsvc.web.db import get_db


def create_app(test_config: dict | None = None, *, check_schema: bool = True) -> Flask:
    """Build the web application: configuration, database, extensions, blueprints (the commands are
    feedsvc.commands', one floor up: the `feedsvc` group, and Flask's `flask.commands` entry points).

    Raises SchemaOutdated when the database needs `feedsvc init-db` first; the command line builds its app
    with ``check_schema=False`` (init-db itself must run, and the worker checks on its own).
    """
    # Named after the package, so its root (templates in web/, catalogs in i18n/) and instance folder stay the same.
    app = Flask("feedsvc", instance_relative_config=True, template_folder="web/templates", static_folder="web/static")
    app.config.from_mapping(default_config(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("FEEDSVC")
    else:
        app.config.from_mapping(test_config)
    check_config(app.config, default_config(app.instance_path))
    make_folder(app.instance_path, PRIVATE_FOLDER)  # database, key, local config: the service account's alone
    make_folder(app.config["UPLOAD_FOLDER"], photos.FOLDER_MODE)  # nginx's group reads photos (README "Production")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(app.instance_path)

    hosts.init_app(app)  # SITE_URL (or a checked Host) for every absolute URL; inside ProxyFix, so it wins
    if app.config["PROXY_FIX"]:
        # Behind nginx: trust that many proxies for the client address and scheme (rate limits, URLs).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app, check=check_schema)
    extensions.init_app(app)
    security.init_app(app)
    register_blueprints(app)
    return app


def instance_secret(instance_path: str) -> str:
    """A secret key kept in instance/secret_key, made once, so sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def language_converter(codes) -> type[BaseConverter]:
    """A URL converter matching only these language codes (from the settings), so /de/… is a plain 404."""
    return type("LanguageConverter", (BaseConverter,), {"regex": "|".join(re.escape(code) for code in codes)})


class IdConverter(IntegerConverter):
    """A database id: a positive integer SQLite can hold, so a 30-digit id is a 404, not an overflow.

    Only its one spelling matches (ASCII digits, no leading zero): werkzeug's ``\\d+`` would also take
    ``01``, ``١`` or ``１`` as 1, each a separate URL of the same page for caches (nginx keeps an archive a year).
    """

    regex = r"[1-9][0-9]{0,18}"

    def __init__(self, url_map, **kwargs):
        """An integer converter bounded to SQLite's rowid range."""
        super().__init__(url_map, min=1, max=2**63 - 1, **kwargs)


def register_blueprints(app: Flask) -> None:
    """Register the URL converter, every blueprint and the error handlers."""
    from feedsvc.web import admin
    from feedsvc.web import api
    from feedsvc.web import auth
    from feedsvc.web import categories
    from feedsvc.web import category_admin
    from feedsvc.web import feeds
    from feedsvc.web import glossary
    from feedsvc.web import kept
    from feedsvc.web import keys
    from feedsvc.web import models
    from feedsvc.web import public
    from feedsvc.web import queue
    from feedsvc.web import review
    from feedsvc.web import seo
    from feedsvc.web import sources
    from feedsvc.web import translate_api

    app.url_map.converters["lang"] = language_converter(app.config["LANGUAGES"])  # every published language
    app.url_map.converters["target"] = language_converter(app.config["TARGET_LANGUAGES"])  # translated ones
    app.url_map.converters["id"] = IdConverter
    for module in (public, feeds, categories, auth, admin, category_admin, review, queue, models, glossary, seo,
                   sources, keys, translate_api, api):
        app.register_blueprint(module.bp)
    app.register_error_handler(HTTPException, error_page)
    app.register_error_handler(errors.FeedsvcError, domain_error)
    app.register_error_handler(sqlite3.OperationalError, storage_unavailable)
    kept.init_app(app)
    app.context_processor(template_globals)
    for name in ("localdt", "timetag", "status_label", "flag_label", "finding_reason", "route_label", "origin_label",
                 "provenance_label", "outdated_label", "correction_label"):
        app.add_template_filter(getattr(labels, name))
    app.add_template_filter(releases.shown_status)
    app.add_template_filter(editions.language_tag, "tag")


def error_page(exc: HTTPException, release: dict | None = None):
    """Every HTTP error as a page in the reader's language (the URL's, or the browser's), with a human heading.

    A withdrawn release's page (410) names the release, when it was withdrawn and the public reason.
    """
    if request.path.startswith(extensions.site_languages().prefixes):
        g.lang = request.path.split("/")[1]
        refresh()  # Flask-Babel caches the locale per request; the URL's language must win
    code = exc.code or 500
    heading, message = error_words(code, release is not None)
    withdrawn = withdrawn_release(release) if release is not None and not g.get("storage_down") else None
    return render_template("error.html", code=code, heading=heading, message=message, withdrawn=withdrawn), code


def error_words(code: int, is_release: bool) -> tuple[str, str]:
    """The heading and the sentence an error page shows, in the interface's language."""
    words = {
        400: (_("Bad request"), _("The request was not understood.")),
        403: (_("Access denied"), _("This page is not open to you.")),
        404: (_("Page not found"), _("There is no such page.")),
        405: (_("Not allowed"), _("This page cannot be used this way.")),
        410: ((_("Release withdrawn"), _("This release has been withdrawn by the press service.")) if is_release
              else (_("Page removed"), _("This page has been removed."))),
        413: (_("Upload too large"), _("The upload is too large.")),
        429: (_("Too many attempts"), _("Too many attempts. Please wait a minute and try again.")),
        503: (_("Service unavailable"), _("The service is temporarily unavailable. Please try again in a minute.")),
    }
    if code in words:
        return words[code]
    if code < 500:
        return _("Request refused"), _("The request could not be completed.")
    return _("Server error"), _("Server error.")


def withdrawn_release(release: dict) -> dict:
    """What a 410 page says of a withdrawn release: its title in the page's language, when, and why."""
    lang = g.get("lang") or current_app.config["SOURCE_LANGUAGE"]
    translation = releases.translations_of(get_db(), release["id"]).get(editions.base_language(lang))
    view = releases.localized(release, translation, lang)
    reason, reason_lang = releases.withdrawal_reason(release, translation, lang)
    return {"title": view.title, "title_lang": current_app.config["SOURCE_LANGUAGE"] if view.is_original else lang,
            "withdrawn_at": release.get("withdrawn_at"), "reason": reason, "reason_lang": reason_lang}


# The one place where the kinds of domain error become HTTP status codes (most specific kind first).
STATUS_CODES = ((errors.Gone, Gone), (errors.NotFound, NotFound), (errors.Conflict, Conflict),
                (errors.InvalidInput, BadRequest), (errors.StorageUnavailable, ServiceUnavailable))


def domain_error(exc: errors.FeedsvcError):
    """A domain error a view let through, as the error page of its kind (a bug stays a 500)."""
    if isinstance(exc, errors.StorageUnavailable):
        return storage_unavailable(exc)
    for kind, http_error in STATUS_CODES:
        if isinstance(exc, kind):
            return error_page(http_error(), getattr(exc, "release", None))
    raise exc


def storage_unavailable(exc: sqlite3.OperationalError | errors.StorageUnavailable):
    """The database cannot be opened or written (read-only, disk full, locked too long): 503, not 500.

    A form an editor sent comes back with the text and the reason (web.kept); any other request gets the page.
    """
    from feedsvc.web import kept

    current_app.logger.exception("database unavailable")
    response = kept.reshow(kept.storage_message(exc.__cause__ or exc), 503)
    if response is not None:
        response.headers["Retry-After"] = "60"
        return response
    g.storage_down = True  # the page must not touch the database again (e.g. to load the session's user)
    error = ServiceUnavailable(_("The service is temporarily unavailable. Please try again in a minute."))
    response, code = error_page(error)
    return response, code, {"Retry-After": "60"}


def lang_url(code: str, external: bool = False) -> str | None:
    """This page's URL in another language, or None on pages without a language."""
    args = dict(request.view_args or {})
    if "lang" not in args or request.endpoint is None:
        return None
    args["lang"] = code
    if "slug" in args:  # a release page: each language has its own slug (public.release)
        args["slug"] = g.get("slugs", {}).get(code, args["slug"])
    url = url_for(request.endpoint, **args, _external=external)
    # The query is copied as it came, never passed to url_for (a "?_anchor=" must stay a parameter).
    return f"{url}?{urlencode(list(request.args.items(multi=True)))}" if request.args else url


def site_names(lang: str) -> tuple[str, str]:
    """The site's and the publisher's name in a language (Russian when not configured); an edition's are its base
    language's, in its script."""
    config = current_app.config
    if edition := editions.edition(lang):
        site, publisher = site_names(edition.base)
        return edition.write(site), edition.write(publisher)
    return (config["SITE_NAMES"].get(lang, config["SITE_NAME"]), config["PUBLISHERS"].get(lang, config["PUBLISHER"]))


def press_contact(lang: str) -> dict:
    """The press office's contact in a language: name, phone (as written and as a tel: URI), e-mail.

    The phone was checked and written in international format at start (config.check_contact).
    """
    config = current_app.config
    names = config["PRESS_CONTACT_NAMES"]
    name = editions.in_script(lang, names.get(editions.base_language(lang), config["PRESS_CONTACT_NAME"]))
    return {"name": name,
            "phone": config["PRESS_CONTACT_PHONE"], "tel": config["PRESS_CONTACT_PHONE_URI"],
            "email": config["PRESS_CONTACT_EMAIL"]}


def template_globals() -> dict:
    """Names every template may use."""
    page_lang = getattr(g, "lang", None)
    ui_lang = page_lang or str(get_locale())
    site_name, publisher = site_names(ui_lang)
    source_lang = extensions.site_languages().source
    return {"language_names": editions.names() | current_app.config["LANGUAGE_NAMES"], "page_lang": page_lang,
            "lang_url": lang_url, "site_languages": extensions.site_languages(),
            "ui_lang": ui_lang, "source_lang": source_lang, "has_alternates": bool(page_lang and lang_url(source_lang)),
            "site_name": site_name, "publisher": publisher,
            "storage_down": g.get("storage_down", False), "press_contact": press_contact(ui_lang),
            "search_max_chars": MAX_QUERY_CHARS}
