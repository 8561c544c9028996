"""Nothing an editor typed is lost: a form whose POST cannot be saved now comes back with the text.

Three things stop a save that an editor cannot see coming: the form's CSRF token no longer fits (the form
was opened in a session that has ended since), the session itself ended (the idle or the absolute limit), or
the database is busy (another writer held it past the busy timeout) or cannot be written. A view marked with
``keeps_text`` then answers with its form, filled with what was posted, a fresh CSRF token and a message
saying what happened and what to do; nothing is written. One mechanism in one place, for every such form:

- Logged in (a stale token, a busy or full database): the view runs again in "re-show" mode, in which every
  ``EditorForm`` fails validation, so the view renders its page as it does for any form error.
- Logged out: the page around the form shows stored data (drafts, translations), so only the form is shown,
  the fields that were posted, with a link that opens the login in a new tab. The text stays in this tab;
  once logged in there, pressing the button here again saves it (logging in keeps the session's CSRF secret,
  so the fresh token stays good).

Nothing is kept server-side: a copy written while the database is busy would fail the same way, and one
written for a logged-out request would let anyone fill the database. Only POSTs from this site's own pages
are answered so (``Sec-Fetch-Site``): another site cannot have a form prefilled for an editor.
"""

import sqlite3

from flask import Flask
from flask import current_app
from flask import flash
from flask import g
from flask import get_flashed_messages
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_url
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from feedsvc.errors import FeedsvcError
from feedsvc.web import error_page
from feedsvc.web.auth import end_expired_sessions
from feedsvc.web.auth import login_expired
from feedsvc.web.extensions import login_manager

# SQLite's primary result codes that mean "another connection holds the lock" (the busy timeout ran out).
BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def keeps_text(form_factory):
    """Mark a view whose form comes back with the posted text when its POST cannot be saved.

    ``form_factory``, called with the URL's arguments, makes the bare form shown to a logged-out editor.
    """
    def mark(view):
        """Attach the form factory to the view."""
        view.kept_form = form_factory
        return view
    return mark


def form_factory():
    """The form factory of this request's view when it is a same-site POST to a view that keeps text."""
    if request.method != "POST" or request.endpoint is None:
        return None
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return None
    return getattr(current_app.view_functions.get(request.endpoint), "kept_form", None)


def reshow(message: str, status: int):
    """This request's form again with what was posted, a fresh token and ``message``; None if its view keeps
    no text (the caller answers as it would have)."""
    factory = form_factory()
    if factory is None:
        return None
    try:
        end_expired_sessions()  # a CSRF error is raised before the session's limits are applied
        if not current_user.is_authenticated:
            return logged_out(factory)
        g.kept_reason = message
        flash(message, "error")
        response = make_response(current_app.view_functions[request.endpoint](**request.view_args))
    except (sqlite3.Error, FeedsvcError, HTTPException):
        get_flashed_messages()  # the page cannot be shown now (the database cannot be read, the release is gone)
        return None
    response.status_code = status
    return response


def logged_out(factory):
    """The posted form alone, for an editor whose session ended, with the way to log in again."""
    flash(_("Your session has ended, so nothing was saved. Your text is below: log in again in the new tab the "
            "link opens, then come back to this tab and send the form again."), "error")
    form = factory(**request.view_args)
    chosen_file = any(upload.filename for upload in request.files.values())
    return render_template("kept.html", form=form, chosen_file=chosen_file), 401


def storage_message(exc: sqlite3.Error | OSError) -> str:
    """What to tell an editor whose save the database or the disk refused: busy, or unable to write."""
    if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in BUSY_CODES:
        return _("Your changes could not be saved: the database is busy, try again in a moment. "
                 "Nothing was changed; your text is below.")
    return _("Your changes could not be saved: the server cannot write (disk full or read-only). "
             "Nothing was changed; your text is below.")


def expired_form(exc: CSRFError):
    """A form whose CSRF token no longer fits: shown again with the text, else the usual 400 page."""
    if request.endpoint == "auth.login" and request.method == "POST":
        return login_expired()
    message = _("This form was opened in a session that has ended, so nothing was saved. Your text is below "
                "with a new token: send it again.")
    return reshow(message, 400) or error_page(exc)


def unauthorized():
    """Not logged in: a POST's form comes back with its text; anything else goes to the login page."""
    factory = form_factory()
    if factory is not None:
        return logged_out(factory)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def init_app(app: Flask) -> None:
    """Register the handlers that keep an editor's text."""
    app.register_error_handler(CSRFError, expired_form)
    login_manager.unauthorized_handler(unauthorized)
