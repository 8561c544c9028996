"""The translation job queue: rows in ``jobs``, claimed with a lease so a killed worker loses nothing.

A worker claims a job by writing a fresh lease token and an expiry. Its result is stored only
if, in the same transaction, the job still carries that token: a worker killed with -9 simply
lets the lease run out, the job is claimed again, and the result is written exactly once.
"""

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlite_utils import Database

from feedsvc.storage import write

OPEN = ("queued", "running")


def _now() -> datetime:
    """The current UTC time (one place, so the queue's clock is consistent)."""
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(moment: datetime) -> str:
    """An aware datetime as the ISO text the tables store."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def enqueue_release(db: Database, release: dict, languages, *, only_stale: bool = False) -> list[int]:
    """Queue a translation of the release's current revision into each language.

    Older open jobs for the same language are superseded: only the newest text matters.
    With ``only_stale`` a language whose done translation already matches the revision is skipped.
    """
    now = _stamp(_now())
    queued = []
    for lang in languages:
        current = list(db.query(
            "select * from translations where release_id = ? and lang = ?", [release["id"], lang]
        ))
        if only_stale and current and current[0]["status"] == "done" and (
            current[0]["source_revision"] == release["revision"]
        ):
            continue
        db.execute(
            "update jobs set status = 'superseded', updated_at = ? "
            "where release_id = ? and lang = ? and status in ('queued', 'running', 'no-model')",
            [now, release["id"], lang],
        )
        job = {
            "release_id": release["id"], "lang": lang, "source_revision": release["revision"],
            "status": "queued", "attempts": 0, "run_after": now, "created_at": now, "updated_at": now,
        }
        queued.append(db.table("jobs").insert(job).last_pk)
        _set_translation(db, release["id"], lang, {"status": "pending", "error": None}, now)
    return queued


def _set_translation(db: Database, release_id: int, lang: str, changes: dict, now: str) -> None:
    """Update a translation row's status fields, creating the row if it is missing."""
    db.table("translations").upsert(
        {"release_id": release_id, "lang": lang, "updated_at": now, **changes}, pk=("release_id", "lang")
    )


def claim(db: Database, *, lease_seconds: int = 300, max_attempts: int = 5) -> dict | None:
    """Take the next due job (or one whose lease ran out) and lease it; None when nothing is due."""
    now = _now()
    token = uuid.uuid4().hex
    with write(db):
        rows = list(db.query(
            """update jobs set status = 'running', lease_token = :token, lease_until = :until,
                attempts = attempts + 1, updated_at = :now
            where id = (select id from jobs
                where (status = 'queued' and run_after <= :now)
                   or (status = 'running' and lease_until < :now)
                order by run_after, id limit 1)
            returning *""",
            {"token": token, "until": _stamp(now + timedelta(seconds=lease_seconds)), "now": _stamp(now)},
        ))
        if not rows:
            return None
        job = rows[0]
        if job["attempts"] > max_attempts:
            _finish(db, job, "failed", "gave up after repeated interruptions", "failed")
            return claim(db, lease_seconds=lease_seconds, max_attempts=max_attempts)
        _set_translation(db, job["release_id"], job["lang"], {"status": "translating"}, _stamp(now))
    return job


def holds_lease(db: Database, job: dict) -> bool:
    """Whether ``job``'s lease token is still the one on record (nobody re-claimed it)."""
    row = db.execute("select lease_token, status from jobs where id = ?", [job["id"]]).fetchone()
    return row is not None and row[0] == job["lease_token"] and row[1] == "running"


def complete(db: Database, job: dict, translation: dict) -> bool:
    """Store the job's translation and mark it done, atomically, if the lease is still ours.

    Returns False (and writes nothing) when the lease was lost to another worker.
    """
    now = _stamp(_now())
    with write(db):
        if not holds_lease(db, job):
            return False
        changes = {**translation, "status": "done", "origin": "machine", "error": None,
                   "source_revision": job["source_revision"]}
        _set_translation(db, job["release_id"], job["lang"], changes, now)
        db.table("jobs").update(job["id"], {"status": "done", "error": None, "updated_at": now})
    return True


def _finish(db: Database, job: dict, job_status: str, error: str, translation_status: str) -> None:
    """End a job with a status and make its translation row tell the same story."""
    now = _stamp(_now())
    db.table("jobs").update(job["id"], {"status": job_status, "error": error, "updated_at": now})
    _set_translation(db, job["release_id"], job["lang"], {"status": translation_status, "error": error}, now)


def fail(db: Database, job: dict, error: str, *, max_attempts: int = 5, backoff_seconds: int = 30) -> str:
    """Record a failed attempt: retry later with exponential backoff, or give up as ``failed``."""
    with write(db):
        if not holds_lease(db, job):
            return "lost"
        if job["attempts"] >= max_attempts:
            _finish(db, job, "failed", error, "failed")
            return "failed"
        delay = backoff_seconds * 2 ** (job["attempts"] - 1)
        db.table("jobs").update(job["id"], {
            "status": "queued", "error": error, "lease_token": None,
            "run_after": _stamp(_now() + timedelta(seconds=delay)), "updated_at": _stamp(_now()),
        })
        _set_translation(db, job["release_id"], job["lang"], {"status": "pending", "error": error},
                         _stamp(_now()))
        return "retry"


def no_model(db: Database, job: dict, message: str) -> None:
    """Park a job whose language has no route; installing a model re-queues it."""
    with write(db):
        if holds_lease(db, job):
            _finish(db, job, "no-model", message, "no-model")


def requeue_no_model(db: Database) -> int:
    """Put every job parked for lack of a model back in the queue; returns how many."""
    now = _stamp(_now())
    with write(db):
        cursor = db.execute(
            "update jobs set status = 'queued', attempts = 0, run_after = ?, error = null, updated_at = ? "
            "where status = 'no-model'", [now, now],
        )
        db.execute(
            "update translations set status = 'pending', error = null, updated_at = ? "
            "where status = 'no-model'", [now],
        )
    return cursor.rowcount


def counts(db: Database) -> dict[str, int]:
    """How many jobs are in each status."""
    return {row["status"]: row["n"] for row in db.query("select status, count(*) n from jobs group by status")}


def pending_count(db: Database) -> int:
    """Jobs still to be done (queued or running)."""
    return db.execute("select count(*) from jobs where status in ('queued', 'running')").fetchone()[0]


def complete_superseded(db: Database, job: dict) -> None:
    """Close a job whose source revision is no longer current (a newer job exists)."""
    with write(db):
        if holds_lease(db, job):
            db.table("jobs").update(job["id"], {"status": "superseded", "updated_at": _stamp(_now())})
