"""The `feedsvc` command: Flask's CLI around create_app (run, worker, users, models, demo, …)."""

import click
from flask.cli import FlaskGroup

from feedsvc import ConfigError
from feedsvc import create_app


def make_app():
    """The app for a command; a setting it cannot use is one line on stderr, not a traceback."""
    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"Error: bad configuration: {exc}", err=True)
        raise SystemExit(2) from exc


cli = FlaskGroup(create_app=make_app, help="feedsvc: press releases in Russian, Kazakh and English.")

if __name__ == "__main__":
    cli()
