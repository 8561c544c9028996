"""`feedsvc models convert`: tiny checkpoints of every supported architecture, converted, installed and run by
the real worker, translate exactly as transformers' generate() does in float32 (tests/tiny_hf.py builds them).

int8 output is never compared word for word with torch's: CTranslate2's int8 kernels differ between CPUs (Intel,
AMD), and a near tie may flip. int8 packages are held to what `--verify` promises: the threshold.
"""

import errno
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from feedsvc.modelstore import convert
from feedsvc.modelstore import packages
from feedsvc.settings import Typography
from feedsvc.settings import WorkerSettings
from feedsvc.translation import worker
from tests import tiny_hf
from tests.helpers import make_release

ROUTES = {"marian": ("ru", "kk"), "nllb": ("ru", "kk"), "m2m100": ("ru", "kk"), "t5": ("ru", "kk")}
TOKENS = {
    "marian": (">>kaz_Cyrl<<", "</s>", ""),
    "nllb": ("rus_Cyrl", "</s>", "kaz_Cyrl"),
    "m2m100": ("__ru__", "</s>", "__kk__"),
    "t5": ("<2kk>", "</s>", ""),
}


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """The four tiny checkpoints, built once per session (about 20 s)."""
    root = tmp_path_factory.mktemp("hf")
    return {kind: tiny_hf.build(kind, root) for kind in tiny_hf.BUILDERS}


@pytest.fixture(scope="session")
def greedy(engine):
    """feedsvc's engine decoding greedily, as generate() does by default (beam search differs between the two),
    with each package's own numbers ("auto" would run a float32 package in int8)."""
    from feedsvc.translation.engine import Engine
    from feedsvc.translation.engine import EngineSettings

    return Engine(EngineSettings(beam_size=1, compute_type="default"))


@pytest.fixture(scope="session")
def references(checkpoints):
    """generate()'s greedy translations of every training sentence, per architecture."""
    sentences = [row["ru"] for row in tiny_hf.corpus_rows()]
    return {kind: convert.reference_translations(convert.plan(path, *ROUTES[kind]), sentences)
            for kind, path in checkpoints.items()}


def sentences_file(tmp_path: Path) -> Path:
    """The training sentences as a --verify-file."""
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(row["ru"] for row in tiny_hf.corpus_rows()) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", tuple(ROUTES))
def test_converted_package_translates_in_the_worker_exactly_like_generate(app, db, runner, greedy, checkpoints,
                                                                          references, kind, tmp_path):
    from_code, to_code = ROUTES[kind]
    archive = tmp_path / f"{kind}.argosmodel"
    # float32: the one quantization whose output may be held to generate()'s word for word on any CPU.
    result = runner.invoke(args=["models", "convert", str(checkpoints[kind]), "--from", from_code, "--to", to_code,
                                 "-o", str(archive), "--quantization", "float32", "--install"])
    assert result.exit_code == 0, result.output
    assert "Installed translate-ru_kk-1.0@1.0 (ru→kk)" in result.output
    (package,) = packages.list_packages(app.config["MODELS_DIR"])
    assert (package.source_prefix, package.source_suffix, package.target_prefix) == TOKENS[kind]
    rows = tiny_hf.corpus_rows()
    # Digits become placeholders before translation; these tiny models never saw one.
    plain = [(row, out) for row, out in zip(rows, references[kind], strict=True) if not re.search(r"\d", row["ru"])]
    release = make_release(db, title=plain[0][0]["ru"], body="\n\n".join(row["ru"] for row, _ in plain[1:]))
    # Typography off: the worker must store exactly what generate() says (its dashes would become em dashes).
    untouched = Typography(quotes=False, dashes=False, dates=False)
    worker.run(db, greedy.translate, WorkerSettings(models_dir=app.config["MODELS_DIR"], typography=untouched),
               once=True)
    row = db.execute("select title, body, status from translations where release_id = ? and lang = 'kk'",
                     [release["id"]]).fetchone()
    assert row[2] == "machine"
    assert [row[0]] + row[1].split("\n\n") == [out for _, out in plain] == [r[to_code] for r, _ in plain]


def test_marian_output_is_decoded_with_the_target_tokenizer(app, runner, checkpoints, tmp_path):
    archive = tmp_path / "marian.argosmodel"
    result = runner.invoke(args=["models", "convert", str(checkpoints["marian"]), "--from", "ru", "--to", "kk",
                                 "-o", str(archive), "--install"])
    assert result.exit_code == 0, result.output
    names = zipfile.ZipFile(archive).namelist()
    assert "translate-ru_kk-1.0/target_sentencepiece.model" in names
    listing = runner.invoke(args=["models", "list"]).output
    assert "source_prefix='>>kaz_Cyrl<<'  source_suffix='</s>'" in listing
    assert "output decoded by target_sentencepiece.model" in listing


def test_nllb_package_shares_one_tokenizer(checkpoints, tmp_path):
    archive = tmp_path / "nllb.argosmodel"
    convert.convert(checkpoints["nllb"], archive, from_code="ru", to_code="kk")
    assert not any(name.endswith(packages.TARGET_SPM) for name in zipfile.ZipFile(archive).namelist())


def test_multi_target_marian_picks_the_token_its_vocabulary_has(checkpoints):
    assert convert.plan(checkpoints["marian"], "ru", "kk").source_prefix == ">>kaz_Cyrl<<"
    assert convert.plan(checkpoints["marian"], "ru", "en").source_prefix == ">>eng<<"  # no >>eng_Latn<< there


def agreement_line(output: str) -> tuple[int, int, int, str]:
    """(identical, sentences, required percent, quantization) from --verify's "Agreement:" line."""
    found = re.search(r"Agreement: (\d+)/(\d+) identical \(at least (\d+)% required with (\w+)\)", output)
    assert found, output
    return int(found[1]), int(found[2]), int(found[3]), found[4]


@pytest.mark.parametrize(("quantization", "required"), (("int8", 85), ("float32", 95)))
def test_verify_accepts_a_package_at_or_above_the_threshold(app, runner, checkpoints, tmp_path, quantization,
                                                            required):
    app.config["ENGINE_COMPUTE_TYPE"] = "int8"  # what an office may run; --verify checks the package's own numbers
    archive = tmp_path / "t5.argosmodel"
    result = runner.invoke(args=["models", "convert", str(checkpoints["t5"]), "--from", "ru", "--to", "kk",
                                 "-o", str(archive), "--quantization", quantization, "--verify",
                                 "--verify-file", str(sentences_file(tmp_path))])
    assert result.exit_code == 0, result.output
    identical, sentences, shown, shown_quantization = agreement_line(result.output)
    # Which sentences agree word for word depends on the CPU's kernels (a near tie of this tiny model flips on
    # AMD, in int8 and float32 alike: "74-72-27." for "74-72-27)"); that enough of them do, does not.
    assert (sentences, shown, shown_quantization) == (tiny_hf.PAIRS, required, quantization)
    assert identical * 100 >= required * sentences, result.output
    assert archive.is_file()


@pytest.mark.parametrize(("quantization", "identical", "ok"), (
    ("int8", 20, True), ("int8", 17, True), ("int8", 16, False), ("int8", 0, False),
    ("float32", 19, True), ("float32", 18, False),
))
def test_the_agreement_rule_at_its_boundary(quantization, identical, ok):
    sentences = [f"s{n}" for n in range(20)]
    packaged = [f"t{n}" if n < identical else "other" for n in range(20)]
    agreement = convert.Agreement(sentences, [f"t{n}" for n in range(20)], packaged,
                                  convert.VERIFY_MIN_AGREEMENT[quantization])
    assert (agreement.agreed, agreement.ok) == (identical, ok)
    assert len(agreement.differences()) == 20 - identical


def test_verify_fails_on_a_package_with_the_wrong_target_token_and_removes_it(runner, checkpoints, tmp_path,
                                                                               monkeypatch):
    real_build = packages.build_package

    def wrong_prefix(*args, **options):
        """Package as a hand-written recipe could: the English token instead of the Kazakh one."""
        return real_build(*args, **{**options, "source_prefix": ">>eng<<"})

    monkeypatch.setattr(packages, "build_package", wrong_prefix)
    archive = tmp_path / "marian.argosmodel"
    result = runner.invoke(args=["models", "convert", str(checkpoints["marian"]), "--from", "ru", "--to", "kk",
                                 "-o", str(archive), "--verify", "--verify-file", str(sentences_file(tmp_path))])
    assert result.exit_code == 1
    assert re.search(r"Agreement: [0-2]/20 identical", result.output), result.output
    assert "does not translate like the original model" in result.output
    assert not archive.exists()


def test_engine_decodes_with_the_packaged_target_tokenizer(app, runner, greedy, checkpoints, tmp_path):
    result = runner.invoke(args=["models", "convert", str(checkpoints["marian"]), "--from", "ru", "--to", "kk",
                                 "-o", str(tmp_path / "m.argosmodel"), "--install"])
    assert result.exit_code == 0, result.output
    (package,) = packages.list_packages(app.config["MODELS_DIR"])
    loaded = greedy.model(package)
    assert Path(loaded.target_tokenizer.model_file).name == packages.TARGET_SPM
    assert Path(loaded.package.tokenizer.model_file).name == "sentencepiece.model"


def ct2_model(checkpoint: Path, out: Path) -> Path:
    """A bare CTranslate2 conversion, as the README's old recipe made one."""
    convert.convert_model(checkpoint, out, "int8")
    return out


def test_build_refuses_a_prefix_the_vocabulary_lacks_and_warns_about_a_missing_eos(runner, checkpoints, tmp_path):
    model = ct2_model(checkpoints["marian"], tmp_path / "ct2")
    output = tmp_path / "out.argosmodel"
    base = ["models", "build", str(model), str(checkpoints["marian"] / "source.spm"), "--from", "ru", "--to", "kk",
            "-o", str(output)]
    result = runner.invoke(args=[*base, "--source-prefix", ">>kaz<<", "--source-suffix", "</s>"])
    assert result.exit_code == 1
    assert "has no >>kaz<<" in result.output and not output.exists()
    result = runner.invoke(args=[*base, "--source-prefix", ">>kaz_Cyrl<<"])
    assert result.exit_code == 0, result.output
    assert "add_source_eos: false and no source suffix" in result.output


def broken_copy(checkpoint: Path, tmp_path: Path, *, drop: str = "", model_type: str = "") -> Path:
    """A copy of a checkpoint with one file missing or another model_type."""
    copy = tmp_path / "broken"
    shutil.copytree(checkpoint, copy)
    if drop:
        (copy / drop).unlink()
    if model_type:
        config = json.loads((copy / "config.json").read_text())
        (copy / "config.json").write_text(json.dumps({**config, "model_type": model_type}))
    return copy


@pytest.mark.parametrize(("case", "message"), (
    ("empty folder", "is not a Hugging Face checkpoint (no config.json)"),
    ("unknown language", "unknown language 'xx'"),
    ("no token for the language", "has no target token for tt"),
    ("missing target.spm", "missing tokenizer file target.spm"),
    ("a BERT model", "model_type 'bert' is not supported; feedsvc converts Marian/OPUS-MT, NLLB-200"),
    ("NLLB without language codes", "do not list rus_Cyrl, kaz_Cyrl"),
))
def test_bad_input_is_one_clear_line_and_leaves_nothing(runner, checkpoints, tmp_path, case, message):
    folder, to_code = checkpoints["marian"], "kk"
    if case == "empty folder":
        folder = tmp_path / "empty"
        folder.mkdir()
    elif case == "unknown language":
        to_code = "xx"
    elif case == "no token for the language":
        to_code = "tt"
    elif case == "missing target.spm":
        folder = broken_copy(folder, tmp_path, drop="target.spm")
    elif case == "a BERT model":
        folder = broken_copy(folder, tmp_path, model_type="bert")
    else:
        folder = broken_copy(checkpoints["nllb"], tmp_path, drop="tokenizer.json")
        config = json.loads((folder / "tokenizer_config.json").read_text())
        (folder / "tokenizer_config.json").write_text(json.dumps({**config, "extra_special_tokens": []}))
    output = tmp_path / "out" / "x.argosmodel"
    result = runner.invoke(args=["models", "convert", str(folder), "--from", "ru", "--to", to_code, "-o", str(output)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 or result.output.count("Error:") == 1
    assert not output.parent.exists() or not list(output.parent.iterdir())


def test_a_full_disk_leaves_no_half_package(runner, checkpoints, tmp_path, monkeypatch):
    def full(self, *args, **kwargs):
        """The disk fills up while the model is written into the archive."""
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "write", full)
    result = runner.invoke(args=["models", "convert", str(checkpoints["nllb"]), "--from", "ru", "--to", "kk",
                                 "-o", str(tmp_path / "x.argosmodel")])
    assert result.exit_code == 1
    assert "No space left on device" in result.output
    assert not [p.name for p in tmp_path.iterdir() if "argosmodel" in p.name]


def test_evaluate_scores_the_current_route_and_a_candidate_on_a_test_set(app, runner, models, checkpoints, tmp_path):
    import sacrebleu

    # Greedy and float32, computed as converted: the candidate's output is then generate()'s on any CPU.
    app.config.update(ENGINE_BEAM_SIZE=1, ENGINE_COMPUTE_TYPE="default")
    candidate = tmp_path / "nllb.argosmodel"
    convert.convert(checkpoints["nllb"], candidate, from_code="ru", to_code="kk", quantization="float32")
    rows = tiny_hf.corpus_rows()
    # Every other reference is another row's: the tiny model's output (its training kk) is known, so are the scores.
    references = [row["kk"] if n % 2 == 0 else rows[(n + 1) % len(rows)]["kk"] for n, row in enumerate(rows)]
    test_set = tmp_path / "test.tsv"
    test_set.write_text("".join(f"{row['ru']}\t{ref}\n" for row, ref in zip(rows, references, strict=True)))
    result = runner.invoke(args=["models", "evaluate", "--lang", "kk", "--test-set", str(test_set),
                                 "--candidate", str(candidate), "--json"])
    assert result.exit_code == 0, result.output
    scored = {item["which"]: item for item in json.loads(result.stdout)}
    outputs = [row["kk"] for row in rows]
    assert scored["candidate"]["chrf"] == round(sacrebleu.corpus_chrf(outputs, [references]).score, 2)
    assert scored["candidate"]["bleu"] == round(sacrebleu.corpus_bleu(outputs, [references]).score, 2)
    assert scored["candidate"]["sentences"] == scored["current"]["sentences"] == len(rows)
    assert scored["current"]["route"].startswith("ru→en→kk (translate-ru_en-demo")
    assert packages.find_route(packages.list_packages(app.config["MODELS_DIR"]), "ru", "kk").kind == "pivot"


def test_evaluate_uses_reviewed_translations_and_the_models_page_shows_the_result(app, db, runner, models,
                                                                                  logged_in):
    release = make_release(db, title="Сенат принял закон", body="Первое предложение. Второе предложение.\n\nАбзац.")
    db.execute("update translations set title = ?, body = ?, origin = 'human', status = 'reviewed' "
               "where release_id = ? and lang = 'kk'",
               ["Сенат заң қабылдады", "Бірінші сөйлем. Екінші сөйлем.\n\nАбзац.", release["id"]])
    db.conn.commit()
    result = runner.invoke(args=["models", "evaluate", "--lang", "kk"])
    assert result.exit_code == 0, result.output
    assert "reviewed editors' translations: ru→en→kk" in result.output
    assert "4 sentence(s)" in result.output  # the title and three aligned sentences
    html = logged_in.get("/admin/models/").get_data(as_text=True)
    assert "Latest evaluations" in html and "reviewed editors&#39; translations" in html


def test_evaluate_without_data_is_one_clear_line(runner, models):
    result = runner.invoke(args=["models", "evaluate", "--lang", "kk"])
    assert result.exit_code == 1
    assert "nothing to score on: no reviewed kk translations yet; give --test-set FILE" in result.output


def test_the_worker_never_imports_transformers(tmp_path):
    code = (
        "import sys; from feedsvc.translation.engine import Engine, prepare_environment; "
        "from feedsvc.commands import translation; from feedsvc.modelstore import packages; "
        "from feedsvc.translation import worker; "
        "from feedsvc.demo import install_demo_models; "
        f"prepare_environment(r'{tmp_path}/argos', r'{tmp_path}/models'); install_demo_models(r'{tmp_path}/models'); "
        f"Engine().translate(packages.list_packages(r'{tmp_path}/models')[0], ['Сенат принял закон']); "
        "print([m for m in ('transformers', 'sacrebleu') if m in sys.modules] or 'clean')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "clean", result.stderr


def test_convert_without_the_convert_extra_says_what_to_install(runner, checkpoints, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if `pip install feedsvc` without [convert]
    result = runner.invoke(args=["models", "convert", str(checkpoints["nllb"]), "--from", "ru", "--to", "kk",
                                 "-o", str(tmp_path / "x.argosmodel")])
    assert result.exit_code == 1
    assert "converting needs transformers: pip install torch==2.13.0, then pip install 'feedsvc[convert]'" \
        in result.output
    assert not list(tmp_path.glob("*argosmodel*"))
