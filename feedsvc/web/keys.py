"""Admin page: API keys for the LibreTranslate-compatible endpoint and the CMS API, made, listed and revoked.

A new key is shown once, on the page that made it; only its hash is stored (feedsvc.apikeys).
"""

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from feedsvc import apikeys
from feedsvc.states import ApiScope
from feedsvc.web.db import get_db
from feedsvc.web.forms import EditorForm

bp = Blueprint("keys", __name__, url_prefix="/admin/keys")


def scope_labels() -> dict[str, str]:
    """What each scope lets a key do, in the interface's language."""
    return {ApiScope.TRANSLATE: _("Translate (LibreTranslate-compatible endpoint)"),
            ApiScope.READ: _("Read releases (CMS API)"), ApiScope.WRITE: _("Read and write releases (CMS API)")}


class KeyForm(EditorForm):
    """A new key: who or what it is for, and what it may do."""

    name = StringField(_l("Name (who or what uses it)"), validators=[DataRequired(), Length(max=apikeys.NAME_MAX)])
    scope = SelectField(_l("Allowed"), choices=list(ApiScope))
    submit = SubmitField(_l("Make a key"))


@bp.before_request
@login_required
def require_login() -> None:
    """Admins only."""


@bp.route("/", methods=["GET", "POST"])
def index():
    """The keys, and a form that makes one (its secret shown on this page only)."""
    form = KeyForm()
    form.scope.choices = list(scope_labels().items())
    secret = None
    if form.validate_on_submit():
        row, secret = apikeys.create(get_db(), form.name.data, form.scope.data)
        flash(_("Key “%(name)s” made. Copy it now: it is not shown again.", name=row["name"]), "success")
    return render_template("admin/keys.html", form=form, keys=apikeys.list_keys(get_db()), secret=secret,
                           scopes=scope_labels())


@bp.route("/<id:key_id>/revoke", methods=["POST"])
def revoke(key_id: int):
    """Revoke a key: it stops working at once."""
    row = apikeys.revoke(get_db(), key_id)
    flash(_("Key “%(name)s” revoked.", name=row["name"]), "success")
    return redirect(url_for("keys.index"))
