"""Glossary storage and CSV exchange: terms that must come out fixed in every language."""

import csv
import io
import re
from collections.abc import Iterator

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound
from feedsvc.states import ReleaseStatus
from feedsvc.storage import write
from feedsvc.text import clean
from feedsvc.text import one_line
from feedsvc.translation.protect import GlossaryTerm

COLUMNS = ("ru", "en", "kk")
# A spreadsheet runs a cell that begins with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The export's mark: a cell beginning with these (after any ' added before) got one ' more; import takes it off.
ESCAPED = re.compile(r"'+[=+\-@\t\r]")


class BadGlossary(InvalidInput):
    """A glossary CSV or term that cannot be used.

    The message is an English template marked for the catalogs (N_) and its values, so the admin shows it
    in the editor's language (web.glossary) and the command line prints it in English.
    """

    def __init__(self, template: str, **values):
        """Keep the template and its values; the English message is the template filled in."""
        super().__init__(template % values if values else template)
        self.template, self.values = template, values


def N_(message: str) -> str:
    """Mark an English message for the interface catalogs; it is translated where it is shown."""
    return message


def load_terms(db: Database) -> list[GlossaryTerm]:
    """Every stored term, ready for protect()."""
    rows = db.query("select * from glossary_terms order by id")
    return [GlossaryTerm(source=r["source"], targets={"en": r["en"] or "", "kk": r["kk"] or ""}, id=r["id"])
            for r in rows]


def save_term(db: Database, source: str, targets: dict, term_id: int | None = None) -> int:
    """Add a term or change one; the Russian forms are its identity."""
    source = "|".join(f.strip() for f in clean(source).split("|") if f.strip())
    if not source:
        raise BadGlossary(N_("the Russian form is empty"))
    check_forms(source)
    row = {"source": source, "en": one_line(targets.get("en")), "kk": one_line(targets.get("kk")),
           "updated_at": clock.utcnow()}
    existing = list(db.query("select id from glossary_terms where source = ?", [source]))
    if term_id is not None:
        if existing and existing[0]["id"] != term_id:
            raise BadGlossary(N_("another term already has these Russian forms"))
        db.table("glossary_terms").update(term_id, row)
        return term_id
    if existing:
        db.table("glossary_terms").update(existing[0]["id"], row)
        return existing[0]["id"]
    return int(db.table("glossary_terms").insert(row).last_pk or 0)


def check_forms(source: str) -> None:
    """Refuse forms that would match far too much: a bare ``*``, or a stem of one or two letters."""
    for word in source.replace("|", " ").split():
        stem = word.rstrip("*")
        if not re.search(r"\w", stem):
            raise BadGlossary(N_("“%(word)s” has no letters: a Russian form must be words (a * only after a word)"),
                              word=word)
        if word.endswith("*") and len(stem) < 3:
            raise BadGlossary(N_("“%(word)s”: a word with * needs at least 3 letters before it, or it matches "
                                 "too much"), word=word)


def delete_term(db: Database, term_id: int) -> None:
    """Remove a term."""
    db.execute("delete from glossary_terms where id = ?", [term_id])


def parse_csv(text: str) -> list[dict]:
    """Rows of a glossary CSV with columns ru,en,kk; refuses missing columns, empty ru cells and broken quoting."""
    try:
        reader = csv.DictReader(io.StringIO(text), strict=True)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise BadGlossary(N_("not a readable CSV file (%(error)s)"), error=str(exc)) from exc
    if missing:
        raise BadGlossary(N_("missing column(s): %(columns)s (expected a header ru,en,kk)"),
                          columns=", ".join(missing))
    rows = []
    for number, row in numbered_rows(reader):
        if not (row.get("ru") or "").strip():
            raise BadGlossary(N_("line %(number)s: the ru column is empty"), number=number)
        rows.append({c: unescape_cell(row.get(c) or "").strip() for c in COLUMNS})
    return rows


def numbered_rows(reader: csv.DictReader) -> Iterator[tuple[int, dict]]:
    """Each row with the line its record starts on; bad quoting is a BadGlossary naming that line.

    csv's strict mode refuses a quote left open (the rest of the file would become one cell, one merged term)
    and text after a closing quote; the line a record starts on is where the editor has to look.
    """
    while True:
        number = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # strict: a quote never closed, or text after a closing quote
            raise BadGlossary(N_("line %(number)s: a quote is not closed properly (%(error)s)"), number=number,
                              error=str(exc)) from exc
        yield number, row


def import_csv(db: Database, text: str) -> int:
    """Add or update every term of a CSV, all or nothing; returns how many."""
    rows = parse_csv(text)
    with write(db):
        for row in rows:
            save_term(db, row["ru"], {"en": row["en"], "kk": row["kk"]})
    return len(rows)


def export_csv(db: Database) -> str:
    """Every term as CSV text (ru,en,kk), the format import_csv reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; quotes fields holding a bare CR
    writer.writerow(COLUMNS)
    for term in load_terms(db):
        writer.writerow([escape_cell(term.source), escape_cell(term.targets.get("en", "")),
                         escape_cell(term.targets.get("kk", ""))])
    return out.getvalue()


def escape_cell(text: str) -> str:
    """A cell a spreadsheet shows as text: ' before a formula start (=, +, -, @, tab, CR), OWASP's way.

    Text that already begins with quotes before such a character gets one more quote too, so that
    unescape_cell can take exactly one off and every text comes back as it was.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) or ESCAPED.match(text) else text


def unescape_cell(text: str) -> str:
    """Undo escape_cell: one leading ' comes off only where quotes are followed by a formula start."""
    return text[1:] if ESCAPED.match(text) else text


def get_term(db: Database, term_id: int) -> GlossaryTerm:
    """One stored term."""
    rows = list(db.query("select * from glossary_terms where id = ?", [term_id]))
    if not rows:
        raise TermNotFound(term_id)
    row = rows[0]
    return GlossaryTerm(source=row["source"], targets={"en": row["en"] or "", "kk": row["kk"] or ""}, id=row["id"])


def releases_using(db: Database, term: GlossaryTerm) -> list[dict]:
    """Releases whose Russian title or text contains one of the term's forms, newest first."""
    regex = re.compile(rf"(?<!\w)(?:{term.pattern()})(?!\w)", re.IGNORECASE)
    rows = db.query("select id, title, body, status, revision from releases where status != ? "
                    "order by published_at desc", [ReleaseStatus.WITHDRAWN])
    return [row for row in rows if regex.search(row["title"]) or regex.search(row["body"])]


class TermNotFound(NotFound):
    """No glossary term with that id."""

    def __init__(self, term_id: int):
        """The id asked for."""
        self.term_id = term_id
        super().__init__(f"There is no glossary term {term_id}.")
