"""Full-text search over one language's texts: word forms, prefixes, names in any spelling, marked snippets.

Each query word matches the text as written, or by its stem in the page's language, or as a name (its
transliteration skeleton, as a prefix: a declined Ашимбаевым is still Ashimbayev). A trailing ``*`` makes a
word a prefix (``Сенат*``); every other character of FTS5's query syntax is dropped, so a reader's query is
only ever quoted words. Results come in tiers — every word as written, then with stems, then with names —
each in FTS5's rank (title above body; see migration m015), then any match left, newest first; or all newest first.
A query that finds nothing tries the index's words one letter away from its own (Ашимбаеф: Ашимбаев, Majilis:
Mazhilis), compared as they sound in Latin letters (``names.phonetic``) or by their name skeletons.
Results come a page at a time, with their total (up to MAX_TOTAL), filtered by category and publication dates.
"""

import functools
import json
import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.config import SOURCE_LANGUAGE
from feedsvc.releases import PUBLISHED_SQL
from feedsvc.releases import VISIBLE_SQL
from feedsvc.releases import LocalizedRelease
from feedsvc.releases import localize_rows
from feedsvc.releases import moment
from feedsvc.text.editions import EDITIONS
from feedsvc.text.editions import base_language
from feedsvc.text.editions import in_script
from feedsvc.text.names import one_edit_apart
from feedsvc.text.names import phonetic
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
# The index's stored texts as a found row carries them (hits mark the matches in them).
STORED = ", ".join(f"f.{column} as search_{column}" for column in COLUMNS)
TITLE_COLUMNS, BODY_COLUMNS = (0, 2, 4), (1, 3, 5)
# The index's tokenizer (migration m015), for the temporary table the marks are made in.
TOKENIZE = "unicode61 remove_diacritics 0"
CYRILLIC_LANGUAGES = ("ru", "kk")
# A common word matches most of a national archive: only its newest RANK_WINDOW matches are ranked. FTS5 reads a
# word's matches newest first without scoring them; ranking them all would cost in proportion to the archive.
RANK_WINDOW = 2_000
# Its matches are counted up to MAX_TOTAL too (the page says "more than"): an exact count would join every match
# to its release (170 ms for a word in each of 100,000 releases), and few readers turn that far (pages go on past
# the count all the same: Results.further).
MAX_TOTAL = 1_000
# How Russian and Kazakh surnames end (Ашимбаев, Иванов, Пушкин, Бекенов): a stem ending so is a name's stem.
SURNAME_STEMS = ("ов", "ев", "ёв", "ин", "ын")

# Words shorter than this (as they sound) are not corrected: one letter makes another word of most short ones.
MIN_FUZZY = 5
# At most this many of the index's words stand in for one word of a query that found nothing.
MAX_SIMILAR = 8
# The letters a word of the index may start with (the alphabets of the site's languages).
LETTERS = "abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі"
# A longer query is refused (400, with a hint): no reader types 4 KB, and every byte is read in each tier. The
# search box takes MAX_QUERY_CHARS characters, which stay under it even in Cyrillic, and under gunicorn's request
# line limit (feedsvc serve) when URL-encoded.
MAX_QUERY_BYTES = 4096
MAX_QUERY_CHARS = 1000
# Where the fuzzy tier sits among the tiers (0 as written, 1 stems, 2 names).
FUZZY_TIER = 3

Piece = tuple[str, bool]


@dataclass(frozen=True)
class SearchFilter:
    """What a reader narrows a search to: a category (the original's name), publication dates (``since``
    inclusive, ``until`` exclusive, timezone-aware)."""

    category: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def sql(self) -> tuple[str, dict]:
        """The conditions (on releases ``r``, each starting with ``and``) and their parameters."""
        conditions = [condition for value, condition in (
            (self.category, "and r.category = :category"), (self.since, "and r.published_at >= :since"),
            (self.until, "and r.published_at < :until")) if value]
        return " ".join(conditions), {"category": self.category, "since": self.since and clock.iso(self.since),
                                      "until": self.until and clock.iso(self.until)}


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


@dataclass(frozen=True)
class Results:
    """One page of a search: its hits, how many releases match in all (at most MAX_TOTAL: ``more`` when others
    match too), and whether words were corrected (``similar``: nothing matched as typed, these are the matches of
    words one letter away)."""

    hits: list[Hit]
    total: int
    page: int
    size: int
    similar: list[str] = field(default_factory=list)
    more: bool = False
    # Whether a match follows this page's last (past the counted ones, the only way to know another page exists).
    further: bool = False

    @property
    def pages(self) -> int:
        """How many pages there are as far as known: those the counted matches fill (at least one), and past
        them, with ``more``, up to this page (if it holds a match) and the next (if a match follows)."""
        counted = max(1, -(-self.total // self.size))
        if not self.more:
            return counted
        return max(counted, self.page + 1 if self.further else self.page if self.hits else 0)


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
    """The FTS5 query of a tier: every word as written (0), or also by stem (1), or also as a name (2); a word
    typed in an edition's script (Qazaqstan) also in each of its spellings in the language's own (Қазақстан)."""
    parts = []
    for typed in words:
        options = []
        for word in spellings(typed, lang):
            options.append(f"{TEXT}: {phrase(word.text.lower(), word.prefix)}")
            if tier >= 1:
                form = word.text.lower() if word.prefix else stem(word.text, lang)
                options.append(f"{STEMS}: {phrase(form, word.prefix)}")
            if tier >= 2:
                options += [f"{NAMES}: {phrase(key, True)}" for key in sorted(name_keys(word, lang))]
        parts.append("(" + " OR ".join(dict.fromkeys(options)) + ")")
    return " AND ".join(parts)


def spellings(word: QueryWord, lang: str) -> list[QueryWord]:
    """The word as typed, and, in a language an edition writes in another script, the word's spellings in the
    language's own script (a bounded few: the way back is ambiguous)."""
    others = [text for found in EDITIONS.values() if found.base == lang for text in found.spellings(word.text)]
    return [word, *(QueryWord(text, word.prefix) for text in others)]


def find(db: Database, lang: str, query: str, *, page: int = 1, size: int = 20, sort: str = "relevance",
         filters: SearchFilter = SearchFilter()) -> Results:
    """One page of the published releases matching ``query`` in ``lang``'s text (Russian originals for ru), best
    or newest first, with their total.

    By relevance, one query per tier, each only while fewer than the page's end were found, so a common word
    costs what it did before stems (ranking every match of one tier) and the wider tiers rank only what is left.
    """
    words, shown_lang, lang = parse(query), lang, base_language(lang)  # an edition searches its base's texts
    table = "releases_fts" if lang == SOURCE_LANGUAGE else "translations_fts"
    expressions = [match_expression(words, lang, tier) for tier in range(3)] if words else []
    search = Search(db, table, lang, filters)
    total = search.count(expressions[-1]) if words else 0
    similar: list[str] = []
    if words and not total:
        # The index of translations holds every language's words: keep those this language's texts use.
        # A word in an edition's script is corrected in its likeliest spelling in the language's own.
        likeliest = [spelling for word in words for spelling in spellings(word, lang)[:2]]
        similar = [word for word in dict.fromkeys(similar_words(db, table, likeliest))
                   if search.count(f"{TEXT}: {phrase(word, False)}", limit=1)]
        if similar:
            expressions.append(expressions[-1] + " OR " + " OR ".join(f"{TEXT}: {phrase(w, False)}" for w in similar))
            total = search.count(expressions[-1])
    found = page_rows(search, expressions, page, size, sort, total > MAX_TOTAL)
    similar = [in_script(shown_lang, word) for word in similar]  # the index's words, as the page writes them
    return Results(hits(db, shown_lang, expressions, found[:size]), min(total, MAX_TOTAL), page, size,
                   similar if total else [], more=total > MAX_TOTAL, further=len(found) > size)


def page_rows(search: "Search", expressions: list[str], page: int, size: int, sort: str,
              common: bool) -> list[tuple[dict, int]]:
    """The page's matches with their tiers, and the first of the next page if there is one (past MAX_TOTAL the
    count stops, not the pages: newest first after the ranked ones, every match is reachable however common;
    ``common``: more than MAX_TOTAL match)."""
    widest = expressions[-1] if expressions else ""
    if sort == "date":
        rows = search.newest(widest, [], size + 1, skip=(page - 1) * size, common=common)
        return [(row, len(expressions) - 1) for row in rows]
    wanted = page * size + 1
    found = search.ranked(expressions, wanted)
    if len(found) < wanted:
        rest = search.newest(widest, [row for row, _ in found], wanted - len(found), common=common)
        found += [(row, len(expressions) - 1) for row in rest]
    return found[(page - 1) * size:]


def hits(db: Database, lang: str, expressions: list[str], found: list[tuple[dict, int]]) -> list[Hit]:
    """The found rows as hits, in the page's language, with their matches marked."""
    rows = [row for row, _ in found]
    marks = highlights(db, expressions[-1], rows) if rows else {}
    return [hit(release, tier, marks.get(number, {}))
            for number, (release, (_, tier)) in enumerate(zip(localize_rows(db, rows, lang), found, strict=True))]


@dataclass(frozen=True)
class Search:
    """The queries of one search: its index table, language and filters."""

    db: Database
    table: str
    lang: str
    filters: SearchFilter

    def source(self) -> tuple[str, dict]:
        """The FROM … WHERE part shared by every query (visible releases, the language, the filters) and its
        parameters; the FTS5 expression is ``:q``."""
        # CROSS JOIN: the matches first. Given the visibility's range on publication times, SQLite would rather walk
        # every visible release and run the full-text query once for each.
        if self.lang == SOURCE_LANGUAGE:
            joined, visible = "cross join releases r on r.rowid = f.rowid", ""
        else:
            joined = "cross join translations t on t.rowid = f.rowid cross join releases r on r.id = t.release_id"
            visible = f"and t.lang = :lang and {PUBLISHED_SQL}"
        conditions, values = self.filters.sql()
        return (f"from {self.table} f {joined} where {self.table} match :q and {VISIBLE_SQL} {visible} {conditions}",
                {**values, "lang": self.lang, "now": moment()})

    def count(self, expression: str, limit: int = MAX_TOTAL + 1) -> int:
        """How many releases match an expression, counted up to ``limit``."""
        source, values = self.source()
        return int(self.db.execute(f"select count(*) from (select 1 {source} limit :limit)",
                                   {**values, "q": expression, "limit": limit}).fetchone()[0])

    def ranked(self, expressions: list[str], limit: int) -> list[tuple[dict, int]]:
        """Up to ``limit`` matches, tier by tier, each tier in rank order, each row with its tier."""
        found: list[tuple[dict, int]] = []
        for tier, expression in enumerate(expressions):
            if len(found) < limit and expression not in expressions[:tier]:
                rows = self.rows(expression, [row for row, _ in found], limit - len(found))
                found += [(row, tier) for row in rows]
        return found

    def newest(self, expression: str, seen: list[dict], limit: int, *, skip: int = 0, common: bool) -> list[dict]:
        """Matches but those ``seen``, newest first, ``skip`` of them skipped. A ``common`` word's are found by
        walking the releases in publication order until the page is full (its matches are most of them), not by
        sorting every match (1.1 s for a word in each of 100,000 releases; a few milliseconds this way)."""
        if not common:
            return self.rows(expression, seen, limit, newest=True, skip=skip)
        return self.by_rowids(self.walk(expression, seen, limit, skip))

    def walk(self, expression: str, seen: list[dict], limit: int, skip: int) -> list[int]:
        """The index rowids of the newest matches (see newest): releases in publication order, each tested against
        the index by its rowid, stopping at ``limit``."""
        conditions, values = self.filters.sql()
        key, joined = self.joined()
        sql = f"""select {key} from releases r {joined} where {VISIBLE_SQL} {conditions}
            and exists (select 1 from {self.table} f where {self.table} match :q and f.rowid = {key})
            and {key} not in (select value from json_each(:seen))
            order by r.published_at desc, r.id desc limit :limit offset :skip"""
        return [rowid for (rowid,) in self.db.execute(sql, {
            **values, "lang": self.lang, "now": moment(), "q": expression, "limit": limit, "skip": skip,
            "seen": json.dumps([row["search_rowid"] for row in seen])})]

    def rows(self, expression: str, seen: list[dict], limit: int, *, newest: bool = False,
             skip: int = 0) -> list[dict]:
        """Matches of an expression but those ``seen``: in rank order among the newest RANK_WINDOW, or (``newest``)
        every match newest first, ``skip`` of them skipped."""
        if not expression or limit <= 0:
            return []
        source, values = self.source()
        order = "r.published_at desc, r.id desc" if newest else "rank"
        floor = 0 if newest else rank_floor(self.db, self.table, expression)
        sql = f"""select r.*, f.rowid as search_rowid, {STORED} {source} and f.rowid >= :floor
            and f.rowid not in (select value from json_each(:seen)) order by {order} limit :limit offset :skip"""
        return list(self.db.query(sql, {**values, "q": expression, "floor": floor, "limit": limit, "skip": skip,
                                        "seen": json.dumps([row["search_rowid"] for row in seen])}))

    def joined(self) -> tuple[str, str]:
        """The index rowid's column for a release ``r`` readable in the language, and the join that gives it."""
        if self.lang == SOURCE_LANGUAGE:
            return "r.rowid", ""
        return "t.rowid", f"join translations t on t.release_id = r.id and t.lang = :lang and {PUBLISHED_SQL}"

    def by_rowids(self, rowids: list[int]) -> list[dict]:
        """The rows of these index rowids (matches found already), in that order."""
        key, joined = self.joined()
        sql = f"""select r.*, f.rowid as search_rowid, {STORED} from json_each(:rowids) j
            cross join {self.table} f on f.rowid = j.value cross join releases r {joined} where {key} = f.rowid
            order by j.key"""
        return list(self.db.query(sql, {"rowids": json.dumps(rowids), "lang": self.lang}))


def similar_words(db: Database, table: str, words: list[QueryWord]) -> list[str]:
    """Words of the index's texts one letter away from a query word, as they sound or as names (the most
    used first, at most MAX_SIMILAR a word); [] for words too short or prefixes."""
    vocabulary = f"temp.{table}_words"
    db.execute(f"create virtual table if not exists {vocabulary} using fts5vocab(main, {table}, col)")
    similar: list[str] = []
    for word in words:
        sound, key = phonetic(word.text), skeleton(word.text)
        if word.prefix or len(sound) < MIN_FUZZY:
            continue
        candidates: dict[str, int] = {}
        for letter in first_letters(sound[0]):
            for term, count in db.execute(f"""select term, sum(doc) from {vocabulary} where term >= ? and term < ?
                    and col in ('title', 'body') group by term""", [letter, letter + "\uffff"]):
                if near(sound, key, term):
                    candidates[term] = count
        similar += sorted(candidates, key=lambda term: -candidates[term])[:MAX_SIMILAR]
    return similar


def near(sound: str, key: str, term: str) -> bool:
    """Whether an index word is one letter from a query word: as it sounds, or (long names) by its skeleton."""
    other = phonetic(term)
    if abs(len(other) - len(sound)) > 2:
        return False
    if one_edit_apart(sound, other):
        return True
    other_key = skeleton(term)
    return len(key) >= MIN_FUZZY and len(other_key) == len(key) and one_edit_apart(key, other_key)


@functools.cache
def first_letters(sound: str) -> tuple[str, ...]:
    """The letters of the site's alphabets whose sound starts with ``sound`` (m: m and м; a: a, а and ә)."""
    return tuple(letter for letter in LETTERS if phonetic(letter)[:1] == sound)


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
