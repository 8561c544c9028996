"""Admin login and logout."""

import math
import re
import sqlite3

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user

from feedsvc import clock
from feedsvc.web import users
from feedsvc.web.db import get_db
from feedsvc.web.extensions import limiter
from feedsvc.web.extensions import login_manager
from feedsvc.web.extensions import site_languages
from feedsvc.web.forms import LoginForm

bp = Blueprint("auth", __name__, url_prefix="/admin")


@login_manager.user_loader
def load_user(user_id: str):
    """The session's user; on the "database unavailable" page, nobody (that page must still render)."""
    try:
        return users.load_user(get_db(), user_id)
    except sqlite3.OperationalError:
        if g.get("storage_down"):
            return None
        raise


def login_limit() -> str:
    """The limit on failed logins from one client (read per request, never at import)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def login_user_limit() -> str:
    """The limit on failed logins for one user name, from anywhere."""
    return current_app.config["LOGIN_USER_RATE_LIMIT"]


def login_name() -> str:
    """The per-user limit's key: the user name tried (case and spaces folded), not the client."""
    return "login-user:" + " ".join((request.form.get("username") or "").lower().split())


def failed(response) -> bool:
    """Only failed logins count: a successful one (a redirect) costs nothing."""
    return response.status_code != 302


def safe_next(target: str | None) -> str:
    """Only local admin paths may be redirected to after login."""
    if target and re.fullmatch(r"/admin[^\x00-\x1f\x7f\\]*", target):
        return target
    return url_for("admin.releases")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"], deduct_when=failed)
@limiter.limit(login_user_limit, methods=["POST"], key_func=login_name, deduct_when=failed)
def login():
    """Log an admin in."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(get_db(), form.username.data, form.password.data)
        if user is not None:
            session.permanent = True  # the cookie's life; the session's own limits are end_expired_sessions'
            session["login_at"] = clock.now().timestamp()
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        flash(_("Wrong user name or password."), "error")
    return render_template("auth/login.html", form=form)


def login_expired():
    """The login page again, with the name typed and a fresh token, when its own form had expired (400)."""
    flash(_("The login page was open too long, so its form expired. Enter your password again."), "error")
    return render_template("auth/login.html", form=LoginForm()), 400


@bp.before_app_request
def end_expired_sessions() -> None:
    """Log a staff member out after SESSION_IDLE_SECONDS without a request, or SESSION_LIFETIME_SECONDS after
    logging in however active they are; note this request otherwise.

    The cookie is signed again on every request, so its own expiry never comes for an active session: the
    login time stored in it is what ends the session. A session without one (from before it was stored) ends.
    """
    if not current_user.is_authenticated:
        return
    config, now = current_app.config, clock.now().timestamp()
    idle = now - session.get("seen", now) > config["SESSION_IDLE_SECONDS"]
    if idle or now - session.get("login_at", -math.inf) > config["SESSION_LIFETIME_SECONDS"]:
        logout_user()
        session.clear()
        return
    session["seen"] = now


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST, so a link on another site cannot do it); copies of the session die too."""
    if current_user.is_authenticated:
        users.end_sessions(get_db(), current_user.user_id)
    logout_user()
    return redirect(url_for("public.root"))


@bp.route("/language", methods=["POST"])
@login_required
def language():
    """Remember the admin interface language the staff member chose, then show the page they were on."""
    lang = request.form.get("lang", "")
    if lang not in site_languages().published:
        abort(400)
    users.set_language(get_db(), current_user.user_id, lang)
    return redirect(safe_next(request.form.get("next")))
