"""Follow-up to bench/translate.py: where the time goes, and what other engine settings would give.

Same random-weight Argos-sized model and data as bench/translate.py (same seeds). Measures raw
``translate_batch`` under several thread/batch layouts, for the shapes feedsvc produces (a whole
release in one call, a 20-sentence release, a single edited sentence), and profiles one pipeline run.

    .venv/bin/python bench/explore.py [--reps 1] [--profile]
"""

import argparse
import cProfile
import importlib.util
import io
import math
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_translate", HERE / "translate.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def timed(fn, reps: int) -> float:
    """Median wall time of ``reps`` calls (each layout is warmed up once, beforehand)."""
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also cProfile one feedsvc pipeline run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="feedsvc-explore-"))
    bench.prepare_environment(work / "argos")
    try:
        return run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, work: Path) -> int:
    import ctranslate2

    started = time.perf_counter()
    busy0, own0 = bench.busy_seconds(), bench.own_seconds()
    corpus = bench.training_corpus(20000, bench.SEED + 1)
    info, sp, _, _ = bench.build_model(work, corpus)
    per_release = 41
    sentences = bench.benchmark_sentences(5 * per_release, sp, bench.SEED + 2)
    tokens = [sp.encode(s, out_type=str) for s in sentences]
    releases = [tokens[i:i + per_release] for i in range(0, len(tokens), per_release)]
    twenty, one = tokens[:20], tokens[20:21]

    def cap(batch):
        return int(max(len(t) for t in batch) * bench.DECODING_RATIO)

    layouts = [
        ("inter2 intra1 mbs16 (feedsvc now)", 2, 1, 16),
        ("inter2 intra1 mbs32", 2, 1, 32),
        ("inter1 intra2 mbs16", 1, 2, 16),
        ("inter1 intra2 mbs64", 1, 2, 64),
    ]
    print(f"{'layout':36} {'205 in 1 call':>14} {'5 x 41 calls':>13} {'20 sent.':>9} {'1 sent.':>8} "
          f"{'1/20':>6}")
    for name, inter, intra, mbs in layouts:
        translator = ctranslate2.Translator(str(info.path / "model"), device="cpu", inter_threads=inter,
                                            intra_threads=intra)

        def call(batch, size=mbs, translator=translator):
            translator.translate_batch(batch, max_batch_size=size, batch_type="examples", beam_size=4,
                                       max_decoding_length=cap(batch), replace_unknowns=True)

        call(twenty)  # warm-up: model load, first-call allocations
        all_one = timed(lambda: call(tokens), args.reps)
        per_rel = timed(lambda: [call(r) for r in releases], args.reps)
        t20 = timed(lambda: call(twenty), args.reps)
        t1 = timed(lambda: call(one), args.reps)
        print(f"{name:36} {len(tokens) / all_one:9.2f} s/s {len(tokens) / per_rel:8.2f} s/s {t20:8.2f}s "
              f"{t1:7.3f}s {t1 / t20:6.3f}", flush=True)
        if inter > 1:
            # Balanced split: as many equal batches as there are inter threads (at most mbs each).
            def balanced(batch, translator=translator, inter=inter, mbs=mbs):
                size = min(mbs, max(1, math.ceil(len(batch) / inter)))
                call(batch, size, translator)

            all_one = timed(lambda: balanced(tokens), args.reps)
            per_rel = timed(lambda: [balanced(r) for r in releases], args.reps)
            t20 = timed(lambda: balanced(twenty), args.reps)
            print(f"{name + ' balanced':36} {len(tokens) / all_one:9.2f} s/s {len(tokens) / per_rel:8.2f} s/s "
                  f"{t20:8.2f}s {t1:7.3f}s {t1 / t20:6.3f}", flush=True)
        del translator

    if args.profile:
        from feedsvc.modelstore.packages import Route
        from feedsvc.translation.engine import Engine
        from feedsvc.translation.engine import EngineSettings
        from feedsvc.translation.pipeline import translate_release

        engine = Engine(EngineSettings(max_decoding_ratio=bench.DECODING_RATIO, max_decoding_floor=0))
        route = Route((info,))
        texts = bench.make_releases(sentences, 8)
        engine.model(info)
        translate_release(bench.fresh_db(work, "warm"), texts[0], "en", route, [], engine.translate)
        db = bench.fresh_db(work, "profile")
        profile = cProfile.Profile()
        profile.enable()
        for release in texts:
            translate_release(db, release, "en", route, [], engine.translate)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(15)
        print(out.getvalue())
    others = max(0.0, (bench.busy_seconds() - busy0) - (bench.own_seconds() - own0))
    wall = time.perf_counter() - started
    print(f"total {wall:.0f}s; other processes used {others:.0f} CPU-s ({others / (2 * wall):.0%} of 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
