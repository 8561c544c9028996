"""The vocabularies of feedsvc's state machines, in one place (the tables store these values).

A translation moves pending → translating → machine (published) or held (waits for an editor), and
an editor makes it reviewed; an edit of the Russian text makes a reviewed one outdated. A job moves
queued → running → done, or back to queued for a retry, or ends failed, superseded or no-model; each
claimed job has a JobOutcome.
"""

from enum import StrEnum


class ReleaseStatus(StrEnum):
    """Where a release stands for readers."""

    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class TranslationStatus(StrEnum):
    """Where one language's translation of a release stands."""

    PENDING = "pending"
    TRANSLATING = "translating"
    MACHINE = "machine"  # a machine translation of the current text, published
    HELD = "held"  # a machine translation the publishing policy keeps back until an editor approves it
    REVIEWED = "reviewed"
    OUTDATED = "outdated"  # reviewed, but the Russian original changed since
    FAILED = "failed"
    NO_MODEL = "no-model"


class JobStatus(StrEnum):
    """Where a translation job stands in the queue."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    NO_MODEL = "no-model"


class JobOutcome(StrEnum):
    """What became of one claimed job, as the queue and the worker report it (the worker's log, ``on_job``)."""

    DONE = "done"  # translated and published
    HELD = "held"  # translated, kept from readers until an editor approves it (the publishing policy)
    RETRY = "retry"  # failed; queued again after a backoff
    FAILED = "failed"  # failed too often: given up
    LOST = "lost"  # another worker re-claimed the job meanwhile: nothing was written
    SUPERSEDED = "superseded"  # the release changed since: the newer revision's job does the work
    NO_MODEL = "no-model"  # no installed route to the language: parked until a model is installed


class FeedFormat(StrEnum):
    """The formats every feed is served in (``/<lang>/feed.<format>``)."""

    RSS = "rss"
    ATOM = "atom"
    JSON = "json"


class Origin(StrEnum):
    """Who wrote a text: a model or a person."""

    MACHINE = "machine"
    HUMAN = "human"


class SentenceOrigin(StrEnum):
    """Where one published sentence of a translation comes from (its provenance in the per-sentence record)."""

    MACHINE = "machine"  # the model's, as it passed the checks
    APPROVED = "approved"  # the model's, approved as it is by an editor
    EDITED = "edited"  # changed by an editor


# What staff see for a published release whose time has not come yet: not a stored status (the release is
# published; readers see it from its time on), but a state of its own in the admin list, its filter and labels.
SCHEDULED = "scheduled"
# Sentence origins that mean an editor saw the sentence.
SEEN = (SentenceOrigin.APPROVED, SentenceOrigin.EDITED)
# Translations readers see (feeds, pages, search).
VISIBLE = (TranslationStatus.MACHINE, TranslationStatus.REVIEWED, TranslationStatus.OUTDATED)
# Translations whose text matches the source revision they were made for.
CURRENT = (TranslationStatus.MACHINE, TranslationStatus.HELD, TranslationStatus.REVIEWED)
# Jobs still open: a newer revision supersedes them.
OPEN_JOBS = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.NO_MODEL)


def sql_list(values) -> str:
    """A tuple of states as an SQL list literal: ('machine', 'reviewed'). Only for these constants."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


class ApiScope(StrEnum):
    """What an API key (feedsvc.apikeys) may do: translate text (the LibreTranslate-compatible endpoint), or read
    or write releases through the CMS API (write includes read)."""

    TRANSLATE = "translate"
    READ = "read"
    WRITE = "write"


class TextRequestStatus(StrEnum):
    """Where a text handed from the web process to the worker stands (feedsvc.textrequests)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
