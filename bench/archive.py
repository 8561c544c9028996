"""A national archive: the pages and queries readers, crawlers and editors use, at 100,000 releases against 100.

Builds two temporary instances with bench/serve.py's builders (Russian releases, English translations) plus
Kazakh translations written straight into SQLite, a few translations held for review and one release naming a
rare person. Then, interleaved so that drift hits both alike, it times in-process requests (Flask's test
client, one at a time) to: the subscription feed, a release page, index page 1 and the last page, a search for
a common word (by relevance and newest first) and for the rare name, a sitemap file, an archive page, the admin
release list and the review queue (the admin list filtered to held translations). Each line prints p50 at both
sizes and their ratio; the target is a ratio of at most 1.5: a page must not get slower as the archive grows.

Two columns: "warm" is what a reader gets while nothing changes (feeds, index pages and sitemaps are served
from the response cache); "cold" is the first request after a change (the cache's version is bumped before
each request), which pays for building the page.

    .venv/bin/python bench/archive.py            # 100,000 releases: building takes minutes
    .venv/bin/python bench/archive.py --smoke    # 100 against 1,000, seconds
"""

import argparse
import csv
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import serve  # noqa: E402 (bench/serve.py's builders, one folder up the path)

SMALL, BIG, SMOKE_BIG = 100, 100_000, 1_000
TARGET = 1.5
RARE_NAME = "Жаксыбеков"
# Kazakh translations waiting for an editor (the review queue): one in HELD_EVERY, and the HELD_OLDEST oldest, so
# that the queue's first page is full at every size.
HELD_EVERY, HELD_OLDEST = 500, 60
PASSWORD = "archive-bench-password"


def kazakh_sentences() -> list[str]:
    """Kazakh sentences of the demo corpus, to write stand-in Kazakh translations with."""
    from feedsvc.demo import DEMO_DIR

    with open(DEMO_DIR / "corpus.tsv", encoding="utf-8") as fh:
        return [row["kk"] for row in csv.DictReader(fh, delimiter="\t")]


def kazakh_translation(rng: random.Random, sentences: list[str]) -> tuple[str, str]:
    """A stand-in Kazakh machine translation: a title and five paragraphs of corpus sentences."""
    body = "\n\n".join(" ".join(rng.choice(sentences) for _ in range(rng.randint(2, 4))) for _ in range(5))
    return rng.choice(sentences), body


def build(folder: Path, count: int) -> float:
    """serve.py's instance (Russian, English) plus Kazakh, held translations, a rare name and an editor."""
    from feedsvc import clock
    from feedsvc.storage import connect
    from feedsvc.storage import write
    from feedsvc.web import users

    started = time.perf_counter()
    serve.build_instance(folder, count)
    db = connect(str(folder / "feedsvc.db"))
    db.execute("update translations set status = 'machine' where status = 'done'")  # serve.py's older state
    rng, sentences = random.Random(serve.SEED), kazakh_sentences()
    ids = [row[0] for row in db.execute("select id from releases order by id")]
    for start in range(0, len(ids), 2000):
        with write(db):
            rows = []
            for release_id in ids[start:start + 2000]:
                title, body = kazakh_translation(rng, sentences)
                status = "held" if release_id % HELD_EVERY == 0 or release_id <= HELD_OLDEST else "machine"
                rows.append({"release_id": release_id, "lang": "kk", "title": title, "body": body, "status": status,
                             "origin": "machine", "route": "ru→en→kk", "source_revision": 1, "error": None,
                             "updated_at": clock.utcnow()})
            db.table("translations").upsert_all(rows, pk=("release_id", "lang"))
    with write(db):
        db.execute("update jobs set status = 'done' where status = 'queued' and release_id <= ?", [ids[-4]])
        db.execute("update releases set body = body || ? where id = ?", [f"\n\nВстречу провёл {RARE_NAME}.",
                                                                         ids[len(ids) // 2]])
    users.create_user(db, "editor", PASSWORD)
    db.execute("PRAGMA optimize")
    db.close()
    return time.perf_counter() - started


class Site:
    """One instance's app, with an anonymous reader and a logged-in editor (Flask test clients)."""

    def __init__(self, folder: Path):
        """The production app on this folder's database, as gunicorn would create it."""
        from feedsvc.migrations import migrate
        from feedsvc.storage import connect
        from feedsvc.web import create_app

        db = connect(str(folder / "feedsvc.db"))
        migrate(db)  # instances kept from an earlier run (--instances) get this code's schema
        db.close()
        self.app = create_app({"DATABASE": str(folder / "feedsvc.db"), "UPLOAD_FOLDER": str(folder / "uploads"),
                               "SECRET_KEY": "archive-bench", "RATELIMIT_ENABLED": False,
                               "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost"})
        self.reader, self.editor = self.app.test_client(), self.app.test_client()
        answer = self.editor.post("/admin/login", data={"username": "editor", "password": PASSWORD})
        assert answer.status_code == 302, "the bench editor could not log in"

    def paths(self) -> dict[str, tuple[str, bool]]:
        """Each measured page: (path, whether an editor asks for it)."""
        from feedsvc import releases
        from feedsvc.storage import connect

        db = connect(self.app.config["DATABASE"])
        count = releases.count_published(db)
        middle = db.execute("select id from releases order by id limit 1 offset ?", [count // 2]).fetchone()[0]
        translation = releases.translations_of(db, middle).get("en")
        view = releases.localized(releases.get_release(db, middle), translation, "en")
        last_page = -(-count // self.app.config["PAGE_SIZE"])
        archive = self.reader.get("/en/feed.atom").get_data(as_text=True)
        db.close()
        assert 'rel="prev-archive"' in archive, "the feed names no archive page"
        archive_path = archive.split('rel="prev-archive"')[0].rsplit('href="', 1)[1].split('"')[0]
        return {
            "subscription feed": ("/en/feed.atom", False),
            "release page": (f"/en/releases/{view.id}-{view.slug}", False),
            "index page 1": ("/en/", False),
            "index last page": (f"/en/?page={last_page}", False),
            "search, common word": ("/ru/search?q=Сенат", False),
            "search, common word, newest first": ("/ru/search?q=Сенат&sort=date", False),
            "search, rare name": (f"/ru/search?q={RARE_NAME}", False),
            "sitemap file": ("/sitemaps/en-1.xml", False),
            "archive page": (archive_path.replace("http://localhost", ""), False),
            "admin release list": ("/admin/", True),
            "review queue": ("/admin/?translation=held", True),
        }

    def time_request(self, path: str, editor: bool, cold: bool) -> float:
        """Milliseconds for one request; ``cold`` first bumps the change counter (as any write would)."""
        if cold:
            from feedsvc.storage import connect

            db = connect(self.app.config["DATABASE"])
            db.execute("update site_state set version = version + 1 where id = 1")
            db.close()
        client = self.editor if editor else self.reader
        started = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, f"{path}: {response.status_code}"
        return elapsed


def measure(sites: dict[str, Site], paths: dict, repeats: int) -> dict[tuple[str, str, str], float]:
    """p50 milliseconds per (page, mode, site), the sites interleaved request by request."""
    samples: dict[tuple[str, str, str], list[float]] = {}
    for name in paths["small"]:
        for mode in ("warm", "cold"):
            for size, site in sites.items():  # one untimed request: templates compiled, pages cached
                site.time_request(*paths[size][name], cold=False)
            for _ in range(repeats):
                for size, site in sites.items():
                    path, editor = paths[size][name]
                    samples.setdefault((name, mode, size), []).append(site.time_request(path, editor, mode == "cold"))
    return {key: statistics.median(values) for key, values in samples.items()}


def report(p50: dict, paths: dict, big: int) -> int:
    """Print one line per page; returns how many miss the target (warm and cold both count)."""
    print(f"{'page':<34} {'warm p50 100':>13} {f'at {big:,}':>12} {'ratio':>6}   {'cold p50 100':>13} "
          f"{f'at {big:,}':>12} {'ratio':>6}")
    missed = 0
    for name in paths["small"]:
        cells = []
        for mode in ("warm", "cold"):
            small, large = p50[(name, mode, "small")], p50[(name, mode, "big")]
            ratio = large / small
            missed += ratio > TARGET
            cells.append(f"{small:>10.2f} ms {large:>9.2f} ms {ratio:>6.2f}{' ✗' if ratio > TARGET else '  '}")
        print(f"{name:<34} {'  '.join(cells)}")
    return missed


def main() -> int:
    """Build both instances, measure, print; exit status 0 even when a ratio misses (it is a measurement)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help=f"{SMALL} against {SMOKE_BIG:,} releases, few repeats")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instances")
    parser.add_argument("--instances", type=Path, help="build the instances here once, and reuse them next time")
    args = parser.parse_args()
    big, repeats = (SMOKE_BIG, 3) if args.smoke else (BIG, 11)
    work = args.instances or Path(tempfile.mkdtemp(prefix="feedsvc-archive-"))
    try:
        sizes = {"small": SMALL, "big": big}
        for name, count in sizes.items():
            if (work / name / "feedsvc.db").exists() and args.instances:
                print(f"instance with {count:>7,} releases reused from {work / name}", flush=True)
                continue
            print(f"instance with {count:>7,} releases built in {build(work / name, count):.1f} s", flush=True)
        sites = {name: Site(work / name) for name in sizes}
        paths = {name: site.paths() for name, site in sites.items()}
        missed = report(measure(sites, paths, repeats), paths, big)
        print(f"target: p50 at {big:,} ÷ p50 at {SMALL} ≤ {TARGET}; {missed} of {2 * len(paths['small'])} miss it")
    finally:
        if args.keep or args.instances:
            print(f"instances kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
