"""Translation memory: every sentence a model translated, keyed by model version and protected source.

A sentence already in memory never goes to the model again. Keys include the package name and
version, so upgrading a model invalidates its entries without touching human ones.
"""

import re
import unicodedata

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.states import Origin

HUMAN = Origin.HUMAN


def normalize(sentence: str) -> str:
    """The memory key form of a sentence: NFC, single spaces, trimmed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", sentence)).strip()


def lookup(db: Database, step: str, sources: list[str]) -> dict[str, str]:
    """Known translations for ``step`` of each source (normalized) that memory has."""
    return {source: target for source, (target, _, _) in entries(db, step, sources).items()}


def entries(db: Database, step: str, sources: list[str]) -> dict[str, tuple[str, float | None, int]]:
    """(translation, model score, hypothesis) memory has for ``step`` of each source (normalized); the score may
    be None, the hypothesis is 0 but where a retry took another one of the model's n-best list."""
    found: dict[str, tuple[str, float | None, int]] = {}
    for chunk in _chunks(sorted({normalize(s) for s in sources})):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"select source, target, score, hypothesis from memory where step = ? "
                          f"and source in ({marks})", [step, *chunk])
        found.update((source, (target, score, hypothesis)) for source, target, score, hypothesis in rows)
    return found


def sources_of(db: Database, step: str, targets: list[str]) -> list[tuple[str, str, float | None]]:
    """(target, source, score) of every machine entry of ``step`` whose output is one of ``targets`` (those the
    checks flagged left out: a known translation is one that passed)."""
    pairs = []
    for chunk in _chunks(sorted(set(targets))):
        marks = ",".join("?" * len(chunk))
        pairs += db.execute(f"select target, source, score from memory where step = ? and origin != ? "
                            f"and not flagged and target in ({marks})", [step, HUMAN, *chunk]).fetchall()
    return pairs


def _chunks(keys: list[str], size: int = 500):
    """Slices of ``keys`` that stay under SQLite's bound-parameter limit."""
    for start in range(0, len(keys), size):
        yield keys[start:start + size]


def store(db: Database, step: str, pairs: dict[str, str], origin: str = Origin.MACHINE,
          scores: dict[str, float | None] | None = None) -> None:
    """Remember model output (and its score); never replaces an existing entry (a human one least of all)."""
    now = clock.utcnow()
    rows = [{"step": step, "source": normalize(s), "target": t, "origin": origin, "created_at": now,
             "score": (scores or {}).get(s)} for s, t in pairs.items()]
    db.table("memory").insert_all(rows, ignore=True)


def forget_model(db: Database, package_name: str) -> int:
    """Drop machine entries of every version of a package (after an upgrade or removal)."""
    cursor = db.execute("delete from memory where step like ? and origin != ?", [f"{package_name}@%", HUMAN])
    return cursor.rowcount


def human_step(lang: str) -> str:
    """The memory key of editors' corrections into ``lang``: no model name, so no upgrade removes them."""
    return f"human:ru>{lang}"


def store_human(db: Database, lang: str, pairs: dict[str, str]) -> int:
    """Remember editors' corrections (Russian sentence → corrected sentence); a newer one replaces an older."""
    now = clock.utcnow()
    for source, target in pairs.items():
        db.execute(
            """insert into memory (step, source, target, origin, created_at) values (?, ?, ?, ?, ?)
            on conflict (step, source) do update set target = excluded.target, origin = excluded.origin,
            created_at = excluded.created_at""",
            [human_step(lang), normalize(source), target.strip(), HUMAN, now],
        )
    return len(pairs)



def flag(db: Database, step: str, sources: list[str]) -> None:
    """Mark the machine entries of ``step`` for these sources as flagged by the checks."""
    for chunk in _chunks(sorted({normalize(s) for s in sources})):
        marks = ",".join("?" * len(chunk))
        db.execute(f"update memory set flagged = 1 where step = ? and origin != ? and source in ({marks})",
                   [step, HUMAN, *chunk])


def replace_output(db: Database, step: str, source: str, target: str, score: float | None, hypothesis: int) -> None:
    """Remember another hypothesis of the model for ``source``, one that passed the checks, in place of its best."""
    db.execute(
        """insert into memory (step, source, target, origin, created_at, score, hypothesis) values (?, ?, ?, ?, ?, ?, ?)
        on conflict (step, source) do update set target = excluded.target, score = excluded.score,
        hypothesis = excluded.hypothesis, flagged = 0 where memory.origin != ?""",
        [step, normalize(source), target, Origin.MACHINE, clock.utcnow(), score, hypothesis, HUMAN],
    )
