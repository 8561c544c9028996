"""Settings: every default in one place, and the check that gives each setting its default's type.

Nothing here imports Flask: the app factory, the worker and the commands all read the same defaults.
"""

import dataclasses
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from feedsvc.errors import InvalidInput
from feedsvc.settings import EngineSettings
from feedsvc.settings import Languages
from feedsvc.settings import Policy
from feedsvc.settings import Typography
from feedsvc.settings import WorkerSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_LANGUAGE = WorkerSettings.source_lang
TARGET_LANGUAGES = ("kk", "en")
TRANSLATE_API_MODES = ("off", "keys", "open")


class ConfigError(InvalidInput):
    """A setting feedsvc cannot use (most often a FEEDSVC_* environment variable)."""


# The settings dataclasses behind PREFIX_* settings, each with the fields that are not settings.
SETTINGS = {"WORKER": (WorkerSettings, {"source_lang", "timezone"}), "ENGINE": (EngineSettings, set()),
            "TYPOGRAPHY": (Typography, set())}


def default_config(instance_path: str) -> dict:
    """The embedded defaults: everything under instance/, installed models as default_models_dir() says."""
    return {
        "SECRET_KEY": None,
        "DATABASE": os.path.join(instance_path, "feedsvc.db"),
        "UPLOAD_FOLDER": os.path.join(instance_path, "uploads"),
        "MODELS_DIR": default_models_dir(instance_path),
        # Argos's data, config and cache folders (it creates them at import): kept under instance/.
        "ARGOS_HOME": os.path.join(instance_path, "argos"),
        "TIMEZONE": WorkerSettings.timezone,
        "SITE_NAME": "Пресс-служба Сената",
        "PUBLISHER": "Пресс-служба Сената Парламента Республики Казахстан",
        # The same names in the other languages (pages and feeds use the one of their language).
        "SITE_NAMES": {"kk": "Сенат баспасөз қызметі", "en": "Senate Press Service"},
        "PUBLISHERS": {"kk": "Қазақстан Республикасы Парламенті Сенатының баспасөз қызметі",
                       "en": "Press Service of the Senate of the Parliament of the Republic of Kazakhstan"},
        # The press office's contact for journalists (pages' footer, the contact page, every feed). The phone is
        # written in international format (checked at start, e.g. +7 7172 74-70-00; shown as +7 7172 74 70 00 with a
        # tel: link); an empty value is left out. PRESS_CONTACT_NAMES: the name per language.
        "PRESS_CONTACT_NAME": "Пресс-служба Сената",
        "PRESS_CONTACT_NAMES": {"kk": "Сенат баспасөз қызметі", "en": "Senate Press Service"},
        "PRESS_CONTACT_EMAIL": "press@senate.example.kz",
        "PRESS_CONTACT_PHONE": "+7 7172 74-70-00",
        # Releases are written in SOURCE_LANGUAGE and translated into TARGET_LANGUAGES; LANGUAGES (every
        # published language: URLs, feeds) is derived from the two. Routes and queues follow them.
        "SOURCE_LANGUAGE": SOURCE_LANGUAGE,
        "TARGET_LANGUAGES": list(TARGET_LANGUAGES),
        # Each language's name in itself (the language switcher, the editors' columns); add one per new language.
        "LANGUAGE_NAMES": {"ru": "Русский", "kk": "Қазақша", "en": "English"},
        # The Kazakh Latin edition at /kk-latn/ (README, "Readers"): the Kazakh translation in the 2021 Latin alphabet.
        "KAZAKH_LATIN_EDITION": True,
        # The site's canonical address (https://press.example.kz): every absolute URL in feeds, pages and
        # redirects is built from it, never from the request's Host. Required in production (README).
        "SITE_URL": "",
        # The subscription feeds' latest items; the archive documents (RFC 5005) hold FEED_ARCHIVE_ITEMS each,
        # counted from the first release. Changing FEED_ARCHIVE_ITEMS renumbers every archive page.
        "FEED_ITEMS": 50,
        "FEED_ARCHIVE_ITEMS": 50,
        # How long a withdrawn release stays in its Atom feeds as a tombstone (RFC 6721 at:deleted-entry).
        "FEED_TOMBSTONE_DAYS": 30,
        # The feeds' rights statement per language; a language left out gets "© <publisher>".
        "FEED_RIGHTS": {},
        # WebSub hubs (URLs) every feed names and the worker pings after each change; empty: none, no network.
        "WEBSUB_HUBS": [],
        # The office's own Russian feeds (RSS, Atom, JSON Feed) the worker follows (README, "Following the
        # office's own feed"): URLs or {"url", "publish", "category"}; empty: none, nothing leaves the machine.
        "FEED_SOURCES": [],
        "FEED_SOURCE_TIMEOUT": 20.0,  # seconds a source may stay silent before its fetch fails
        "FEED_SOURCE_MAX_BYTES": 5 * 1024 * 1024,  # a larger feed document is refused
        # The LibreTranslate-compatible endpoint (/translate, /detect, /languages; README "Translating for staff"):
        # off (404), keys (an api_key made in the admin) or open (anyone who reaches the service).
        "TRANSLATE_API": "off",
        "TRANSLATE_API_TIMEOUT": 25.0,  # seconds a request waits for the worker (under gunicorn's 30) before 503
        "TRANSLATE_API_CHAR_LIMIT": 5000,  # characters per request, all texts together
        "TRANSLATE_API_RATE_LIMIT": "60 per minute",  # per key (open: per client address)
        # The CMS API (/api/; README "The CMS API"): requests per token.
        "API_RATE_LIMIT": "120 per minute",
        "PAGE_SIZE": 20,
        "ADMIN_PAGE_SIZE": 50,  # releases per page of the admin list
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "PHOTO_MAX_BYTES": 10 * 1024 * 1024,
        "PHOTO_MAX_PIXELS": 40_000_000,
        "PHOTO_DECODE_SECONDS": 20,  # an upload that takes longer to decode is refused (under gunicorn's 30 s)
        "TITLE_MAX": 300,
        "BODY_MAX": 100_000,
        # Failed logins: per client address, and per user name from anywhere (429 with Retry-After).
        "LOGIN_RATE_LIMIT": "10 per minute",
        "LOGIN_USER_RATE_LIMIT": "20 per hour",
        "RATELIMIT_HEADERS_ENABLED": True,
        # An admin session ends this long after login, or after this long without a request.
        "SESSION_LIFETIME_SECONDS": 12 * 3600,
        "SESSION_IDLE_SECONDS": 3600,
        "PROXY_FIX": 0,
        # Behind nginx: photos are sent by nginx from this internal location once the app allowed them.
        "MEDIA_ACCEL_REDIRECT": "",
        "RATELIMIT_STORAGE_URI": "memory://",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "FEED_MAX_AGE": 60,
        # Rendered feeds and anonymous index pages, kept until the data changes (least recently used go first).
        "RESPONSE_CACHE_ENTRIES": 512,
        "RESPONSE_CACHE_BYTES": 32 * 1024 * 1024,
        # Without SITE_URL only this many distinct Host values get cached responses (a forged Host per request
        # must not evict the real ones); with SITE_URL every request has the one host.
        "RESPONSE_CACHE_HOSTS": 4,
        "WTF_CSRF_TIME_LIMIT": 12 * 3600,  # a form's token expires with the longest session
        # Larger glossary CSVs are imported with `feedsvc glossary import` (a web request must stay short).
        "GLOSSARY_WEB_IMPORT_ROWS": 5000,
        # What the worker publishes per language: auto, checked (unless a sentence check flags it) or
        # reviewed (only what an editor approved). See README, "What gets published".
        "PUBLISH_POLICY": {},  # a language left out is "checked" (settings.Policy.of)
        # The worker, the engine and the typography of machine translations (README, Translation):
        # WORKER_LEASE_SECONDS, ENGINE_BEAM_SIZE, TYPOGRAPHY_QUOTES…; the defaults are SETTINGS classes' own.
        **{key: value for prefix, (settings_class, skip) in SETTINGS.items()
           for key, value in settings_defaults(prefix, settings_class, skip).items()},
    }


def settings_defaults(prefix: str, settings_class, skip: frozenset | set = frozenset()) -> dict:
    """PREFIX_FIELD: default, for every field of a settings dataclass (the one place its defaults live)."""
    return {f"{prefix}_{field.name.upper()}": field.default for field in dataclasses.fields(settings_class)
            if field.name not in skip and field.default is not dataclasses.MISSING}


def from_config(config, prefix: str, settings_class, **given):
    """A settings dataclass filled from PREFIX_* settings (checked at start), plus ``given`` values."""
    values = {field.name: config[key] for field in dataclasses.fields(settings_class)
              if (key := f"{prefix}_{field.name.upper()}") in config}
    return settings_class(**{**values, **given})


def check_config(config: dict, defaults: dict) -> None:
    """Give every setting its default's type, refusing what cannot have it, and check the time zone.

    Environment variables arrive as text, or as JSON when they look like it: "300s" for a number
    or "False" for a flag (not JSON) must be an error at start, not a 500 or a crash later.
    """
    for key, default in defaults.items():
        if default is not None and not isinstance(default, dict | list) and config.get(key) is not None:
            config[key] = _coerce(key, config[key], type(default))
    unknown = sorted(k for k in config if k.startswith(tuple(f"{p}_" for p in SETTINGS)) and k not in defaults)
    if unknown:
        known = ", ".join(k for k in defaults if k.startswith(unknown[0].split("_")[0] + "_"))
        raise ConfigError(f"unknown setting {unknown[0]} (known: {known})")
    config["LANGUAGES"] = list(Languages.of(config).readable)
    if config.get("SECRET_KEY") is not None:
        config["SECRET_KEY"] = str(config["SECRET_KEY"])
    check_policy(config)
    check_contact(config)
    check_hubs(config)
    check_sources(config)
    if config["TRANSLATE_API"] not in TRANSLATE_API_MODES:
        raise ConfigError(f"TRANSLATE_API = {config['TRANSLATE_API']!r}: expected one of "
                          f"{', '.join(TRANSLATE_API_MODES)}")
    try:
        ZoneInfo(str(config["TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TIMEZONE = {config['TIMEZONE']!r} is not a time zone name (e.g. Asia/Almaty)") from exc


def check_contact(config: dict) -> None:
    """The press contact: a real phone number (rewritten in international format, plus its tel: URI) and an e-mail.

    An empty phone or e-mail is left out of pages; a wrong one is an error at start, not a dead link.
    """
    import phonenumbers

    phone = str(config.get("PRESS_CONTACT_PHONE") or "").strip()
    config["PRESS_CONTACT_PHONE_URI"] = ""
    if phone:
        try:
            number = phonenumbers.parse(phone, None)  # no default region: the number must start with +
        except phonenumbers.NumberParseException as exc:
            raise ConfigError(f"PRESS_CONTACT_PHONE = {phone!r} is not a phone number in international format "
                              "(write + and the country code, e.g. +7 7172 74-70-00)") from exc
        if not phonenumbers.is_valid_number(number):
            raise ConfigError(f"PRESS_CONTACT_PHONE = {phone!r} is not a valid phone number")
        phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        config["PRESS_CONTACT_PHONE_URI"] = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)
    config["PRESS_CONTACT_PHONE"] = phone
    email = str(config.get("PRESS_CONTACT_EMAIL") or "").strip()
    if email and not re.fullmatch(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+", email):
        raise ConfigError(f"PRESS_CONTACT_EMAIL = {email!r} is not an e-mail address")
    config["PRESS_CONTACT_EMAIL"] = email
    if not isinstance(config.get("PRESS_CONTACT_NAMES"), dict):
        raise ConfigError(f"PRESS_CONTACT_NAMES = {config.get('PRESS_CONTACT_NAMES')!r}: expected a mapping like "
                          '{"en": "Senate Press Service"}')


def check_hubs(config: dict) -> None:
    """WEBSUB_HUBS: a list of http(s) URLs (text with spaces or commas is split), usable only with SITE_URL."""
    hubs = config.get("WEBSUB_HUBS") or []
    if isinstance(hubs, str):
        hubs = hubs.replace(",", " ").split()
    bad = [hub for hub in hubs if not isinstance(hub, str) or not hub.startswith(("http://", "https://"))]
    if bad:
        raise ConfigError(f"WEBSUB_HUBS: {bad[0]!r} is not an http(s) URL")
    if hubs and not config.get("SITE_URL"):
        raise ConfigError("WEBSUB_HUBS needs SITE_URL: hubs are told the feeds' canonical URLs")
    config["WEBSUB_HUBS"] = list(hubs)


def check_sources(config: dict) -> None:
    """FEED_SOURCES: a JSON list of http(s) URLs or {"url", "publish", "category"} objects, made all objects."""
    given = config.get("FEED_SOURCES") or []
    if isinstance(given, str):
        try:
            given = json.loads(given) if given.strip().startswith(("[", "{")) else given.split()
        except ValueError as exc:
            raise ConfigError(f"FEED_SOURCES is not valid JSON ({exc}); expected a list like "
                              '["https://senate.example.kz/ru/rss", {"url": "…", "publish": true}]') from exc
    if not isinstance(given, list):
        raise ConfigError(f"FEED_SOURCES = {given!r}: expected a JSON list of URLs or objects")
    sources = [_source(item) for item in given]
    urls = [source["url"] for source in sources]
    if len(set(urls)) != len(urls):
        raise ConfigError(f"FEED_SOURCES names {next(u for u in urls if urls.count(u) > 1)} twice")
    config["FEED_SOURCES"] = sources


def _source(item) -> dict:
    """One FEED_SOURCES item as {"url", "publish", "category"}, or a ConfigError naming it."""
    source = {"url": item} if isinstance(item, str) else item
    if not isinstance(source, dict) or set(source) - {"url", "publish", "category"}:
        raise ConfigError(f"FEED_SOURCES: {item!r} is not a URL or an object with url, publish and category")
    url = source.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"FEED_SOURCES: {url!r} is not an http(s) URL")
    if not isinstance(source.get("publish", False), bool) or not isinstance(source.get("category", ""), str):
        raise ConfigError(f"FEED_SOURCES: {item!r}: publish must be true or false, category a text")
    return {"url": url, "publish": source.get("publish", False), "category": source.get("category", "")}


def check_policy(config: dict) -> None:
    """PUBLISH_POLICY: a known policy for every target language (a language left out gets the default)."""
    given = config.get("PUBLISH_POLICY") or {}
    if not isinstance(given, dict):
        raise ConfigError(f'PUBLISH_POLICY = {given!r}: expected a mapping like {{"en": "checked", "kk": "reviewed"}}')
    policies = {}
    for lang in config["TARGET_LANGUAGES"]:
        try:
            policies[lang] = Policy.of(given, lang)
        except ValueError as exc:
            raise ConfigError(f"PUBLISH_POLICY[{lang!r}] = {given.get(lang)!r}: expected one of "
                              f"{', '.join(Policy)}") from exc
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


