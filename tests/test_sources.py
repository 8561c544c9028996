"""Following the office's own feed: a local press-office site on loopback serves RSS, Atom and JSON Feed documents
of Russian releases (and hostile ones); feedsvc imports, edits and withdraws releases from them, politely."""

import io
import json
import queue
import re
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from markupsafe import escape
from PIL import Image

from feedsvc import releases
from feedsvc import sources
from feedsvc.config import ConfigError
from feedsvc.storage import connect
from feedsvc.web import create_app
from tests.helpers import HANG_SECONDS
from tests.helpers import TARGETS
from tests.helpers import cli_runner

PARAGRAPH_1 = ("Председатель Сената Парламента провёл заседание палаты, на котором депутаты рассмотрели "
               "поправки в Бюджетный кодекс.")
PARAGRAPH_2 = "«Закон направлен на поддержку регионов», — отметил спикер, открывая заседание."
CONTACTS = "Пресс-служба Сената, тел.: 74-72-27"


def png(color=(30, 90, 160)) -> bytes:
    """A small real PNG photo."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def rss(items: str, ttl: int = 60) -> bytes:
    """An RSS 2.0 feed of the Senate press office with these <item>s."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Пресс-служба Сената — Новости</title>
  <link>{{site}}/ru/news/</link>
  <description>Новости Сената Парламента Республики Казахстан</description>
  <language>ru</language>
  <ttl>{ttl}</ttl>
  {items}
</channel>
</rss>""".encode()


def rss_item(number: int, title: str, extra: str = "") -> str:
    """One RSS item: a plenary session release with a figure, a script and a contact line."""
    return f"""<item>
    <title>{title}</title>
    <link>{{site}}/ru/news/{number}</link>
    <guid isPermaLink="false">senate-news-{number}</guid>
    <pubDate>Thu, 19 Nov 2026 0{number}:30:00 +0600</pubDate>
    <category>Пленарные заседания</category>
    <description>Краткое содержание.</description>
    <content:encoded><![CDATA[<figure><img src="/media/plenary-{number}.png" alt="Зал">
      <figcaption>Заседание Сената. Фото пресс-службы</figcaption></figure>
      <p>{PARAGRAPH_1}</p><script>alert("xss")</script><p>{PARAGRAPH_2}{extra}</p>
      <p><strong>{CONTACTS}</strong><style>p {{color: red}}</style></p>]]></content:encoded>
  </item>"""


def atom(entries: str, tombstones: str = "") -> bytes:
    """An Atom feed (with the RFC 6721 namespace) holding these entries and tombstones."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:at="http://purl.org/atompub/tombstones/1.0">
  <title>Пресс-служба Сената</title>
  <id>tag:senate.example.kz,2026:news</id>
  <updated>2026-11-19T10:00:00+06:00</updated>
  {entries}{tombstones}
</feed>""".encode()


def atom_entry(number: int, title: str) -> str:
    """One Atom entry, its content as XHTML-ish HTML."""
    return f"""<entry>
    <id>tag:senate.example.kz,2026:news/{number}</id>
    <title>{title}</title>
    <link rel="alternate" href="{{site}}/ru/news/{number}"/>
    <updated>2026-11-19T0{number}:00:00+06:00</updated>
    <published>2026-11-19T0{number}:00:00+06:00</published>
    <category term="Комитеты"/>
    <content type="html">&lt;p&gt;{PARAGRAPH_1}&lt;/p&gt;&lt;p&gt;{PARAGRAPH_2}&lt;/p&gt;</content>
  </entry>"""


TOMBSTONE = """<at:deleted-entry ref="tag:senate.example.kz,2026:news/2" when="2026-11-19T11:00:00+06:00">
    <at:comment>Опубликовано ошибочно</at:comment></at:deleted-entry>"""


class PressSite:
    """The press office's website on 127.0.0.1: serves ``pages`` {path: (status, headers, body)}; records requests.

    A page whose body is None hangs until ``release`` is set (a slow server). ETags are honoured: a request whose
    If-None-Match equals the page's ETag gets 304.
    """

    def __init__(self):
        """Start serving on a free port."""
        self.pages: dict[str, tuple[int, dict, bytes | None]] = {}
        self.requests: queue.Queue = queue.Queue()
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            """One GET."""

            def do_GET(self):
                """Answer from the pages."""
                site.requests.put((self.path, dict(self.headers)))
                status, headers, body = site.pages.get(self.path, (404, {}, b"not found"))
                if body is None:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.flush()
                    site.release.wait(HANG_SECONDS)
                    return
                if headers.get("ETag") and self.headers.get("If-None-Match") == headers["ETag"]:
                    status, body = 304, b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value.replace("{site}", site.url) if name == "Location" else value)
                if "X-Streamed" not in headers:  # a streamed body states no length: read until the server closes
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def serve(self, path: str, body: bytes | None, status: int = 200, **headers) -> str:
        """Serve ``body`` at ``path`` ({site} replaced by the site's URL); returns the page's URL."""
        headers = {name.replace("_", "-"): value for name, value in headers.items()}
        if body is not None:
            body = body.replace(b"{site}", self.url.encode())
        self.pages[path] = (status, headers, body)
        return self.url + path

    def taken(self) -> list[tuple[str, dict]]:
        """The requests received so far (emptying the record)."""
        seen = []
        while not self.requests.empty():
            seen.append(self.requests.get_nowait())
        return seen

    def close(self):
        """Stop serving."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    """The press office's site on loopback, with two photos."""
    press = PressSite()
    press.serve("/media/plenary-1.png", png(), Content_Type="image/png")
    press.serve("/media/plenary-2.png", png((200, 40, 40)), Content_Type="image/png")
    yield press
    press.close()


def follow(app, *configured, **settings):
    """The app following these sources (FEED_SOURCES as an operator writes it), with other settings."""
    return create_app({**app.config, "FEED_SOURCES": json.dumps(list(configured)), **settings})


def poll(app) -> str:
    """`feedsvc sources poll`, as an operator runs it; returns its output."""
    result = cli_runner(app).invoke(args=["sources", "poll"])
    assert result.exit_code == 0, result.output
    return result.output


def admin_client(app, logged_in):
    """A client of ``app`` carrying the logged-in admin's session (same database, same secret key)."""
    client = app.test_client()
    client.environ_base.update(logged_in.environ_base)
    for cookie in logged_in._cookies.values():
        client.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    return client


def imported(db) -> list[dict]:
    """Every imported release with its entry id, oldest first."""
    return list(db.query("""select r.*, e.entry_id from releases r join feed_source_entries e
        on e.release_id = r.id order by r.id"""))


def source_state(db, url: str) -> dict:
    """A source's stored state."""
    return sources.state(db, url)


def test_rss_entries_become_releases_with_plain_text_photo_caption_and_link(app, db, site, set_clock, logged_in):
    url = site.serve("/ru/rss.xml", rss(rss_item(1, "Сенат принял закон о бюджете")
                                        + rss_item(2, "Депутаты встретились с маслихатами")),
                     Content_Type="application/rss+xml; charset=utf-8")
    following = follow(app, {"url": url, "publish": True})
    assert "2 imported" in poll(following)

    first, second = imported(db)
    assert first["title"] == "Сенат принял закон о бюджете" and first["status"] == "published"
    assert first["body"] == f"{PARAGRAPH_1}\n\n{PARAGRAPH_2}\n\n{CONTACTS}"  # no script, no style, no figure
    assert first["category"] == "Пленарные заседания" and first["entry_id"] == "senate-news-1"
    assert first["published_at"].startswith("2026-11-18T19:30:00")  # 01:30 in Astana (+06:00)
    assert first["photo"] and first["photo_type"] == "image/png" and first["photo_width"] == 64
    assert first["photo_caption"] == "Заседание Сената. Фото пресс-службы"
    assert first["original_url"] == f"{site.url}/ru/news/1" and second["original_url"] == f"{site.url}/ru/news/2"
    assert {job["lang"] for job in db.query("select lang from jobs where release_id = ?", [first["id"]])} == \
        {"kk", "en"}  # published: queued for translation like any release

    page = following.test_client().get(f"/ru/releases/{first['id']}", follow_redirects=True).get_data(as_text=True)
    assert f'<link rel="via" href="{site.url}/ru/news/1">' in page
    assert f'Оригинал: <a href="{site.url}/ru/news/1"' in page  # the Russian page's interface is Russian
    assert "alert" not in page


def test_a_draft_source_stores_drafts_and_an_image_on_another_host_is_left_out(app, db, site, set_clock):
    item = rss_item(1, "Сенат принял закон").replace("/media/plenary-1.png",
                                                     f"http://localhost:{site.server.server_port}/media/plenary-1.png")
    url = site.serve("/ru/rss.xml", rss(item))
    poll(follow(app, url))  # a bare URL: drafts
    (release,) = imported(db)
    assert release["status"] == "draft" and release["photo"] is None and release["photo_caption"] == ""
    assert release["body"].startswith(PARAGRAPH_1)
    assert [path for path, _ in site.taken()] == ["/ru/rss.xml"]  # the other host was never asked


def test_json_feed_entries_are_imported(app, db, site, set_clock):
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Пресс-служба Сената", "items": [
        {"id": "news-7", "url": "{site}/ru/news/7", "title": "Сенат одобрил ратификацию соглашения",
         "content_html": f"<p>{PARAGRAPH_1}</p><p>{PARAGRAPH_2}</p>", "date_published": "2026-11-19T09:00:00+06:00",
         "tags": ["Международное сотрудничество"], "image": "{site}/media/plenary-2.png"}]}
    site.serve("/ru/feed.json", json.dumps(feed, ensure_ascii=False).encode(), Content_Type="application/feed+json")
    url = site.serve("/feed.json", b"", 301, Location="{site}/ru/feed.json")  # moved on the same host: followed
    poll(follow(app, {"url": url, "publish": False, "category": "Новости"}))
    (release,) = imported(db)
    assert (release["title"], release["category"]) == ("Сенат одобрил ратификацию соглашения", "Новости")
    assert release["body"] == f"{PARAGRAPH_1}\n\n{PARAGRAPH_2}" and release["photo"]
    assert release["published_at"].startswith("2026-11-19T03:00:00")


def test_polls_politely_with_conditional_get_ttl_and_no_double_import_after_a_restart(app, db, site, set_clock):
    url = site.serve("/ru/rss.xml", rss(rss_item(1, "Сенат принял закон"), ttl=60), ETag='"v1"',
                     Cache_Control="max-age=120")
    settings = sources.Settings(TARGETS, photo_folder=app.config["UPLOAD_FOLDER"])
    configured = [{"url": url, "publish": True, "category": ""}]
    sources.poll_due(db, configured, settings)
    site.taken()
    assert len(imported(db)) == 1

    set_clock.advance(minutes=59)  # the feed's TTL (60 min) is longer than its max-age and the 5-minute floor
    assert sources.poll_due(db, configured, settings) == [] and site.taken() == []
    set_clock.advance(minutes=1)
    (state,) = sources.poll_due(db, configured, settings)
    ((path, headers),) = site.taken()
    assert headers["If-None-Match"] == '"v1"' and state["error"] is None  # answered 304 Not Modified
    assert state["succeeded_at"] == state["checked_at"] and len(imported(db)) == 1

    # A restart: a new app and a new connection over the same database; the server forgets its ETag.
    site.serve("/ru/rss.xml", rss(rss_item(1, "Сенат принял закон"), ttl=60))
    restarted = follow(app, *configured)
    poll(restarted)
    fresh = connect(restarted.config["DATABASE"])
    try:
        assert len(imported(fresh)) == 1 and fresh.table("releases").count == 1
    finally:
        fresh.close()


def test_a_changed_entry_is_an_edit_a_missing_one_stays_and_a_tombstone_withdraws(app, db, site, set_clock):
    url = site.serve("/ru/atom.xml", atom(atom_entry(1, "Заседание комитета") + atom_entry(2, "Встреча с послом")),
                     Content_Type="application/atom+xml")
    following = follow(app, {"url": url, "publish": True})
    poll(following)
    first, second = imported(db)

    site.serve("/ru/atom.xml", atom(atom_entry(1, "Заседание комитета по бюджету")))  # 2 dropped off the feed
    assert "1 edited" in poll(following)
    edited = releases.get_release(db, first["id"])
    assert edited["title"] == "Заседание комитета по бюджету" and edited["revision"] == 2
    history = db.execute("select count(*) from revisions where release_id = ? and lang = 'ru'",
                         [first["id"]]).fetchone()[0]
    assert history == 2  # the imported text and the edit, as for an editor's edit
    assert db.execute("select count(*) from jobs where release_id = ? and source_revision = 2",
                      [first["id"]]).fetchone()[0] == 2  # translations follow the edit
    assert releases.get_release(db, second["id"])["status"] == "published"  # gone from the feed is not withdrawn

    site.serve("/ru/atom.xml", atom(atom_entry(1, "Заседание комитета по бюджету"), TOMBSTONE))
    assert "1 withdrawn" in poll(following)
    withdrawn = releases.get_release(db, second["id"])
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawal_reason"] == "Опубликовано ошибочно"
    poll(following)  # the tombstone stays in the feed: withdrawn once, nothing else changes
    assert source_state(db, url)["withdrawn"] == 1 and releases.get_release(db, first["id"])["revision"] == 2


def test_an_entry_without_a_title_is_skipped_and_named_and_a_new_image_replaces_the_photo(app, db, site, set_clock):
    hostile_link = rss_item(3, "Сенат одобрил закон").replace("<link>{site}/ru/news/3</link>",
                                                                "<link>javascript:alert(1)</link>")
    url = site.serve("/ru/rss.xml", rss(rss_item(1, "Сенат принял закон") + rss_item(2, "") + hostile_link))
    following = follow(app, {"url": url, "publish": True})
    poll(following)
    release, scripted = imported(db)
    assert scripted["original_url"] is None  # a javascript: link is never kept (the page would link it)
    state = source_state(db, url)
    assert "senate-news-2" in state["error"] and state["succeeded_at"] == state["checked_at"]
    old_photo = release["photo"]

    site.serve("/ru/rss.xml", rss(rss_item(1, "Сенат принял закон").replace("plenary-1", "plenary-2")))
    assert "1 edited" in poll(following)
    edited = releases.get_release(db, release["id"])
    assert edited["photo"] and edited["photo"] != old_photo and edited["revision"] == 1  # the text did not change
    assert not (Path(app.config["UPLOAD_FOLDER"]) / old_photo).exists()  # the replaced photo is gone
    assert source_state(db, url)["error"] is None


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>t</title><item><title>&lol3;</title><guid>x</guid>
<description>&lol3;</description></item></channel></rss>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>t</title><item><title>Сенат &secret;</title><guid>x</guid>
<description>&secret;</description></item></channel></rss>""".encode()


@pytest.mark.parametrize(("case", "expected"), (
    ("malformed", "malformed XML"),
    ("billion-laughs", "entities"),
    ("external-entity", "entities"),
    ("huge", "larger than 4096 bytes"),
    ("huge-streamed", "larger than 4096 bytes"),
    ("other-host", "redirect to another host refused"),
    ("redirect-loop", "HTTP 30"),
    ("slow", "no answer within"),
    ("not-a-feed", "HTTP 500"),
))
def test_a_hostile_or_broken_feed_is_an_error_on_the_sources_page_never_a_crash(
        app, db, site, set_clock, logged_in, case, expected):
    port = site.server.server_port
    pages = {
        "malformed": (rss(rss_item(1, "Сенат")).replace(b"</channel>", b""), {}),
        "billion-laughs": (BILLION_LAUGHS, {}),
        "external-entity": (EXTERNAL_ENTITY, {}),
        "huge": (rss(rss_item(1, "Сенат" * 2000)), {}),
        "huge-streamed": (b"<rss>" + b" " * 1_000_000, {"X-Streamed": "1"}),
        "other-host": (b"", {"Location": f"http://localhost:{port}/ru/rss.xml"}),
        "redirect-loop": (b"", {"Location": "/feed"}),
        "slow": (None, {}),
        "not-a-feed": (b"Internal error", {}),
    }
    body, headers = pages[case]
    status = 302 if "Location" in headers else 500 if case == "not-a-feed" else 200
    url = site.serve("/feed", body, status, **headers)
    following = follow(app, {"url": url, "publish": True}, FEED_SOURCE_MAX_BYTES=4096, FEED_SOURCE_TIMEOUT=0.5)
    with following.app_context():
        cli_runner(following).invoke(args=["sources", "poll"])  # reports the error, carries on
    state = source_state(db, url)
    assert expected in state["error"] and state["attempts"] == 1 and state["succeeded_at"] is None
    assert db.table("releases").count == 0
    assert b"root:" not in json.dumps(state).encode()
    assert state["next_poll"] == (set_clock.moment + timedelta(seconds=300)).isoformat()

    page = admin_client(following, logged_in).get("/admin/sources/").get_data(as_text=True)
    assert str(escape(state["error"])) in page and url in page  # as the template escapes it

    sources.poll_due(db, following.config["FEED_SOURCES"], sources.Settings(TARGETS, timeout=0.5, max_bytes=4096))
    assert source_state(db, url)["attempts"] == 1  # not due yet: the pause after an error holds
    set_clock.advance(seconds=300)
    sources.poll_due(db, following.config["FEED_SOURCES"], sources.Settings(TARGETS, timeout=0.5, max_bytes=4096))
    assert source_state(db, url)["next_poll"] == (set_clock.moment + timedelta(seconds=600)).isoformat()  # doubled


def test_feedparser_alone_never_expands_entities_either():
    import feedparser

    for document in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        parsed = feedparser.parse(io.BytesIO(document))
        text = json.dumps(parsed.entries, ensure_ascii=False, default=str)
        assert "lollollol" not in text and "root:" not in text


def test_the_worker_polls_in_the_background(app, db, site, set_clock):
    url = site.serve("/ru/rss.xml", rss(rss_item(1, "Сенат принял закон")))
    following = follow(app, url)
    with following.app_context():
        from feedsvc.commands.sources import sources_poller

        poller = sources_poller()
    try:
        path, _ = site.requests.get(timeout=HANG_SECONDS)
        assert path == "/ru/rss.xml"
    finally:
        poller.stop()
    assert len(imported(db)) == 1


def test_without_sources_nothing_leaves_the_machine(app, db, monkeypatch):
    from feedsvc.commands.sources import sources_poller

    opened = []
    real_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", lambda sock, address, *a: opened.append(address)
                        or real_connect(sock, address, *a))
    with app.app_context():
        assert sources_poller() is None
    assert sources.poll_due(db, app.config["FEED_SOURCES"], sources.Settings(TARGETS)) == []
    result = cli_runner(app).invoke(args=["sources", "poll"])
    assert result.exit_code == 1 and "no feed sources configured" in result.output
    assert opened == []


@pytest.mark.parametrize(("value", "message"), (
    ('[{"url": "https://senate.example.kz/rss"', "not valid JSON"),
    ('["ftp://senate.example.kz/rss"]', "not an http(s) URL"),
    ('[{"url": "https://senate.example.kz/rss", "publish": "yes"}]', "publish must be true or false"),
    ('[{"href": "https://senate.example.kz/rss"}]', "not a URL or an object"),
    ('{"url": "https://senate.example.kz/rss"}', "expected a JSON list"),
    ('["https://senate.example.kz/rss", "https://senate.example.kz/rss"]', "twice"),
))
def test_bad_feed_sources_are_a_clear_error_at_start(app, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app({**app.config, "FEED_SOURCES": value})


def test_sources_page_lists_each_source(app, logged_in):
    following = follow(app, "https://senate.example.kz/ru/rss.xml")
    page = admin_client(following, logged_in).get("/admin/sources/").get_data(as_text=True)
    assert "https://senate.example.kz/ru/rss.xml" in page and "never" in page
