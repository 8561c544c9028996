"""Editors fix machine translations: human edits that stick, suggestions, and corrections that teach the memory.

Every write checks the translation's ``version`` (optimistic locking): a second editor saving
over a text that changed since they opened it gets ``EditConflict``, never a silent overwrite.
"""

import html

import nh3
from sqlite_utils import Database

from feedsvc import clock
from feedsvc import revisions
from feedsvc import translations
from feedsvc.editorial import sentences
from feedsvc.editorial.sentences import UnpublishableText
from feedsvc.errors import EditConflict
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound
from feedsvc.releases import get_release
from feedsvc.releases import sentence_record
from feedsvc.settings import Languages
from feedsvc.states import Origin
from feedsvc.states import SentenceOrigin
from feedsvc.states import TranslationStatus as Status
from feedsvc.storage import write
from feedsvc.text import clean
from feedsvc.text import one_line
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import memory
from feedsvc.translation import typography
from feedsvc.translation.checks import SentenceCheck
from feedsvc.translation.pipeline import units
from feedsvc.translation.protect import PLACEHOLDER
from feedsvc.translations import translation_row


class TranslationMissing(NotFound):
    """The release has no translation in that language (no slot, or nothing written yet)."""

    def __init__(self, release_id: int, lang: str):
        """The release and the language asked for."""
        self.release_id, self.lang = release_id, lang
        super().__init__(f"Release {release_id} has no {lang} translation.")


class NoSuggestion(NotFound):
    """There is no machine suggestion to accept."""

    def __init__(self, release_id: int, lang: str):
        """The release and the language whose suggestion was asked for."""
        self.release_id, self.lang = release_id, lang
        super().__init__(f"Release {release_id} has no {lang} machine suggestion to accept.")




class EmptyTranslation(InvalidInput):
    """Nothing is left of the edit once its HTML is stripped."""


def plain_text(text: str) -> str:
    """Edits are plain text: strip any HTML an editor pasted, keep the characters as typed."""
    cleaned = clean(html.unescape(nh3.clean(text.replace("\r\n", "\n"), tags=set())))
    return "\n\n".join(split_paragraphs(cleaned))


def _current(db: Database, release_id: int, lang: str, expected_version: int | None) -> dict:
    """The translation row, checked against the version the editor saw."""
    row = translation_row(db, release_id, lang)
    if row is None:
        raise TranslationMissing(release_id, lang)
    if expected_version is not None and row["version"] != expected_version:
        raise EditConflict(release_id, lang, expected=expected_version, current=row["version"])
    return row


def save_human(db: Database, release_id: int, lang: str, title: str, body: str, *, author: str,
               expected_version: int | None, source_revision: int | None = None,
               category: str | None = None, photo: dict | None = None, learn: bool = True,
               seen_all: bool = False, withdrawal_reason: str | None = None,
               correction_note: str | None = None) -> dict:
    """Store an editor's whole text, published only if it leaves no flagged sentence undecided; history kept.

    Each sentence whose text changed counts as edited (per-sentence record); a flagged sentence left as the
    model wrote it stays open, and while any is open the translation stays held (readers keep what they had):
    nothing an editor did not see goes out as reviewed. ``category`` None keeps the stored one; ``photo`` holds
    the photo texts to change (caption, credit, alt text; an empty alt text means the caption), the others
    are kept; ``withdrawal_reason`` and ``correction_note`` None keep the stored ones. With ``learn``, sentences
    (and a category, a caption or a correction note) the editor changed are remembered as corrections and reused
    ahead of the model. ``seen_all``: the editor approved every sentence (confirmed).
    """
    title, body = plain_text(title).replace("\n", " "), plain_text(body)
    if not title or not body:
        raise EmptyTranslation(lang)
    now = clock.stamp()
    with write(db):
        row = _current(db, release_id, lang, expected_version)
        release = get_release(db, release_id)
        category = row["category"] if category is None else one_line(category)
        photo = revisions.photo_texts(row | {k: one_line(plain_text(v or "")) for k, v in (photo or {}).items()})
        lines = {name: row[name] if text is None else one_line(plain_text(text)) for name, text in
                 (("withdrawal_reason", withdrawal_reason), ("correction_note", correction_note))}
        fields = {"title": title, "body": body, "category": category, **photo, **lines}
        refuse_slots(fields)
        base = source_revision or release["revision"]
        entries = sentences.placed_record(db, row, release)
        if entries is not None:
            decisions = [sentences.Decision(n) for n in range(len(entries))] if seen_all else []
            decisions += sentences.aligned_decisions(entries, fields)
            entries = sentences.decide(entries, decisions, author=author, now=now)
        store_editor(db, row, release, fields, entries, author=author, base=base, now=now, seen_all=seen_all)
        if learn and base == release["revision"]:
            keep_scores(db, row, (title, body))
            teach(db, release, lang, (row["title"] or "", row["body"] or ""), (title, body))
            memory.store_human(db, lang, {release[key]: value for key, value in
                                          (("category", category), ("photo_caption", photo["photo_caption"]),
                                           ("correction_note", lines["correction_note"]))
                                          if value and value != row[key] and release[key]})
    return translation_row(db, release_id, lang) or row


def refuse_slots(fields: dict[str, str]) -> None:
    """Refuse text that still holds a protected-token slot such as ``[1]`` (UnpublishableText names it)."""
    found = [sentence for text in fields.values() if text for paragraph in split_paragraphs(text)
             for sentence in split_sentences(paragraph) if PLACEHOLDER.search(sentence)]
    if found:
        raise UnpublishableText(found)


def open_sentences(entries: list[dict] | None, row: dict, fields: dict[str, str]) -> list[str]:
    """The flagged sentences no editor decided (their text), for a placed record or, when the record does not
    line up with the original, each flagged machine sentence still found word for word in the text."""
    if entries is not None:
        return [s.output or s.source for n, e in enumerate(entries) if (s := sentences.as_sentence(n, e)).open]
    text = " ".join(filter(None, fields.values()))
    return [e["output"] for e in sentence_record(row)
            if e.get("findings") and e.get("origin", SentenceOrigin.MACHINE) == SentenceOrigin.MACHINE
            and e["output"] in text]


def store_editor(db: Database, row: dict, release: dict, fields: dict[str, str], entries: list[dict] | None, *,
                 author: str, base: int, now: str, seen_all: bool = False) -> list[str]:
    """Write an editor's text and record; published (reviewed, or outdated against an older original) when no
    flagged sentence is left open (``seen_all``: the editor approved them all), else held. Returns the open
    sentences."""
    still_open = [] if seen_all else open_sentences(entries, row, fields)
    status = Status.HELD if still_open else Status.REVIEWED if base == release["revision"] else Status.OUTDATED
    translations.store_human(db, release["id"], row["lang"], fields | {
        "flags": len(still_open), "checks": sentences.dumps(entries) if entries is not None else row["checks"]},
        source_revision=base, author=author, status=status, now=now)
    return still_open


class NotAligned(InvalidInput):
    """The stored translation no longer lines up with its sentences: only the whole-text editor can change it."""


def decide_sentences(db: Database, release_id: int, lang: str, decisions: list[sentences.Decision], *,
                     author: str, expected_version: int | None) -> list[str]:
    """Apply an editor's sentence decisions (approve as is, or new text); returns the sentences still open.

    The translation is published when none is left open; edited sentences are taught to the memory.
    """
    now = clock.stamp()
    with write(db):
        row = _current(db, release_id, lang, expected_version)
        release = get_release(db, release_id)
        entries = sentences.placed_record(db, row, release)
        if entries is None or not sentences.lines_up(entries, row):
            raise NotAligned(lang)
        decided = sentences.decide(entries, decisions, author=author, now=now)
        fields = {key: row[key] or "" for key in ("title", "body", "category", *revisions.PHOTO_TEXTS)}
        fields |= sentences.rebuild(decided)
        still_open = store_editor(db, row, release, fields, decided, author=author, base=row["source_revision"],
                                  now=now)
        if row["source_revision"] == release["revision"]:
            memory.store_human(db, lang, {after["source"]: after["output"] for before, after in
                                          zip(entries, decided, strict=True) if before["output"] != after["output"]})
    return still_open


def take_down(db: Database, release_id: int, lang: str, *, author: str) -> bool:
    """Take a language's published text away from readers at once (the original shows until a new one is
    published); the translation itself stays, held, for editors. False if nothing was published."""
    with write(db):
        row = _current(db, release_id, lang, None)
        if not row["published_title"]:
            return False
        translations.take_down(db, release_id, lang, author=author, now=clock.stamp())
    return True


def accept_suggestion(db: Database, release_id: int, lang: str, *, author: str, expected_version: int | None):
    """Make the machine suggestion the reviewed translation (a human approved it)."""
    row = _current(db, release_id, lang, expected_version)
    if not row["suggestion_title"]:
        raise NoSuggestion(release_id, lang)
    return save_human(db, release_id, lang, row["suggestion_title"], row["suggestion_body"], author=author,
                      expected_version=expected_version, source_revision=row["suggestion_revision"])


def approve(db: Database, release_id: int, lang: str, *, author: str, expected_version: int | None) -> dict:
    """Publish a held machine translation as it is: an editor read every sentence and vouches for it (asked to
    confirm on the screen); refused while a sentence holds a protected-token slot."""
    row = _current(db, release_id, lang, expected_version)
    if not row["title"]:
        raise TranslationMissing(release_id, lang)
    return save_human(db, release_id, lang, row["title"], row["body"], author=author,
                      expected_version=expected_version, source_revision=row["source_revision"], seen_all=True)


def sentence_checks(row: dict) -> list[SentenceCheck]:
    """The stored checks of a machine translation (none for a human one)."""
    if row.get("origin") == Origin.HUMAN:
        return []
    return [SentenceCheck.from_json(item) for item in sentences.sentence_record(row)]


def keep_scores(db: Database, row: dict, saved: tuple[str, str]) -> int:
    """Remember the model scores of machine sentences the editor kept word for word (the score floor's data).

    The model's sentence was stored in the language's typography (a rule may be off: either form counts).
    """
    text = " ".join(saved)
    kept = [{"route": row["route"], "score": check.score} for check in sentence_checks(row)
            if check.score is not None and check.output
            and any(form in text for form in stored_forms(check.output, row["lang"]))]
    db.table("kept_scores").insert_all(kept)
    return len(kept)


def stored_forms(output: str, lang: str) -> tuple[str, str]:
    """A model's sentence as it may be stored: as the model said it, and in the language's typography."""
    return output.strip(), typography.apply(output, lang).strip()


def queue(db: Database, lang: str | None = None, flag: str | None = None) -> list[dict]:
    """The review queue: held and outdated translations, oldest first, each with its open sentences (``open``,
    aligned pairs) and flag kinds (``kinds``); with ``flag``, only those with an open sentence of that kind."""
    found = []
    for row in translations.waiting(db, lang):
        entries = sentences.placed_record(db, row, get_release(db, row["release_id"]))
        pairs = [sentences.as_sentence(n, e) for n, e in enumerate(entries or [])]
        row["open"] = [pair for pair in pairs if pair.open]
        row["kinds"] = sorted({finding.flag for pair in row["open"] for finding in pair.findings})
        if flag is None or flag in row["kinds"]:
            found.append(row)
    return found


def queue_count(db: Database) -> int:
    """How many translations wait in the review queue (the navigation shows it)."""
    return translations.waiting_count(db)


def approve_picked(db: Database, picked: list[tuple[int, str, int, int]], *, author: str) -> tuple[int, int]:
    """Approve, as they are, the sentences an editor ticked in the queue: (release id, language, place in the
    record, the version the editor saw). Returns (sentences approved, translations refused as changed meanwhile)."""
    grouped: dict[tuple[int, str, int], list[int]] = {}
    for release_id, lang, number, version in picked:
        grouped.setdefault((release_id, lang, version), []).append(number)
    approved = refused = 0
    for (release_id, lang, version), numbers in grouped.items():
        try:
            decide_sentences(db, release_id, lang, [sentences.Decision(n) for n in numbers], author=author,
                             expected_version=version)
            approved += len(numbers)
        except (EditConflict, NotAligned, UnpublishableText):
            refused += 1
    return approved, refused


def ignore_suggestion(db: Database, release_id: int, lang: str, *, author: str, expected_version: int | None):
    """Keep the human text as it is and confirm it against the current Russian original."""
    row = _current(db, release_id, lang, expected_version)
    return save_human(db, release_id, lang, row["title"], row["body"], author=author,
                      expected_version=expected_version)


def aligned(title: str, body: str, source: list[list[str]]) -> list[tuple[int, int, str]]:
    """(paragraph, sentence, text) of a translation, where its shape matches the source's.

    Paragraphs whose sentence count differs from the source's are left out: a correction
    is only learned where it is clear which Russian sentence it translates.
    """
    target = [[title.strip()]] + [split_sentences(p) for p in split_paragraphs(body)]
    if len(target) != len(source):
        return []
    return [(i, j, sentence) for i, (src, tgt) in enumerate(zip(source, target, strict=True))
            if len(src) == len(tgt) for j, sentence in enumerate(tgt)]


def teach(db: Database, release: dict, lang: str, before: tuple[str, str], after: tuple[str, str]) -> int:
    """Store each sentence the editor changed as a human memory entry for its Russian sentence."""
    source = units(release["title"], release["body"])
    old = {(i, j): text for i, j, text in aligned(*before, source)}
    corrections = {source[i][j]: text for i, j, text in aligned(*after, source) if old.get((i, j)) != text}
    return memory.store_human(db, lang, corrections)


def review_rows(release: dict, translations: dict[str, dict], languages: Languages) -> list[dict]:
    """The original and each translation side by side, paragraph by paragraph (the title first).

    Where every language has the same number of sentences in a paragraph, the rows go sentence
    by sentence, so an editor sees exactly which Russian sentence each translated one renders.
    """
    source = languages.source
    columns = {source: [release["title"]] + split_paragraphs(release["body"])}
    for lang in languages.targets:
        row = translations.get(lang) or {}
        columns[lang] = [row.get("title") or ""] + split_paragraphs(row.get("body") or "")
    depth = max(len(c) for c in columns.values())
    rows: list[dict] = []
    for i in range(depth):
        cells = {lang: (col[i] if i < len(col) else "") for lang, col in columns.items()}
        sentences = {lang: split_sentences(text) for lang, text in cells.items()} if i else {}
        counts = {len(s) for s in sentences.values()}
        if len(counts) == 1 and counts.pop() > 1:
            rows.extend({lang: sentences[lang][j] for lang in cells} | {"paragraph": i, "first": j == 0}
                        for j in range(len(sentences[source])))
        else:
            rows.append(cells | {"paragraph": i, "first": True})
    if release.get("photo"):
        # The photo's caption and credit last, so the checks' flags show on the caption too (flag_rows).
        photo = {lang: photo_line(translations.get(lang) or {}) for lang in languages.targets}
        rows.append({source: photo_line(release), **photo, "paragraph": depth, "first": True, "photo": True})
    if release.get("correction_note"):  # the correction's note, as each language has it (empty: not yet)
        notes = {lang: (translations.get(lang) or {}).get("correction_note") or "" for lang in languages.targets}
        rows.append({source: release["correction_note"], **notes, "paragraph": depth + 1, "first": True, "note": True})
    return rows


def photo_line(row: dict) -> str:
    """A photo's caption and credit as one line of the review table."""
    return " ".join(filter(None, (row.get("photo_caption"), row.get("photo_credit"))))
