"""One error hierarchy: every error feedsvc raises on purpose is a FeedsvcError of one of a few kinds.

The web package maps the kinds to HTTP status codes once (``STATUS_CODES`` in ``feedsvc/web/__init__.py``);
the commands turn any FeedsvcError into one clear line. An error carries its subject as attributes
(``release_id``, ``lang``) and builds its message for a person from them. Domain modules subclass a kind
with a name that says what went wrong (``class ReleaseNotFound(NotFound)``), as lemon24/reader's
``exceptions.py`` does.
"""


class FeedsvcError(Exception):
    """Base of every error feedsvc raises on purpose; its message is meant for a person."""


class NotFound(FeedsvcError, LookupError):
    """The thing asked for does not exist (HTTP 404)."""


class Gone(NotFound):
    """The thing existed and was withdrawn (HTTP 410)."""


class Conflict(FeedsvcError):
    """The thing changed since it was read: saving now would undo someone else's change (HTTP 409)."""


class InvalidInput(FeedsvcError, ValueError):
    """Input that cannot be used as it is: a form value, a file, a package (HTTP 400)."""


class StorageUnavailable(FeedsvcError):
    """The database or the disk cannot be used right now (HTTP 503); chains the underlying error."""


class EditConflict(Conflict):
    """What an editor opened (a release or a translation) was changed by someone else since."""

    def __init__(self, release_id: int, lang: str, *, expected: int | None = None, current: int | None = None):
        """The release and language edited, the version the editor opened and the version stored now."""
        self.release_id, self.lang, self.expected, self.current = release_id, lang, expected, current
        versions = f" (opened at version {expected}, now {current})" if expected is not None else ""
        super().__init__(f"Release {release_id} ({lang}) was changed by someone else since it was opened{versions}.")
