"""Feeds as a real reader sees them: Debian's newsboat subscribed to all six feeds at once."""

import os

import pytest

from feedsvc import jobs
from tests.helpers import NEWSBOAT
from tests.helpers import make_release
from tests.helpers import missing_program
from tests.helpers import served
from tests.helpers import unread


@pytest.fixture
def live_url(app):
    """The test app served on 127.0.0.1 for a reader to fetch."""
    with served(app) as url:
        yield url


def test_a_reader_of_all_six_feeds_sees_every_release_in_every_language(app, db, live_url, tmp_path):
    if not os.access(NEWSBOAT, os.X_OK):
        missing_program(f"{NEWSBOAT} is missing", "newsboat")
    app.config["FEED_ARCHIVE_ITEMS"] = 2  # the two releases fill archive page 1
    for title in ("Сенат принял закон", "Спикер встретился с депутатами"):
        make_release(db, title=title)
    while job := jobs.claim(db):  # every release translated into kk and en, as the worker would
        assert jobs.complete(db, job, {"title": f"{job['lang']}: {job['release_id']}", "body": "Text.",
                                       "route": "test"})
    feeds = [f"{live_url}/{lang}/feed.{fmt}" for lang in ("ru", "kk", "en") for fmt in ("rss", "atom")]
    # RSS and Atom of one language share ids (one entry per language), so a reader keeps 2 per language.
    assert unread(tmp_path, feeds) == "6 unread articles"
    # The RFC 5005 archive pages carry the same entries with the same ids: nothing new for the reader.
    archives = [f"{live_url}/{lang}/archive/1.{fmt}" for lang in ("ru", "kk", "en") for fmt in ("rss", "atom")]
    assert unread(tmp_path / "archives", feeds + archives) == "6 unread articles"
    assert unread(tmp_path / "archives-only", archives) == "6 unread articles"
    assert unread(tmp_path / "ru-en", [feeds[0], feeds[4]]) == "4 unread articles"
