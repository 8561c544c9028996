"""`feedsvc keys`: API keys from the server's shell, as /admin/keys/ makes them (for set-up scripts)."""

import click
from flask import current_app
from flask.cli import AppGroup

from feedsvc import apikeys
from feedsvc.errors import FeedsvcError
from feedsvc.states import ApiScope
from feedsvc.storage import connect


@click.group("keys", cls=AppGroup)
def keys_cli() -> None:
    """Make, list and revoke API keys (the translation endpoint's and the CMS API's)."""


@keys_cli.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice([str(scope) for scope in ApiScope]), required=True,
              help="What the key may do.")
def create_command(name: str, scope: str) -> None:
    """Make a key; the key is printed once (only its hash is stored)."""
    try:
        row, secret = apikeys.create(connect(current_app.config["DATABASE"]), name, scope)
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"key {row['id']} ({row['name']}, {row['scope']}): {secret}")


@keys_cli.command("list")
def list_command() -> None:
    """Every key: id, scope, start of the key, name, last use, revoked."""
    for key in apikeys.list_keys(connect(current_app.config["DATABASE"])):
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else f"last used {key['last_used_at'] or 'never'}"
        click.echo(f"{key['id']}\t{key['scope']}\t{key['prefix']}…\t{key['name']}\t{state}")


@keys_cli.command("revoke")
@click.argument("key_id", type=int)
def revoke_command(key_id: int) -> None:
    """Revoke a key at once."""
    try:
        row = apikeys.revoke(connect(current_app.config["DATABASE"]), key_id)
    except FeedsvcError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"key {key_id} ({row['name']}) revoked")
