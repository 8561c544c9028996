"""Spelling-blind keys of names: one key for Ашимбаев, Ashimbaev, Ashimbayev and Әшімбаев.

The sentence checks compare names across languages with them; search indexes them so a name is found in any script.
"""

import re

from text_unidecode import unidecode

# Kazakh letters as the Russian ones they sound like, so both alphabets give one key.
KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")


def skeleton(word: str) -> str:
    """A spelling-blind key of a name: its first letter and consonants, in Latin letters.

    Ашимбаев, Ashimbaev, Ashimbayev and Әшімбаев share "ashmbv"; a declined form (Ашимбаева,
    Ашимбаевым) only adds at the end, which ``same_name`` allows.
    """
    latin = unidecode(word.translate(KAZAKH_TO_RUSSIAN)).lower()
    for spelled, sound in (("kh", "h"), ("sh", "s"), ("zh", "s"), ("ch", "k"), ("ts", "k"), ("z", "s"), ("c", "k"),
                           ("w", "v"), ("x", "ks"), ("q", "k")):
        latin = latin.replace(spelled, sound)
    letters = re.sub(r"[^a-z]", "", latin)
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
