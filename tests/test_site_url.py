"""SITE_URL: no header a client sends changes a link the service writes; without it, bad Hosts get a 400."""

import re

import pytest

from feedsvc import releases
from feedsvc.config import ConfigError
from feedsvc.web import create_app
from tests.helpers import make_release

FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil2.example", "X-Forwarded-Proto": "http"}
SITE = "https://press.example.kz"


@pytest.fixture
def site_app(app):
    """The test app's settings with SITE_URL behind a proxy (PROXY_FIX=1), as production runs it."""
    return create_app({**app.config, "SITE_URL": SITE, "PROXY_FIX": 1, "SERVER_NAME": None})


def absolute_urls(text: str) -> set[str]:
    """The scheme and host of every absolute URL in a body."""
    return set(re.findall(r"https?://[^/\"'<>\s]+", text)) - {"http://www.w3.org", "http://purl.org",
                                                              "https://jsonfeed.org", "http://www.rssboard.org",
                                                              "https://schema.org", "http://www.sitemaps.org",
                                                              "http://search.yahoo.com"}  # Media RSS's namespace


def test_forged_host_and_forwarded_host_change_no_link(site_app, db):
    site_app.config["FEED_ARCHIVE_ITEMS"] = 1  # the release fills archive page 1
    release = make_release(db)
    client = site_app.test_client()
    paths = ["/ru/", "/kk/", f"/ru/releases/{release['id']}-{releases.slug(release['title'])}", "/ru/search?q=x",
             *(f"/{lang}/feed.{fmt}" for lang in ("ru", "en") for fmt in ("rss", "atom", "json")), "/ru/archive/1.atom"]
    paths += ["/robots.txt", "/sitemap.xml", "/sitemaps/en-1.xml"]
    honest = {path: client.get(path) for path in paths}
    cached = len(site_app.extensions["feedsvc"]["cache"])
    assert cached >= 9  # the feeds, the archive page and the two index pages at least
    for path in paths:
        forged = client.get(path, headers=FORGED)
        assert forged.status_code == honest[path].status_code == 200, path
        assert forged.data == honest[path].data, path
        assert absolute_urls(forged.get_data(as_text=True)) == {SITE}, path
    redirect = client.get(f"/ru/releases/{release['id']}-old-slug", headers=FORGED)
    assert redirect.status_code == 301 and "evil" not in redirect.headers["Location"]
    assert len(site_app.extensions["feedsvc"]["cache"]) == cached  # forged hosts added no entry


def test_urls_outside_requests_use_site_url(site_app):
    from flask import url_for

    with site_app.app_context():
        assert url_for("feeds.feed", lang="kk", fmt="atom", _external=True) == f"{SITE}/kk/feed.atom"


@pytest.mark.parametrize("site_url", ["press.example.kz", "ftp://press.example.kz", "https://x..y",
                                      "https://press.example.kz/sub/path", "https://press.example.kz:99999"])
def test_a_site_url_that_is_no_site_address_is_refused_at_start(app, site_url):
    with pytest.raises(ConfigError, match="SITE_URL"):
        create_app({**app.config, "SITE_URL": site_url})


@pytest.mark.parametrize("host", ["x..y", "a" * 64 + ".example", "example.kz:99999", "example.kz:0", "exa mple",
                                  "example.kz:x", "-bad.example", "[::1", "под.example"])
def test_a_malformed_host_is_a_400_not_a_500(client, db, host):
    make_release(db)
    for path in ("/ru/", "/ru/feed.atom", "/"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, (host, path)
        assert host not in response.get_data(as_text=True)


@pytest.mark.parametrize("host", ["localhost", "press.example.kz", "press.example.kz:8080", "127.0.0.1:5000",
                                  "[::1]:5000", "a" * 63 + ".example"])
def test_valid_hosts_are_served_without_site_url(client, db, host):
    make_release(db)
    assert client.get("/ru/feed.atom", headers={"Host": host}).status_code == 200


def test_without_site_url_forged_hosts_cannot_grow_or_churn_the_cache(app, client, db):
    make_release(db)
    client.get("/ru/feed.atom")
    client.get("/sitemaps/ru-1.xml")
    cache = app.extensions["feedsvc"]["cache"]
    real = set(cache.entries)
    for number in range(50):
        forged = {"Host": f"forged{number}.example"}
        body = client.get("/ru/feed.atom", headers=forged).get_data(as_text=True)
        assert f"forged{number}.example" in body  # development: links follow the request
        assert f"forged{number}.example" in client.get("/sitemaps/ru-1.xml", headers=forged).get_data(as_text=True)
    assert real <= set(cache.entries)  # the real host's entries were never evicted
    assert len(cache) <= 2 * app.config["RESPONSE_CACHE_HOSTS"]
