"""feedsvc: Russian press releases, translated offline into Kazakh and English, published as pages and feeds."""

import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the web application: configuration, database, extensions, blueprints, commands."""
    app = Flask(__name__, instance_relative_config=True)
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

    from feedsvc import db
    from feedsvc import extensions
    from feedsvc import security
    from feedsvc.views import register_blueprints

    if app.config["PROXY_FIX"]:
        # Behind nginx: trust that many proxies for the client address and scheme (rate limits, URLs).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    extensions.init_app(app)
    security.init_app(app)
    register_blueprints(app)
    register_commands(app)
    return app


def default_config(instance_path: str) -> dict:
    """The embedded defaults: everything under instance/, installed models as default_models_dir() says."""
    return {
        "SECRET_KEY": None,
        "DATABASE": os.path.join(instance_path, "feedsvc.db"),
        "UPLOAD_FOLDER": os.path.join(instance_path, "uploads"),
        "MODELS_DIR": default_models_dir(instance_path),
        # Argos's data, config and cache folders (it creates them at import): kept under instance/.
        "ARGOS_HOME": os.path.join(instance_path, "argos"),
        "TIMEZONE": "Asia/Almaty",
        "SITE_NAME": "Пресс-служба Сената",
        "PUBLISHER": "Пресс-служба Сената Парламента Республики Казахстан",
        # The same names in the other languages (pages and feeds use the one of their language).
        "SITE_NAMES": {"kk": "Сенат баспасөз қызметі", "en": "Senate Press Service"},
        "PUBLISHERS": {"kk": "Қазақстан Республикасы Парламенті Сенатының баспасөз қызметі",
                       "en": "Press Service of the Senate of the Parliament of the Republic of Kazakhstan"},
        "LANGUAGES": ["ru", "kk", "en"],
        "TARGET_LANGUAGES": ["kk", "en"],
        "FEED_ITEMS": 50,
        "PAGE_SIZE": 20,
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "PHOTO_MAX_BYTES": 10 * 1024 * 1024,
        "PHOTO_MAX_PIXELS": 40_000_000,
        "TITLE_MAX": 300,
        "BODY_MAX": 100_000,
        "LOGIN_RATE_LIMIT": "10 per minute",
        "PROXY_FIX": 0,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "FEED_MAX_AGE": 60,
        # Rendered feeds and anonymous index pages, kept until the data changes (least recently used go first).
        "RESPONSE_CACHE_ENTRIES": 512,
        "RESPONSE_CACHE_BYTES": 32 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,
        # The translation worker (see README, Translation).
        "WORKER_LEASE_SECONDS": 300,
        "WORKER_MAX_ATTEMPTS": 5,
        "WORKER_BACKOFF_SECONDS": 30,
        "WORKER_POLL_SECONDS": 2.0,
        "WORKER_BATCH_SENTENCES": 256,
        # What the worker publishes per language: auto, checked (unless a sentence check flags it) or
        # reviewed (only what an editor approved). See README, "What gets published".
        "PUBLISH_POLICY": {"kk": "checked", "en": "checked"},
    }


class ConfigError(ValueError):
    """A setting feedsvc cannot use (most often a FEEDSVC_* environment variable)."""


def check_config(config: dict, defaults: dict) -> None:
    """Give every setting its default's type, refusing what cannot have it, and check the time zone.

    Environment variables arrive as text, or as JSON when they look like it: "300s" for a number
    or "False" for a flag (not JSON) must be an error at start, not a 500 or a crash later.
    """
    for key, default in defaults.items():
        if default is not None and not isinstance(default, dict | list) and config.get(key) is not None:
            config[key] = _coerce(key, config[key], type(default))
    if config.get("SECRET_KEY") is not None:
        config["SECRET_KEY"] = str(config["SECRET_KEY"])
    check_policy(config)
    try:
        ZoneInfo(str(config["TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TIMEZONE = {config['TIMEZONE']!r} is not a time zone name (e.g. Asia/Almaty)") from exc


def check_policy(config: dict) -> None:
    """PUBLISH_POLICY: a known policy for every target language (a language left out gets the default)."""
    from feedsvc.translation.checks import Policy

    given = config.get("PUBLISH_POLICY") or {}
    if not isinstance(given, dict):
        raise ConfigError(f'PUBLISH_POLICY = {given!r}: expected a mapping like {{"en": "checked", "kk": "reviewed"}}')
    policies = {}
    for lang in config["TARGET_LANGUAGES"]:
        value = str(given.get(lang, Policy.CHECKED)).strip().lower()
        if value not in set(Policy):
            raise ConfigError(f"PUBLISH_POLICY[{lang!r}] = {given.get(lang)!r}: expected one of "
                              f"{', '.join(Policy)}")
        policies[lang] = Policy(value)
    unknown = sorted(set(given) - set(config["TARGET_LANGUAGES"]))
    if unknown:
        raise ConfigError(f"PUBLISH_POLICY names {', '.join(unknown)}, not a target language "
                          f"({', '.join(config['TARGET_LANGUAGES'])})")
    config["PUBLISH_POLICY"] = policies


def _coerce(key: str, value, kind: type):
    """``value`` as a ``kind`` (bool, int, float or str), or a ConfigError naming the setting."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        words = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False,
                 "off": False}
        if str(value).strip().lower() in words:
            return words[str(value).strip().lower()]
    elif kind is str:
        return str(value)
    elif not isinstance(value, bool):
        try:
            return kind(value)
        except (TypeError, ValueError):
            pass
    raise ConfigError(f"{key} = {value!r}: expected {'true or false' if kind is bool else 'a number'} "
                      f"(set as FEEDSVC_{key} or in instance/config.py)")


def default_models_dir(instance_path: str) -> str:
    """models/ in a source checkout; instance/models after a non-editable install.

    Installed packages belong beside the instance, never inside installed code: an upgrade of an
    installed feedsvc replaces site-packages and would take the models with it.
    """
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "feedsvc").is_dir():
        return str(PROJECT_ROOT / "models")
    return os.path.join(instance_path, "models")


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
    """Attach every module's CLI commands to the app."""
    from feedsvc import demo
    from feedsvc import importer
    from feedsvc import maintenance
    from feedsvc import users
    from feedsvc.backup import backup_command
    from feedsvc.translation import cli as translation_cli

    for command in (users.users_cli, importer.import_command, demo.demo_command, demo.serve_command,
                    backup_command, maintenance.cleanup_uploads_command):
        app.cli.add_command(command)
    translation_cli.register(app)
