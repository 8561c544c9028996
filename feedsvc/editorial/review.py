"""Editors fix machine translations: human edits that stick, suggestions, and corrections that teach the memory.

Every write checks the translation's ``version`` (optimistic locking): a second editor saving
over a text that changed since they opened it gets ``EditConflict``, never a silent overwrite.
"""

import html
import json

import nh3
from sqlite_utils import Database

from feedsvc import clock
from feedsvc import revisions
from feedsvc import translations
from feedsvc.errors import EditConflict
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound
from feedsvc.releases import get_release
from feedsvc.states import Origin
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
from feedsvc.translations import translation_row


class NoSuggestion(NotFound):
    """There is no machine suggestion to accept."""


class TranslationMissing(NotFound):
    """The release has no translation slot in that language."""


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
        raise TranslationMissing(lang)
    if expected_version is not None and row["version"] != expected_version:
        raise EditConflict(lang)
    return row


def save_human(db: Database, release_id: int, lang: str, title: str, body: str, *, author: str,
               expected_version: int | None, source_revision: int | None = None,
               category: str | None = None, photo: dict | None = None, learn: bool = True) -> dict:
    """Store an editor's translation: origin human, reviewed against ``source_revision``, history kept.

    ``category`` None keeps the stored one; ``photo`` holds the photo texts to change (caption, credit,
    alt text; an empty alt text means the caption), the others are kept. With ``learn``, sentences (and a category
    or a caption) the editor changed are remembered as corrections and reused ahead of the model.
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
        base = source_revision or release["revision"]
        status = Status.REVIEWED if base == release["revision"] else Status.OUTDATED
        translations.store_human(db, release_id, lang, {"title": title, "body": body, "category": category, **photo},
                                 source_revision=base, author=author, status=status, now=now)
        if learn and base == release["revision"]:
            keep_scores(db, row, (title, body))
            teach(db, release, lang, (row["title"] or "", row["body"] or ""), (title, body))
            memory.store_human(db, lang, {release[key]: value for key, value in
                                          (("category", category), ("photo_caption", photo["photo_caption"]))
                                          if value and value != row[key] and release[key]})
    return translation_row(db, release_id, lang) or row


def accept_suggestion(db: Database, release_id: int, lang: str, *, author: str, expected_version: int | None):
    """Make the machine suggestion the reviewed translation (a human approved it)."""
    row = _current(db, release_id, lang, expected_version)
    if not row["suggestion_title"]:
        raise NoSuggestion(lang)
    return save_human(db, release_id, lang, row["suggestion_title"], row["suggestion_body"], author=author,
                      expected_version=expected_version, source_revision=row["suggestion_revision"])


def approve(db: Database, release_id: int, lang: str, *, author: str, expected_version: int | None) -> dict:
    """Publish a held machine translation as it is: an editor read it and vouches for it."""
    row = _current(db, release_id, lang, expected_version)
    if not row["title"]:
        raise TranslationMissing(lang)
    return save_human(db, release_id, lang, row["title"], row["body"], author=author,
                      expected_version=expected_version, source_revision=row["source_revision"])


def sentence_checks(row: dict) -> list[SentenceCheck]:
    """The stored checks of a machine translation (none for a human one)."""
    if row.get("origin") == Origin.HUMAN or not row.get("checks"):
        return []
    return [SentenceCheck.from_json(item) for item in json.loads(row["checks"])]


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


def flag_rows(rows: list[dict], translations: dict[str, dict]) -> list[dict]:
    """Give each side-by-side row its machine sentences' flags, as (flag, reason) pairs per language."""
    for lang, row in translations.items():
        # Each flagged sentence's stored forms, typeset once (not once per table row).
        flagged = [(check, stored_forms(check.output, lang)) for check in sentence_checks(row) if check.findings]
        for cells in rows:
            text = (cells.get(lang) or "").strip()
            # A sentence row is its own check; a paragraph row gathers the checks of the sentences in it.
            mine = ([c for c, forms in flagged if text in forms]
                    or [c for c, forms in flagged if c.output and any(f in text for f in forms)])
            found = ((finding.flag, finding.reason) for c in mine for finding in c.findings)
            cells.setdefault("flags", {})[lang] = list(dict.fromkeys(found))
    return rows


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


def review_rows(release: dict, translations: dict[str, dict], languages) -> list[dict]:
    """The original and each translation side by side, paragraph by paragraph (the title first).

    Where every language has the same number of sentences in a paragraph, the rows go sentence
    by sentence, so an editor sees exactly which Russian sentence each translated one renders.
    """
    columns = {"ru": [release["title"]] + split_paragraphs(release["body"])}
    for lang in languages:
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
                        for j in range(len(sentences["ru"])))
        else:
            rows.append(cells | {"paragraph": i, "first": True})
    if release.get("photo"):
        # The photo's caption and credit last, so the checks' flags show on the caption too (flag_rows).
        photo = {lang: photo_line(translations.get(lang) or {}) for lang in languages}
        rows.append({"ru": photo_line(release), **photo, "paragraph": depth, "first": True, "photo": True})
    return rows


def photo_line(row: dict) -> str:
    """A photo's caption and credit as one line of the review table."""
    return " ".join(filter(None, (row.get("photo_caption"), row.get("photo_credit"))))
