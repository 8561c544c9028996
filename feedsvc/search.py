"""Full-text search over one language's texts: word forms, prefixes, names in any spelling, marked snippets.

Each query word matches the text as written, or by its stem in the page's language, or as a name (its
transliteration skeleton, as a prefix: a declined Ашимбаевым is still Ashimbayev). A trailing ``*`` makes a
word a prefix (``Сенат*``); every other character of FTS5's query syntax is dropped, so a reader's query is
only ever quoted words. Results come in tiers — every word as written, then with stems, then with names —
each in FTS5's rank (title above body; see migration m015).
"""

import json
import re
from dataclasses import dataclass

from sqlite_utils import Database

from feedsvc.config import SOURCE_LANGUAGE
from feedsvc.releases import PUBLISHED_SQL
from feedsvc.releases import VISIBLE_SQL
from feedsvc.releases import LocalizedRelease
from feedsvc.releases import localize_rows
from feedsvc.releases import moment
from feedsvc.text.names import skeleton
from feedsvc.text.stemming import MIN_NAME_KEY
from feedsvc.text.stemming import TOKEN
from feedsvc.text.stemming import stem

# A query word and the star that makes it a prefix.
QUERY_WORD = re.compile(r"([^\W_]+)(\*?)")
# More words than this add nothing a reader needs, and each one lengthens the FTS5 query.
MAX_QUERY_WORDS = 12
# Where FTS5's highlight() opens and closes a match: control characters, never stored in a text.
OPEN, CLOSE = "\x01", "\x02"
MARKED = re.compile(rf"{OPEN}|{CLOSE}|[^\W_]+")
# A snippet: this many words of the body, starting a few words before the first match.
SNIPPET_WORDS, SNIPPET_LEAD = 30, 8
# Column groups of the index, in the order of its columns; highlight() is asked for each column by number.
TEXT, STEMS, NAMES = "{title body}", "{title_stems body_stems}", "{title_names body_names}"
COLUMNS = ("title", "body", "title_stems", "body_stems", "title_names", "body_names")
TITLE_COLUMNS, BODY_COLUMNS = (0, 2, 4), (1, 3, 5)
# The index's tokenizer (migration m015), for the temporary table the marks are made in.
TOKENIZE = "unicode61 remove_diacritics 0"
CYRILLIC_LANGUAGES = ("ru", "kk")
# A common word matches most of a national archive: only its newest RANK_WINDOW matches are ranked. FTS5 reads a
# word's matches newest first without scoring them; ranking them all would cost in proportion to the archive.
RANK_WINDOW = 2_000
# How Russian and Kazakh surnames end (Ашимбаев, Иванов, Пушкин, Бекенов): a stem ending so is a name's stem.
SURNAME_STEMS = ("ов", "ев", "ёв", "ин", "ын")

Piece = tuple[str, bool]


@dataclass(frozen=True)
class QueryWord:
    """One word of a reader's query: as typed, and whether a trailing ``*`` made it a prefix."""

    text: str
    prefix: bool


@dataclass(frozen=True)
class Hit:
    """A search result: the release in the page's language, its title and a snippet as (text, marked) pieces.

    ``tier`` says how it matched: 0 every word as written, 1 with stems, 2 with names in another spelling.
    """

    release: LocalizedRelease
    tier: int
    title: list[Piece]
    snippet: list[Piece]


def parse(query: str) -> list[QueryWord]:
    """The words of a reader's query (letters and digits; a ``*`` right after one makes it a prefix)."""
    words = [QueryWord(match[1], bool(match[2])) for match in QUERY_WORD.finditer(query)]
    return words[:MAX_QUERY_WORDS]


def phrase(token: str, prefix: bool) -> str:
    """One quoted FTS5 phrase (a token holds no quote: it is letters and digits only), maybe a prefix."""
    return f'"{token}"' + (" *" if prefix else "")


def name_keys(word: QueryWord, lang: str) -> set[str]:
    """The skeletons a name typed as ``word`` is indexed under (each searched as a prefix, so endings pass).

    A declined surname with a consonant ending (Ашимбаевым, Әшімбаевтың) also gives its stem's skeleton, when
    that stem ends as surnames do: the stemmer of the word's script (a Cyrillic word typed on the English page
    is read as Russian) would cut Ашимбаев itself to ашимба, whose skeleton is a prefix of other names too.
    """
    keys = {skeleton(word.text)}
    if not word.text.isascii():
        word_stem = stem(word.text, lang if lang in CYRILLIC_LANGUAGES else SOURCE_LANGUAGE)
        if word_stem.endswith(SURNAME_STEMS):
            keys.add(skeleton(word_stem))
    return {key for key in keys if len(key) >= MIN_NAME_KEY}


def match_expression(words: list[QueryWord], lang: str, tier: int) -> str:
    """The FTS5 query of a tier: every word as written (0), or also by stem (1), or also as a name (2)."""
    parts = []
    for word in words:
        options = [f"{TEXT}: {phrase(word.text.lower(), word.prefix)}"]
        if tier >= 1:
            form = word.text.lower() if word.prefix else stem(word.text, lang)
            options.append(f"{STEMS}: {phrase(form, word.prefix)}")
        if tier >= 2:
            options += [f"{NAMES}: {phrase(key, True)}" for key in sorted(name_keys(word, lang))]
        parts.append("(" + " OR ".join(options) + ")")
    return " AND ".join(parts)


def find(db: Database, lang: str, query: str, *, limit: int = 50) -> list[Hit]:
    """Published releases matching ``query`` in ``lang``'s text (Russian originals for ru), best first.

    One query per tier, each only while fewer than ``limit`` were found, so a common word costs what it
    did before stems (ranking every match of one tier) and the wider tiers rank only what is left.
    """
    words = parse(query)
    table = "releases_fts" if lang == SOURCE_LANGUAGE else "translations_fts"
    found: list[tuple[dict, int]] = []
    expressions = [match_expression(words, lang, tier) for tier in range(3)] if words else []
    for tier, expression in enumerate(expressions):
        if len(found) < limit and expression not in expressions[:tier]:
            rows = matching(db, table, lang, expression, [row["search_rowid"] for row, _ in found], limit - len(found))
            found += [(row, tier) for row in rows]
    rows = [row for row, _ in found]
    marks = highlights(db, expressions[-1], rows) if rows else {}
    return [hit(release, tier, marks.get(number, {}))
            for number, (release, (_, tier)) in enumerate(zip(localize_rows(db, rows, lang), found, strict=True))]


def matching(db: Database, table: str, lang: str, expression: str, seen: list[int], limit: int) -> list[dict]:
    """Published releases whose ``lang`` text matches an FTS5 expression, in rank order, but those ``seen``."""
    if lang == SOURCE_LANGUAGE:
        source, visible = "join releases r on r.rowid = f.rowid", ""
    else:
        source = "join translations t on t.rowid = f.rowid join releases r on r.id = t.release_id"
        visible = f"and t.lang = :lang and {PUBLISHED_SQL}"
    stored = ", ".join(f"f.{column} as search_{column}" for column in COLUMNS)
    sql = f"""select r.*, f.rowid as search_rowid, {stored} from {table} f {source}
        where {table} match :q and f.rowid >= :floor and {VISIBLE_SQL} {visible}
        and f.rowid not in (select value from json_each(:seen)) order by rank limit :limit"""
    return list(db.query(sql, {"q": expression, "lang": lang, "seen": json.dumps(seen), "limit": limit, "now": moment(),
                               "floor": rank_floor(db, table, expression)}))


def rank_floor(db: Database, table: str, expression: str) -> int:
    """The lowest index row number among the newest RANK_WINDOW matches of an expression (0 if fewer match)."""
    row = db.execute(f"select rowid from {table} where {table} match ? order by rowid desc limit 1 offset ?",
                     [expression, RANK_WINDOW - 1]).fetchone()
    return row[0] if row else 0


def highlights(db: Database, expression: str, rows: list[dict]) -> dict[int, dict]:
    """FTS5's highlight() of each index column of the results, by their number in ``rows``.

    Run on a copy of just these rows in a temporary FTS5 table (in memory, this connection's own): on the
    whole index every row's highlight() would read each prefix's terms in all texts again.
    """
    db.execute(f"create virtual table if not exists temp.search_marks using fts5({', '.join(COLUMNS)}, "
               f"tokenize='{TOKENIZE}')")
    marks = ", ".join(f"highlight(search_marks, {n}, :open, :close) as mark_{n}" for n in range(len(COLUMNS)))
    try:
        db.conn.executemany(f"insert into temp.search_marks (rowid, {', '.join(COLUMNS)}) values "
                            f"({', '.join('?' * (len(COLUMNS) + 1))})",
                            [(n, *(row[f"search_{column}"] for column in COLUMNS)) for n, row in enumerate(rows)])
        query = f"select rowid, {marks} from temp.search_marks where search_marks match :q"
        return {row["rowid"]: row for row in db.query(query, {"q": expression, "open": OPEN, "close": CLOSE})}
    finally:
        db.execute("delete from temp.search_marks")


def hit(release: LocalizedRelease, tier: int, marks: dict) -> Hit:
    """A result with the words FTS5 marked in the text, its stems or its names marked in the shown text."""
    title_marks = set().union(*(marked_words(marks.get(f"mark_{column}")) for column in TITLE_COLUMNS))
    body_marks = set().union(*(marked_words(marks.get(f"mark_{column}")) for column in BODY_COLUMNS))
    return Hit(release=release, tier=tier, title=pieces(release.title, title_marks),
               snippet=snippet(release.body, body_marks))


def marked_words(highlighted: str | None) -> set[int]:
    """The numbers of the words FTS5's highlight() put between OPEN and CLOSE (a phrase may span several)."""
    numbers: set[int] = set()
    inside, number = False, 0
    for match in MARKED.finditer(highlighted or ""):
        if match[0] in (OPEN, CLOSE):
            inside = match[0] == OPEN
            continue
        if inside:
            numbers.add(number)
        number += 1
    return numbers


def pieces(text: str, marked: set[int], first: int = 0, last: int | None = None) -> list[Piece]:
    """``text`` (words ``first``…``last`` of it, with the gap before and after) as plain and marked pieces."""
    words = list(TOKEN.finditer(text))
    last = len(words) - 1 if last is None else min(last, len(words) - 1)
    start = words[first].start() if first and words else 0
    end = words[last].end() if words and last < len(words) - 1 else len(text)
    result, at = [], start
    for number in sorted(n for n in marked if first <= n <= last):
        word = words[number]
        result += [(text[at:word.start()], False), (word[0], True)]
        at = word.end()
    result.append((text[at:end], False))
    return [piece for piece in result if piece[0]]


def snippet(body: str, marked: set[int]) -> list[Piece]:
    """About SNIPPET_WORDS words of the body around its first match (its start when only the title matched)."""
    first = max(0, min(marked, default=0) - SNIPPET_LEAD)
    last = first + SNIPPET_WORDS - 1
    result = pieces(body, marked, first, last)
    if first:
        result.insert(0, ("… ", False))
    if last < len(TOKEN.findall(body)) - 1:
        result.append((" …", False))
    return result
