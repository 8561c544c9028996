"""Review screen: the original and its translations side by side; human edits, suggestions, history."""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from feedsvc import releases
from feedsvc import revisions
from feedsvc.editorial import review
from feedsvc.web.db import get_db
from feedsvc.web.forms import VersionForm
from feedsvc.web.forms import set_hidden
from feedsvc.web.forms import translation_form
from feedsvc.web.kept import keeps_text

bp = Blueprint("review", __name__, url_prefix="/admin/releases/<id:release_id>")


@bp.before_request
@login_required
def require_login() -> None:
    """Admins only."""


def release_or_404(release_id: int) -> dict:
    """The release (a missing one is a 404 page, through web.domain_error)."""
    return releases.get_release(get_db(), release_id)


def edit_form(lang: str, row: dict, release: dict, *, use_suggestion: bool = False, formdata=None):
    """The edit form of one language, filled from the stored translation (or its suggestion)."""
    config = current_app.config
    title, body = (row.get("suggestion_title"), row.get("suggestion_body")) if use_suggestion else (
        row.get("title"), row.get("body"))
    data = {"title": title or "", "body": body or "", "category": row.get("category") or "",
            **revisions.photo_texts(row), "version": row.get("version", 1),
            "source_revision": release["revision"]}
    return translation_form(config["TITLE_MAX"], config["BODY_MAX"], prefix=lang, data=data, formdata=formdata)


def render_review(release: dict, forms: dict | None = None, status: int = 200):
    """The review page; ``forms`` replaces a language's form (to keep what an editor typed)."""
    db = get_db()
    languages = current_app.config["TARGET_LANGUAGES"]
    translations = releases.translations_of(db, release["id"])
    use = request.args.get("use_suggestion")
    forms = {lang: (forms or {}).get(lang) or edit_form(lang, translations.get(lang, {}), release,
                                                          use_suggestion=(use == lang), formdata=None)
             for lang in languages}
    return render_template("admin/review.html", release=release, translations=translations, forms=forms,
                           rows=review.flag_rows(review.review_rows(release, translations, languages), translations),
                           languages=languages,
                           version_forms={lang: VersionForm(data={"version": translations.get(lang, {})
                                                                  .get("version", 1)}) for lang in languages}), status


@bp.route("/review")
def show(release_id: int):
    """Side-by-side review of a release."""
    return render_review(release_or_404(release_id))


@bp.route("/review/<target:lang>", methods=["POST"])
@keeps_text(lambda release_id, lang: translation_form(current_app.config["TITLE_MAX"], current_app.config["BODY_MAX"],
                                                      prefix=lang))
def save(release_id: int, lang: str):
    """Save an editor's translation as reviewed; refuse it if someone changed it meanwhile."""
    release = release_or_404(release_id)
    row = releases.translations_of(get_db(), release_id).get(lang, {})
    form = edit_form(lang, row, release, formdata=request.form)
    if not form.validate_on_submit():
        return render_review(release, {lang: form}, 400)
    try:
        review.save_human(get_db(), release_id, lang, form.title.data, form.body.data,
                          author=current_user.username, expected_version=form.version.data,
                          source_revision=form.source_revision.data,
                          # Without a Russian category the field is not shown: keep what is stored.
                          category=form.category.data if release["category"] else None,
                          # Only the photo fields the form showed (and sent) change.
                          photo={key: getattr(form, key).data for key in revisions.PHOTO_TEXTS
                                 if release["photo"] and f"{lang}-{key}" in request.form})
    except review.EditConflict:
        form.form_errors.append(_("This translation was changed by someone else since you opened it. "
                                  "Your text is below; compare it with the current version and save again."))
        set_hidden(form.version, row.get("version"))
        return render_review(release, {lang: form}, 409)
    except review.EmptyTranslation:
        form.form_errors.append(_("The title and the text need words, not only markup."))
        return render_review(release, {lang: form}, 400)
    flash(_("Translation saved as reviewed."), "success")
    return redirect(url_for("review.show", release_id=release_id, _anchor=f"edit-{lang}"))


@bp.route("/review/<target:lang>/<any(accept, ignore):action>", methods=["POST"])
def suggestion(release_id: int, lang: str, action: str):
    """Accept the machine suggestion, or ignore it and confirm the reviewed text."""
    release_or_404(release_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    act = review.accept_suggestion if action == "accept" else review.ignore_suggestion
    try:
        act(get_db(), release_id, lang, author=current_user.username, expected_version=form.version.data)
    except review.EditConflict:
        flash(_("This translation was changed by someone else since you opened it. Please look again."), "error")
        return redirect(url_for("review.show", release_id=release_id)), 303
    flash(_("Suggestion accepted.") if action == "accept" else _("Reviewed translation confirmed."), "success")
    return redirect(url_for("review.show", release_id=release_id))


@bp.route("/review/<target:lang>/approve", methods=["POST"])
def approve(release_id: int, lang: str):
    """Publish a machine translation held for review, as it is."""
    release_or_404(release_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        review.approve(get_db(), release_id, lang, author=current_user.username, expected_version=form.version.data)
    except review.EditConflict:
        flash(_("This translation was changed by someone else since you opened it. Please look again."), "error")
        return redirect(url_for("review.show", release_id=release_id)), 303
    flash(_("Translation approved and published."), "success")
    return redirect(url_for("review.show", release_id=release_id, _anchor=f"edit-{lang}"))


@bp.route("/history/<lang:lang>")
def history(release_id: int, lang: str):
    """Every saved version, and a diff between two of them (?a=&b=)."""
    release = release_or_404(release_id)
    versions = revisions.list_revisions(get_db(), release_id, lang)
    compared = None
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    if a and b:
        old, new = (revisions.get_revision(get_db(), release_id, lang, n) for n in sorted((a, b)))
        compared = {"old": old, "new": new, "diff": revisions.diff(old, new)}
    elif len(versions) >= 2:
        compared = {"old": versions[1], "new": versions[0], "diff": revisions.diff(versions[1], versions[0])}
    return render_template("admin/history.html", release=release, lang=lang, versions=versions,
                           compared=compared)


@bp.route("/history/<lang:lang>/<id:revision_id>/restore", methods=["POST"])
def restore(release_id: int, lang: str, revision_id: int):
    """Make an old version current again (as a new version: history is never rewritten)."""
    release_or_404(release_id)
    db = get_db()
    old = revisions.get_revision(db, release_id, lang, revision_id)
    if lang == "ru":
        releases.update_release(db, release_id, {"title": old["title"], "body": old["body"]},
                                tuple(current_app.config["TARGET_LANGUAGES"]), author=current_user.username)
    else:
        # Judged against the original it was made for (outdated if that moved on), and never taught
        # to the memory: an old text is not a correction of today's Russian sentences.
        photo = revisions.photo_texts(old)
        review.save_human(db, release_id, lang, old["title"], old["body"], author=current_user.username,
                          expected_version=None, source_revision=old["source_revision"], learn=False,
                          photo=photo if any(photo.values()) else None)
    flash(_("Version restored."), "success")
    return redirect(url_for("review.history", release_id=release_id, lang=lang))
