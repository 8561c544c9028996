"""Translation through the real argostranslate package loading and CTranslate2 inference, tiny models."""

import json
import shutil
import signal
import subprocess
import sys
import zipfile

import feedparser
import pytest

from feedsvc import releases
from feedsvc.demo import DEMO_MODELS
from feedsvc.modelstore import packages
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import glossary
from feedsvc.translation import memory
from feedsvc.translation import pipeline
from feedsvc.translation import worker
from feedsvc.translation.protect import protect
from tests.helpers import ROOT
from tests.helpers import TARGETS
from tests.helpers import corpus
from tests.helpers import demo_releases
from tests.helpers import expected
from tests.helpers import expire_leases
from tests.helpers import publish
from tests.helpers import wait_until
from tests.helpers import worker_env

PREFIX_MODEL = ROOT / "tests" / "data" / "translate-ru_kk-prefix.argosmodel"


def test_demo_models_route_kazakh_by_pivot(models):
    assert {(p.from_code, p.to_code) for p in models} == {("ru", "en"), ("en", "kk")}
    assert all(p.demo for p in models)
    assert packages.find_route(models, "ru", "kk").kind == "pivot"
    assert packages.find_route(models, "ru", "en").kind == "direct"


def test_publish_then_worker_once_fills_kk_and_en_pages_and_feeds(app, client, db, runner, models, terms):
    item = demo_releases()[0]
    release = publish(db, item)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "2 job(s) handled" in result.output
    for lang in ("en", "kk"):
        title, body = expected(item, lang)
        row = releases.translations_of(db, release["id"])[lang]
        assert (row["status"], row["origin"]) == ("machine", "machine")
        assert row["title"] == title and row["body"] == body
        assert row["category"] == corpus()[item["category"]][lang]  # the rubric is translated too
        html = client.get(f"/{lang}/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
        assert title in html and 'class="notice machine"' in html
        assert f'lang="{lang}">{row["category"]}</a>' in html  # linked to its category's page (issue 25)
        entry = feedparser.parse(client.get(f"/{lang}/feed.atom").data).entries[0]
        assert entry.title == title and entry.id == releases.entry_id(release["guid"], lang)
    routes = {lang: row["route"] for lang, row in releases.translations_of(db, release["id"]).items()}
    assert routes["kk"].startswith("ru→en→kk") and routes["en"].startswith("ru→en ")


@pytest.mark.parametrize("item", demo_releases(), ids=lambda item: item["title"][:30])
def test_every_demo_release_translates_exactly(db, engine, models, terms, item):
    release = publish(db, item)
    for lang in ("en", "kk"):
        route = packages.find_route(models, "ru", lang)
        outcome = pipeline.translate_release(db, release, lang, route, terms, engine.translate)
        assert (outcome.title, outcome.body) == expected(item, lang, typeset=False)


def test_worker_translates_a_backlog_in_one_call_per_step_exactly(app, db, engine, models, terms):
    stored = [(item, publish(db, item)) for item in demo_releases()]
    before = engine.batches
    settings = WorkerSettings(models_dir=app.config["MODELS_DIR"])
    assert worker.run(db, engine.translate, settings, once=True) == 2 * len(stored)
    assert engine.batches - before == 2  # ru→en for all releases (kk reuses it), then en→kk for all
    for item, release in stored:  # batching with other releases changes no output
        for lang in ("en", "kk"):
            row = releases.translations_of(db, release["id"])[lang]
            assert (row["status"], (row["title"], row["body"])) == ("machine", expected(item, lang))


def test_glossary_terms_come_out_as_given(db, engine, models, terms):
    item = next(i for i in demo_releases() if "Ашимбаев" in i["body"])
    release = publish(db, item)
    en = pipeline.translate_release(db, release, "en", packages.find_route(models, "ru", "en"), terms, engine.translate)
    kk = pipeline.translate_release(db, release, "kk", packages.find_route(models, "ru", "kk"), terms, engine.translate)
    assert "Maulen Ashimbayev" in en.body and "Мәулен Әшімбаев" in kk.body
    assert "Ашимбаев" not in en.body + kk.body


def test_repeated_sentence_is_a_memory_hit_not_a_model_call(db, engine, models, terms):
    first, second = demo_releases()[:2]
    route = packages.find_route(models, "ru", "en")
    release = publish(db, first)
    before = engine.sentences_translated
    outcome = pipeline.translate_release(db, release, "en", route, terms, engine.translate)
    assert engine.sentences_translated - before == outcome.sent_to_model == outcome.sentences
    # The same release again costs nothing; a release sharing one paragraph costs only its new sentences.
    again = pipeline.translate_release(db, release, "en", route, terms, engine.translate)
    assert again.sent_to_model == 0
    shared = split_paragraphs(first["body"])[0]
    mixed = publish(db, {**second, "body": shared + "\n\n" + second["body"]})
    before = engine.sentences_translated
    outcome = pipeline.translate_release(db, mixed, "en", route, terms, engine.translate)
    seen = {protect(s, terms).text for paragraph in pipeline.units(first["title"], first["body"]) for s in paragraph}
    new = {protect(s, terms).text for paragraph in pipeline.units(mixed["title"], mixed["body"]) for s in paragraph}
    seen.add(protect(first["category"], terms).text)  # the category is translated with the text
    new.add(protect(mixed["category"], terms).text)
    assert len(split_sentences(shared)) >= 2 and seen & new
    assert engine.sentences_translated - before == outcome.sent_to_model == len(new - seen)


def test_editing_one_sentence_retranslates_one_sentence(db, engine, models, terms):
    item = demo_releases()[1]
    route = packages.find_route(models, "ru", "en")
    release = publish(db, item)
    pipeline.translate_release(db, release, "en", route, terms, engine.translate)
    sentences = split_sentences(split_paragraphs(item["body"])[0])
    used = " ".join(i["title"] + " " + i["body"] for i in demo_releases())
    replacement = next(ru for ru in corpus() if ru.endswith(".") and ru not in used)
    edited_body = item["body"].replace(sentences[0], replacement, 1)
    edited = releases.update_release(db, release["id"], {"body": edited_body}, languages=TARGETS)
    outcome = pipeline.translate_release(db, edited, "en", route, terms, engine.translate)
    assert outcome.sent_to_model == 1
    assert corpus()[replacement]["en"] in outcome.body


def prefix_package(tmp_path, *, keep_prefix: bool) -> packages.PackageInfo:
    """The prefix test model installed, optionally with its source prefix removed from metadata."""
    info = packages.install_file(tmp_path / "prefix-models", PREFIX_MODEL)
    if not keep_prefix:
        meta_path = info.path / "metadata.json"
        meta = json.loads(meta_path.read_text())
        meta["source_prefix"] = ""
        meta_path.write_text(json.dumps(meta))
        info = packages.read_package(info.path)
    return info


def test_prefix_model_translates_to_kazakh_only_with_its_prefix(tmp_path, db, engine, terms):
    from feedsvc.translation.protect import protect
    from feedsvc.translation.protect import protect_target

    with_prefix = prefix_package(tmp_path / "a", keep_prefix=True)
    assert with_prefix.source_prefix == ">>kaz_Cyrl<<" and with_prefix.target_prefix == "kaz_Cyrl"
    assert packages.find_route([with_prefix], "ru", "kk").kind == "direct"
    rows = corpus()
    sample = [ru for ru in rows if not protect(ru, terms).slots][:3] or list(rows)[:3]
    protected = [protect(ru, terms) for ru in sample]
    wanted = [protect_target(rows[ru]["kk"], p, "kk") for ru, p in zip(sample, protected, strict=True)]
    from feedsvc.translation.engine import Engine

    fresh = Engine(engine.settings)
    assert fresh.translate(with_prefix, [p.text for p in protected]) == wanted
    without = prefix_package(tmp_path / "b", keep_prefix=False)
    outputs = fresh.translate(without, [p.text for p in protected])
    assert all(out != want for out, want in zip(outputs, wanted, strict=True))


def test_language_without_route_is_no_model_then_requeued_by_install(app, db, runner, terms):
    item = demo_releases()[0]
    release = publish(db, item)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    rows = releases.translations_of(db, release["id"])
    assert rows["kk"]["status"] == rows["en"]["status"] == "no-model"
    assert "feedsvc models install" in rows["kk"]["error"]
    for archive in sorted(DEMO_MODELS.glob("*.argosmodel")):
        result = runner.invoke(args=["models", "install", str(archive)])
        assert result.exit_code == 0, result.output
    assert "re-queued" in result.output
    runner.invoke(args=["worker", "--once"])
    rows = releases.translations_of(db, release["id"])
    assert rows["kk"]["title"] == expected(item, "kk")[0]


@pytest.mark.slow
def test_worker_killed_mid_job_loses_nothing_and_stores_once(app, db, models, terms):
    item = demo_releases()[0]
    release = publish(db, item)
    # Held before storing until killed: stdin stays open (tests/paused_worker.py).
    worker = subprocess.Popen([sys.executable, "-m", "tests.paused_worker", "hold"], env=worker_env(app),
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def translating() -> bool:
            """Mid-job: the model has translated (memory holds sentences) but nothing is stored yet."""
            assert worker.poll() is None, "worker died on its own"
            return db.execute("select count(*) from memory").fetchone()[0] > 0

        wait_until(translating, "the worker never started translating")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.stdin.close()
    assert db.execute("select count(*) from jobs where status = 'running'").fetchone()[0] == 1
    assert all(t["status"] != "machine" for t in releases.translations_of(db, release["id"]).values())
    expire_leases(db)  # what the dead worker's lease does in WORKER_LEASE_SECONDS
    result = subprocess.run([sys.executable, "-m", "feedsvc.commands", "worker", "--once"], env=worker_env(app),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    done = list(db.query("select lang, count(*) n from jobs where status = 'done' group by lang"))
    assert {(r["lang"], r["n"]) for r in done} == {("en", 1), ("kk", 1)}
    for lang in ("en", "kk"):
        row = releases.translations_of(db, release["id"])[lang]
        assert (row["title"], row["body"]) == expected(item, lang)
    reclaimed = list(db.query("select attempts from jobs where status = 'done' and attempts > 1"))
    assert len(reclaimed) == 1  # the killed job was claimed a second time, exactly once more


def test_models_cli_lists_routes_builds_and_removes(app, runner, models, tmp_path):
    result = runner.invoke(args=["models", "list"])
    assert result.exit_code == 0
    assert "ru→kk: pivot" in result.output and "demo model" in result.output
    # The prefix test model's vocabulary has both tokens (a build refuses tokens the vocabulary lacks).
    source = packages.install_file(tmp_path / "prefix", PREFIX_MODEL)
    out = tmp_path / "rebuilt.argosmodel"
    model, sp_model = str(source.path / "model"), str(source.path / "sentencepiece.model")
    result = runner.invoke(args=["models", "build", model, sp_model, "--from", "ru", "--to", "kk", "--version", "2.0",
                                 "--source-prefix", ">>kaz_Cyrl<<", "--target-prefix", "kaz_Cyrl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["models", "build", model, sp_model, "--from", "ru", "--to", "kk",
                                 "--source-prefix", ">>kaz<<", "-o", str(tmp_path / "refused.argosmodel")])
    assert result.exit_code == 1 and "has no >>kaz<<" in result.output
    with zipfile.ZipFile(out) as archive:
        meta = json.loads(archive.read("translate-ru_kk-2.0/metadata.json"))
    assert meta["source_prefix"] == ">>kaz_Cyrl<<" and meta["target_prefix"] == "kaz_Cyrl"
    assert runner.invoke(args=["models", "install", str(out)]).exit_code == 0
    assert "ru→kk: direct" in runner.invoke(args=["models", "list"]).output
    assert runner.invoke(args=["models", "remove", "ru_kk"]).exit_code == 0
    result = runner.invoke(args=["models", "remove", "xx_yy"])
    assert result.exit_code == 1 and "no installed package matches" in result.output


def build_ru_en(runner, source: packages.PackageInfo, folder, version: str):
    """A ru→en .argosmodel of the given version, built from an installed package's model."""
    out = folder / f"ru_en-{version}.argosmodel"
    model, sp_model = str(source.path / "model"), str(source.path / "sentencepiece.model")
    result = runner.invoke(args=["models", "build", model, sp_model, "--from", "ru", "--to", "en",
                                 "--version", version, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_installing_a_new_version_replaces_the_old_one_and_its_memory(app, runner, db, models, engine, tmp_path):
    demo = next(p for p in models if p.from_code == "ru")
    release = publish(db, demo_releases()[0])
    pipeline.translate_release(db, release, "en", packages.find_route(models, "ru", "en"), [], engine.translate)
    plain = split_sentences(split_paragraphs(release["body"])[1])[0]  # no number, no term: memory keys it as is
    assert memory.lookup(db, demo.key, [plain])
    v1_9, v1_10 = (build_ru_en(runner, demo, tmp_path, version) for version in ("1.9", "1.10"))
    result = runner.invoke(args=["models", "install", str(v1_9)])
    assert result.exit_code == 0, result.output
    assert f"It replaces {demo.key} (demo model), kept in" in result.output
    assert "feedsvc retranslate --lang LANG" in result.output
    assert not demo.path.exists() and not memory.lookup(db, demo.key, [plain])
    assert [p.key for p in packages.kept_packages(app.config["MODELS_DIR"])] == [demo.key]
    result = runner.invoke(args=["models", "install", str(v1_10)])
    assert "It replaces translate-ru_en-1.9@1.9, kept in" in result.output
    installed = packages.list_packages(app.config["MODELS_DIR"])
    assert [p.key for p in installed if p.from_code == "ru"] == ["translate-ru_en-1.10@1.10"]
    assert "ru→en: direct: ru→en (translate-ru_en-1.10@1.10)" in runner.invoke(args=["models", "list"]).output


def test_running_engine_loads_a_reinstalled_package_again(tmp_path, engine):
    info = prefix_package(tmp_path, keep_prefix=True)
    first = engine.model(info)
    engine.translate(info, ["Сенат принял закон."])  # loading and translating leave the folder as installed
    assert engine.model(packages.read_package(info.path)) is first  # unchanged: not loaded twice
    reinstalled = packages.install_file(tmp_path / "prefix-models", PREFIX_MODEL)
    assert engine.model(reinstalled) is not first
    changed = prefix_package(tmp_path, keep_prefix=False)  # the same folder, its source prefix removed
    assert engine.model(changed).info.source_prefix == ""


def test_install_from_index_without_network_is_one_clear_line(app, runner):
    app.config["ARGOS_INDEX_URL"] = "http://127.0.0.1:9/index.json"  # nothing listens on the discard port
    result = runner.invoke(args=["models", "install", "--from-index", "ru", "en"])
    assert result.exit_code == 1
    assert "cannot reach" in result.output and "feedsvc models install FILE.argosmodel" in result.output


def test_install_from_index_downloads_with_progress(app, runner, tmp_path):
    import http.server
    import threading

    shutil.copy(DEMO_MODELS / "translate-ru_en-demo.argosmodel", tmp_path / "pkg.argosmodel")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    (tmp_path / "index.json").write_text(json.dumps([
        {"from_code": "ru", "to_code": "en", "links": [f"{base}/pkg.argosmodel"]}]))
    app.config["ARGOS_INDEX_URL"] = f"{base}/index.json"
    try:
        result = runner.invoke(args=["models", "install", "--from-index", "ru", "en"])
        missing = runner.invoke(args=["models", "install", "--from-index", "ru", "kk"])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 0, result.output
    assert "Installed translate-ru_en-demo" in result.output
    assert missing.exit_code == 1 and "no ru→kk package" in missing.output


def test_web_admin_models_page_shows_routes_and_demo_label(logged_in, models):
    html = logged_in.get("/admin/models/").get_data(as_text=True)
    assert "ru→kk" in html and "through English" in html and "demo model" in html


def test_glossary_cli_round_trips_csv(runner, db, tmp_path):
    source = tmp_path / "terms.csv"
    source.write_text("ru,en,kk\nМаулен* Ашимбаев*,Maulen Ashimbayev,Мәулен Әшімбаев\n", encoding="utf-8")
    assert runner.invoke(args=["glossary", "import", str(source)]).exit_code == 0
    result = runner.invoke(args=["glossary", "export"])
    assert "Маулен* Ашимбаев*,Maulen Ashimbayev,Мәулен Әшімбаев" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("russian,english\nx,y\n", encoding="utf-8")
    result = runner.invoke(args=["glossary", "import", str(bad)])
    assert result.exit_code == 1 and "missing column" in result.output
    assert len(glossary.load_terms(connect(str(db.conn.execute("pragma database_list").fetchone()[2])))) == 1
