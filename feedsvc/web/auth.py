"""Admin login and logout."""

import re
import sqlite3

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from feedsvc.web import users
from feedsvc.web.db import get_db
from feedsvc.web.extensions import limiter
from feedsvc.web.extensions import login_manager
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
    """The configured login rate limit (read per request, never at import)."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def safe_next(target: str | None) -> str:
    """Only local admin paths may be redirected to after login."""
    if target and re.fullmatch(r"/admin[^\x00-\x1f\x7f\\]*", target):
        return target
    return url_for("admin.releases")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    """Log an admin in."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(get_db(), form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
        flash(_("Wrong user name or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST, so a link on another site cannot do it); copies of the session die too."""
    if current_user.is_authenticated:
        users.end_sessions(get_db(), current_user.user_id)
    logout_user()
    return redirect(url_for("public.root"))
