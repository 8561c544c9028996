"""The review queue: every translation waiting for an editor, filtered by language and flag, oldest first."""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_login import login_required
from flask_wtf import FlaskForm

from feedsvc.editorial import review
from feedsvc.translation.checks import Flag
from feedsvc.web.db import get_db

bp = Blueprint("queue", __name__, url_prefix="/admin/review-queue")


@bp.before_request
@login_required
def require_login() -> None:
    """Admins only."""


@bp.app_context_processor
def queue_count() -> dict:
    """The queue's size for the navigation, counted only when a page shows it (to a logged-in editor)."""
    return {"review_queue_count": lambda: review.queue_count(get_db())}


@bp.route("/")
def index():
    """Held and outdated translations, oldest first; ?lang= and ?flag= filter them."""
    lang = request.args.get("lang") if request.args.get("lang") in current_app.config["TARGET_LANGUAGES"] else None
    flag = request.args.get("flag") if request.args.get("flag") in tuple(Flag) else None
    return render_template("admin/queue.html", rows=review.queue(get_db(), lang, flag), lang=lang, flag=flag,
                           flags=tuple(Flag), languages=current_app.config["TARGET_LANGUAGES"], form=FlaskForm())


@bp.route("/approve", methods=["POST"])
def approve():
    """Approve, as they are, the sentences an editor ticked (each ``pick`` is release:lang:sentence:version)."""
    if not FlaskForm().validate_on_submit():  # the CSRF token (each pick names its translation's version)
        abort(400)
    picked = [parsed for value in request.form.getlist("pick") if (parsed := parse_pick(value))]
    if not picked:
        flash(_("Tick the sentences to approve first."), "error")
        return redirect(url_for("queue.index"))
    approved, refused = review.approve_picked(get_db(), picked, author=current_user.username)
    flash(ngettext("%(num)s sentence approved.", "%(num)s sentences approved.", approved), "success")
    if refused:
        flash(_("Some translations changed since you opened the queue and were left alone; please look again."),
              "error")
    return redirect(url_for("queue.index"))


def parse_pick(value: str) -> tuple[int, str, int, int] | None:
    """One ticked sentence (release id, language, place in the record, version); None if malformed."""
    parts = value.split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in (parts[0], parts[2], parts[3])):
        return None
    if parts[1] not in current_app.config["TARGET_LANGUAGES"]:
        return None
    return int(parts[0]), parts[1], int(parts[2]), int(parts[3])
