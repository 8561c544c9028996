"""Split Russian text into paragraphs and sentences, and put translations back together.

Argos's own splitter (MiniSBD) downloads a model on first use, so feedsvc never calls it:
paragraphs are split on blank lines, sentences with razdel, which knows Russian abbreviations
(«т.е.», «г.»), initials («Е.Укибаев») and dates («19.11.2021»).
"""

import re

import razdel

_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_MONTH_ABBREVIATION = re.compile(r"(?<!\w)(?:янв|февр?|мар|апр|июн|июл|авг|сент?|окт|нояб?|дек)\.$", re.IGNORECASE)


def split_paragraphs(text: str) -> list[str]:
    """Return the non-empty paragraphs of a text: blank lines separate them, single newlines do not."""
    paragraphs = (_SPACES.sub(" ", p.replace("\n", " ")).strip() for p in _BLANK_LINES.split(text))
    return [p for p in paragraphs if p]


def split_sentences(paragraph: str) -> list[str]:
    """Return the sentences of one paragraph, each stripped, in order."""
    sentences: list[str] = []
    for piece in (s.text.strip() for s in razdel.sentenize(paragraph)):
        if not piece:
            continue
        if sentences and _MONTH_ABBREVIATION.search(sentences[-1]) and piece[:1].isdigit():
            # razdel ends a sentence at «1 янв.» before «2022 г.»: a date must stay whole.
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def join_paragraph(sentences: list[str]) -> str:
    """Put translated sentences of one paragraph back together."""
    return " ".join(s.strip() for s in sentences if s.strip())
