"""Feeds as a real reader sees them: Debian's newsboat subscribed to all six feeds at once."""

import os
import shutil
import subprocess
import threading

import pytest

from feedsvc.translation import jobs
from tests.conftest import make_release

NEWSBOAT = shutil.which("newsboat") or "/usr/bin/newsboat"


def missing_reader(reason: str):
    """Skip locally, fail under CI: CI must never pass without having run the reader."""
    message = f"{reason}: install Debian's newsboat (`make reader-deps`)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def live_url(app):
    """The test app served by a real threaded HTTP server on 127.0.0.1:<free port>."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=30)
    server.server_close()


def unread(folder, urls: list[str]) -> str:
    """What newsboat says after fetching ``urls`` into a fresh cache ("N unread articles")."""
    folder.mkdir(exist_ok=True)
    (folder / "urls").write_text("\n".join(urls) + "\n")
    (folder / "config").write_text("")
    result = subprocess.run([NEWSBOAT, "-u", str(folder / "urls"), "-c", str(folder / "cache.db"), "-C",
                             str(folder / "config"), "-x", "reload", "print-unread"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(folder)})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_reader_of_all_six_feeds_sees_every_release_in_every_language(db, live_url, tmp_path):
    if not os.access(NEWSBOAT, os.X_OK):
        missing_reader(f"{NEWSBOAT} is missing")
    for title in ("Сенат принял закон", "Спикер встретился с депутатами"):
        make_release(db, title=title)
    while job := jobs.claim(db):  # every release translated into kk and en, as the worker would
        assert jobs.complete(db, job, {"title": f"{job['lang']}: {job['release_id']}", "body": "Text.",
                                       "route": "test"})
    feeds = [f"{live_url}/{lang}/feed.{fmt}" for lang in ("ru", "kk", "en") for fmt in ("rss", "atom")]
    # RSS and Atom of one language share ids (one entry per language), so a reader keeps 2 per language.
    assert unread(tmp_path, feeds) == "6 unread articles"
    assert unread(tmp_path / "ru-en", [feeds[0], feeds[4]]) == "4 unread articles"
