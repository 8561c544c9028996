"""Photo credits: "Фото – А.Нурланов" is a label and a name; the label is localised, the name never translated.

A model would guess at a name (or at initials); a name is kept (Kazakh writes Russian names in the same
letters) or romanized by a published standard (English: BGN/PCGN, see latin.py). A credit without a known
label, or whose "name" is not a personal one ("Фото – пресс-служба Сената"), is ordinary text and is
translated with the release, like the caption.
"""

import re

from feedsvc.text.latin import english_name
from feedsvc.text.latin import spaced_initials
from feedsvc.translation.checks import is_personal_name

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


def localize(credit: str, lang: str) -> str | None:
    """The credit in ``lang`` ("Photo: A. Nurlanov"), or None when it must be translated as text."""
    name = credit_name(credit)
    if name is None or lang not in LABELS:
        return None
    return f"{LABELS[lang]}: {english_name(name) if lang == 'en' else spaced_initials(name)}"
