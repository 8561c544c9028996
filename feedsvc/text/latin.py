"""Latin script by published standards, never by a model: names in credits, and Kazakh URL slugs.

- Russian names in English text: BGN/PCGN (the romanization English-language publishers use: Ye. Ukibayev,
  Ashimbayev), through iuliia's schema of it, so a name in a credit reads as it does in the translated body.
- Kazakh slugs: the Kazakh Latin alphabet of 2021 (ә ä, ғ ğ, қ q, ң ñ, ө ö, ұ ū, ү ü, һ h, і ı, и/й i,
  ж j, ш ş, ч ç), folded to ASCII by the slug (ä → a, ş → s).
"""

import re

# The 2021 Kazakh Latin alphabet; letters it has no place for (Russian loans) as Kazakh Latin writes them.
KAZAKH_LATIN = str.maketrans({
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o",
    "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h",
    "һ": "h", "ц": "ts", "ч": "ç", "ш": "ş", "щ": "şş", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
})
# "А.Нурланов" → "А. Нурланов": an initial is followed by a space, as English and Kazakh print it.
INITIAL = re.compile(r"\b(\w\.)(?=\w)")


def kazakh_latin(text: str) -> str:
    """Kazakh Cyrillic text in the 2021 Kazakh Latin alphabet (lower case; slugs need no capitals)."""
    return text.lower().translate(KAZAKH_LATIN)


def english_name(name: str) -> str:
    """A Russian personal name romanized for English text by BGN/PCGN, initials spaced ("Ye. Ukibayev")."""
    import iuliia  # the worker's only: pages import this module for Kazakh slugs

    return iuliia.BGN_PCGN.translate(spaced_initials(name))


def spaced_initials(name: str) -> str:
    """Initials followed by a space: "А.Нурланов" → "А. Нурланов"."""
    return INITIAL.sub(r"\1 ", name.strip())
