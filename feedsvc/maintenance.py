"""`feedsvc cleanup-uploads`: remove photo files no release references (left by a crash mid-upload)."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlite_utils import Database

from feedsvc import photos
from feedsvc.storage import connect

GRACE_SECONDS = 3600


def referenced_photos(db: Database) -> set[str]:
    """Every photo file name a release (any status, withdrawn included) points to."""
    return {row["photo"] for row in db.query("select photo from releases where photo is not null")}


def cleanup_uploads(db: Database, folder: str, min_age_seconds: float = GRACE_SECONDS,
                    dry_run: bool = False) -> list[str]:
    """Delete unreferenced upload files older than the grace period; returns their names."""
    names = photos.orphans(folder, referenced_photos(db), min_age_seconds)
    if not dry_run:
        for name in names:
            photos.delete_photo(folder, name)
    return names


@click.command("cleanup-uploads")
@click.option("--min-age", default=GRACE_SECONDS, show_default=True, type=click.IntRange(min=0),
              help="Keep files younger than this many seconds (an upload may be in flight).")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@with_appcontext
def cleanup_uploads_command(min_age: int, dry_run: bool) -> None:
    """Remove photo files that no release references (left behind by a crash during an upload)."""
    db = connect(current_app.config["DATABASE"])
    names = cleanup_uploads(db, current_app.config["UPLOAD_FOLDER"], min_age, dry_run)
    for name in names:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {name}")
    click.echo(f"{len(names)} orphan file(s) {'found' if dry_run else 'removed'}.")
