"""`feedsvc backup PATH`: a consistent copy of the database and the uploads folder while the service runs.

The database is copied with SQLite's online backup API (``sqlite3.Connection.backup``) in one
step, inside one read transaction: in WAL mode that transaction sees one committed state of the
whole database and does not block the web app or the worker, which go on writing meanwhile. The
copy is written to a temporary file next to the destination, checked (``PRAGMA quick_check``),
switched to a self-contained rollback-journal file (no ``-wal``/``-shm`` needed to read it),
flushed to disk and only then renamed into place, so a crash never leaves a half backup under the
real name. Photos are copied after the database snapshot: every photo the snapshot references
was on disk before its row was committed (see photos.save_photo), so the copy has them all unless
one was deleted in between (a replaced photo); those are reported as ``missing_photos``.

Restore (see README, Backups): stop the service, move the old database and its ``-wal``/``-shm``
files aside, copy the backup file to DATABASE and the uploads copy to UPLOAD_FOLDER, run
``feedsvc init-db``, start the service.
"""

import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.errors import FeedsvcError
from feedsvc.photos import referenced_photos

BUSY_TIMEOUT_S = 10.0


class BackupError(FeedsvcError):
    """The backup cannot be made (bad destination, missing database…); one clear line for the operator."""


def default_uploads_dest(dest: Path) -> Path:
    """Where the photos go when not told: next to the database copy, ``NAME-uploads/``."""
    return dest.with_name(f"{dest.stem}-uploads")


def resolve_dest(dest_path: str | os.PathLike) -> Path:
    """The destination file; an existing folder gets a time-stamped file name inside it."""
    dest = Path(dest_path)
    if dest.is_dir():
        dest = dest / f"feedsvc-{clock.now().astimezone().strftime('%Y%m%d-%H%M%S')}.db"
    return dest


def check_folder(folder: Path, what: str) -> None:
    """The folder exists, is a folder and accepts new files; else a BackupError saying which."""
    if not folder.exists():
        raise BackupError(f"the {what} folder {folder} does not exist (create it first)")
    if not folder.is_dir():
        raise BackupError(f"{folder} is not a folder")
    # os.access alone is not enough (root, read-only mounts): try to create a file.
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".feedsvc-write-test-"):
            pass
    except OSError as exc:
        raise BackupError(f"cannot write to the {what} folder {folder}: {exc.strerror or exc}") from exc


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same existing file."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def fsync_path(path: Path, directory: bool = False) -> None:
    """Flush a file (or a folder's entries) to disk; best effort for folders."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def open_source(db_path: Path) -> sqlite3.Connection:
    """The live database, opened without creating it and waiting politely for writers."""
    if not db_path.is_file():
        raise BackupError(f"database not found: {db_path}")
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open the database {db_path}: {exc}") from exc
    return conn


def copy_database(source: sqlite3.Connection, tmp: Path) -> dict:
    """Copy the whole database into ``tmp`` in one step; returns facts about the copy."""
    target = sqlite3.connect(tmp, isolation_level=None)
    try:
        # pages=-1 (all at once): one read transaction, so one consistent snapshot. A stepwise copy
        # restarts whenever another connection writes and may never finish on a busy service.
        source.backup(target, pages=-1)
        # The copy inherits WAL mode from the source's header; make it one self-contained file.
        target.execute("PRAGMA journal_mode = DELETE")
        check = target.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed its check ({check}); the live database may be damaged: "
                              "run PRAGMA integrity_check on it")
        facts = {"pages": target.execute("PRAGMA page_count").fetchone()[0]}
        tables = {r[0] for r in target.execute("select name from sqlite_master where type = 'table'")}
        photos: list[str] = []
        if "releases" in tables:
            facts["releases"] = target.execute("select count(*) from releases").fetchone()[0]
            photos = sorted(name for name in referenced_photos(Database(target)) if name)  # sizes too
        facts["photo_names"] = photos
    finally:
        target.close()
    fsync_path(tmp)
    return facts


def copy_uploads(uploads: Path, dest_uploads: Path, force: bool) -> int:
    """Copy every stored photo (not in-progress ``.part`` files) into a fresh folder, then put it in place."""
    staging = Path(tempfile.mkdtemp(dir=dest_uploads.parent, prefix=f".{dest_uploads.name}.tmp-"))
    count = 0
    try:
        if uploads.is_dir():
            for entry in os.scandir(uploads):
                # Dot files are save_photo's temporary ".NAME.part" files: half-written by definition.
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                shutil.copy2(entry.path, staging / entry.name)
                fsync_path(staging / entry.name)
                count += 1
        fsync_path(staging, directory=True)
        if dest_uploads.exists():
            if not force:  # checked before the work started; a folder that appeared meanwhile is kept
                raise BackupError(f"{dest_uploads} already exists (use --force to replace it)")
            old = dest_uploads.with_name(f".{dest_uploads.name}.old-{os.getpid()}")
            os.rename(dest_uploads, old)
            os.rename(staging, dest_uploads)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(staging, dest_uploads)
        fsync_path(dest_uploads.parent, directory=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return count


def backup(db_path, dest_path, uploads_dir=None, dest_uploads=None, *, force: bool = False) -> dict:
    """Copy the live database (and the uploads folder, if given) consistently; returns what was copied.

    ``dest_path`` is a file name, or an existing folder (a time-stamped name is made in it).
    ``dest_uploads`` defaults to ``NAME-uploads/`` next to the database copy. Existing destinations
    are refused unless ``force``. Raises BackupError (a click.ClickException) with a clear message.
    """
    started = time.monotonic()
    db_path = Path(db_path)
    dest = resolve_dest(dest_path)
    check_folder(dest.parent, "destination")
    if same_file(dest, db_path):
        raise BackupError(f"{dest} is the live database itself; choose another file")
    if dest.exists() and not dest.is_file():
        raise BackupError(f"{dest} exists and is not a file")
    if dest.exists() and not force:
        raise BackupError(f"{dest} already exists (use --force to overwrite it)")
    uploads = Path(uploads_dir) if uploads_dir is not None else None
    if uploads is not None:
        dest_uploads = Path(dest_uploads) if dest_uploads is not None else default_uploads_dest(dest)
        check_folder(dest_uploads.parent, "destination")
        if same_file(dest_uploads, uploads):
            raise BackupError(f"{dest_uploads} is the live uploads folder itself; choose another folder")
        if dest_uploads.exists() and not force:
            raise BackupError(f"{dest_uploads} already exists (use --force to replace it)")
        if dest_uploads.exists() and not dest_uploads.is_dir():
            raise BackupError(f"{dest_uploads} exists and is not a folder")
    source = open_source(db_path)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            facts = copy_database(source, tmp)
        except sqlite3.Error as exc:
            raise BackupError(f"the backup failed: {exc}") from exc
        except OSError as exc:
            raise BackupError(f"cannot write {dest}: {exc.strerror or exc}") from exc
        os.replace(tmp, dest)
        fsync_path(dest.parent, directory=True)
    except BaseException:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    result = {
        "database": str(dest), "bytes": dest.stat().st_size, "pages": facts["pages"],
        "releases": facts.get("releases", 0), "uploads": None, "photos": 0, "missing_photos": [],
    }
    if uploads is not None:
        try:
            result["photos"] = copy_uploads(uploads, dest_uploads, force)
        except OSError as exc:
            raise BackupError(f"cannot copy the photos to {dest_uploads}: {exc.strerror or exc}") from exc
        result["uploads"] = str(dest_uploads)
        result["missing_photos"] = sorted(n for n in set(facts["photo_names"])
                                          if not (dest_uploads / n).is_file())
    result["seconds"] = round(time.monotonic() - started, 3)
    return result
