"""The one owner of the ``translations`` table: every read and write of a translation row goes through here.

A row is a release's slot in one target language. The queue (jobs) makes slots and moves their status, the
worker stores machine texts and suggestions through the queue, and the editors store human texts: all with
these functions, so what a new text clears is written down once (``CLEARED``).
"""

import json

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from feedsvc import revisions
from feedsvc.migrations import SHOWN_TEXTS
from feedsvc.migrations import WAITING
from feedsvc.states import Origin
from feedsvc.states import ReleaseStatus
from feedsvc.states import TranslationStatus as Status

# The one-line translated fields stored beside the title and body (the pipeline translates them, the worker
# typesets them, releases counts them as translated text: all through this one list).
ONE_LINE = ("category", "photo_caption", "photo_credit", "withdrawal_reason", "correction_note")
# What every new text of a translation clears: the last error and the machine suggestion kept beside it.
CLEARED = {"error": None, "suggestion_title": None, "suggestion_body": None, "suggestion_route": None,
           "suggestion_revision": None}


def translation_row(db: Database, release_id: int, lang: str) -> dict | None:
    """The translation row of a release in a language, if any."""
    try:
        return db.table("translations").get((release_id, lang))
    except NotFoundError:
        return None


def of_release(db: Database, release_id: int) -> dict[str, dict]:
    """Each language's translation row of a release, by language code."""
    rows = db.query("select * from translations where release_id = ?", [release_id])
    return {row["lang"]: row for row in rows}


def of_releases(db: Database, release_ids: list[int], lang: str) -> dict[int, dict]:
    """The ``lang`` translation rows of many releases (one query), by release id."""
    return {release_id: by_lang[lang] for release_id, by_lang in every_language(db, release_ids, lang).items()
            if lang in by_lang}


def every_language(db: Database, release_ids: list[int], lang: str | None = None) -> dict[int, dict[str, dict]]:
    """Each language's translation rows of many releases (one query; only ``lang``'s if given), by release id."""
    found: dict[int, dict[str, dict]] = {release_id: {} for release_id in release_ids}
    if not release_ids:
        return found
    marks = ",".join("?" * len(release_ids))
    query = f"select * from translations where (? is null or lang = ?) and release_id in ({marks})"
    for row in db.query(query, [lang, lang, *release_ids]):
        found[row["release_id"]][row["lang"]] = row
    return found


def create_slot(db: Database, release_id: int, lang: str, now: str) -> None:
    """Make a release's empty translation row in ``lang`` (pending until the queue fills it)."""
    db.table("translations").insert({"release_id": release_id, "lang": lang, "updated_at": now})


def set_status(db: Database, release_id: int, lang: str, status: str, *, error: str | None,
               machine_only: bool = False) -> None:
    """Set a translation's status and error; with ``machine_only`` a translation that has current text
    (human, or a finished machine one being redone) keeps its status, so readers keep seeing it.

    Status changes leave ``updated_at`` alone: feeds date an item by its text, not its queue state.
    """
    keep = "case when origin = :human or status = :machine then status else :status end" if machine_only else ":status"
    db.execute(f"update translations set status = {keep}, error = :error where release_id = :id and lang = :lang",
               {"human": Origin.HUMAN, "machine": Status.MACHINE, "status": status, "error": error,
                "id": release_id, "lang": lang})


def reset_no_model(db: Database) -> None:
    """Every translation parked for lack of a model goes back to pending (its job is queued again)."""
    db.execute("update translations set status = :pending, error = null where status = :no_model",
               {"pending": Status.PENDING, "no_model": Status.NO_MODEL})


def _store_text(db: Database, release_id: int, lang: str, fields: dict, now: str) -> None:
    """Write a new text of a translation: its fields, a new version, ``CLEARED`` cleared, dated ``now``."""
    values = fields | CLEARED | {"updated_at": now}
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    db.execute(f"update translations set {assignments}, version = version + 1 "
               "where release_id = :key_release and lang = :key_lang",
               values | {"key_release": release_id, "key_lang": lang})


def store_machine(db: Database, release_id: int, lang: str, translation: dict, source_revision: int,
                  now: str) -> None:
    """Write a machine translation, bump its version, and keep it in the revision history."""
    fields = {key: translation[key] for key in ("title", "body", *ONE_LINE, "route", "status", "checks", "flags")}
    _store_text(db, release_id, lang, fields | {"origin": Origin.MACHINE, "source_revision": source_revision}, now)
    revisions.record(db, release_id, lang, title=translation["title"], body=translation["body"],
                     origin=Origin.MACHINE, author=translation["route"], source_revision=source_revision,
                     created_at=now, photo=translation)


def store_human(db: Database, release_id: int, lang: str, fields: dict, *, source_revision: int, author: str,
                status: str, now: str) -> None:
    """Write an editor's translation (title, body, category and photo texts in ``fields``), history kept."""
    _store_text(db, release_id, lang, fields | {
        "origin": Origin.HUMAN, "status": status, "source_revision": source_revision, "reviewed_by": author,
        "reviewed_at": now}, now)
    revisions.record(db, release_id, lang, title=fields["title"], body=fields["body"], origin=Origin.HUMAN,
                     author=author, source_revision=source_revision, created_at=now, photo=fields)


def store_suggestion(db: Database, release_id: int, lang: str, current: dict, translation: dict,
                     source_revision: int) -> None:
    """Keep a machine result beside a human translation (none when it says the same).

    A human translation made before photo captions were translated has none: it gets the machine's,
    which beats showing the Russian one (an editor can change it on the review screen).
    """
    if not (current["photo_caption"] or current["photo_credit"]):
        db.execute("update translations set photo_caption = :photo_caption, photo_credit = :photo_credit "
                   "where release_id = :id and lang = :lang",
                   {**translation, "id": release_id, "lang": lang})
    if not current["withdrawal_reason"] and passed(translation, "withdrawal_reason"):  # else readers get the Russian
        db.execute("update translations set withdrawal_reason = ? where release_id = ? and lang = ?",
                   [translation["withdrawal_reason"], release_id, lang])
    note_open = suggest_note(db, release_id, lang, current, translation)
    same = (translation["title"], translation["body"]) == (current["title"], current["body"])
    status = Status.REVIEWED if current["source_revision"] == source_revision else Status.OUTDATED
    if current["status"] == Status.HELD or note_open:  # an editor's text with sentences still open stays held
        status = Status.HELD
    # A new suggestion is a new version: an "Accept" pressed on the previous one is refused, not applied to this.
    db.execute(
        """update translations set status = :status, error = null, suggestion_title = :title,
        suggestion_body = :body, suggestion_route = :route, suggestion_revision = :rev, version = version + :bump
        where release_id = :id and lang = :lang""",
        {"status": status, "bump": 0 if same else 1, "title": None if same else translation["title"],
         "body": None if same else translation["body"], "route": None if same else translation["route"],
         "rev": None if same else source_revision, "id": release_id, "lang": lang},
    )


def passed(translation: dict, part: str) -> bool:
    """Whether a machine translation has the text ``part`` and every check of its sentences passed."""
    record = json.loads(translation.get("checks") or "[]")
    mine = [sentence for sentence in record if sentence.get("part") == part]
    return bool(translation.get(part)) and bool(mine) and not any(sentence.get("findings") for sentence in mine)


def suggest_note(db: Database, release_id: int, lang: str, current: dict, translation: dict) -> bool:
    """Give a human translation without a translated correction note the machine's; returns whether it waits
    for an editor.

    A note every check passed is the translation's at once (published with it). A flagged one is stored with its
    sentences' record, open, so the translation is held in the review queue (readers keep the published copy,
    with the Russian note) until an editor fixes or approves it: the editor wrote the rest, not the note.
    """
    note = translation.get("correction_note")
    if current["correction_note"] or not note:
        return False
    changes: dict = {"correction_note": note}
    flagged = not passed(translation, "correction_note")
    if flagged:
        record = [entry for entry in json.loads(current["checks"] or "[]") if entry.get("part") != "correction_note"]
        mine = [entry for entry in json.loads(translation["checks"] or "[]") if entry.get("part") == "correction_note"]
        changes |= {"checks": json.dumps(record + mine, ensure_ascii=False),
                    "flags": (current["flags"] or 0) + sum(1 for entry in mine if entry.get("findings")),
                    "status": Status.HELD}  # in the same write: the publish trigger must not copy the note
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    db.execute(f"update translations set {assignments} where release_id = :id and lang = :lang",
               changes | {"id": release_id, "lang": lang})
    return flagged


def clear_translated(db: Database, release_id: int, name: str) -> None:
    """Forget a release's translations of the one-line text ``name`` (a withdrawal reason or a correction note
    the original changed): a page never shows a text translated from another one."""
    db.execute(f"update translations set {name} = null, published_{name} = null where release_id = ?", [release_id])


def machine_translated(db: Database, lang: str | None, model: str | None = None) -> list[dict]:
    """Published releases whose translation into ``lang`` (None: any language, each row's ``target``) is the
    machine's (never a human one); with ``model`` ("name@version"), only those holding a sentence it made,
    alone or as a step of a pivot."""
    return list(db.query(
        """select r.*, t.lang as target from releases r join translations t on t.release_id = r.id
        where r.status = :published and coalesce(t.origin, :machine_origin) != :human
        and (:lang is null or t.lang = :lang)
        and (:model is null or exists (
            select 1 from json_each(case when json_valid(t.checks) then t.checks else '[]' end) s
            where instr(' → ' || json_extract(s.value, '$.model') || ' → ', ' → ' || :model || ' → ')))
        order by r.id, t.lang""",
        {"lang": lang, "model": model, "published": ReleaseStatus.PUBLISHED, "machine_origin": Origin.MACHINE,
         "human": Origin.HUMAN}))


def status_counts(db: Database) -> dict[str, dict[str, int]]:
    """Per language: how many published releases' translations are in each status (machine, held, reviewed…)."""
    counts: dict[str, dict[str, int]] = {}
    query = """select t.lang, t.status s, count(*) n from translations t join releases r on r.id = t.release_id
        where r.status = :published group by t.lang, s"""
    for row in db.query(query, {"published": ReleaseStatus.PUBLISHED}):
        counts.setdefault(row["lang"], {})[row["s"]] = row["n"]
    return counts


def held(db: Database, lang: str | None = None) -> list[dict]:
    """Machine translations held for review (by the publishing policy), oldest release first."""
    return list(db.query(
        """select r.id, r.title, t.lang, t.origin, t.flags, t.checks, t.route, t.updated_at from translations t
        join releases r on r.id = t.release_id where t.status = :held and r.status = :published
        and (:lang is null or t.lang = :lang) order by r.published_at, r.id, t.lang""",
        {"lang": lang, "held": Status.HELD, "published": ReleaseStatus.PUBLISHED}))


def reviewed(db: Database, lang: str) -> list[dict]:
    """The editors' reviewed translations into ``lang`` with their originals (source_title, source_body)."""
    return list(db.query(
        """select r.title as source_title, r.body as source_body, t.title, t.body from translations t
        join releases r on r.id = t.release_id
        where t.lang = ? and t.origin = ? and t.status = ? order by r.id""", [lang, Origin.HUMAN, Status.REVIEWED]))



# Translations that wait for an editor (migrations.WAITING says which), in one language or all.
WAITING_ROWS = f"""from translations t join releases r on r.id = t.release_id
    where (:lang is null or t.lang = :lang) and {WAITING.format(t='t', r='r')}"""


def waiting(db: Database, lang: str | None = None) -> list[dict]:
    """The review queue's translation rows (with ``release_title``), oldest text first."""
    return list(db.query(f"select t.*, r.title as release_title {WAITING_ROWS} order by t.updated_at, r.id, t.lang",
                         {"lang": lang}))


def waiting_count(db: Database) -> int:
    """How many translations wait for an editor (kept by migration m032's triggers)."""
    return int(db.execute("select waiting from site_state where id = 1").fetchone()[0])


def take_down(db: Database, release_id: int, lang: str, *, author: str, now: str) -> None:
    """Clear a translation's published copy (readers see the original until a new text is published); a text
    that was the published one is held, so it is not published again by its next write."""
    cleared = ", ".join(f"published_{name} = null" for name in SHOWN_TEXTS)
    published = ", ".join(f"'{status}'" for status in (Status.MACHINE, Status.REVIEWED, Status.OUTDATED))
    db.execute(f"""update translations set {cleared}, published_revision = null, published_updated = :now,
        status = case when status in ({published}) then :held else status end, reviewed_by = :author,
        reviewed_at = :now where release_id = :id and lang = :lang""",
               {"now": now, "held": Status.HELD, "author": author, "id": release_id, "lang": lang})
