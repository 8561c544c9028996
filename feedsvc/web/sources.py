"""Admin page: the office's own feeds feedsvc follows (FEED_SOURCES), each with its state and last error."""

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask_login import login_required

from feedsvc import sources
from feedsvc.web.db import get_db

bp = Blueprint("sources", __name__, url_prefix="/admin/sources")


@bp.before_request
@login_required
def require_login() -> None:
    """Admins only."""


@bp.route("/")
def index():
    """Each source: when it was fetched, last read, polled next, its last error and what it brought."""
    return render_template("admin/sources.html", sources=sources.states(get_db(), current_app.config["FEED_SOURCES"]))
