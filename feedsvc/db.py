"""The database connection: one sqlite_utils.Database per request, WAL mode, migrations on start."""

import sqlite3

import click
from flask import Flask
from flask import current_app
from flask import g
from sqlite_utils import Database

BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> Database:
    """Open the database file the way every feedsvc process must: WAL, busy timeout, foreign keys.

    WAL lets feed readers go on while the worker or an admin writes; the busy timeout makes a
    writer wait for another writer instead of failing with "database is locked".
    """
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def migrate(db: Database) -> None:
    """Bring the schema up to date."""
    from feedsvc.migrations import migrations

    migrations.apply(db)


def get_db() -> Database:
    """The request's database, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(exception: BaseException | None = None) -> None:
    """Close the request's database, if one was opened."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the database schema."""
    db = connect(current_app.config["DATABASE"])
    migrate(db)
    click.echo(f"Database ready: {current_app.config['DATABASE']}")


def init_app(app: Flask) -> None:
    """Apply pending migrations and register teardown and the init-db command."""
    db = connect(app.config["DATABASE"])
    try:
        migrate(db)
    finally:
        db.close()
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
