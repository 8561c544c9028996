"""Revision history: every saved version of an original (lang "ru") or a translation, and diffs between them."""

import difflib
import re

from sqlite_utils import Database

from feedsvc.errors import NotFound
from feedsvc.text.segment import split_paragraphs


class RevisionNotFound(NotFound):
    """No revision with that id for that release and language."""


# A translation's photo texts, kept in its history beside the title and body.
PHOTO_TEXTS = ("photo_caption", "photo_credit", "photo_alt")


def photo_texts(row: dict) -> dict:
    """The photo caption, credit and alt text of a row ("" for each it lacks)."""
    return {key: row.get(key) or "" for key in PHOTO_TEXTS}


def record(db: Database, release_id: int, lang: str, *, title: str, body: str, origin: str, author: str,
           source_revision: int | None, created_at: str, photo: dict | None = None) -> int:
    """Keep one saved version (skipped when it repeats the latest one word for word)."""
    photo = photo_texts(photo or {})
    latest = list(db.query(
        "select * from revisions where release_id = ? and lang = ? order by id desc limit 1", [release_id, lang]))
    if latest and (latest[0]["title"], latest[0]["body"], photo_texts(latest[0])) == (title, body, photo):
        return 0
    row = {"release_id": release_id, "lang": lang, "title": title, "body": body, "origin": origin,
           "author": author or "", "source_revision": source_revision, "created_at": created_at, **photo}
    return int(db.table("revisions").insert(row).last_pk or 0)


def list_revisions(db: Database, release_id: int, lang: str) -> list[dict]:
    """Saved versions, newest first."""
    return list(db.query("select * from revisions where release_id = ? and lang = ? order by id desc",
                         [release_id, lang]))


def get_revision(db: Database, release_id: int, lang: str, revision_id: int) -> dict:
    """One saved version of this release and language."""
    rows = list(db.query("select * from revisions where id = ? and release_id = ? and lang = ?",
                         [revision_id, release_id, lang]))
    if not rows:
        raise RevisionNotFound(revision_id)
    return rows[0]


_WORDS = re.compile(r"\s+|[^\s]+")


def diff_words(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff as (op, text) pieces: op is "same", "del" or "ins" (templates escape the text)."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    pieces = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(a[i1:i2])))
        if op in ("delete", "replace"):
            pieces.append(("del", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            pieces.append(("ins", "".join(b[j1:j2])))
    return pieces


def diff(old: dict, new: dict) -> dict:
    """A readable diff of two versions: the title, then paragraph by paragraph."""
    old_paragraphs, new_paragraphs = split_paragraphs(old["body"]), split_paragraphs(new["body"])
    rows: list[list[tuple[str, str]]] = []
    matcher = difflib.SequenceMatcher(a=old_paragraphs, b=new_paragraphs, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows.extend([("same", p)] for p in old_paragraphs[i1:i2])
            continue
        olds, news = old_paragraphs[i1:i2], new_paragraphs[j1:j2]
        for k in range(max(len(olds), len(news))):
            rows.append(diff_words(olds[k] if k < len(olds) else "", news[k] if k < len(news) else ""))
    old_photo, new_photo = photo_texts(old), photo_texts(new)
    return {"title": diff_words(old["title"], new["title"]), "paragraphs": rows,
            "photo": [diff_words(old_photo[key], new_photo[key]) for key in PHOTO_TEXTS
                      if old_photo[key] != new_photo[key]]}
