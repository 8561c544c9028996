"""Texts the web process hands the worker to translate (the LibreTranslate-compatible endpoint), and the answers.

The web process never loads a model: it stores a request, the worker (which polls anyway) claims it before
any release job, writes the answer into the row, and the web request, which waited for it, reads and deletes
the row. Nothing a staff member sent stays in the database once answered or given up on.
"""

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.states import TextRequestStatus
from feedsvc.storage import write

# A request older than this was given up on by a web process that died: the worker drops it unanswered.
STALE_SECONDS = 600


@dataclass(frozen=True)
class TextItem:
    """One text to translate, with its language (given, or detected by the web process)."""

    text: str
    source: str


def submit(db: Database, items: list[TextItem], target: str, text_format: str) -> int:
    """Queue texts for the worker; returns the request's id."""
    row = {"items": json.dumps([item.__dict__ for item in items], ensure_ascii=False), "target": target,
           "format": text_format, "status": TextRequestStatus.QUEUED, "created_at": clock.utcnow()}
    return int(db.table("text_requests").insert(row).last_pk or 0)


def finished(db: Database, request_id: int) -> dict | None:
    """The request once the worker answered (done) or failed, else None; a missing row is failed."""
    rows = list(db.query("select * from text_requests where id = ?", [request_id]))
    if not rows:
        return {"status": TextRequestStatus.FAILED, "error": "the request was dropped"}
    row = rows[0]
    if row["status"] not in (TextRequestStatus.DONE, TextRequestStatus.FAILED):
        return None
    return {**row, "answer": json.loads(row["answer"]) if row["answer"] else None}


def discard(db: Database, request_id: int) -> None:
    """Delete a request: answered, or given up on (a worker's later answer then finds no row)."""
    db.execute("delete from text_requests where id = ?", [request_id])


def waiting(db: Database) -> bool:
    """Whether a request waits for the worker (checked between its sleeps, so staff do not wait a poll)."""
    return db.execute("select 1 from text_requests where status = ? limit 1",
                      [TextRequestStatus.QUEUED]).fetchone() is not None


def claim(db: Database) -> dict | None:
    """The oldest queued request, marked running, with its items; stale requests are dropped first."""
    stale = clock.iso(clock.now() - timedelta(seconds=STALE_SECONDS))
    with write(db):
        db.execute("delete from text_requests where created_at < ?", [stale])
        rows = list(db.query("select * from text_requests where status = ? order by id limit 1",
                             [TextRequestStatus.QUEUED]))
        if not rows:
            return None
        db.execute("update text_requests set status = ?, claimed_at = ? where id = ?",
                   [TextRequestStatus.RUNNING, clock.utcnow(), rows[0]["id"]])
    items = [TextItem(**item) for item in json.loads(rows[0]["items"])]
    return {**rows[0], "items": items}


def answer(db: Database, request_id: int, results: list[dict]) -> None:
    """Store the worker's answer: one result per item, in order."""
    db.execute("update text_requests set status = ?, answer = ? where id = ?",
               [TextRequestStatus.DONE, json.dumps(results, ensure_ascii=False), request_id])


def fail(db: Database, request_id: int, error: str) -> None:
    """Store why the worker could not translate the request."""
    db.execute("update text_requests set status = ?, error = ? where id = ?",
               [TextRequestStatus.FAILED, error, request_id])
