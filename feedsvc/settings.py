"""The settings dataclasses and their defaults, at the bottom of the package: the configuration (config.py) reads
them without importing the worker, the engine (which loads CTranslate2 and Argos) or the checks."""

from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from pathlib import Path

from feedsvc.text import editions
from feedsvc.text.editions import base_language


@dataclass(frozen=True)
class Languages:
    """The site's languages: releases are written in ``source`` and translated into ``targets`` (the settings
    SOURCE_LANGUAGE and TARGET_LANGUAGES); every one of them is published under its own URL prefix."""

    source: str
    targets: tuple[str, ...]
    editions: tuple[str, ...] = ()  # text.editions: a target in another script (kk-latn), under its own prefix

    @classmethod
    def of(cls, config) -> "Languages":
        """The languages a configuration names (SOURCE_LANGUAGE, TARGET_LANGUAGES, the editions' settings)."""
        return cls(str(config["SOURCE_LANGUAGE"]), tuple(config["TARGET_LANGUAGES"]), editions.enabled(config))

    @property
    def published(self) -> tuple[str, ...]:
        """Every language readers can read: the source first, then the targets."""
        return (self.source, *self.targets)

    @property
    def readable(self) -> tuple[str, ...]:
        """Every language and edition with pages and feeds: the published languages, each edition after its base."""
        return tuple(code for lang in self.published
                     for code in (lang, *(edition for edition in self.editions if base_language(edition) == lang)))

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The URL prefixes of the languages and editions ("/ru/", "/kk/", "/kk-latn/" …)."""
        return tuple(f"/{code}/" for code in self.readable)


# The queue's defaults (the queue's functions and so the WORKER_* settings take theirs from here).
LEASE_SECONDS = 300
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 30


@dataclass(frozen=True)
class EngineSettings:
    """Inference settings; the defaults suit a 2-core machine (see README, Performance)."""

    inter_threads: int = 2
    intra_threads: int = 1
    max_batch_size: int = 16
    beam_size: int = 4
    compute_type: str = "auto"
    max_decoding_ratio: float = 3.0
    max_decoding_floor: int = 32


@dataclass(frozen=True)
class Typography:
    """Which rules apply (the TYPOGRAPHY_* settings): each can be turned off on its own."""

    # Quotation marks of the language: “…” and ‘…’ in English; «…» and „…“ in Russian and Kazakh.
    quotes: bool = True
    # A spaced hyphen or en dash (speech attributions: ", - said") becomes a non-breaking space and an em dash.
    dashes: bool = True
    # Dates in English text: 19.11.2026 (and a leftover "19 ноября 2026") become "19 November 2026".
    dates: bool = True


class Policy(StrEnum):
    """What the worker publishes of its own translations into a language."""

    AUTO = "auto"  # everything, labelled as machine translation
    CHECKED = "checked"  # what no sentence check flagged; the rest waits for an editor
    REVIEWED = "reviewed"  # nothing until an editor approves it

    @classmethod
    def of(cls, policies: dict, lang: str) -> "Policy":
        """The policy of ``lang`` in a PUBLISH_POLICY mapping; a language it leaves out is checked."""
        return cls(str(policies.get(lang, cls.CHECKED)).strip().lower())

    def holds(self, flagged: int) -> bool:
        """Whether a machine translation with ``flagged`` flagged sentences waits for an editor."""
        return self is Policy.REVIEWED or (self is Policy.CHECKED and flagged > 0)


@dataclass(frozen=True)
class WorkerSettings:
    """How the worker behaves; filled from the app config by the CLI."""

    models_dir: Path
    source_lang: str = "ru"
    lease_seconds: int = LEASE_SECONDS
    max_attempts: int = MAX_ATTEMPTS
    backoff_seconds: int = BACKOFF_SECONDS
    # Jobs of one language are claimed together up to this many source sentences (see claim_batch).
    batch_sentences: int = 256
    poll_seconds: float = 2.0
    # What is published without an editor, per language (README, "What gets published"); missing: checked.
    publish_policy: dict = field(default_factory=dict)
    # The target languages' typography applied before storage (README, TYPOGRAPHY_* settings).
    typography: Typography = field(default_factory=Typography)
    # How many hypotheses a sentence that fails a check is tried again with (README, "Try again"); 0: none.
    hypotheses: int = 4
    # The press office's time zone (TIMEZONE): a release's publication date, in it, picks its glossary terms.
    timezone: str = "Asia/Almaty"
