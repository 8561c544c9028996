"""Spelling-blind keys of names: one key for Ашимбаев, Ashimbaev, Ashimbayev and Әшімбаев.

The sentence checks compare names across languages with them; search indexes them so a name is found in any script.
"""

import functools
import re

from text_unidecode import unidecode

# Kazakh letters as the Russian ones they sound like, so both alphabets give one key.
KAZAKH_LETTERS = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"  # the letters Kazakh has and Russian has not
KAZAKH_TO_RUSSIAN = str.maketrans(KAZAKH_LETTERS, "агкноуухиАГКНОУУХИ")


@functools.lru_cache(maxsize=65_536)
def phonetic(word: str) -> str:
    """A word in Latin letters as it sounds, vowels kept: Mazhilis, Мажилис and Мәжіліс are all "masilis"."""
    latin = unidecode(word.translate(KAZAKH_TO_RUSSIAN)).lower()
    for spelled, sound in (("kh", "h"), ("sh", "s"), ("zh", "s"), ("ch", "k"), ("ts", "k"), ("z", "s"), ("c", "k"),
                           ("w", "v"), ("x", "ks"), ("q", "k")):
        latin = latin.replace(spelled, sound)
    return re.sub(r"[^a-z]", "", latin)


def one_edit_apart(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter wrong, missing, added, or two neighbours swapped (not equal)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    if len(a) == len(b):
        swapped = a[start + 1:start + 2] + a[start:start + 1] + a[start + 2:] == b[start:]
        return a[start + 1:] == b[start + 1:] or swapped
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return shorter[start:] == longer[start + 1:]


# Keys remembered, by word: the sentence checks ask again for every unchanged sentence of an edited release, and
# the search triggers for every word written. Bounded: about 64k short strings.
@functools.lru_cache(maxsize=65_536)
def skeleton(word: str) -> str:
    """A spelling-blind key of a name: its first letter and consonants, in Latin letters.

    Ашимбаев, Ashimbaev, Ashimbayev and Әшімбаев share "ashmbv"; a declined form (Ашимбаева,
    Ашимбаевым) only adds at the end, which ``same_name`` allows.
    """
    letters = phonetic(word)
    if not letters:
        return ""
    rest = re.sub(r"[aeiouyj]", "", letters[1:])
    return re.sub(r"(.)\1+", r"\1", letters[0] + rest)


def same_name(a: str, b: str) -> bool:
    """Whether two skeletons are one name, allowing a case ending on either side."""
    if min(len(a), len(b)) < 3:
        return a == b
    common = len(next((a[:i] for i in range(min(len(a), len(b)), 0, -1) if a[:i] == b[:i]), ""))
    return common >= max(3, min(len(a), len(b)) - 1)
