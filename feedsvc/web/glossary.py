"""Admin page: the glossary (terms fixed in every language), with add, edit, delete and CSV import."""

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from wtforms import BooleanField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from feedsvc import jobs
from feedsvc import releases
from feedsvc.storage import write
from feedsvc.translation import glossary
from feedsvc.web.db import get_db
from feedsvc.web.forms import EditorForm
from feedsvc.web.kept import keeps_text

bp = Blueprint("glossary", __name__, url_prefix="/admin/glossary")


class TermForm(EditorForm):
    """One term: Russian forms (| between forms, * for any ending) and fixed targets."""

    ru = StringField(_l("Russian forms"), validators=[DataRequired(), Length(max=500)],
                     description=_l("Separate forms with |; a * after a word stands for any ending."))
    en = StringField("English", validators=[Optional(), Length(max=200)])
    kk = StringField("Қазақша", validators=[Optional(), Length(max=200)])
    valid_from = StringField(_l("Valid from"), validators=[Optional(), Length(max=20)],
                             description=_l("A date (2019-03-23); empty: always was."))
    valid_until = StringField(_l("Valid until"), validators=[Optional(), Length(max=20)],
                              description=_l("The last day the form holds (2022-09-16); empty: still holds."))
    forbidden_en = BooleanField(_l("The English form is forbidden (never to be published)"))
    forbidden_kk = BooleanField(_l("The Kazakh form is forbidden (never to be published)"))
    submit = SubmitField(_l("Save term"))

    @classmethod
    def of(cls, term) -> "TermForm":
        """The form filled in with a stored term."""
        return cls(data={"ru": term.source, "en": term.targets.get("en"), "kk": term.targets.get("kk"),
                         "valid_from": term.valid_from, "valid_until": term.valid_until,
                         "forbidden_en": "en" in term.forbidden, "forbidden_kk": "kk" in term.forbidden})


def saved(form: TermForm, term_id: int | None = None) -> bool:
    """Store the form's term; a refused one becomes an error on the field at fault."""
    forbidden = " ".join(lang for lang in glossary.TARGETS if form[f"forbidden_{lang}"].data)
    try:
        glossary.save_term(get_db(), form.ru.data, {"en": form.en.data or "", "kk": form.kk.data or ""}, term_id,
                           valid_from=form.valid_from.data, valid_until=form.valid_until.data, forbidden=forbidden)
    except glossary.BadGlossary as exc:
        field = form["forbidden_en" if exc.field == "forbidden" else exc.field]
        field.errors = [*field.errors, message(exc)]
        return False
    return True


@bp.before_request
@login_required
def require_login() -> None:
    """Admins only."""


@bp.route("/", methods=["GET", "POST"])
@keeps_text(TermForm)
def index():
    """List terms; add one."""
    form = TermForm()
    if form.validate_on_submit() and saved(form):
        flash(_("Term saved."), "success")
        return redirect(url_for("glossary.index"))
    page = render_template("admin/glossary.html", terms=glossary.load_terms(get_db()), form=form)
    return page, 400 if form.errors else 200


@bp.route("/<id:term_id>", methods=["GET", "POST"])
@keeps_text(lambda term_id: TermForm())
def edit(term_id: int):
    """Change a term; see which releases use it."""
    db = get_db()
    term = glossary.get_term(db, term_id)
    form = TermForm.of(term)
    if form.validate_on_submit() and saved(form, term_id):
        flash(_("Term saved."), "success")
        return redirect(url_for("glossary.edit", term_id=term_id))
    return render_template("admin/glossary_term.html", term=term, form=form,
                           uses=glossary.releases_using(db, term)), 400 if form.errors else 200


@bp.route("/<id:term_id>/retranslate", methods=["POST"])
def retranslate(term_id: int):
    """Re-queue the translations of every release that uses the term (reviewed ones get suggestions)."""
    db = get_db()
    uses = glossary.releases_using(db, glossary.get_term(db, term_id))
    languages = current_app.config["TARGET_LANGUAGES"]
    for release in uses:
        with write(db):
            jobs.enqueue_release(db, releases.get_release(db, release["id"]), languages)
    flash(_("%(count)s releases queued for translation again.", count=len(uses)), "success")
    return redirect(url_for("glossary.edit", term_id=term_id))


@bp.route("/<id:term_id>/delete", methods=["POST"])
def delete(term_id: int):
    """Delete a term."""
    glossary.delete_term(get_db(), term_id)
    flash(_("Term deleted."), "success")
    return redirect(url_for("glossary.index"))


@bp.route("/export.csv")
def export():
    """Download the glossary as CSV."""
    return glossary.export_csv(get_db()), 200, {
        "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": "attachment; filename=glossary.csv"}


@bp.route("/import", methods=["POST"])
def import_csv():
    """Upload a CSV (ru,en,kk, and valid_from,valid_until,forbidden if wanted); all or nothing."""
    upload = request.files.get("file")
    try:
        text = upload.read().decode("utf-8-sig") if upload else ""
        if text.count("\n") > current_app.config["GLOSSARY_WEB_IMPORT_ROWS"]:
            raise glossary.BadGlossary(glossary.N_("more than %(rows)s rows: import a file this large on the server "
                                                   "with `feedsvc glossary import FILE.csv`"),
                                       rows=current_app.config["GLOSSARY_WEB_IMPORT_ROWS"])
        count = glossary.import_csv(get_db(), text)
    except UnicodeDecodeError:
        return refused_csv(_("the file is not UTF-8 text"))
    except glossary.BadGlossary as exc:
        return refused_csv(message(exc))
    flash(_("%(count)s terms imported.", count=count), "success")
    return redirect(url_for("glossary.index"))


def refused_csv(reason: str):
    """Say why the CSV was refused (nothing was imported) and go back to the glossary."""
    flash(_("The CSV was refused: %(reason)s", reason=reason), "error")
    return redirect(url_for("glossary.index"))


def message(exc: glossary.BadGlossary) -> str:
    """Why a term or CSV was refused, in the editor's language (a CSV line's error within it too)."""
    return _(exc.template, **{name: message(value) if isinstance(value, glossary.BadGlossary) else value
                              for name, value in exc.values.items()})
