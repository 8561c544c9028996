"""feedsvc: Russian press releases, translated offline into Kazakh and English, published as pages and feeds."""

import os
import secrets
from pathlib import Path

from flask import Flask

from feedsvc.config import ConfigError  # noqa: F401 (part of the package's interface)
from feedsvc.config import check_config
from feedsvc.config import default_config


def create_app(test_config: dict | None = None, *, check_schema: bool = True) -> Flask:
    """Build the web application: configuration, database, extensions, blueprints, commands.

    Raises SchemaOutdated when the database needs `feedsvc init-db` first; the command line builds its app
    with ``check_schema=False`` (init-db itself must run, and the worker checks on its own).
    """
    app = Flask(__name__, instance_relative_config=True, template_folder="web/templates", static_folder="web/static")
    app.config.from_mapping(default_config(app.instance_path))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("FEEDSVC")
    else:
        app.config.from_mapping(test_config)
    check_config(app.config, default_config(app.instance_path))
    make_private_folder(app.instance_path)
    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(app.instance_path)

    from feedsvc.web import db
    from feedsvc.web import extensions
    from feedsvc.web import hosts
    from feedsvc.web import register_blueprints
    from feedsvc.web import security

    hosts.init_app(app)  # SITE_URL (or a checked Host) for every absolute URL; inside ProxyFix, so it wins
    if app.config["PROXY_FIX"]:
        # Behind nginx: trust that many proxies for the client address and scheme (rate limits, URLs).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app, check=check_schema)
    extensions.init_app(app)
    security.init_app(app)
    register_blueprints(app)
    register_commands(app)
    return app


def make_private_folder(path: str) -> None:
    """Create the instance folder as 0700 (database, key, uploads inside), whatever the umask.

    An existing folder is left as it is: permissions an operator chose (or a folder owned by another
    account) are theirs to keep; the database files inside are made 0600 on open (storage.connect).
    """
    if os.path.isdir(path):
        return
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o700)


def instance_secret(instance_path: str) -> str:
    """A secret key kept in instance/secret_key, made once, so sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def register_commands(app: Flask) -> None:
    """Attach every CLI command (registered in one place, feedsvc.commands)."""
    from feedsvc import commands

    commands.register(app)
