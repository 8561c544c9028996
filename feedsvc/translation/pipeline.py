"""Translate releases: segment, protect, consult memory, one model call per route step, restore.

The model is passed in as a function, so this module imports nothing heavy and tests of other
parts can use a fast fake; the real one is ``Engine.translate``.
"""

import inspect
import logging
import re
from collections import Counter
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.modelstore.packages import PackageInfo
from feedsvc.modelstore.packages import Route
from feedsvc.settings import Typography
from feedsvc.text.segment import join_paragraph
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import checks
from feedsvc.translation import credits
from feedsvc.translation import memory
from feedsvc.translation import typography
from feedsvc.translation.checks import SentenceCheck
from feedsvc.translation.protect import GlossaryTerm
from feedsvc.translation.protect import Protected
from feedsvc.translation.protect import protect
from feedsvc.translation.protect import terms_on
from feedsvc.translation.protect import wrong_forms
from feedsvc.translations import ONE_LINE

# translate(package, sentences) -> one output per sentence; a model that can, also takes ``hypotheses=n`` and
# then gives each sentence a list of its n best (see accepts_hypotheses).
TranslateFn = Callable[..., list]
log = logging.getLogger("feedsvc.translation")


@dataclass(frozen=True)
class ModelOutput:
    """What a model said for one sentence, and its score (mean log-probability; None when it gives none)."""

    text: str
    score: float | None = None
    # What each step of the route said, in order (the last is ``text``): a pivot's English is checked too.
    steps: tuple[str, ...] = ()
    # Its place in the model's n-best list (0: the best; only a retry asks for more).
    hypothesis: int = 0


def as_output(value) -> ModelOutput:
    """A model's answer as a ModelOutput: models that return plain strings give no score."""
    return value if isinstance(value, ModelOutput) else ModelOutput(str(value))


def accepts_hypotheses(translate: TranslateFn) -> bool:
    """Whether a model function can be asked for its n-best list (``translate(step, texts, hypotheses=n)``)."""
    try:
        parameters = inspect.signature(translate).parameters
    except (TypeError, ValueError):
        return False
    return "hypotheses" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


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
    withdrawal_reason: str = ""
    correction_note: str = ""

    @property
    def flagged(self) -> int:
        """How many sentences a check flagged."""
        return sum(1 for check in self.checks if check.findings)

    @property
    def retried(self) -> int:
        """How many sentences a retry saved: another hypothesis of the model passed where its best did not."""
        return sum(1 for check in self.checks if check.hypothesis and not check.findings)


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
        known.update({memory.normalize(s): (o.text, o.score, 0) for s, o in fresh.items()})
    return [_remembered(*known[memory.normalize(s)]) for s in sources], len(misses)


def _remembered(text: str, score: float | None, hypothesis: int = 0) -> ModelOutput:
    """A memory entry as the model's output."""
    return ModelOutput(text, score, hypothesis=hypothesis)


@dataclass(frozen=True)
class Sentence:
    """One sentence on its way through the route: its source, and the protected text the model is given
    (``protected`` None: sent as it is, after the model lost a placeholder of it). A ``heading`` (a title)
    without final punctuation is given to the model as a sentence, with a full stop that comes off after."""

    source: str
    protected: Protected | None
    heading: bool = False

    @property
    def given(self) -> str:
        """The source as the model reads it."""
        return f"{self.source}." if self.heading and not FINAL_PUNCTUATION.search(self.source) else self.source

    @property
    def text(self) -> str:
        """What the first model of the route gets."""
        return self.given if self.protected is None else self.protected.text

    def restore(self, said: str, lang: str) -> str:
        """A model's text for this sentence with its spans put back (and a heading's full stop taken off)."""
        restored = said if self.protected is None else self.protected.restore(said, lang)
        if self.given != self.source and restored.endswith("."):
            restored = restored[:-1].rstrip()
        return restored

    def check(self, output: ModelOutput, context: checks.Context, lang: str) -> SentenceCheck:
        """The checks of one model output for this sentence."""
        result = checks.check(self.source, self.restore(output.text, lang), context,
                              protected_text=self.protected.text if self.protected else None,
                              raw_steps=output.steps,
                              score=output.score)
        result.hypothesis = output.hypothesis
        return result


# A sentence that already ends as one: a heading with it is sent as it is.
FINAL_PUNCTUATION = re.compile(r"[.!?…»“”\")]\s*$")


def translate_texts(db: Database, sentences: list[str], route: Route, lang: str, terms: list[GlossaryTerm],
                    translate: TranslateFn, hypotheses: int = 0, headings: frozenset[str] = frozenset(),
                    day: str | None = None) -> tuple[list[SentenceCheck], int]:
    """Translate Russian sentences along a route, glossary terms and literals protected throughout, and check each.

    Editors' corrections come first: a sentence a human already corrected never reaches a model (and
    is not checked: a person wrote it). A pivot route passes the placeholder text of the English step
    straight on, so the English a release already got (in memory) is reused for Kazakh. With
    ``hypotheses``, a sentence that fails a check is tried again with the model's n-best list (``retry``).
    ``headings`` (titles) are translated as sentences: the demo models, like small real ones, loop on the
    last word of a title that lacks the full stop they learnt sentences end with. ``day`` (the releases'
    publication date, ISO; None: today) picks the glossary terms that hold then, and the forms that do not: an
    editor's correction that uses one (Nur-Sultan, corrected in a 2020 release) is not reused for this day.
    """
    day = day or clock.now().date().isoformat()
    # A term without a form in this language is left to the model rather than kept in Russian.
    usable = checks.Glossary(terms_on(terms, day, lang), tuple(wrong_forms(terms, day, lang)))
    corrected = {source: text for source, text in memory.lookup(db, memory.human_step(lang), sentences).items()
                 if not checks.wrong_forms_used(text, usable.wrong)}
    todo = list(dict.fromkeys(s for s in sentences if memory.normalize(s) not in corrected))
    work = {s: _sentence(s, usable.terms, s in headings) for s in todo}
    results, outputs, sent = _first_pass(db, list(work.values()), route, lang, usable, translate)
    # A model that drops a placeholder would silently drop a name, a date or a number with it:
    # such sentences are translated again without placeholders, so nothing is lost.
    dropped = [s for s, o in outputs.items() if (p := work[s].protected) is not None and p.missing(o.text)]
    if dropped:
        log.warning("%s sentence(s) lost a placeholder; translated again unprotected", len(dropped))
        work.update({s: Sentence(s, None, work[s].heading) for s in dropped})
        plain, plain_outputs, extra = _first_pass(db, [work[s] for s in dropped], route, lang, usable, translate)
        results.update(plain)
        outputs.update(plain_outputs)
        sent += extra
    failed = [results[s] for s in todo if results[s].findings]
    remember_flagged(db, route, [(work[check.source], outputs[check.source]) for check in failed])
    if failed and hypotheses > 1:
        retried, extra = retry(db, failed, work, route, lang, usable, translate, hypotheses)
        results.update(retried)
        sent += extra
    for check in results.values():
        check.model = route.model  # so `feedsvc retranslate --model` finds what a package wrote
    human = {memory.normalize(s): SentenceCheck(s, t) for s, t in corrected.items()}
    return [human.get(memory.normalize(s)) or results[s] for s in sentences], sent


def _sentence(source: str, terms: list[GlossaryTerm], heading: bool) -> Sentence:
    """A sentence with its spans protected (a heading's full stop included in what is protected)."""
    plain = Sentence(source, None, heading)
    return Sentence(source, protect(plain.given, terms), heading)


def _first_pass(db: Database, work: list[Sentence], route: Route, lang: str, terms: checks.Glossary,
                translate: TranslateFn) -> tuple[dict[str, SentenceCheck], dict[str, ModelOutput], int]:
    """The model's best output for each sentence (memory first, one call per step) and its checks."""
    outputs, sent = run_route(db, route, [w.text for w in work], translate)
    context = checks.context_for(db, lang, route, terms, checks.calibration(db, lang, route.describe()),
                                 [o.steps for o in outputs])
    results = {w.source: w.check(o, context, lang) for w, o in zip(work, outputs, strict=True)}
    return results, {w.source: o for w, o in zip(work, outputs, strict=True)}, sent


def retry(db: Database, failed: list[SentenceCheck], work: dict[str, Sentence], route: Route, lang: str,
          terms: checks.Glossary, translate: TranslateFn, hypotheses: int) -> tuple[dict[str, SentenceCheck], int]:
    """Ask the model for its other hypotheses of sentences that failed a check; take the best-scoring one that
    passes every check. None passes: the first result stays, flagged. Either way the model's other
    hypotheses (restored) are kept as alternatives for an editor.

    One batched call per route step, for these sentences only. Memory keeps only a hypothesis that passed, in
    place of the flagged one: a failing hypothesis never comes back as a known translation.
    """
    sentences = [work[check.source] for check in failed]
    candidates, sent = run_route_nbest(route, [w.text for w in sentences], translate, hypotheses)
    context = checks.context_for(db, lang, route, terms, checks.calibration(db, lang, route.describe()),
                                 [o.steps for options in candidates for o in options])
    for sentence, options in zip(sentences, candidates, strict=True):
        _know(context, sentence, options)
    results = {}
    for first, sentence, options in zip(failed, sentences, candidates, strict=True):
        tried = [sentence.check(option, context, lang) for option in options]
        passed = next((i for i, t in enumerate(tried) if not t.findings), None)
        chosen = first if passed is None else tried[passed]
        if passed is not None:
            chosen.hypothesis = max(chosen.hypothesis, 1)  # a retry took it, even where a wider beam put it first
            _remember_retry(db, route, sentence, options[passed], chosen.hypothesis)
        chosen.alternatives = list(dict.fromkeys(t.output for t in tried if t.output != chosen.output))
        results[first.source] = chosen
    return results, sent


def _remember_retry(db: Database, route: Route, sentence: Sentence, output: ModelOutput, hypothesis: int) -> None:
    """Keep the hypothesis a retry took as the last step's memory entry, so the sentence is not retried again."""
    if (last := _last_step(route, sentence, output)) is not None:
        memory.replace_output(db, *last, output.text, output.score, hypothesis)


def _know(context: checks.Context, sentence: Sentence, options: list[ModelOutput]) -> None:
    """Count each hypothesis as this sentence's own output (with its score) for the copy check."""
    for option in options:
        inputs = (sentence.text, *option.steps[:-1])
        for i, (given, said) in enumerate(zip(inputs, option.steps, strict=True)):
            context.known.setdefault((i, checks.normalize(said)), {})[memory.normalize(given)] = option.score


def _last_step(route: Route, sentence: Sentence, output: ModelOutput) -> tuple[str, str] | None:
    """(package key, text it was given) of the last step that made ``output``; None for an empty route."""
    if not route.steps or not output.steps:
        return None
    return route.steps[-1].key, (sentence.text, *output.steps)[-2]


def remember_flagged(db: Database, route: Route, failures: list[tuple[Sentence, ModelOutput]]) -> None:
    """Mark the last step's memory entry of each failed sentence as flagged: it stays (the model gives the same
    again) but is never a known translation. Earlier steps stay as they are (a pivot's English serves the
    English translation, which is checked on its own)."""
    by_step: dict[str, list[str]] = {}
    for sentence, output in failures:
        if (last := _last_step(route, sentence, output)) is not None:
            by_step.setdefault(last[0], []).append(last[1])
    for step, given in by_step.items():
        memory.flag(db, step, given)


def run_route(db: Database, route: Route, texts: list[str],
              translate: TranslateFn) -> tuple[list[ModelOutput], int]:
    """Send texts through every step of a route (memory first at each); returns outputs and model sentences.

    A sentence's score is its weakest step's: a pivot is only as sure as its less sure half.
    """
    sent, outputs = 0, [ModelOutput(text) for text in texts]
    for step in route.steps if texts else ():
        stepped, misses = run_step(db, step, [o.text for o in outputs], translate)
        outputs = [ModelOutput(new.text, _weakest(old.score, new.score), (*old.steps, new.text),
                               max(old.hypothesis, new.hypothesis)) for old, new in zip(outputs, stepped, strict=True)]
        sent += misses
    return outputs, sent


def _weakest(*scores: float | None) -> float | None:
    """The lowest score, ignoring steps that gave none."""
    given = [s for s in scores if s is not None]
    return min(given) if given else None


def run_route_nbest(route: Route, texts: list[str], translate: TranslateFn,
                    hypotheses: int) -> tuple[list[list[ModelOutput]], int]:
    """Each text's ``hypotheses`` best outputs along a route, best score first: one batched call per step.

    At a pivot each hypothesis of a step is translated on by the next, and the best ``hypotheses`` of the
    combinations (by their weakest step) are kept.
    """
    sent, options = 0, [[ModelOutput(text)] for text in texts]
    for step in route.steps if texts else ():
        inputs = list(dict.fromkeys(o.text for opts in options for o in opts))
        said = dict(zip(inputs, translate(step, inputs, hypotheses=hypotheses), strict=True))
        sent += len(inputs)
        options = [sorted((ModelOutput(new.text, _weakest(old.score, new.score), (*old.steps, new.text),
                                       max(old.hypothesis, rank))
                           for old in opts for rank, new in enumerate(map(as_output, said[old.text]))),
                          key=lambda o: -(o.score if o.score is not None else 0))[:hypotheses]
                   for opts in options]
    return options, sent


def translate_releases(db: Database, releases: list[dict], lang: str, route: Route, terms: list[GlossaryTerm],
                       translate: TranslateFn, *, hypotheses: int = 0, rules: Typography | None = None,
                       zone: str = "UTC") -> list[Outcome]:
    """Translate several releases into ``lang`` together: their sentences go to the model in one batch.

    One call per route step keeps every core busy; a release alone would leave its last, short
    sub-batch on one core. Each outcome's ``sent_to_model`` is what the whole batch cost. ``hypotheses``:
    how many a failed sentence's retry asks for (0: no retry); ``rules``: the typography the stored text gets
    (None: the model's text as it is). Releases whose publication dates (in time zone ``zone``) fall in
    different periods of the glossary are translated in one batch per period: a sentence is one memory entry
    whatever the date, but its names are not.
    """
    days = [release_day(release, zone) for release in releases]
    periods: dict[tuple[bool, ...], list[int]] = {}
    for number, day in enumerate(days):
        periods.setdefault(tuple(term.valid_on(day) for term in terms), []).append(number)
    outcomes: dict[int, Outcome] = {}
    for members in periods.values():
        together = _translate_together(db, [releases[n] for n in members], lang, route, terms, translate,
                                       hypotheses, rules, days[members[0]])
        outcomes.update(zip(members, together, strict=True))
    sent = sum(outcomes[members[0]].sent_to_model for members in periods.values())
    for outcome in outcomes.values():
        outcome.sent_to_model = sent
    return [outcomes[number] for number in range(len(releases))]


def release_day(release: dict, zone: str) -> str:
    """The release's publication date in time zone ``zone`` (ISO): the day whose glossary it gets."""
    published = release.get("published_at")
    moment = clock.parse_time(published) if published else clock.now()
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()


def _translate_together(db: Database, releases: list[dict], lang: str, route: Route, terms: list[GlossaryTerm],
                        translate: TranslateFn, hypotheses: int, rules: Typography | None, day: str) -> list[Outcome]:
    """Translate releases of one glossary period in one batch (see translate_releases)."""
    parts = [_parts(release, lang) for release in releases]
    sentences = [_flatten(paragraphs, extras) for paragraphs, extras, _ in parts]
    titles = frozenset(paragraphs[0][0] for paragraphs, _, _ in parts)
    checked, sent = translate_texts(db, [s for flat in sentences for s in flat], route, lang, terms, translate,
                                    hypotheses, titles, day)
    usable = terms_on(terms, day, lang)
    outcomes, position = [], 0
    for (paragraphs, extras, fixed), flat in zip(parts, sentences, strict=True):
        mine = [replace(check) for check in checked[position:position + len(flat)]]  # a repeat shares one check
        outcomes.append(_rebuild(paragraphs, extras, fixed, mine, route, sent, lang, rules, usable))
        position += len(flat)
    return outcomes


def translate_release(db: Database, release: dict, lang: str, route: Route, terms: list[GlossaryTerm],
                      translate: TranslateFn, **options) -> Outcome:
    """Translate a release's title, body and one-line texts (category, photo caption and credit, withdrawal reason,
    correction note) into ``lang``, in one batch."""
    return translate_releases(db, [release], lang, route, terms, translate, **options)[0]


# Short one-line fields translated with the release, after its paragraphs, each as one sentence.
EXTRAS = ONE_LINE


def _parts(release: dict, lang: str) -> tuple[list[list[str]], dict[str, str], dict[str, str]]:
    """A release as paragraphs of sentences (title first), its one-line fields for the model, and those
    translated without it (a credit's label and name: see credits.py)."""
    extras = {key: (release.get(key) or "").strip() for key in EXTRAS}
    fixed = {}
    if credits.localize(extras["photo_credit"], lang) is not None:  # spelled as the translation spells it: _rebuild
        fixed["photo_credit"], extras["photo_credit"] = extras["photo_credit"], ""
    return units(release["title"], release["body"]), extras, fixed


def _flatten(paragraphs: list[list[str]], extras: dict[str, str]) -> list[str]:
    """The sentences of a release in the order they are sent: paragraphs, then the non-empty one-line fields."""
    return [s for paragraph in paragraphs for s in paragraph] + [text for text in extras.values() if text]


def _rebuild(paragraphs: list[list[str]], extras: dict[str, str], fixed: dict[str, str],
             checked: list[SentenceCheck], route: Route, sent: int, lang: str,
             rules: Typography | None, terms: Sequence[GlossaryTerm] = ()) -> Outcome:
    """Put a release's translated sentences back into its title, paragraphs and one-line fields, each sentence's
    record marked with its place (part, index) and holding the text exactly as it is stored."""
    groups = [("title" if number == 0 else "body", len(paragraph)) for number, paragraph in enumerate(paragraphs)]
    groups += [(key, 1) for key, text in extras.items() if text]
    texts: dict[str, list[str]] = {}
    position, counted = 0, Counter[str]()
    for part, size in groups:
        group = checked[position:position + size]
        _place(group, part, counted[part], lang, rules)
        texts.setdefault(part, []).append(join_paragraph([check.output for check in group]))
        position, counted[part] = position + size, counted[part] + size
    fields = {**fixed, **{part: "\n\n".join(joined) for part, joined in texts.items()}}
    if "photo_credit" in fixed:  # the names as this translation (or the glossary) spells them
        credit = credits.localize(fixed["photo_credit"], lang, f"{fields['title']}\n\n{fields.get('body', '')}",
                                  terms) or fixed["photo_credit"]  # _parts only fixes a credit localize takes
        fields["photo_credit"] = typography.apply(credit, lang, rules) if rules is not None else credit
    return Outcome(title=fields["title"], body=fields.get("body", ""), **{key: fields.get(key, "") for key in EXTRAS},
                   route=route.describe(), sentences=len(checked), sent_to_model=sent, checks=checked)


def _place(group: list[SentenceCheck], part: str, start: int, lang: str, rules: Typography | None) -> None:
    """Mark a paragraph's sentence records with their place, and set their text (and alternatives) in the
    language's typography, the paragraph typeset as a whole (a quotation may span its sentences)."""
    for offset, check in enumerate(group):
        check.part, check.index = part, start + offset
    if rules is None or not group:
        return
    for check, text in zip(group, typography.apply_sentences([c.output for c in group], lang, rules), strict=True):
        check.output = text
        check.alternatives = [typography.apply(alternative, lang, rules) for alternative in check.alternatives]
