"""The database connection: one sqlite_utils.Database per request, WAL mode, migrations on start."""

import click
from flask import Flask
from flask import current_app
from flask import g
from flask.cli import with_appcontext
from sqlite_utils import Database

from feedsvc.storage import connect


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
@with_appcontext
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
