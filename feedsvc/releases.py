"""The domain: create, edit, publish, withdraw and list releases. Takes a Database, imports no Flask."""

import functools
import json
import uuid
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from feedsvc import categories as category_list  # releases.categories() lists the names in use
from feedsvc import clock
from feedsvc import jobs
from feedsvc import photos
from feedsvc import revisions
from feedsvc import translations
from feedsvc.config import SOURCE_LANGUAGE
from feedsvc.errors import EditConflict
from feedsvc.errors import Gone
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound
from feedsvc.migrations import SHOWN_TEXTS
from feedsvc.migrations import SITEMAP_WINDOW
from feedsvc.migrations import SITEMAP_WINDOWS
from feedsvc.states import SCHEDULED
from feedsvc.states import SEEN
from feedsvc.states import Origin
from feedsvc.states import ReleaseStatus
from feedsvc.storage import write
from feedsvc.text import clean
from feedsvc.text import one_line
from feedsvc.text.editions import EDITIONS
from feedsvc.text.editions import Edition
from feedsvc.text.editions import base_language
from feedsvc.text.editions import edition
from feedsvc.text.latin import kazakh_latin
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.slugs import ascii_slug
from feedsvc.translations import of_release as translations_of  # noqa: F401 (releases.translations_of, as callers know it)

STATUSES = tuple(ReleaseStatus)
# The SQL condition (on translations ``t``) of a translation readers can read: one with a published copy
# (migration m020), which stays up while a newer text waits for the checks or an editor.
PUBLISHED_SQL = "coalesce(t.published_title, '') != ''"
# The SQL condition (on releases ``r``) of a release readers may see: published, and its moment come. A release
# published with a later time is scheduled: nowhere until then. ``:now`` is ``clock.stamp()`` (see moment()).
VISIBLE_SQL = f"r.status = '{ReleaseStatus.PUBLISHED}' and r.published_at <= :now"
# Scheduled releases: published, with a time still to come (their translations are made ahead).
SCHEDULED_SQL = f"r.status = '{ReleaseStatus.PUBLISHED}' and r.published_at > :now"
# The fields that are translated: changing one makes a new revision.
TRANSLATED = ("title", "body", *translations.ONE_LINE)
EDITABLE = ("title", "body", "category", "published_at", "photo_caption", "photo_credit")
PHOTO_FIELDS = ("photo", "photo_type", "photo_length", "photo_width", "photo_height", "photo_sizes")


class ReleaseNotFound(NotFound):
    """No release with that id (or none readers may see)."""

    def __init__(self, release_id: int):
        """The id asked for."""
        self.release_id = release_id
        super().__init__(f"There is no release {release_id}.")


class UnknownStatus(InvalidInput):
    """A release status that is not one of ReleaseStatus."""

    def __init__(self, status: str):
        """The status asked for."""
        self.status = status
        super().__init__(f"Unknown release status {status!r} (known: {', '.join(ReleaseStatus)}).")


class ReleaseWithdrawn(Gone):
    """The release existed but was withdrawn: its URL answers 410 Gone, naming the release, when and why."""

    def __init__(self, release: dict):
        """Keep the release row for the page that says what was withdrawn."""
        self.release_id, self.release = release["id"], release
        super().__init__(f"Release {release['id']} was withdrawn.")


def normalize_body(body: str) -> str:
    """Body text as stored: paragraphs separated by one blank line, as press staff paste it."""
    return "\n\n".join(split_paragraphs(clean(body)))


# Slugs are remembered (sitemaps slugify every title after each change, pages on every view): about the number of
# titles, in every language, of a large archive.
@functools.lru_cache(maxsize=100_000)
def slug(title: str, lang: str = SOURCE_LANGUAGE) -> str:
    """A readable Latin URL part for a title in ``lang`` (ids, not slugs, identify releases: any other
    slug redirects to the current one).

    Kazakh is written in the 2021 Kazakh Latin alphabet first (latin.py); Russian as it always was
    (text-unidecode), so no Russian URL changes; English is Latin already.
    """
    text = kazakh_latin(title) if base_language(lang) == "kk" else title
    return ascii_slug(text, "release")


def create_release(
    db: Database,
    *,
    title: str,
    body: str,
    published_at: datetime | None = None,
    category: str = "",
    photo: dict | None = None,
    photo_caption: str = "",
    photo_credit: str = "",
    publish: bool = False,
    languages: tuple[str, ...],
    author: str = "",
) -> dict:
    """Store a new release with a GUID that never changes, and a translation slot per language (the site's targets).

    Without ``published_at`` the release is dated when it is published (now, if ``publish``).
    """
    now = clock.stamp()
    row = {
        "guid": f"urn:uuid:{uuid.uuid4()}",
        "title": one_line(title),
        "body": normalize_body(body),
        "category": one_line(category),
        "published_at": clock.iso(published_at) if published_at else now,
        "date_set": published_at is not None,
        "status": ReleaseStatus.PUBLISHED if publish else ReleaseStatus.DRAFT,
        "photo_caption": one_line(photo_caption),
        "photo_credit": one_line(photo_credit),
        "revision": 1,
        "created_at": now,
        "updated_at": now,
        "text_updated_at": now,
        **(photo or {}),
    }
    with write(db):
        if row["category"]:  # (a release without one writes no category_id: tests of upgrades store them early)
            row["category_id"] = category_list.ensure(db, row["category"])
        if publish:
            row["seq"] = next_seq(db)
        release_id = int(db.table("releases").insert(row).last_pk or 0)
        for lang in languages:
            translations.create_slot(db, release_id, lang, now)
        release = get_release(db, release_id)
        record_original(db, release, author)
        if publish:
            jobs.enqueue_release(db, release, languages)
    return release


def record_original(db: Database, release: dict, author: str) -> None:
    """Keep the original's current text in the revision history."""
    revisions.record(db, release["id"], SOURCE_LANGUAGE, title=release["title"], body=release["body"],
                     origin=Origin.HUMAN, author=author, source_revision=release["revision"],
                     created_at=release["updated_at"], photo=release)


def update_release(
    db: Database, release_id: int, changes: dict, languages: tuple[str, ...], author: str = "",
    expected_version: int | None = None, correction: str = "",
) -> dict:
    """Apply edits; a changed title, body or category is a new revision and re-queues its translations.

    With ``expected_version`` (what the editor's form was opened at) a release edited meanwhile
    raises EditConflict instead of silently undoing the other edit. An edit of a release readers see is a silent
    fix (typos: its entries keep their ``updated``) unless it is a ``correction``: that note is shown to readers
    with the date, and the entries' ``updated`` moves.
    """
    release = get_release(db, release_id)
    changes = {k: v for k, v in changes.items() if k in EDITABLE or k in PHOTO_FIELDS}
    if "published_at" in changes and isinstance(changes["published_at"], datetime):
        changes["published_at"] = clock.iso(changes["published_at"])
    if "body" in changes:
        changes["body"] = normalize_body(changes["body"])
    for key in ("title", "category", "photo_caption", "photo_credit"):
        if isinstance(changes.get(key), str):
            changes[key] = one_line(changes[key])
    text_changed = any(changes.get(k, release[k]) != release[k] for k in TRANSLATED)
    correcting = bool(one_line(correction)) and is_shown(release)
    if not (text_changed or correcting) and all(changes.get(k, release[k]) == release[k] for k in changes):
        return release
    changes["updated_at"] = clock.stamp()
    if correcting:
        changes.update(corrected_at=changes["updated_at"], correction_note=one_line(correction))
    if correcting or not is_shown(release):  # readers were told nothing of a silent fix: their `updated` stays
        changes["text_updated_at"] = changes["updated_at"]
    if changes.get("published_at", release["published_at"]) != release["published_at"]:
        changes["date_set"] = True  # an editor chose this date: publishing keeps it
    changes["version"] = release["version"] + 1
    if text_changed:
        changes["revision"] = release["revision"] + 1
    with write(db):
        current = get_release(db, release_id)["version"]
        if expected_version is not None and current != expected_version:
            raise EditConflict(release_id, SOURCE_LANGUAGE, expected=expected_version, current=current)
        if "category" in changes:
            changes["category_id"] = category_list.ensure(db, changes["category"])
        db.table("releases").update(release_id, changes)
        noted = correcting and changes["correction_note"] != release["correction_note"]
        if noted:
            translations.clear_translated(db, release_id, "correction_note")
        release = get_release(db, release_id)
        if text_changed:
            record_original(db, release, author)
        if (text_changed or noted) and release["status"] == ReleaseStatus.PUBLISHED:
            # A new note is read in every language: translated (memory gives the rest back), checked, held if flagged.
            jobs.enqueue_release(db, release, languages)
    return release


def set_status(
    db: Database, release_id: int, status: str, languages: tuple[str, ...], *, reason: str = ""
) -> dict:
    """Publish, unpublish or withdraw (recording when, and the public reason); publishing queues stale translations
    into ``languages`` (the site's targets; only publishing uses them).

    Publishing a draft for the first time dates it now unless an editor set its date; its entries count as
    changed from now.
    """
    if status not in STATUSES:
        raise UnknownStatus(status)
    release = get_release(db, release_id)
    now = clock.utcnow()
    withdrawn = status == ReleaseStatus.WITHDRAWN
    changes: dict[str, str | int | None] = {
        "status": status, "updated_at": now, "withdrawn_at": now if withdrawn else None,
        "withdrawal_reason": one_line(reason) if withdrawn else None,
    }
    if status == ReleaseStatus.PUBLISHED and release["status"] == ReleaseStatus.DRAFT:
        changes["text_updated_at"] = clock.stamp()
        if not release["date_set"] and release["seq"] is None:  # first publication: dated now
            changes["published_at"] = changes["text_updated_at"]
    with write(db):
        if status == ReleaseStatus.PUBLISHED and release["seq"] is None:
            changes["seq"] = next_seq(db)
        db.table("releases").update(release_id, changes)
        if release["withdrawal_reason"] != changes["withdrawal_reason"]:
            translations.clear_translated(db, release_id, "withdrawal_reason")
        release = get_release(db, release_id)
        if status == ReleaseStatus.PUBLISHED:
            jobs.enqueue_release(db, release, languages, only_stale=True)
        if withdrawn and release["withdrawal_reason"] and release["seq"] is not None:
            # The reason is read in every language: translated (memory gives the rest back), checked, held if flagged.
            jobs.enqueue_release(db, release, languages)
    return release


def next_seq(db: Database) -> int:
    """The next number in the order of first publication (archive pages are ranges of it); call inside write()."""
    return int(db.execute("select coalesce(max(seq), 0) + 1 from releases").fetchone()[0])


def get_release(db: Database, release_id: int) -> dict:
    """One release by id, whatever its status."""
    try:
        return db.table("releases").get(release_id)
    except NotFoundError:
        raise ReleaseNotFound(release_id) from None


def get_public_release(db: Database, release_id: int) -> dict:
    """A release readers may see: drafts are not found, withdrawn ones are gone (a draft withdrawn before it
    was ever published was never public: not found, so its title and reason stay unpublished)."""
    release = get_release(db, release_id)
    if release["status"] == ReleaseStatus.WITHDRAWN and release["seq"] is not None and was_shown(release):
        raise ReleaseWithdrawn(release)
    if release["status"] != ReleaseStatus.PUBLISHED or is_scheduled(release):
        raise ReleaseNotFound(release_id)
    return release


def moment() -> str:
    """Now, as the ``:now`` the visibility conditions compare publication times with."""
    return clock.stamp()


def is_scheduled(release: dict) -> bool:
    """Whether a release is published for a moment still to come (readers see nothing of it until then)."""
    return release["status"] == ReleaseStatus.PUBLISHED and release["published_at"] > moment()


def is_shown(release: dict) -> bool:
    """Whether readers see the release now (published, its moment come): only its edits can be corrections."""
    return release["status"] == ReleaseStatus.PUBLISHED and not is_scheduled(release)


def shown_status(release: dict) -> str:
    """The status staff see: a release's own, or ``scheduled`` for one published for a time still to come."""
    return SCHEDULED if is_scheduled(release) else release["status"]


def was_shown(release: dict) -> bool:
    """Whether a withdrawn release had reached its publication time (a scheduled one withdrawn was never public)."""
    # To the second: withdrawn_at counts whole seconds, published_at may carry microseconds.
    return release["published_at"][:19] <= (release["withdrawn_at"] or moment())[:19]


@dataclass(frozen=True)
class Provenance:
    """Who stands behind a published translation: how many of its sentences an editor saw, of how many."""

    reviewed: int
    total: int
    human: bool  # an editor published it (a text without a per-sentence record is all theirs)

    @property
    def complete(self) -> bool:
        """Whether an editor saw every sentence: only then is it "reviewed by the press service"."""
        return self.reviewed == self.total if self.total else self.human

    def as_json(self) -> dict:
        """The form media read in the JSON Feed's ``_feedsvc`` object."""
        return {"reviewed": self.complete, "sentences_reviewed": self.reviewed if self.total else None,
                "sentences": self.total or None}


def sentence_record(copy: dict) -> list[dict]:
    """The per-sentence record of a translation (a row or its published copy): [] when it has none, or when it is
    an editor's translation from before sentences carried their provenance (the whole text is then theirs)."""
    record = json.loads(copy.get("checks") or "[]")
    if copy.get("origin") == Origin.HUMAN and not any("origin" in sentence for sentence in record):
        return []
    return record


def provenance(copy: dict) -> Provenance:
    """The provenance of a translation (a row, or its published copy) from its per-sentence record."""
    record = sentence_record(copy)
    seen = sum(1 for sentence in record if sentence.get("origin") in SEEN)
    return Provenance(reviewed=seen, total=len(record), human=copy.get("origin") == Origin.HUMAN)


def published_copy(translation: dict | None) -> dict | None:
    """The last published copy of a translation, shaped like a translation row (None if never published)."""
    if not translation or not translation.get("published_title"):
        return None
    return {name: translation.get(f"published_{name}") for name in SHOWN_TEXTS} | {
        "updated_at": translation["published_updated"], "source_revision": translation["published_revision"]}


@dataclass(frozen=True)
class LocalizedRelease:
    """A release as a reader of one language sees it: what pages, feeds and search results are made of.

    ``is_original`` tells templates and feeds to add the "not yet translated" notice; ``category_lang``
    and ``photo_lang`` are the languages the category and the photo's texts are shown in (the original's
    when they have no translation). ``slug`` is this language's; ``source_slug`` the original's.
    """

    id: int
    guid: str
    lang: str
    title: str
    body: str
    paragraphs: list[str]
    category: str
    category_lang: str
    slug: str
    published_at: str
    text_updated_at: str
    is_original: bool
    is_machine: bool
    is_outdated: bool
    photo: str | None
    photo_type: str | None
    photo_length: int | None
    photo_width: int | None
    photo_height: int | None
    photo_caption: str
    photo_credit: str
    photo_alt: str
    photo_lang: str
    source_slug: str
    translation: dict | None
    photo_sizes: tuple[dict, ...] = ()
    source_lang: str = SOURCE_LANGUAGE
    provenance: Provenance | None = None
    # When the original's text last changed (an outdated translation's notice says so).
    original_updated_at: str = ""
    # The last correction readers are told of (when, and the editor's note in ``correction_lang``), if any.
    corrected_at: str = ""
    correction_note: str = ""
    correction_lang: str = SOURCE_LANGUAGE
    # The managed category's URL slug (its page and feeds), "" for a release without one.
    category_slug: str = ""

    @property
    def entry_id(self) -> str:
        """This language's feed entry id (the GUID itself for the original; see entry_id())."""
        return entry_id(self.guid, self.lang)


def entry_id(guid: str, lang: str) -> str:
    """The id of a release's entry in ``lang``'s feeds: a translation is another entry (RFC 4287 §4.2.6).

    The original keeps the release's GUID exactly (its subscribers see nothing new); each translation gets a
    name-based UUID (RFC 4122 v5) of that GUID and its language: the same every time, never stored.
    """
    if lang == SOURCE_LANGUAGE:
        return guid
    if guid.startswith("urn:uuid:"):
        return f"urn:uuid:{uuid.uuid5(uuid.UUID(guid.removeprefix('urn:uuid:')), lang)}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{guid}#{lang}')}"


def localized(release: dict, translation: dict | None, lang: str,
              category: category_list.Category | None = None) -> LocalizedRelease:
    """The release as a reader of ``lang`` sees it: the translation's published copy if it has one, else the
    original; ``category`` (the release's, see category_of) names it in ``lang`` if it has that name. An edition
    (kk-latn) is given its base language's translation and shows it in its own script."""
    if found := edition(lang):
        return in_edition(localized(release, translation, found.base, category), found)
    shown = published_copy(translation) if lang != SOURCE_LANGUAGE else None
    text = shown or release
    translated = (shown or {}).get("category") if release["category"] else None
    category_name, category_lang = category_list.shown_name(category, lang, translated or release["category"],
                                                         lang if translated else SOURCE_LANGUAGE)
    photo = _photo_texts(release, shown, lang)
    return LocalizedRelease(
        id=release["id"], guid=release["guid"], lang=lang, title=text["title"], body=text["body"],
        paragraphs=split_paragraphs(text["body"]), category=category_name, category_lang=category_lang,
        category_slug=category.slug if category else "", source_slug=slug(release["title"]),
        slug=slug(text["title"], lang if shown else SOURCE_LANGUAGE), **photo,
        published_at=release["published_at"],
        text_updated_at=text_updated(release, shown),
        is_original=lang != SOURCE_LANGUAGE and shown is None,
        is_machine=shown is not None and not provenance(shown).complete,
        is_outdated=shown is not None and shown["source_revision"] != release["revision"],
        provenance=provenance(shown) if shown else None, original_updated_at=release["text_updated_at"],
        photo=release["photo"], photo_type=release["photo_type"], photo_length=release["photo_length"],
        photo_width=release["photo_width"], photo_height=release["photo_height"], translation=translation,
        photo_sizes=tuple(photos.sizes_of(release.get("photo_sizes"))),
        corrected_at=release.get("corrected_at") or "", **_correction(release, translation, lang),
    )


def in_edition(view: LocalizedRelease, found: Edition) -> LocalizedRelease:
    """A view in an edition's base language written in the edition's script: the translation's texts, never the
    original's a pending translation shows (Russian stays Russian); its own language, hence its own entry id."""
    def own(text: str, lang: str) -> str:
        """A text of the view in the edition's script if it is the base language's."""
        return found.write(text) if lang == found.base else text

    def code(lang: str) -> str:
        """A text's language: the edition's where the text was the base language's."""
        return found.code if lang == found.base else lang

    text_lang = view.source_lang if view.is_original else found.base
    return replace(view, lang=found.code, title=own(view.title, text_lang), body=own(view.body, text_lang),
                   paragraphs=[own(paragraph, text_lang) for paragraph in view.paragraphs],
                   category=own(view.category, view.category_lang), category_lang=code(view.category_lang),
                   photo_caption=own(view.photo_caption, view.photo_lang),
                   photo_credit=own(view.photo_credit, view.photo_lang),
                   photo_alt=own(view.photo_alt, view.photo_lang), photo_lang=code(view.photo_lang),
                   correction_note=own(view.correction_note, view.correction_lang),
                   correction_lang=code(view.correction_lang))


def _correction(release: dict, translation: dict | None, lang: str) -> dict:
    """The correction's note as a reader of ``lang`` reads it, and its language (LocalizedRelease's fields)."""
    note, note_lang = reader_line(release, translation, lang, "correction_note")
    return {"correction_note": note, "correction_lang": note_lang}


def withdrawal_reason(release: dict, translation: dict | None, lang: str) -> tuple[str, str]:
    """The public reason of a withdrawn release as a reader of ``lang`` reads it, and its language."""
    return reader_line(release, translation, lang, "withdrawal_reason")


def reader_line(release: dict, translation: dict | None, lang: str, name: str) -> tuple[str, str]:
    """A one-line public text (``name``: the withdrawal reason, the correction note) as a reader of ``lang``
    reads it, and its language: the published translation's (checked or reviewed like the rest of it), else the
    original's. An edition (kk-latn) writes its base language's in its own script."""
    if found := edition(lang):
        text, text_lang = reader_line(release, translation, found.base, name)
        return (found.write(text), lang) if text_lang == found.base else (text, text_lang)
    shown = published_copy(translation) if lang != SOURCE_LANGUAGE else None
    if shown and shown.get(name):
        return shown[name], lang
    return release.get(name) or "", SOURCE_LANGUAGE


def text_updated(release: dict, shown: dict | None) -> str:
    """When the text a reader sees last changed: never before the release's publication time (a scheduled
    release's text, written ahead, is new to readers at its moment)."""
    return max(shown["updated_at"] if shown else "", release["text_updated_at"], release["published_at"])


def _photo_texts(release: dict, shown: dict | None, lang: str) -> dict:
    """The photo's caption, credit and alt text as a reader of ``lang`` sees them, and their language.

    The translation's when it has them (a translation made before captions were translated has none:
    the Russian ones are shown, marked Russian); the alt text is the caption unless an editor set one.
    """
    source = shown if shown and (shown.get("photo_caption") or shown.get("photo_credit")) else release
    caption = source.get("photo_caption") or ""
    return {"photo_caption": caption, "photo_credit": source.get("photo_credit") or "",
            "photo_alt": source.get("photo_alt") or caption,
            "photo_lang": lang if source is shown else SOURCE_LANGUAGE}


def translated_filter(lang: str, translated_only: bool) -> str:
    """The SQL condition (on releases ``r``) keeping only releases with a visible ``lang`` translation, if asked."""
    if not translated_only or lang == SOURCE_LANGUAGE:
        return ""
    return f"""and exists (select 1 from translations t where t.release_id = r.id and t.lang = :lang
        and {PUBLISHED_SQL})"""


def list_published(db: Database, lang: str, *, limit: int, offset: int = 0, translated_only: bool = False,
                   total: int | None = None, category_id: int | None = None) -> list[LocalizedRelease]:
    """Published releases for ``lang``, newest first, each localized; optionally only translated ones, only
    those of one category.

    Given the ``total`` the same filter counts, a page in the older half is read from the oldest end: an
    OFFSET steps over every row before it, so the last page of a large archive would read the whole index.
    """
    from_oldest = total is not None and offset > total // 2
    if total is not None and from_oldest:
        offset, limit = max(0, total - offset - limit), min(limit, total - offset)
    order = "asc" if from_oldest else "desc"
    sql = f"""select r.* from releases r where {VISIBLE_SQL} {translated_filter(lang, translated_only)}
        {category_filter(category_id)} order by r.published_at {order}, r.id {order} limit :limit offset :offset"""
    rows = list(db.query(sql, {"lang": base_language(lang), "limit": max(limit, 0), "offset": offset, "now": moment(),
                               "category_id": category_id}))
    return localize_rows(db, rows[::-1] if from_oldest else rows, lang)


def category_filter(category_id: int | None) -> str:
    """The SQL condition (on releases ``r``) keeping one category's releases, if one is given."""
    return "and r.category_id = :category_id" if category_id is not None else ""


def count_in_category(db: Database, lang: str, category_id: int) -> int:
    """How many releases a category's page in ``lang`` lists (as list_published(translated_only) finds them)."""
    sql = f"""select count(*) from releases r where {VISIBLE_SQL} {translated_filter(lang, True)}
        {category_filter(category_id)}"""
    return int(db.execute(sql, {"lang": lang, "now": moment(), "category_id": category_id}).fetchone()[0])


def list_by_seq(db: Database, lang: str, first: int, last: int) -> list[LocalizedRelease]:
    """Published releases numbered ``first``..``last`` in the order of first publication (an archive page),
    newest first; kk and en only with a visible translation, as their feeds."""
    # "+r.status": the seq index, not the status one (which would read every published release of the archive).
    sql = f"""select r.* from releases r where +r.status = '{ReleaseStatus.PUBLISHED}' and +r.published_at <= :now
        and r.seq between :first and :last {translated_filter(lang, True)} order by r.seq desc"""
    rows = db.query(sql, {"lang": base_language(lang), "first": first, "last": last, "now": moment()})
    return localize_rows(db, list(rows), lang)


def last_seq(db: Database) -> int:
    """The highest publication number given so far (0 before the first publication)."""
    return int(db.execute("select coalesce(max(seq), 0) from releases").fetchone()[0])


def last_shown_seq(db: Database) -> int:
    """The highest publication number below which every release has reached its time: a scheduled release's
    number is given when it is scheduled, so an archive page holding it is not complete until it is shown."""
    waiting = db.execute(f"select min(r.seq) from releases r where {SCHEDULED_SQL}", {"now": moment()}).fetchone()[0]
    return last_seq(db) if waiting is None else waiting - 1


def schedule(db: Database) -> dict:
    """When the next scheduled release is due (``next_due``) and when the last one shown became due
    (``last_due``), each None if there is none: what time changes of what readers see."""
    now = {"now": moment()}
    next_due = db.execute(f"select min(r.published_at) from releases r where {SCHEDULED_SQL}", now).fetchone()[0]
    last_due = db.execute(f"select r.published_at from releases r where {VISIBLE_SQL} "
                          "order by r.published_at desc limit 1", now).fetchone()
    return {"next_due": next_due, "last_due": last_due and last_due[0]}


def withdrawn_since(db: Database, lang: str, since: datetime) -> list[dict]:
    """Releases withdrawn at or after ``since`` that ``lang``'s feeds carried, newest first: each with its
    entry id in ``lang`` (``entry_id``), ``withdrawn_at`` and ``withdrawal_reason`` (feed tombstones)."""
    sql = f"""select r.* from releases r where r.status = '{ReleaseStatus.WITHDRAWN}' and r.withdrawn_at >= :since
        and r.seq is not null and substr(r.published_at, 1, 19) <= substr(r.withdrawn_at, 1, 19)
        {translated_filter(lang, True)} order by r.withdrawn_at desc"""
    rows = list(db.query(sql, {"lang": base_language(lang), "since": clock.iso(since)}))
    by_id = (translations.of_releases(db, [row["id"] for row in rows], base_language(lang))
             if lang != SOURCE_LANGUAGE else {})
    return [{**row, "entry_id": entry_id(row["guid"], lang),
             "withdrawal_reason": withdrawal_reason(row, by_id.get(row["id"]), lang)[0]} for row in rows]


def localize_rows(db: Database, rows: list[dict], lang: str) -> list[LocalizedRelease]:
    """Localize many releases with one query for their translations and one for their categories."""
    rows_by_id = (translations.of_releases(db, [row["id"] for row in rows], base_language(lang))
                  if lang != SOURCE_LANGUAGE else {})
    used = category_list.by_ids(db, {row["category_id"] for row in rows if row.get("category_id")})
    return [localized(row, rows_by_id.get(row["id"]), lang, used.get(row.get("category_id") or 0)) for row in rows]


def category_of(db: Database, release: dict) -> category_list.Category | None:
    """The managed category of a release row, None without one."""
    return category_list.get(db, release["category_id"]) if release.get("category_id") else None


def count_published(db: Database, lang: str = SOURCE_LANGUAGE) -> int:
    """How many releases ``lang``'s index lists: all published ones in the source language (kept by triggers,
    migration m023_published_count); in a target language those with a published translation (m030)."""
    if lang == SOURCE_LANGUAGE:
        # The counter holds scheduled releases too: they are few, and counted through the status index.
        sql = f"select published - (select count(*) from releases r where {SCHEDULED_SQL}) from site_state where id = 1"
        return int(db.execute(sql, {"now": moment()}).fetchone()[0])
    # Kept by triggers too (migration m030); less the scheduled ones with a translation, few and found by index.
    sql = f"""select coalesce((select count from translated_counts where lang = :lang), 0)
        - (select count(*) from releases r where {SCHEDULED_SQL} {translated_filter(lang, True)})"""
    return int(db.execute(sql, {"lang": base_language(lang), "now": moment()}).fetchone()[0])


def readable_languages(db: Database, first: int, last: int) -> list[dict]:
    """The published releases with ids ``first``..``last`` (oldest first) with ``languages``: each language
    readers can read it in (the original, and each translation ``localized`` would show) mapped to when that
    text last changed, and ``titles``: the title shown in each of those languages (its slug is made of it). A
    silent fix counts (``r.updated_at``): readers are not told of it, but search engines should read the fixed text."""
    # NOT INDEXED: the id range through the primary key, not the status index (the whole archive's releases).
    sql = f"""select r.id, r.title, max(r.text_updated_at, r.published_at, r.updated_at) as updated_at, t.lang,
        t.published_title as translated_title, t.published_updated as translated_at from releases r not indexed
        left join translations t on t.release_id = r.id and {PUBLISHED_SQL}
        where r.id between :first and :last and {VISIBLE_SQL} order by r.id, t.lang"""
    found: dict[int, dict] = {}
    for row in db.query(sql, {"first": first, "last": last, "now": moment()}):
        release = found.setdefault(row["id"], {"id": row["id"], "titles": {SOURCE_LANGUAGE: row["title"]},
                                               "languages": {SOURCE_LANGUAGE: row["updated_at"]}})
        if row["lang"]:
            release["languages"][row["lang"]] = max(row["updated_at"], row["translated_at"])
            release["titles"][row["lang"]] = row["translated_title"]
    for release in found.values():
        with_editions(release["languages"])
        with_editions(release["titles"])
    return list(found.values())


def readable_windows(db: Database) -> dict[str, dict[int, str]]:
    """For each language, the windows of SITEMAP_WINDOW release ids (window n: ids ``(n-1)*SITEMAP_WINDOW+1`` ..
    ``n*SITEMAP_WINDOW``) holding a release readable in it, each mapped to when its newest text there changed.

    Read from the table migration m035's triggers keep (a row per window, not the archive); the few windows that
    hold a scheduled release are counted again here, as readers see them now."""
    scheduled = {number for (number,) in db.execute(
        f"select distinct (r.id - 1) / {SITEMAP_WINDOW} + 1 from releases r where {SCHEDULED_SQL}", {"now": moment()})}
    windows: dict[str, dict[int, str]] = {}
    for row in db.query("select lang, number, lastmod from sitemap_windows"):
        if row["number"] not in scheduled:
            windows.setdefault(row["lang"], {})[row["number"]] = row["lastmod"]
    for number in scheduled:
        within = f"{VISIBLE_SQL} and r.id between :first and :first + {SITEMAP_WINDOW - 1}"
        for row in db.query(SITEMAP_WINDOWS.format(where=within), {"now": moment(),
                                                                    "first": (number - 1) * SITEMAP_WINDOW + 1}):
            windows.setdefault(row["lang"], {})[row["number"]] = row["lastmod"]
    return with_editions(windows)


def with_editions(by_language: dict) -> dict:
    """``by_language`` with each edition given its base language's value (an edition reads its base's rows)."""
    by_language |= {code: by_language[found.base] for code, found in EDITIONS.items() if found.base in by_language}
    return by_language


def newest_change(db: Database, lang: str, count: int) -> str | None:
    """When the text of one of the ``count`` newest releases ``lang``'s front page lists last changed, or None."""
    sql = f"""select max(updated) from (select max(r.text_updated_at, r.published_at,
        coalesce(t.published_updated, '')) as updated from releases r
        left join translations t on t.release_id = r.id and t.lang = :lang and {PUBLISHED_SQL}
        where {VISIBLE_SQL} {translated_filter(lang, True)} order by r.published_at desc, r.id desc limit :count)"""
    return db.execute(sql, {"lang": base_language(lang), "count": count, "now": moment()}).fetchone()[0]


def shown_languages(views: dict[str, LocalizedRelease]) -> list[str]:
    """The languages a release can be read in (given its ``localized`` view in each language): the original's,
    and each whose translation readers see."""
    return [lang for lang, view in views.items() if lang == SOURCE_LANGUAGE or not view.is_original]


def photo_is_public(db: Database, name: str) -> bool:
    """Whether a stored photo file (a photo or one of its sizes) belongs to a published release."""
    sql = f"""select 1 from releases r where {VISIBLE_SQL} and (r.photo = :name
        or (instr(r.photo_sizes, :name) and exists (select 1 from json_each(r.photo_sizes) s
                                                     where json_extract(s.value, '$.name') = :name)))"""
    return db.execute(sql, {"name": name, "now": moment()}).fetchone() is not None


@dataclass(frozen=True)
class ReleaseFilter:
    """What the admin release list shows: a release status (``published`` those readers see, ``scheduled`` those
    whose time is still to come), a translation status (in ``lang``, or in any
    language), a category, and published dates (``since`` inclusive, ``until`` exclusive, timezone-aware)."""

    status: str | None = None
    lang: str | None = None
    translation: str | None = None
    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def sql(self) -> tuple[str, dict]:
        """The FROM and WHERE clauses (releases ``r``) and their parameters.

        A translation status is looked up through its index first (a cross join keeps SQLite from reading
        the whole archive newest first instead): the review queue of 100,000 releases is a few hundred rows.
        """
        status = {ReleaseStatus.PUBLISHED: VISIBLE_SQL, SCHEDULED: SCHEDULED_SQL}.get(self.status or "",
                                                                                    "r.status = :status")
        conditions = [condition for value, condition in (
            (self.status, status), (self.category, "r.category = :category"),
            (self.since, "r.published_at >= :since"), (self.until, "r.published_at < :until")) if value]
        source = "releases r"
        if self.translation:
            language = "and lang = :lang" if self.lang else ""
            # INDEXED BY: for DISTINCT, SQLite would rather read the primary key's index in full.
            source = f"""(select distinct release_id from translations indexed by idx_translations_status_lang
                where status = :translation {language}) t cross join releases r on r.id = t.release_id"""
        values = {"status": self.status, "category": self.category, "lang": self.lang,
                  "translation": self.translation, "since": self.since and clock.iso(self.since),
                  "until": self.until and clock.iso(self.until), "now": moment()}
        return f"{source} where {' and '.join(conditions) or '1'}", values


def list_admin(db: Database, shown: ReleaseFilter, *, page: int, size: int) -> tuple[list[dict], bool]:
    """One page of the admin list, newest first, each release with its translations; and whether a next page
    exists (one row more is read instead of counting them all)."""
    source, values = shown.sql()
    rows = list(db.query(f"select r.* from {source} order by r.published_at desc, r.id desc "
                         "limit :limit offset :offset", {**values, "limit": size + 1, "offset": (page - 1) * size}))
    by_release = translations.every_language(db, [row["id"] for row in rows[:size]])
    return [{**row, "translations": by_release[row["id"]], "shown_status": shown_status(row)}
            for row in rows[:size]], len(rows) > size


def categories(db: Database) -> list[str]:
    """The categories releases use, for the admin list's filter.

    One index lookup per category (a loose index scan over the category index of migration m023): a
    ``select distinct`` would read every release of the archive on every admin page.
    """
    sql = """with recursive c(category) as (select min(category) from releases where category > ''
        union all select (select min(category) from releases where category > c.category) from c
        where c.category is not null) select category from c where category is not null"""
    return [row[0] for row in db.execute(sql)]


def site_state(db: Database) -> dict:
    """The change counter every write to releases or translations bumps (see migration m003)."""
    version, changed_at = db.execute("select version, changed_at from site_state where id = 1").fetchone()
    return {"version": version, "changed_at": changed_at}


def count_all(db: Database) -> int:
    """How many releases exist in any status."""
    return db.table("releases").count
