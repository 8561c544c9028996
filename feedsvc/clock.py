"""The one source of "now": every module asks here, so a test can set the time (see ``tests/conftest.py``).

Call ``clock.now()`` through the module (never ``from feedsvc.clock import now``): a test replaces
the module's ``now`` and every caller sees the set time at once.
"""

import math
from datetime import UTC
from datetime import datetime
from datetime import timedelta


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A timezone-aware datetime as the sortable UTC ISO text every table stores (whole seconds)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: feedsvc stores timezone-aware times only")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def stamp(moment: datetime | None = None) -> str:
    """A moment (now by default) as ISO text to the microsecond: when a text changed, or a release was published.

    Feeds date entries with it (RFC 3339 fractional seconds), so translations stored in one worker batch never
    share an ``updated`` value. Always six digits, so these texts sort with each other and with whole-second ones.
    """
    return (moment or now()).astimezone(UTC).isoformat(timespec="microseconds")


def after(seconds: float) -> str:
    """The moment ``seconds`` from now, as stored ISO text (leases, retry times)."""
    return iso(now() + timedelta(seconds=seconds))


def backoff(base: float, attempt: int, cap: float = math.inf) -> float:
    """Seconds to wait before retry ``attempt`` (0 the first): ``base`` doubled each time, at most ``cap``."""
    return min(base * 2**attempt, cap)


def utcnow() -> str:
    """Now, as the ISO text every table stores."""
    return iso(now())


def parse_time(value: str) -> datetime:
    """An ISO text from the database back to an aware datetime."""
    return datetime.fromisoformat(value)
