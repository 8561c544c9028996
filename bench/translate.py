"""Translation throughput: the feedsvc pipeline vs raw CTranslate2 vs Argos Translate's own path.

Builds an Argos-sized Transformer (6+6 layers, d_model 512, 8 heads, ffn 2048, shared 32k vocabulary,
pre-norm) with seeded random weights, quantized to int8 through CTranslate2's converter machinery,
with a SentencePiece model trained on generated Russian-like text, packaged as an Argos package and
installed with feedsvc's own installer. Then it times, side by side and interleaved:

  (a) feedsvc end to end: the worker (``worker.run(once=True)``) draining the queued releases from a
      fresh SQLite database with migrations, no glossary, ``Engine.translate``: it claims the due
      jobs together and stores each translation; (a1) is one release at a time, a lone publish;
  (b) raw ``ctranslate2.Translator.translate_batch`` over the same tokenized sentences, same settings;
  (c) Argos Translate's own path: ``PackageTranslation.translate`` per release, which calls
      ``apply_packaged_translation`` once per paragraph with Argos's defaults, its MiniSBD splitter
      swapped for feedsvc's razdel splitter (MiniSBD downloads a model on first use);

plus the translation memory's effect: a 20-sentence release fresh vs. after editing one sentence.

Random weights never stop on their own: the EOS logit is additionally pushed to -1e4 so every
hypothesis runs to its cap, which is 1.3x the longest source in each ``translate_batch`` call in
every path (for Argos by wrapping its translator; it passes no max_decoding_length itself).

Nothing is downloaded. Run from the project root:

    .venv/bin/python bench/translate.py            # full run (~200 sentences)
    .venv/bin/python bench/translate.py --quick    # smoke run (~40 sentences, 1 repetition)
"""

import argparse
import dataclasses
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from pathlib import Path

SEED = 20240611
D_MODEL, HEADS, FFN, LAYERS, VOCAB = 512, 8, 2048, 6, 32000
SP_VOCAB = 8000
TOKEN_BAND = (23, 27)  # SentencePiece tokens per benchmark sentence (mean ~25)
DECODING_RATIO = 1.3
SENTENCES_PER_PARAGRAPH = 5
PUBLISHED = datetime(2026, 11, 19, 6, 30, tzinfo=UTC)
BLOCKED = -1e4  # projection bias of tokens a random model must never emit (EOS, UNK, fillers...)


# --- environment: before anything imports argostranslate -------------------------------------------


def prepare_environment(base: Path) -> None:
    """Point every folder Argos and its dependencies touch under ``base``; reset Argos settings to defaults."""
    for name in [n for n in os.environ if n.startswith("ARGOS_")]:
        del os.environ[name]  # Argos's defaults are what (c) measures
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        os.environ[var] = str(base / var.lower())
        os.makedirs(os.environ[var], exist_ok=True)
    os.environ["ARGOS_PACKAGES_DIR"] = str(base / "argos-packages")
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["STANZA_RESOURCES_DIR"] = str(base / "stanza")


# --- generated Russian-like text ---------------------------------------------------------------------

SUBJECTS = [
    "Депутаты", "Члены комитета", "Председатель палаты", "Министр финансов", "Рабочая группа", "Правительство",
    "Сенаторы", "Участники совещания", "Эксперты", "Представители министерства", "Депутаты фракции",
    "Члены бюджетной комиссии", "Руководство ведомства", "Вице-министр энергетики", "Аким области",
    "Уполномоченный по правам человека", "Председатель комитета по аграрным вопросам", "Делегация парламента",
]
VERBS = [
    "обсудили", "рассмотрели", "одобрили", "поддержали", "представили", "внесли на рассмотрение",
    "подчеркнули важность", "обратили особое внимание на", "предложили изменить", "детально проанализировали",
    "вынесли на общественное обсуждение", "направили на доработку", "заслушали отчет о ходе реализации",
    "высоко оценили", "выступили с инициативой пересмотреть",
]
OBJECTS = [
    "законопроект о", "поправки к законопроекту о", "проект государственной программы", "вопросы",
    "меры государственной поддержки", "итоги мониторинга", "план мероприятий по", "концепцию", "порядок финансирования",
    "нормы регулирования", "предложения по совершенствованию", "результаты проверки",
]
TOPICS = [
    "развития сельского хозяйства", "государственных закупок", "цифровизации здравоохранения",
    "местного самоуправления", "охраны окружающей среды", "жилищного строительства", "дорожной инфраструктуры",
    "среднего и малого бизнеса", "дошкольного образования", "водных ресурсов", "социальной защиты населения",
    "занятости молодежи", "туристической отрасли", "энергосбережения", "противодействия коррупции",
    "пенсионного обеспечения", "профессионального обучения", "транспортной логистики",
]
TAILS = [
    "с учетом предложений депутатов и общественных организаций", "до конца текущего года",
    "в рамках реализации послания главы государства", "по итогам выездного заседания",
    "после длительной дискуссии с представителями бизнеса", "в соответствии с поручением правительства",
    "при участии международных экспертов", "в целях повышения качества государственных услуг",
    "на расширенном заседании коллегии", "в ходе рабочей поездки по регионам",
]
ONSETS = ["б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ш", "х", "ст", "кр", "тр", "жан"]
VOWELS = ["а", "е", "и", "о", "у", "ы", "я", "ә"]
CODAS = ["", "", "", "н", "р", "л", "т", "с", "к", "м"]
PLACE_SUFFIXES = ["ской области", "ского района", "ского сельского округа"]
NAME_SUFFIXES = ["ова", "ева", "ина", "баева", "улы", "кызы"]


def made_up_stem(rng: random.Random) -> str:
    """A capitalized pseudo-Kazakh/Russian stem: the proper names SentencePiece has not all seen."""
    stem = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(rng.randint(2, 3)))
    return stem.capitalize()


def sentence(rng: random.Random) -> str:
    """One press-release-like Russian sentence: no digits, no abbreviations (nothing to protect or mis-split)."""
    place = f"{made_up_stem(rng)}{rng.choice(PLACE_SUFFIXES)}"
    words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(TOPICS), place]
    if rng.random() < 0.5:
        words.insert(0, f"По словам {made_up_stem(rng)}{rng.choice(NAME_SUFFIXES)},")
        words[1] = words[1][0].lower() + words[1][1:]
    text = " ".join(words)
    if rng.random() < 0.6:
        text += ", " + rng.choice(TAILS)
    return text + "."


def training_corpus(count: int, seed: int) -> list[str]:
    """Text to train the SentencePiece model on (a different seed from the benchmark sentences)."""
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(count)]


def benchmark_sentences(count: int, sp, seed: int, exclude: set[str] = frozenset()) -> list[str]:
    """``count`` unique sentences whose SentencePiece length lies in TOKEN_BAND."""
    rng = random.Random(seed)
    chosen, seen = [], set(exclude)
    while len(chosen) < count:
        s = sentence(rng)
        if s not in seen and TOKEN_BAND[0] <= len(sp.encode(s)) <= TOKEN_BAND[1]:
            seen.add(s)
            chosen.append(s)
    return chosen


def make_releases(sentences: list[str], paragraphs_per_release: int) -> list[dict]:
    """Releases: a title sentence, then paragraphs of SENTENCES_PER_PARAGRAPH sentences."""
    releases, i = [], 0
    per_release = 1 + paragraphs_per_release * SENTENCES_PER_PARAGRAPH
    while i + per_release <= len(sentences):
        title = sentences[i]
        body = sentences[i + 1:i + per_release]
        paragraphs = [body[j:j + SENTENCES_PER_PARAGRAPH] for j in range(0, len(body), SENTENCES_PER_PARAGRAPH)]
        releases.append({"title": title, "paragraphs": paragraphs,
                         "body": "\n\n".join(" ".join(p) for p in paragraphs)})
        i += per_release
    return releases


# --- the model ---------------------------------------------------------------------------------------


def train_sentencepiece(texts: list[str], path: Path):
    """A unigram SentencePiece model (ids: unk 0, bos 1, eos 2, pad 3), trained single-threaded."""
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_prefix=str(path.with_suffix("")), model_type="unigram",
        vocab_size=SP_VOCAB, hard_vocab_limit=False, character_coverage=1.0, unk_id=0, bos_id=1, eos_id=2,
        pad_id=3, num_threads=1, minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=str(path))


def random_spec(pieces: list[str], blocked: set[int]):
    """A TransformerSpec (pre-norm, built-in sinusoidal positions) filled with seeded random weights."""
    import numpy as np
    from ctranslate2.specs import transformer_spec

    rng = np.random.default_rng(SEED)

    def matrix(rows: int, cols: int):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * cols**-0.5).astype(np.float32)

    def linear(spec, rows: int, cols: int) -> None:
        spec.weight = matrix(rows, cols)
        spec.bias = (rng.standard_normal(rows, dtype=np.float32) * 0.02).astype(np.float32)

    def norm(spec) -> None:
        spec.gamma = np.ones(D_MODEL, dtype=np.float32)
        spec.beta = np.zeros(D_MODEL, dtype=np.float32)

    def ffn(spec) -> None:
        norm(spec.layer_norm)
        linear(spec.linear_0, FFN, D_MODEL)
        linear(spec.linear_1, D_MODEL, FFN)

    spec = transformer_spec.TransformerSpec.from_config((LAYERS, LAYERS), HEADS, pre_norm=True)
    embeddings = (rng.standard_normal((VOCAB, D_MODEL), dtype=np.float32) * D_MODEL**-0.5).astype(np.float32)
    spec.encoder.embeddings[0].weight = embeddings
    spec.decoder.embeddings.weight = embeddings  # shared vocabulary and embeddings, as in Argos's models
    spec.decoder.projection.weight = embeddings
    bias = np.zeros(VOCAB, dtype=np.float32)
    bias[sorted(blocked)] = BLOCKED
    spec.decoder.projection.bias = bias
    norm(spec.encoder.layer_norm)
    norm(spec.decoder.layer_norm)
    for layer in spec.encoder.layer:
        linear(layer.self_attention.linear[0], 3 * D_MODEL, D_MODEL)
        linear(layer.self_attention.linear[1], D_MODEL, D_MODEL)
        norm(layer.self_attention.layer_norm)
        ffn(layer.ffn)
    for layer in spec.decoder.layer:
        linear(layer.self_attention.linear[0], 3 * D_MODEL, D_MODEL)
        linear(layer.self_attention.linear[1], D_MODEL, D_MODEL)
        norm(layer.self_attention.layer_norm)
        linear(layer.attention.linear[0], D_MODEL, D_MODEL)
        linear(layer.attention.linear[1], 2 * D_MODEL, D_MODEL)
        linear(layer.attention.linear[2], D_MODEL, D_MODEL)
        norm(layer.attention.layer_norm)
        ffn(layer.ffn)
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    return spec


def build_model(work: Path, corpus: list[str]):
    """SentencePiece + int8 CTranslate2 model, packaged and installed; returns (PackageInfo, sp processor)."""
    from ctranslate2.converters import Converter

    from feedsvc.modelstore.packages import build_package
    from feedsvc.modelstore.packages import install_file

    sp_path = work / "sentencepiece.model"
    sp = train_sentencepiece(corpus, sp_path)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab = pieces + [f"<filler_{i}>" for i in range(VOCAB - len(pieces))]
    blocked = {sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()} | set(range(len(pieces), VOCAB))

    class RandomConverter(Converter):
        """The official converter machinery (validation, aliasing, int8 quantization) over a ready spec."""

        def _load(self):
            return random_spec(vocab, blocked)

    model_dir = work / "ct2-model"
    RandomConverter().convert(str(model_dir), quantization="int8", force=True)
    archive = build_package(model_dir, sp_path, work / "translate-ru_en-bench.argosmodel", from_code="ru",
                            to_code="en", version="1.0-bench", from_name="Russian", to_name="English",
                            name="translate-ru_en-bench")
    info = install_file(work / "models", archive)
    return info, sp, len(pieces), sum(f.stat().st_size for f in (info.path / "model").rglob("*") if f.is_file())


# --- measuring ---------------------------------------------------------------------------------------


class TimedTranslator:
    """A stand-in for a ctranslate2.Translator that times translate_batch (and can cap decoding)."""

    def __init__(self, inner, cap_ratio: float | None = None):
        self.inner, self.cap_ratio = inner, cap_ratio
        self.seconds, self.calls, self.steps = 0.0, 0, 0

    def translate_batch(self, source, **kwargs):
        if self.cap_ratio is not None and "max_decoding_length" not in kwargs:
            kwargs["max_decoding_length"] = max(1, int(max(len(s) for s in source) * self.cap_ratio))
        self.calls += 1
        self.steps += len(source) * kwargs.get("max_decoding_length", 256)
        start = time.perf_counter()
        try:
            return self.inner.translate_batch(source, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    def reset(self):
        self.seconds, self.calls, self.steps = 0.0, 0, 0


def fresh_db(folder: Path, name: str):
    """A new SQLite file with feedsvc's schema, opened the way the worker opens it."""
    from feedsvc.migrations import migrations
    from feedsvc.storage import connect

    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = connect(str(path))
    migrations.apply(db)
    return db


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt_runs(values: list[float], digits: int = 2) -> str:
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + "]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: ~40 sentences, 1 timed repetition")
    parser.add_argument("--reps", type=int, default=None,
                        help="repetitions (default 3, quick 1): each times a, a1, b twice, c once")
    parser.add_argument("--releases", type=int, default=None, help="releases of 8 paragraphs (default 5, quick 1)")
    parser.add_argument("--max-batch-size", type=int, default=None,
                        help="what-if: EngineSettings.max_batch_size for (a) and (b) (default: the engine's default)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (model, package, DBs)")
    args = parser.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    n_releases = args.releases or (1 if args.quick else 5)
    paragraphs_per_release = 8
    started = time.perf_counter()
    load_start = (os.getloadavg(), busy_seconds(), own_seconds(), time.perf_counter())

    work = Path(tempfile.mkdtemp(prefix="feedsvc-bench-"))
    prepare_environment(work / "argos")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    try:
        return run(args, work, reps, n_releases, paragraphs_per_release, started, load_start)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path, reps: int, n_releases: int, paragraphs_per_release: int, started: float,
        load_start) -> int:
    import ctranslate2

    from feedsvc import releases as stored_releases
    from feedsvc.modelstore.packages import Route
    from feedsvc.text.segment import split_paragraphs
    from feedsvc.text.segment import split_sentences
    from feedsvc.translation import worker
    from feedsvc.translation.engine import Engine
    from feedsvc.translation.engine import EngineSettings
    from feedsvc.translation.pipeline import translate_release
    from feedsvc.translation.protect import protect

    # -- model and data
    t = time.perf_counter()
    corpus = training_corpus(4000 if args.quick else 20000, SEED + 1)
    info, sp, sp_size, model_bytes = build_model(work, corpus)
    build_seconds = time.perf_counter() - t
    per_release = 1 + paragraphs_per_release * SENTENCES_PER_PARAGRAPH
    sentences = benchmark_sentences(n_releases * per_release, sp, SEED + 2)
    releases = make_releases(sentences, paragraphs_per_release)
    small_sentences = benchmark_sentences(21, sp, SEED + 3, exclude=set(sentences))
    body20 = small_sentences[1:20]
    small_paragraphs = [body20[0:5], body20[5:10], body20[10:15], body20[15:19]]
    small = {"title": small_sentences[0], "body": "\n\n".join(" ".join(p) for p in small_paragraphs)}
    edited_body = [list(p) for p in small_paragraphs]
    edited_body[1][2] = small_sentences[20]
    edited = {"title": small["title"], "body": "\n\n".join(" ".join(p) for p in edited_body)}

    # The pipeline must see exactly the generated sentences: razdel agrees, and protect() changes nothing.
    for release in releases:
        got = [[release["title"]]] + [split_sentences(p) for p in split_paragraphs(release["body"])]
        assert got == [[release["title"]]] + release["paragraphs"], "razdel split differs from the generated one"
    assert all(protect(s, []).text == s for s in sentences + small_sentences), "a sentence has protected spans"
    tokens = [sp.encode(s, out_type=str) for s in sentences]
    lengths = [len(x) for x in tokens]
    n = len(sentences)

    # -- (a) feedsvc
    settings = EngineSettings(max_decoding_ratio=DECODING_RATIO, max_decoding_floor=0)
    if args.max_batch_size:
        settings = dataclasses.replace(settings, max_batch_size=args.max_batch_size)
    engine = Engine(settings)
    route = Route((info,))
    model = engine.model(info)
    feedsvc_translator = TimedTranslator(model.translator)
    model.translator = feedsvc_translator  # times translate_batch inside the pipeline (no cap added)

    worker_settings = worker.WorkerSettings(models_dir=info.path.parent)

    def queued_db(name: str, batch: list[dict]):
        """A fresh database with the releases published and their English jobs queued (not timed)."""
        db = fresh_db(work, name)
        for release in batch:
            stored_releases.create_release(db, title=release["title"], body=release["body"], publish=True,
                                           published_at=PUBLISHED, languages=("en",))
        return db

    def run_feedsvc(db, count: int = 0) -> None:
        before = engine.sentences_translated
        assert worker.run(db, engine.translate, worker_settings, once=True) == (count or len(releases))
        assert count or engine.sentences_translated - before == n
        assert db.execute("select count(*) from translations where status = 'done'").fetchone()[0] == (
            count or len(releases))

    def run_feedsvc_per_release(db) -> None:
        for release in releases:
            outcome = translate_release(db, release, "en", route, [], engine.translate)
            assert outcome.sent_to_model == outcome.sentences

    # -- (b) raw CTranslate2, same settings as the engine, own translator
    raw = ctranslate2.Translator(str(info.path / "model"), device="cpu", compute_type=settings.compute_type,
                                 inter_threads=settings.inter_threads, intra_threads=settings.intra_threads)
    raw_cap = max(settings.max_decoding_floor, int(max(lengths) * DECODING_RATIO))

    def run_raw(warmup: bool = False) -> None:
        batch = tokens[:per_release] if warmup else tokens
        results = raw.translate_batch(batch, max_batch_size=settings.max_batch_size, batch_type="examples",
                                      beam_size=settings.beam_size, max_decoding_length=raw_cap,
                                      replace_unknowns=True)
        assert len(results) == len(batch)

    # -- (c) Argos Translate's own path
    import argostranslate
    import argostranslate.settings as argos_settings
    import argostranslate.translate as argos_translate
    from argostranslate.package import Package

    real_ctranslate2 = argos_translate.ctranslate2
    argos_made = {}

    class ArgosCtranslate2:
        """Stands in for the ``ctranslate2`` module inside argostranslate.translate only."""

        @staticmethod
        def Translator(*a, **kw):  # noqa: N802 - mirrors ctranslate2.Translator
            argos_made.update(kw)
            argos_made["translator"] = TimedTranslator(real_ctranslate2.Translator(*a, **kw), DECODING_RATIO)
            return argos_made["translator"]

    argos_translate.ctranslate2 = ArgosCtranslate2

    class RazdelSentencizer:
        """feedsvc's razdel splitter in place of MiniSBD (which downloads its model on first use)."""

        def split_sentences(self, text: str) -> list[str]:
            return split_sentences(text)

    package = Package(info.path)
    argos = argos_translate.PackageTranslation(argos_translate.Language("ru", "Russian"),
                                               argos_translate.Language("en", "English"), package)
    replaced_sentencizer = type(argos.sentencizer).__name__
    argos.sentencizer = RazdelSentencizer()
    argos_texts = ["\n".join([r["title"]] + [" ".join(p) for p in r["paragraphs"]]) for r in releases]

    def run_argos(warmup: bool = False) -> None:
        for text in argos_texts[:1] if warmup else argos_texts:
            out = argos.translate(text)  # one apply_packaged_translation per paragraph ("\n"-separated)
            assert out.count("\n") == text.count("\n")

    # -- memory: 20-sentence release fresh vs. one sentence edited
    def run_incremental(db) -> tuple[float, float]:
        t0 = time.perf_counter()
        first = translate_release(db, small, "en", route, [], engine.translate)
        t1 = time.perf_counter()
        second = translate_release(db, edited, "en", route, [], engine.translate)
        t2 = time.perf_counter()
        assert (first.sentences, first.sent_to_model, second.sent_to_model) == (20, 20, 1), (first, second)
        return t1 - t0, t2 - t1

    # -- warm-up: every path once (loads the models, first-call allocations)
    print_header(ctranslate2, argostranslate, argos_settings, settings, info, sp_size, model_bytes, build_seconds,
                 n, releases, lengths, reps, args, replaced_sentencizer)
    warm = {}
    t = time.perf_counter()
    run_raw(warmup=True)
    warm["raw"] = time.perf_counter() - t
    t = time.perf_counter()
    run_feedsvc(queued_db("warm", releases[:1]), count=1)
    warm["feedsvc"] = time.perf_counter() - t
    t = time.perf_counter()
    run_argos(warmup=True)
    warm["argos"] = time.perf_counter() - t
    t = time.perf_counter()
    run_incremental(fresh_db(work, "warm-incremental"))
    warm["memory"] = time.perf_counter() - t
    print("warm-up (s): " + ", ".join(f"{k} {v:.1f}" for k, v in warm.items()), flush=True)
    print(f"Argos built its translator with: { {k: v for k, v in argos_made.items() if k != 'translator'} }")

    # -- timed repetitions, interleaved so background load hits every path alike
    times = {"a": [], "a1": [], "b": [], "c": [], "fresh": [], "edit": []}
    others = {"a": [], "b": [], "c": []}  # CPU share other processes took while each path ran
    breakdown = {"a_batch": [], "c_batch": []}

    def measure(key: str, fn, *args) -> None:
        busy, own, t = busy_seconds(), own_seconds(), time.perf_counter()
        fn(*args)
        wall = time.perf_counter() - t
        times[key].append(wall)
        if key in others:
            used = max(0.0, (busy_seconds() - busy) - (own_seconds() - own))
            others[key].append(used / (wall * len(os.sched_getaffinity(0))))
        time.sleep(0.3)  # let worker/OpenMP threads go idle before the next path

    memory_pairs = 3
    for rep in range(reps):
        # b a a1 c a1 a b: symmetric, so a drift in machine speed during the repetition cancels out
        for key in ("b", "a", "a1", "c", "a1", "a", "b"):
            if key == "b":
                measure("b", run_raw)
            elif key == "a":
                db = queued_db(f"a{rep}-{len(times['a'])}", releases)
                feedsvc_translator.reset()
                measure("a", run_feedsvc, db)
                breakdown["a_batch"].append(feedsvc_translator.seconds)
                a_steps, a_calls = feedsvc_translator.steps, feedsvc_translator.calls
                assert a_calls, "the worker did not use the timed translator (model loaded again?)"
                db.close()
            elif key == "a1":
                db = fresh_db(work, f"a1-{rep}-{len(times['a1'])}")
                measure("a1", run_feedsvc_per_release, db)
                db.close()
            else:
                argos_made["translator"].reset()
                measure("c", run_argos)
                breakdown["c_batch"].append(argos_made["translator"].seconds)
                c_steps, c_calls = argos_made["translator"].steps, argos_made["translator"].calls
        for pair in range(memory_pairs):
            db = fresh_db(work, f"inc{rep}-{pair}")
            fresh, edit = run_incremental(db)
            db.close()
            times["fresh"].append(fresh)
            times["edit"].append(edit)
        print(f"repetition {rep + 1}/{reps}: b {fmt_runs(times['b'][-2:])}s, a {fmt_runs(times['a'][-2:])}s, "
              f"a1 {fmt_runs(times['a1'][-2:])}s, c {times['c'][-1]:.2f}s, "
              f"fresh {fmt_runs(times['fresh'][-memory_pairs:], 3)}s, "
              f"edit {fmt_runs(times['edit'][-memory_pairs:], 3)}s; "
              f"CPU taken by other processes during b/a/c: {max(others['b'][-2:]):.0%}/{max(others['a'][-2:]):.0%}/"
              f"{others['c'][-1]:.0%}", flush=True)

    med = {k: median(v) for k, v in times.items()}
    rate = {k: n / med[k] for k in ("a", "a1", "b", "c")}
    b_steps = n * raw_cap
    overhead = [total - model for total, model in zip(times["a"], breakdown["a_batch"], strict=True)]
    print()
    print(f"RESULTS ({n} sentences; median of {len(times['a'])} timed runs of a, a1 and b, {len(times['c'])} of c, "
          f"{len(times['fresh'])} memory pairs; seconds per run in brackets)")
    print(f"  (a)  feedsvc worker, {len(releases)} queued releases   {rate['a']:7.2f} sentences/s  "
          f"{fmt_runs(times['a'])}")
    print(f"       translate_batch {median(breakdown['a_batch']):.2f}s in {a_calls} call(s) (the due jobs together); "
          f"pipeline outside translate_batch {median(overhead):.3f}s "
          f"({median(overhead) / med['a']:.1%}); decoder steps/sentence {a_steps / n:.1f}")
    print(f"  (a1) feedsvc one release at a time          {rate['a1']:7.2f} sentences/s  {fmt_runs(times['a1'])}"
          "  (a lone publish; diagnostic)")
    print(f"  (b)  raw ctranslate2 translate_batch         {rate['b']:7.2f} sentences/s  {fmt_runs(times['b'])}")
    print(f"       1 call; decoder steps/sentence {b_steps / n:.1f}")
    print(f"  (c)  argostranslate PackageTranslation       {rate['c']:7.2f} sentences/s  {fmt_runs(times['c'])}")
    print(f"       translate_batch {median(breakdown['c_batch']):.2f}s in {c_calls} call(s) (one per paragraph); "
          f"decoder steps/sentence {c_steps / n:.1f}")
    ab, ac, a1b = rate["a"] / rate["b"], rate["a"] / rate["c"], rate["a1"] / rate["b"]
    pairs = lambda key: [sum(times[key][i:i + 2]) for i in range(0, len(times[key]), 2)]  # noqa: E731
    paired_ab = median([b / a for a, b in zip(pairs("a"), pairs("b"), strict=True)])
    paired_ac = median([2 * c / a for a, c in zip(pairs("a"), times["c"], strict=True)])
    paired_edit = median([e / f for f, e in zip(times["fresh"], times["edit"], strict=True)])
    edit_ratio = med["edit"] / med["fresh"]
    print()
    print(f"  a/b  = {ab:5.2f}   (target >= 0.90)  {'PASS' if ab >= 0.90 else 'MISS'}   "
          f"[median of per-repetition ratios {paired_ab:.2f}]")
    print(f"  a/c  = {ac:5.2f}   (target >= 5)     {'PASS' if ac >= 5 else 'MISS'}   "
          f"[median of per-repetition ratios {paired_ac:.2f}]")
    print(f"  a1/b = {a1b:5.2f}   (diagnostic: one release per model call, vs raw)")
    print(f"  memory: 20-sentence release fresh {med['fresh']:.3f}s {fmt_runs(times['fresh'], 3)}, "
          f"after editing 1 sentence {med['edit']:.3f}s {fmt_runs(times['edit'], 3)} (1 sentence to the model)")
    print(f"  edit/fresh = {edit_ratio:5.3f}   (target <= 0.15)  {'PASS' if edit_ratio <= 0.15 else 'MISS'}   "
          f"[median of per-pair ratios {paired_edit:.3f}]")
    print()
    load, busy, own, wall = load_start
    others = (busy_seconds() - busy) - (own_seconds() - own)
    cores = len(os.sched_getaffinity(0))
    others = max(0.0, others)
    share = others / ((time.perf_counter() - wall) * cores)
    print(f"load average at start {fmt_load(load)}, at end {fmt_load(os.getloadavg())}; other processes used "
          f"{others:.0f} CPU-s during the run ({share:.0%} of the {cores} cores): above a few percent, "
          "timings are distorted")
    print(f"total runtime {time.perf_counter() - started:.0f}s")
    return 0


def busy_seconds() -> float:
    """CPU seconds all processes on the machine have spent busy (from /proc/stat), or NaN."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU seconds this process (all its threads) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fmt_load(load) -> str:
    return "/".join(f"{x:.2f}" for x in load)


def print_header(ctranslate2, argostranslate, argos_settings, settings, info, sp_size, model_bytes, build_seconds,
                 n, releases, lengths, reps, args, replaced_sentencizer) -> None:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    version = getattr(argostranslate, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("argostranslate")
    paragraphs = sum(len(r["paragraphs"]) + 1 for r in releases)
    print("feedsvc translation benchmark" + (" (--quick)" if args.quick else ""))
    print(f"machine: nproc {len(os.sched_getaffinity(0))} ({cpu}), Python {platform.python_version()}, "
          f"ctranslate2 {ctranslate2.__version__} "
          f"(CPU compute types {sorted(ctranslate2.get_supported_compute_types('cpu'))}), "
          f"argostranslate {version}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"model: random weights (seed {SEED}), Transformer {LAYERS}+{LAYERS} layers, d_model {D_MODEL}, "
          f"{HEADS} heads, ffn {FFN}, shared vocabulary {VOCAB} ({sp_size} SentencePiece pieces + fillers), "
          f"pre-norm, int8, {model_bytes / 2**20:.0f} MiB; EOS/UNK/fillers blocked in the output bias; "
          f"built in {build_seconds:.0f}s")
    print(f"data: {n} unique generated Russian sentences, {min(lengths)}-{max(lengths)} tokens "
          f"(mean {statistics.mean(lengths):.1f}), {len(releases)} release(s) = {paragraphs} paragraphs incl. titles "
          f"(title + {len(releases[0]['paragraphs'])} x {SENTENCES_PER_PARAGRAPH} sentences each)")
    print(f"decoding cap: max_decoding_length = int({DECODING_RATIO} x longest source in each translate_batch call), "
          "all paths")
    print(f"(a) feedsvc: EngineSettings(inter_threads={settings.inter_threads}, "
          f"intra_threads={settings.intra_threads}, max_batch_size={settings.max_batch_size}, batch_type=examples, "
          f"beam_size={settings.beam_size}, "
          f"compute_type={settings.compute_type}, max_decoding_ratio={settings.max_decoding_ratio}, "
          f"max_decoding_floor={settings.max_decoding_floor}); worker.run(once=True) over the queued English jobs "
          "of a fresh SQLite DB (migrations, WAL), no glossary; DB creation and queueing not timed")
    print("(b) raw: ctranslate2.Translator(same threads/compute type).translate_batch(all sentences, same batch/beam, "
          "replace_unknowns) on pre-tokenized input (tokenization not timed)")
    print("(c) argos: PackageTranslation.translate(release text, paragraphs '\\n'-separated) -> "
          f"apply_packaged_translation per paragraph; Argos defaults: inter_threads={argos_settings.inter_threads}, "
          f"intra_threads={argos_settings.intra_threads}, batch_type=tokens, "
          f"max_batch_size={argos_settings.batch_size}, beam_size=max(num_hypotheses=1, {argos_settings.beam_size}), "
          f"length_penalty=0.2, compute_type={argos_settings.compute_type}; its {replaced_sentencizer} replaced by "
          "feedsvc's razdel splitter; its translator wrapped to add max_decoding_length (Argos passes none)")
    print(f"repetitions: {reps}, each timing b a a1 c a1 a b (symmetric, so drift cancels) and 3 memory pairs; "
          "medians reported; warm-up: each path once on the first release (model load, first allocations)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
