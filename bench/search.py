"""What search finds before and after word forms: releases found per query and language, on the demo data.

    .venv/bin/python bench/search.py [--archive N]

The demo instance as `make run` makes it (the 4 demo releases, translated by the demo models through the
real worker), plus the demo corpus (feedsvc/demo/corpus.tsv: 130 sentences with people's English and Kazakh
translations) as 26 more releases of 5 sentences each, their translations stored as reviewed. "Before" is
the query search used until migration m015: each word quoted, matched as written in title and body (the
same unicode61 tokenizer, on the same title and body columns); "after" is feedsvc.search.find.

Then the same data copied until the archive holds N releases (default 10,000; each copy written through the
triggers, as any write is) and the median time of each query's find() there, results and snippets included.
"""

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.checks import instance  # noqa: E402
from feedsvc import releases  # noqa: E402
from feedsvc import search  # noqa: E402
from feedsvc.demo import DEMO_DIR  # noqa: E402
from feedsvc.states import TranslationStatus  # noqa: E402

CHUNK = 5
# (language, query): the examples and each query form.
QUERIES = [
    ("ru", "закон"), ("ru", "закона"), ("ru", "Ашимбаев"), ("ru", "Ашимбаева"), ("ru", "Ashimbaev"),
    ("ru", "Ashimbayev"), ("ru", "Сенат*"), ("ru", "сенаторы"), ("ru", "заседании"),
    ("en", "senator"), ("en", "senators"), ("en", "law"), ("en", "Ashimbaev"), ("en", "Ashimbayev"),
    ("en", "Ашимбаев"), ("en", "Senat*"), ("en", "meeting"),
    ("kk", "Сенат"), ("kk", "Сенатының"), ("kk", "заң"), ("kk", "Ашимбаев"), ("kk", "Ashimbaev"),
    ("kk", "Сенат*"), ("kk", "депутаттар"),
]


def add_corpus(db) -> int:
    """The corpus as releases of CHUNK sentences, with their people-written translations, reviewed."""
    with (DEMO_DIR / "corpus.tsv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE))
    count = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        texts = {lang: (chunk[0][lang], " ".join(row[lang] for row in chunk[1:]) or chunk[0][lang])
                 for lang in ("ru", "en", "kk")}
        release = releases.create_release(db, title=texts["ru"][0], body=texts["ru"][1],
                                          published_at=releases.clock.now(), publish=True, languages=("kk", "en"))
        for lang in ("en", "kk"):
            db.table("translations").update((release["id"], lang), {
                "title": texts[lang][0], "body": texts[lang][1], "status": TranslationStatus.REVIEWED,
                "origin": "human"})
        db.execute("delete from jobs where release_id = ?", [release["id"]])
        count += 1
    return count


def before(db, lang: str, query: str) -> list[dict]:
    """What the search before m015 found (its query: quoted words, as written, in title and body)."""
    words = [word.text for word in search.parse(query)]
    expression = " ".join(f'{search.TEXT}: "{word.lower()}"' for word in words)
    if lang == "ru":
        sql = """select r.* from releases_fts f join releases r on r.rowid = f.rowid
            where releases_fts match :q and r.status = 'published' order by rank limit 50"""
    else:
        sql = f"""select r.* from translations_fts f join translations t on t.rowid = f.rowid
            join releases r on r.id = t.release_id where translations_fts match :q and t.lang = :lang
            and {releases.PUBLISHED_SQL} and r.status = 'published' order by rank limit 50"""
    return releases.localize_rows(db, list(db.query(sql, {"q": expression, "lang": lang})), lang)


def grow(db, total: int) -> float:
    """Copy the releases and their translations until there are ``total``; returns seconds per release written.

    Every column is copied (those a later migration adds too), so the copies are releases like any other.
    """
    base = db.execute("select max(id) from releases").fetchone()[0]
    unique = ("id", "guid", "seq")  # made unique for each copy
    release_columns = ", ".join(c.name for c in db.table("releases").columns if c.name not in unique)
    last_seq = db.execute("select coalesce(max(seq), 0) from releases").fetchone()[0]
    translation_columns = ", ".join(c.name for c in db.table("translations").columns if c.name != "release_id")
    started, copies = time.perf_counter(), 0
    while (copies + 2) * base <= total:
        copies += 1
        with db.atomic():
            db.execute(f"""insert into releases (id, guid, seq, {release_columns}) select id + :offset,
                guid || '-' || :offset, seq + :seq_offset, {release_columns} from releases where id <= :base""",
                       {"offset": copies * base, "seq_offset": copies * last_seq, "base": base})
            db.execute(f"""insert into translations (release_id, {translation_columns}) select release_id + :offset,
                {translation_columns} from translations where release_id <= :base""",
                       {"offset": copies * base, "base": base})
    return (time.perf_counter() - started) / max(1, copies * base)


def first_50(db, lang: str, query: str) -> search.Results:
    """A search's first 50 results and their total (what the search page showed before it had pages)."""
    return search.find(db, lang, query, size=50)


def timed(find, db, lang: str, query: str, repeat: int = 7) -> float:
    """The median milliseconds of one search (up to 50 results)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        find(db, lang, query)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(archive: int) -> tuple[list[dict], dict]:
    """Each query's count before and after, the tiers of what it finds after, and its time on a big archive."""
    with tempfile.TemporaryDirectory() as folder:
        _app, db, _engine, _settings = instance(Path(folder))
        add_corpus(db)
        results = []
        for lang, query in QUERIES:
            hits = first_50(db, lang, query).hits
            tiers = [sum(hit.tier == tier for hit in hits) for tier in range(3)]
            results.append({"lang": lang, "query": query, "before": len(before(db, lang, query)),
                            "after": len(hits), "tiers": tiers})
        write_ms = grow(db, archive) * 1000
        size = db.execute("select count(*) from releases").fetchone()[0]
        for row in results:
            row["ms"] = timed(first_50, db, row["lang"], row["query"])
            row["ms_before"] = timed(before, db, row["lang"], row["query"])
        return results, {"releases": size, "write_ms": write_ms}


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=int, default=10_000, help="releases in the archive timed")
    parser.add_argument("--smoke", action="store_true",
                        help="an archive of 100: proves the script runs (tests/test_bench.py)")
    args = parser.parse_args()
    results, archive = measure(100 if args.smoke else args.archive)
    print(f"| page | query | before | after | as written / by stem / as a name "
          f"| ms before / after, {archive['releases']:,} releases |")
    print("| --- | --- | ---: | ---: | --- | ---: |")
    for row in results:
        print(f"| /{row['lang']}/ | `{row['query']}` | {row['before']} | {row['after']} | "
              f"{' / '.join(map(str, row['tiers']))} | {row['ms_before']:.0f} / {row['ms']:.0f} |")
    print(f"\nWriting a release with its two translations (triggers included): {archive['write_ms']:.2f} ms")


if __name__ == "__main__":
    main()
