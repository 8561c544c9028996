"""`feedsvc cleanup-uploads`: remove photo files no release references (left by a crash mid-upload)."""

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import photos
from feedsvc.storage import connect


@click.command("cleanup-uploads")
@click.option("--min-age", default=photos.GRACE_SECONDS, show_default=True, type=click.IntRange(min=0),
              help="Keep files younger than this many seconds (an upload may be in flight).")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@with_appcontext
def cleanup_uploads_command(min_age: int, dry_run: bool) -> None:
    """Remove photo files that no release references (left behind by a crash during an upload)."""
    db = connect(current_app.config["DATABASE"])
    names = photos.cleanup_uploads(db, current_app.config["UPLOAD_FOLDER"], min_age, dry_run)
    for name in names:
        click.echo(f"{'would delete' if dry_run else 'deleted'} {name}")
    click.echo(f"{len(names)} orphan file(s) {'found' if dry_run else 'removed'}.")


@click.command("photo-sizes")
@with_appcontext
def photo_sizes_command() -> None:
    """Make the responsive sizes (WebP and JPEG) of photos stored before sizes were made at upload."""
    db = connect(current_app.config["DATABASE"])
    done = photos.add_missing_sizes(db, current_app.config["UPLOAD_FOLDER"], current_app.config["PHOTO_MAX_PIXELS"])
    for name in done:
        click.echo(f"sizes made for {name}")
    click.echo(f"{len(done)} photo(s) given their sizes.")
