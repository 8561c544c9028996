"""Blueprints (one module each) and the error pages they share."""

import re
import sqlite3
from datetime import datetime
from urllib.parse import urlencode

from flask import Flask
from flask import current_app
from flask import g
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import format_datetime
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
from feedsvc.states import TranslationStatus as Status

LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}


def language_converter(codes) -> type[BaseConverter]:
    """A URL converter matching only these language codes (from the settings), so /de/… is a plain 404."""
    return type("LanguageConverter", (BaseConverter,), {"regex": "|".join(re.escape(code) for code in codes)})


class IdConverter(IntegerConverter):
    """A database id: a positive integer SQLite can hold, so a 30-digit id is a 404, not an overflow."""

    def __init__(self, url_map, **kwargs):
        """An integer converter bounded to SQLite's rowid range."""
        super().__init__(url_map, min=1, max=2**63 - 1, **kwargs)


def register_blueprints(app: Flask) -> None:
    """Register the URL converter, every blueprint and the error handlers."""
    from feedsvc.web import admin
    from feedsvc.web import auth
    from feedsvc.web import feeds
    from feedsvc.web import glossary
    from feedsvc.web import models
    from feedsvc.web import public
    from feedsvc.web import review
    from feedsvc.web import seo

    app.url_map.converters["lang"] = language_converter(app.config["LANGUAGES"])  # every published language
    app.url_map.converters["target"] = language_converter(app.config["TARGET_LANGUAGES"])  # translated ones
    app.url_map.converters["id"] = IdConverter
    for module in (public, feeds, auth, admin, review, models, glossary, seo):
        app.register_blueprint(module.bp)
    app.register_error_handler(HTTPException, error_page)
    app.register_error_handler(errors.FeedsvcError, domain_error)
    app.register_error_handler(sqlite3.OperationalError, storage_unavailable)
    app.context_processor(template_globals)
    app.add_template_filter(localdt)
    app.add_template_filter(status_label)


def status_label(status: str | None) -> str:
    """A translation status in the interface's language (one place names them all)."""
    labels = {Status.PENDING: _("pending"), Status.TRANSLATING: _("translating"), Status.MACHINE: _("machine"),
              Status.HELD: _("needs review"), Status.REVIEWED: _("reviewed"), Status.OUTDATED: _("outdated"),
              Status.FAILED: _("failed"), Status.NO_MODEL: _("no model")}
    return labels.get(status or "", status or "—")


def localdt(value: str) -> str:
    """A stored UTC time shown in the press office's time zone, in the page's language."""
    return format_datetime(datetime.fromisoformat(value), "d MMMM y, HH:mm")


def error_page(exc: HTTPException):
    """Every HTTP error as a page in the reader's language (the URL's, or the browser's)."""
    if request.path.startswith(("/ru/", "/kk/", "/en/")):
        g.lang = request.path[1:3]
        refresh()  # Flask-Babel caches the locale per request; the URL's language must win
    messages = {
        400: _("The request was not understood."),
        404: _("There is no such page."),
        410: _("This release has been withdrawn by the press service."),
        413: _("The upload is too large."),
        429: _("Too many attempts. Please wait a minute and try again."),
        503: _("The service is temporarily unavailable. Please try again in a minute."),
    }
    message = messages.get(exc.code, exc.description if exc.code and exc.code < 500 else _("Server error."))
    return render_template("error.html", code=exc.code, name=exc.name, message=message), exc.code


# The one place where the kinds of domain error become HTTP status codes (most specific kind first).
STATUS_CODES = ((errors.Gone, Gone), (errors.NotFound, NotFound), (errors.Conflict, Conflict),
                (errors.InvalidInput, BadRequest), (errors.StorageUnavailable, ServiceUnavailable))


def domain_error(exc: errors.FeedsvcError):
    """A domain error a view let through, as the error page of its kind (a bug stays a 500)."""
    for kind, http_error in STATUS_CODES:
        if isinstance(exc, kind):
            return error_page(http_error())
    raise exc


def storage_unavailable(exc: sqlite3.OperationalError):
    """The database cannot be opened or written (read-only, disk full, locked too long): 503, not 500."""
    current_app.logger.exception("database unavailable")
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
    url = url_for(request.endpoint, **args, _external=external)
    # The query is copied as it came, never passed to url_for (a "?_anchor=" must stay a parameter).
    return f"{url}?{urlencode(list(request.args.items(multi=True)))}" if request.args else url


def site_names(lang: str) -> tuple[str, str]:
    """The site's and the publisher's name in a language (Russian when not configured)."""
    config = current_app.config
    return (config["SITE_NAMES"].get(lang, config["SITE_NAME"]), config["PUBLISHERS"].get(lang, config["PUBLISHER"]))


def template_globals() -> dict:
    """Names every template may use."""
    page_lang = getattr(g, "lang", None)
    ui_lang = page_lang or str(get_locale())
    site_name, publisher = site_names(ui_lang)
    return {"language_names": LANGUAGE_NAMES, "page_lang": page_lang, "lang_url": lang_url, "ui_lang": ui_lang,
            "has_alternates": bool(page_lang and lang_url("ru")), "site_name": site_name, "publisher": publisher,
            "storage_down": g.get("storage_down", False)}
