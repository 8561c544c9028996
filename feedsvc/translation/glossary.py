"""Glossary storage and CSV exchange: terms that must come out fixed in every language."""

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime

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
# Columns a CSV may add (an old file without them is a glossary of undated terms): the period, both days
# included (ISO dates, either end empty), and the languages whose form must never be published ("en kk").
PERIOD = ("valid_from", "valid_until", "forbidden")
TARGETS = ("en", "kk")
# A spreadsheet runs a cell that begins with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The export's mark: a cell beginning with these (after any ' added before) got one ' more; import takes it off.
ESCAPED = re.compile(r"'+[=+\-@\t\r]")


class BadGlossary(InvalidInput):
    """A glossary CSV or term that cannot be used.

    The message is an English template marked for the catalogs (N_) and its values, so the admin shows it
    in the editor's language (web.glossary) and the command line prints it in English.
    """

    def __init__(self, template: str, *, field: str = "ru", **values):
        """Keep the template and its values, and the ``field`` at fault; the English message is the template
        filled in."""
        super().__init__(template % values if values else template)
        self.template, self.values, self.field = template, values, field


def N_(message: str) -> str:
    """Mark an English message for the interface catalogs; it is translated where it is shown."""
    return message


def load_terms(db: Database) -> list[GlossaryTerm]:
    """Every stored term, ready for protect() (terms_on picks those of a day)."""
    return [term_from_row(row) for row in db.query("select * from glossary_terms order by id")]


def term_from_row(row: dict) -> GlossaryTerm:
    """A glossary_terms row as a term."""
    return GlossaryTerm(source=row["source"], targets={"en": row["en"] or "", "kk": row["kk"] or ""}, id=row["id"],
                        valid_from=row["valid_from"], valid_until=row["valid_until"],
                        forbidden=frozenset((row["forbidden"] or "").split()))


def save_term(db: Database, source: str, targets: dict, term_id: int | None = None, *,
              valid_from: str | None = None, valid_until: str | None = None, forbidden: str = "") -> int:
    """Add a term or change one; the Russian forms with the period and the forbidden mark are its identity.

    ``valid_from``/``valid_until``: ISO dates (or 23.03.2019), either empty; ``forbidden``: the languages
    ("en kk") whose form must never be published. Terms with the same forms are one name over time, so their
    periods must not overlap (which form a day gets would be a guess); forbidden ones may.
    """
    source = "|".join(f.strip() for f in clean(source).split("|") if f.strip())
    if not source:
        raise BadGlossary(N_("the Russian form is empty"))
    check_forms(source)
    row = {"source": source, "en": one_line(targets.get("en")), "kk": one_line(targets.get("kk")),
           "updated_at": clock.utcnow(), **period(valid_from, valid_until, forbidden, targets)}
    existing = [r["id"] for r in db.query(
        "select id from glossary_terms where source = ? and coalesce(valid_from, '') = ? "
        "and coalesce(valid_until, '') = ? and forbidden = ?",
        [source, row["valid_from"] or "", row["valid_until"] or "", row["forbidden"]])]
    if term_id is not None and existing and existing[0] != term_id:
        raise BadGlossary(N_("another term already has these Russian forms"))
    term_id = term_id if term_id is not None else (existing[0] if existing else None)
    check_overlap(db, row, term_id)
    if term_id is not None:
        db.table("glossary_terms").update(term_id, row)
        return term_id
    return int(db.table("glossary_terms").insert(row).last_pk or 0)


def period(valid_from: str | None, valid_until: str | None, forbidden: str, targets: dict) -> dict:
    """The term's period (ISO dates or None) and forbidden languages as stored; a BadGlossary names the field."""
    start, end = parse_day(valid_from, "valid_from"), parse_day(valid_until, "valid_until")
    if start and end and end < start:
        raise BadGlossary(N_("the term ends (%(end)s) before it begins (%(start)s)"), field="valid_until",
                          start=start, end=end)
    languages = (forbidden or "").replace(",", " ").split()
    for lang in languages:
        if lang not in TARGETS:
            raise BadGlossary(N_("“%(lang)s” is not a language the glossary has (en, kk)"), field="forbidden",
                              lang=lang)
        if not one_line(targets.get(lang)):
            raise BadGlossary(N_("a forbidden form in “%(lang)s” needs that form filled in"), field="forbidden",
                              lang=lang)
    return {"valid_from": start, "valid_until": end, "forbidden": " ".join(sorted(set(languages)))}


# The ways a date may be typed: ISO (2019-03-23), as Russian and Kazakh write it (23.03.2019).
DAY_FORMATS = ((re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"), (re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}"), "%d.%m.%Y"))


def parse_day(text: str | None, field: str) -> str | None:
    """A typed date as ISO text (None when empty); anything else is a BadGlossary on ``field``."""
    text = (text or "").strip()
    if not text:
        return None
    for shape, pattern in DAY_FORMATS:
        if shape.fullmatch(text):
            try:
                return datetime.strptime(text, pattern).date().isoformat()
            except ValueError:
                break
    raise BadGlossary(N_("“%(value)s” is not a date: write it as 2019-03-23 (or 23.03.2019)"), field=field,
                      value=text)


def check_overlap(db: Database, row: dict, term_id: int | None) -> None:
    """Refuse a period that overlaps another (not forbidden) term's with the same Russian forms."""
    if row["forbidden"]:
        return
    others = db.query("select id, valid_from, valid_until from glossary_terms where source = ? and forbidden = '' "
                      "and id is not ?", [row["source"], term_id])
    for other in others:
        if (other["valid_from"] or "") <= (row["valid_until"] or "9999") and \
                (row["valid_from"] or "") <= (other["valid_until"] or "9999"):
            raise BadGlossary(N_("the period overlaps another term with these Russian forms (%(start)s – %(end)s)"),
                              field="valid_from", start=other["valid_from"] or "…", end=other["valid_until"] or "…")


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
    """Rows of a glossary CSV with columns ru,en,kk (and, if given, valid_from,valid_until,forbidden); refuses
    missing columns, empty ru cells and broken quoting."""
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
        rows.append({c: unescape_cell(row.get(c) or "").strip() for c in (*COLUMNS, *PERIOD)} | {"line": number})
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
            try:
                save_term(db, row["ru"], {"en": row["en"], "kk": row["kk"]}, valid_from=row["valid_from"],
                          valid_until=row["valid_until"], forbidden=row["forbidden"])
            except BadGlossary as exc:  # one line's error, as the editor finds it in the file
                raise BadGlossary(N_("line %(number)s: %(error)s"), field=exc.field, number=row["line"],
                                  error=exc) from exc
    return len(rows)


def export_csv(db: Database) -> str:
    """Every term as CSV text (ru,en,kk), the format import_csv reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; quotes fields holding a bare CR
    writer.writerow((*COLUMNS, *PERIOD))
    for term in load_terms(db):
        writer.writerow([escape_cell(term.source), escape_cell(term.targets.get("en", "")),
                         escape_cell(term.targets.get("kk", "")), term.valid_from or "", term.valid_until or "",
                         " ".join(sorted(term.forbidden))])
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
    return term_from_row(rows[0])


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
