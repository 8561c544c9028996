"""Admin page: the managed list of categories (names per language, reviewed like the glossary), with add,
rename, delete (refused while releases use it) and merge."""

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from feedsvc import categories
from feedsvc.web.db import get_db
from feedsvc.web.forms import EditorForm
from feedsvc.web.kept import keeps_text

bp = Blueprint("category_admin", __name__, url_prefix="/admin/categories")


class CategoryForm(EditorForm):
    """A category's name in each language; a translated name counts as reviewed once an editor confirms it."""

    name_ru = StringField(_l("Russian name"), validators=[DataRequired(), Length(max=categories.NAME_MAX)])
    name_kk = StringField("Қазақша", validators=[Optional(), Length(max=categories.NAME_MAX)])
    reviewed_kk = BooleanField(_l("The Kazakh name is reviewed"))
    name_en = StringField("English", validators=[Optional(), Length(max=categories.NAME_MAX)])
    reviewed_en = BooleanField(_l("The English name is reviewed"))
    submit = SubmitField(_l("Save category"))

    @classmethod
    def of(cls, category: categories.Category) -> "CategoryForm":
        """The form filled in with a stored category."""
        data = {f"name_{lang}": category.name_in(lang) for lang in categories.NAMED}
        return cls(data=data | {f"reviewed_{lang}": category.reviewed[lang] for lang in categories.TRANSLATED})

    def names(self) -> dict[str, str]:
        """The names typed, by language."""
        return {lang: self[f"name_{lang}"].data or "" for lang in categories.NAMED}


class MergeForm(FlaskForm):
    """Merge this category into another: its releases move there, it goes."""

    into = SelectField(_l("Merge into"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Merge"))


@bp.before_request
@login_required
def require_login() -> None:
    """Staff only."""


@bp.route("/", methods=["GET", "POST"])
@keeps_text(CategoryForm)
def index():
    """Every category with its names and use; add one."""
    db = get_db()
    form = CategoryForm()
    if form.validate_on_submit() and stored(form, lambda: categories.add(db, form.name_ru.data, form.names())):
        flash(_("Category added."), "success")
        return redirect(url_for("category_admin.index"))
    page = render_template("admin/categories.html", categories=categories.all_categories(db),
                           usage=categories.usage(db), form=form)
    return page, 400 if form.errors else 200


def stored(form: CategoryForm, save) -> bool:
    """Run ``save``; a name another category has becomes an error on the Russian name."""
    try:
        save()
    except categories.CategoryExists as exc:
        form.name_ru.errors = [*form.name_ru.errors, _("A category named “%(name)s” exists already.", name=exc.name)]
        return False
    return True


@bp.route("/<id:category_id>", methods=["GET", "POST"])
@keeps_text(lambda category_id: CategoryForm())
def edit(category_id: int):
    """Rename a category in any language, confirm its translated names; merge or delete it."""
    db = get_db()
    category = categories.get(db, category_id)
    form = CategoryForm.of(category)
    reviewed = {lang: form[f"reviewed_{lang}"].data for lang in categories.TRANSLATED}
    if form.validate_on_submit() and stored(form, lambda: categories.rename(db, category_id, form.names(), reviewed)):
        flash(_("Category saved."), "success")
        return redirect(url_for("category_admin.edit", category_id=category_id))
    return render_template("admin/category.html", category=category, form=form, merge=merge_form(category),
                           count=categories.usage(db).get(category_id, 0)), 400 if form.errors else 200


def merge_form(category: categories.Category) -> MergeForm:
    """The merge form, offering every other category."""
    form = MergeForm()
    form.into.choices = [(other.id, other.name) for other in categories.all_categories(get_db())
                         if other.id != category.id]
    return form


@bp.route("/<id:category_id>/merge", methods=["POST"])
def merge(category_id: int):
    """Move a category's releases into another and delete it."""
    db = get_db()
    form = merge_form(categories.get(db, category_id))
    if not form.validate_on_submit():
        flash(_("Choose the category to merge into."), "error")
        return redirect(url_for("category_admin.edit", category_id=category_id))
    source = categories.merge(db, category_id, form.into.data)
    target = categories.get(db, form.into.data)
    flash(_("“%(source)s” was merged into “%(target)s”.", source=source.name, target=target.name), "success")
    return redirect(url_for("category_admin.edit", category_id=target.id))


@bp.route("/<id:category_id>/delete", methods=["POST"])
def delete(category_id: int):
    """Delete a category no release uses; one in use stays, with a message that says why and what to do."""
    try:
        category = categories.delete(get_db(), category_id)
    except categories.CategoryInUse as exc:
        flash(_("“%(name)s” is used by %(count)s releases, so it was not deleted: merge it into another category "
                "instead.", name=exc.category.name, count=exc.count), "error")
        return redirect(url_for("category_admin.edit", category_id=category_id))
    flash(_("Category “%(name)s” deleted.", name=category.name), "success")
    return redirect(url_for("category_admin.index"))
