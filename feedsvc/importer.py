"""Bulk-load releases from UTF-8 text files (first line title, rest body)."""

from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from feedsvc import categories
from feedsvc.errors import InvalidInput
from feedsvc.releases import create_release
from feedsvc.storage import write
from feedsvc.text import clean
from feedsvc.text import one_line


class BadReleaseFile(InvalidInput):
    """A text file that cannot be a release."""


def read_release_file(path: Path, *, title_max: int = 300, body_max: int = 100_000) -> tuple[str, str]:
    """Title and body of a release file; refuses non-UTF-8, empty or over-long titles and bodies.

    Each part is cleaned before it is checked, as the form's text is: a title of control characters is empty.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadReleaseFile(f"{path}: not UTF-8 text") from exc
    lines = text.strip().splitlines()
    title = one_line(lines[0]) if lines else ""
    if not title:
        raise BadReleaseFile(f"{path}: the first line (the title) is empty")
    if len(title) > title_max:
        raise BadReleaseFile(f"{path}: the title has {len(title)} characters (at most {title_max})")
    body = clean("\n".join(lines[1:])).strip()
    if not body:
        raise BadReleaseFile(f"{path}: no body after the title line")
    if len(body) > body_max:
        raise BadReleaseFile(f"{path}: the text has {len(body)} characters (at most {body_max})")
    return title, body


def import_files(db: Database, paths: list[Path], *, publish: bool, now: datetime, languages,
                 title_max: int = 300, body_max: int = 100_000, category: str = "") -> list[int]:
    """Read every file first, then store them all in one transaction: all or nothing. ``category`` (a Russian
    name or slug of the managed list; UnknownCategory otherwise) files every release under it."""
    listed = categories.known(db, category)
    parsed = [read_release_file(path, title_max=title_max, body_max=body_max) for path in paths]
    with write(db):
        return [
            create_release(db, title=title, body=body, published_at=now if publish else None, publish=publish,
                           languages=tuple(languages), category=listed.name if listed else "")["id"]
            for title, body in parsed
        ]
