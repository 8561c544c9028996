"""The LibreTranslate-compatible endpoint for staff tools: POST /translate, POST /detect, GET /languages.

LibreTranslate's request and response shapes (form or JSON body, ``q`` a text or a list, ``source`` or "auto",
``format`` text or html, ``api_key``; errors as {"error": …} with its status codes), so its clients work
unchanged. The web process loads no model: it hands the texts to the worker (feedsvc.textrequests) and waits for
the answer, at most TRANSLATE_API_TIMEOUT seconds. TRANSLATE_API: off (404), keys or open.
"""

import time

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import ServiceUnavailable

from feedsvc import apikeys
from feedsvc import textrequests
from feedsvc.modelstore import packages
from feedsvc.states import ApiScope
from feedsvc.states import TextRequestStatus
from feedsvc.text.detect import detect
from feedsvc.textrequests import TextItem
from feedsvc.web.db import get_db
from feedsvc.web.extensions import csrf
from feedsvc.web.extensions import limiter
from feedsvc.web.extensions import site_languages

bp = Blueprint("translate_api", __name__)
csrf.exempt(bp)  # no cookies: a key (or nothing, when open) is the credential, so there is no session to forge
# The names LibreTranslate's clients show (English, as LibreTranslate's own list has them).
NAMES = {"ru": "Russian", "kk": "Kazakh", "en": "English"}
FORMATS = ("text", "html")
POLL_SECONDS = 0.05


def params():
    """The request's parameters as LibreTranslate reads them: a JSON object, else the form and query."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("Invalid request: the JSON body must be an object")
        return body
    return request.values


def rate_key() -> str:
    """Rate limits count per API key when one is given, else per client address."""
    key = params().get("api_key") if request.method == "POST" else None
    return f"key:{apikeys.key_hash(key)}" if isinstance(key, str) and key else f"ip:{request.remote_addr}"


@bp.before_request
def enabled() -> None:
    """TRANSLATE_API = off: the endpoint does not exist."""
    if current_app.config["TRANSLATE_API"] == "off":
        abort(404)


@bp.errorhandler(HTTPException)
def error(exc: HTTPException):
    """Every error as LibreTranslate gives it: {"error": "…"} with the status code."""
    message = f"Slowdown: {exc.description}" if exc.code == 429 else exc.description
    response = jsonify({"error": message})
    response.status_code = exc.code or 500
    if exc.code in (429, 503):
        response.headers["Retry-After"] = "60" if exc.code == 429 else "10"
    return response


@bp.after_request
def cross_origin(response):
    """Browser extensions and web editors call from their own origin (LibreTranslate allows any, too); no
    cookie is ever read here, so allowing them exposes nothing of a session."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    return response


def require_key() -> None:
    """TRANSLATE_API = keys: a valid, unrevoked api_key with the translate scope (403 otherwise)."""
    if current_app.config["TRANSLATE_API"] != "keys":
        return
    key = params().get("api_key")
    if apikeys.verify(get_db(), key if isinstance(key, str) else None, ApiScope.TRANSLATE) is None:
        raise Forbidden("Invalid API key" if key else "Missing API key: ask the press service's admin for one")


def limit() -> str:
    """The configured rate limit (read per request, as the app's config holds it)."""
    return current_app.config["TRANSLATE_API_RATE_LIMIT"]


def languages_served() -> list[str]:
    """Every language of the site, the source first."""
    return list(site_languages().published)  # editions (kk-latn) are written, not translated


def routes() -> dict[str, list[str]]:
    """For each language, the languages installed models (or a pivot) translate it into."""
    if "routes" not in g:
        installed, _ = packages.scan_packages(current_app.config["MODELS_DIR"])
        g.routes = {source: [target for target in languages_served()
                             if target != source and packages.find_route(installed, source, target)]
                    for source in languages_served()}
    return g.routes


@bp.route("/languages", methods=["GET", "POST"])
def languages():
    """The languages and, for each, those it can be translated into (open in every mode, as in LibreTranslate)."""
    return jsonify([{"code": code, "name": NAMES.get(code, code), "targets": routes()[code]}
                    for code in languages_served()])


@bp.route("/frontend/settings")
def frontend_settings():
    """What LibreTranslate's web page and some clients ask before translating: limits and whether a key is needed."""
    config = current_app.config
    source, *targets = languages_served()
    return jsonify({"charLimit": config["TRANSLATE_API_CHAR_LIMIT"], "keyRequired": config["TRANSLATE_API"] == "keys",
                    "suggestions": False, "filesTranslation": False, "supportedFilesFormat": [],
                    "language": {"source": {"code": source, "name": NAMES.get(source, source)},
                                 "target": {"code": targets[0], "name": NAMES.get(targets[0], targets[0])}}})


@bp.route("/detect", methods=["POST"])
@limiter.limit(limit, key_func=rate_key)
def detect_language():
    """The languages ``q`` may be in, best first, with a confidence from 0 to 100."""
    require_key()
    text = params().get("q")
    if not isinstance(text, str) or not text:
        raise BadRequest("Invalid request: missing q parameter")
    return jsonify([{"confidence": confidence, "language": lang} for lang, confidence in detect(text)])


@bp.route("/translate", methods=["POST"])
@limiter.limit(limit, key_func=rate_key)
def translate():
    """Translate ``q`` (a text or a list) from ``source`` (or "auto") into ``target``, through the worker."""
    require_key()
    given = params()
    texts, batch = texts_of(given.get("q"))
    source, target = required(given, "source"), required(given, "target")
    text_format = given.get("format") or "text"
    if text_format not in FORMATS:
        raise BadRequest(f"Invalid request: format must be {' or '.join(FORMATS)}")
    check_size(texts)
    items, detected = sources_of(texts, source)
    check_routes({item.source for item in items}, target)
    results = wait_for(textrequests.submit(get_db(), items, target, text_format))
    return jsonify(response_of(results, detected, batch))


def texts_of(q) -> tuple[list[str], bool]:
    """The texts to translate and whether they came as a list (the answer is then a list)."""
    if isinstance(q, list) and q and all(isinstance(text, str) for text in q):
        return q, True
    if isinstance(q, str) and q:
        return [q], False
    raise BadRequest("Invalid request: missing q parameter")


def required(given, name: str) -> str:
    """A parameter that must be a non-empty text."""
    value = given.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Invalid request: missing {name} parameter")
    return value


def check_size(texts: list[str]) -> None:
    """Refuse more characters than TRANSLATE_API_CHAR_LIMIT (a web request must stay short)."""
    size, most = sum(len(text) for text in texts), current_app.config["TRANSLATE_API_CHAR_LIMIT"]
    if size > most:
        raise BadRequest(f"Invalid request: request ({size}) exceeds text limit ({most})")


def sources_of(texts: list[str], source: str) -> tuple[list[TextItem], list[dict] | None]:
    """Each text with its language: ``source``, or with "auto" each text's own, detected (returned as well)."""
    if source != "auto":
        if source not in languages_served():
            raise BadRequest(f"{source} is not supported")
        return [TextItem(text, source) for text in texts], None
    found = [detect(text)[0] for text in texts]
    return ([TextItem(text, lang) for text, (lang, _) in zip(texts, found, strict=True)],
            [{"confidence": confidence, "language": lang} for lang, confidence in found])


def check_routes(sources: set[str], target: str) -> None:
    """Refuse a target the site does not have, or a pair no installed model translates (400, before queuing)."""
    if target not in languages_served():
        raise BadRequest(f"{target} is not supported")
    for source in sorted(sources - {target}):
        if target not in routes()[source]:
            raise BadRequest(f"{NAMES.get(target, target)} ({target}) is not available as a target language from "
                             f"{NAMES.get(source, source)} ({source})")


def wait_for(request_id: int) -> list[dict]:
    """The worker's answer to a request, waited for at most TRANSLATE_API_TIMEOUT seconds (then 503); the row is
    deleted either way, so nothing sent stays stored."""
    db, seconds = get_db(), current_app.config["TRANSLATE_API_TIMEOUT"]
    deadline = time.monotonic() + seconds
    try:
        while (row := textrequests.finished(db, request_id)) is None:
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(f"The translation worker did not answer within {seconds:g} s: is "
                                         "`feedsvc worker` running? Try again in a moment.")
            time.sleep(POLL_SECONDS)
    finally:
        textrequests.discard(db, request_id)
    if row["status"] == TextRequestStatus.FAILED:
        raise InternalServerError(f"Cannot translate text: {row['error']}")
    return row["answer"]


def response_of(results: list[dict], detected: list[dict] | None, batch: bool) -> dict:
    """LibreTranslate's answer (a list for a list), plus ``flags``: each text's sentences a check flagged."""
    answer = {"translatedText": [r["translatedText"] for r in results], "flags": [r["flags"] for r in results]}
    if detected is not None:
        answer["detectedLanguage"] = detected
    return answer if batch else {key: value[0] for key, value in answer.items()}
