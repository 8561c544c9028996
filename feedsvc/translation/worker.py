"""The translation worker: claim jobs, translate them along their language's route, store each exactly once."""

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from functools import partial

from sqlite_utils import Database

from feedsvc import clock
from feedsvc import jobs
from feedsvc import textrequests
from feedsvc.modelstore import packages
from feedsvc.settings import Policy
from feedsvc.settings import WorkerSettings
from feedsvc.states import JobOutcome
from feedsvc.translation import glossary
from feedsvc.translation import pipeline
from feedsvc.translation import texts

log = logging.getLogger("feedsvc.worker")


@dataclass(frozen=True)
class Hooks:
    """Points where a caller (a test) steps into a worker's run; each does nothing unless given."""

    # Called with a batch's jobs once they are translated, before anything is stored: a kill test's window.
    before_store: Callable[[list[dict]], None] = lambda jobs: None


@dataclass
class WorkerState:
    """What one running worker remembers between batches (its settings never change while it runs)."""

    # Damaged package folders already logged, by name, error and state: logged again only when they change.
    reported: set = field(default_factory=set)


NO_HOOKS = Hooks()


def claim_batch(db: Database, settings: WorkerSettings, limit: int | None = None,
                held: list[dict] | None = None) -> list[dict]:
    """Claim the next due job, then more due jobs of its language while the batch has room.

    Releases translated together share one model call per route step, which keeps every core
    busy; the sentence budget keeps a batch well inside its lease. Each claimed job is also appended
    to ``held`` at once, so a database error halfway through still knows which leases to give back.
    """
    held = [] if held is None else held
    claim = partial(jobs.claim, db, lease_seconds=settings.lease_seconds, max_attempts=settings.max_attempts)
    first = claim()
    if first is None:
        return []
    held.append(first)
    batch, sentences = [first], _sentences(db, first)
    while sentences < settings.batch_sentences and (limit is None or len(batch) < limit):
        job = claim(lang=first["lang"])
        if job is None:
            break
        held.append(job)
        batch.append(job)
        sentences += _sentences(db, job)
    return batch


def _sentences(db: Database, job: dict) -> int:
    """How many sentences the job's release has (its title counts as one)."""
    release = db.table("releases").get(job["release_id"])
    return sum(len(paragraph) for paragraph in pipeline.units(release["title"], release["body"]))


def process_batch(db: Database, batch: list[dict], translate: pipeline.TranslateFn, settings: WorkerSettings, *,
                  state: WorkerState | None = None, hooks: Hooks = NO_HOOKS) -> list[JobOutcome]:
    """Do claimed jobs of one language; returns what happened to each (done, superseded, no-model, retry…)."""
    installed = usable_packages(settings, WorkerState() if state is None else state)
    route = packages.find_route(installed, settings.source_lang, batch[0]["lang"])
    checked = [_check(db, job, route, settings) for job in batch]
    ready = [(job, release) for job, (release, _) in zip(batch, checked, strict=True) if release is not None]
    stored = iter(_translate(db, ready, route, translate, settings, hooks) if ready else [])
    return [result or next(stored) for _, result in checked]


def usable_packages(settings: WorkerSettings, state: WorkerState) -> list[packages.PackageInfo]:
    """The installed packages; a damaged folder is skipped and logged once per change, not at every batch."""
    installed, broken = packages.scan_packages(settings.models_dir)
    for problem in broken:
        if (problem.name, problem.error, problem.state) not in state.reported:
            state.reported.add((problem.name, problem.error, problem.state))
            log.error("package folder skipped: %s (repair it, or: feedsvc models remove %s)", problem.error,
                      problem.name)
    return installed


def _check(db: Database, job: dict, route, settings: WorkerSettings) -> tuple[dict | None, JobOutcome | None]:
    """The job's release when it is still to be translated, else what became of the job instead."""
    release = db.table("releases").get(job["release_id"])
    if release["revision"] != job["source_revision"]:
        # A newer revision has its own job; this one's text is out of date.
        jobs.complete_superseded(db, job)
        return None, JobOutcome.SUPERSEDED
    if route is None:
        jobs.no_model(db, job, f"No model for {settings.source_lang}→{job['lang']}. Fix: "
                      + packages.fix_command(settings.source_lang, job["lang"]))
        return None, JobOutcome.NO_MODEL
    return release, None


def _translate(db: Database, ready: list[tuple[dict, dict]], route, translate: pipeline.TranslateFn,
               settings: WorkerSettings, hooks: Hooks) -> list[JobOutcome]:
    """Translate the ready jobs' releases together and store each; a failed batch is retried job by job."""
    lang = ready[0][0]["lang"]

    def translate_renewing(step, sentences: list[str], **options) -> list:
        """The model call, after extending the batch's leases: a slow model must not lose its jobs."""
        jobs.renew(db, [job for job, _ in ready], settings.lease_seconds)
        return translate(step, sentences, **options)

    hypotheses = settings.hypotheses if pipeline.accepts_hypotheses(translate) else 0
    try:
        outcomes = pipeline.translate_releases(db, [release for _, release in ready], lang, route,
                                               glossary.load_terms(db), translate_renewing, hypotheses=hypotheses,
                                               rules=settings.typography, zone=settings.timezone)
    except Exception as exc:  # any model or data failure: retry with backoff, then visible to admins
        if len(ready) > 1:
            # One bad release must not hold back the others: find it by translating them alone.
            log.warning("a batch of %s %s jobs failed (%s); translating them one by one", len(ready), lang, exc)
            return [result for pair in ready for result in _translate(db, [pair], route, translate, settings, hooks)]
        log.exception("job %s failed", ready[0][0]["id"])
        return [jobs.fail(db, ready[0][0], f"{type(exc).__name__}: {exc}", max_attempts=settings.max_attempts,
                          backoff_seconds=settings.backoff_seconds)]
    hooks.before_store([job for job, _ in ready])
    log.info("%s %s job(s): %s sentences, %s sent to the model", len(ready), lang,
             sum(outcome.sentences for outcome in outcomes), outcomes[0].sent_to_model)
    policy = Policy.of(settings.publish_policy, lang)
    return [_store(db, job, outcome, policy) for (job, _), outcome in zip(ready, outcomes, strict=True)]


def _store(db: Database, job: dict, outcome: pipeline.Outcome, policy: Policy) -> JobOutcome:
    """Store one job's translation with its checks, held for review where the policy says so.

    The pipeline has set the text in the language's typography, after the checks (which compare the
    model's own output with the source), sentence by sentence, so each sentence's record holds what
    readers see. Returns DONE, HELD (waits for an editor) or LOST (another worker re-claimed the job).
    """
    hold = policy.holds(outcome.flagged)
    texts = {key: getattr(outcome, key) for key in TYPESET}
    stored = jobs.complete(db, job, {
        **texts, "route": outcome.route,
        "checks": json.dumps([check.as_json() for check in outcome.checks], ensure_ascii=False),
        "flags": outcome.flagged}, hold=hold)
    if stored and outcome.retried:
        log.info("release %s → %s: a retry saved %s sentence(s)", job["release_id"], job["lang"], outcome.retried)
    if stored and outcome.flagged:
        log.info("release %s → %s: %s sentence(s) flagged (%s)", job["release_id"], job["lang"], outcome.flagged,
                 "; ".join(f.reason for check in outcome.checks for f in check.findings)[:300])
    return (JobOutcome.HELD if hold else JobOutcome.DONE) if stored else JobOutcome.LOST


# The translated fields stored, typeset by the pipeline (all the text a reader sees).
TYPESET = ("title", "body", *jobs.ONE_LINE)


def run(db: Database, translate: pipeline.TranslateFn, settings: WorkerSettings, *, once: bool,
        max_jobs: int | None = None, on_job=None, hooks: Hooks = NO_HOOKS, state: WorkerState | None = None) -> int:
    """Work through the queue; with ``once``, stop when nothing is due. Returns jobs handled.

    A locked, full or read-only database must not end the worker, nor leave the rest of its batch leased
    and idle for the whole lease: the jobs it still holds are given back as soon as the database lets it
    write (give_back), and another worker (or this one) takes them at once. ``hooks`` are a test's; ``state``
    (what the worker has logged) is its own unless a caller keeps one across runs.
    """
    handled, trouble, state = 0, 0, WorkerState() if state is None else state
    owed: list[dict] = []  # leases of failed batches not given back yet (the database was still busy)
    while max_jobs is None or handled < max_jobs:
        claimed: list[dict] = []
        try:
            owed = give_back(db, owed)
            serve_texts(db, translate, settings, state)
            batch = claim_batch(db, settings, None if max_jobs is None else max_jobs - handled, claimed)
            results = process_batch(db, batch, translate, settings, state=state, hooks=hooks) if batch else []
        except (sqlite3.OperationalError, OSError) as exc:
            owed = give_back(db, owed + claimed)
            if once:
                raise
            trouble += 1
            delay = clock.backoff(settings.poll_seconds, trouble, cap=60)
            log.warning("database trouble (%s); trying again in %.0f s", exc, delay)
            time.sleep(delay)
            continue
        trouble = 0
        if not batch:
            if once:
                break
            idle(db, settings)
            continue
        for job, result in zip(batch, results, strict=True):
            handled += 1
            if on_job:
                on_job(job, result)
    return handled


# Texts answered per round at most, so a busy translation endpoint cannot hold back releases.
TEXT_REQUESTS_PER_ROUND = 8
# How often an idle worker looks for a text request: someone waits for the answer.
TEXT_POLL_SECONDS = 0.1


def serve_texts(db: Database, translate: pipeline.TranslateFn, settings: WorkerSettings,
                state: WorkerState | None = None) -> int:
    """Answer the texts the web process waits for (the LibreTranslate-compatible endpoint), before release jobs:
    a person waits for them, while a release's translation is read later. Returns how many were answered."""
    served = 0
    while served < TEXT_REQUESTS_PER_ROUND and (request := textrequests.claim(db)) is not None:
        served += 1
        try:
            results = texts.translate_items(db, request["items"], request["target"], request["format"],
                                            usable_packages(settings, state or WorkerState()), translate,
                                            settings)
        except texts.NoRoute as exc:
            textrequests.fail(db, request["id"], str(exc))
        except (sqlite3.OperationalError, OSError):
            raise  # the run loop's database trouble: the web request times out and says so
        except Exception as exc:  # any model failure: the one waiting gets the reason, the worker goes on
            log.exception("text request %s failed", request["id"])
            textrequests.fail(db, request["id"], f"{type(exc).__name__}: {exc}")
        else:
            textrequests.answer(db, request["id"], results)
    return served


def idle(db: Database, settings: WorkerSettings) -> None:
    """Wait a poll before looking for jobs again, but no longer than it takes a text request to arrive."""
    deadline = time.monotonic() + settings.poll_seconds
    try:
        while time.monotonic() < deadline and not textrequests.waiting(db):
            time.sleep(min(TEXT_POLL_SECONDS, settings.poll_seconds))
    except (sqlite3.OperationalError, OSError):  # the next round reports database trouble
        time.sleep(max(0.0, deadline - time.monotonic()))


def give_back(db: Database, held: list[dict]) -> list[dict]:
    """Release the leases of jobs a failed batch still holds; returns those still to release (database busy)."""
    if not held:
        return []
    try:
        released = jobs.release(db, held)
    except (sqlite3.OperationalError, OSError) as exc:
        log.warning("could not give back %s leased job(s) yet (%s)", len(held), exc)
        return held
    if released:
        log.info("gave back %s leased job(s) after database trouble", released)
    return []
