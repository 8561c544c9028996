"""URL slugs: text folded to readable ASCII (python-slugify with text-unidecode, as release slugs are made)."""

from collections.abc import Container

from slugify import slugify


def ascii_slug(text: str, fallback: str, max_length: int = 80) -> str:
    """``text`` as a lower-case ASCII URL part cut at a word boundary, or ``fallback`` if nothing is left."""
    return slugify(text, max_length=max_length, word_boundary=True) or fallback


def category_slug(name: str, taken: Container[str]) -> str:
    """A new category's URL slug: its Russian name folded to ASCII ("category" if nothing is left), made unique."""
    return unique_slug(ascii_slug(name, "category", max_length=60), taken)


def unique_slug(slug: str, taken: Container[str]) -> str:
    """``slug``, or the first of ``slug-2``, ``slug-3``… not in ``taken``."""
    number = 1
    candidate = slug
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    return candidate
