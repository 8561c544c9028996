"""Admin pages for press staff: the release list, the upload/edit form, publish and withdraw."""

import sqlite3
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import send_from_directory
from flask import url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import current_user
from flask_login import login_required

from feedsvc import categories
from feedsvc import clock
from feedsvc import errors
from feedsvc import jobs
from feedsvc import photos
from feedsvc import releases
from feedsvc import websub
from feedsvc.states import ReleaseStatus
from feedsvc.web import labels
from feedsvc.web.db import get_db
from feedsvc.web.extensions import site_languages
from feedsvc.web.forms import CORRECTION
from feedsvc.web.forms import StatusForm
from feedsvc.web.forms import release_filter_form
from feedsvc.web.forms import release_form
from feedsvc.web.forms import set_hidden
from feedsvc.web.kept import keeps_text
from feedsvc.web.public import page_number
from feedsvc.web.public import release_page
from feedsvc.web.public import release_views

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_login() -> None:
    """Every admin page needs a logged-in user."""


def form_for(release: dict | None = None, **form_options):
    """The release form, filled from a stored release when editing (an empty date: dated when published)."""
    config = current_app.config
    data = {}
    if release:
        data = {k: release[k] for k in ("title", "body", "category", "photo_caption", "photo_credit", "version")}
        data["published_at"] = shown_date(release)
    zone = labels.zone_label(labels.local_moment(clock.now()))  # the zone the typed time is read in
    names = [category.name for category in categories.all_categories(get_db())]
    return release_form(config["TITLE_MAX"], config["BODY_MAX"], data=data, timezone=zone, categories=names,
                        **form_options)


def shown_date(release: dict) -> datetime | None:
    """The date field's value for a stored release: its date in the press office's time zone, to the minute the
    field shows; empty for a never published draft no editor dated (publishing stamps it)."""
    if not release["date_set"] and release["seq"] is None:
        return None
    moment = labels.local_moment(release["published_at"])
    return moment.replace(tzinfo=None, second=0, microsecond=0)


@bp.route("/", endpoint="releases")
def releases_list():
    """Releases newest first, a page at a time, filtered by status, translation, category and date."""
    db = get_db()
    form = filter_form(db)
    if not form.validate():
        return render_template("admin/releases.html", rows=[], form=form, page=1, more=False,
                               jobs=jobs.counts(db, jobs.UNFINISHED), websub_failing=websub.failing(db)), 400
    page = page_number()
    rows, more = releases.list_admin(db, shown_releases(form), page=page, size=current_app.config["ADMIN_PAGE_SIZE"])
    if page > 1 and not rows:
        abort(404)
    return render_template("admin/releases.html", rows=rows, form=form, page=page, more=more,
                           jobs=jobs.counts(db, jobs.UNFINISHED), websub_failing=websub.failing(db))


def filter_form(db):
    """The list's filter form, read from the query string."""
    return release_filter_form(request.args, list(current_app.config["TARGET_LANGUAGES"]), releases.categories(db))


def shown_releases(form) -> releases.ReleaseFilter:
    """The filter the form asks for; dates are days in the press office's time zone (``until`` included)."""
    return releases.ReleaseFilter(status=form.status.data or None, lang=form.lang.data or None,
                                  translation=form.translation.data or None, category=form.category.data or None,
                                  since=labels.day_start(form.since.data),
                                  until=labels.day_start(form.until.data, 1))


def fields_from(form, release: dict | None = None) -> dict:
    """The form's values as release fields; the date gets the press office's time zone.

    An empty date means "when published" for a new release, and the stored date for an edit: clearing the
    field must not move an old release to the top of the feeds. A date left as the form showed it keeps the
    stored time to the second (the field shows minutes only).
    """
    fields = {
        "title": form.title.data, "body": form.body.data, "category": form.category.data or "",
        "photo_caption": form.photo_caption.data or "", "photo_credit": form.photo_credit.data or "",
    }
    unchanged = release is not None and form.published_at.data == shown_date(release)
    if form.published_at.data and not unchanged:
        fields["published_at"] = form.published_at.data.replace(tzinfo=labels.office_zone())
    return fields


def stored_photo(form) -> dict | None:
    """Save the uploaded photo, if any; a bad file becomes a form error and returns False."""
    upload = form.photo.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    config = current_app.config
    try:
        return photos.save_photo(upload.read(), config["UPLOAD_FOLDER"], max_bytes=config["PHOTO_MAX_BYTES"],
                                 max_pixels=config["PHOTO_MAX_PIXELS"], max_seconds=config["PHOTO_DECODE_SECONDS"])
    except photos.InvalidPhoto as exc:
        form.photo.errors = [*form.photo.errors, photo_error(exc.reason)]
        return False


def photo_error(reason: str) -> str:
    """Why a photo was refused, in the admin's language."""
    reasons = {
        photos.NOT_AN_IMAGE: _("it is not a JPEG, PNG or WebP image"),
        photos.TOO_MANY_PIXELS: _("it has too many pixels"),
        photos.DAMAGED: _("the image file is damaged"),
        photos.TOO_LARGE: _("the file is larger than %(mb)s MB", mb=current_app.config["PHOTO_MAX_BYTES"] // 2**20),
        photos.TOO_LONG: _("it is longer or wider than %(px)s pixels", px=photos.JPEG_MAX_SIDE),
        photos.TOO_MANY_SCANS: _("it is a progressive JPEG of more than %(scans)s scans", scans=photos.MAX_SCANS),
        photos.TOO_SLOW: _("it takes too long to decode"),
    }
    return _("The photo was refused: %(reason)s.", reason=reasons.get(reason, reason))


@bp.route("/releases/new", methods=["GET", "POST"])
@keeps_text(form_for)
def new_release():
    """Upload a new release: save as draft or publish."""
    form = form_for()
    response = form.validate_on_submit() and submit(form, None)
    return response or (render_template("admin/form.html", form=form, release=None), 400 if form.errors else 200)


def submit(form, release: dict | None):
    """Store the photo, then the new or edited release; None when the photo was refused (a form error)."""
    try:
        photo = stored_photo(form)
    except OSError as exc:  # disk full or read-only: nothing was stored (web.kept shows the form again)
        raise errors.StorageUnavailable("the photo could not be stored") from exc
    if photo is False:
        return None
    return save_new(form, photo) if release is None else save_edit(get_db(), release, form, photo)


def save_new(form, photo: dict | None):
    """Create the release; if the database refuses, the new photo file goes too."""
    try:
        release = releases.create_release(
            get_db(), **fields_from(form), photo=photo, publish=bool(form.publish.data),
            languages=site_languages().targets, author=current_user.username)
    except sqlite3.Error as exc:
        photos.delete_stored(get_db(), current_app.config["UPLOAD_FOLDER"], photo)
        raise errors.StorageUnavailable("the release could not be stored") from exc
    flash(_("Release saved.") if not form.publish.data else published_message(release), "success")
    return redirect(url_for("admin.edit_release", release_id=release["id"]))


def published_message(release: dict) -> str:
    """What publishing said: published, or scheduled for the time readers will see it from."""
    if releases.is_scheduled(release):
        return _("Release scheduled: readers see it from %(time)s.", time=labels.localdt(release["published_at"]))
    return _("Release published.")


@bp.route("/releases/<id:release_id>/edit", methods=["GET", "POST"])
@keeps_text(lambda release_id: form_for())
def edit_release(release_id: int):
    """Edit a release; a text change re-queues its translations."""
    release = get_or_404(release_id)
    form = form_for(release)
    response = form.validate_on_submit() and submit(form, release)
    if response:
        return response
    return edit_page(form, release, 400 if form.errors else 200)


def save_edit(db, release: dict, form, photo: dict | None):
    """Store an edit, replacing or removing the photo; the old file goes only after the commit."""
    changes = fields_from(form, release)
    if photo:
        changes.update(photo)
    elif form.remove_photo.data:
        changes.update(dict.fromkeys(releases.PHOTO_FIELDS))
    try:
        releases.update_release(db, release["id"], changes, site_languages().targets,
                                author=current_user.username, expected_version=form.version.data,
                                correction=form.correction_note.data if form.change.data == CORRECTION else "")
    except releases.EditConflict:
        photos.delete_stored(db, current_app.config["UPLOAD_FOLDER"], photo)
        return edit_conflict(form, release["id"])
    except sqlite3.Error as exc:
        photos.delete_stored(db, current_app.config["UPLOAD_FOLDER"], photo)
        raise errors.StorageUnavailable("the release could not be stored") from exc
    if photo or form.remove_photo.data:
        photos.delete_stored(db, current_app.config["UPLOAD_FOLDER"], release)
    if form.publish.data and release["status"] != ReleaseStatus.PUBLISHED:
        releases.set_status(db, release["id"], ReleaseStatus.PUBLISHED, site_languages().targets)
    flash(_("Release saved."), "success")
    return redirect(url_for("admin.edit_release", release_id=release["id"]))


@bp.route("/media/<name>")
def photo(name: str):
    """A release's photo for staff whatever the release's status: drafts need a preview too."""
    if get_db().execute("select 1 from releases where photo = ?", [name]).fetchone() is None:
        abort(404)
    response = send_from_directory(current_app.config["UPLOAD_FOLDER"], name, max_age=0)
    response.cache_control.private = True  # a draft's photo must not sit in a shared cache
    return response


def edit_conflict(form, release_id: int):
    """Someone saved the release since this form was opened: keep what was typed, say so, change nothing."""
    current = get_or_404(release_id)
    form.form_errors.append(_("This release was changed by someone else since you opened it. Your text is below; "
                              "compare it with the current version (History) and save again."))
    set_hidden(form.version, current["version"])  # saving again is now a deliberate choice
    return edit_page(form, current, 409)


def edit_page(form, release: dict, status: int, status_form: StatusForm | None = None):
    """The edit form of a stored release, with its translations' status and the status buttons."""
    translations = releases.translations_of(get_db(), release["id"])
    return render_template("admin/form.html", form=form, release=release, translations=translations,
                           status_form=status_form or StatusForm()), status


def get_or_404(release_id: int) -> dict:
    """The release (a missing one is a 404 page, through web.domain_error)."""
    return releases.get_release(get_db(), release_id)


@bp.route(f"/releases/<id:release_id>/<any({', '.join(ReleaseStatus)}):status>", methods=["POST"])
@keeps_text(lambda release_id, status: StatusForm())
def change_status(release_id: int, status: str):
    """Publish, unpublish or withdraw with an optional public reason (the GUID stays reserved)."""
    release = get_or_404(release_id)
    form = StatusForm()
    if not form.validate_on_submit():  # shown again (web.kept): the reason typed stays in its field
        return edit_page(form_for(release), release, 400, status_form=form)
    if status == ReleaseStatus.WITHDRAWN and not form.confirm.data:  # a checkbox: no script needed (CSP)
        # shown again with the reason typed kept, as any refused form
        flash(_("Tick “Withdraw this release” to confirm: readers will get a “withdrawn” page."), "error")
        return edit_page(form_for(release), release, 400, status_form=form)
    reason = (form.reason.data or "")[: current_app.config["TITLE_MAX"]]
    release = releases.set_status(get_db(), release_id, status, site_languages().targets, reason=reason)
    flash({ReleaseStatus.PUBLISHED: published_message(release), ReleaseStatus.DRAFT: _("Release moved back to drafts."),
           ReleaseStatus.WITHDRAWN: _("Release withdrawn.")}[status], "success")
    return redirect(url_for("admin.edit_release", release_id=release_id))


@bp.route("/releases/<id:release_id>/preview/<lang:lang>")
def preview(release_id: int, lang: str):
    """A release's public page in a language as readers would see it, whatever its status (a draft, a scheduled
    one): marked "not published" and noindex; its public URL stays 404 until it is published."""
    row = releases.get_release(get_db(), release_id)
    g.lang = lang
    refresh()  # the page speaks its language, not the editor's chosen one
    return release_page(row, release_views(row), lang, preview=True)
