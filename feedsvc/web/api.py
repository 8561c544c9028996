"""The JSON API for the office's CMS, under /api/: releases created, edited, published and withdrawn, and each
translation read with its status and provenance.

Token authentication (``Authorization: Bearer fsk_…``, keys made in the admin with the read or write scope); the
admin form's own validation (web.forms.release_form, given the JSON as its form data), so a release the form
refuses the API refuses with the same words; every error as RFC 9457 problem details; rate limits per token;
the description at /api/openapi.json.
"""

from datetime import datetime

from flask import Blueprint
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from flask import url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import Unauthorized
from werkzeug.http import HTTP_STATUS_CODES

from feedsvc import apikeys
from feedsvc import errors
from feedsvc import releases
from feedsvc import translations
from feedsvc.states import ApiScope
from feedsvc.states import ReleaseStatus
from feedsvc.web import STATUS_CODES
from feedsvc.web import labels
from feedsvc.web.admin import fields_from
from feedsvc.web.admin import form_for
from feedsvc.web.db import get_db
from feedsvc.web.extensions import csrf
from feedsvc.web.extensions import limiter
from feedsvc.web.openapi import description

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)  # a bearer token, never a cookie: there is no session to forge a request with
PROBLEM = "application/problem+json"
TEXT_FIELDS = ("title", "body", "category", "photo_caption", "photo_credit", "published_at")
# What a release's JSON may carry: its texts, whether to publish it, and the version it was read at.
INPUT_FIELDS = (*TEXT_FIELDS, "publish", "version")


class Problem(HTTPException):
    """An HTTP error with RFC 9457 details: ``errors`` lists each field's messages (a JSON pointer and a detail)."""

    def __init__(self, code: int, detail: str, problems: list[dict] | None = None):
        """Keep the status, the detail and the field errors."""
        super().__init__(detail)
        self.code, self.problems = code, problems or []


def token_key() -> str:
    """Rate limits count per token (by its hash), else per client address."""
    token = bearer()
    return f"token:{apikeys.key_hash(token)}" if token else f"ip:{request.remote_addr}"


limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=token_key)(bp)


@bp.errorhandler(HTTPException)
def problem(exc: HTTPException):
    """Every error of the API as problem details (RFC 9457): type, title, status, detail, and field errors."""
    code = exc.code or 500
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(code, "Error"), "status": code,
            "detail": exc.description, "instance": request.path}
    if isinstance(exc, Problem) and exc.problems:
        body["errors"] = exc.problems
    response = jsonify(body)
    response.status_code, response.content_type = code, PROBLEM
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="feedsvc"'
    if code == 429:
        response.headers["Retry-After"] = "60"
    return response


@bp.errorhandler(errors.FeedsvcError)
def domain_problem(exc: errors.FeedsvcError):
    """A domain error as the problem of its kind (web.STATUS_CODES: not found, gone, conflict, invalid)."""
    for kind, http_error in STATUS_CODES:
        if isinstance(exc, kind):
            return problem(http_error(str(exc)))
    raise exc


def bearer() -> str | None:
    """The token of the ``Authorization: Bearer …`` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authorize(scope: ApiScope) -> dict:
    """The request's key, which must allow ``scope``: 401 without a current one, 403 with too narrow a one."""
    key = apikeys.find(get_db(), bearer())
    if key is None:
        raise Unauthorized("Send a current API token as `Authorization: Bearer fsk_…` (made in the admin, API keys).")
    if not apikeys.allows(key, scope):
        raise Forbidden(f"This token's scope is {key['scope']}; this request needs {scope}.")
    g.api_key = key
    return key


@bp.route("/openapi.json")
def openapi():
    """The API's OpenAPI 3.1 description (open: it tells a CMS developer how to ask for a token)."""
    return jsonify(description(url_for("api.openapi", _external=True).rsplit("/openapi.json", 1)[0]))


@bp.route("/releases")
def list_releases():
    """Releases newest first, ``page`` by page, optionally of one ``status``."""
    authorize(ApiScope.READ)
    status = request.args.get("status") or None
    if status is not None and status not in list(ReleaseStatus):
        raise Problem(400, f"status must be one of {', '.join(ReleaseStatus)}")
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        raise Problem(400, "page must be a positive whole number")
    rows, more = releases.list_admin(get_db(), releases.ReleaseFilter(status=status), page=int(page),
                                     size=current_app.config["ADMIN_PAGE_SIZE"])
    return jsonify({"releases": [release_json(row, with_translations=False) for row in rows], "more": more})


@bp.route("/releases/<id:release_id>")
def get_release(release_id: int):
    """One release with every translation's status and provenance."""
    authorize(ApiScope.READ)
    return jsonify(release_json(releases.get_release(get_db(), release_id)))


@bp.route("/releases/<id:release_id>/translations/<target:lang>")
def get_translation(release_id: int, lang: str):
    """One translation with its status, provenance and per-sentence record (checks, origin, model)."""
    authorize(ApiScope.READ)
    release = releases.get_release(get_db(), release_id)
    row = translations.translation_row(get_db(), release_id, lang)
    if row is None:
        raise errors.NotFound(f"release {release_id} has no {lang} translation")
    return jsonify({**translation_json(row, release), "sentences": releases.sentence_record(row)})


@bp.route("/releases", methods=["POST"])
def create_release():
    """A new release from JSON, validated as the admin form validates it; ``publish``: true publishes it."""
    key = authorize(ApiScope.WRITE)
    form = validated(given_fields())
    release = releases.create_release(get_db(), **fields_from(form), publish=bool(form.publish.data),
                                      languages=target_languages(), author=author(key))
    response = jsonify(release_json(release))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_release", release_id=release["id"])
    return response


@bp.route("/releases/<id:release_id>", methods=["PATCH"])
def update_release(release_id: int):
    """Change the fields given (the rest stay); with ``version``, a release changed since is a 409."""
    key = authorize(ApiScope.WRITE)
    release = releases.get_release(get_db(), release_id)
    given = given_fields()
    form = validated(given, release)
    expected = given.get("version")
    updated = releases.update_release(get_db(), release_id, fields_from(form, release), target_languages(),
                                      author=author(key), expected_version=expected)
    if form.publish.data and updated["status"] != ReleaseStatus.PUBLISHED:
        updated = releases.set_status(get_db(), release_id, ReleaseStatus.PUBLISHED, target_languages())
    return jsonify(release_json(updated))


@bp.route("/releases/<id:release_id>/<any(publish, unpublish, withdraw):action>", methods=["POST"])
def change_status(release_id: int, action: str):
    """Publish, move back to drafts, or withdraw (``reason``: the public reason readers see)."""
    authorize(ApiScope.WRITE)
    releases.get_release(get_db(), release_id)
    status = {"publish": ReleaseStatus.PUBLISHED, "unpublish": ReleaseStatus.DRAFT,
              "withdraw": ReleaseStatus.WITHDRAWN}[action]
    reason = json_body().get("reason") or ""
    if not isinstance(reason, str):
        raise Problem(400, "reason must be a text", [{"pointer": "#/reason", "detail": "must be a text"}])
    release = releases.set_status(get_db(), release_id, status, target_languages(),
                                  reason=reason[: current_app.config["TITLE_MAX"]])
    return jsonify(release_json(release))


def json_body() -> dict:
    """The request's JSON object ({} for an empty body); anything else is a 400 problem."""
    if not request.get_data():
        return {}
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise Problem(400, "The body must be a JSON object sent as application/json.")
    return body


def given_fields() -> dict:
    """The release fields of the JSON body, each of its kind; unknown or mistyped fields are a 400 problem."""
    body = json_body()
    wrong = [{"pointer": f"#/{name}", "detail": "unknown field"} for name in body if name not in INPUT_FIELDS]
    kinds = {**dict.fromkeys(TEXT_FIELDS, str), "publish": bool, "version": int}
    wrong += [{"pointer": f"#/{name}", "detail": f"must be {'a text' if kind is str else kind.__name__}"}
              for name, kind in kinds.items()
              if name in body and body[name] is not None and (not isinstance(body[name], kind)
                                                             or kind is int and isinstance(body[name], bool))]
    if wrong:
        raise Problem(400, "The release has fields the API does not take.", wrong)
    return {name: value for name, value in body.items() if value is not None}


def validated(given: dict, release: dict | None = None):
    """The admin form filled with the stored release (an edit) and the given fields, validated as the form is
    (size limits, required fields, dates); its errors are a 400 problem with each field's message."""
    form = form_for(release, formdata=MultiDict(form_values(given, release)), meta={"csrf": False})
    if not form.validate():
        raise Problem(400, _("The release was not saved: correct the fields named."),
                      [{"pointer": f"#/{name}", "detail": str(message)}
                       for name, messages in form.errors.items() for message in messages])
    return form


def form_values(given: dict, release: dict | None) -> dict:
    """What the form is posted: the stored release's fields, then the given ones (an RFC 3339 date with an
    offset is given in the office's time zone, as the form's field reads it)."""
    values = {name: release[name] or "" for name in TEXT_FIELDS if name != "published_at"} if release else {}
    values.update({name: value for name, value in given.items() if name in TEXT_FIELDS})
    if release and "published_at" not in given and (shown := form_for(release).published_at.data):
        values["published_at"] = shown.strftime("%Y-%m-%dT%H:%M")
    if "published_at" in given:
        values["published_at"] = office_time(given["published_at"])
    if given.get("publish"):
        values["publish"] = "y"
    return values


def office_time(value: str) -> str:
    """A date as the form's field takes it (office time, to the minute): an RFC 3339 moment with an offset is
    converted; anything else goes to the form as it is (and is refused there if it is not a date)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(labels.office_zone())
    return moment.strftime("%Y-%m-%dT%H:%M")


def target_languages() -> tuple[str, ...]:
    """The languages releases are translated into."""
    return tuple(current_app.config["TARGET_LANGUAGES"])


def author(key: dict) -> str:
    """Who the history names for an API change: the token's name."""
    return f"api:{key['name']}"


def release_json(release: dict, *, with_translations: bool = True) -> dict:
    """A release as the API gives it (the Russian original, its state and, by default, its translations)."""
    fields = ("id", "guid", "status", "title", "body", "category", "published_at", "photo_caption", "photo_credit",
              "version", "revision", "created_at", "updated_at", "withdrawn_at", "withdrawal_reason", "original_url")
    result = {name: release.get(name) for name in fields}
    result["url"] = url_for("public.release", lang=current_app.config["SOURCE_LANGUAGE"], release_id=release["id"],
                            slug=releases.slug(release["title"]), _external=True)
    if with_translations:
        rows = translations.of_release(get_db(), release["id"])
        result["translations"] = {lang: translation_json(row, release) for lang, row in sorted(rows.items())}
    return result


def translation_json(row: dict, release: dict) -> dict:
    """One translation: its status, text, who made it (origin, route, reviewer), whether it matches the current
    original, its flagged sentences, its provenance and what readers see now (the published copy)."""
    published = releases.published_copy(row)
    return {
        "lang": row["lang"], "status": row["status"], "title": row["title"], "body": row["body"],
        "category": row["category"], "photo_caption": row["photo_caption"], "photo_credit": row["photo_credit"],
        "origin": row["origin"], "route": row["route"], "source_revision": row["source_revision"],
        "current": row["source_revision"] == release["revision"], "flags": row["flags"], "error": row["error"],
        "reviewed_by": row["reviewed_by"], "reviewed_at": row["reviewed_at"], "updated_at": row["updated_at"],
        "version": row["version"], "provenance": releases.provenance(row).as_json(),
        "published": None if published is None else {
            "title": published["title"], "body": published["body"], "updated_at": published["updated_at"],
            "source_revision": published["source_revision"], "provenance": releases.provenance(published).as_json()},
    }
