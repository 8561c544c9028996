"""Score a language's route, or a candidate package, on reference translations: chrF and BLEU. No Flask, no click.

References come from a TSV test set (ru<TAB>reference) or from the editors' reviewed translations in the
database (the press office's own texts). The models are scored as they are, step by step along the route,
without feedsvc's glossary placeholders: the score says how good the model is, not the glossary.
"""

import csv
import time
from collections.abc import Callable
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from feedsvc import clock
from feedsvc import translations
from feedsvc.errors import InvalidInput
from feedsvc.modelstore import packages
from feedsvc.settings import Languages
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences

REVIEWED = "reviewed editors' translations"
# An upgrade is only compared on at least this many reviewed sentences: fewer say little about a model.
MIN_REVIEWED = 20
# How many chrF points a new package may lose on the reviewed translations before its install is refused.
MAX_CHRF_DROP = 1.0


class BadTestSet(InvalidInput):
    """The test set file cannot be read as ru<TAB>reference rows."""


@dataclass(frozen=True)
class Pair:
    """One Russian source and its reference translation."""

    source: str
    reference: str


@dataclass(frozen=True)
class Evaluation:
    """How one route scored on one data set."""

    lang: str
    route: str
    data: str
    sentences: int
    chrf: float
    bleu: float
    seconds_per_sentence: float


def read_test_set(path: str | Path) -> list[Pair]:
    """Rows of a UTF-8 TSV file: Russian, then the reference translation; blank lines are skipped."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = [row for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if any(row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise BadTestSet(f"{path}: cannot read ({exc})") from exc
    bad = [n for n, row in enumerate(rows, 1) if len(row) != 2 or not all(cell.strip() for cell in row)]
    if bad:
        raise BadTestSet(f"{path}: line(s) {', '.join(map(str, bad[:5]))} are not ru<TAB>reference")
    return [Pair(ru.strip(), ref.strip()) for ru, ref in rows]


def align(source: str, target: str) -> list[Pair]:
    """Sentence pairs where paragraph and sentence counts match, else paragraph pairs, else the whole text."""
    source_paragraphs, target_paragraphs = split_paragraphs(source), split_paragraphs(target)
    if len(source_paragraphs) != len(target_paragraphs):
        return [Pair(source.strip(), target.strip())]
    pairs = []
    for src, tgt in zip(source_paragraphs, target_paragraphs, strict=True):
        src_sentences, tgt_sentences = split_sentences(src), split_sentences(tgt)
        if len(src_sentences) == len(tgt_sentences):
            pairs += [Pair(s, t) for s, t in zip(src_sentences, tgt_sentences, strict=True)]
        else:
            pairs.append(Pair(src, tgt))
    return pairs


def reviewed_pairs(db: Database, lang: str) -> list[Pair]:
    """The editors' reviewed translations into ``lang`` against their Russian originals, aligned."""
    rows = translations.reviewed(db, lang)
    pairs = []
    for row in rows:
        pairs.append(Pair(row["source_title"], row["title"]))
        pairs += align(row["source_body"], row["body"])
    return pairs


def scores(hypotheses: list[str], references: list[str]) -> tuple[float, float]:
    """Corpus chrF and BLEU by sacrebleu (imported here: only this command needs it)."""
    import sacrebleu

    return (sacrebleu.corpus_chrf(hypotheses, [references]).score,
            sacrebleu.corpus_bleu(hypotheses, [references]).score)


def evaluate(lang: str, route: packages.Route, pairs: list[Pair], data: str,
             translate: Callable[[packages.PackageInfo, list[str]], list[str]]) -> Evaluation:
    """Translate every source along the route and score the output against the references."""
    started = time.perf_counter()
    texts = [pair.source for pair in pairs]
    for step in route.steps:
        texts = translate(step, texts)
    seconds = time.perf_counter() - started
    chrf, bleu = scores(texts, [pair.reference for pair in pairs])
    return Evaluation(lang, route.describe(), data, len(pairs), round(chrf, 2), round(bleu, 2),
                      round(seconds / max(len(pairs), 1), 4))


def candidate_route(installed: list[packages.PackageInfo], candidate: packages.PackageInfo,
                    source: str, lang: str) -> packages.Route | None:
    """The source→lang route once the candidate replaces its pair's packages, if the candidate is on it."""
    others = [p for p in installed if p not in packages.same_pair(installed, candidate)]
    route = packages.find_route([*others, candidate], source, lang)
    return route if route and candidate in route.steps else None


@dataclass(frozen=True)
class Comparison:
    """A language's current route against the route a candidate package gives, on the reviewed translations.

    Without enough reviewed sentences (MIN_REVIEWED) nothing is scored and both evaluations are None.
    """

    lang: str
    current: packages.Route
    candidate: packages.Route
    sentences: int
    before: Evaluation | None = None
    after: Evaluation | None = None

    @property
    def worse(self) -> bool:
        """Whether the candidate scores more than MAX_CHRF_DROP chrF points below the current route."""
        return bool(self.before and self.after and self.after.chrf < self.before.chrf - MAX_CHRF_DROP)


def compare(db: Database, installed: list[packages.PackageInfo], candidate: packages.PackageInfo,
            languages: Languages, translate: Callable) -> list[Comparison]:
    """Score every language whose existing route the candidate would change, before and after, on the
    editors' reviewed translations (a language with fewer than MIN_REVIEWED sentences is listed, not scored)."""
    comparisons = []
    for lang in languages.targets:
        current = packages.find_route(installed, languages.source, lang)
        new = candidate_route(installed, candidate, languages.source, lang)
        if current is None or new is None:
            continue
        pairs = reviewed_pairs(db, lang)
        scored = {}
        if len(pairs) >= MIN_REVIEWED:
            scored = {which: evaluate(lang, route, pairs, REVIEWED, translate)
                      for which, route in (("before", current), ("after", new))}
        comparisons.append(Comparison(lang, current, new, len(pairs), **scored))
    return comparisons


def store(db: Database, evaluation: Evaluation) -> None:
    """Keep the latest evaluation of a route on a data set (the admin models page shows them)."""
    db.table("model_evaluations").upsert({**asdict(evaluation), "evaluated_at": clock.utcnow()},
                                         pk=("lang", "route", "data"))


def latest(db: Database) -> list[dict]:
    """Stored evaluations, newest first."""
    return list(db.query("select * from model_evaluations order by evaluated_at desc, lang, route"))
