"""The translation worker: claim a job, translate along the language's route, store exactly once."""

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from feedsvc.translation import glossary
from feedsvc.translation import jobs
from feedsvc.translation import packages
from feedsvc.translation import pipeline

log = logging.getLogger("feedsvc.worker")


@dataclass
class WorkerSettings:
    """How the worker behaves; filled from the app config by the CLI."""

    models_dir: Path
    source_lang: str = "ru"
    lease_seconds: int = 300
    max_attempts: int = 5
    backoff_seconds: int = 30
    poll_seconds: float = 2.0
    # Test hook: seconds to wait between translating and storing, so a test can kill us mid-job.
    pause_before_store: float = 0.0


def process(db: Database, job: dict, translate: pipeline.TranslateFn, settings: WorkerSettings) -> str:
    """Do one claimed job; returns what happened (done, superseded, no-model, retry, failed, lost)."""
    release = db.table("releases").get(job["release_id"])
    if release["revision"] != job["source_revision"]:
        # A newer revision has its own job; this one's text is out of date.
        jobs.complete_superseded(db, job)
        return "superseded"
    route = packages.find_route(packages.list_packages(settings.models_dir), settings.source_lang, job["lang"])
    if route is None:
        jobs.no_model(db, job, f"No model for {settings.source_lang}→{job['lang']}. Fix: "
                      + packages.fix_command(settings.source_lang, job["lang"]))
        return "no-model"
    try:
        outcome = pipeline.translate_release(db, release, job["lang"], route, glossary.load_terms(db), translate)
    except Exception as exc:  # any model or data failure: retry with backoff, then visible to admins
        log.exception("job %s failed", job["id"])
        return jobs.fail(db, job, f"{type(exc).__name__}: {exc}", max_attempts=settings.max_attempts,
                         backoff_seconds=settings.backoff_seconds)
    if settings.pause_before_store:
        time.sleep(settings.pause_before_store)
    stored = jobs.complete(db, job, {"title": outcome.title, "body": outcome.body, "category": outcome.category,
                                     "route": outcome.route})
    log.info("job %s (%s, release %s): %s sentences, %s sent to the model", job["id"], job["lang"],
             job["release_id"], outcome.sentences, outcome.sent_to_model)
    return "done" if stored else "lost"


def run(db: Database, translate: pipeline.TranslateFn, settings: WorkerSettings, *, once: bool,
        max_jobs: int | None = None, on_job=None) -> int:
    """Work through the queue; with ``once``, stop when nothing is due. Returns jobs handled."""
    handled = 0
    while max_jobs is None or handled < max_jobs:
        job = jobs.claim(db, lease_seconds=settings.lease_seconds, max_attempts=settings.max_attempts)
        if job is None:
            if once:
                break
            time.sleep(settings.poll_seconds)
            continue
        result = process(db, job, translate, settings)
        handled += 1
        if on_job:
            on_job(job, result)
    return handled
