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
from flask_babel import ngettext
from flask_login import current_user
from flask_login import login_required

from feedsvc import releases
from feedsvc import revisions
from feedsvc.editorial import review
from feedsvc.editorial import sentences
from feedsvc.states import TranslationStatus
from feedsvc.web.db import get_db
from feedsvc.web.extensions import site_languages
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
            **revisions.photo_texts(row), "withdrawal_reason": row.get("withdrawal_reason") or "",
            "correction_note": row.get("correction_note") or "",
            "version": row.get("version", 1),
            "source_revision": release["revision"]}
    return translation_form(config["TITLE_MAX"], config["BODY_MAX"], prefix=lang, data=data, formdata=formdata)


def sentence_pairs(db, row: dict | None, release: dict) -> list[sentences.Sentence] | None:
    """A translation's aligned pairs for the sentence review (None: it has none that line up with its text)."""
    entries = sentences.placed_record(db, row, release) if row and row.get("title") else None
    if entries is None or not sentences.lines_up(entries, row):
        return None
    return [sentences.as_sentence(n, entry) for n, entry in enumerate(entries)]


def render_review(release: dict, forms: dict | None = None, status: int = 200, errors: dict | None = None):
    """The review page; ``forms`` replaces a language's form (to keep what an editor typed), ``errors`` holds a
    language's sentence-form errors."""
    db = get_db()
    languages = site_languages().targets
    translations = releases.translations_of(db, release["id"])
    use = request.args.get("use_suggestion")
    forms = {lang: (forms or {}).get(lang) or edit_form(lang, translations.get(lang, {}), release,
                                                          use_suggestion=(use == lang), formdata=None)
             for lang in languages}
    return render_template("admin/review.html", release=release, translations=translations, forms=forms,
                           pairs={lang: sentence_pairs(db, translations.get(lang), release) for lang in languages},
                           notes={lang: sentences.of_part(translations.get(lang), "correction_note")
                                  for lang in languages},
                           errors=errors or {},
                           rows=review.review_rows(release, translations, site_languages()),
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
                          # Only a withdrawn release's form shows its public reason.
                          withdrawal_reason=form.withdrawal_reason.data if release["withdrawal_reason"] else None,
                          # Only a corrected release's form shows its note.
                          correction_note=form.correction_note.data if release["correction_note"] else None,
                          # Only the photo fields the form showed (and sent) change.
                          photo={key: getattr(form, key).data for key in revisions.PHOTO_TEXTS
                                 if release["photo"] and f"{lang}-{key}" in request.form},
                          # Ticked: every sentence was read, the unchanged ones are approved as they are.
                          seen_all=bool(request.form.get(f"{lang}-seen_all")))
    except review.EditConflict:
        form.form_errors.append(_("This translation was changed by someone else since you opened it. "
                                  "Your text is below; compare it with the current version and save again."))
        set_hidden(form.version, row.get("version"))
        return render_review(release, {lang: form}, 409)
    except review.EmptyTranslation:
        form.form_errors.append(_("The title and the text need words, not only markup."))
        return render_review(release, {lang: form}, 400)
    except sentences.UnpublishableText as exc:
        form.form_errors.append(slot_error(exc))
        return render_review(release, {lang: form}, 400)
    return saved(release_id, lang)


def slot_error(exc: sentences.UnpublishableText) -> str:
    """The form error of text left with protected-token slots, naming the sentences."""
    return _("A sentence still holds a slot such as [1] (a name, number or term the model lost); write the "
             "missing words in: %(sentences)s", sentences=" · ".join(exc.sentences))


def saved(release_id: int, lang: str):
    """After an editor's save: published, or held with the flagged sentences still open listed."""
    row = releases.translations_of(get_db(), release_id).get(lang, {})
    if row.get("status") == TranslationStatus.HELD:
        pairs = sentence_pairs(get_db(), row, releases.get_release(get_db(), release_id)) or []
        still_open = [pair.output for pair in pairs if pair.open] or [_("(see the flagged sentences)")]
        flash(ngettext("Saved, not published: %(num)s flagged sentence is still open (neither changed nor "
                       "approved): %(sentences)s", "Saved, not published: %(num)s flagged sentences are still open "
                       "(neither changed nor approved): %(sentences)s", len(still_open),
                       sentences=" · ".join(still_open)), "error")
    else:
        flash(_("Translation saved as reviewed."), "success")
    return redirect(url_for("review.show", release_id=release_id, _anchor=f"edit-{lang}"))


@bp.route("/review/<target:lang>/sentences", methods=["POST"])
def decide(release_id: int, lang: str):
    """Apply an editor's sentence decisions: each pair's text changed, approved as it is, or an alternative taken."""
    release = release_or_404(release_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        review.decide_sentences(get_db(), release_id, lang, decisions_from(request.form),
                                author=current_user.username, expected_version=form.version.data)
    except review.EditConflict:
        flash(_("This translation was changed by someone else since you opened it. Please look again."), "error")
        return redirect(url_for("review.show", release_id=release_id)), 303
    except review.NotAligned:
        flash(_("This translation no longer lines up sentence by sentence; use the whole-text editor."), "error")
        return redirect(url_for("review.show", release_id=release_id)), 303
    except sentences.UnpublishableText as exc:
        return render_review(release, status=400, errors={lang: [slot_error(exc)]})
    return saved(release_id, lang)


def decisions_from(posted) -> list[sentences.Decision]:
    """The sentence decisions in a posted form: ``text-N`` (a changed text), ``alt-N`` (an alternative taken),
    ``approve-N`` (approved as it is), N being the sentence's place in the record."""
    decisions = []
    for key in posted:
        if key.startswith("shown-") and key[6:].isdigit():
            number = int(key[6:])
            text, shown = posted.get(f"alt-{number}") or posted.get(f"text-{number}"), posted[key]
            if text is not None and " ".join(text.split()) != " ".join(shown.split()):
                decisions.append(sentences.Decision(number, review.plain_text(text).replace("\n", " ")))
            elif posted.get(f"approve-{number}"):
                decisions.append(sentences.Decision(number))
    return decisions


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


def confirmed(release: dict, lang: str, refusal: str):
    """The posted form of an action that asks for a ticked confirmation box (the CSP allows no script), and the
    page refusing it when the box was not ticked (None when it was); a bad CSRF token is a 400."""
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("confirm"):
        return form, None
    return form, render_review(release, status=400, errors={lang: [refusal]})


@bp.route("/review/<target:lang>/approve", methods=["POST"])
def approve(release_id: int, lang: str):
    """Publish a machine translation held for review, as it is, once the editor confirmed reading every sentence."""
    release = release_or_404(release_id)
    form, refused = confirmed(release, lang, _("Tick “I have read every sentence” to approve the whole translation."))
    if refused:
        return refused
    try:
        review.approve(get_db(), release_id, lang, author=current_user.username, expected_version=form.version.data)
    except review.EditConflict:
        flash(_("This translation was changed by someone else since you opened it. Please look again."), "error")
        return redirect(url_for("review.show", release_id=release_id)), 303
    except sentences.UnpublishableText as exc:
        return render_review(release, status=400, errors={lang: [slot_error(exc)]})
    flash(_("Translation approved and published."), "success")
    return redirect(url_for("review.show", release_id=release_id, _anchor=f"edit-{lang}"))


@bp.route("/review/<target:lang>/take-down", methods=["POST"])
def take_down(release_id: int, lang: str):
    """Take a language's published text away from readers at once, once the editor confirmed it."""
    release = release_or_404(release_id)
    _form, refused = confirmed(release, lang, _("Tick “Take it down” to confirm: readers will see the Russian "
                                                "original until a new translation is published."))
    if refused:
        return refused
    if review.take_down(get_db(), release_id, lang, author=current_user.username):
        flash(_("The published translation was taken down."), "success")
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
    languages = site_languages()
    if lang == languages.source:
        releases.update_release(db, release_id, {"title": old["title"], "body": old["body"]}, languages.targets,
                                author=current_user.username)
    else:
        # Judged against the original it was made for (outdated if that moved on), and never taught
        # to the memory: an old text is not a correction of today's Russian sentences.
        photo = revisions.photo_texts(old)
        review.save_human(db, release_id, lang, old["title"], old["body"], author=current_user.username,
                          expected_version=None, source_revision=old["source_revision"], learn=False,
                          photo=photo if any(photo.values()) else None)
    flash(_("Version restored."), "success")
    return redirect(url_for("review.history", release_id=release_id, lang=lang))
