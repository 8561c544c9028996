"""WebSub: feeds name the hubs, and every change readers see is announced to them in the background, with retries."""

import queue
import socket
import threading

import feedparser
import pytest

from feedsvc import clock
from feedsvc import jobs
from feedsvc import releases
from feedsvc import websub
from feedsvc.config import ConfigError
from feedsvc.editorial import review
from feedsvc.storage import connect
from feedsvc.web import create_app
from tests.helpers import HANG_SECONDS
from tests.helpers import SITE
from tests.helpers import TARGETS
from tests.helpers import csrf_token
from tests.helpers import feed_urls
from tests.helpers import make_release
from tests.helpers import topics


def test_every_feed_names_the_hub_and_itself(hub_app, db, hub):
    make_release(db)
    client = hub_app.test_client()
    for fmt in ("rss", "atom"):
        links = {(link.rel, link.href) for link in feedparser.parse(client.get(f"/kk/feed.{fmt}").data).feed.links}
        assert {("hub", hub.url), ("self", f"{SITE}/kk/feed.{fmt}")} <= links
    assert client.get("/kk/feed.json").json["hubs"] == [{"type": "WebSub", "url": hub.url}]


def test_a_failed_ping_is_retried_and_only_changes_readers_see_are_announced(hub_app, db, hub, set_clock):
    hub.statuses = [500]
    release = make_release(db, publish=False)
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 0 and hub.pings.empty()  # a draft: no feed changed
    releases.set_status(db, release["id"], "published", languages=TARGETS)
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 0  # the hub answered 500
    assert hub.received(1) == [("publish", f"{SITE}/ru/feed.rss")]
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 0 and hub.pings.empty()  # not before its retry time
    set_clock.advance(seconds=1)
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 1
    assert {url for _, url in hub.received(len(feed_urls()))} == feed_urls()
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 0 and hub.pings.empty()  # sent once
    job = jobs.claim(db)  # claiming changes no feed; the stored translation changes its language's feeds
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 0
    assert jobs.complete(db, job, {"title": "Title", "body": "Text.", "route": "test"})
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 1
    assert {url for _, url in hub.received(len(feed_urls([job["lang"]])))} == feed_urls([job["lang"]])
    version = releases.translations_of(db, release["id"])[job["lang"]]["version"]
    review.save_human(db, release["id"], job["lang"], "Reviewed", "Text.", author="editor", expected_version=version)
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 1  # an editor's review
    assert {url for _, url in hub.received(len(feed_urls([job["lang"]])))} == feed_urls([job["lang"]])
    releases.set_status(db, release["id"], "withdrawn", languages=TARGETS)
    assert websub.deliver(db, [hub.url], topics(hub_app)) == 1
    assert {url for _, url in hub.received(len(feed_urls()))} == feed_urls()


def test_the_worker_announces_in_the_background_without_delaying_a_save(hub_app, hub, admin):
    hub.gate.clear()  # the hub hangs: a save must not wait for it
    sender = websub.Sender(lambda: connect(hub_app.config["DATABASE"]), [hub.url], topics(hub_app), interval=0.05)
    sender.start()
    try:
        client = hub_app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        client.post("/admin/login", data={"username": admin[0], "password": admin[1],
                                          "csrf_token": csrf_token(client, "/admin/login")})
        token = csrf_token(client, "/admin/releases/new")
        saved = client.post("/admin/releases/new", data={"title": "Сенат", "body": "Текст.", "publish": "1",
                                                        "csrf_token": token}, content_type="multipart/form-data")
        assert saved.status_code == 302  # answered while the hub still holds the first ping
        assert hub.received(1)[0][0] == "publish"
        hub.gate.set()
        assert {url for _, url in hub.received(len(feed_urls()) - 1)} | {f"{SITE}/ru/feed.rss"} == feed_urls()
    finally:
        sender.stop()


def test_without_hubs_the_worker_starts_no_sender_and_hubs_need_site_url(app):
    from feedsvc.commands.translation import websub_sender

    with app.app_context():
        assert websub_sender() is None  # nothing may touch the network
    with pytest.raises(ConfigError, match="SITE_URL"):
        create_app({**app.config, "WEBSUB_HUBS": ["https://hub.example"]})
    with pytest.raises(ConfigError, match="WEBSUB_HUBS"):
        create_app({**app.config, "SITE_URL": SITE, "WEBSUB_HUBS": ["ftp://hub.example"]})


class RawHub:
    """A 'hub' on loopback that answers every connection with the same raw bytes (not HTTP, or a bare redirect)."""

    def __init__(self, answer: bytes):
        """Listen on 127.0.0.1:<free port> and answer in a thread; each request's first bytes are queued."""
        self.answer, self.requests = answer, queue.Queue()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hub"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        """Answer until the socket is closed."""
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.requests.put(read_request(conn))
                conn.sendall(self.answer)

    def close(self):
        """Stop listening."""
        self.sock.close()


def read_request(conn: socket.socket) -> bytes:
    """One whole HTTP request (headers, then Content-Length bytes), so closing after it resets nothing."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length and (chunk := conn.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize(("answer", "recorded"), [
    (b"\x16\x03\x01\x00\xa5garbage that is not HTTP\r\n\r\n", "BadStatusLine"),
    (b"", "RemoteDisconnected"),
    (b"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
     "answered 302 (a redirect: not followed)"),
], ids=["not-http", "closed-unanswered", "redirect"])
def test_a_broken_or_redirecting_hub_is_retried_with_backoff_and_its_error_recorded(hub_app, db, hub, set_clock,
                                                                                   caplog, logged_in, answer,
                                                                                   recorded):
    raw = RawHub(answer.replace(b"{target}", hub.url.encode()))  # the redirect points at a real hub
    try:
        make_release(db)
        announce = {"ru": [f"{SITE}/ru/feed.rss"]}
        waits = []
        for attempt in range(3):
            with caplog.at_level("WARNING", logger="feedsvc.websub"):
                assert websub.deliver(db, [raw.url], announce) == 0
            assert raw.requests.get(timeout=HANG_SECONDS).startswith(b"POST /hub HTTP/1.1")
            [row] = db.query("select * from websub_pending where version > pinged")
            assert row["attempts"] == attempt + 1 and recorded in row["error"] and raw.url in row["error"]
            waits.append((clock.parse_time(row["run_after"]) - clock.now()).total_seconds())
            assert websub.deliver(db, [raw.url], announce) == 0 and raw.requests.empty()  # not before its time
            set_clock.advance(seconds=waits[-1])
        assert waits == [1, 2, 4]  # clock.backoff
        assert [r.exc_info for r in caplog.records] == [None] * 3 and len(caplog.records) == 3  # one line each
        assert hub.pings.empty()  # a redirect is never followed
        page = logged_in.get("/admin/").get_data(as_text=True)  # the admin sees it too
        assert "failed 3 time(s)" in page and recorded in page
    finally:
        raw.close()


def test_a_hub_that_refuses_the_connection_is_a_hub_error(set_clock):
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hub"
        with pytest.raises(websub.HubError, match="refused") as refused:
            websub.publish(url, f"{SITE}/ru/feed.rss")
    assert refused.value.hub == url
