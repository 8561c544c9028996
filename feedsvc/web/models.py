"""Admin page: installed translation models and the route each language takes (as `feedsvc models list`)."""

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import login_required

from feedsvc import jobs
from feedsvc import translations
from feedsvc.modelstore import evaluate
from feedsvc.modelstore import packages
from feedsvc.web.db import get_db
from feedsvc.web.extensions import site_languages

bp = Blueprint("models", __name__, url_prefix="/admin/models")


@bp.before_request
@login_required
def require_login() -> None:
    """Admins only."""


@bp.route("/")
def index():
    """Packages, routes per target language, and the queue."""
    installed, broken = packages.scan_packages(current_app.config["MODELS_DIR"])
    languages = site_languages()
    routes = {lang: packages.find_route(installed, languages.source, lang) for lang in languages.targets}
    return render_template("admin/models.html", installed=installed, routes=routes, jobs=jobs.counts(get_db()),
                           fix=packages.fix_command, models_dir=current_app.config["MODELS_DIR"],
                           counts=translations.status_counts(get_db()),
                           evaluations=evaluate.latest(get_db()), broken=broken)


@bp.route("/retranslate/<target:lang>", methods=["POST"])
def retranslate(lang: str):
    """Re-queue every machine translation of a language (after a model upgrade)."""
    queued = jobs.requeue_machine(get_db(), lang)
    flash(_("%(count)s machine translations queued again; reviewed ones are kept.", count=queued), "success")
    return redirect(url_for("models.index"))
