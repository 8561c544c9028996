"""Gated model upgrades: an install that replaces a package is scored against it on the editors' reviewed
translations, a worse one is refused unless forced, the replaced one is kept for `models rollback`, and every
sentence records the package that made it (so `retranslate --model` finds an old model's text)."""

import json
import re

import pytest

from feedsvc.modelstore import evaluate
from feedsvc.modelstore import packages
from feedsvc.settings import WorkerSettings
from feedsvc.translation import worker
from feedsvc.translation.checks import SentenceCheck
from tests.helpers import demo_releases
from tests.helpers import publish

# How many releases keep their machine English (the rest get an editor's, the reviewed set).
MACHINE_EN = 1
SCORES = re.compile(r"ru→(\w+) on (\d+) reviewed sentence\(s\): chrF ([\d.]+) now \(.*?\), ([\d.]+) with")


def build(runner, source: packages.PackageInfo, out, *, from_code: str, to_code: str, version: str):
    """An .argosmodel made of an installed package's model, labelled as from_code→to_code at ``version``."""
    model, sp_model = str(source.path / "model"), str(source.path / "sentencepiece.model")
    result = runner.invoke(args=["models", "build", model, sp_model, "--from", from_code, "--to", to_code,
                                 "--version", version, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def sentence_models(db, lang: str) -> dict[int, set[str]]:
    """Per release, the `model` of every stored sentence of its ``lang`` translation."""
    rows = db.query("select release_id, checks from translations where lang = ?", [lang])
    return {row["release_id"]: {SentenceCheck.from_json(c).model for c in json.loads(row["checks"] or "[]")}
            for row in rows}


@pytest.fixture
def translated(app, db, models, terms, engine):
    """Every demo release translated by the worker with the demo models (ru→en, en→kk by pivot)."""
    stored = [publish(db, item) for item in demo_releases()]
    settings = WorkerSettings(models_dir=app.config["MODELS_DIR"])
    assert worker.run(db, engine.translate_scored, settings, once=True) == 2 * len(stored)
    return stored


@pytest.fixture
def reviewed(db, translated):
    """The English of all but the last MACHINE_EN releases approved by an editor (origin human, reviewed)."""
    ids = [release["id"] for release in translated[:-MACHINE_EN]]
    db.execute(f"update translations set origin = 'human', status = 'reviewed' where lang = 'en' and release_id in "
               f"({', '.join('?' * len(ids))})", ids)
    db.conn.commit()
    assert len(evaluate.reviewed_pairs(db, "en")) >= evaluate.MIN_REVIEWED
    return ids


def test_every_sentence_records_the_package_that_made_it(db, models, translated):
    ru_en, en_kk = (next(p for p in models if p.from_code == code) for code in ("ru", "en"))
    assert list(sentence_models(db, "en").values()) == [{ru_en.key}] * len(translated)
    assert list(sentence_models(db, "kk").values()) == [{f"{ru_en.key} → {en_kk.key}"}] * len(translated)


def test_a_sentence_stored_before_the_model_field_reads_back_with_none():
    assert SentenceCheck.from_json({"source": "Сенат.", "output": "Senate."}).model == ""


def test_a_worse_package_is_refused_forced_rolled_back_and_its_text_retranslated(app, db, runner, models,
                                                                                reviewed, tmp_path):
    ru_en, en_kk = (next(p for p in models if p.from_code == code) for code in ("ru", "en"))
    # The en→kk model mislabelled as ru→en: a real package, and a real regression on the reviewed English.
    worse = build(runner, en_kk, tmp_path / "worse.argosmodel", from_code="ru", to_code="en", version="2.0")
    result = runner.invoke(args=["models", "install", str(worse)])
    assert result.exit_code == 1, result.output
    scores = {lang: (float(before), float(after), int(n)) for lang, n, before, after in SCORES.findall(result.output)}
    assert scores["en"][0] - scores["en"][1] > evaluate.MAX_CHRF_DROP and scores["en"][2] >= evaluate.MIN_REVIEWED
    assert "translate-ru_en-2.0@2.0 scores lower than the installed route for en" in result.output
    assert "Install it anyway with --force" in result.output
    installed = packages.list_packages(app.config["MODELS_DIR"])
    assert ru_en in installed and not list((tmp_path / "models").glob(".staged-*"))

    result = runner.invoke(args=["models", "install", "--force", str(worse)])
    assert result.exit_code == 0, result.output
    assert "Installing translate-ru_en-2.0@2.0 anyway (--force)." in result.output
    assert "feedsvc models rollback ru en puts it back" in result.output
    kept = packages.kept_packages(app.config["MODELS_DIR"])
    assert [p.key for p in kept] == [ru_en.key]
    human = dict(db.execute("select release_id, body from translations where lang = 'en' and origin = 'human'")
                 .fetchall())

    # What the old model wrote (machine English, and Kazakh through it) goes again, now through the new one.
    result = runner.invoke(args=["retranslate", "--model", ru_en.key, "--run"])
    assert result.exit_code == 0, result.output
    assert f"{len(reviewed) + 2 * MACHINE_EN} machine translation(s) made by {ru_en.key} " \
           "queued" in result.output
    assert set().union(*sentence_models(db, "kk").values()) == {f"translate-ru_en-2.0@2.0 → {en_kk.key}"}
    assert dict(db.execute("select release_id, body from translations where lang = 'en' and origin = 'human'")
                .fetchall()) == human  # an editor's text is never overwritten

    result = runner.invoke(args=["models", "rollback", "ru", "en"])
    assert result.exit_code == 0, result.output
    assert f"Installed {ru_en.key}" in result.output and "It replaces translate-ru_en-2.0@2.0" in result.output
    assert packages.find_route(packages.list_packages(app.config["MODELS_DIR"]), "ru", "en").steps == (ru_en,)
    result = runner.invoke(args=["retranslate", "--model", "translate-ru_en-2.0@2.0", "--lang", "en", "--run"])
    assert result.exit_code == 0, result.output
    assert f"{MACHINE_EN} machine translation(s) into en and made by translate-ru_en-2.0@2.0 queued" in result.output
    machine_en = {rid: made for rid, made in sentence_models(db, "en").items() if rid not in human}
    assert list(machine_en.values()) == [{ru_en.key}] * MACHINE_EN  # the worker uses the restored package again


def test_an_equal_package_installs_with_both_scores(app, runner, models, reviewed, tmp_path):
    ru_en = next(p for p in models if p.from_code == "ru")
    same = build(runner, ru_en, tmp_path / "same.argosmodel", from_code="ru", to_code="en", version="1.9")
    result = runner.invoke(args=["models", "install", str(same)])
    assert result.exit_code == 0, result.output
    scores = {lang: (float(before), float(after)) for lang, _, before, after in SCORES.findall(result.output)}
    assert set(scores) == {"en"}  # kk has no reviewed sentences: listed as not compared
    assert abs(scores["en"][0] - scores["en"][1]) <= evaluate.MAX_CHRF_DROP
    assert "ru→kk: only 0 reviewed sentence(s) (at least 20 needed): could not compare" in result.output


def test_without_reviewed_translations_an_upgrade_installs_and_says_it_could_not_compare(app, runner, models,
                                                                                       tmp_path):
    ru_en = next(p for p in models if p.from_code == "ru")
    same = build(runner, ru_en, tmp_path / "same.argosmodel", from_code="ru", to_code="en", version="1.9")
    result = runner.invoke(args=["models", "install", str(same)])
    assert result.exit_code == 0, result.output
    assert "ru→en: only 0 reviewed sentence(s) (at least 20 needed): could not compare" in result.output
    assert "Installed translate-ru_en-1.9@1.9" in result.output


def test_a_first_install_compares_nothing(app, runner, tmp_path):
    from feedsvc.demo import DEMO_MODELS

    result = runner.invoke(args=["models", "install", str(DEMO_MODELS / "translate-ru_en-demo.argosmodel")])
    assert result.exit_code == 0, result.output
    assert "could not compare" not in result.output and "chrF" not in result.output


def test_rollback_without_a_kept_package_is_one_clear_line(runner, models):
    result = runner.invoke(args=["models", "rollback", "ru", "en"])
    assert result.exit_code == 1
    assert "no replaced ru→en package is kept" in result.output


def test_retranslate_needs_a_language_or_a_model(runner):
    assert "give --lang LANG, --model NAME@VERSION, or both" in runner.invoke(args=["retranslate"]).output
    result = runner.invoke(args=["retranslate", "--model", "translate-ru_en"])
    assert result.exit_code == 2 and "NAME@VERSION" in result.output
