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
    if demo:
        report(setup_demo(current_app), admin_note(current_app))
    elif not connect(current_app.config["DATABASE"]).table("users").count:
        click.echo("No admin yet: create one with `feedsvc users create NAME` (it asks for the password).")
    web = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{host}:{port}",
           "--access-logfile", "-", "feedsvc.web:create_app()"]
    worker = [sys.executable, "-m", "feedsvc.commands", "worker"]
    click.echo(f"feedsvc is serving on http://{host}:{port}/ (admin: http://{host}:{port}/admin/)")
    code = supervise.run(web, worker, dict(os.environ), echo=lambda line: click.echo(line, err=True))
    if code:
        raise SystemExit(code)
