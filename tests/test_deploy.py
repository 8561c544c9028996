"""The production front, tested: deploy/nginx/feedsvc.conf in front of gunicorn, as the README deploys it.

nginx runs as a child of the test with its own prefix, configuration, cache and logs in a temporary folder
(``-g 'daemon off;'``), on 127.0.0.1 only; gunicorn runs with PROXY_FIX=1 behind it, as in production.
The folders are the README's layout (``Layout``): a private instance folder, and an uploads folder outside it
whose group is nginx's. Started as root (CI), nginx's workers run as ``www-data``, as Debian runs them, and the
app as another user; they share nothing but that group. Every wait is for an event, bounded by ``HANG_SECONDS``
only to catch a hang.
"""

import contextlib
import grp
import http.client
import os
import pwd
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest

from feedsvc import photos
from feedsvc import releases
from feedsvc.commands.serve import no_control_socket
from feedsvc.demo import demo_photo
from feedsvc.storage import connect
from tests.helpers import TARGETS
from tests.helpers import Session
from tests.helpers import children
from tests.helpers import free_port
from tests.helpers import make_instance
from tests.helpers import missing_program
from tests.helpers import request
from tests.helpers import service_env
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
CONFIG = ROOT / "deploy" / "nginx" / "feedsvc.conf"
STATIC = ROOT / "feedsvc" / "web" / "static"
SLOW_CLIENTS = 20
# Debian's nginx runs its workers as this user and group (the README's uploads folder belongs to the group).
NGINX_USER = "www-data"
# What gunicorn logs per request: the forwarding headers the app received, as it received them.
ACCESS_FORMAT = '%(m)s %(U)s %(s)s xff=%({x-forwarded-for}i)s xfh=%({x-forwarded-host}i)s xfp=%({x-forwarded-proto}i)s'
MAIN_CONFIG = """\
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/feedsvc.conf;
    {extra}
}}
"""


def site_config(values: dict[str, str]) -> str:
    """deploy/nginx/feedsvc.conf with its ${FEEDSVC_*} values filled in, as envsubst does (nginx's $vars stay)."""
    return string.Template(CONFIG.read_text()).safe_substitute(values)


def terminate(process: subprocess.Popen) -> None:
    """SIGTERM (nginx: fast shutdown; gunicorn: graceful), then SIGKILL to its process group if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class Proxy:
    """nginx with the project's configuration in front of ``upstream``, everything under ``prefix``."""

    def __init__(self, prefix: Path, upstream: str, media: Path, extra: str = "", static: Path = STATIC):
        """Write the configuration, start nginx in the foreground and wait until it answers."""
        if not os.access(NGINX, os.X_OK):
            missing_program(f"{NGINX} is missing", "nginx")
        prefix.mkdir(parents=True, exist_ok=True)
        self.prefix, self.port = prefix, free_port()
        (prefix / "feedsvc.conf").write_text(site_config({
            "FEEDSVC_LISTEN": f"127.0.0.1:{self.port}", "FEEDSVC_SERVER_NAME": "127.0.0.1 localhost",
            "FEEDSVC_UPSTREAM": upstream, "FEEDSVC_STATIC": str(static), "FEEDSVC_MEDIA": str(media),
            "FEEDSVC_CACHE": str(prefix / "cache")}))
        # As root (CI), the workers switch to Debian's nginx user, as in production; otherwise they stay ours.
        user = f"user {NGINX_USER} {nginx_group()};" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(MAIN_CONFIG.format(user=user, prefix=prefix, extra=extra))
        command = [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self.answers, "nginx did not start")

    def answers(self) -> bool:
        """Whether nginx accepts connections (asserting it did not exit)."""
        assert self.process.poll() is None, (self.prefix / "error.log").read_text()[-2000:]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=5):
            return True
        return False

    def stop(self) -> None:
        """Stop nginx (see terminate)."""
        terminate(self.process)

    def worker_users(self) -> set[int]:
        """The user ids nginx's worker processes run as (Linux /proc)."""
        return {uid_of(pid) for pid in children(self.process.pid)}


def nginx_group() -> str:
    """The group of Debian's nginx user (www-data)."""
    return grp.getgrgid(pwd.getpwnam(NGINX_USER).pw_gid).gr_name


def uid_of(pid: int) -> int:
    """The real user id of a process (Linux /proc)."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
    return int(line.split()[1])


class Layout:
    """The README's production folders under a temporary /srv/feedsvc: nginx's user can reach the static files
    and the uploads (group-readable, setgid, its group) but not the instance folder (0700: database, key).

    Under /tmp, not pytest's private temporary folder, which another user could not even enter.
    """

    def __init__(self):
        """Make the folders as the README's `install -d` lines do."""
        self.root = Path(tempfile.mkdtemp(prefix="feedsvc-srv-"))
        self.root.chmod(0o755)  # like /srv/feedsvc: anyone may enter, what is inside decides
        self.static = self.root / "feedsvc" / "web" / "static"
        shutil.copytree(STATIC, self.static)  # the checkout's static files, readable by all
        self.uploads = self.root / "uploads"
        self.uploads.mkdir()
        if os.geteuid() == 0:  # install -d -o feedsvc -g www-data -m 2750 /srv/feedsvc/uploads
            os.chown(self.uploads, -1, grp.getgrnam(nginx_group()).gr_gid)
        self.uploads.chmod(0o2750)
        self.instance = self.root / "instance"
        self.instance.mkdir(mode=0o700)  # what create_app makes of a missing instance folder
        self.instance.chmod(0o700)

    def remove(self) -> None:
        """Delete the whole tree."""
        shutil.rmtree(self.root, ignore_errors=True)


class Gunicorn:
    """gunicorn (2 sync workers) with PROXY_FIX=1, logging the forwarding headers each request brought."""

    def __init__(self, app, log: Path, **config):
        """Start it on a free loopback port and wait until it serves a page."""
        self.port, self.log = free_port(), log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{self.port}",
                 "--access-logfile", "-", "--access-logformat", ACCESS_FORMAT, "--error-logfile", "-",
                 *no_control_socket(),
                 "feedsvc.web:create_app()"], env=service_env(app, PROXY_FIX=1, **config), cwd=log.parent,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self.answers, "gunicorn did not start")

    def answers(self) -> bool:
        """Whether it answers a page (asserting it did not exit)."""
        assert self.process.poll() is None, self.log.read_text()[-2000:]
        with contextlib.suppress(OSError):
            return request(self.port, "GET", "/ru/")[0] == 200
        return False

    def requests(self, path: str = "") -> list[str]:
        """The access log's lines so far (for ``path`` only, if given)."""
        return [line for line in self.log.read_text().splitlines() if " xff=" in line and f" {path}" in line]

    def logged(self, path: str, count: int = 1) -> list[str]:
        """The log lines of ``path`` once there are ``count`` (gunicorn logs a request after answering it)."""
        return wait_until(lambda: lines if len(lines := self.requests(path)) >= count else None,
                          f"gunicorn never logged {count} request(s) for {path}")

    def stop(self) -> None:
        """Stop the master and its workers (see terminate)."""
        terminate(self.process)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A demo instance under gunicorn behind nginx; feeds kept 2 s so a test sees them expire and revalidate."""
    if not os.access(NGINX, os.X_OK):
        missing_program(f"{NGINX} is missing", "nginx")
    folder, layout = tmp_path_factory.mktemp("deploy"), Layout()
    proxy = web = None
    try:
        app = make_instance(layout.instance, models=False, config={"UPLOAD_FOLDER": str(layout.uploads)})
        web = Gunicorn(app, folder / "gunicorn.log", FEED_MAX_AGE=2, MEDIA_ACCEL_REDIRECT="/_media/")
        proxy = Proxy(layout.root / "nginx", f"127.0.0.1:{web.port}", layout.uploads, static=layout.static)
        yield proxy, web, app
    finally:
        if proxy:
            proxy.stop()
        if web:
            web.stop()
        layout.remove()


def still_open(sock: socket.socket) -> bool:
    """Whether the server has neither closed this connection nor answered on it."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(timeout)


def test_slow_clients_do_not_delay_a_reader(site):
    proxy, web, _ = site
    head = b"GET /ru/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n"
    slow = [socket.create_connection(("127.0.0.1", proxy.port), timeout=30) for _ in range(SLOW_CLIENTS)]
    try:
        for sock in slow:  # every connection gets its header one byte per send, and stops before the end
            for byte in head:
                sock.send(bytes([byte]))
        started = time.perf_counter()
        status, _, body = request(proxy.port, "GET", "/ru/")
        latency = time.perf_counter() - started
        assert status == 200 and "</html>" in body.decode()
        assert all(still_open(sock) for sock in slow), "a slow client was dropped before the reader was served"
        assert not [line for line in web.requests() if "slowloris" in line]
        print(f"\nreader answered in {latency * 1000:.1f} ms while {SLOW_CLIENTS} slow clients held connections")
        for sock in slow:  # and each slow client, once its request is complete, is served too
            sock.sendall(b"Connection: close\r\n\r\n")
        for sock in slow:
            assert receive_all(sock).startswith(b"HTTP/1.1 200")
    finally:
        for sock in slow:
            sock.close()


def receive_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_clients_forwarding_headers_are_replaced_by_nginx(site):
    proxy, web, _ = site
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
              "Forwarded": "for=203.0.113.9;host=evil.example"}
    status, _, body = request(proxy.port, "GET", "/kk/feed.rss?forged", headers=forged)
    assert status == 200 and b"evil.example" not in body
    [line] = web.logged("/kk/feed.rss")
    assert line.endswith("xff=127.0.0.1 xfh=127.0.0.1 xfp=http"), line


def test_feed_is_served_from_the_cache_then_revalidated_with_its_etag(site):
    proxy, web, _ = site

    statuses = []

    def feed_status() -> str:
        """The cache status of one poll of the English Atom feed."""
        status, headers, _ = request(proxy.port, "GET", "/en/feed.atom")
        assert status == 200
        statuses.append(headers["x-cache-status"])
        return statuses[-1]

    assert feed_status() == "MISS"
    wait_until(lambda: feed_status() == "HIT", "a repeated poll was never answered from the cache")
    wait_until(lambda: feed_status() == "REVALIDATED", "an expired feed was never revalidated")
    reached_app = [status for status in statuses if status != "HIT"]
    polls = web.logged("/en/feed.atom", len(reached_app))
    assert len(polls) == len(reached_app), (statuses, polls)  # answers from the cache never reached gunicorn
    assert polls[0].startswith("GET /en/feed.atom 200") and polls[-1].startswith("GET /en/feed.atom 304"), polls


def test_a_changed_feed_reaches_readers_once_its_copy_expires(site):
    proxy, _, app = site

    def ru_feed() -> tuple[str, bytes]:
        """Cache status and body of one poll of the Russian RSS feed."""
        status, headers, body = request(proxy.port, "GET", "/ru/feed.rss")
        assert status == 200
        return headers["x-cache-status"], body

    wait_until(lambda: ru_feed()[0] == "HIT", "the feed was never answered from the cache")
    title = "Новый пресс-релиз после кэша"
    db = connect(app.config["DATABASE"])
    releases.create_release(db, title=title, body="Текст.", publish=True,
                            published_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC), languages=TARGETS)
    db.close()
    wait_until(lambda: title.encode() in ru_feed()[1], "the new release never reached the feed")

    def new_copy_cached() -> bool:
        """Whether a poll was a cache hit, asserting that no poll goes back to the old document."""
        status, body = ru_feed()
        assert title.encode() in body, f"an old copy was served ({status}) after the new one"
        return status == "HIT"

    wait_until(new_copy_cached, "no cached copy of the new feed")


@pytest.mark.parametrize("feed", ("/kk/feed.json", "/kk-latn/feed.json"))  # a language, an edition
def test_a_feed_is_one_cache_entry_whatever_its_query_string(site, feed):
    proxy, _, _ = site
    polls = iter(range(10**6))

    def fresh_query_status() -> str:
        """The cache status of a poll with a query string never sent before (a cache-busting reader)."""
        status, headers, body = request(proxy.port, "GET", f"{feed}?utm_source=bot{next(polls)}")
        assert status == 200 and b'"items"' in body
        return headers["x-cache-status"]

    wait_until(lambda: fresh_query_status() == "HIT", "every new query string reached the app")
    assert request(proxy.port, "GET", "/ru/archive/01.rss")[0] == 404  # and an archive number has one spelling


def test_admin_pages_are_never_cached(site):
    proxy, _, _ = site
    editor = Session(proxy.port)
    editor.login()
    for _ in range(2):
        status, headers, body = editor.open("GET", "/admin/")
        assert status == 200 and headers["x-cache-status"] == "BYPASS" and b"logout" in body.lower()
    status, headers, _ = request(proxy.port, "GET", "/admin/")  # an anonymous visitor gets the login, not a copy
    assert status == 302 and "/admin/login" in headers["location"] and headers["x-cache-status"] == "BYPASS"
    status, headers, _ = editor.open("GET", "/en/feed.rss")  # with a session cookie, no shared copy either way
    assert headers["x-cache-status"] == "BYPASS"


def test_static_files_and_photos_are_served_by_nginx_compressed_where_text(site):
    proxy, web, app = site
    db = connect(app.config["DATABASE"])
    stored = photos.save_photo(demo_photo(3), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
    release = releases.create_release(db, title="Фото", body="Текст.", photo=stored, publish=True,
                                      published_at=datetime(2026, 11, 20, tzinfo=UTC), languages=TARGETS)
    photo = stored["photo"]
    content = Path(app.config["UPLOAD_FOLDER"], photo).read_bytes()
    Path(app.config["UPLOAD_FOLDER"], f".{photo}.part").write_bytes(b"half")
    gzip = {"Accept-Encoding": "gzip"}
    for path, kind in (("/static/feedsvc.css", "text/css"), ("/ru/", "text/html"),
                       ("/ru/feed.atom", "application/atom+xml"), ("/kk/feed.rss", "application/rss+xml"),
                       ("/en/feed.json", "application/feed+json"), ("/sitemaps/ru-1.xml", "application/xml")):
        status, headers, body = request(proxy.port, "GET", path, headers=gzip)
        assert (status, headers["content-encoding"]) == (200, "gzip") and headers["content-type"].startswith(kind)
        assert "Accept-Encoding" in ", ".join(header_values(proxy.port, path, "Vary", gzip))
        assert zlib.decompress(body, 31)  # really gzip
        status, headers, _ = request(proxy.port, "GET", path)  # a client that does not ask gets it plain
        assert status == 200 and "content-encoding" not in headers
    immutable = "public, max-age=31536000, immutable"
    status, headers, body = request(proxy.port, "GET", f"/media/{photo}")
    assert (status, headers["content-type"], body) == (200, "image/jpeg", content)  # sent by nginx
    assert headers["x-content-type-options"] == "nosniff" and "x-accel-redirect" not in headers
    assert header_values(proxy.port, f"/media/{photo}", "Cache-Control") == [immutable]  # one, not the app's too
    sizes = photos.sizes_of(stored["photo_sizes"])
    for size in sizes:  # the responsive sizes, likewise sent by nginx and kept for a year
        status, headers, body = request(proxy.port, "GET", f"/media/{size['name']}")
        assert (status, headers["content-type"], headers["cache-control"]) == (200, size["type"], immutable)
        assert body == Path(app.config["UPLOAD_FOLDER"], size["name"]).read_bytes()
    status, headers, body = request(proxy.port, "GET", "/favicon.ico")
    assert (status, body) == (200, (STATIC / "icons" / "favicon.ico").read_bytes())
    assert request(proxy.port, "GET", f"/media/.{photo}.part")[0] == 404
    assert request(proxy.port, "GET", f"/_media/{photo}")[0] == 404  # the internal location is not public
    assert web.requests("/static/") == []
    releases.set_status(db, release["id"], "withdrawn", TARGETS)  # the app decides: a withdrawn release's photo is gone
    assert request(proxy.port, "GET", f"/media/{photo}")[0] == 404
    assert [request(proxy.port, "GET", f"/media/{size['name']}")[0] for size in sizes] == [404] * len(sizes)
    db.close()


def header_values(port: int, path: str, name: str, headers: dict | None = None) -> list[str]:
    """Every line of a response header (``request`` keeps one line per name)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.msg.get_all(name) or []
    finally:
        conn.close()


def test_unknown_host_names_and_methods_are_refused(site):
    proxy, _, _ = site
    with pytest.raises(ConnectionError):  # 444: nginx closes without an answer
        request(proxy.port, "GET", "/ru/", headers={"Host": "evil.example"})
    assert request(proxy.port, "DELETE", "/ru/")[0] == 405


def test_photos_reach_nginx_as_its_own_user_while_the_instance_stays_private(site):
    proxy, _, app = site
    if os.geteuid() != 0:
        pytest.skip("nginx's workers run as another user only when nginx is started as root (as in CI)")
    nginx = pwd.getpwnam(NGINX_USER)
    assert proxy.worker_users() == {nginx.pw_uid} != {os.geteuid()}  # nginx reads as www-data, the app is not it
    db = connect(app.config["DATABASE"])
    stored = photos.save_photo(demo_photo(4), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
    releases.create_release(db, title="Фото за nginx", body="Текст.", photo=stored, publish=True,
                            published_at=datetime(2026, 11, 21, tzinfo=UTC), languages=TARGETS)
    db.close()
    names = [stored["photo"], *(size["name"] for size in photos.sizes_of(stored["photo_sizes"]))]
    for name in names:
        path = Path(app.config["UPLOAD_FOLDER"], name)
        assert (path.stat().st_mode & 0o777, path.stat().st_gid) == (photos.FILE_MODE, nginx.pw_gid)
        status, _, body = request(proxy.port, "GET", f"/media/{name}")
        assert (status, body) == (200, path.read_bytes()), (proxy.prefix / "error.log").read_text()[-1000:]

    def readable_by_nginx(path: str) -> bool:
        """Whether nginx's user can read the file (a real process under that user, as root can start one)."""
        return subprocess.run(["cat", path], user=nginx.pw_uid, group=nginx.pw_gid, extra_groups=[],
                              capture_output=True).returncode == 0

    assert readable_by_nginx(str(Path(app.config["UPLOAD_FOLDER"], stored["photo"])))
    assert not readable_by_nginx(app.config["DATABASE"])  # the instance folder is 0700: database, key, config
    assert Path(app.config["DATABASE"]).parent.stat().st_mode & 0o777 == 0o700
