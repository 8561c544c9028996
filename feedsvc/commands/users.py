"""`feedsvc users`: create admins and change their passwords."""

import click
from flask import current_app
from flask.cli import AppGroup

from feedsvc.storage import connect
from feedsvc.web.users import UserExists
from feedsvc.web.users import create_user
from feedsvc.web.users import set_password


@click.group("users", cls=AppGroup)
def users_cli() -> None:
    """Manage admin users."""


def change_user(action, username: str, password: str) -> None:
    """Run a user change against the app's database, turning domain errors into CLI errors."""
    db = connect(current_app.config["DATABASE"])
    try:
        action(db, username, password)
    except UserExists as exc:
        raise click.ClickException(f"user {exc} already exists") from exc
    except KeyError as exc:
        raise click.ClickException(f"no user {username}") from exc
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@users_cli.command("create")
@click.argument("username")
@click.password_option(help="Asked for (twice) when not given.")
def create_command(username: str, password: str) -> None:
    """Create an admin user."""
    change_user(create_user, username, password)
    click.echo(f"Created admin user {username}.")


@users_cli.command("password")
@click.argument("username")
@click.password_option()
def password_command(username: str, password: str) -> None:
    """Set a new password for an admin user."""
    change_user(set_password, username, password)
    click.echo(f"Password changed for {username}.")
