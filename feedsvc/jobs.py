"""The translation job queue: rows in ``jobs``, claimed with a lease so a killed worker loses nothing.

A worker claims a job by writing a fresh lease token and an expiry. Its result is stored only
if, in the same transaction, the job still carries that token: a worker killed with -9 simply
lets the lease run out, the job is claimed again, and the result is written exactly once.
"""

import uuid
from datetime import timedelta

from sqlite_utils import Database

from feedsvc import clock
from feedsvc import translations
from feedsvc.settings import BACKOFF_SECONDS
from feedsvc.settings import LEASE_SECONDS
from feedsvc.settings import MAX_ATTEMPTS
from feedsvc.states import CURRENT
from feedsvc.states import OPEN_JOBS
from feedsvc.states import JobOutcome
from feedsvc.states import JobStatus as Job
from feedsvc.states import Origin
from feedsvc.states import TranslationStatus as Status
from feedsvc.states import sql_list
from feedsvc.storage import write
from feedsvc.text import clean
from feedsvc.text import one_line
from feedsvc.translations import ONE_LINE
from feedsvc.translations import translation_row

# The jobs the admin list reports: what is waiting, running, or needs an operator.
UNFINISHED = (*OPEN_JOBS, Job.FAILED)
# Bound into SQL as :name, so the statements read like the state machine they implement.
STATES = {"queued": Job.QUEUED, "running": Job.RUNNING, "job_done": Job.DONE, "job_failed": Job.FAILED,
          "superseded": Job.SUPERSEDED, "job_no_model": Job.NO_MODEL, "human": Origin.HUMAN,
          "machine_origin": Origin.MACHINE, "machine": Status.MACHINE, "held": Status.HELD,
          "reviewed": Status.REVIEWED, "outdated": Status.OUTDATED, "pending": Status.PENDING,
          "no_model": Status.NO_MODEL}


def enqueue_release(db: Database, release: dict, languages, *, only_stale: bool = False) -> list[int]:
    """Queue a translation of the release's current revision into each language.

    Older open jobs for the same language are superseded: only the newest text matters.
    With ``only_stale`` a language whose translation already matches the revision is skipped.
    A human translation is never reset to "pending": if the source moved on it becomes
    "outdated", and the machine result will arrive beside it as a suggestion.
    """
    now = clock.utcnow()
    queued = []
    for lang in languages:
        current = translation_row(db, release["id"], lang)
        if only_stale and current and current["status"] in CURRENT and (
            current["source_revision"] == release["revision"]
        ):
            continue
        db.execute(
            f"update jobs set status = :superseded, updated_at = :now "
            f"where release_id = :id and lang = :lang and status in {sql_list(OPEN_JOBS)}",
            STATES | {"now": now, "id": release["id"], "lang": lang},
        )
        job = {
            "release_id": release["id"], "lang": lang, "source_revision": release["revision"],
            "status": Job.QUEUED, "attempts": 0, "run_after": now, "created_at": now, "updated_at": now,
        }
        queued.append(int(db.table("jobs").insert(job).last_pk or 0))
        if current is None:
            translations.create_slot(db, release["id"], lang, now)
        up_to_date = current is not None and current["source_revision"] == release["revision"]
        if current is not None and current["origin"] == Origin.HUMAN:
            # An editor's text held for open sentences stays held: it was never published as it is.
            if not up_to_date and current["status"] != Status.HELD:
                translations.set_status(db, release["id"], lang, Status.OUTDATED, error=None)
        elif not (current is not None and up_to_date and current["status"] == Status.MACHINE):
            # A machine text of the current revision stays up while it is re-translated.
            translations.set_status(db, release["id"], lang, Status.PENDING, error=None)
    return queued


def claim(db: Database, *, lease_seconds: int = LEASE_SECONDS, max_attempts: int = MAX_ATTEMPTS,
          lang: str | None = None) -> dict | None:
    """Take the next due job (or one whose lease ran out), of ``lang`` if given, and lease it; None when none is due.

    A job interrupted more than ``max_attempts`` times (its worker died holding it) ends failed on the way, in
    the same transaction, and the next due job is taken instead.
    """
    now = clock.now()
    params = STATES | {"token": uuid.uuid4().hex, "until": clock.iso(now + timedelta(seconds=lease_seconds)),
                       "now": clock.iso(now), "lang": lang}
    with write(db):
        while (job := _lease_next(db, params)) is not None and job["attempts"] > max_attempts:
            _finish(db, job, Job.FAILED, "gave up after repeated interruptions", Status.FAILED)
        if job is not None:
            translations.set_status(db, job["release_id"], job["lang"], Status.TRANSLATING, error=None,
                                    machine_only=True)
    return job


def _lease_next(db: Database, params: dict) -> dict | None:
    """Lease the next due job (queued and due, or running with its lease run out) with ``params``' token."""
    rows = list(db.query(
        """update jobs set status = :running, lease_token = :token, lease_until = :until,
            attempts = attempts + 1, updated_at = :now
        where id = (select id from jobs
            where ((status = :queued and run_after <= :now)
               or (status = :running and lease_until < :now))
              and (:lang is null or lang = :lang)
            order by run_after, id limit 1)
        returning *""", params))
    return rows[0] if rows else None


def holds_lease(db: Database, job: dict) -> bool:
    """Whether ``job``'s lease token is still the one on record (nobody re-claimed it)."""
    row = db.execute("select lease_token, status from jobs where id = ?", [job["id"]]).fetchone()
    return row is not None and row[0] == job["lease_token"] and row[1] == Job.RUNNING


def renew(db: Database, claimed: list[dict], lease_seconds: int) -> None:
    """Extend the leases of jobs still held, so a long batch is not claimed again while it runs."""
    until = clock.after(lease_seconds)
    with write(db):
        for job in claimed:
            db.execute("update jobs set lease_until = ? where id = ? and lease_token = ? and status = ?",
                       [until, job["id"], job["lease_token"], Job.RUNNING])


def complete(db: Database, job: dict, translation: dict, *, hold: bool = False) -> bool:
    """Store the job's translation and mark it done, atomically, if the lease is still ours.

    With ``hold`` the machine translation is stored as "held": kept from readers until an editor
    approves it. A human translation is never overwritten: the machine result is kept beside it as a
    suggestion. Returns False (and writes nothing) when the lease was lost to another worker.
    """
    now = clock.stamp()  # to the microsecond: a batch's translations never share a feed ``updated``
    with write(db):
        if not holds_lease(db, job):
            return False
        current = translation_row(db, job["release_id"], job["lang"])
        translation = {"checks": None, "flags": 0, **translation, "title": one_line(translation["title"]),
                       "body": clean(translation["body"]), "status": Status.HELD if hold else Status.MACHINE,
                       **{key: one_line(translation.get(key)) for key in ONE_LINE}}
        if current is not None and current["origin"] == Origin.HUMAN:
            translations.store_suggestion(db, job["release_id"], job["lang"], current, translation,
                                          job["source_revision"])
        else:
            translations.store_machine(db, job["release_id"], job["lang"], translation, job["source_revision"], now)
        db.table("jobs").update(job["id"], {"status": Job.DONE, "error": None, "updated_at": now})
    return True


def _finish(db: Database, job: dict, job_status: str, error: str, translation_status: str) -> None:
    """End a job with a status and make a machine translation row tell the same story."""
    db.table("jobs").update(job["id"], {"status": job_status, "error": error, "updated_at": clock.utcnow()})
    translations.set_status(db, job["release_id"], job["lang"], translation_status, error=error, machine_only=True)


def fail(db: Database, job: dict, error: str, *, max_attempts: int = MAX_ATTEMPTS,
         backoff_seconds: int = BACKOFF_SECONDS) -> JobOutcome:
    """Record a failed attempt: retry later with exponential backoff, or give up as ``failed``."""
    with write(db):
        if not holds_lease(db, job):
            return JobOutcome.LOST
        if job["attempts"] >= max_attempts:
            _finish(db, job, Job.FAILED, error, Status.FAILED)
            return JobOutcome.FAILED
        delay = clock.backoff(backoff_seconds, job["attempts"] - 1)
        db.table("jobs").update(job["id"], {
            "status": Job.QUEUED, "error": error, "lease_token": None,
            "run_after": clock.after(delay), "updated_at": clock.utcnow(),
        })
        translations.set_status(db, job["release_id"], job["lang"], Status.PENDING, error=error, machine_only=True)
        return JobOutcome.RETRY


def release(db: Database, claimed: list[dict]) -> int:
    """Give back leased jobs a worker cannot finish (its database was locked mid-batch): due again now.

    Only jobs whose lease is still ours are touched (a finished job is done, a re-claimed one is another
    worker's). The attempt is not counted: the job did not fail, the database was busy. Returns how many.
    """
    now, released = clock.utcnow(), 0
    with write(db):
        for job in claimed:
            if holds_lease(db, job):
                db.execute("update jobs set status = :queued, lease_token = null, run_after = :now, "
                           "attempts = max(attempts - 1, 0), updated_at = :now where id = :id",
                           STATES | {"now": now, "id": job["id"]})
                translations.set_status(db, job["release_id"], job["lang"], Status.PENDING, error=None,
                                        machine_only=True)
                released += 1
    return released


def no_model(db: Database, job: dict, message: str) -> None:
    """Park a job whose language has no route; installing a model re-queues it."""
    with write(db):
        if holds_lease(db, job):
            _finish(db, job, Job.NO_MODEL, message, Status.NO_MODEL)


def requeue_no_model(db: Database) -> int:
    """Put every job parked for lack of a model back in the queue; returns how many."""
    now = clock.utcnow()
    with write(db):
        cursor = db.execute(
            "update jobs set status = :queued, attempts = 0, run_after = :now, error = null, updated_at = :now "
            "where status = :job_no_model", STATES | {"now": now},
        )
        translations.reset_no_model(db)
    return cursor.rowcount


def counts(db: Database, statuses: tuple[str, ...] = tuple(Job)) -> dict[str, int]:
    """How many jobs are in each of ``statuses`` (through the status index: finished jobs of a large archive
    are not counted when only the open ones are asked for)."""
    query = f"select status, count(*) n from jobs where status in {sql_list(statuses)} group by status"
    return {row["status"]: row["n"] for row in db.query(query)}


def pending_count(db: Database) -> int:
    """Jobs still to be done (queued or running)."""
    return db.table("jobs").count_where("status in (:queued, :running)", STATES)


def complete_superseded(db: Database, job: dict) -> None:
    """Close a job whose source revision is no longer current (a newer job exists)."""
    with write(db):
        if holds_lease(db, job):
            db.table("jobs").update(job["id"], {"status": Job.SUPERSEDED, "updated_at": clock.utcnow()})


def requeue_machine(db: Database, lang: str | None, progress=None, *, model: str | None = None) -> int:
    """Re-queue the machine translations of a language, or those a package made (after a model upgrade);
    human ones stay, and a job finishing on a human text only offers a suggestion."""
    rows = translations.machine_translated(db, lang, model)
    for release in rows:
        with write(db):
            enqueue_release(db, release, [release.pop("target")])
        if progress:
            progress(release)
    return len(rows)

