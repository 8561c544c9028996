"""Opening the database and write transactions: shared by the web app, the worker and the CLI (no Flask)."""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database

from feedsvc.text import stemming

BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> Database:
    """Open the database file the way every feedsvc process must: WAL, busy timeout, foreign keys.

    WAL lets feed readers go on while the worker or an admin writes; the busy timeout makes a
    writer wait for another writer instead of failing with "database is locked". Autocommit mode
    (isolation_level None) leaves transactions to ``write()`` and ``db.atomic()``. The search index's
    functions are registered on every connection: its triggers call them on each write of a text.
    """
    create_private(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                           isolation_level=None)
    stemming.register(conn)
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    for suffix in ("", "-wal", "-shm"):
        make_private(path + suffix)
    return db


def create_private(path: str) -> None:
    """Create a missing database file as 0600 before SQLite does (it would follow the umask, often 0644).

    SQLite gives the -wal and -shm files the database file's permissions, so they follow it.
    """
    if path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return  # a missing folder or a read-only disk: sqlite3.connect reports it as usual
    make_private(path)


def make_private(path: str) -> None:
    """Take group and other permissions off an existing file (it holds password hashes); keep the owner's."""
    try:
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except OSError:
        pass  # missing, not ours, or a read-only disk: nothing we may change


@contextmanager
def write(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock first (BEGIN IMMEDIATE).

    A transaction that reads and then writes under plain BEGIN can fail at once with "database
    is locked" when another process wrote in between: the lock upgrade cannot wait. Taking the
    lock up front lets the busy timeout do its job. Nested use becomes a savepoint.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
