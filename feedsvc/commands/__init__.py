"""The `feedsvc` command: Flask's CLI around create_app, and every command registered in one place.

The web package never imports this one (imports point down): `flask --app feedsvc.web …` finds the same
commands through the `flask.commands` entry points in pyproject.toml, Flask's plugin mechanism.
"""

import click
from flask.cli import FlaskGroup

from feedsvc.commands import backup
from feedsvc.commands import db
from feedsvc.commands import demo
from feedsvc.commands import importer
from feedsvc.commands import keys
from feedsvc.commands import maintenance
from feedsvc.commands import serve
from feedsvc.commands import sources
from feedsvc.commands import translation
from feedsvc.commands import users
from feedsvc.config import ConfigError
from feedsvc.web import create_app

COMMANDS = (db.init_db_command, users.users_cli, importer.import_command, demo.demo_command, serve.serve_command,
            backup.backup_command, maintenance.cleanup_uploads_command, maintenance.photo_sizes_command,
            translation.worker_command, translation.retranslate_command, translation.models_cli,
            translation.glossary_cli, translation.review_queue_command, sources.sources_cli, keys.keys_cli)


def make_app():
    """The app for a command; a setting it cannot use is one line on stderr, not a traceback."""
    try:
        return create_app(check_schema=False)  # init-db must run on an old schema; the worker checks itself
    except ConfigError as exc:
        click.echo(f"Error: bad configuration: {exc}", err=True)
        raise SystemExit(2) from exc


cli = FlaskGroup(create_app=make_app, help="feedsvc: press releases in Russian, Kazakh and English.")
for command in COMMANDS:
    cli.add_command(command)
