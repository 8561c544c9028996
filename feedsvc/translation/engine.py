"""The Argos/CTranslate2 engine: the only module that imports argostranslate and ctranslate2.

Only the worker imports it, and it imports them lazily, after pointing Argos's data, cache and
package folders under instance/ (Argos reads those settings once, at import). feedsvc uses
Argos's package objects for the tokenizer and the model folder, and calls CTranslate2 itself:
one ``translate_batch`` over all sentences of the work at hand, with batch and thread settings
that suit a small CPU, instead of Argos's one call per paragraph.
"""

import os
from pathlib import Path

from feedsvc.modelstore.packages import TARGET_SPM
from feedsvc.modelstore.packages import PackageInfo
from feedsvc.settings import EngineSettings
from feedsvc.translation.pipeline import ModelOutput


def prepare_environment(argos_home: str | Path, models_dir: str | Path) -> None:
    """Point every folder Argos and its dependencies touch under instance/, before they import.

    Argos creates its data/config/cache folders at import and reads ARGOS_PACKAGES_DIR once;
    onnxruntime (pulled in through stanza) writes telemetry unless told not to.
    """
    base = Path(argos_home)
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"), ("XDG_CONFIG_HOME", "config")):
        os.environ.setdefault(var, str(base / sub))
        os.makedirs(os.environ[var], exist_ok=True)
    os.environ.setdefault("ARGOS_PACKAGES_DIR", str(models_dir))
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("STANZA_RESOURCES_DIR", str(base / "stanza"))


def installed_at(info: PackageInfo) -> int:
    """When the package folder was put in place (an install replaces the folder, so this changes)."""
    return info.path.stat().st_mtime_ns


class LoadedModel:
    """One package in memory: Argos's tokenizer and a CTranslate2 translator over its model folder."""

    def __init__(self, info: PackageInfo, settings: EngineSettings):
        """Load the package through argostranslate and the model through CTranslate2."""
        import ctranslate2
        from argostranslate.package import Package
        from argostranslate.tokenizer import SentencePieceTokenizer

        self.info = info
        self.settings = settings
        self.installed = installed_at(info)
        self.package = Package(info.path)
        # Output pieces belong to the target SentencePiece model where the package has one (OPUS-MT's target.spm).
        self.target_tokenizer = self.package.tokenizer
        if info.decoder == TARGET_SPM:
            self.target_tokenizer = SentencePieceTokenizer(info.path / TARGET_SPM)
        self.translator = ctranslate2.Translator(
            str(info.path / "model"), device="cpu", compute_type=settings.compute_type,
            inter_threads=settings.inter_threads, intra_threads=settings.intra_threads,
        )

    def encode(self, sentence: str) -> list[str]:
        """Tokens for one sentence, with the package's source prefix/suffix tokens around them."""
        tokens = self.package.tokenizer.encode(sentence)
        return self.info.source_prefix.split() + tokens + self.info.source_suffix.split()

    def decode(self, tokens: list[str]) -> str:
        """Text from output tokens, the forced target prefix removed first."""
        prefix = self.info.target_prefix.split()
        if prefix and tokens[: len(prefix)] == prefix:
            tokens = tokens[len(prefix):]
        return self.target_tokenizer.decode(tokens).strip()

    def translate(self, sentences: list[str]) -> list[ModelOutput]:
        """Translate all sentences in one batched call, with scores; output order matches input order."""
        if not sentences:
            return []
        batch = [self.encode(s) for s in sentences]
        longest = max(len(tokens) for tokens in batch)
        prefix = self.info.target_prefix.split()
        results = self.translator.translate_batch(
            batch,
            target_prefix=[prefix] * len(batch) if prefix else None,
            max_batch_size=self.settings.max_batch_size,
            batch_type="examples",
            beam_size=self.settings.beam_size,
            max_decoding_length=max(self.settings.max_decoding_floor,
                                    int(longest * self.settings.max_decoding_ratio)),
            replace_unknowns=True,
            return_scores=True,
        )
        return [ModelOutput(self.decode(result.hypotheses[0]), result.scores[0] if result.scores else None)
                for result in results]


class Engine:
    """Loaded models by package key, and a count of what was sent to them (tests and benchmarks read it)."""

    def __init__(self, settings: EngineSettings | None = None):
        """Start with no model loaded; models load on first use."""
        self.settings = settings or EngineSettings()
        self.loaded: dict[str, LoadedModel] = {}
        self.sentences_translated = 0
        self.batches = 0

    def model(self, info: PackageInfo) -> LoadedModel:
        """The loaded model for a package (loaded once per worker, again if it was reinstalled)."""
        loaded = self.loaded.get(info.key)
        if loaded is None or loaded.info != info or loaded.installed != installed_at(info):
            self.loaded[info.key] = LoadedModel(info, self.settings)
        return self.loaded[info.key]

    def translate_scored(self, info: PackageInfo, sentences: list[str]) -> list[ModelOutput]:
        """Translate sentences with one package, with the model's scores, counting sentences and batches."""
        self.sentences_translated += len(sentences)
        self.batches += 1
        return self.model(info).translate(sentences)

    def translate(self, info: PackageInfo, sentences: list[str]) -> list[str]:
        """Translate sentences with one package (text only)."""
        return [output.text for output in self.translate_scored(info, sentences)]
