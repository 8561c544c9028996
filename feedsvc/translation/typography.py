"""The target language's typography, applied to machine output after the checks and before storage.

A model trained on Russian-shaped text keeps Russian conventions: «…» quotes, ", - said" with a hyphen,
and dates as 19.11.2026 (which an American reads as an impossible month). Each rule can be turned off
(TYPOGRAPHY_* settings); an editor sees the result on the review screen and may change it like any text.
"""

import re

from babel.dates import get_month_names

from feedsvc.settings import Typography

NBSP = "\u00a0"
# English: “double” outside, ‘single’ nested. Russian and Kazakh: «ёлочки» outside, „лапки“ nested.
QUOTES = {"en": ("“”", "‘’"), "kk": ("«»", "„“"), "ru": ("«»", "„“")}
# Spaced hyphens and en dashes are dashes: an em dash glued to the word before it by a non-breaking space,
# so a line never starts with one. In English a comma before it (Russian «…», - сказал) goes: no ", —" there.
SPACED_DASH = re.compile(r"(,?)[ \t\u00a0]+[-–—][ \t\u00a0]+")
MONTHS = get_month_names("wide", locale="en")  # numbered 1-12
# Russian month names in the genitive (19 ноября 2026), as a small model sometimes leaves them.
RUSSIAN_MONTHS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр",
                  "ноябр", "декабр")
NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\d]|\.\d)")
WORD_DATE = re.compile(r"(?<!\d)(\d{1,2}) (" + "|".join(RUSSIAN_MONTHS) + r")[а-яё]* (\d{4})(?!\d)",
                       re.IGNORECASE)


def apply(text: str, lang: str, rules: Typography = Typography()) -> str:
    """``text`` (a translation into ``lang``) with that language's typography, by the rules turned on."""
    if rules.quotes:
        text = quotes(text, lang)
    if rules.dashes:
        text = dashes(text, lang)
    if rules.dates and lang == "en":
        text = english_dates(text)
    return text


def quotes(text: str, lang: str) -> str:
    """Russian «…» and straight "…" as the language's own quotes, the nested pair inside the outer one."""
    outer, inner = QUOTES.get(lang, QUOTES["ru"])
    out, depth = [], 0
    for i, char in enumerate(text):
        if char == '"':
            char = "«" if _opens(text, i) else "»"
        if char == "«":
            depth += 1
            out.append((outer if depth % 2 else inner)[0])
        elif char == "»" and depth:
            out.append((outer if depth % 2 else inner)[1])
            depth -= 1
        else:
            out.append(char)
    return "".join(out)


def _opens(text: str, i: int) -> bool:
    """Whether a straight quote at ``i`` opens a quotation (at the start, or after a space or bracket)."""
    return i == 0 or text[i - 1].isspace() or text[i - 1] in "([{«“‘—–-"


def dashes(text: str, lang: str) -> str:
    """Spaced hyphens and dashes as an em dash after a non-breaking space (English drops a comma before it)."""
    return SPACED_DASH.sub(lambda m: f"{'' if lang == 'en' else m[1]}{NBSP}— ", text)


def english_dates(text: str) -> str:
    """Day.month.year and Russian "19 ноября 2026" dates as "19 November 2026" (impossible dates stay)."""
    def numeric(match: re.Match) -> str:
        """19.11.2026 as 19 November 2026."""
        day, month, year = int(match[1]), int(match[2]), match[3]
        return f"{day} {MONTHS[month]} {year}" if 1 <= day <= 31 and 1 <= month <= 12 else match[0]

    def worded(match: re.Match) -> str:
        """19 ноября 2026 as 19 November 2026."""
        month = next(i for i, stem in enumerate(RUSSIAN_MONTHS, 1) if match[2].lower() == stem)
        return f"{int(match[1])} {MONTHS[month]} {match[3]}"

    return WORD_DATE.sub(worded, NUMERIC_DATE.sub(numeric, text))
