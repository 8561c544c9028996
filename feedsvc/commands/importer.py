"""`feedsvc import`: bulk-load releases from UTF-8 text files (first line title, rest body)."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import clock
from feedsvc.categories import UnknownCategory
from feedsvc.importer import BadReleaseFile
from feedsvc.importer import import_files
from feedsvc.storage import connect


@click.command("import")
@with_appcontext
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--draft", is_flag=True, help="Store as drafts instead of publishing.")
@click.option("--category", default="", help="File every release under this category (its Russian name or slug, "
              "from the list under Admin → Categories).")
def import_command(files: tuple[Path, ...], draft: bool, category: str) -> None:
    """Import releases from UTF-8 text files: first line title, the rest the body."""
    from zoneinfo import ZoneInfo

    db = connect(current_app.config["DATABASE"])
    now = clock.now().astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    try:
        ids = import_files(db, list(files), publish=not draft, now=now,
                           languages=current_app.config["TARGET_LANGUAGES"],
                           title_max=current_app.config["TITLE_MAX"], body_max=current_app.config["BODY_MAX"],
                           category=category)
    except (BadReleaseFile, UnknownCategory) as exc:
        raise click.ClickException(f"{exc} (nothing was imported)") from exc
    click.echo(f"Imported {len(ids)} release(s): ids {', '.join(map(str, ids))}.")
