"""`feedsvc backup`: a consistent copy of the database and photos while the service runs."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc.backup import BackupError
from feedsvc.backup import backup


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing backup file (and replace its uploads folder).")
@click.option("--uploads-to", "uploads_to", type=click.Path(path_type=Path),
              help="Where to copy the photos (default: NAME-uploads/ next to the backup file).")
@click.option("--no-uploads", is_flag=True, help="Copy the database only.")
@with_appcontext
def backup_command(path: Path, force: bool, uploads_to: Path | None, no_uploads: bool) -> None:
    """Back up the database (SQLite online backup, safe while the service runs) and the photos to PATH."""
    config = current_app.config
    uploads = None if no_uploads else config["UPLOAD_FOLDER"]
    try:
        result = backup(config["DATABASE"], path, uploads, uploads_to, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Database: {result['releases']} release(s), {result['bytes']} bytes → {result['database']}")
    if result["uploads"]:
        click.echo(f"Photos: {result['photos']} file(s) → {result['uploads']}")
    if result["missing_photos"]:
        click.echo(f"Warning: {len(result['missing_photos'])} photo(s) referenced by the backup were deleted "
                   f"while it ran: {', '.join(result['missing_photos'])}. Run the backup again.", err=True)
    click.echo(f"Done in {result['seconds']} s. Restore: see README, Backups.")
