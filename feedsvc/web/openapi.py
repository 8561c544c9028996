"""The CMS API's OpenAPI 3.1 description (served at /api/openapi.json; web.api holds the views it describes)."""

from feedsvc.states import ReleaseStatus
from feedsvc.states import TranslationStatus


def _problems(*codes: int) -> dict:
    """The problem-details responses of the given status codes."""
    words = {400: "Invalid input (each field's message in `errors`)", 401: "No current token",
             403: "The token's scope does not allow this", 404: "No such release", 409: "Changed since `version`",
             429: "Too many requests (Retry-After)"}
    return {str(code): {"description": words[code], "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}} for code in codes}


def _json(schema: str, description: str) -> dict:
    """A JSON response of a named schema."""
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


ID = {"name": "release_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
READ = [{"token": ["read"]}]
WRITE = [{"token": ["write"]}]
INPUT = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReleaseInput"}}}}
TEXT = {"type": ["string", "null"]}


def _paths() -> dict:
    """Every route of web.api."""
    return {
        "/releases": {
            "get": {"summary": "Releases, newest first", "security": READ, "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": list(ReleaseStatus)}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": _json("ReleaseList", "A page of releases"), **_problems(400, 401, 403, 429)}},
            "post": {"summary": "Create a release (validated as the admin form)", "security": WRITE,
                     "requestBody": INPUT,
                     "responses": {"201": _json("Release", "The new release (Location: its URL)"),
                                   **_problems(400, 401, 403, 429)}}},
        "/releases/{release_id}": {
            "get": {"summary": "A release with its translations", "security": READ, "parameters": [ID],
                    "responses": {"200": _json("Release", "The release"), **_problems(401, 403, 404, 429)}},
            "patch": {"summary": "Change the given fields", "security": WRITE, "parameters": [ID], "requestBody": INPUT,
                      "responses": {"200": _json("Release", "The release as stored"),
                                    **_problems(400, 401, 403, 404, 409, 429)}}},
        "/releases/{release_id}/translations/{lang}": {
            "get": {"summary": "One translation with its per-sentence record", "security": READ, "parameters": [
                ID, {"name": "lang", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("Translation", "The translation"), **_problems(401, 403, 404, 429)}}},
        **{f"/releases/{{release_id}}/{action}": {"post": {
            "summary": summary, "security": WRITE, "parameters": [ID],
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"reason": {"type": "string"}}}}}},
            "responses": {"200": _json("Release", "The release"), **_problems(400, 401, 403, 404, 429)}}}
            for action, summary in (("publish", "Publish"), ("unpublish", "Move back to drafts"),
                                    ("withdraw", "Withdraw (reason: shown to readers)"))},
        "/openapi.json": {"get": {"summary": "This description", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    }


def _schemas() -> dict:
    """The bodies the API takes and gives."""
    translation = {"type": "object", "properties": {
        "lang": {"type": "string"}, "status": {"enum": list(TranslationStatus)}, "title": TEXT, "body": TEXT,
        "origin": TEXT, "route": TEXT, "current": {"type": "boolean"}, "flags": {"type": ["integer", "null"]},
        "reviewed_by": TEXT, "provenance": {"type": "object"}, "published": {"type": ["object", "null"]},
        "sentences": {"type": "array", "items": {"type": "object"}}}}
    return {
        "ReleaseInput": {"type": "object", "additionalProperties": False, "properties": {
            "title": {"type": "string"}, "body": {"type": "string", "description": "A blank line starts a paragraph"},
            "category": {"type": "string", "description": "The Russian name of a category on the managed list "
                                                          "(admin, Categories); another is a 400"},
            "photo_caption": {"type": "string"}, "photo_credit": {"type": "string"},
            "published_at": {"type": "string", "description": "RFC 3339 with an offset, or YYYY-MM-DDTHH:MM in "
                                                              "the office's time zone; to the minute"},
            "publish": {"type": "boolean"}, "version": {"type": "integer", "description": "For PATCH: refuse "
                                                                                          "(409) if changed since"}}},
        "Release": {"type": "object", "properties": {
            "id": {"type": "integer"}, "guid": {"type": "string"}, "status": {"enum": list(ReleaseStatus)},
            "title": {"type": "string"}, "body": {"type": "string"}, "published_at": {"type": "string"},
            "version": {"type": "integer"}, "revision": {"type": "integer"}, "url": {"type": "string"},
            "translations": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Translation"}}}},
        "ReleaseList": {"type": "object", "properties": {
            "releases": {"type": "array", "items": {"$ref": "#/components/schemas/Release"}},
            "more": {"type": "boolean"}}},
        "Translation": translation,
        "Problem": {"type": "object", "description": "RFC 9457 problem details", "properties": {
            "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
            "detail": {"type": "string"}, "instance": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "object", "properties": {
                "pointer": {"type": "string"}, "detail": {"type": "string"}}}}}},
    }


def description(base_url: str) -> dict:
    """The whole OpenAPI document, its server at ``base_url`` (…/api)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "feedsvc CMS API", "version": "1",
                 "description": "Create, edit, publish and withdraw press releases; read their translations. "
                                "Tokens are made in the admin (API keys), scoped read or write."},
        "servers": [{"url": base_url}],
        "paths": _paths(),
        "components": {"schemas": _schemas(), "securitySchemes": {
            "token": {"type": "http", "scheme": "bearer", "description": "An API key made in the admin"}}},
        "security": READ,
    }
