"""Sentence decisions: a translation as aligned pairs (Russian sentence → translated sentence) from its
per-sentence record (``translations.checks``), and editors' decisions on them, each recorded with its provenance.

Pairs are matched by position (``part``, ``index``), never by output text: two sentences may say the same, and
typography changes what a model said. A record written before the pipeline stored positions is placed here, by
walking the original the translation was made from in the pipeline's order (title, body sentences, one-line
fields). The record is handled as plain dicts, so fields other helpers add (``hypothesis``, ``model``…) survive.
"""

import json
from dataclasses import dataclass

from sqlite_utils import Database

from feedsvc.config import SOURCE_LANGUAGE
from feedsvc.errors import InvalidInput
from feedsvc.releases import sentence_record
from feedsvc.states import SentenceOrigin
from feedsvc.text import clean
from feedsvc.text import one_line
from feedsvc.text.segment import join_paragraph
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation.checks import Finding
from feedsvc.translation.pipeline import units
from feedsvc.translation.protect import PLACEHOLDER
from feedsvc.translations import ONE_LINE


class UnpublishableText(InvalidInput):
    """Text that still holds a protected-token slot such as ``[1]``: never published, whoever sends it."""

    def __init__(self, sentences: list[str]):
        """Name the sentences that hold slots."""
        self.sentences = sentences
        super().__init__(f"protected-token slots left in: {'; '.join(sentences)}")


@dataclass(frozen=True)
class Sentence:
    """One aligned pair of a translation, with what the checks found and who decided on it."""

    number: int  # its place in the record
    part: str  # "title", "body" or a one-line field ("category", "photo_caption", "photo_credit")
    index: int  # its place in reading order within the part
    paragraph: int  # the body paragraph it belongs to (0 outside the body)
    source: str
    output: str
    findings: tuple[Finding, ...]
    alternatives: tuple[str, ...]
    origin: str
    by: str
    at: str

    @property
    def key(self) -> str:
        """A stable name of the pair in forms: its position."""
        return f"{self.part}-{self.index}"

    @property
    def has_slot(self) -> bool:
        """Whether the text still holds a protected-token slot (never publishable)."""
        return bool(PLACEHOLDER.search(self.output))

    @property
    def open(self) -> bool:
        """Whether the sentence still waits for an editor: flagged and not decided, or holding a slot."""
        return self.has_slot or (bool(self.findings) and self.origin == SentenceOrigin.MACHINE)


@dataclass(frozen=True)
class Decision:
    """An editor's decision on one pair: approve it as it is (``text`` None) or replace its text."""

    number: int
    text: str | None = None


def _same(a: str, b: str) -> bool:
    """Whether a record's source is that sentence of the original (a title may have been sent with a full stop)."""
    return a.strip().rstrip(".") == b.strip().rstrip(".")


def original_at(db: Database, release: dict, revision: int | None) -> dict:
    """The original's texts at ``revision`` (the release itself when that is current, else its history)."""
    if revision is None or revision == release["revision"]:
        return release
    rows = list(db.query("select * from revisions where release_id = ? and lang = ? and source_revision = ? "
                         "order by id desc limit 1", [release["id"], SOURCE_LANGUAGE, revision]))
    return (release | rows[0]) if rows else release


def place(entries: list[dict], original: dict) -> list[dict] | None:
    """The record with each sentence's ``part``, ``index`` and ``paragraph``, or None if it does not match the
    original (then only the whole-text editor can change the translation)."""
    paragraphs = units(original["title"], original["body"])
    layout = [("title", 0, 0, paragraphs[0][0])] + [
        ("body", index, paragraph, text) for index, (paragraph, text) in
        enumerate((p, text) for p, sentences in enumerate(paragraphs[1:]) for text in sentences)]
    if len(entries) < len(layout):
        return None
    extras = [(key, one_line(original.get(key))) for key in ONE_LINE if one_line(original.get(key))]
    for entry in entries[len(layout):]:
        found = next((key for key, text in extras if _same(text, entry["source"])), None)
        if found is None:
            return None
        extras = extras[[key for key, _ in extras].index(found) + 1:]
        layout.append((found, 0, 0, entry["source"]))
    if not all(_same(source, entry["source"]) for (_, _, _, source), entry in zip(layout, entries, strict=True)):
        return None
    return [entry | {"part": part, "index": index, "paragraph": paragraph}
            for (part, index, paragraph, _), entry in zip(layout, entries, strict=True)]


def as_sentence(number: int, entry: dict) -> Sentence:
    """A placed record entry as an aligned pair."""
    return Sentence(number=number, part=entry["part"], index=entry["index"], paragraph=entry["paragraph"],
                    source=entry["source"], output=entry["output"],
                    findings=tuple(Finding.from_json(f) for f in entry.get("findings") or ()),
                    alternatives=tuple(a for a in entry.get("alternatives") or () if a != entry["output"]),
                    origin=entry.get("origin") or SentenceOrigin.MACHINE, by=entry.get("by") or "",
                    at=entry.get("at") or "")


def of_part(row: dict | None, part: str) -> list[Sentence]:
    """The recorded pairs of one field of a translation (its correction note, say), whether or not the rest of
    the record lines up with the original."""
    entries = json.loads((row or {}).get("checks") or "[]")
    return [as_sentence(n, {"index": 0, "paragraph": 0, **entry}) for n, entry in enumerate(entries)
            if entry.get("part") == part]


def placed_record(db: Database, row: dict, release: dict) -> list[dict] | None:
    """A translation's per-sentence record, placed on its original (None: none, or it does not line up)."""
    entries = sentence_record(row)
    if not entries:
        return None
    return place(entries, original_at(db, release, row.get("source_revision")))


def rebuild(entries: list[dict]) -> dict[str, str]:
    """The translated fields put back together from a placed record (only the fields it holds)."""
    fields: dict[str, str] = {}
    body: dict[int, list[str]] = {}
    for entry in entries:
        if entry["part"] == "body":
            body.setdefault(entry["paragraph"], []).append(entry["output"])
        else:
            fields[entry["part"]] = join_paragraph([fields.get(entry["part"], ""), entry["output"]])
    if body:
        fields["body"] = "\n\n".join(filter(None, (join_paragraph(body[p]) for p in sorted(body))))
    return fields


def lines_up(entries: list[dict], row: dict) -> bool:
    """Whether the stored translation is what its record says (else a sentence edit would undo other edits)."""
    return all(clean(text).strip() == clean(row.get(key)).strip() for key, text in rebuild(entries).items())


def decide(entries: list[dict], decisions: list[Decision], *, author: str, now: str) -> list[dict]:
    """The record with the editor's decisions applied: changed text is "edited", the rest "approved".

    Refuses (UnpublishableText) any decided sentence left with a protected-token slot.
    """
    entries = [dict(entry) for entry in entries]
    for decision in decisions:
        entry = entries[decision.number]
        text = entry["output"] if decision.text is None else " ".join(decision.text.split())
        if PLACEHOLDER.search(text):
            raise UnpublishableText([text])
        edited = text != entry["output"] or entry.get("origin") == SentenceOrigin.EDITED
        entry.update(output=text, origin=SentenceOrigin.EDITED if edited else SentenceOrigin.APPROVED,
                     by=author, at=now)
    return entries


def aligned_decisions(entries: list[dict], fields: dict[str, str]) -> list[Decision]:
    """What a whole-text edit decided, sentence by sentence: each sentence whose text changed.

    A paragraph whose sentences no longer line up with the original's was rewritten as a whole: its first
    sentence takes the paragraph's text and the others are emptied (all "edited"). Unchanged sentences are not
    decided: a flagged one stays open.
    """
    decisions = []
    for part in dict.fromkeys(entry["part"] for entry in entries):
        mine = [(n, e) for n, e in enumerate(entries) if e["part"] == part]
        numbers = dict.fromkeys(e["paragraph"] for _, e in mine)
        groups = [[(n, e) for n, e in mine if e["paragraph"] == p] for p in numbers] if part == "body" else [mine]
        texts = split_paragraphs(fields.get(part) or "") if part == "body" else [fields.get(part) or ""]
        if len(texts) != len(groups):
            texts = [fields.get(part) or ""] + [""] * (len(groups) - 1) if groups else []
        for group, text in zip(groups, texts, strict=True):
            decisions += _paragraph_decisions(group, text)
    return decisions


def _paragraph_decisions(group: list[tuple[int, dict]], text: str) -> list[Decision]:
    """The decisions of one paragraph (or one-line field) of a whole-text edit."""
    said = split_sentences(text) if len(group) > 1 else [text.strip()]
    if len(said) != len(group):
        if join_paragraph([e["output"] for _, e in group]) == join_paragraph(said):
            return []
        said = [text.strip()] + [""] * (len(group) - 1)
    return [Decision(n, new) for (n, entry), new in zip(group, said, strict=True)
            if " ".join(new.split()) != " ".join(entry["output"].split())]


def dumps(entries: list[dict]) -> str:
    """The record as stored."""
    return json.dumps(entries, ensure_ascii=False)
