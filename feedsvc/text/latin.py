"""Latin script by published standards, never by a model: names in credits, and Kazakh URL slugs.

- Russian names in English text: BGN/PCGN (the romanization English-language publishers use: Ye. Ukibayev,
  Ashimbayev), through iuliia's schema of it, so a name in a credit reads as it does in the translated body.
- Kazakh slugs: the Kazakh Latin alphabet of 2021 (ә ä, ғ ğ, қ q, ң ñ, ө ö, ұ ū, ү ü, һ h, і ı, и/й i,
  ж j, ш ş, ч ç), folded to ASCII by the slug (ä → a, ş → s).
- The Kazakh Latin edition (text.editions): the same table with capitals (kazakh_latin_text), and back, a Latin
  word's possible Cyrillic spellings (cyrillic_spellings), for its search.

No library on PyPI writes the 2021 alphabet (qazaq-transliterator follows an earlier draft; the rest are
general-purpose romanizations): one table here serves slugs, pages and search.
"""

import itertools
import re

# The 2021 Kazakh Latin alphabet; letters it has no place for (Russian loans) as Kazakh Latin writes them.
KAZAKH_LATIN = str.maketrans({
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o",
    "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h",
    "һ": "h", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şş", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
})
# и before я or ю is not written again: ия is ia (Aziia would be Azia), ию is iu.
I_BEFORE_IOTATED = re.compile("([иИ])([яюЯЮ])")
# Capitals of the small letters the table writes: dotted İ for i (и, й) and dotless I for ı (і), as the
# alphabet pairs them (str.upper would make both I).
LATIN_CAPITALS = {"i": "İ", "ı": "I"}
CYRILLIC_WORD = re.compile(r"[^\W\d_]+")
# Back from Latin: each letter (or pair) with the Cyrillic it may stand for, the likelier first; pairs before
# their first letter, so "ia" is tried as я before и+а.
CYRILLIC_OF = {"şş": ("щ", "шш"), "ia": ("я", "ия", "иа"), "iu": ("ю", "ию", "иу", "йу"), "io": ("ио", "ё"),
               "ts": ("ц", "тс"), "i": ("и", "й"), "h": ("х", "һ"), "e": ("е", "э"), "y": ("ы",)}
CYRILLIC_OF |= {latin: (cyrillic,) for cyrillic, latin in (
    ("а", "a"), ("ә", "ä"), ("б", "b"), ("в", "v"), ("г", "g"), ("ғ", "ğ"), ("д", "d"), ("ж", "j"), ("з", "z"),
    ("к", "k"), ("қ", "q"), ("л", "l"), ("м", "m"), ("н", "n"), ("ң", "ñ"), ("о", "o"), ("ө", "ö"), ("п", "p"),
    ("р", "r"), ("с", "s"), ("т", "t"), ("у", "u"), ("ұ", "ū"), ("ү", "ü"), ("ф", "f"), ("ч", "ç"), ("ш", "ş"),
    ("і", "ı"))}
# A capital I is ı's (і) by the alphabet, but typed on a plain keyboard it is as often İ (и).
CYRILLIC_OF["I"] = ("і", "и", "й")
LATIN_UNIT = re.compile("|".join(sorted(CYRILLIC_OF, key=len, reverse=True)))
# A Latin word has at most this many Cyrillic spellings searched (each i, h or e doubles them).
MAX_SPELLINGS = 16
# "А.Нурланов" → "А. Нурланов": an initial is followed by a space, as English and Kazakh print it.
INITIAL = re.compile(r"\b(\w\.)(?=\w)")


def kazakh_latin(text: str) -> str:
    """Kazakh Cyrillic text in the 2021 Kazakh Latin alphabet (lower case; slugs need no capitals)."""
    return I_BEFORE_IOTATED.sub(r"\2", text.lower()).translate(KAZAKH_LATIN)


def kazakh_latin_text(text: str) -> str:
    """Kazakh Cyrillic text in the 2021 Kazakh Latin alphabet, capitals kept (Я → Ia, ЯҢА → IAÑA).

    Other letters (Latin, digits, punctuation) are left as they are; a Russian word in a Kazakh text is written
    by the same table, as the alphabet's rules say.
    """
    return CYRILLIC_WORD.sub(latin_word, text)


def latin_word(match: re.Match) -> str:
    """One word in Latin letters: a capital letter's Latin is a capital, all of it in a word written in capitals."""
    word = I_BEFORE_IOTATED.sub(lambda pair: pair[2].upper() if pair[1].isupper() else pair[2], match[0])
    shouting = len(word) > 1 and word.isupper()
    return "".join(latin_letter(letter, shouting) for letter in word)


def latin_letter(letter: str, shouting: bool) -> str:
    """One Cyrillic letter in Latin (one or two letters), capitalized as the letter is."""
    latin = letter.lower().translate(KAZAKH_LATIN)
    if letter.islower() or not latin:
        return latin
    first = LATIN_CAPITALS.get(latin[0], latin[0].upper())
    return first + (latin[1:].upper() if shouting else latin[1:])


def cyrillic_spellings(word: str) -> list[str]:
    """The Cyrillic words a Kazakh Latin ``word`` may have been written from (the table is not one-to-one:
    i is и or й, h is х or һ …), the likelier first, at most MAX_SPELLINGS; [] if it is not Kazakh Latin."""
    typed = "".join(letter if letter == "I" else letter.lower() for letter in word.replace("İ", "i"))
    units = LATIN_UNIT.findall(typed)
    if not units or sum(map(len, units)) != len(word):
        return []
    choices = itertools.product(*(CYRILLIC_OF[unit] for unit in units))
    return ["".join(choice) for choice in itertools.islice(choices, MAX_SPELLINGS)]


def english_name(name: str) -> str:
    """A Russian personal name romanized for English text by BGN/PCGN, initials spaced ("Ye. Ukibayev")."""
    import iuliia  # the worker's only: pages import this module for Kazakh slugs

    return iuliia.BGN_PCGN.translate(spaced_initials(name))


def spaced_initials(name: str) -> str:
    """Initials followed by a space: "А.Нурланов" → "А. Нурланов"."""
    return INITIAL.sub(r"\1 ", name.strip())
