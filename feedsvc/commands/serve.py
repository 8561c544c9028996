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


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn web workers")
@click.option("--no-demo", is_flag=True, help="Do not load demo data into an empty instance.")
def serve_command(host: str, port: int, workers: int, no_demo: bool) -> None:
    """Start the web app (gunicorn) and a translation worker together; Ctrl+C or SIGTERM stops both."""
    try:
        supervise.check_port(host, port)
    except supervise.PortInUse as exc:
        raise click.ClickException(str(exc)) from exc
    if not no_demo:
        report(setup_demo(current_app), admin_note(current_app))
    web = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{host}:{port}",
           "--access-logfile", "-", "feedsvc:create_app()"]
    worker = [sys.executable, "-m", "feedsvc.commands", "worker"]
    click.echo(f"feedsvc is serving on http://{host}:{port}/ (admin: http://{host}:{port}/admin/)")
    code = supervise.run(web, worker, dict(os.environ), echo=lambda line: click.echo(line, err=True))
    if code:
        raise SystemExit(code)
