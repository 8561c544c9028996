"""Revision history: every saved version of an original (lang "ru") or a translation, and diffs between them."""

import difflib
import os
import re

from sqlite_utils import Database

from feedsvc.errors import NotFound
from feedsvc.text.segment import split_paragraphs


class RevisionNotFound(NotFound):
    """No revision with that id for that release and language."""

    def __init__(self, release_id: int, lang: str, revision_id: int):
        """The release, language and revision asked for."""
        self.release_id, self.lang, self.revision_id = release_id, lang, revision_id
        super().__init__(f"Release {release_id} has no {lang} version {revision_id}.")


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
        raise RevisionNotFound(release_id, lang, revision_id)
    return rows[0]


# Words with the spaces after them (so the many identical spaces are no tokens of their own), and sentences
# (up to . ! ? … and the spaces after). A diff compares sentences first, then the words of the changed ones.
_WORDS = re.compile(r"\s+|\S+\s*")
_SENTENCES = re.compile(r".+?(?:[.!?…]+(?=\s)\s*|\Z)", re.S)
# Up to EXACT_WORD_DIFF words (both sides of one changed stretch together) get difflib's closest diff; up to
# MAX_WORD_DIFF, difflib with autojunk (words over 1% of the text anchor no match: the closest diff is quadratic,
# 6,000 words in one sentence took 30 s); a longer stretch keeps its common start and end and shows the middle
# as deleted and inserted.
EXACT_WORD_DIFF = 2_000
MAX_WORD_DIFF = 20_000


def diff_words(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff as (op, text) pieces: op is "same", "del" or "ins" (templates escape the text).

    Sentence by sentence first, then word by word inside the sentences that changed, so a long text costs
    little; joined, the "same" and "del" pieces give the old text and the "same" and "ins" ones the new.
    """
    pieces: list[tuple[str, str]] = []
    for op, a, b in opcodes(_SENTENCES.findall(old), _SENTENCES.findall(new)):
        if op == "equal":
            pieces.append(("same", "".join(a)))
        else:
            pieces.extend(changed_words(_WORDS.findall("".join(a)), _WORDS.findall("".join(b))))
    return merged(pieces)


def opcodes(a: list[str], b: list[str], autojunk: bool = True):
    """difflib's opcodes of two token lists, as (op, old tokens, new tokens).

    ``autojunk`` (for lists of 200 or more) skips tokens making up over 1% of the new list as match anchors:
    a text of a thousand "Да." sentences would otherwise cost a quadratic search.
    """
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=autojunk).get_opcodes():
        yield op, a[i1:i2], b[j1:j2]


def changed_words(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    """The diff of a changed stretch: its common start and end, and the middle word by word (whole above
    MAX_WORD_DIFF words)."""
    start = len(os.path.commonprefix([a, b]))
    end = len(os.path.commonprefix([a[start:][::-1], b[start:][::-1]]))
    middle_a, middle_b = a[start:len(a) - end], b[start:len(b) - end]
    size = len(middle_a) + len(middle_b)
    found = [("equal", a[:start], b[:start]),
             *(opcodes(middle_a, middle_b, autojunk=size > EXACT_WORD_DIFF) if size <= MAX_WORD_DIFF
               else [("replace", middle_a, middle_b)]),
             ("equal", a[len(a) - end:], b[len(b) - end:])]
    pieces = []
    for op, old, new in found:
        old_text, new_text, shared = "".join(old), "".join(new), ""
        if op == "replace" and trailing_space(old_text) == trailing_space(new_text):
            shared = trailing_space(old_text)  # no change: "<del>a</del><ins>b</ins> ", not "<ins>b </ins>"
        if op == "equal":
            pieces.append(("same", old_text))
        pieces.extend([("del", old_text[:len(old_text) - len(shared)])] if op in ("delete", "replace") else [])
        pieces.extend([("ins", new_text[:len(new_text) - len(shared)])] if op in ("insert", "replace") else [])
        pieces.append(("same", shared))
    return pieces


def trailing_space(text: str) -> str:
    """The whitespace a text ends with."""
    return text[len(text.rstrip()):]


def merged(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pieces without empty ones, neighbours of the same op joined."""
    out: list[tuple[str, str]] = []
    for op, text in pieces:
        if not text:
            continue
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))
    return out


def diff(old: dict, new: dict) -> dict:
    """A readable diff of two versions: the title, then paragraph by paragraph."""
    old_paragraphs, new_paragraphs = split_paragraphs(old["body"]), split_paragraphs(new["body"])
    rows: list[list[tuple[str, str]]] = []
    for op, olds, news in opcodes(old_paragraphs, new_paragraphs):
        if op == "equal":
            rows.extend([("same", p)] for p in olds)
            continue
        for k in range(max(len(olds), len(news))):
            rows.append(diff_words(olds[k] if k < len(olds) else "", news[k] if k < len(news) else ""))
    old_photo, new_photo = photo_texts(old), photo_texts(new)
    return {"title": diff_words(old["title"], new["title"]), "paragraphs": rows,
            "photo": [diff_words(old_photo[key], new_photo[key]) for key in PHOTO_TEXTS
                      if old_photo[key] != new_photo[key]]}
