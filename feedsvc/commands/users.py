"""`feedsvc users`: create admins and change their passwords."""

import click
from flask import current_app
from flask.cli import AppGroup

from feedsvc.errors import FeedsvcError
from feedsvc.storage import connect
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
    except FeedsvcError as exc:  # UserExists, UnknownUser, BadUserName, WeakPassword: each says what is wrong
        raise click.ClickException(str(exc)) from exc


def password_input(from_stdin: bool) -> str:
    """The new password: one line of standard input with --password-stdin, else asked for twice, hidden.

    Never an option's value: a password on the command line is visible to every account on the machine
    (ps, /proc/PID/cmdline) and stays in the shell's history.
    """
    if from_stdin:
        return click.get_text_stream("stdin").readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


password_stdin = click.option("--password-stdin", "from_stdin", is_flag=True,
                              help="Read the password from the first line of standard input (for scripts).")


@users_cli.command("create")
@click.argument("username")
@password_stdin
def create_command(username: str, from_stdin: bool) -> None:
    """Create an admin user (the password is asked for, or read with --password-stdin)."""
    change_user(create_user, username, password_input(from_stdin))
    click.echo(f"Created admin user {username}.")


@users_cli.command("password")
@click.argument("username")
@password_stdin
def password_command(username: str, from_stdin: bool) -> None:
    """Set a new password for an admin user (asked for, or read with --password-stdin)."""
    change_user(set_password, username, password_input(from_stdin))
    click.echo(f"Password changed for {username}.")
