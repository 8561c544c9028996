"""Pure text helpers, the ground floor: they import nothing of feedsvc. Here, the text hygiene shared by every place
that stores user-typed text; beside it segment (paragraphs, sentences), names (name skeletons), latin (Kazakh Latin,
romanized names) and stemming (search's word forms)."""

import re

# Characters XML 1.0 cannot carry: C0 controls other than tab/LF/CR, and U+FFFE/U+FFFF. Left in, they
# would make every feed that carries the text invalid, so they are dropped on the way in.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: str | None) -> str:
    """The text without characters XML cannot carry (None becomes "")."""
    return XML_INVALID.sub("", text or "")


def one_line(text: str | None) -> str:
    """A one-line field as stored: cleaned and stripped."""
    return clean(text).strip()
