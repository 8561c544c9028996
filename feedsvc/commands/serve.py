"""`feedsvc serve`: gunicorn and a translation worker, supervised together."""

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from feedsvc import supervise
from feedsvc.commands.demo import admin_note
from feedsvc.commands.demo import report
from feedsvc.commands.demo import setup_demo
from feedsvc.migrations import migrate
from feedsvc.storage import connect


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn web workers")
@click.option("--demo/--no-demo", default=False, show_default=True,
              help="Load the demo releases, models and admin into an empty instance (make run does).")
def serve_command(host: str, port: int, workers: int, demo: bool) -> None:
    """Start the web app (gunicorn) and a translation worker together; Ctrl+C or SIGTERM stops both."""
    try:
        supervise.check_port(host, port)
    except supervise.PortInUse as exc:
        raise click.ClickException(str(exc)) from exc
    db = connect(current_app.config["DATABASE"])
    migrate(db)  # once, before gunicorn and the worker start: they only check the schema
    click.echo(f"Database ready: {current_app.config['DATABASE']}")
    if demo:
        report(setup_demo(current_app), admin_note(current_app))
    elif not db.table("users").count:
        click.echo("No admin yet: create one with `feedsvc users create NAME` (it asks for the password).")
    # --preload: the app is built once, in gunicorn's master, so a refusal (an old schema) is one line and an exit.
    # --limit-request-line: gunicorn's largest (its default, 4094, answers a long search with its own bare 414 page;
    # the app answers one over search.MAX_QUERY_BYTES with the site's page and a hint). nginx allows as much (8k).
    web = [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(workers), "--bind", f"{host}:{port}",
           "--limit-request-line", "8190", "--access-logfile", "-", *no_control_socket(), "feedsvc.web:create_app()"]
    worker = [sys.executable, "-m", "feedsvc.commands", "worker"]
    click.echo(f"feedsvc is serving on http://{host}:{port}/ (admin: http://{host}:{port}/admin/)")
    code = supervise.run(web, worker, dict(os.environ), echo=lambda line: click.echo(line, err=True))
    if code:
        raise SystemExit(code)


def no_control_socket() -> list[str]:
    """gunicorn's option to open no control socket, where it has one (gunicorn 25 and later).

    By default such a gunicorn listens on ``$XDG_RUNTIME_DIR/gunicorn.ctl`` or ``~/.gunicorn/gunicorn.ctl``: one
    path for every gunicorn of the account, so another instance starting or stopping takes it from this one.
    feedsvc uses no control socket (serve restarts gunicorn itself).
    """
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []
