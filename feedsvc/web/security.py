"""Security headers on every response."""

from datetime import timedelta

from flask import Flask
from flask import Response
from flask import request

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def add_headers(response: Response) -> Response:
    """No inline script, no framing, no MIME sniffing, no full referrers to other sites."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def no_store_for_staff(response: Response) -> Response:
    """Admin pages and exports (drafts, the glossary, the queue) are never kept by a browser or a proxy."""
    if request.path.startswith("/admin"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Register the header hooks and the session's lifetime."""
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=app.config["SESSION_LIFETIME_SECONDS"])
    app.after_request(add_headers)
    app.after_request(no_store_for_staff)
