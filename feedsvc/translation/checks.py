"""Sentence checks: what a machine translation must keep of its Russian source, each failure a named flag.

A model's own score does not tell a fluent invention from a good sentence (the demo models give
hallucinations −0.15…−0.40 and correct sentences −0.05…−0.28), so the checks read the text: every
placeholder once, every number, e-mail and URL of the source, every proper name (in its glossary form or
transliterated), a length in the band normal for the language, no loops, no untranslated Russian, and no
copy of another sentence's translation. The score is a flag only below a floor calibrated per route on
sentences that editors approved unchanged.
"""

import functools
import re
import statistics
from collections import Counter
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum

from sqlite_utils import Database

from feedsvc.modelstore.packages import Route
from feedsvc.settings import Policy  # noqa: F401 (checks.Policy: what the checks decide)
from feedsvc.states import SentenceOrigin
from feedsvc.text.names import same_name
from feedsvc.text.names import skeleton
from feedsvc.translation import memory
from feedsvc.translation.protect import PLACEHOLDER
from feedsvc.translation.protect import GlossaryTerm
from feedsvc.translation.protect import WrongForm
from feedsvc.translation.protect import opens_sentence
from feedsvc.translation.protect import term_matches

# What a sentence's character length may be, as a share of its source's, when nothing is calibrated yet.
DEFAULT_BAND = (0.45, 2.2)
# Shorter sources vary too much in length to judge ("Фото – Е.Укибаев").
MIN_LENGTH_CHARS = 25
# Calibration needs this many samples before it replaces the defaults.
MIN_SAMPLES = 30
CYRILLIC = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")
WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
NUMBER = re.compile(r"\d+")
# Words and sentence pairs whose analysis is remembered: an edited release's unchanged sentences come back from
# the memory with the same output and are checked again, and the dictionary look-ups, transliteration keys and
# literal counts were most of an edit's cost outside the model (bench/translate.py, edit/fresh; the names' keys
# are remembered in feedsvc.text.names). Bounded: about 64k short strings.
REMEMBERED = 65_536
ADDRESS = re.compile(r"https?://[^\s<>«»\"]+[^\s<>«»\".,;:!?)]|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class Flag(StrEnum):
    """What a check found wrong with a sentence."""

    PLACEHOLDERS = "placeholders"
    LITERALS = "literals"
    NAMES = "names"
    LENGTH = "length"
    REPETITION = "repetition"
    UNTRANSLATED = "untranslated"
    COPY = "copy"
    QUOTES = "quotes"
    SCORE = "score"


def N_(message: str) -> str:
    """Mark an English reason for the interface catalogs; the admin shows it in the editor's language."""
    return message


@dataclass(frozen=True)
class Finding:
    """One failed check and why, in words an editor can act on.

    ``reason`` is English (logs, the command line); ``template`` and ``values`` are what it was made of, so the
    admin screens say it in the editor's language through the catalogs (checks stored before had none).
    """

    flag: Flag
    reason: str
    template: str = field(default="", compare=False)
    values: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(cls, flag: Flag, template: str, **values) -> "Finding":
        """A finding from a template marked with N_ and its values (names, numbers: never translated)."""
        return cls(flag, template % values if values else template, template, values)

    @classmethod
    def from_json(cls, data: dict) -> "Finding":
        """Back from its stored form."""
        return cls(Flag(data["flag"]), data["reason"], data.get("template") or "", dict(data.get("values") or {}))


@dataclass
class SentenceCheck:
    """One translated sentence, its source, the model's score and what the checks found."""

    source: str
    output: str  # exactly as stored and published (in the language's typography)
    score: float | None = None
    findings: list[Finding] = field(default_factory=list)
    # Where the sentence stands: the field ("title", "body", "photo_caption"…) and its place in reading order there.
    part: str = ""
    index: int = 0
    # Which of the model's hypotheses was taken (0: its best; more: a retry took one that passed every check).
    hypothesis: int = 0
    # The model's other hypotheses, restored and typeset like ``output``, for an editor to choose from.
    alternatives: list[str] = field(default_factory=list)
    # Provenance (feedsvc.states.SentenceOrigin): an editor's decision, who made it and when.
    origin: str = SentenceOrigin.MACHINE
    by: str = ""
    at: str = ""
    # The package(s) that made it, "name@version" ("a@1 → b@2" on a pivot); "" for an editor's correction.
    model: str = ""

    def as_json(self) -> dict:
        """The form stored in ``translations.checks``."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "SentenceCheck":
        """Back from the stored form (rows stored before a field existed get its default)."""
        findings = [Finding.from_json(f) for f in data.get("findings", [])]
        return cls(data["source"], data["output"], data.get("score"), findings, part=data.get("part", ""),
                   index=data.get("index", 0), hypothesis=data.get("hypothesis", 0),
                   alternatives=list(data.get("alternatives", [])), origin=data.get("origin") or SentenceOrigin.MACHINE,
                   by=data.get("by") or "", at=data.get("at") or "", model=data.get("model", ""))


@dataclass(frozen=True)
class Calibration:
    """What is normal for one language and route: the length band and the score floor (None: no floor yet)."""

    band: tuple[float, float]
    score_floor: float | None = None


@dataclass(frozen=True)
class Context:
    """What the checks of one language need besides the sentence: glossary, calibration, known translations.

    ``known`` maps (step number, a model output normalized) to the sources that step's model gave it for,
    each with its score.
    """

    lang: str
    terms: list[GlossaryTerm]
    calibration: Calibration
    known: dict[tuple[int, str], dict[str, float | None]] = field(default_factory=dict)
    # The forms that do not hold on the release's date, or are forbidden (protect.wrong_forms).
    wrong: tuple[WrongForm, ...] = ()


@dataclass(frozen=True)
class Glossary:
    """The glossary as a release of one date gets it: the terms that hold then, and the forms that do not."""

    terms: list[GlossaryTerm]
    wrong: tuple[WrongForm, ...] = ()


def check(source: str, output: str, context: Context, *, protected_text: str | None = None,
          raw_steps: tuple[str, ...] = (), score: float | None = None) -> SentenceCheck:
    """Every check of one sentence; ``protected_text`` is what the first model saw, ``raw_steps`` what each
    step of the route said (placeholders still in)."""
    findings = []
    if protected_text is not None and raw_steps:
        findings += placeholders(protected_text, raw_steps[-1])
    findings += slots_left(source, output)
    findings += literals(source, output)
    findings += names(source, output, context)
    findings += length(source, output, context.calibration.band)
    findings += repetition(source, output)
    findings += untranslated(source, output, context.lang)
    findings += quotes(source, output)
    if raw_steps:
        inputs = (memory.normalize(protected_text or source), *map(memory.normalize, raw_steps[:-1]))
        findings += copy_of_other(inputs, raw_steps, context.known)
    floor = context.calibration.score_floor
    if score is not None and floor is not None and score < floor:
        findings.append(Finding.of(Flag.SCORE, N_("model score %(score)s is below this route's floor %(floor)s"),
                                   score=f"{score:.2f}", floor=f"{floor:.2f}"))
    return SentenceCheck(source, output, score, findings)


def placeholders(protected_text: str, raw_output: str) -> list[Finding]:
    """Each placeholder of the source exactly once in the model's output, and none it invented."""
    expected = Counter(m.group(1) for m in PLACEHOLDER.finditer(protected_text))
    got = Counter(m.group(1) for m in PLACEHOLDER.finditer(raw_output))
    found = [Finding.of(Flag.PLACEHOLDERS, N_("a protected name, number or term ([%(n)s]) was dropped"), n=n)
             for n in expected if not got[n]]
    found += [Finding.of(Flag.PLACEHOLDERS, N_("a protected name, number or term ([%(n)s]) comes %(times)s times"),
                         n=n, times=got[n]) for n in expected if got[n] > 1]
    invented = [f"[{n}]" for n in got if n not in expected]
    if invented:
        found.append(Finding.of(Flag.PLACEHOLDERS, N_("the model made up %(count)s name or number slot(s) the source "
                                                      "lacks, left empty (%(slots)s)"),
                                count=len(invented), slots=", ".join(invented)))
    return found


# Punctuation after a space, or an empty pair: where a slot restored to nothing left a hole ("— said .").
HOLE = re.compile(r"(?<=\S)\s+[.,;:!?](?!\w)|\(\s*\)|«\s*»|“\s*”")


def slots_left(source: str, output: str) -> list[Finding]:
    """A placeholder such as ``[1]`` in the text a reader would get, or the hole an empty one left.

    Whatever path made the sentence (a retry without placeholders, memory, an old model), neither is
    ever publishable; only what the source itself has is allowed.
    """
    found = []
    slots = Counter(PLACEHOLDER.findall(output)) - Counter(PLACEHOLDER.findall(source))
    if slots:
        found.append(Finding.of(Flag.PLACEHOLDERS, N_("an unfilled name or number slot (%(slots)s)"),
                                slots=", ".join(f"[{n}]" for n in sorted(slots))))
    if len(HOLE.findall(output)) > len(HOLE.findall(source)):
        found.append(Finding.of(Flag.PLACEHOLDERS, N_("a word is missing before a punctuation mark (an empty name or "
                                                      "number slot)")))
    return found


def literals(source: str, output: str) -> list[Finding]:
    """Numbers (dates, phones), e-mail addresses and URLs: the same ones, as often, in the output."""
    return list(_literals(source, output))


@functools.lru_cache(maxsize=REMEMBERED)
def _literals(source: str, output: str) -> tuple[Finding, ...]:
    """``literals``, remembered per sentence pair (a tuple: the cached value must not be changed by a caller)."""
    findings = []
    for pattern, lost, added in LITERAL_REASONS:
        text_source = ADDRESS.sub(" ", source) if pattern is NUMBER else source
        text_output = ADDRESS.sub(" ", output) if pattern is NUMBER else output
        wanted, found = Counter(pattern.findall(text_source)), Counter(pattern.findall(text_output))
        missing, extra = wanted - found, found - wanted
        if missing:
            findings.append(Finding.of(Flag.LITERALS, lost, items=", ".join(sorted(missing))))
        if extra:
            findings.append(Finding.of(Flag.LITERALS, added, items=", ".join(sorted(extra))))
    return tuple(findings)


# What literals() compares, and its reasons for one lost and one added.
LITERAL_REASONS = ((NUMBER, N_("number missing: %(items)s"), N_("number not in the source: %(items)s")),
                   (ADDRESS, N_("address missing: %(items)s"), N_("address not in the source: %(items)s")))


@functools.cache
def morphology():
    """The Russian morphological analyser (pymorphy3 with the OpenCorpora dictionary), loaded on first use."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@functools.lru_cache(maxsize=REMEMBERED)
def is_personal_name(word: str) -> bool:
    """Whether a capitalised Russian word is a person's name: a first name, surname or patronymic by the
    dictionary, or a word the dictionary does not know (most Kazakh names).

    Capitalised common words (Главы государства, Национального собрания) and places, whose English
    names are exonyms (Венгрия: Hungary), are translated rather than transliterated, so they are left out.
    """
    if not CYRILLIC.search(word):
        return True  # a Latin-script name inside Russian text stays as written
    parse = morphology().parse(word)[0]
    return not parse.is_known or bool({"Name", "Surn", "Patr"} & set(str(parse.tag).replace(" ", ",").split(",")))


def proper_names(source: str, terms: list[GlossaryTerm]) -> list[str]:
    """Personal names of the source: capitalised words that do not open it (or a quotation), nor belong to a
    glossary term, and that the dictionary takes for names.

    Acronyms (РК, ООН) and initials (Е.) are left out: they are translated or too short to tell.
    """
    taken = [(start, end) for start, end, _ in term_matches(source, terms)]
    found = []
    for match in WORD.finditer(source):
        word, start = match.group(0), match.start()
        if not word[:1].isupper() or len(word) < 2 or word.isupper() or opens_sentence(source, start):
            continue
        if re.search(r"[«\"“„(]\s*$", source[:start]) or any(s <= start < e for s, e in taken):
            continue
        if is_personal_name(word):
            found.append(word)
    return found


def names(source: str, output: str, context: Context) -> list[Finding]:
    """Each proper name of the source is in the output: glossary form or transliterated, any case ending; and no
    glossary form that does not hold on the release's date, nor a forbidden one."""
    output_keys = {skeleton(word) for word in WORD.findall(output)}
    lost = [name for name in proper_names(source, context.terms)
            if not any(same_name(skeleton(name), key) for key in output_keys)]
    lost += glossary_forms_missing(source, output, context)
    found = [Finding.of(Flag.NAMES, N_("name not found: %(names)s"), names=", ".join(lost))] if lost else []
    return found + wrong_forms_used(output, context.wrong)


def wrong_forms_used(output: str, wrong: tuple[WrongForm, ...]) -> list[Finding]:
    """A glossary form of another period, or a forbidden one, in the output; the reason gives the valid form."""
    found = []
    for form in wrong:
        match = form.pattern().search(output)
        if not match:
            continue
        found.append(Finding.of(Flag.NAMES, wrong_reason(form.forbidden, bool(form.valid)), used=match.group(0),
                                valid=form.valid))
    return found


def wrong_reason(forbidden: bool, known: bool) -> str:
    """The reason for a wrong glossary form: forbidden or of another period, with the valid form when ``known``."""
    if forbidden:
        return N_("“%(used)s” is a forbidden form: use “%(valid)s”") if known else N_("“%(used)s” is a forbidden form")
    return N_("“%(used)s” is not the name on the release's date: use “%(valid)s”")


def glossary_forms_missing(source: str, output: str, context: Context) -> list[str]:
    """Glossary terms of the source whose form in the language is not in the output (a case ending may follow)."""
    words = [w.lower() for w in WORD.findall(output)]
    forms = dict.fromkeys(term.form(context.lang) for _, _, term in term_matches(source, context.terms))
    return [form for form in forms
            if form and not all(any(w.startswith(part.lower()) for w in words) for part in WORD.findall(form))]


def length(source: str, output: str, band: tuple[float, float]) -> list[Finding]:
    """The output's length, as a share of the source's, within the band normal for the language."""
    if len(source) < MIN_LENGTH_CHARS:
        return []
    ratio = len(output) / len(source)
    low, high = band
    if low <= ratio <= high:
        return []
    return [Finding.of(Flag.LENGTH, N_("length %(ratio)s× the source's, normal is %(low)s–%(high)s×"),
                       ratio=f"{ratio:.2f}", low=f"{low:.2f}", high=f"{high:.2f}")]


def repetition(source: str, output: str) -> list[Finding]:
    """A loop: a phrase said again right after itself, or a three-word phrase three times."""
    words = [w.lower() for w in WORD.findall(output)]
    source_words = [w.lower() for w in WORD.findall(source)]
    for n in (1, 2, 3, 4):
        for i in range(len(words) - 2 * n + 1):
            if words[i:i + n] == words[i + n:i + 2 * n] and (n > 1 or len(words[i]) > 3):
                return [Finding.of(Flag.REPETITION, N_("“%(words)s” repeated"), words=" ".join(words[i:i + n]))]
    trigrams = Counter(tuple(words[i:i + 3]) for i in range(len(words) - 2))
    looped = [g for g, count in trigrams.items() if count >= 3 and len(source_words) < 3 * len(words)]
    return [Finding.of(Flag.REPETITION, N_("“%(words)s” three times"), words=" ".join(looped[0]))] if looped else []


def untranslated(source: str, output: str, lang: str) -> list[Finding]:
    """Russian left in the output: Cyrillic words in English, a run of four source words in Kazakh."""
    if lang == "en":
        words = [w for w in WORD.findall(output) if CYRILLIC.search(w)]
        return [Finding.of(Flag.UNTRANSLATED, N_("Cyrillic words: %(words)s"), words=" ".join(words[:5]))] \
            if words else []
    if source.strip() == output.strip() and len(WORD.findall(source)) > 2:
        return [Finding.of(Flag.UNTRANSLATED, N_("the output is the Russian source"))]
    source_words, output_words = WORD.findall(source.lower()), WORD.findall(output.lower())
    runs = {tuple(source_words[i:i + 4]) for i in range(len(source_words) - 3)}
    for i in range(len(output_words) - 3):
        if tuple(output_words[i:i + 4]) in runs and all(len(w) > 2 for w in output_words[i:i + 4]):
            return [Finding.of(Flag.UNTRANSLATED, N_("Russian left: “%(words)s”"),
                               words=" ".join(output_words[i:i + 4]))]
    return []


def copy_of_other(inputs: tuple[str, ...], raw_steps: tuple[str, ...],
                  known: dict[tuple[int, str], dict[str, float | None]]) -> list[Finding]:
    """A step's output is, word for word, what it gave, more surely, for a different sentence.

    A model that recites its training data gives one fluent sentence for many sources; the source it
    was surest of is taken for the sentence it belongs to. Without scores two sources may share an output
    honestly ("Фото – А.Нурланов", "Фото: А.Нурланов"), so only three or more are flagged. Sources with
    one ``sentence_key`` are one sentence, not others.
    """
    for i, (source, text) in enumerate(zip(inputs, raw_steps, strict=True)):
        key = sentence_key(source)
        others = {s: score for s, score in known.get((i, normalize(text)), {}).items() if sentence_key(s) != key}
        mine = known.get((i, normalize(text)), {}).get(source)
        scored = [score for score in others.values() if score is not None]
        if mine is None or len(scored) < len(others):
            suspicious = len(others) >= 2
        else:
            suspicious = any(score >= mine for score in scored)
        if suspicious:
            return [Finding.of(Flag.COPY, N_("the model gave the same text for %(count)s different sentences"),
                               count=len(others) + 1)]
    return []


# A number (or its placeholder) and the words it governs: "87 законов" and "94 закона" say one thing.
COUNTED = re.compile(r"(#)((?:\s+[^\W\d_]+){1,3})")


@functools.lru_cache(maxsize=4096)
def sentence_key(text: str) -> str:
    """What a sentence says apart from case, its final punctuation and its numbers: the form copies ignore.

    A title repeats its lead sentence without the full stop; contact lines and counts come in numbered
    variants ("В 2025 году Сенат принял 87 законов." / "В 2026 году … 94 закона."): the model rightly gives
    them one translation, so they are one sentence to the copy check. The words after a number are compared
    by their dictionary form, since the number decides their ending.
    """
    text = re.sub(r"\[\s*\d+\s*\]|\d+(?:[.,]\d+)*", "#", normalize(text))
    text = re.sub(r"[\s.!?…;:,]+$", "", text)
    return COUNTED.sub(lambda m: m[1] + " " + " ".join(lemma(w) for w in m[2].split()), text)


def lemma(word: str) -> str:
    """A word's dictionary form (Russian words by pymorphy3; others as they are)."""
    return morphology().parse(word)[0].normal_form if CYRILLIC.search(word) else word


def quotes(source: str, output: str) -> list[Finding]:
    """A quotation the source does not have (an invented «…», said X), or one it lost."""
    count = lambda text: len(re.findall(r"[«“„\"]", text))  # noqa: E731 (one expression, used twice)
    if count(source) == count(output) or (count(source) and count(output)):
        return []
    return [Finding.of(Flag.QUOTES, N_("an invented quotation") if count(output) else N_("the quotation is lost"))]


def normalize(text: str) -> str:
    """Lower case, single spaces: the form in which copies are compared."""
    return " ".join(text.lower().split())


def band_from(ratios: list[float]) -> tuple[float, float]:
    """The normal length band from observed ratios (2nd–98th percentile, widened), or the default."""
    if len(ratios) < MIN_SAMPLES:
        return DEFAULT_BAND
    cuts = statistics.quantiles(ratios, n=50)
    return round(cuts[0] * 0.8, 2), round(cuts[-1] * 1.25, 2)


def floor_from(scores: list[float]) -> float | None:
    """The score floor from sentences editors kept unchanged: below their 2nd percentile, or None."""
    if len(scores) < MIN_SAMPLES:
        return None
    return round(statistics.quantiles(scores, n=50)[0] - 0.05, 3)


def context_for(db: Database, lang: str, route: Route, glossary: Glossary, calibration: Calibration,
                outputs: list[tuple[str, ...]]) -> Context:
    """The checks' context for a batch: which sources the route's models gave each step's output for."""
    known: dict[tuple[int, str], dict[str, float | None]] = {}
    for i, step in enumerate(route.steps):
        for target, source, score in memory.sources_of(db, step.key, [s[i] for s in outputs if len(s) > i]):
            known.setdefault((i, normalize(target)), {})[source] = score
    return Context(lang, glossary.terms, calibration, known, glossary.wrong)


def calibration(db: Database, lang: str, route: str) -> Calibration:
    """The length band from editors' corrections into ``lang``; the score floor from sentences kept unchanged."""
    corrections = db.execute("select source, target from memory where step = ?", [memory.human_step(lang)])
    ratios = [len(target) / len(source) for source, target in corrections if len(source) >= MIN_LENGTH_CHARS]
    scores = [row[0] for row in db.execute("select score from kept_scores where route = ?", [route])]
    return Calibration(band_from(ratios), floor_from(scores))
