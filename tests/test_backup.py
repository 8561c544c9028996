"""`feedsvc backup`: a consistent copy while the service writes, restorable into a fresh instance."""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from sqlite_utils import Database

from feedsvc import jobs
from feedsvc import photos
from feedsvc import releases
from feedsvc.backup import backup
from feedsvc.demo import demo_photo
from feedsvc.storage import connect
from feedsvc.web import create_app
from tests.helpers import TARGETS
from tests.helpers import migrated

LANGS = ("ru", "kk", "en")
HANG_SECONDS = 120  # only a hang takes this long; nothing waits for it


def dump(db_or_path) -> dict[str, list[tuple]]:
    """Every row of every table (FTS shadow tables aside: their content is checked by search), sorted."""
    db = connect(str(db_or_path)) if isinstance(db_or_path, (str, Path)) else db_or_path
    try:
        tables = [r[0] for r in db.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' "
            "and name not like '%_fts' and name not like '%_fts_%'").fetchall()]
        return {t: sorted(db.execute(f"select * from [{t}]").fetchall(), key=repr) for t in sorted(tables)}
    finally:
        if db is not db_or_path:
            db.close()


def integrity(path) -> list[str]:
    """PRAGMA integrity_check and the FTS indexes' own checks; ["ok"] when all is well."""
    conn = sqlite3.connect(path)
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        for fts in ("releases_fts", "translations_fts"):
            conn.execute(f"INSERT INTO {fts}({fts}) VALUES('integrity-check')")  # raises when damaged
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return result
    finally:
        conn.close()


class Writer(threading.Thread):
    """The service at work on its own connection: publish (some with photos), translate, edit, withdraw.

    After every committed transaction it records the whole database (``history``), so a backup
    taken at any moment can be checked to be exactly one committed state. It writes until told to
    stop; the test waits on ``progress`` for its steps, never on a clock.
    """

    def __init__(self, db_path: str, uploads: str):
        super().__init__(daemon=True)
        self.db = connect(db_path)
        self.uploads = uploads
        self.stop = threading.Event()
        self.progress = threading.Condition()
        self.history: list[dict] = [dump(self.db)]
        self.steps = 0
        self.error: BaseException | None = None

    def commit(self, fn, *args, **kwargs):
        """Run one transaction, then record the state it left."""
        result = fn(*args, **kwargs)
        self.history.append(dump(self.db))
        return result

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step(self.steps + 1)
                with self.progress:
                    self.steps += 1
                    self.progress.notify_all()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.db.close()
            with self.progress:
                self.progress.notify_all()

    def wait_for_step(self, step: int) -> int:
        """Block until the writer has finished ``step`` steps (a deadline only catches a hang); returns its count."""
        with self.progress:
            done = self.progress.wait_for(lambda: self.steps >= step or not self.is_alive(), timeout=HANG_SECONDS)
        assert done and self.error is None, f"the writer stopped or hung at step {self.steps}: {self.error!r}"
        return self.steps

    def step(self, n: int) -> None:
        photo = None
        if n % 3 == 0:
            photo = photos.save_photo(demo_photo(n), self.uploads, max_bytes=10**7, max_pixels=10**7)
        self.commit(
            releases.create_release, self.db, title=f"Сенат рассмотрел вопрос номер {n}",
            body=f"Первый абзац релиза {n}.\n\nВторой абзац, 19.11.2026, тел. 74-72-27.",
            category="Заседания", published_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=n),
            photo=photo, photo_caption="Зал" if photo else "", photo_credit="Фото – А.Нурланов" if photo else "",
            publish=n % 4 != 0, languages=TARGETS)
        # A fake translation worker: claim and complete whatever is queued (not this test's subject).
        while (job := self.commit(jobs.claim, self.db, lease_seconds=60)) is not None:
            row = releases.get_release(self.db, job["release_id"])
            self.commit(jobs.complete, self.db, job, {"title": f"[{job['lang']}] {row['title']}",
                                                      "body": f"[{job['lang']}] {row['body']}", "route": "fake"})
        if n % 5 == 0:
            self.commit(releases.update_release, self.db, n - 2, {"title": f"Исправлено: вопрос {n - 2}"},
                        TARGETS)
        if n % 7 == 0:
            self.commit(releases.set_status, self.db, n - 3, "withdrawn", TARGETS)


def restore(backup_file: Path, uploads_copy: Path | None, folder: Path):
    """The documented restore, into a fresh instance folder; returns the app running on it."""
    folder.mkdir()
    shutil.copy2(backup_file, folder / "feedsvc.db")
    if uploads_copy is not None:
        shutil.copytree(uploads_copy, folder / "uploads")
    return create_app(migrated({
        "TESTING": True, "SECRET_KEY": "test", "DATABASE": str(folder / "feedsvc.db"),
        "UPLOAD_FOLDER": str(folder / "uploads"), "MODELS_DIR": str(folder / "models"),
        "ARGOS_HOME": str(folder / "argos"), "RATELIMIT_ENABLED": False,
    }))


def public_urls(db) -> list[str]:
    """Every public page and feed of the instance (releases in every status, so 410/404 are compared too)."""
    urls = [f"/{lang}/{suffix}" for lang in LANGS for suffix in ("", "?page=2", "?page=3", "feed.rss",
                                                                 "feed.atom", "search?q=Сенат")]
    for row in db.query("select id, photo from releases"):
        urls += [f"/{lang}/releases/{row['id']}" for lang in LANGS]
        if row["photo"]:
            urls.append(f"/media/{row['photo']}")
    return urls


def responses(app, urls: list[str]) -> dict[str, tuple[int, bytes]]:
    """Status and body of each URL, following the slug redirect."""
    client = app.test_client()
    out = {}
    for url in urls:
        response = client.get(url, follow_redirects=True)
        out[url] = (response.status_code, response.get_data())
        response.close()
    return out


@pytest.mark.slow
def test_backup_while_writing_is_one_committed_state_and_restores_identically(app, db, runner, admin, tmp_path):
    uploads = Path(app.config["UPLOAD_FOLDER"])
    out = tmp_path / "backups"
    out.mkdir()
    writer = Writer(app.config["DATABASE"], str(uploads))
    writer.start()
    taken = []
    try:
        writer.wait_for_step(10)
        for i in range(5):  # five backups while the writer keeps committing
            before = writer.steps
            result = runner.invoke(args=["backup", str(out / f"b{i}.db")])
            assert result.exit_code == 0, result.output
            taken.append((out / f"b{i}.db", out / f"b{i}-uploads", before, writer.steps))
            writer.wait_for_step(writer.steps + 1)  # a new committed state before the next backup
    finally:
        writer.stop.set()
        writer.join(timeout=HANG_SECONDS)
    assert writer.error is None, repr(writer.error)
    assert not writer.is_alive()
    assert writer.steps > taken[-1][3] > taken[0][2], "the writer was not writing while the backups ran"

    states = {repr(state): i for i, state in enumerate(writer.history)}
    seen = []
    for path, uploads_copy, _, _ in taken:
        assert integrity(path) == ["ok"]
        copy = dump(path)
        assert repr(copy) in states, f"{path.name} is not a committed state of the database"
        seen.append(states[repr(copy)])
        assert not Path(f"{path}-wal").exists()  # one self-contained file
        referenced = photos.referenced_photos(Database(sqlite3.connect(path)))  # the photos and their sizes
        assert referenced, "no photo in the backup: the test proves nothing about uploads"
        originals = {r[0] for r in sqlite3.connect(path).execute("select photo from releases where photo > ''")}
        assert referenced > originals, "no photo size in the backup: the test proves nothing about sizes"
        for name in referenced:
            assert (uploads_copy / name).read_bytes() == (uploads / name).read_bytes()
        assert not [p for p in uploads_copy.iterdir() if p.name.startswith(".")]
    assert seen == sorted(seen) and len(set(seen)) > 1  # later backups, later states

    # One backup restored into a fresh instance serves what its state holds.
    path, uploads_copy, _, _ = taken[2]
    restored = restore(path, uploads_copy, tmp_path / "restored-mid")
    assert dump(restored.config["DATABASE"]) == dump(path)
    client = restored.test_client()
    restored_db = connect(restored.config["DATABASE"])
    assert releases.count_published(restored_db) > 0
    for lang in LANGS:
        feed = feedparser.parse(client.get(f"/{lang}/feed.atom").data)
        assert not feed.bozo
        wanted = [r.entry_id for r in releases.list_published(restored_db, lang, limit=50, translated_only=True)]
        assert [e.id for e in feed.entries] == wanted and wanted
    restored_db.close()

    # Quiet now: a backup over the old one (--force) restores into an instance identical to the live one.
    again = runner.invoke(args=["backup", str(taken[0][0])])
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    forced = runner.invoke(args=["backup", "--force", str(taken[0][0])])
    assert forced.exit_code == 0, forced.output
    restored = restore(taken[0][0], taken[0][1], tmp_path / "restored-final")
    assert integrity(restored.config["DATABASE"]) == ["ok"]
    live, copy = dump(db), dump(restored.config["DATABASE"])
    assert copy == live
    assert {len(copy[t]) for t in ("releases", "translations", "users")} != {0}
    assert sorted(os.listdir(taken[0][1])) == sorted(p for p in os.listdir(uploads) if not p.startswith("."))
    urls = public_urls(db)
    expected = responses(app, urls)
    assert {status for status, _ in expected.values()} >= {200, 410}
    assert responses(restored, urls) == expected
    # The restored admin can log in with the same password.
    from tests.helpers import csrf_token

    client = restored.test_client()
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", data={"username": admin[0], "password": admin[1], "csrf_token": token})
    assert response.status_code == 302


def test_backup_refuses_to_overwrite_without_force(app, runner, tmp_path):
    target = tmp_path / "backup.db"
    target.write_bytes(b"precious")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert "already exists" in result.output and "--force" in result.output
    assert target.read_bytes() == b"precious"
    result = runner.invoke(args=["backup", "--force", str(target)])
    assert result.exit_code == 0, result.output
    assert integrity(target) == ["ok"]


def test_backup_refuses_existing_uploads_folder_without_force(app, runner, tmp_path):
    (tmp_path / "backup-uploads").mkdir()
    (tmp_path / "backup-uploads" / "keep.jpg").write_bytes(b"x")
    result = runner.invoke(args=["backup", str(tmp_path / "backup.db")])
    assert result.exit_code == 1 and "backup-uploads already exists" in result.output
    assert not (tmp_path / "backup.db").exists()
    assert runner.invoke(args=["backup", "--no-uploads", str(tmp_path / "backup.db")]).exit_code == 0


def test_backup_into_missing_folder_is_one_clear_line(app, runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "nowhere" / "backup.db")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the destination folder") and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_backup_to_a_folder_makes_a_dated_file_and_never_copies_part_files(app, runner, tmp_path):
    uploads = Path(app.config["UPLOAD_FOLDER"])
    (uploads / ".abc.jpg.part").write_bytes(b"half a photo")
    (uploads / "abc.jpg").write_bytes(b"a photo")
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(args=["backup", str(out)])
    assert result.exit_code == 0, result.output
    database, = out.glob("feedsvc-*.db")
    assert sorted(p.name for p in out.iterdir()) == [f"{database.stem}-uploads", database.name]
    assert sorted(os.listdir(out / f"{database.stem}-uploads")) == ["abc.jpg"]


def test_backup_refuses_the_live_database_and_a_missing_one(app, runner, tmp_path):
    result = runner.invoke(args=["backup", "--force", "--no-uploads", app.config["DATABASE"]])
    assert result.exit_code == 1 and "live database itself" in result.output
    with pytest.raises(Exception, match="database not found"):
        backup(tmp_path / "missing.db", tmp_path / "copy.db")
    assert not (tmp_path / "missing.db").exists()  # not created by trying


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """Make ``folder`` unwritable for this process: a read-only bind mount as root (chmod does not stop
    root), chmod otherwise. Skips the test when neither is possible here."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remount.stderr.decode().strip()}")
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_backup_into_unwritable_folder_is_one_clear_line(app, runner, tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    with read_only_folder(out):
        result = runner.invoke(args=["backup", str(out / "backup.db")])
    assert result.exit_code == 1
    assert "cannot write to the destination folder" in result.output
    assert "Traceback" not in result.output
    assert list(out.iterdir()) == []
