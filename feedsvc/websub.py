"""WebSub publishing: tell the configured hubs which feeds changed, from the worker process, with retries.

Database triggers (migration m014) count every change that alters what a feed shows in ``websub_pending``
(one row per language, ``*`` for all), in the same transaction as the change, whichever process made it:
an editor's save only writes that counter, and a ping cannot be lost to a restart, because a row counts as
sent only after every configured hub accepted every topic (``pinged`` catches up with ``version``). A hub
that fails in any way (refused, reset, timed out, answering bytes that are not HTTP, a non-2xx status or a
redirect, which is never followed) is asked again after 1, 2, 4… seconds (at most RETRY_MAX_SECONDS), and its
error is kept in the row (``websub_pending.error``) and logged as one line.
"""

import http.client
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlencode

from sqlite_utils import Database

from feedsvc import clock
from feedsvc import releases
from feedsvc.errors import FeedsvcError
from feedsvc.storage import write
from feedsvc.supervise import Periodic

log = logging.getLogger(__name__)
ALL = "*"
RETRY_MAX_SECONDS = 300
TIMEOUT_SECONDS = 10


class HubError(FeedsvcError, OSError):
    """A hub did not accept a ping: a refusal, a reset, a timeout, bytes that are not HTTP, a non-2xx answer."""

    def __init__(self, hub: str, problem: str):
        """Keep the hub and what went wrong; the message names both, on one line."""
        super().__init__(f"hub {hub} {problem}")
        self.hub, self.problem = hub, problem


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: a hub's 3xx is its error, never a POST sent on to a URL the hub chose."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        """Follow nothing (urllib then raises the 3xx as an HTTPError)."""
        return None


def publish(hub: str, topic: str) -> None:
    """POST hub.mode=publish for one topic; anything but a 2xx answer raises HubError."""
    data = urlencode({"hub.mode": "publish", "hub.url": topic}).encode()
    request = urllib.request.Request(hub, data=data, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    opener = urllib.request.build_opener(NoRedirects)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:  # configured hubs only
            status = response.status
    except urllib.error.HTTPError as exc:
        moved = " (a redirect: not followed)" if 300 <= exc.code < 400 else ""
        raise HubError(hub, f"answered {exc.code}{moved}") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        # A hub that speaks no HTTP raises http.client's errors, which are not OSErrors.
        raise HubError(hub, f"failed: {type(exc).__name__}: {exc}"[:300]) from exc
    if not 200 <= status < 300:
        raise HubError(hub, f"answered {status}")


def announce_due(db: Database) -> int:
    """Count a ping for every language when scheduled releases reached their time since the last look; returns
    how many did. No write happens at a release's moment, so no trigger counted it: the worker does, here."""
    now = clock.stamp()
    sql = f"""select count(*) from releases r where {releases.VISIBLE_SQL}
        and r.published_at > (select due_through from site_state where id = 1)"""
    if not db.execute(sql, {"now": now}).fetchone()[0]:
        return 0  # read only: the worker looks every second, and writes only when a release's time came
    with write(db):
        came = int(db.execute(sql, {"now": now}).fetchone()[0])
        if came:
            db.execute(f"insert into websub_pending (lang, version) values ('{ALL}', 1) "
                       "on conflict (lang) do update set version = version + 1")
        db.execute("update site_state set due_through = ? where id = 1", [now])
    return came


def due(db: Database) -> list[dict]:
    """Languages with changes not yet announced whose retry time has come."""
    return list(db.query("select * from websub_pending where version > pinged and run_after <= ?", [clock.utcnow()]))


def failing(db: Database) -> list[dict]:
    """Announcements that failed and wait for their next try, with the hub's last error (shown to the admin)."""
    return list(db.query("select lang, attempts, error, run_after from websub_pending "
                         "where version > pinged and error is not null order by lang"))


def deliver(db: Database, hubs: list[str], topics: dict[str, list[str]],
            send: Callable[[str, str], None] = publish) -> int:
    """Ping every hub for every feed of each language with unannounced changes; returns how many rows were sent.

    A failure leaves the row pending with its next attempt scheduled; changes committed while pinging raise
    ``version`` again, so they are announced on the next round.
    """
    sent = 0
    announce_due(db)
    for row in due(db):
        langs = list(topics) if row["lang"] == ALL else [row["lang"]]
        try:
            for hub in hubs:
                for lang in langs:
                    for topic in topics.get(lang, []):
                        send(hub, topic)
        except OSError as exc:
            delay = clock.backoff(1, row["attempts"], cap=RETRY_MAX_SECONDS)
            log.warning("WebSub ping for %s failed (attempt %d, again in %d s): %s", row["lang"],
                        row["attempts"] + 1, delay, exc)
            db.execute("update websub_pending set attempts = attempts + 1, run_after = ?, error = ? where lang = ?",
                       [clock.after(delay), str(exc)[:500], row["lang"]])
            continue
        db.execute("update websub_pending set pinged = ?, attempts = 0, run_after = '', error = null where lang = ?",
                   [row["version"], row["lang"]])
        sent += 1
    return sent


class Sender(Periodic):
    """The worker's background thread: deliver() every ``interval`` seconds until stopped."""

    def __init__(self, connect: Callable[[], Database], hubs: list[str], topics: dict[str, list[str]],
                 interval: float = 1.0):
        """Prepare (not start) a sender with its own connection factory."""
        super().__init__("websub", connect, lambda db: deliver(db, hubs, topics), interval)
        self.hubs, self.topics = hubs, topics
