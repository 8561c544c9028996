"""`feedsvc init-db`: create or upgrade the schema, the one step that changes it (`serve` runs it first)."""

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc.migrations import migrate
from feedsvc.storage import connect

# How long init-db waits for another one (started at the same moment by a second unit) to finish.
UPGRADE_WAIT_MS = 600_000


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema."""
    db = connect(current_app.config["DATABASE"])
    db.execute(f"PRAGMA busy_timeout = {UPGRADE_WAIT_MS}")  # another init-db may be migrating a big archive
    migrate(db)
    click.echo(f"Database ready: {current_app.config['DATABASE']}")
