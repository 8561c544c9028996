"""Translate releases: segment, protect, consult memory, one model call per route step, restore.

The model is passed in as a function, so this module imports nothing heavy and tests of other
parts can use a fast fake; the real one is ``Engine.translate``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from sqlite_utils import Database

from feedsvc.modelstore.packages import PackageInfo
from feedsvc.modelstore.packages import Route
from feedsvc.text.segment import join_paragraph
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import checks
from feedsvc.translation import credits
from feedsvc.translation import memory
from feedsvc.translation.checks import SentenceCheck
from feedsvc.translation.protect import GlossaryTerm
from feedsvc.translation.protect import Protected
from feedsvc.translation.protect import protect
from feedsvc.translations import ONE_LINE

TranslateFn = Callable[[PackageInfo, list[str]], list]
log = logging.getLogger("feedsvc.translation")


@dataclass(frozen=True)
class ModelOutput:
    """What a model said for one sentence, and its score (mean log-probability; None when it gives none)."""

    text: str
    score: float | None = None
    # What each step of the route said, in order (the last is ``text``): a pivot's English is checked too.
    steps: tuple[str, ...] = ()


def as_output(value) -> ModelOutput:
    """A model's answer as a ModelOutput: models that return plain strings give no score."""
    return value if isinstance(value, ModelOutput) else ModelOutput(str(value))


@dataclass
class Outcome:
    """A finished translation, the checks of its sentences, and what it cost."""

    title: str
    body: str
    category: str
    route: str
    sentences: int
    sent_to_model: int  # for the whole batch the release was translated in
    checks: list[SentenceCheck] = field(default_factory=list)
    photo_caption: str = ""
    photo_credit: str = ""

    @property
    def flagged(self) -> int:
        """How many sentences a check flagged."""
        return sum(1 for check in self.checks if check.findings)


def units(title: str, body: str) -> list[list[str]]:
    """The release as paragraphs of sentences; the title is the first "paragraph"."""
    return [[title.strip()]] + [split_sentences(p) for p in split_paragraphs(body)]


def run_step(db: Database, step: PackageInfo, sources: list[str],
             translate: TranslateFn) -> tuple[list[ModelOutput], int]:
    """Translate sources with one package: memory first, then one model call for the unique misses."""
    known = memory.entries(db, step.key, sources)
    misses = list(dict.fromkeys(s for s in sources if memory.normalize(s) not in known))
    if misses:
        fresh = dict(zip(misses, map(as_output, translate(step, misses)), strict=True))
        memory.store(db, step.key, {s: o.text for s, o in fresh.items()},
                     scores={s: o.score for s, o in fresh.items()})
        known.update({memory.normalize(s): (o.text, o.score) for s, o in fresh.items()})
    return [ModelOutput(*known[memory.normalize(s)]) for s in sources], len(misses)


def translate_texts(db: Database, sentences: list[str], route: Route, lang: str, terms: list[GlossaryTerm],
                    translate: TranslateFn) -> tuple[list[SentenceCheck], int]:
    """Translate Russian sentences along a route, glossary terms and literals protected throughout, and check each.

    Editors' corrections come first: a sentence a human already corrected never reaches a model (and
    is not checked: a person wrote it). A pivot route passes the placeholder text of the English step
    straight on, so the English a release already got (in memory) is reused for Kazakh.
    """
    corrected = memory.lookup(db, memory.human_step(lang), sentences)
    todo = [s for s in sentences if memory.normalize(s) not in corrected]
    # A term without a form in this language is left to the model rather than kept in Russian.
    usable = [term for term in terms if term.targets.get(lang)]
    protected: list[Protected] = [protect(s, usable) for s in todo]
    outputs, sent = run_route(db, route, [p.text for p in protected], translate)
    calibration = checks.calibration(db, lang, route.describe())
    context = checks.context_for(db, lang, route, usable, calibration, [o.steps for o in outputs])
    results = {s: checks.check(s, p.restore(o.text, lang), context, protected_text=p.text, raw_steps=o.steps,
                               score=o.score)
               for s, p, o in zip(todo, protected, outputs, strict=True)}
    # A model that drops a placeholder would silently drop a name, a date or a number with it:
    # such sentences are translated again without placeholders, so nothing is lost.
    dropped = [s for s, p, o in zip(todo, protected, outputs, strict=True) if p.missing(o.text)]
    if dropped:
        log.warning("%s sentence(s) lost a placeholder; translated again unprotected", len(dropped))
        plain, extra = run_route(db, route, dropped, translate)
        context = checks.context_for(db, lang, route, usable, calibration, [o.steps for o in plain])
        results.update({s: checks.check(s, o.text, context, raw_steps=o.steps, score=o.score)
                        for s, o in zip(dropped, plain, strict=True)})
        sent += extra
    for check in results.values():
        check.model = route.model  # so `feedsvc retranslate --model` finds what a package wrote
    human = {memory.normalize(s): SentenceCheck(s, t) for s, t in corrected.items()}
    return [human.get(memory.normalize(s)) or results[s] for s in sentences], sent


def run_route(db: Database, route: Route, texts: list[str],
              translate: TranslateFn) -> tuple[list[ModelOutput], int]:
    """Send texts through every step of a route (memory first at each); returns outputs and model sentences.

    A sentence's score is its weakest step's: a pivot is only as sure as its less sure half.
    """
    sent, outputs = 0, [ModelOutput(text) for text in texts]
    for step in route.steps if texts else ():
        stepped, misses = run_step(db, step, [o.text for o in outputs], translate)
        outputs = [ModelOutput(new.text, _weakest(old.score, new.score), (*old.steps, new.text))
                   for old, new in zip(outputs, stepped, strict=True)]
        sent += misses
    return outputs, sent


def _weakest(*scores: float | None) -> float | None:
    """The lowest score, ignoring steps that gave none."""
    given = [s for s in scores if s is not None]
    return min(given) if given else None


def translate_releases(db: Database, releases: list[dict], lang: str, route: Route, terms: list[GlossaryTerm],
                       translate: TranslateFn) -> list[Outcome]:
    """Translate several releases into ``lang`` together: their sentences go to the model in one batch.

    One call per route step keeps every core busy; a release alone would leave its last, short
    sub-batch on one core. Each outcome's ``sent_to_model`` is what the whole batch cost.
    """
    parts = [_parts(release, lang) for release in releases]
    sentences = [_flatten(paragraphs, extras) for paragraphs, extras, _ in parts]
    checked, sent = translate_texts(db, [s for flat in sentences for s in flat], route, lang, terms, translate)
    outcomes, position = [], 0
    for (paragraphs, extras, fixed), flat in zip(parts, sentences, strict=True):
        outcomes.append(_rebuild(paragraphs, extras, fixed, checked[position:position + len(flat)], route, sent))
        position += len(flat)
    return outcomes


def translate_release(db: Database, release: dict, lang: str, route: Route, terms: list[GlossaryTerm],
                      translate: TranslateFn) -> Outcome:
    """Translate a release's title, body, category and photo caption and credit into ``lang``, in one batch."""
    return translate_releases(db, [release], lang, route, terms, translate)[0]


# Short one-line fields translated with the release, after its paragraphs, each as one sentence.
EXTRAS = ONE_LINE


def _parts(release: dict, lang: str) -> tuple[list[list[str]], dict[str, str], dict[str, str]]:
    """A release as paragraphs of sentences (title first), its one-line fields for the model, and those
    translated without it (a credit's label and name: see credits.py)."""
    extras = {key: (release.get(key) or "").strip() for key in EXTRAS}
    fixed = {}
    if (credit := credits.localize(extras["photo_credit"], lang)) is not None:
        fixed["photo_credit"], extras["photo_credit"] = credit, ""
    return units(release["title"], release["body"]), extras, fixed


def _flatten(paragraphs: list[list[str]], extras: dict[str, str]) -> list[str]:
    """The sentences of a release in the order they are sent: paragraphs, then the non-empty one-line fields."""
    return [s for paragraph in paragraphs for s in paragraph] + [text for text in extras.values() if text]


def _rebuild(paragraphs: list[list[str]], extras: dict[str, str], fixed: dict[str, str],
             checked: list[SentenceCheck], route: Route, sent: int) -> Outcome:
    """Put a release's translated sentences back into its title, paragraphs and one-line fields."""
    translated = [check.output for check in checked]
    rebuilt, position = [], 0
    for paragraph in paragraphs:
        rebuilt.append(join_paragraph(translated[position:position + len(paragraph)]))
        position += len(paragraph)
    fields = dict(fixed)
    for key, text in extras.items():
        if text:
            fields[key], position = translated[position], position + 1
    return Outcome(title=rebuilt[0], body="\n\n".join(rebuilt[1:]), category=fields.get("category", ""),
                   photo_caption=fields.get("photo_caption", ""), photo_credit=fields.get("photo_credit", ""),
                   route=route.describe(), sentences=len(translated), sent_to_model=sent, checks=checked)
