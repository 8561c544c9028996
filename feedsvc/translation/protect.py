"""Shield glossary terms and literals (numbers, dates, phones, URLs) from the model.

Each protected span becomes a numbered placeholder such as ``[1]`` before the sentence reaches a
model, and is put back afterwards: glossary terms in their fixed form for the target language,
literals exactly as written. Numbers are assigned in order of appearance in the *source*, so the
same sentence always gives the same protected text (which is what the translation memory keys on)
and a pivot step (ru→en→kk) can pass the placeholders straight through.
"""

import re
from dataclasses import dataclass
from dataclasses import field

# Why square brackets and digits: every SentencePiece/BPE vocabulary has them, models copy them
# through, and Argos's decoder turns "_" into spaces, so underscores are out.
PLACEHOLDER = re.compile(r"\[\s*(\d+)\s*\]")

_LITERAL_PATTERNS = [
    r"https?://[^\s<>«»\"]+[^\s<>«»\".,;:!?)]",  # URL, without trailing punctuation
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
    r"\[\s*\d+\s*\]",  # text that already looks like a placeholder
    r"\+\d[\d\s()\-]{6,}\d",  # international phone: +7 (7172) 74-72-27
    r"\d{1,4}(?:[./\-]\d{1,4})+",  # dates and short phones: 19.11.2021, 74-72-27, 2021-11-19
    r"\d+(?:[.,]\d+)?",  # plain numbers: 800, 3,5
]
LITERAL = re.compile("|".join(f"(?:{p})" for p in _LITERAL_PATTERNS))


@dataclass(frozen=True)
class GlossaryTerm:
    """A term that must come out fixed: its Russian forms and its form in each target language.

    A term may hold for a period only (``valid_from``/``valid_until``, ISO dates, both days included; None:
    open): a release takes the form valid on its publication date. Its form is ``forbidden`` in some
    languages: one that must never be published (the checks flag it; it is never put into a translation).
    """

    source: str
    targets: dict = field(default_factory=dict)
    id: int | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    forbidden: frozenset[str] = frozenset()

    def valid_on(self, day: str) -> bool:
        """Whether the term holds on ``day`` (an ISO date)."""
        return (self.valid_from or "") <= day and (self.valid_until is None or day <= self.valid_until)

    def form(self, lang: str) -> str:
        """The form to publish in ``lang`` ("" for none, or a forbidden one)."""
        return "" if lang in self.forbidden else self.targets.get(lang) or ""

    def pattern(self) -> str:
        """Regex alternative for every source form; ``*`` after a word stands for any ending."""
        forms = [f.strip() for f in self.source.split("|") if f.strip()]
        parts = []
        for form in sorted(forms, key=len, reverse=True):
            words = [re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in form.split()]
            parts.append(r"\s+".join(words))
        return "|".join(parts)


@dataclass
class Slot:
    """One protected span: a glossary term or a literal kept as written."""

    original: str
    term: GlossaryTerm | None = None
    # Whether the span opened the source sentence: then its capital says nothing about the term.
    opens_source: bool = False

    def render(self, lang: str, opens_output: bool = False) -> str:
        """The span as it must read in ``lang``, capitalized where it opens the translated sentence."""
        if self.term is None or not self.term.form(lang):
            return self.original
        target = self.term.form(lang)
        proper = self.original[:1].isupper() and not self.opens_source  # a capital mid-sentence: a proper name
        if (opens_output or proper) and target[:1].islower():
            target = target[:1].upper() + target[1:]
        return target


def opens_sentence(text: str, position: int) -> bool:
    """Whether nothing but punctuation and spaces (an opening quote, a dash) comes before ``position``."""
    return not re.search(r"\w", text[:position])


@dataclass
class Protected:
    """A sentence with its spans replaced by placeholders, and what they stand for."""

    text: str
    slots: list[Slot]

    def restore(self, translated: str, lang: str) -> str:
        """Put the spans back into a translation of ``text``, in their ``lang`` form."""

        def fill(match: re.Match) -> str:
            """The span a placeholder stands for (nothing for a number the source never had)."""
            index = int(match.group(1)) - 1
            if not 0 <= index < len(self.slots):
                return ""
            return self.slots[index].render(lang, opens_sentence(translated, match.start()))

        return re.sub(r"\s{2,}", " ", PLACEHOLDER.sub(fill, translated)).strip()

    def missing(self, translated: str) -> list[int]:
        """Placeholder numbers the model dropped from ``translated``."""
        seen = {int(m.group(1)) for m in PLACEHOLDER.finditer(translated)}
        return [n for n in range(1, len(self.slots) + 1) if n not in seen]


def _term_regex(terms: list[GlossaryTerm]) -> tuple[re.Pattern, list[GlossaryTerm]] | None:
    """One regex with a named group per term, longest forms first, whole words only."""
    ordered = sorted((t for t in terms if t.pattern()), key=lambda t: len(t.source), reverse=True)
    if not ordered:
        return None
    groups = "|".join(f"(?P<t{i}>{t.pattern()})" for i, t in enumerate(ordered))
    return re.compile(rf"(?<!\w)(?:{groups})(?!\w)", re.IGNORECASE), ordered


def term_matches(sentence: str, terms: list[GlossaryTerm]) -> list[tuple[int, int, GlossaryTerm]]:
    """Where glossary terms stand in ``sentence`` (whole words, longest forms first), each with its term."""
    compiled = _term_regex(terms)
    if not compiled:
        return []
    regex, ordered = compiled
    # Every alternative is a named group t<index into ordered>.
    return [(m.start(), m.end(), ordered[int(str(m.lastgroup)[1:])]) for m in regex.finditer(sentence)]


def protect(sentence: str, terms: list[GlossaryTerm]) -> Protected:
    """Replace glossary terms and literals in ``sentence`` with ``[1]``, ``[2]``… in order."""
    spans = [(start, end, Slot(sentence[start:end], term, opens_sentence(sentence, start)))
             for start, end, term in term_matches(sentence, terms)]
    taken = [(s, e) for s, e, _ in spans]
    for m in LITERAL.finditer(sentence):
        if not any(s < m.end() and m.start() < e for s, e in taken):
            spans.append((m.start(), m.end(), Slot(m.group(0))))
    spans.sort(key=lambda span: span[0])
    parts, slots, last = [], [], 0
    for start, end, slot in spans:
        slots.append(slot)
        parts.append(sentence[last:start] + f"[{len(slots)}]")
        last = end
    parts.append(sentence[last:])
    return Protected("".join(parts), slots)


def protect_target(target: str, protected: Protected, lang: str) -> str:
    """Put ``protected``'s placeholders into a reference translation (for training models).

    Each slot's ``lang`` form is looked up in ``target`` and replaced by the slot's number, so
    a model learns to copy placeholders where the source had them.
    """
    result = target
    for number, slot in sorted(enumerate(protected.slots, 1), key=lambda x: -len(x[1].render(lang))):
        rendered = slot.render(lang)
        # The NUL markers count as word characters, so a bare "1" never matches inside a marker "\x001\x00".
        pattern = re.compile(rf"(?<![\w\x00]){re.escape(rendered)}(?![\w\x00])", re.IGNORECASE)
        # A marker outside any word keeps later, shorter spans (a "1") from matching inside "[12]".
        result, count = pattern.subn(f"\x00{number}\x00", result, count=1)
        if not count:
            raise ValueError(f"{rendered!r} (slot {number}) not found in {target!r}")
    return re.sub("\x00(\\d+)\x00", r"[\1]", result)


def terms_on(terms: list[GlossaryTerm], day: str, lang: str) -> list[GlossaryTerm]:
    """The terms that hold on ``day`` with a form to publish in ``lang``: what a release of that day is given."""
    return [term for term in terms if term.valid_on(day) and term.form(lang)]


@dataclass(frozen=True)
class WrongForm:
    """A form a translation of some day must not use: another period's (``forbidden`` False) or a forbidden one,
    with the form to use instead ("" when the glossary has none for that day)."""

    form: str
    valid: str
    forbidden: bool

    def pattern(self) -> re.Pattern:
        """The form as whole words, any case, a case ending allowed (Астанада, Astana's)."""
        words = r"\s+".join(re.escape(word) for word in self.form.split())
        return re.compile(rf"(?<!\w){words}\w*", re.IGNORECASE)


def wrong_forms(terms: list[GlossaryTerm], day: str, lang: str) -> list[WrongForm]:
    """The ``lang`` forms that do not hold on ``day``: those of the terms' other periods, and forbidden ones.

    Terms with the same Russian forms are one name over time; a form that is the valid one on ``day`` too
    (Astana before 2019 and after 2022) is never wrong.
    """
    valid = {term.source: term.form(lang) for term in terms_on(terms, day, lang)}
    wrong: dict[str, WrongForm] = {}
    for term in terms:
        form = term.targets.get(lang) or ""
        if not form or (lang not in term.forbidden and term.valid_on(day)):
            continue
        if lang in term.forbidden or (term.source in valid and form.lower() != valid[term.source].lower()):
            wrong.setdefault(form.lower(), WrongForm(form, valid.get(term.source, ""), lang in term.forbidden))
    return list(wrong.values())
