"""`feedsvc sources poll`: fetch the office's own feeds (FEED_SOURCES) now; and the worker's background poller."""

import click
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext

from feedsvc import sources
from feedsvc.storage import connect

sources_cli = AppGroup("sources", help="The office's own feeds feedsvc follows (FEED_SOURCES).")


def settings() -> sources.Settings:
    """Fetch and storage settings from the app config."""
    config = current_app.config
    return sources.Settings(timeout=config["FEED_SOURCE_TIMEOUT"], max_bytes=config["FEED_SOURCE_MAX_BYTES"],
                            photo_folder=config["UPLOAD_FOLDER"], photo_max_bytes=config["PHOTO_MAX_BYTES"],
                            photo_max_pixels=config["PHOTO_MAX_PIXELS"], title_max=config["TITLE_MAX"],
                            body_max=config["BODY_MAX"], languages=tuple(config["TARGET_LANGUAGES"]))


@sources_cli.command("poll")
@with_appcontext
def poll_command() -> None:
    """Poll every source once now (whatever its next poll time), and say what came of each."""
    configured = current_app.config["FEED_SOURCES"]
    if not configured:
        raise click.ClickException("no feed sources configured (set FEED_SOURCES; see README)")
    db = connect(current_app.config["DATABASE"])
    try:
        for row in sources.poll_due(db, configured, settings(), force=True):
            status = f"error: {row['error']}" if row["error"] else "ok"
            click.echo(f"{row['url']}: {status}; {row['imported']} imported, {row['edited']} edited, "
                       f"{row['withdrawn']} withdrawn in all; next poll {row['next_poll']}")
    finally:
        db.close()


def sources_poller():
    """With FEED_SOURCES, a started thread that polls them (feedsvc.sources.poller); else None: without
    sources nothing leaves the machine."""
    config = current_app.config
    if not config["FEED_SOURCES"]:
        return None
    poller = sources.poller(lambda: connect(config["DATABASE"]), config["FEED_SOURCES"], settings())
    poller.start()
    return poller
