"""Flask extensions: CSRF, login, interface languages, rate limits; and the app's own state."""

import sqlite3
from functools import cached_property

from babel import support
from flask import Flask
from flask import current_app
from flask import g
from flask import has_app_context
from flask import request
from flask_babel import Babel
from flask_babel import Domain
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from feedsvc.errors import FeedsvcError
from feedsvc.settings import Languages
from feedsvc.text import editions
from feedsvc.web.cache import ResponseCache


class WrittenTranslations(support.NullTranslations):
    """A catalogue whose every message is written by a table (the Kazakh catalogue in Kazakh Latin letters):
    the Latin edition's interface needs no catalogue of its own to keep in step."""

    def __init__(self, catalogue: support.NullTranslations, write) -> None:
        """Wrap ``catalogue``; ``write`` turns one of its messages into the edition's script."""
        super().__init__()
        self.catalogue, self.write = catalogue, write

    def gettext(self, message):
        """The message, written."""
        return self.write(self.catalogue.ugettext(message))

    def ngettext(self, singular, plural, num):
        """The plural form, written."""
        return self.write(self.catalogue.ungettext(singular, plural, num))

    def pgettext(self, context, message):
        """The message in a context, written."""
        return self.write(self.catalogue.upgettext(context, message))

    def npgettext(self, context, singular, plural, num):
        """The plural form in a context, written."""
        return self.write(self.catalogue.unpgettext(context, singular, plural, num))

    ugettext, ungettext, upgettext, unpgettext = gettext, ngettext, pgettext, npgettext


class EditionDomain(Domain):
    """Flask-Babel's message domain, which on an edition's pages (kk-latn) gives the base language's catalogue
    (the locale is the base's: select_locale) written in the edition's script."""

    def get_translations(self):
        """The locale's catalogue, written in the page's edition's script if the page is an edition's."""
        catalogue = super().get_translations()
        edition = editions.edition(g.get("lang")) if has_app_context() else None
        if edition is None:
            return catalogue
        key = (edition.code, self.domain[0])
        if key not in self.cache:
            self.cache[key] = WrittenTranslations(catalogue, edition.write)
        return self.cache[key]


class EditionBabel(Babel):
    """Flask-Babel with the EditionDomain as its messages."""

    @cached_property
    def domain_instance(self):
        """The message domain (EditionDomain)."""
        return EditionDomain(domain=self.domain)


csrf = CSRFProtect()
login_manager = LoginManager()
babel = EditionBabel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def select_locale() -> str:
    """The interface language: the page's own language (an edition's base: EditionDomain writes it), else the
    staff member's chosen one, else the reader's browser preference."""
    lang = getattr(g, "lang", None)
    return (lang and editions.base_language(lang)) or chosen_language() or browser_language()


def chosen_language() -> str | None:
    """The admin language the logged-in staff member chose (users.set_language), if still published.

    The locale is asked for on error pages too: where the user cannot be loaded (the database is down, or the
    "database unavailable" page itself), nobody has chosen anything.
    """
    try:
        chosen = getattr(current_user, "ui_lang", "") if current_user.is_authenticated else ""
    except (sqlite3.Error, OSError, FeedsvcError):
        return None
    return chosen if chosen in site_languages().published else None


def browser_language() -> str:
    """The published language the reader's browser prefers, else the source language."""
    languages = site_languages()
    return request.accept_languages.best_match(languages.published) or languages.source


def site_languages() -> Languages:
    """The app's languages (from SOURCE_LANGUAGE and TARGET_LANGUAGES, read once at start)."""
    return current_app.extensions["feedsvc"]["languages"]


def init_app(app: Flask) -> None:
    """Attach the extensions and make the per-app state holder."""
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories="i18n",
        default_timezone=app.config["TIMEZONE"],
    )
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    # Long-lived state lives here, never in module globals (see STYLE.md): the response cache
    # (feeds, index pages) and the change-counter connection (see web/cache.py).
    app.extensions["feedsvc"] = {"cache": ResponseCache(), "languages": Languages.of(app.config)}
