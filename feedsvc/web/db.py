"""The database connection: one sqlite_utils.Database per request, WAL mode, migrations on start."""

from flask import Flask
from flask import current_app
from flask import g
from sqlite_utils import Database

from feedsvc.migrations import migrate
from feedsvc.storage import connect


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


def init_app(app: Flask) -> None:
    """Apply pending migrations and close each request's database at its end."""
    db = connect(app.config["DATABASE"])
    try:
        migrate(db)
    finally:
        db.close()
    app.teardown_appcontext(close_db)
