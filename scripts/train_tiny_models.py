"""Train feedsvc's tiny demo translation packages and check them end to end.

Usage: .venv/bin/python scripts/train_tiny_models.py

Writes feedsvc/demo/models/translate-ru_en-demo.argosmodel, feedsvc/demo/models/translate-en_kk-demo.argosmodel
and tests/data/translate-ru_kk-prefix.argosmodel, then prints what they reproduce. Deterministic:
fixed seeds, one thread per model (two models train side by side on two cores).
"""

import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import tinymodel  # noqa: E402


def train_all(workers: int = 2) -> list[dict]:
    """Build every recipe, longest jobs first, each in its own single-threaded process."""
    # Spawn, not fork: forking a process that has already started torch's thread pools is unsafe.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(tinymodel.build_package, key) for key in tinymodel.RECIPES]
        return [future.result() for future in futures]


def main() -> int:
    """Train, then verify the zipped packages as feedsvc will load them; exit 1 if anything is off."""
    started = time.perf_counter()
    rows = tinymodel.protect_rows(tinymodel.load_corpus(), tinymodel.load_terms())
    tinymodel.check_corpus(rows, tinymodel.release_sentences())
    print(f"corpus: {len(rows)} rows, demo releases: {len(set(tinymodel.release_sentences()))} distinct sentences")
    for stats in train_all():
        print(
            f"trained {stats['key']}: {stats['pairs']} pairs, vocab {stats['vocab']}, {stats['epochs']} epochs "
            f"({stats['steps']} steps, {stats['checks']} CTranslate2 checks), {stats['seconds']} s, "
            f"{stats['bytes']} bytes"
        )
    with tempfile.TemporaryDirectory() as tmp:
        report = tinymodel.verify_all(Path(tmp), rows)
    for line in report["lines"]:
        print(line)
    print(f"total time: {time.perf_counter() - started:.1f} s")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
