"""Under load, faults and hostile conditions: real gunicorn, the real worker, SIGKILL, read-only and full disks.

Everything is bounded: load loops by count, every wait for an event by a deadline that only catches a hang
(``HANG_SECONDS``); nothing depends on the machine's speed. Servers listen on
127.0.0.1 only. Faults that need root (bind mounts, tmpfs) skip where mounting is not permitted;
the same faults are also simulated on the database connection, which needs no privileges.
"""

import contextlib
import io
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import feedparser
import pytest
from PIL import Image

from feedsvc import jobs
from feedsvc import releases
from feedsvc.demo import demo_photo
from feedsvc.storage import connect
from feedsvc.text.segment import split_paragraphs
from tests.helpers import HANG_SECONDS
from tests.helpers import PASSWORD
from tests.helpers import TARGETS
from tests.helpers import Session
from tests.helpers import Web
from tests.helpers import children
from tests.helpers import csrf_token
from tests.helpers import demo_releases
from tests.helpers import expected
from tests.helpers import expire_leases
from tests.helpers import free_port
from tests.helpers import make_instance
from tests.helpers import request
from tests.helpers import service_env
from tests.helpers import wait_until

LANGS = ("ru", "kk", "en")
SEED = 20261119
READERS = 20
MIN_REQUESTS_PER_READER = 40  # each reader reads at least this much, and on until the admin is done
MAX_REQUESTS_PER_READER = 5_000
READS_BETWEEN_ADMIN_STEPS = 40  # the admin waits for this many reads between its steps: a load shaped by events
ADMIN_RELEASES = 16  # with the 4 demo releases, under FEED_ITEMS (50): every release fits in every feed
KILLS = 20
LOCKED = "database is locked"


# --- an instance on disk, the web app and the worker as real processes ------------------------------------------


def start_worker(app, log: Path, pause: str | None = None, **extra) -> subprocess.Popen:
    """`feedsvc worker` as a subprocess, like test_translation's kill test; with ``pause``, one that pauses between
    translating a batch and storing it (tests/paused_worker.py: ``hold`` until killed, or some seconds). Its stdin
    is a pipe the test holds open: a held worker waits on it."""
    command = ["feedsvc.commands", "worker"] if pause is None else ["tests.paused_worker", pause]
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", *command], env=service_env(app, **extra),
                                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)


def kill_worker(worker: subprocess.Popen) -> None:
    """SIGKILL a worker, wait for it, and close the pipe it read (or held) on."""
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    worker.stdin.close()


# --- a small HTTP client: stdlib only ------------------------------------------------------------------------------


def variant(item: dict, k: int) -> str:
    """A demo release's body with its paragraphs rotated: new text, every sentence still in the demo corpus."""
    paragraphs = split_paragraphs(item["body"])
    k %= len(paragraphs)
    return "\n\n".join(paragraphs[k:] + paragraphs[:k])


def log_text(*paths: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())


def wait_for_drain(db, worker: subprocess.Popen) -> None:
    """Until no job is queued or running, the worker alive all along."""

    def drained() -> bool:
        """The queue is empty (and the worker still runs)."""
        assert worker.poll() is None, "the worker died"
        return not jobs.pending_count(db)

    wait_until(drained, "the queue was not drained")


# --- mixed load ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_mixed_load_readers_admin_and_worker_no_5xx_no_lock_errors(tmp_path):
    app = make_instance(tmp_path / "instance")
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    db = connect(app.config["DATABASE"])
    web = Web(app, web_log)
    worker = start_worker(app, worker_log)
    statuses: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    ids = [r["id"] for r in db.query("select id from releases")]
    photos: list[str] = []
    admin_stats: Counter = Counter()
    admin_done = threading.Event()
    reads = threading.Condition(lock)
    read_count = [0]

    def reader(number: int) -> None:
        rng = random.Random(SEED + number)
        etags: dict[str, str] = {}
        for done in range(MAX_REQUESTS_PER_READER):
            if done >= MIN_REQUESTS_PER_READER and admin_done.is_set():
                return
            lang = rng.choice(LANGS)
            choice = rng.random()
            if choice < 0.35:
                path = f"/{lang}/feed.{rng.choice(('rss', 'atom'))}"
            elif choice < 0.55:
                path = f"/{lang}/" + rng.choice(("", "?page=2"))
            elif choice < 0.85:
                path = f"/{lang}/releases/{rng.choice(ids)}"
            elif choice < 0.95:
                path = f"/{lang}/search?q=" + urllib.parse.quote(rng.choice(("Сенат", "закон", "Senate", "заң")))
            else:
                path = f"/media/{rng.choice(photos)}" if photos else "/"
            headers = {"If-None-Match": etags[path]} if path in etags and rng.random() < 0.5 else {}
            try:
                status, response_headers, body = request(web.port, "GET", path, headers=headers)
            except OSError as exc:
                with lock:
                    errors.append(f"{path}: {exc!r}")
                continue
            if "etag" in response_headers:
                etags[path] = response_headers["etag"]
            with lock:
                statuses[status] += 1
                read_count[0] += 1
                reads.notify_all()
                if status >= 500 or LOCKED.encode() in body:
                    errors.append(f"{path}: {status} {body[:300]!r}")
            if status == 301:  # a release URL without its slug: follow, as readers do
                path = urllib.parse.urlsplit(response_headers["location"]).path
                try:
                    status, _, body = request(web.port, "GET", path)
                except OSError as exc:
                    with lock:
                        errors.append(f"{path}: {exc!r}")
                    continue
                with lock:
                    statuses[status] += 1
                    if status >= 500 or LOCKED.encode() in body:
                        errors.append(f"{path}: {status} {body[:300]!r}")

    def readers_read_on() -> None:
        """Wait until the readers have made READS_BETWEEN_ADMIN_STEPS more requests (or a hang is caught)."""
        with reads:
            target = read_count[0] + READS_BETWEEN_ADMIN_STEPS
            assert reads.wait_for(lambda: read_count[0] >= target, timeout=HANG_SECONDS), "the readers hung"

    def admin() -> None:
        try:
            publish_edit_withdraw()
        finally:
            admin_done.set()

    def publish_edit_withdraw() -> None:
        rng = random.Random(SEED)
        session = Session(web.port)
        session.login()
        items = demo_releases()
        published: list[int] = []
        withdrawn: set[int] = set()
        for n in range(ADMIN_RELEASES):
            item = items[n % len(items)]
            photo = demo_photo(n) if n % 3 == 0 else None
            body, ctype = session.release_form(item["title"], variant(item, n), photo)
            status, headers, data = session.open("POST", "/admin/releases/new", body, ctype)
            admin_stats[f"publish {status}"] += 1
            if status != 302:
                errors.append(f"publish: {status} {data[:300]!r}")
                continue
            release_id = int(re.search(r"/admin/releases/(\d+)/edit", headers["location"]).group(1))
            published.append(release_id)
            with lock:
                ids.append(release_id)
            if photo:
                row = releases.get_release(db, release_id)
                photos.append(row["photo"])
            if n % 4 == 3:  # edit an earlier one's text: a new revision, translations re-queued
                target = rng.choice([i for i in published[:-1] if i not in withdrawn])
                row = releases.get_release(db, target)
                source = next(i for i in items if i["title"] == row["title"])
                body, ctype = session.release_form(row["title"], variant(source, n + 1))
                status, _, data = session.open("POST", f"/admin/releases/{target}/edit", body, ctype)
                admin_stats[f"edit {status}"] += 1
                if status != 302:
                    errors.append(f"edit: {status} {data[:300]!r}")
            if n == 10:  # withdraw one
                form = urllib.parse.urlencode({"csrf_token": session.token, "confirm": "1"}).encode()
                status, _, data = session.open("POST", f"/admin/releases/{published[0]}/withdrawn", form,
                                               "application/x-www-form-urlencoded")
                admin_stats[f"withdraw {status}"] += 1
                withdrawn.add(published[0])
                if status != 302:
                    errors.append(f"withdraw: {status} {data[:300]!r}")
            readers_read_on()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    admin_thread = threading.Thread(target=admin, daemon=True)
    started = time.monotonic()
    try:
        for thread in [*threads, admin_thread]:
            thread.start()
        for thread in [*threads, admin_thread]:
            thread.join(timeout=HANG_SECONDS)
            assert not thread.is_alive(), "a load thread hung"
        elapsed = time.monotonic() - started
        queued_at_end = jobs.pending_count(db)
        wait_for_drain(db, worker)
        drained = time.monotonic() - started - elapsed
        feeds = {}
        for lang in LANGS:
            for fmt in ("rss", "atom"):
                status, _, body = request(web.port, "GET", f"/{lang}/feed.{fmt}")
                assert status == 200
                feeds[lang, fmt] = feedparser.parse(body)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        worker.stdin.close()
        web.stop()
    total = sum(statuses.values())
    print(f"\nmixed load: {total} reader requests in {elapsed:.1f} s ({total / elapsed:.0f}/s) by {READERS} readers; "
          f"statuses {dict(sorted(statuses.items()))}; admin {dict(admin_stats)}; "
          f"{queued_at_end} job(s) queued at the end of the load, drained in {drained:.1f} s; "
          f"jobs {jobs.counts(db)}")
    assert not errors, errors[:10]
    assert total >= READERS * MIN_REQUESTS_PER_READER and statuses[200] > 0 and statuses[304] > 0
    assert not [s for s in statuses if s >= 500]
    assert admin_stats == {"publish 302": ADMIN_RELEASES, "edit 302": ADMIN_RELEASES // 4, "withdraw 302": 1}
    logs = log_text(web_log, worker_log)
    assert LOCKED not in logs
    assert "Traceback" not in logs
    published = list(db.query("select * from releases where status = 'published'"))
    withdrawn = [r["guid"] for r in db.query("select guid from releases where status = 'withdrawn'")]
    assert len(published) == 4 + ADMIN_RELEASES - 1 and len(withdrawn) == 1
    for (lang, fmt), feed in feeds.items():
        assert not feed.bozo, (lang, fmt, feed.bozo_exception)
        guids = {entry.id for entry in feed.entries}
        assert guids >= {releases.entry_id(r["guid"], lang) for r in published}, (lang, fmt)
        assert not guids & {releases.entry_id(guid, lang) for guid in withdrawn}
    for row in published:  # every translation done, of the current text, and right
        for lang in ("kk", "en"):
            translation = releases.translations_of(db, row["id"])[lang]
            assert (translation["status"], translation["source_revision"]) == ("machine", row["revision"])
            assert (translation["title"], translation["body"]) == expected(row, lang)
    db.close()


# --- the worker killed at random points ---------------------------------------------------------------------------


@pytest.mark.slow
def test_worker_killed_20_times_at_random_points_then_every_job_done_exactly_once(tmp_path):
    app = make_instance(tmp_path / "instance")
    db = connect(app.config["DATABASE"])
    log = tmp_path / "worker.log"
    rng = random.Random(SEED)
    items = {item["title"]: item for item in demo_releases()}
    # Many interruptions of one job are expected here: every kill charges each job the worker held an attempt
    # (a job that kills its worker must end `failed`, not loop), so the "gave up" guard is kept out of the way,
    # for the final worker too (with the default 5, jobs interrupted more often ended `failed` there). The pause
    # before storing (a test hook) widens the window between translating and storing; a worker killed "at a new
    # lease" pauses until it is killed, so that kill lands holding the lease however fast the machine is.
    guard = {"WORKER_MAX_ATTEMPTS": 100}
    extra = {**guard, "pause": "0.5"}
    holding = {**guard, "pause": "hold"}
    phases: Counter = Counter()
    edits = 0
    # Where each kill lands, seeded: a random moment of start-up, the moment a lease is taken (the worker
    # then holds it for at least the pause before storing), or a random moment after its first claim.
    kinds = ["start-up"] * 4 + ["at a new lease"] * 10 + ["after a claim"] * (KILLS - 14)
    rng.shuffle(kinds)

    def facts() -> tuple[set, int, int, int]:
        leases = {tuple(r) for r in db.execute("select id, lease_token from jobs where status = 'running'")}
        claims = db.execute("select coalesce(sum(attempts), 0) from jobs").fetchone()[0]
        done = db.execute("select count(*) from jobs where status = 'done'").fetchone()[0]
        return leases, claims, done, db.execute("select count(*) from memory").fetchone()[0]

    def running(worker: subprocess.Popen) -> bool:
        """The worker has not exited on its own."""
        assert worker.poll() is None, log.read_text()[-2000:]
        return True

    started = time.monotonic()
    for kill, kind in enumerate(kinds):
        while jobs.pending_count(db) < 4:  # always give it work: edits make new revisions to translate
            row = rng.choice(list(db.query("select * from releases")))
            releases.update_release(db, row["id"], {"body": variant(items[row["title"]], edits + 1)}, languages=TARGETS)
            edits += 1
        if kill % 2:  # a cold memory: the worker loads the models and translates (seconds, not milliseconds)
            db.execute("delete from memory")
        leases, claims, done, _ = facts()
        worker = start_worker(app, log, **(holding if kind == "at a new lease" else extra))
        if kind == "start-up":
            time.sleep(rng.uniform(0.2, 1.5))  # picks a moment; nothing waits on it
        elif kind == "at a new lease":
            wait_until(lambda w=worker, before=leases: running(w) and facts()[0] - before,
                       "the worker never took a lease")
        else:
            wait_until(lambda w=worker, before=claims: running(w) and facts()[1] > before,
                       "the worker never claimed a job")
            time.sleep(rng.uniform(0, 3))  # picks a moment; nothing waits on it
        kill_worker(worker)
        now_leases, now_claims, now_done, _ = facts()
        if now_leases - leases:  # a lease the killed worker took is left behind
            phases["holding a lease" + (" (after storing others)" if now_done > done else "")] += 1
        elif now_claims > claims:
            phases["between jobs"] += 1
        else:
            phases["start-up, nothing claimed"] += 1
    killing = time.monotonic() - started
    leased_at_the_end = db.execute("select count(*) from jobs where status = 'running'").fetchone()[0]
    expire_leases(db)  # what the last dead worker's lease does in WORKER_LEASE_SECONDS
    result = subprocess.run([sys.executable, "-m", "feedsvc.commands", "worker", "--once"],
                            env=service_env(app, **guard), capture_output=True, text=True, timeout=HANG_SECONDS)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = jobs.counts(db)
    attempts = Counter(r[0] for r in db.execute("select attempts from jobs where status = 'done'"))
    print(f"\nworker kills: {KILLS} in {killing:.1f} s, {edits} edits; at the kill: {dict(phases)}; "
          f"{leased_at_the_end} job(s) left leased (running); jobs {counts}; done jobs by attempts "
          f"{dict(sorted(attempts.items()))}")
    assert sum(n for phase, n in phases.items() if phase.startswith("holding")) >= kinds.count("at a new lease"), \
        phases
    unfinished = list(db.query("select id, release_id, lang, status, attempts, error from jobs "
                               "where status not in ('done', 'superseded')"))
    assert unfinished == [], f"jobs {counts}: " + "; ".join(
        f"job {j['id']} (release {j['release_id']} → {j['lang']}) {j['status']} after {j['attempts']} attempt(s): "
        f"{j['error']}" for j in unfinished) + "\n" + result.stdout[-2000:]
    assert max(attempts) > 1  # some job was interrupted and claimed again
    for row in db.query("select * from releases"):
        for lang in ("kk", "en"):
            done = list(db.query("select * from jobs where release_id = ? and lang = ? and status = 'done' "
                                 "and source_revision = ?", [row["id"], lang, row["revision"]]))
            assert len(done) == 1, (row["id"], lang, done)
            translation = releases.translations_of(db, row["id"])[lang]
            assert (translation["status"], translation["source_revision"]) == ("machine", row["revision"])
            assert (translation["title"], translation["body"]) == expected(row, lang)
    twice = list(db.query("select release_id, lang, source_revision, count(*) n from jobs where status = 'done' "
                          "group by release_id, lang, source_revision having n > 1"))
    assert twice == []
    duplicates = list(db.query("select step, source, count(*) n from memory group by step, source having n > 1"))
    assert duplicates == []
    assert sqlite3.connect(app.config["DATABASE"]).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


# --- the web process killed during an upload ----------------------------------------------------------------------


def big_photo() -> bytes:
    """A JPEG of a few MB (noise does not compress), so half of the upload is a real half."""
    raw = io.BytesIO()
    Image.frombytes("RGB", (1400, 1000), random.Random(SEED).randbytes(1400 * 1000 * 3)).save(raw, "JPEG",
                                                                                            quality=95)
    return raw.getvalue()


def raw_upload(port: int, session: Session, title: str, photo: bytes, fraction: float) -> socket.socket:
    """Start the upload on a raw socket: headers and ``fraction`` of the body; the caller kills the server."""
    body, ctype = session.release_form(title, "Текст релиза.", photo)
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    head = (f"POST /admin/releases/new HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nCookie: {cookie}\r\nAccept-Language: en\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(head + body[:int(len(body) * fraction)])
    return sock


def in_flight(sock: socket.socket) -> int | None:
    """Bytes sent on ``sock`` that the server process has not read yet (Linux /proc/net/tcp queues).

    Both ends are on this machine: our send queue plus the server's receive queue for this connection.
    None while the server side is not yet listed.
    """
    ours, theirs = sock.getsockname()[1], sock.getpeername()[1]
    queues = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        tx, rx = (int(n, 16) for n in fields[4].split(":"))
        if (local, remote) == (ours, theirs):
            queues["sent"] = tx
        elif (local, remote) == (theirs, ours):
            queues["unread"] = rx
    return queues["sent"] + queues["unread"] if len(queues) == 2 else None


def files_in(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


@pytest.mark.slow
def test_web_killed_mid_upload_leaves_no_release_and_no_file(tmp_path):
    app = make_instance(tmp_path / "instance", models=False)
    db = connect(app.config["DATABASE"])
    uploads = Path(app.config["UPLOAD_FOLDER"])
    before = releases.count_all(db)
    web = Web(app, tmp_path / "web.log", workers=1)
    try:
        session = Session(web.port)
        session.login()
        sock = raw_upload(web.port, session, "Половина загрузки", big_photo(), 0.5)
        # The server has read all we sent (half the body) and waits for the rest: kill it there.
        wait_until(lambda: in_flight(sock) == 0, "the server never read the first half of the upload")
    finally:
        web.kill()
    sock.close()
    assert releases.count_all(db) == before
    assert files_in(uploads) == []
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


@pytest.mark.slow
def test_web_killed_between_photo_and_row_leaves_no_release_but_an_orphan_photo(tmp_path):
    """The window in admin.new_release: photos.save_photo has renamed the file into place, the row is not yet
    committed. Holding the database's write lock keeps the request in that window; then the server dies.

    No half-written release (the row is one transaction), but the photo stays as an orphan file that no
    release references (see test_orphan_photos_are_removed_by_cleanup_uploads).
    """
    app = make_instance(tmp_path / "instance", models=False)
    db = connect(app.config["DATABASE"])
    uploads = Path(app.config["UPLOAD_FOLDER"])
    before = releases.count_all(db)
    web = Web(app, tmp_path / "web.log", workers=1)
    blocker = connect(app.config["DATABASE"])
    try:
        session = Session(web.port)
        session.login()
        blocker.execute("BEGIN IMMEDIATE")  # the web's INSERT waits on its busy timeout (10 s)
        sock = raw_upload(web.port, session, "Фото без релиза", demo_photo(1), 1.0)
        # Kill as soon as the photo is in place: the web's INSERT then waits on the busy timeout (10 s).
        wait_until(lambda: [n for n in files_in(uploads) if not n.startswith(".")], "the photo was never stored")
    finally:
        web.kill()
        if blocker.conn.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()
    sock.close()
    assert releases.count_all(db) == before
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    referenced = {r[0] for r in db.execute("select photo from releases where photo is not null")}
    orphans = [n for n in files_in(uploads) if n not in referenced]
    print(f"\norphan files after the crash: {orphans}")
    assert len(orphans) == 1 and not orphans[0].startswith(".")
    db.close()


def test_orphan_photos_are_removed_by_cleanup_uploads(app, db, runner, tmp_path):
    from tests.helpers import make_release

    uploads = Path(app.config["UPLOAD_FOLDER"])
    from feedsvc import photos

    kept = photos.save_photo(demo_photo(0), str(uploads), max_bytes=10**7, max_pixels=10**7)
    make_release(db, photo=kept)
    orphan = photos.save_photo(demo_photo(1), str(uploads), max_bytes=10**7, max_pixels=10**7)
    (uploads / ".dead.jpg.part").write_bytes(b"half")
    young = photos.save_photo(demo_photo(2), str(uploads), max_bytes=10**7, max_pixels=10**7)
    old = time.time() - 7200
    for name in (*stored_files(orphan), ".dead.jpg.part", *stored_files(kept)):
        os.utime(uploads / name, (old, old))
    result = runner.invoke(args=["cleanup-uploads"])  # default grace period: 1 hour
    assert result.exit_code == 0, result.output
    # the kept photo with its sizes, and the young one with its sizes (it may be an upload in flight)
    assert files_in(uploads) == sorted([*stored_files(kept), *stored_files(young)])


def stored_files(fields: dict) -> list[str]:
    """A stored photo's file and its sizes' files."""
    from feedsvc import photos

    return [fields["photo"], *(size["name"] for size in photos.sizes_of(fields["photo_sizes"]))]


# --- read-only database, full disk --------------------------------------------------------------------------------


def mount_or_skip(args: list[str]) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} is not permitted here: {result.stderr.strip()}")


def unmount(target: Path) -> None:
    if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(target)], check=True)  # busy: detach now, free when closed


@contextlib.contextmanager
def read_only(target: Path):
    """``target`` (a file or a folder) read-only even for root: a read-only bind mount over it."""
    mount_or_skip(["--bind", str(target), str(target)])
    try:
        result = subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"remount read-only is not permitted here: {result.stderr.strip()}")
        yield
    finally:
        unmount(target)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "4m"):
    """A tiny tmpfs mounted on ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    mount_or_skip(["-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)])
    try:
        yield folder
    finally:
        unmount(folder)


def fill(folder: Path) -> Path:
    """Fill the disk under ``folder`` to the last byte."""
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
    with contextlib.suppress(OSError), open(filler, "ab") as fh:  # the last partial block
        while True:
            fh.write(b"\0" * 512)
            fh.flush()
    return filler


def snapshot(db) -> list:
    return [tuple(r) for r in db.execute("select * from releases order by id").fetchall()] + [
        tuple(r) for r in db.execute("select * from translations order by release_id, lang").fetchall()]


def flashes(html: str) -> list[str]:
    return re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', html)


def form_data(token: str, photo: bytes | None = None) -> dict:
    data = {"title": "Релиз при сбое диска", "body": "Текст релиза. " * 3000, "published_at": "2026-11-19T11:30",
            "category": "Пленарные заседания", "csrf_token": token, "publish": "1", "photo_caption": "",
            "photo_credit": ""}
    if photo:
        data["photo"] = (io.BytesIO(photo), "photo.jpg")
    return data


def assert_refused_and_intact(response, db, before: list, uploads: Path) -> None:
    """The admin sees a 503 and the message; nothing stored changed; no stray photo; pages still served."""
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:500]
    assert any("could not be saved" in message for message in flashes(html)), flashes(html)
    assert "Релиз при сбое диска" in html  # what was typed is kept
    assert snapshot(db) == before
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [n for n in files_in(uploads) if n != "filler"] == []


def logged_in_client(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", data={"username": "editor", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client, csrf_token(client, "/admin/releases/new")


def test_read_only_database_file_publish_is_503_and_nothing_changes(tmp_path):
    app = make_instance(tmp_path / "instance", models=False)
    db = connect(app.config["DATABASE"])
    before = snapshot(db)
    db.close()  # nothing holds the file open: the web opens it on its own
    client, token = logged_in_client(app)
    with read_only(Path(app.config["DATABASE"])):
        response = client.post("/admin/releases/new", data=form_data(token), content_type="multipart/form-data")
        assert client.get("/ru/").status_code == 200 and client.get("/en/feed.atom").status_code == 200
    db = connect(app.config["DATABASE"])
    assert_refused_and_intact(response, db, before, Path(app.config["UPLOAD_FOLDER"]))
    db.close()


def test_read_only_instance_folder_while_the_worker_holds_the_database_is_503(tmp_path):
    app = make_instance(tmp_path / "instance", models=False)
    db = connect(app.config["DATABASE"])  # as the running worker does: -wal and -shm exist
    before = snapshot(db)
    client, token = logged_in_client(app)
    uploads = Path(app.config["UPLOAD_FOLDER"])
    with read_only(Path(app.config["DATABASE"]).parent):
        response = client.post("/admin/releases/new", data=form_data(token), content_type="multipart/form-data")
        assert client.get("/kk/").status_code == 200
    assert_refused_and_intact(response, db, before, uploads)
    db.close()


def test_read_only_instance_folder_with_nothing_open_is_503_not_500(tmp_path):
    app = make_instance(tmp_path / "instance", models=False)
    client, token = logged_in_client(app)
    with read_only(Path(app.config["DATABASE"]).parent):
        response = client.post("/admin/releases/new", data=form_data(token), content_type="multipart/form-data")
        page = client.get("/ru/")
    assert response.status_code == 503 and page.status_code == 503


def test_full_disk_publish_is_503_and_nothing_changes(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        app = make_instance(disk / "instance", models=False)
        db = connect(app.config["DATABASE"])
        before = snapshot(db)
        client, token = logged_in_client(app)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # an empty WAL: the new release needs new disk blocks
        filler = fill(disk)
        response = client.post("/admin/releases/new", data=form_data(token), content_type="multipart/form-data")
        assert client.get("/ru/").status_code == 200
        filler.unlink()
        assert_refused_and_intact(response, db, before, Path(app.config["UPLOAD_FOLDER"]))
        # Space again: the same form goes through.
        response = client.post("/admin/releases/new", data=form_data(token), content_type="multipart/form-data")
        assert response.status_code == 302
        db.close()


def test_full_disk_publish_with_photo_is_503_and_leaves_no_file(tmp_path):
    with small_disk(tmp_path / "disk") as disk:
        app = make_instance(disk / "instance", models=False)
        db = connect(app.config["DATABASE"])
        before = snapshot(db)
        client, token = logged_in_client(app)
        filler = fill(disk)
        try:
            response = client.post("/admin/releases/new", data=form_data(token, demo_photo(3)),
                                   content_type="multipart/form-data")
        finally:
            filler.unlink()
            leftovers = files_in(Path(app.config["UPLOAD_FOLDER"]))
            db.close()
        db = connect(app.config["DATABASE"])
        assert leftovers == []
        assert_refused_and_intact(response, db, before, Path(app.config["UPLOAD_FOLDER"]))
        db.close()


@pytest.mark.parametrize("fault", ["read-only", "disk full"])
def test_simulated_storage_fault_on_publish_is_503_and_nothing_changes(tmp_path, monkeypatch, fault):
    """The same faults without privileges: the request's connection is made read-only (query_only) or may not
    grow the file (max_page_count), so SQLite answers as it does on a read-only or full disk."""
    import feedsvc.web.db

    app = make_instance(tmp_path / "instance", models=False)
    db = connect(app.config["DATABASE"])
    before = snapshot(db)
    client, token = logged_in_client(app)
    real_connect = feedsvc.web.db.connect

    def faulty_connect(path):
        conn = real_connect(path)
        if fault == "read-only":
            conn.execute("PRAGMA query_only = ON")
        else:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(feedsvc.web.db, "connect", faulty_connect)
    response = client.post("/admin/releases/new", data=form_data(token), content_type="multipart/form-data")
    assert_refused_and_intact(response, db, before, Path(app.config["UPLOAD_FOLDER"]))
    assert client.get("/ru/").status_code == 200
    db.close()


# --- feedsvc serve: both processes watched and stopped together ------------------------------------------------------


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_serve_restarts_a_dead_worker_and_sigterm_stops_everything(app, tmp_path):
    port = free_port()
    with open(tmp_path / "serve.log", "ab") as log:
        serve = subprocess.Popen([sys.executable, "-m", "feedsvc.commands", "serve", "--no-demo", "--port", str(port),
                                  "--workers", "1"], env=service_env(app), cwd=tmp_path, stdout=log,
                                 stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            """The web server answers."""
            with contextlib.suppress(OSError):
                return request(port, "GET", "/ru/")[0] == 200
            return False

        wait_until(up, "feedsvc serve did not come up")
        worker = wait_until(lambda: [p for p, cmd in children(serve.pid).items() if "feedsvc.commands worker" in cmd],
                            "no worker process")[0]
        web = next(p for p, cmd in children(serve.pid).items() if "gunicorn" in cmd)
        os.kill(worker, signal.SIGKILL)
        again = wait_until(lambda: [p for p, cmd in children(serve.pid).items()
                                    if "feedsvc.commands worker" in cmd and p != worker],
                           "the worker was not restarted")
        assert "starting it again" in (tmp_path / "serve.log").read_text()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=HANG_SECONDS) == 0
        assert not alive(web) and not alive(again[0]), "serve left a process behind"
        with pytest.raises(OSError):
            request(port, "GET", "/ru/", timeout=2)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


@pytest.mark.slow
def test_serve_starts_gunicorn_again_after_its_master_is_killed(app, tmp_path):
    port, home = free_port(), tmp_path / "home"
    home.mkdir()
    env = {**service_env(app), "HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)  # gunicorn's control socket would go to ~/.gunicorn/gunicorn.ctl
    with open(tmp_path / "serve.log", "ab") as log:
        serve = subprocess.Popen([sys.executable, "-m", "feedsvc.commands", "serve", "--no-demo", "--port", str(port),
                                  "--workers", "1"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)

    def up() -> bool:
        """The web server answers a page."""
        with contextlib.suppress(OSError):
            return request(port, "GET", "/ru/", timeout=10)[0] == 200
        return False

    def masters() -> list[int]:
        """serve's gunicorn master processes (asserting that serve itself still runs)."""
        assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
        return [pid for pid, cmd in children(serve.pid).items() if "gunicorn" in cmd]

    try:
        wait_until(up, "feedsvc serve did not come up")
        [master] = masters()
        assert "--no-control-socket" in children(serve.pid)[master] and not (home / ".gunicorn").exists()
        old_workers = list(children(master))
        os.kill(master, signal.SIGKILL)
        again = wait_until(lambda: [pid for pid in masters() if pid != master], "gunicorn was not started again")
        wait_until(lambda: not any(alive(pid) for pid in old_workers), "the dead master's workers stayed")
        wait_until(up, "pages did not come back after gunicorn's master was killed")
        assert masters() == again and serve.poll() is None
        assert "The web server exited (code -9); starting it again" in (tmp_path / "serve.log").read_text()
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=HANG_SECONDS) == 0
        assert not alive(again[0]), "serve left gunicorn behind"
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_serve_on_a_busy_port_is_one_clear_error(app):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "feedsvc.commands", "serve", "--no-demo", "--port", str(port)],
                                env=service_env(app), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in result.stderr and "Traceback" not in result.stderr
