"""Convert a local Hugging Face translation checkpoint into an .argosmodel feedsvc can install. No Flask, no click.

Each supported architecture has its own input rules, read from the checkpoint's files rather than typed by hand
(the README recipes this replaces lost a `</s>` and a tokenizer): Marian/OPUS-MT, NLLB-200, M2M-100 and
T5-family MT such as MADLAD-400. The conversion itself is CTranslate2's own converter; feedsvc adds the
source/target tokenizers, the prefix and suffix tokens, and checks every such token against the converted
vocabulary, so no package sends `<unk>` where a language token should be.

transformers and torch are imported inside the functions that need them: the web process imports this
module (through the CLI) and must stay free of them.
"""

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from feedsvc.errors import InvalidInput
from feedsvc.modelstore import packages

QUANTIZATIONS = ("int8", "float32")
# Share of sentences `--verify` requires to be identical to transformers' generate(): int8 weights move some
# scores enough to flip a near tie, so a few sentences may differ; float32 differs from torch only by rounding.
# A wrong prefix, a missing `</s>` or the wrong tokenizer changes most sentences.
VERIFY_MIN_AGREEMENT = {"int8": 0.85, "float32": 0.95}


class ConvertError(InvalidInput):
    """A checkpoint feedsvc cannot convert, or a package it refuses to write."""


class Unsupported(ConvertError):
    """The checkpoint is not one of the supported architectures."""


class Architecture(StrEnum):
    """The checkpoint families `feedsvc models convert` knows the input rules of."""

    MARIAN = "marian"
    NLLB = "nllb"
    M2M100 = "m2m100"
    T5 = "t5"


SUPPORTED = "Marian/OPUS-MT, NLLB-200, M2M-100 and T5-family MT (MADLAD-400)"


@dataclass(frozen=True)
class Language:
    """How the model families name one language."""

    iso3: str
    flores: str  # NLLB's code, also used by multi-target OPUS-MT models (>>kaz_Cyrl<<)


LANGUAGES = {
    "ru": Language("rus", "rus_Cyrl"), "kk": Language("kaz", "kaz_Cyrl"), "en": Language("eng", "eng_Latn"),
    "ky": Language("kir", "kir_Cyrl"), "uz": Language("uzb", "uzn_Latn"), "tt": Language("tat", "tat_Cyrl"),
    "tr": Language("tur", "tur_Latn"), "de": Language("deu", "deu_Latn"), "fr": Language("fra", "fra_Latn"),
    "zh": Language("zho", "zho_Hans"),
}
LANGUAGE_NAMES = {"ru": "Russian", "kk": "Kazakh", "en": "English"}
# Built-in --verify sentences per source language: press-release sentences of the kind feedsvc translates.
SAMPLES = {
    "ru": ["Сенат принял закон о развитии местного самоуправления.",
           "Депутаты обсудили вопросы образования и здравоохранения.",
           "Председатель Сената встретился с послом Германии.",
           "Заседание прошло в здании Парламента в Астане.",
           "Законопроект направлен на поддержку малого бизнеса.",
           "В работе форума приняли участие представители регионов.",
           "Сенаторы одобрили поправки в Бюджетный кодекс.",
           "Пресс-служба Сената сообщает о предстоящем заседании.",
           "Стороны обсудили развитие межпарламентского сотрудничества.",
           "Закон вступает в силу через десять дней после опубликования."],
    "en": ["The Senate adopted a law on the development of local self-government.",
           "The deputies discussed education and healthcare.",
           "The Chairman of the Senate met the Ambassador of Germany.",
           "The session took place in the Parliament building in Astana.",
           "The bill is aimed at supporting small businesses.",
           "Representatives of the regions took part in the forum.",
           "The senators approved amendments to the Budget Code.",
           "The press service of the Senate announces an upcoming session.",
           "The parties discussed the development of inter-parliamentary cooperation.",
           "The law enters into force ten days after its publication."],
}


@dataclass(frozen=True)
class Plan:
    """How one checkpoint becomes a package: its architecture, tokenizers and the tokens around each sentence."""

    architecture: Architecture
    checkpoint: Path
    from_code: str
    to_code: str
    source_spm: Path
    target_spm: Path | None = None  # only where the output is decoded with another SentencePiece model
    source_prefix: str = ""
    source_suffix: str = "</s>"
    target_prefix: str = ""

    def reference_text(self, sentence: str) -> str:
        """The text transformers' tokenizer is given for ``sentence`` (T5/Marian want the target token in it)."""
        if self.architecture in (Architecture.MARIAN, Architecture.T5) and self.source_prefix:
            return f"{self.source_prefix} {sentence}"
        return sentence


def language(code: str) -> Language:
    """A feedsvc language code's names, or a clear error."""
    if code not in LANGUAGES:
        raise ConvertError(f"unknown language {code!r} (known: {', '.join(sorted(LANGUAGES))})")
    return LANGUAGES[code]


def read_json(path: Path) -> dict:
    """A JSON file of the checkpoint, or a clear error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConvertError(f"missing {path.name} in {path.parent}") from exc
    except (OSError, ValueError) as exc:
        raise ConvertError(f"unreadable {path.name} in {path.parent} ({exc})") from exc


def need(folder: Path, name: str) -> Path:
    """A tokenizer file the architecture requires."""
    path = folder / name
    if not path.is_file():
        raise ConvertError(f"missing tokenizer file {name} in {folder}")
    return path


def architecture(folder: Path) -> Architecture:
    """Which supported family a checkpoint folder holds, from its config.json and tokenizer files."""
    if not (folder / "config.json").is_file():
        raise ConvertError(f"{folder} is not a Hugging Face checkpoint (no config.json)")
    config = read_json(folder / "config.json")
    kind = config.get("model_type", "")
    tokenizer = (read_json(folder / "tokenizer_config.json").get("tokenizer_class", "")
                 if (folder / "tokenizer_config.json").is_file() else "")
    if kind == "marian":
        return Architecture.MARIAN
    if kind == "m2m_100":
        nllb = "Nllb" in (config.get("tokenizer_class") or tokenizer or "")
        return Architecture.NLLB if nllb else Architecture.M2M100
    if kind in ("t5", "mt5"):
        return Architecture.T5
    raise Unsupported(f"model_type {kind or '(none)'!r} is not supported; feedsvc converts {SUPPORTED}")


def spm_pieces(path: Path) -> set[str]:
    """Every piece of a SentencePiece model."""
    import sentencepiece

    try:
        sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as exc:
        raise ConvertError(f"{path.name} is not a SentencePiece model ({exc})") from exc
    return {sp.id_to_piece(i) for i in range(sp.get_piece_size())}


def tokenizer_tokens(folder: Path) -> set[str]:
    """Tokens the saved tokenizer files declare: vocab.json, tokenizer.json's added tokens, tokenizer_config."""
    tokens = set()
    if (folder / "vocab.json").is_file():
        tokens |= set(read_json(folder / "vocab.json"))
    if (folder / "tokenizer.json").is_file():
        tokens |= {t["content"] for t in read_json(folder / "tokenizer.json").get("added_tokens", [])}
    if (folder / "tokenizer_config.json").is_file():
        config = read_json(folder / "tokenizer_config.json")
        for key in ("additional_special_tokens", "extra_special_tokens"):
            listed = config.get(key) or []
            tokens |= {t if isinstance(t, str) else t.get("content", "") for t in listed}
        tokens |= {t.get("content", "") for t in (config.get("added_tokens_decoder") or {}).values()}
    return tokens


def plan(folder: str | Path, from_code: str, to_code: str) -> Plan:
    """Read a checkpoint folder and decide how to package it for from_code→to_code."""
    folder = Path(folder)
    kind = architecture(folder)
    source, target = language(from_code), language(to_code)
    return PLANNERS[kind](folder, from_code, to_code, source, target)


def plan_marian(folder: Path, from_code: str, to_code: str, source: Language, target: Language) -> Plan:
    """OPUS-MT: source.spm in, target.spm out, `</s>` appended; multi-target models need their `>>xxx<<` token."""
    source_spm, target_spm = need(folder, "source.spm"), need(folder, "target.spm")
    vocabulary = set(read_json(need(folder, "vocab.json")))
    choices = [t for t in vocabulary if t.startswith(">>") and t.endswith("<<")]
    prefix = ""
    if choices:
        wanted = [f">>{target.flores}<<", f">>{target.iso3}<<", f">>{to_code}<<"]
        found = [t for t in wanted if t in vocabulary]
        if not found:
            raise ConvertError(f"this multi-target model has no target token for {to_code} (tried "
                               f"{', '.join(wanted)}; it has {', '.join(sorted(choices)[:12])})")
        prefix = found[0]
    same = source_spm.read_bytes() == target_spm.read_bytes()
    return Plan(Architecture.MARIAN, folder, from_code, to_code, source_spm, None if same else target_spm,
                source_prefix=prefix)


def plan_nllb(folder: Path, from_code: str, to_code: str, source: Language, target: Language) -> Plan:
    """NLLB-200: `rus_Cyrl` … `</s>` in, `kaz_Cyrl` forced as the first output token."""
    spm_file = need(folder, "sentencepiece.bpe.model")
    declared = tokenizer_tokens(folder)
    missing = [code for code in (source.flores, target.flores) if code not in declared]
    if missing:
        raise ConvertError(f"the tokenizer files in {folder} do not list {', '.join(missing)} (transformers 5 needs "
                           "the language codes in tokenizer.json or tokenizer_config.json)")
    return Plan(Architecture.NLLB, folder, from_code, to_code, spm_file, source_prefix=source.flores,
                target_prefix=target.flores)


def plan_m2m100(folder: Path, from_code: str, to_code: str, source: Language, target: Language) -> Plan:
    """M2M-100: `__ru__` … `</s>` in, `__kk__` forced as the first output token."""
    need(folder, "vocab.json")
    return Plan(Architecture.M2M100, folder, from_code, to_code, need(folder, "sentencepiece.bpe.model"),
                source_prefix=f"__{from_code}__", target_prefix=f"__{to_code}__")


def plan_t5(folder: Path, from_code: str, to_code: str, source: Language, target: Language) -> Plan:
    """MADLAD-400 (T5): `<2kk>` … `</s>` in; the model writes the target language it was told."""
    spm_file = need(folder, "spiece.model")
    token = f"<2{to_code}>"
    if token not in spm_pieces(spm_file):
        raise ConvertError(f"spiece.model has no {token} piece: this T5 model does not translate into {to_code}")
    return Plan(Architecture.T5, folder, from_code, to_code, spm_file, source_prefix=token)


PLANNERS: dict[Architecture, Callable[..., Plan]] = {
    Architecture.MARIAN: plan_marian, Architecture.NLLB: plan_nllb,
    Architecture.M2M100: plan_m2m100, Architecture.T5: plan_t5,
}


def offline() -> None:
    """Make transformers and huggingface_hub load only from local folders, never from the Hub."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[name] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def require_transformers() -> None:
    """Fail clearly without the [convert] extra: CTranslate2's converter would stop on a NameError (torch)."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ConvertError(f"converting needs {exc.name}: pip install torch==2.13.0, then "
                           "pip install 'feedsvc[convert]' (see README, Real Kazakh models)") from exc


def convert_model(checkpoint: Path, output_dir: Path, quantization: str) -> None:
    """Run CTranslate2's own Transformers converter on a local folder."""
    offline()
    require_transformers()
    from ctranslate2.converters import TransformersConverter

    try:
        TransformersConverter(str(checkpoint)).convert(str(output_dir), quantization=quantization, force=True)
    except OSError as exc:
        raise ConvertError(f"cannot write the converted model ({exc.strerror or exc})") from exc
    except (ValueError, KeyError, RuntimeError) as exc:
        raise ConvertError(f"CTranslate2 could not convert {checkpoint}: {exc}") from exc


def check_positions(plan: Plan, model_dir: Path) -> None:
    """Every special token sits at the id transformers' tokenizer gives it (else the model reads another token)."""
    offline()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(plan.checkpoint))
    source, target = packages.model_vocabularies(model_dir)
    for tokens, vocabulary in ((f"{plan.source_prefix} {plan.source_suffix}", source), (plan.target_prefix, target)):
        for token in tokens.split():
            expected = tokenizer.convert_tokens_to_ids(token)
            if token not in vocabulary or vocabulary.index(token) != expected:
                raise ConvertError(f"{token} is token {expected} for transformers but "
                                   f"{vocabulary.index(token) if token in vocabulary else 'absent'} in the converted "
                                   "vocabulary: the package would translate something else")


def convert(folder: str | Path, out_path: str | Path, *, from_code: str, to_code: str, version: str = "1.0",
            quantization: str = "int8", progress: Callable[[str], None] = lambda step: None) -> Plan:
    """Convert a checkpoint folder into ``out_path`` (.argosmodel); nothing is left there unless complete."""
    the_plan = plan(folder, from_code, to_code)
    progress(f"{the_plan.architecture} checkpoint; source prefix {the_plan.source_prefix or '-'}, suffix "
             f"{the_plan.source_suffix}, target prefix {the_plan.target_prefix or '-'}")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # Beside the output, not in /tmp: a converted model is gigabytes, and the operator chose that disk.
    with tempfile.TemporaryDirectory(prefix=".feedsvc-convert-", dir=out_path.parent) as tmp:
        model_dir = Path(tmp) / "model"
        progress(f"converting with CTranslate2 ({quantization})")
        convert_model(the_plan.checkpoint, model_dir, quantization)
        progress("checking the special tokens against the vocabulary")
        check_positions(the_plan, model_dir)
        progress("writing the package")
        packages.build_package(
            model_dir, the_plan.source_spm, out_path, from_code=from_code, to_code=to_code, version=version,
            from_name=LANGUAGE_NAMES.get(from_code, ""), to_name=LANGUAGE_NAMES.get(to_code, ""),
            target_spm=the_plan.target_spm,
            source_prefix=the_plan.source_prefix, source_suffix=the_plan.source_suffix,
            target_prefix=the_plan.target_prefix, name=f"translate-{from_code}_{to_code}-{version}",
            readme=readme(the_plan, quantization))
    return the_plan


def readme(the_plan: Plan, quantization: str) -> str:
    """The package's README: where it came from and how feedsvc feeds it."""
    return (f"# {the_plan.from_code}→{the_plan.to_code}, converted by feedsvc\n\n"
            f"From the {the_plan.architecture} checkpoint `{the_plan.checkpoint.name}` with CTranslate2 "
            f"({quantization}). Source prefix `{the_plan.source_prefix}`, suffix "
            f"`{the_plan.source_suffix}`, target prefix `{the_plan.target_prefix}`. The original model's licence "
            "applies.\n")


@dataclass(frozen=True)
class Agreement:
    """How the packaged model's output compares with transformers' generate() on the same sentences."""

    sentences: list[str]
    reference: list[str]
    packaged: list[str]
    minimum: float

    @property
    def agreed(self) -> int:
        """Sentences translated identically."""
        return sum(a == b for a, b in zip(self.reference, self.packaged, strict=True))

    @property
    def ok(self) -> bool:
        """Whether the agreement reaches what quantization explains."""
        return self.agreed >= self.minimum * len(self.sentences)

    def differences(self) -> list[tuple[str, str, str]]:
        """(source, generate(), package) for each sentence that differs."""
        return [row for row in zip(self.sentences, self.reference, self.packaged, strict=True) if row[1] != row[2]]


def reference_translations(the_plan: Plan, sentences: list[str]) -> list[str]:
    """Greedy translations by transformers' generate(), as the model's authors run it."""
    offline()
    import torch
    from transformers import AutoModelForSeq2SeqLM
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(the_plan.checkpoint))
    if the_plan.architecture in (Architecture.NLLB, Architecture.M2M100):
        tokenizer.src_lang = the_plan.source_prefix.strip("_")  # NLLB's rus_Cyrl, M2M-100's ru from __ru__
    model = AutoModelForSeq2SeqLM.from_pretrained(str(the_plan.checkpoint)).eval()
    options = {}
    if the_plan.target_prefix:
        options["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids(the_plan.target_prefix)
    batch = tokenizer([the_plan.reference_text(s) for s in sentences], return_tensors="pt", padding=True)
    longest = int(batch["attention_mask"].sum(dim=1).max())
    with torch.no_grad():
        output = model.generate(**batch, num_beams=1, do_sample=False, max_new_tokens=max(32, longest * 3), **options)
    return [text.strip() for text in tokenizer.batch_decode(output, skip_special_tokens=True)]


def verify(the_plan: Plan, package_dir: Path, sentences: list[str], translate: Callable, *,
           quantization: str) -> Agreement:
    """Translate ``sentences`` with generate() and with the package through ``translate`` (feedsvc's engine)."""
    return Agreement(sentences, reference_translations(the_plan, sentences),
                     translate(packages.read_package(package_dir), sentences), VERIFY_MIN_AGREEMENT[quantization])


def samples(from_code: str, file: Path | None = None) -> list[str]:
    """The --verify sentences: one per line of ``file``, else the built-in ones for the source language."""
    if file is not None:
        lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
        return [line for line in lines if line]
    if from_code not in SAMPLES:
        raise ConvertError(f"no built-in sample sentences for {from_code}; give --verify-file FILE")
    return SAMPLES[from_code]
