"""Which host the service's absolute URLs name: SITE_URL's when set, never a client's Host or X-Forwarded-Host.

Every absolute URL (``url_for(..., _external=True)`` in feeds, pages, redirects) is built from the WSGI
environ's host and scheme. With SITE_URL, ``SiteHost`` writes them into the environ before Flask sees the
request (after ProxyFix, so a forwarded host cannot win), and Flask's SERVER_NAME/PREFERRED_URL_SCHEME give
the same URLs outside requests (the WebSub sender). Without it (development), a Host that is no valid host
name is replaced by a harmless one and the request is answered 400 (``refuse_bad_host``).
"""

import re
from urllib.parse import urlsplit

from flask import Flask
from flask import abort
from flask import request

from feedsvc.config import ConfigError

# RFC 1123 host names (labels of 1-63 letters, digits and inner hyphens, 253 in all), IPv4 or a bracketed IPv6
# address, and an optional port of 1-5 digits.
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = re.compile(rf"(?:(?=[^:]{{1,253}}(?::|$)){LABEL}(?:\.{LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])(?::(\d{{1,5}}))?")
BAD_HOST = "feedsvc.bad_host"


def valid_host(host: str) -> bool:
    """Whether a Host header names a host (and a port up to 65535) that URLs can be built from."""
    match = HOST.fullmatch(host)
    return bool(match) and (match.group(1) is None or 0 < int(match.group(1)) <= 65535)


def parse_site_url(site_url: str) -> tuple[str, str]:
    """SITE_URL's scheme and host[:port], or a ConfigError saying what is wrong with it."""
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not valid_host(parts.netloc) or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise ConfigError(f"SITE_URL = {site_url!r}: expected the site's address like https://press.example.kz "
                          "(http or https, a host name, no path)")
    return parts.scheme, parts.netloc


class SiteHost:
    """WSGI middleware: every request carries SITE_URL's host and scheme (or, without it, a checked Host)."""

    def __init__(self, app, site_url: str):
        """Wrap ``app``; ``site_url`` may be empty (development)."""
        self.app = app
        self.site = parse_site_url(site_url) if site_url else None

    def __call__(self, environ, start_response):
        """Set the canonical host and scheme, or mark a malformed Host for a 400."""
        if self.site:
            environ["wsgi.url_scheme"], environ["HTTP_HOST"] = self.site
        elif "HTTP_HOST" in environ and not valid_host(environ["HTTP_HOST"]):  # without one: the server's name
            environ[BAD_HOST] = environ.get("HTTP_HOST")
            environ["HTTP_HOST"] = "localhost"  # the 400 page's own links must still be buildable
        return self.app(environ, start_response)


def refuse_bad_host() -> None:
    """Answer 400 to a request whose Host header SiteHost found malformed (never a 500 from URL building)."""
    if BAD_HOST in request.environ:
        abort(400)


def init_app(app: Flask) -> None:
    """Install the middleware (inside ProxyFix, so it has the last word) and the URL settings for CLI contexts."""
    site_url = app.config["SITE_URL"]
    if site_url:
        scheme, host = parse_site_url(site_url)
        app.config.update(SERVER_NAME=host, PREFERRED_URL_SCHEME=scheme)
    app.wsgi_app = SiteHost(app.wsgi_app, site_url)
    app.before_request(refuse_bad_host)
