"""Photo credits: "Фото – А.Нурланов" is a label and a name; the label is localised, the name never translated.

A model would guess at a name (or at initials); a name is kept (Kazakh writes Russian names in the same
letters) or romanized by a published standard (English: BGN/PCGN, see latin.py). A credit without a known
label, or whose "name" is not a personal one ("Фото – пресс-служба Сената"), is ordinary text and is
translated with the release, like the caption.
"""

import re
from collections import Counter
from collections.abc import Sequence

from feedsvc.text.latin import english_name
from feedsvc.text.latin import spaced_initials
from feedsvc.text.names import same_name
from feedsvc.text.names import skeleton
from feedsvc.translation.checks import WORD
from feedsvc.translation.checks import is_personal_name
from feedsvc.translation.protect import GlossaryTerm

# What the label is called in each language (the credit is shown as "Label: Name").
LABELS = {"ru": "Фото", "kk": "Фото", "en": "Photo"}
# Russian (and already English) labels of a photo credit, then a dash, a colon or a space, then the name.
CREDIT = re.compile(r"^\s*(?:фото(?:графия)?|photo)\s*(?:[-–—:]\s*|\s)\s*(?P<name>.+?)\s*$", re.IGNORECASE)
# A personal name: words and initials each beginning with a capital ("А.Нурланов", "Е. Укибаев, А. Сейтов").
PERSONAL = re.compile(r"^(?:[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ][\w'’-]*\.?[\s,]*)+$")


def credit_name(credit: str) -> str | None:
    """The photographer's name in a credit like "Фото – А.Нурланов", or None when it is not one."""
    match = CREDIT.match(credit or "")
    if not match or not PERSONAL.match(match["name"]):
        return None
    # Every word longer than an initial must be a person's name by the dictionary (or one it does not know):
    # "Пресс-служба Сената" or "Парламента РК" are capitalised too, and are translated, never romanized.
    words = [word for word in re.split(r"[\s,.]+", match["name"]) if len(word) > 1]
    return match["name"] if words and all(is_personal_name(word) for word in words) else None


def localize(credit: str, lang: str, text: str = "", terms: Sequence[GlossaryTerm] = ()) -> str | None:
    """The credit in ``lang`` ("Photo: A. Nurlanov"), or None when it must be translated as text.

    A surname is written as the glossary writes it in ``lang``, else as the release's own ``text`` in ``lang``
    spells it (Үкібаев in a Kazakh body: the Kazakh credit says Үкібаев, not the Russian Укибаев), else kept
    (Kazakh) or romanized (English): one person, one spelling on a page.
    """
    name = credit_name(credit)
    if name is None or lang not in LABELS:
        return None
    written = english_name(name) if lang == "en" else spaced_initials(name)
    surnames, spelled = surnames_of(name), surnames_of(written)
    if len(surnames) == len(spelled):  # romanizing keeps the words in order; otherwise leave the spelling be
        for russian, default in zip(surnames, spelled, strict=True):
            better = glossary_word(russian, terms, lang) or spelling_in(russian, text)
            if better:
                written = re.sub(rf"(?<!\w){re.escape(default)}(?!\w)", better, written, count=1)
    return f"{LABELS[lang]}: {written}"


# A word of a name, its hyphenated parts included (Жумабек-Улы).
NAME_WORD = re.compile(r"(?<!\w)[^\W\d_]+(?:[-'’][^\W\d_]+)*(?!\w)")
VOWELS = set("aeiouyаеёиоуыэюяәөұүі")


def surnames_of(name: str) -> list[str]:
    """The words of a name that are not initials (an initial: one or two letters and a full stop, А. or Ye.)."""
    return [m.group(0) for m in NAME_WORD.finditer(name)
            if not (len(m.group(0)) <= 2 and name[m.end():m.end() + 1] == ".")]


def glossary_word(word: str, terms: Sequence[GlossaryTerm], lang: str) -> str | None:
    """The ``lang`` form of ``word`` in a glossary name of as many words (Ашимбаев in "Маулен* Ашимбаев*" is
    Ashimbayev in "Maulen Ashimbayev"), or None."""
    for term in terms:
        targets = term.form(lang).split()
        for form in term.source.split("|"):
            words = form.split()
            if len(words) != len(targets):
                continue
            for russian, target in zip(words, targets, strict=True):
                stem = russian.rstrip("*")
                if word.lower() == stem.lower() or (russian.endswith("*") and word.lower().startswith(stem.lower())):
                    return target
    return None


def spelling_in(word: str, text: str) -> str | None:
    """How ``text`` spells the name ``word`` (without a case ending), its most frequent spelling; None if absent."""
    key = skeleton(word)
    found = [stem for candidate in WORD.findall(text) if candidate[:1].isupper()
             and same_name(skeleton(candidate), key) and (stem := name_stem(candidate, word))]
    return Counter(found).most_common(1)[0][0] if found else None


def name_stem(candidate: str, word: str) -> str | None:
    """``candidate`` (Үкібаевтың) cut to the name ``word`` (Укибаев) stands for: its shortest beginning with the
    same skeleton, with the vowels that follow when ``word`` itself ends in one (Шевченко)."""
    key = skeleton(word)
    end = next((k for k in range(2, len(candidate) + 1) if skeleton(candidate[:k]) == key), None)
    if end is None:
        return None
    while word[-1:].lower() in VOWELS and end < len(candidate) and candidate[end].lower() in VOWELS:
        end += 1
    return candidate[:end]
