"""Serving under load: feedsvc's web app under gunicorn on 127.0.0.1, loaded with wrk.

Builds two temporary instances with realistic data (Russian releases of about six paragraphs, every
fifth with a photo, English translations done except for the newest three, Kazakh still queued): one
with 100 releases and one with 10,000. Both are served at once by ``gunicorn -w 2`` through
``bench_app()`` below, which is the production app plus a bare route answering a pre-read copy of the
feed's bytes. Then, interleaved so that drift hits every side alike, it measures:

- cached ``/en/feed.atom`` (50 items) requests/s against the bare route in the same gunicorn;
- the conditional GET answered 304 (``If-None-Match``) against the same bare route;
- feed and index latency (one reader at a time) with 10,000 releases against 100;
- the web process: import + ``create_app()`` time, a worker's resident memory after the load,
  and that argostranslate / ctranslate2 / torch / stanza are never imported;
- p50/p99 latency and requests/s under 50 concurrent readers (feed, index, and a mix of pages).

Needs Debian's wrk (``apt-get install wrk``). Only 127.0.0.1 is ever loaded. Run from the project root:

    .venv/bin/python bench/serve.py            # full run, about 3 minutes
    .venv/bin/python bench/serve.py --quick    # short run, about 1 minute
    .venv/bin/python bench/serve.py --smoke    # seconds: 20 and 200 releases, 1 s runs (tests/test_bench.py)
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261126
FEED, INDEX, BARE = "/en/feed.atom", "/en/", "/bench/bare"
HEAVY = ("argostranslate", "ctranslate2", "torch", "stanza")
SMALL, BIG = 100, 10_000
SMOKE_SIZES = (20, 200)  # --smoke: every step on small instances; the numbers mean nothing
WORKERS = 2

# --- realistic text -----------------------------------------------------------------------------------

SENATORS = ["Маулен Ашимбаев", "Ольга Перепечина", "Нурлан Бекназаров", "Жанна Асанова", "Суйндик Алдашев",
            "Ерлан Сайров", "Бекбол Орынбеков", "Али Бектаев", "Руслан Рустемов", "Гаухар Нугманова"]
REGIONS = ["Акмолинской", "Карагандинской", "Туркестанской", "Павлодарской", "Костанайской", "Жамбылской",
           "Мангистауской", "Абайской", "Улытауской", "Северо-Казахстанской"]
TOPICS = ["местного самоуправления", "государственных закупок", "образования", "здравоохранения",
          "агропромышленного комплекса", "цифровизации", "водных ресурсов", "жилищного строительства",
          "социальной защиты", "налогового администрирования", "охраны окружающей среды", "транспорта"]
CATEGORIES = ["Пленарные заседания", "Встречи", "Законотворчество", "Международное сотрудничество",
              "Региональные поездки", ""]
TITLES = [
    "Сенат принял закон в сфере {topic}",
    "{senator} встретился с депутатами маслихата {region} области",
    "Сенаторы обсудили вопросы {topic} в {region} области",
    "В Сенате прошли парламентские слушания по вопросам {topic}",
    "Спикер Сената провел заседание Бюро Палаты",
    "Депутаты Сената одобрили поправки в сфере {topic}",
    "{senator} принял участие в заседании рабочей группы",
]
SENTENCES = [
    "Сегодня, {date}, под председательством {senator_gen} состоялось пленарное заседание Сената.",
    "Депутаты рассмотрели {n} вопросов, в том числе закон в сфере {topic}.",
    "Закон расширяет полномочия маслихатов и вводит ежегодный отчет акима перед населением.",
    "Документ был разработан по поручению Главы государства и прошел широкое общественное обсуждение.",
    "«Решения должны быть понятными людям, а их исполнение – прозрачным», - сказал {senator}.",
    "По словам сенатора, в {region} области за последние {n} лет построено более {big} км дорог.",
    "Сенаторы обратили внимание на необходимость своевременного финансирования программ в сфере {topic}.",
    "Закон вступит в силу по истечении десяти календарных дней после его первого официального опубликования.",
    "В ходе встречи обсуждены вопросы развития {topic}, т.е. меры поддержки сельских округов.",
    "Участники встречи отметили, что за {n} месяцев текущего года объем инвестиций вырос на {pct}%.",
    "Председатель Сената подчеркнул важность открытого диалога между государственными органами и обществом.",
    "Также сенаторы одобрили {n} ратификационных закона и направили их на подпись Главе государства.",
    "Как отметил {senator}, работа по совершенствованию законодательства в сфере {topic} будет продолжена.",
    "На заседании выступили представители министерств, акиматов и неправительственных организаций.",
    "В {region} области реализуются {n} инвестиционных проектов общей стоимостью {big} млрд тенге.",
    "Депутаты поручили Правительству представить информацию о ходе исполнения закона до {date}.",
    "Особое внимание уделено вопросам занятости молодежи и развитию малого и среднего бизнеса.",
    "По итогам обсуждения выработаны рекомендации, которые будут направлены в Правительство.",
]
CONTACT = "(Пресс-служба Сената, 74-72-27. Фото – {initial}.{surname})"
EN_TITLES = [
    "Senate passes law on {topic}", "Senators discuss {topic} with regional councils",
    "Parliamentary hearings on {topic} held in the Senate", "Senate Speaker chairs a meeting of the Bureau",
]
EN_SENTENCES = [
    "Today, {date}, the Senate held a plenary session chaired by the Speaker.",
    "The deputies considered {n} items, including a law on {topic}.",
    "The law widens the powers of maslikhats and introduces an annual report of the akim to residents.",
    "The document was drafted on the instruction of the Head of State and was widely discussed in public.",
    "\u201cDecisions must be clear to people, and their implementation transparent,\u201d the senator said.",
    "According to the senator, more than {big} km of roads have been built in the region in {n} years.",
    "The senators stressed the need for timely funding of programmes on {topic}.",
    "The law will enter into force ten calendar days after its first official publication.",
    "The participants noted that investment grew by {pct}% over {n} months of this year.",
    "The Chairman of the Senate stressed the importance of an open dialogue between the state and society.",
    "The senators also approved {n} ratification laws and sent them to the Head of State for signature.",
    "Work to improve the legislation on {topic} will continue, the senator noted.",
    "Representatives of ministries, akimats and non-governmental organizations spoke at the meeting.",
    "The deputies instructed the Government to report on the implementation of the law by {date}.",
]
EN_TOPICS = ["local self-government", "public procurement", "education", "healthcare", "agriculture",
             "digitalization", "water resources", "housing", "social protection", "tax administration"]


def fill(rng: random.Random, template: str, topics: list[str]) -> str:
    """A template with its placeholders filled from the pools."""
    senator = rng.choice(SENATORS)
    return template.format(
        topic=rng.choice(topics), senator=senator, senator_gen=senator.split()[0] + "а " + senator.split()[1] + "а",
        region=rng.choice(REGIONS), n=rng.randint(2, 12), big=rng.randint(100, 900), pct=rng.randint(3, 40),
        date=f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.20{rng.randint(16, 26)}",
    )


def text(rng: random.Random, sentences: list[str], topics: list[str], paragraphs: int) -> str:
    """``paragraphs`` paragraphs of 2–4 sentences each."""
    return "\n\n".join(" ".join(fill(rng, rng.choice(sentences), topics) for _ in range(rng.randint(2, 4)))
                       for _ in range(paragraphs))


def russian_release(rng: random.Random) -> tuple[str, str]:
    """Title and body of a press release: five paragraphs and the press service's contact line."""
    contact = CONTACT.format(initial=rng.choice("АЕМНС"), surname=rng.choice(["Укибаев", "Нурланов", "Ким"]))
    return fill(rng, rng.choice(TITLES), TOPICS), text(rng, SENTENCES, TOPICS, 5) + "\n\n" + contact


def english_translation(rng: random.Random) -> tuple[str, str]:
    """A stand-in machine translation of about the same length."""
    return (fill(rng, rng.choice(EN_TITLES), EN_TOPICS),
            text(rng, EN_SENTENCES, EN_TOPICS, 5) + "\n\n(Senate press service, 74-72-27.)")


# --- instances ------------------------------------------------------------------------------------------


def build_instance(folder: Path, count: int) -> float:
    """A database and upload folder holding ``count`` published releases; returns the seconds it took."""
    from feedsvc import clock
    from feedsvc import photos
    from feedsvc import releases
    from feedsvc.demo import demo_photo
    from feedsvc.migrations import migrate
    from feedsvc.states import JobStatus
    from feedsvc.states import Origin
    from feedsvc.states import TranslationStatus
    from feedsvc.storage import connect
    from feedsvc.storage import write

    started = time.perf_counter()
    (folder / "uploads").mkdir(parents=True)
    db = connect(str(folder / "feedsvc.db"))
    migrate(db)
    pictures = [photos.save_photo(demo_photo(i), str(folder / "uploads"), max_bytes=10**7, max_pixels=10**7)
                for i in range(4)]
    rng = random.Random(SEED)
    first_day = datetime(2016, 1, 11, 9, tzinfo=UTC)
    step = (datetime(2026, 11, 20, 9, tzinfo=UTC) - first_day) / count
    for batch in range(0, count, 500):
        done = []
        with write(db):  # one transaction per 500 releases; create_release nests as savepoints
            for number in range(batch, min(count, batch + 500)):
                title, body = russian_release(rng)
                photo = pictures[number % 4] if number % 5 == 0 else None
                release = releases.create_release(
                    db, title=title, body=body, category=rng.choice(CATEGORIES), publish=True,
                    published_at=first_day + step * number + timedelta(minutes=rng.randint(0, 600)),
                    photo=dict(photo) if photo else None, photo_caption="Заседание Сената" if photo else "",
                    photo_credit="Фото – Е.Укибаев" if photo else "", languages=("kk", "en")
                )
                if number < count - 3:  # the newest three still wait for the translation worker
                    en_title, en_body = english_translation(rng)
                    done.append({"release_id": release["id"], "lang": "en", "title": en_title, "body": en_body,
                                 "status": TranslationStatus.MACHINE, "origin": Origin.MACHINE, "route": "ru→en",
                                 "source_revision": 1,
                                 "error": None, "updated_at": clock.utcnow()})
            db.table("translations").upsert_all(done, pk=("release_id", "lang"))
    db.execute("update jobs set status = ? where lang = 'en' and release_id in "
               "(select release_id from translations where lang = 'en' and status = ?)",
               [JobStatus.DONE, TranslationStatus.MACHINE])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return time.perf_counter() - started


def release_paths(folder: Path, lang: str, limit: int) -> list[str]:
    """Canonical URLs of some published releases (no redirects: each at its slug in ``lang``), spread over the
    archive."""
    from feedsvc import releases
    from feedsvc.storage import connect

    db = connect(str(folder / "feedsvc.db"))
    ids = [row["id"] for row in db.query("select id from releases where status = 'published' order by id")]
    picked = ids[:: max(1, len(ids) // limit)][:limit]
    views = [releases.localized(releases.get_release(db, rid), releases.translations_of(db, rid).get(lang), lang)
             for rid in picked]
    db.close()
    return [f"/{lang}/releases/{view.id}-{view.slug}" for view in views]


def server_env(folder: Path) -> dict:
    """The environment gunicorn gets: configuration by FEEDSVC_* variables, as in production."""
    return {
        "FEEDSVC_DATABASE": str(folder / "feedsvc.db"),
        "FEEDSVC_UPLOAD_FOLDER": str(folder / "uploads"),
        "FEEDSVC_SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "FEEDSVC_RATELIMIT_ENABLED": "false",
        "FEEDSVC_BENCH_BARE_FILE": str(folder / "bare.atom"),
    }


@contextmanager
def environment(values: dict):
    """``os.environ`` with ``values`` set, restored afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def bench_app():
    """The app as production runs it, plus two routes only this benchmark's gunicorn has (it loads this module
    by ``--pythonpath bench 'serve:bench_app()'``; the module imports nothing heavy at the top):

    - ``/bench/bare``: a pre-read copy of the feed's bytes (``FEEDSVC_BENCH_BARE_FILE``, read once) with the
      feed's MIME type: the floor a cached feed is compared with, through the same app, hooks and worker;
    - ``/bench/modules``: which of the translation stack's modules this worker has imported.
    """
    from flask import Response

    from feedsvc.web import create_app

    app = create_app()
    with open(os.environ["FEEDSVC_BENCH_BARE_FILE"], "rb") as source:
        bare_bytes = source.read()

    @app.route(BARE)
    def bare():
        """The feed's bytes, with nothing computed."""
        return Response(bare_bytes, mimetype="application/atom+xml")

    @app.route("/bench/modules")
    def modules():
        """The heavy modules this worker imported, or "clean"."""
        return ",".join(name for name in HEAVY if name in sys.modules) or "clean"

    return app


class Server:
    """``gunicorn -w 2`` on 127.0.0.1 serving ``bench_app()`` for one instance."""

    def __init__(self, name: str, folder: Path, workers: int):
        self.name, self.folder = name, folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = server_env(folder)
        # The bare route's bytes: the feed exactly as this server will render it for this host.
        from feedsvc.web import create_app

        with environment(self.env):
            bare = create_app().test_client().get(FEED, base_url=self.base).data
        (folder / "bare.atom").write_bytes(bare)
        self.log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
             "--pythonpath", str(HERE), "--log-level", "warning", "serve:bench_app()"],
            env={**os.environ, **self.env}, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.wait_ready()
        self.bare_bytes = bare

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn ({self.name}) exited: {(self.folder / 'gunicorn.log').read_text()}")
            try:
                if self.get(BARE)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"gunicorn ({self.name}) did not answer within {timeout} s")

    def workers(self) -> list[int]:
        """The worker processes' ids (children of gunicorn's master)."""
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# --- wrk ----------------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def wrk(url: str, seconds: float, connections: int, threads: int = 1, headers=(), script: str | None = None):
    """One wrk run; returns requests/s, latency (ms: avg, p50, p90, p99), request and error counts."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    out = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60, check=True).stdout

    def ms(value: str, unit: str) -> float:
        return float(value) * UNITS[unit]

    avg = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\b", out)
    dist = {int(p): ms(v, u) for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "avg": ms(*avg.groups()), "p50": dist[50], "p90": dist[90], "p99": dist[99],
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        # connect/read "errors" of a server that closes every connection are not failures; timeouts are
        "errors": (int(socket_errors.group(4)) + int(socket_errors.group(1)) if socket_errors else 0)
        + (int(bad.group(1)) if bad else 0),
    }


def mix_script(folder: Path, paths: list[str]) -> str:
    """A wrk Lua script that cycles through ``paths`` (each thread from its own offset)."""
    script = folder / "mix.lua"
    quoted = ", ".join(json.dumps(p) for p in paths)
    script.write_text(
        f"local paths = {{{quoted}}}\nlocal i = 0\n"
        "setup = function(thread) thread:set('offset', math.random(#paths)) end\n"
        "request = function()\n  i = i + 1\n  return wrk.format('GET', paths[(i + (offset or 0)) % #paths + 1])\nend\n"
    )
    return str(script)


# --- web process ----------------------------------------------------------------------------------------

STARTUP = """
import json, sys, time
started, cpu = time.perf_counter(), time.process_time()
from feedsvc.web import create_app
imported = time.perf_counter()
app = create_app()
built, cpu = time.perf_counter(), time.process_time() - cpu
client = app.test_client()
statuses = [client.get(url).status_code for url in sys.argv[1:]]
heavy = [name for name in HEAVY_NAMES if name in sys.modules]
print(json.dumps({"import": imported - started, "create_app": built - imported, "cpu": cpu, "heavy": heavy,
                  "statuses": statuses}))
""".replace("HEAVY_NAMES", repr(HEAVY))


def startup(folder: Path, urls: list[str]) -> dict:
    """Import + create_app() in a fresh interpreter (as a gunicorn worker does), then serve ``urls``."""
    env = {**os.environ, **server_env(folder)}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", STARTUP, *urls], capture_output=True, text=True, env=env,
                            timeout=120, check=True)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["process"] = time.perf_counter() - started
    return data


def connection_cost(folder: Path) -> tuple[float, float]:
    """Milliseconds for one counter read on a new connection (as get_db() opens per request: pragmas,
    schema parse) and on a connection kept open (as the cache check does); medians of 200."""
    from feedsvc.storage import connect

    query = "select version, changed_at from site_state where id = 1"

    def fresh():
        db = connect(str(folder / "feedsvc.db"))
        db.execute(query).fetchall()
        db.close()

    kept = connect(str(folder / "feedsvc.db"))
    costs = []
    for step in (fresh, lambda: kept.execute(query).fetchall()):
        times = []
        for _ in range(200):
            t = time.perf_counter()
            step()
            times.append((time.perf_counter() - t) * 1000)
        costs.append(statistics.median(times))
    kept.close()
    return costs[0], costs[1]


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak (MB) from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    now = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    return now / 1024, peak / 1024


def mapped_heavy(pid: int) -> list[str]:
    """Translation-stack libraries mapped into the process (shared objects show in /proc/PID/maps)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return [name for name in HEAVY if name in maps]


# --- the run --------------------------------------------------------------------------------------------


class Table:
    def __init__(self):
        self.rows = []

    def check(self, name: str, value: float, target: str, ok: bool, fmt: str = "{:.2f}") -> None:
        self.rows.append((name, fmt.format(value), target, "PASS" if ok else "FAIL"))

    def info(self, name: str, value: str) -> None:
        self.rows.append((name, value, "", "info"))

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        print(f"\n{'measure':<{width}}  {'value':>22}  {'target':<9} result")
        print("-" * (width + 43))
        for name, value, target, result in self.rows:
            print(f"{name:<{width}}  {value:>22}  {target:<9} {result}")

    @property
    def failed(self) -> bool:
        return any(r[3] == "FAIL" for r in self.rows)


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, one round")
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: small instances, 1 s runs; proves the script runs (tests/test_bench.py), "
                             "exits 0 whatever the numbers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instances")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="feedsvc-serve-"))
    servers = []
    try:
        return run(args, work, servers)
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"instances kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path, servers: list) -> int:
    args.quick = args.quick or args.smoke
    rounds, throughput_s, latency_s, load_s = (1, 1, 1, 1) if args.smoke else (2, 1, 1, 3) if args.quick else (
        8, 3, 2, 10)
    started = time.perf_counter()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
    print(f"feedsvc serving benchmark: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"gunicorn -w {WORKERS} (sync workers), wrk {wrk_version}"
          f"{' — smoke run: the numbers mean nothing' if args.smoke else ' — quick run' if args.quick else ''}")
    print(f"  load average before the run: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    build = {}
    for name, count in zip(("small", "big"), SMOKE_SIZES if args.smoke else (SMALL, BIG), strict=True):
        build[name] = build_instance(work / name, count)
        print(f"  instance with {count:>6,} releases built in {build[name]:.1f} s")
    small, big = (Server(name, work / name, WORKERS) for name in ("small", "big"))
    servers += [small, big]

    # Sanity: the routes answer what they should, the bare route is byte-for-byte the feed.
    status, headers, body = big.get(FEED)
    assert status == 200 and body == big.bare_bytes, "the bare route must serve the feed's exact bytes"
    etag = headers["ETag"]
    assert big.get(FEED, {"If-None-Match": etag})[0] == 304
    assert big.get(INDEX)[0] == 200 and small.get(FEED)[0] == 200 and small.get(INDEX)[0] == 200
    feed_items = body.count(b"<entry>")
    index_bytes = len(big.get(INDEX)[2])
    print(f"  {FEED}: {len(body):,} bytes, {feed_items} entries; {INDEX}: {index_bytes:,} bytes; ETag {etag}")

    # 1. cached feed and 304 against the bare route. Short runs side by side, in a rotating order; each
    #    round's ratio compares runs seconds apart, so load from other processes hits both sides alike.
    kinds = {"bare": ([], BARE, ()), "feed": ([], FEED, ()), "304": ([], FEED, [f"If-None-Match: {etag}"])}
    order = list(kinds)
    for number in range(rounds):
        for kind in order[number % 3:] + order[:number % 3]:
            runs, path, extra = kinds[kind]
            runs.append(wrk(big.base + path, throughput_s, 4, headers=extra))
    load = {kind: runs for kind, (runs, _, _) in kinds.items()}
    rps = {kind: median_of(runs, "rps") for kind, runs in load.items()}
    ratio = {kind: [r["rps"] / b["rps"] for r, b in zip(load[kind], load["bare"], strict=True)]
             for kind in ("feed", "304")}

    # 2. one reader at a time: p50 latency with 10,000 releases against 100, in pairs of runs.
    latency = {(size, path): [] for size in ("small", "big") for path in (FEED, INDEX)}
    for number in range(rounds):
        for path in (FEED, INDEX):
            pair = (("small", small), ("big", big))
            for size, server in pair if number % 2 == 0 else pair[::-1]:
                latency[(size, path)].append(wrk(server.base + path, latency_s, 1))
    p50 = {key: median_of(runs, "p50") for key, runs in latency.items()}
    for path in (FEED, INDEX):
        ratio[path] = [b["p50"] / s["p50"] for b, s in zip(latency[("big", path)], latency[("small", path)],
                                                           strict=True)]

    # Rebuild cost after a change (every worker's entry goes stale): informational.
    rebuild = {}
    for size, server in (("small", small), ("big", big)):
        for path in (FEED, INDEX):
            times = []
            for _ in range(3 if args.quick else 10):
                conn = sqlite3.connect(server.folder / "feedsvc.db")
                conn.execute("update site_state set version = version + 1 where id = 1")
                conn.commit()
                conn.close()
                t = time.perf_counter()
                server.get(path)
                times.append((time.perf_counter() - t) * 1000)
            rebuild[(size, path)] = statistics.median(times)

    # 3. 50 concurrent readers.
    mix_paths = [INDEX, "/ru/", "/kk/", FEED, "/ru/feed.rss", "/kk/feed.atom", "/en/?page=2",
                 *release_paths(big.folder, "en", 6), *release_paths(big.folder, "ru", 3)]
    script = mix_script(work, mix_paths)
    concurrent = {
        "feed": wrk(big.base + FEED, load_s, 50, 2),
        "index": wrk(big.base + INDEX, load_s, 50, 2),
        "mix": wrk(big.base + "/", load_s, 50, 2, script=script),
    }

    # 4. the web process.
    for url in mix_paths + ["/admin/login", "/en/search?q=Senate", "/media/none.jpg"]:
        big.get(url)
    pids = big.workers()
    memory = {pid: rss_mb(pid) for pid in pids}
    mapped = sorted({name for pid in pids for name in mapped_heavy(pid)})
    served_modules = {big.get("/bench/modules")[2].decode() for _ in range(8)}
    boots = [startup(big.folder, [INDEX, FEED, mix_paths[7], "/en/search?q=Senate", "/admin/login"])
             for _ in range(1 if args.smoke else 5)]
    assert all(status == 200 for b in boots for status in b["statuses"]), boots
    # the least disturbed of 5 fresh interpreters: start-up time is the code's, not the neighbours'
    boot = min(b["import"] + b["create_app"] for b in boots)
    heavy_in_boot = sorted({name for b in boots for name in b["heavy"]})
    errors = sum(r["errors"] for runs in load.values() for r in runs) + sum(
        r["errors"] for r in concurrent.values()) + sum(r["errors"] for runs in latency.values() for r in runs)

    def spread(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f}"

    table = Table()
    feed_ratio, not_modified_ratio = statistics.median(ratio["feed"]), statistics.median(ratio["304"])
    table.check("cached feed req/s ÷ bare route req/s", feed_ratio, "≥ 0.5", feed_ratio >= 0.5)
    table.check("304 conditional GET req/s ÷ bare route req/s", not_modified_ratio, "≥ 0.8",
                not_modified_ratio >= 0.8)
    for path, label in ((FEED, "feed"), (INDEX, "index")):
        value = statistics.median(ratio[path])
        table.check(f"{label} p50 latency, 10,000 ÷ 100 releases", value, "≤ 1.5", value <= 1.5)
    table.check("web process import + create_app() (s, best of 5)", boot, "< 1 s", boot < 1, "{:.3f}")
    worst = max(now for now, _ in memory.values())
    table.check("gunicorn worker RSS after the load (MB)", worst, "< 120 MB", worst < 120, "{:.1f}")
    clean = not mapped and served_modules == {"clean"} and not heavy_in_boot
    table.rows.append(("argostranslate/ctranslate2/torch/stanza imported", "never" if clean else ",".join(
        sorted(set(mapped) | set(heavy_in_boot) | (served_modules - {"clean"}))), "never",
        "PASS" if clean else "FAIL"))
    table.check("failed requests (timeouts, non-2xx/3xx)", errors, "0", errors == 0, "{:.0f}")
    table.info("bare route / cached feed / 304 (req/s, medians)",
               f"{rps['bare']:.0f} / {rps['feed']:.0f} / {rps['304']:.0f}")
    table.info("per-round ratios feed ÷ bare, 304 ÷ bare", f"{spread(ratio['feed'])}, {spread(ratio['304'])}")
    table.info("per-round ratios 10,000 ÷ 100: feed, index", f"{spread(ratio[FEED])}, {spread(ratio[INDEX])}")
    for path, label in ((FEED, "feed"), (INDEX, "index")):
        table.info(f"{label} p50 latency, 100 / 10,000 releases (ms)",
                   f"{p50[('small', path)]:.2f} / {p50[('big', path)]:.2f}")
        table.info(f"{label} after a change (rebuild), 100 / 10,000 (ms)",
                   f"{rebuild[('small', path)]:.1f} / {rebuild[('big', path)]:.1f}")
    for label, result in concurrent.items():
        table.info(f"50 readers, {label}: p50 / p99 (ms)", f"{result['p50']:.1f} / {result['p99']:.1f}")
        table.info(f"50 readers, {label}: req/s with {WORKERS} workers", f"{result['rps']:.0f}")
    table.info("counter read: new connection / kept open (ms)", "{:.3f} / {:.3f}".format(*connection_cost(big.folder)))
    table.info("worker RSS now / peak (MB)", "; ".join(f"{n:.0f} / {p:.0f}" for n, p in memory.values()))
    table.info("import / create_app() / CPU / process (s, medians)", " / ".join(
        f"{statistics.median(b[k] for b in boots):.3f}" for k in ("import", "create_app", "cpu", "process")))
    table.print()
    print(f"\nThroughput: wrk -t1 -c4, {rounds} rounds × 3 kinds × {throughput_s} s; latency: wrk -t1 -c1, "
          f"{rounds} rounds × 4 × {latency_s} s; targets use the median of the per-round ratios. 50 readers: "
          f"wrk -t2 -c50, {load_s} s each; the mix cycles through {len(mix_paths)} URLs (index pages in 3 "
          f"languages and page 2, 3 feeds, 9 release pages). gunicorn's sync workers close every connection, "
          f"so each request includes a TCP connect. Load average after the run: "
          f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}. Total {time.perf_counter() - started:.0f} s.")
    return 1 if table.failed and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
