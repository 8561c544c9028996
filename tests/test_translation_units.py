"""Segmentation, protection, memory, the job queue and package handling, each on its own."""

import json
import logging
import re
import sqlite3
import stat
import threading
import zipfile
from pathlib import Path

import pytest

from feedsvc import clock
from feedsvc import jobs
from feedsvc import releases
from feedsvc.modelstore import packages
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import glossary
from feedsvc.translation import memory
from feedsvc.translation import pipeline
from feedsvc.translation import worker
from feedsvc.translation.protect import GlossaryTerm
from feedsvc.translation.protect import protect
from tests.helpers import HANG_SECONDS
from tests.helpers import TARGETS
from tests.helpers import expire_leases
from tests.helpers import make_release
from tests.helpers import package

TERMS = [
    GlossaryTerm("Маулен* Ашимбаев*", {"en": "Maulen Ashimbayev", "kk": "Мәулен Әшімбаев"}),
    GlossaryTerm("маслихат*", {"en": "maslikhat", "kk": "мәслихат"}),
    GlossaryTerm("Сенат|Сената|Сенату", {"en": "Senate", "kk": "Сенат"}),
]


def test_sentences_keep_quotes_abbreviations_initials_and_dates():
    paragraph = ("«Задача маслихатов – контроль, т.е. мониторинг», - сказал Маулен Ашимбаев. "
                 "Встреча прошла 19.11.2021 г. в Астане. Фото – Е.Укибаев.")
    assert split_sentences(paragraph) == [
        "«Задача маслихатов – контроль, т.е. мониторинг», - сказал Маулен Ашимбаев.",
        "Встреча прошла 19.11.2021 г. в Астане.",
        "Фото – Е.Укибаев.",
    ]


def test_abbreviated_month_before_a_year_does_not_end_the_sentence():
    assert split_sentences("Встреча состоялась 1 янв. 2022 г. в Астане. Всё прошло хорошо.") == [
        "Встреча состоялась 1 янв. 2022 г. в Астане.", "Всё прошло хорошо."]
    assert split_sentences("Приехали в дек. Потом 5 человек уехали.") == ["Приехали в дек.", "Потом 5 человек уехали."]


def test_paragraphs_split_on_blank_lines_only():
    assert split_paragraphs("Один\nи тот же.\n\n \nДругой.") == ["Один и тот же.", "Другой."]


@pytest.mark.parametrize("form", ["Маулен Ашимбаев", "Маулена Ашимбаева", "Маулену Ашимбаеву"])
def test_glossary_matches_inflected_forms(form):
    protected = protect(f"Спикер {form} встретился с секретарями маслихатов.", TERMS)
    assert protected.text == "Спикер [1] встретился с секретарями [2]."
    assert protected.restore("Speaker [1] met [2] secretaries.", "en") == (
        "Speaker Maulen Ashimbayev met maslikhat secretaries.")
    kk = protected.restore("[1] [2] хатшыларымен кездесті.", "kk")
    assert kk == "Мәулен Әшімбаев мәслихат хатшыларымен кездесті."


def test_literals_come_back_exactly():
    sentence = "Тел. 74-72-27, +7 (7172) 74-72-27, 19.11.2021, 800 акимов, https://senate.parlam.kz/ru-RU/news, a@b.kz."
    protected = protect(sentence, [])
    assert "74-72-27" not in protected.text and "https" not in protected.text and "800" not in protected.text
    assert protected.restore(protected.text, "en") == sentence


def test_lowercase_term_at_sentence_start_is_capitalized():
    protected = protect("Маслихатам важно участвовать.", TERMS)
    assert protected.restore("[1] must take part.", "en") == "Maslikhat must take part."


def test_capital_follows_the_translated_sentence_not_the_russian_one():
    genitive_first = protect("Сессия маслихата прошла 5 мая.", TERMS)
    assert genitive_first.restore("[1] сессиясы [2] мамырда өтті.", "kk") == "Мәслихат сессиясы 5 мамырда өтті."
    moved = protect("Маслихат принял решение.", TERMS)
    assert moved.restore("The [1] made a decision.", "en") == "The maslikhat made a decision."
    quoted = protect("«Маслихат» — так называется орган.", TERMS)
    assert quoted.restore("«[1]» is the body's name.", "en") == "«Maslikhat» is the body's name."


def test_dropped_placeholder_is_reported():
    protected = protect("Сенат и маслихат.", TERMS)
    assert protected.missing("[1] and.") == [2]


def fake_model(calls):
    """A stand-in model that upper-cases, recording every batch it gets."""

    def translate(step, sentences):
        calls.append((step.key, list(sentences)))
        return [s.upper() for s in sentences]

    return translate


def test_memory_sends_only_new_sentences_to_the_model(db):
    route = packages.Route((package("ru_en", "ru", "en"),))
    calls = []
    release = {"title": "Заголовок.", "body": "Первое. Второе.\n\nПервое."}
    first = pipeline.translate_release(db, release, "en", route, [], fake_model(calls))
    assert first.body == "ПЕРВОЕ. ВТОРОЕ.\n\nПЕРВОЕ."
    assert calls == [("ru_en@1", ["Заголовок.", "Первое.", "Второе."])]  # the repeat is sent once
    edited = {"title": "Заголовок.", "body": "Первое. Третье.\n\nПервое."}
    second = pipeline.translate_release(db, edited, "en", route, [], fake_model(calls))
    assert calls[1] == ("ru_en@1", ["Третье."]) and second.sent_to_model == 1


def test_pivot_reuses_english_already_in_memory(db):
    ru_en, en_kk = package("ru_en", "ru", "en"), package("en_kk", "en", "kk")
    calls = []
    release = {"title": "Сенат.", "body": "Текст 19.11.2021."}
    pipeline.translate_release(db, release, "en", packages.Route((ru_en,)), TERMS, fake_model(calls))
    kk = pipeline.translate_release(db, release, "kk", packages.Route((ru_en, en_kk)), TERMS, fake_model(calls))
    assert [c[0] for c in calls] == ["ru_en@1", "en_kk@1"]
    assert kk.title == "Сенат." and kk.body == "ТЕКСТ 19.11.2021."


def test_model_upgrade_invalidates_its_memory(db):
    memory.store(db, "ru_en@1", {"Раз.": "One."})
    memory.store(db, "ru_en@1", {"Два.": "Two (human)."}, origin=memory.HUMAN)
    assert memory.forget_model(db, "ru_en") == 1
    assert memory.lookup(db, "ru_en@1", ["Раз.", "Два."]) == {"Два.": "Two (human)."}


def test_route_prefers_direct_then_pivot_then_none():
    ru_en, en_kk, ru_kk = package("a", "ru", "en"), package("b", "en", "kk"), package("c", "ru", "kk")
    assert packages.find_route([ru_en, en_kk], "ru", "kk").kind == "pivot"
    assert packages.find_route([ru_en, en_kk, ru_kk], "ru", "kk").steps == (ru_kk,)
    assert packages.find_route([en_kk], "ru", "kk") is None
    assert packages.find_route([ru_en], "ru", "en").kind == "direct"


def test_route_prefers_a_real_model_then_the_newest_version():
    demo = packages.PackageInfo(name="a-demo", path=Path("a"), from_code="ru", to_code="en", version="9", demo=True)
    old, new = package("b-old", "ru", "en", "1.9"), package("c-new", "ru", "en", "1.10")
    assert packages.find_route([demo, old, new], "ru", "en").steps == (new,)
    assert packages.find_route([demo, old], "ru", "en").steps == (old,)


def claim_for(db, lang):
    """Claim jobs until the one for ``lang`` comes up (others are released as superseded)."""
    job = jobs.claim(db)
    while job and job["lang"] != lang:
        jobs.complete_superseded(db, job)
        job = jobs.claim(db)
    return job


def test_a_lost_lease_is_reclaimed_and_the_result_stored_once(db):
    make_release(db)
    first = claim_for(db, "kk")
    assert jobs.claim(db)["lang"] == "en"  # the kk job is leased: not handed out twice
    expire_leases(db)
    again = jobs.claim(db)
    assert again["id"] == first["id"] and again["attempts"] == 2
    assert jobs.complete(db, first, {"title": "old", "body": "", "route": "r"}) is False
    assert jobs.complete(db, again, {"title": "new", "body": "", "route": "r"}) is True
    row = db.table("translations").get((1, "kk"))
    assert (row["title"], row["status"]) == ("new", "machine")


def test_failures_retry_with_backoff_then_fail_visibly(db):
    make_release(db)
    job = claim_for(db, "kk")
    assert jobs.fail(db, job, "RuntimeError: boom", max_attempts=2, backoff_seconds=60) == "retry"
    row = db.table("jobs").get(job["id"])
    assert row["status"] == "queued" and row["run_after"] > clock.utcnow()
    db.execute("update jobs set run_after = ? where id = ?", ["2000-01-01T00:00:00+00:00", job["id"]])
    job = claim_for(db, "kk")
    assert jobs.fail(db, job, "RuntimeError: boom", max_attempts=2) == "failed"
    translation = db.table("translations").get((1, "kk"))
    assert translation["status"] == "failed" and "boom" in translation["error"]


def test_claim_ends_any_number_of_exhausted_jobs_and_takes_the_next_due_one(db):
    release = make_release(db)
    # More jobs whose workers died holding them than Python's recursion limit: a loop, not a call per job.
    exhausted = 1200
    db.table("jobs").insert_all([{"release_id": release["id"], "lang": "en", "source_revision": 1,
                                  "status": "running", "attempts": 3, "lease_until": "2000-01-01T00:00:00+00:00",
                                  "run_after": "2000-01-01T00:00:00+00:00", "created_at": "2000-01-01T00:00:00+00:00",
                                  "updated_at": "2000-01-01T00:00:00+00:00"}] * exhausted)
    job = jobs.claim(db, max_attempts=2)
    assert job is not None and job["attempts"] == 1 and job["status"] == "running"
    assert jobs.counts(db)["failed"] == exhausted
    assert {row["error"] for row in db.query("select error from jobs where status = 'failed'")} == {
        "gave up after repeated interruptions"}


def test_no_model_parks_jobs_until_a_model_arrives(db):
    make_release(db)
    job = claim_for(db, "kk")
    jobs.no_model(db, job, "No model for ru→kk")
    assert db.table("translations").get((1, "kk"))["status"] == "no-model"
    assert jobs.requeue_no_model(db) == 1
    assert db.table("translations").get((1, "kk"))["status"] == "pending"


def test_editing_supersedes_open_jobs(db):
    release = make_release(db)
    releases.update_release(db, release["id"], {"body": "Новый текст."}, languages=TARGETS)
    statuses = sorted((j["source_revision"], j["status"]) for j in db.query("select * from jobs"))
    assert statuses == [(1, "superseded"), (1, "superseded"), (2, "queued"), (2, "queued")]


def write_zip(path, members):
    """An archive with the given (ZipInfo or name, data) members."""
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)
    return path


def good_members(top="translate-ru_en-1"):
    """The members of a minimal valid package."""
    meta = {"from_code": "ru", "to_code": "en", "package_version": "1"}
    return [(f"{top}/metadata.json", json.dumps(meta)), (f"{top}/model/model.bin", b"x")]


def symlink_member():
    """A zip member that is a symbolic link."""
    info = zipfile.ZipInfo("pkg/model/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, "/etc/passwd"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (good_members() + [("../evil.txt", "x")], "unsafe path"),
        (good_members() + [("/tmp/evil.txt", "x")], "unsafe path"),
        (good_members("pkg") + [symlink_member()], "symbolic link"),
        ([("pkg/model/model.bin", b"x")], "no metadata.json"),
        ([("pkg/metadata.json", "{}")], "no model/"),
        (good_members("a") + good_members("b"), "exactly one top folder"),
    ],
)
def test_unsafe_or_incomplete_packages_are_refused(tmp_path, members, message):
    archive = write_zip(tmp_path / "bad.argosmodel", members)
    with pytest.raises(packages.InvalidPackage, match=message):
        packages.install_file(tmp_path / "models", archive)
    assert not (tmp_path / "evil.txt").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == []


def test_zip_bomb_is_refused_before_filling_the_disk(tmp_path):
    archive = tmp_path / "bomb.argosmodel"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in good_members():
            out.writestr(name, data)
        out.writestr("translate-ru_en-1/model/huge.bin", b"\0" * (20 * 1024 * 1024))
    assert archive.stat().st_size < 1024 * 1024
    with pytest.raises(packages.InvalidPackage, match="size limit"):
        packages.install_file(tmp_path / "models", archive, max_unpacked=10 * 1024 * 1024)
    assert list((tmp_path / "models").iterdir()) == []


def test_not_a_zip_is_refused(tmp_path):
    fake = tmp_path / "x.argosmodel"
    fake.write_text("hello")
    with pytest.raises(packages.InvalidPackage, match="not a zip"):
        packages.install_file(tmp_path / "models", fake)


def test_claim_can_be_limited_to_one_language(db):
    make_release(db)
    make_release(db, title="Второй релиз")
    assert [jobs.claim(db, lang="kk")["lang"] for _ in range(2)] == ["kk", "kk"]
    assert jobs.claim(db, lang="kk") is None
    assert jobs.claim(db)["lang"] == "en"


def worker_settings(app, **kw) -> WorkerSettings:
    """Worker settings over the app's models folder."""
    # A fake model translates nothing for real: what the checks make of it is test_checks.py's subject.
    return WorkerSettings(models_dir=app.config["MODELS_DIR"], **{"publish_policy": AUTO, **kw})


AUTO = {"kk": "auto", "en": "auto"}


def three_releases(db) -> list[dict]:
    """Three published releases with different sentences."""
    return [make_release(db, title=f"Релиз номер {n}.", body=f"Первое {n}. Второе {n}.\n\nТретье {n}.")
            for n in ("один", "два", "три")]


def test_a_worker_that_meets_a_locked_database_mid_batch_gives_its_jobs_back_at_once(app, models, set_clock):
    """The clock stands still: leases never run out, so only jobs given back can be translated again."""
    db = connect(app.config["DATABASE"])
    three_releases(db)
    db.execute("PRAGMA busy_timeout = 100")  # the worker's writes give up quickly while another writer holds on
    blocker = sqlite3.connect(app.config["DATABASE"], isolation_level=None, check_same_thread=False)
    trouble, calls, outcomes = threading.Event(), [], []
    model = fake_model(calls)

    def translate(step, sentences):
        """The model, during whose first call another process starts a long write transaction."""
        if not calls:
            blocker.execute("BEGIN IMMEDIATE")
        return model(step, sentences)

    class Watch(logging.Handler):
        """Signals the worker's report of database trouble."""

        def emit(self, record):
            if record.getMessage().startswith("database trouble"):
                trouble.set()

    watch = Watch()
    logging.getLogger("feedsvc.worker").addHandler(watch)
    thread = threading.Thread(target=lambda: outcomes.append(worker.run(
        db, translate, worker_settings(app, poll_seconds=0.01), once=False, max_jobs=6)), daemon=True)
    try:
        thread.start()
        assert trouble.wait(HANG_SECONDS), "the worker never met the locked database"
        leased = list(db.query("select id from jobs where status = 'running'"))
        assert len(leased) == 3  # a whole batch of one language, held while the database is locked
        blocker.execute("ROLLBACK")
        thread.join(HANG_SECONDS)
        assert outcomes == [6], "jobs stayed leased after the database was free again"
        assert [row["attempts"] for row in db.query("select attempts from jobs order by id")] == [1] * 6
        assert {row["status"] for row in db.query("select status from translations")} == {"machine"}
    finally:
        logging.getLogger("feedsvc.worker").removeHandler(watch)
        if blocker.in_transaction:
            blocker.execute("ROLLBACK")
        blocker.close()
        thread.join(HANG_SECONDS)
        db.close()


def test_worker_translates_due_jobs_of_a_language_in_one_model_call(app, db, models):
    stored = three_releases(db)
    calls = []
    assert worker.run(db, fake_model(calls), worker_settings(app), once=True) == 6
    # One ru→en call for all three releases' sentences, one en→kk call for the pivot; no per-release calls.
    assert [key.split("@")[0] for key, _ in calls] == ["translate-ru_en-demo", "translate-en_kk-demo"]
    assert all(len(sentences) == 3 * 4 for _, sentences in calls)  # a title and 3 body sentences each
    for release in stored:
        for lang in ("en", "kk"):
            row = releases.translations_of(db, release["id"])[lang]
            assert (row["status"], row["title"]) == ("machine", release["title"].upper())
            assert row["body"] == release["body"].upper()


def test_worker_batch_is_bounded_by_its_sentence_budget(app, db, models):
    three_releases(db)
    calls = []
    assert worker.run(db, fake_model(calls), worker_settings(app, batch_sentences=1), once=True) == 6
    assert len([key for key, _ in calls if key.startswith("translate-ru_en")]) == 3  # one release per batch


def test_a_bad_release_does_not_hold_back_its_batch(app, db, models):
    good_one, bad, good_two = three_releases(db)
    releases.update_release(db, bad["id"], {"body": "СБОЙ модели."}, languages=TARGETS)

    def flaky(step, sentences):
        if any("СБОЙ" in s for s in sentences):
            raise RuntimeError("model crashed")
        return [s.upper() for s in sentences]

    results = []
    worker.run(db, flaky, worker_settings(app), once=True, on_job=lambda job, result: results.append(result))
    assert sorted(results) == ["done"] * 4 + ["retry"] * 2
    assert releases.translations_of(db, good_one["id"])["en"]["status"] == "machine"
    assert releases.translations_of(db, good_two["id"])["kk"]["status"] == "machine"
    failed = releases.translations_of(db, bad["id"])["en"]
    assert failed["status"] == "pending" and "model crashed" in failed["error"]


def test_a_job_superseded_after_its_claim_is_closed_and_the_rest_done(app, db, models):
    first, second, third = three_releases(db)
    settings = worker_settings(app)
    batch = worker.claim_batch(db, settings)
    assert len(batch) == 3 and len({job["lang"] for job in batch}) == 1
    releases.update_release(db, second["id"], {"body": "Новый текст."}, languages=TARGETS)
    results = worker.process_batch(db, batch, fake_model([]), settings)
    by_release = {job["release_id"]: result for job, result in zip(batch, results, strict=True)}
    assert by_release == {first["id"]: "done", second["id"]: "superseded", third["id"]: "done"}


def test_a_sentence_that_lost_a_placeholder_is_translated_again_unprotected(db):
    route = packages.Route((package("ru_en", "ru", "en"),))
    calls = []

    def forgetful(step, sentences):
        calls.append(list(sentences))
        return [re.sub(r"\[2\]", "", s).upper() for s in sentences]  # drops the second placeholder, like real models

    sentence = "Сенат принял закон 19.11.2021."
    translated, sent = pipeline.translate_texts(db, [sentence], route, "en", TERMS, forgetful)
    assert calls == [["[1] принял закон [2]."], [sentence]]
    assert [t.output for t in translated] == ["СЕНАТ ПРИНЯЛ ЗАКОН 19.11.2021."] and sent == 2  # the date survived


def test_a_term_without_a_form_for_the_language_is_left_to_the_model(db):
    terms = [GlossaryTerm("Сенат*", {"en": "Senate", "kk": ""})]
    ru_en, en_kk = package("ru_en", "ru", "en"), package("en_kk", "en", "kk")
    calls = []
    pipeline.translate_texts(db, ["Сенате."], packages.Route((ru_en,)), "en", terms, fake_model(calls))
    pipeline.translate_texts(db, ["Сенате."], packages.Route((ru_en, en_kk)), "kk", terms, fake_model(calls))
    assert calls[0] == ("ru_en@1", ["[1]."])  # protected for English
    assert calls[1] == ("ru_en@1", ["Сенате."])  # not for Kazakh: no Russian left in the Kazakh text


@pytest.mark.parametrize("source", ["*", "С*", "Ма*|Сенат", " * "])
def test_glossary_refuses_forms_that_match_too_much(db, source):
    with pytest.raises(glossary.BadGlossary):
        glossary.save_term(db, source, {"en": "x", "kk": "y"})
    assert glossary.load_terms(db) == []


def test_a_long_batch_renews_its_leases_so_no_one_claims_it_meanwhile(app, db, models):
    three_releases(db)
    settings = worker_settings(app)
    batch = worker.claim_batch(db, settings)
    expire_leases(db)  # the batch has taken longer than its lease so far
    seen = []

    def slow_model(step, sentences):
        seen.append(jobs.claim(db, lang=batch[0]["lang"]))  # another worker looks for due jobs
        return [s.upper() for s in sentences]

    assert worker.process_batch(db, batch, slow_model, settings) == ["done"] * 3
    assert seen and all(job is None for job in seen)


def test_the_worker_outlives_a_locked_database(app, db, models, monkeypatch):
    three_releases(db)
    real_claim, faults = jobs.claim, []

    def locked_once(*args, **kwargs):
        """The database is busy the first time the worker asks (another process holds the write lock)."""
        if not faults:
            faults.append(1)
            raise sqlite3.OperationalError("database is locked")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(jobs, "claim", locked_once)
    handled = worker.run(db, fake_model([]), worker_settings(app, poll_seconds=0.01), once=False, max_jobs=6)
    assert faults and handled == 6
    with pytest.raises(sqlite3.OperationalError):  # --once reports it instead (the CLI turns it into one line)
        faults.clear()
        worker.run(db, fake_model([]), worker_settings(app), once=True)


def test_no_model_hint_for_english_does_not_suggest_a_pivot_through_english():
    assert "plus" not in packages.fix_command("ru", "en")
    assert "a ru→en package" in packages.fix_command("ru", "en")
    assert "or ru→en plus en→kk" in packages.fix_command("ru", "kk")
