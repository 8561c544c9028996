"""Editions: a published language written in a second script, made from its translation by a published table
(no model, no review of its own), so whatever the translation's state is, the edition's is too.

One today: Kazakh in the 2021 Latin alphabet (``kk-latn``, BCP 47 ``kk-Latn``), from the Kazakh translation.
An edition has its own URL prefix, feeds (their own entry ids) and sitemaps; it reads its base language's rows.
"""

from collections.abc import Callable
from dataclasses import dataclass

from feedsvc.text.latin import cyrillic_spellings
from feedsvc.text.latin import kazakh_latin_text


@dataclass(frozen=True)
class Edition:
    """A language in another script: its URL code, the language it is written from, its BCP 47 tag, its name
    in itself, the setting that turns it off, and the table each way."""

    code: str
    base: str
    tag: str
    name: str
    setting: str
    write: Callable[[str], str]  # the base language's text in the edition's script
    spellings: Callable[[str], list[str]]  # a word typed in the edition's script, as the base language writes it


EDITIONS = {edition.code: edition for edition in (
    Edition("kk-latn", "kk", "kk-Latn", "Qazaqşa", "KAZAKH_LATIN_EDITION", kazakh_latin_text, cyrillic_spellings),
)}


def edition(code: str | None) -> Edition | None:
    """The edition published under ``code``, or None for a language in its own script."""
    return EDITIONS.get(code or "")


def base_language(code: str) -> str:
    """The language whose rows a page of ``code`` reads: an edition's base, else the language itself."""
    found = edition(code)
    return found.base if found else code


def language_tag(code: str) -> str:
    """The BCP 47 tag of a URL code, for ``lang`` and ``hreflang`` (kk-latn → kk-Latn)."""
    found = edition(code)
    return found.tag if found else code


def enabled(config) -> tuple[str, ...]:
    """The editions a configuration publishes: each whose setting is on and whose base language is a target."""
    return tuple(code for code, found in EDITIONS.items()
                 if config.get(found.setting, True) and found.base in config["TARGET_LANGUAGES"])


def names() -> dict[str, str]:
    """Each edition's name in itself (the language switcher's)."""
    return {code: found.name for code, found in EDITIONS.items()}


def in_script(code: str | None, text: str) -> str:
    """``text`` of the base language in ``code``'s script (as it is for a language in its own script)."""
    found = edition(code)
    return found.write(text) if found else text
