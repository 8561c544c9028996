"""The database connection: one sqlite_utils.Database per request, WAL mode; the schema checked at start."""

from flask import Flask
from flask import current_app
from flask import g
from sqlite_utils import Database

from feedsvc.migrations import ready_schema
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


def init_app(app: Flask, *, check: bool = True) -> None:
    """Give a new database its schema and refuse an outdated one (unless ``check`` is off); close each request's
    database at its end."""
    if check:
        db = connect(app.config["DATABASE"])
        try:
            ready_schema(db)
        finally:
            db.close()
    app.teardown_appcontext(close_db)
