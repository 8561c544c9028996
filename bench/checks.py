"""How well the sentence checks separate broken translations from good ones: precision and recall per flag.

    .venv/bin/python bench/checks.py [--seed N] [--json]

Builds a labelled set, offline, in seconds:
- good: the demo releases as the demo models translate them through the real worker (ru→en, ru→en→kk), and
  the reviewed translations of the demo corpus (feedsvc/demo/corpus.tsv, written by people);
- broken: corpus translations with a number changed, a name dropped or replaced, a phrase looped, or the
  whole sentence replaced by another corpus sentence's translation; and the demo models' own output on new
  text written for this benchmark (they know only the demo sentences, so they answer with fluent inventions).
The score floor is calibrated as in service: an editor approves the demo releases' translations unchanged.
"""

import argparse
import csv
import dataclasses
import io
import json
import random
import re
import sys
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedsvc import releases  # noqa: E402
from feedsvc.demo import DEMO_DIR  # noqa: E402
from feedsvc.demo import install_demo_models  # noqa: E402
from feedsvc.editorial import review  # noqa: E402
from feedsvc.migrations import migrate  # noqa: E402
from feedsvc.settings import WorkerSettings  # noqa: E402
from feedsvc.storage import connect  # noqa: E402
from feedsvc.text.segment import split_paragraphs  # noqa: E402
from feedsvc.text.segment import split_sentences  # noqa: E402
from feedsvc.translation import checks  # noqa: E402
from feedsvc.translation import glossary  # noqa: E402
from feedsvc.translation import typography  # noqa: E402
from feedsvc.translation import worker  # noqa: E402
from feedsvc.translation.checks import Flag  # noqa: E402
from feedsvc.web import create_app  # noqa: E402

# New text for the demo models (written for this benchmark, in the style of the demo releases).
UNSEEN = """Сенатор Иванов принял участие в форуме по цифровизации. Доля цифровых государственных услуг вырастет до 30%.

Участники обсудили подготовку кадров для сельских школ. Вопросы можно направить по адресу press@senate.kz.

Депутаты посетили новый медицинский центр в Караганде. Строительство обошлось в 4,5 млрд тенге.

Комитет по аграрным вопросам провел выездное заседание. Главной темой стала поддержка фермеров.

Депутат Сената Ержан Сапаров выступил с докладом. По его словам, в 2026 году построят 120 школ.

Сенаторы обсудили охрану озера Балхаш. Министр экологии ответил на вопросы депутатов.

На заседании выступила председатель комитета Алия Мусина. Она призвала ускорить реформу здравоохранения."""


# Realistic releases are built from sentences the demo models know (the corpus), in new combinations and in the
# shapes real releases have (the title repeating the lead without its full stop, counts in numbered variants,
# quotations, the same contact lines in every release, dates, a photographer's initials).
VARIANTS = [  # sentences that differ only in a number (and the ending it governs)
    ("В 2025 году Сенат принял 87 законов.", "В 2026 году Сенат принял 94 закона."),
    ("На заседании присутствовали 45 сенаторов.", "На заседании присутствовали 48 сенаторов."),
    ("Сенат рассмотрел 8 вопросов.", "Сенат рассмотрел 12 вопросов."),
    ("Сенаторы одобрили 2 ратификационных закона.", "Сенаторы одобрили 3 ратификационных закона."),
    ("Сенаторы направили 3 депутатских запроса в Правительство.",
     "Сенаторы направили 4 депутатских запроса в Правительство."),
    ("Закон вступит в силу с 01.01.2027.", "Закон вступит в силу с 01.07.2027."),
]
CONTACTS = [  # closing lines, the same in every release of their kind
    "(Пресс-служба Сената, 74-72-27. Фото – А.Нурланов)", "(Пресс-служба Сената, 74-72-27. Фото – Е.Укибаев)",
    "(Пресс-служба Сената, 74-72-27)", "Справки по телефону: +7 (7172) 74-72-27. Сайт Сената: https://senate.parlam.kz",
]
CAPTIONS = ["Пленарное заседание Сената 19.11.2026", "Встреча Председателя Сената с секретарями маслихатов",
            "Сенаторы на пленарном заседании"]
CATEGORIES = ["Пленарные заседания", "Встречи", "Международное сотрудничество"]
CREDITS = ["Фото – А.Нурланов", "Фото – Е.Укибаев", "Фото – пресс-служба Сената"]


# One realistic release in this many has a sentence the models cannot translate.
ERROR_EVERY = 10


def realistic_releases(pairs: list[dict], count: int, rng: random.Random) -> list[dict]:
    """``count`` releases made of corpus sentences in the shapes of real ones (see VARIANTS, CONTACTS)."""
    taken = {s for pair in VARIANTS for s in pair} | {s for c in CONTACTS for s in split_sentences(c)}
    quotes = [p["ru"] for p in pairs if p["ru"].startswith("«")]
    plain = [p["ru"] for p in pairs if p["ru"].endswith(".") and p["ru"] not in taken and p["ru"] not in quotes
             and not p["ru"].startswith(("(", "Справки", "Сайт"))]
    unseen = [s for p in split_paragraphs(UNSEEN) for s in split_sentences(p)]
    out = []
    for number in range(count):
        lead, *more = rng.sample(plain, 4)
        body = [" ".join([lead, *more[:2]]), " ".join(rng.choice(VARIANTS)), rng.choice(quotes), more[2],
                rng.choice(CONTACTS)]
        if number % ERROR_EVERY == ERROR_EVERY - 1:
            body.insert(3, rng.choice(unseen))  # a sentence the models never saw: a real error, to be held
        out.append({"title": lead[:-1], "body": "\n\n".join(body), "category": rng.choice(CATEGORIES),
                    "photo_caption": rng.choice(CAPTIONS), "photo_credit": rng.choice(CREDITS),
                    "published": f"2026-12-{1 + number % 28:02d}T10:00:00+05:00",
                    "known": number % ERROR_EVERY != ERROR_EVERY - 1})
    return out


def references(pairs: list[dict], lang: str) -> dict[str, str]:
    """Each corpus sentence's reviewed translation as the worker stores it (typeset); a sentence used as a
    title (no full stop) gets its translation without one."""
    typeset = {pair["ru"]: typography.apply(pair[lang], lang) for pair in pairs}
    titles = {ru[:-1]: text[:-1] for ru, text in typeset.items() if ru.endswith(".") and text.endswith(".")}
    return {**titles, **typeset}


def same_text(a: str, b: str) -> bool:
    """Whether two translations read the same (spaces of any kind alike)."""
    return " ".join(a.replace("\u00a0", " ").split()) == " ".join(b.replace("\u00a0", " ").split())


def import_realistic(db, engine, settings, items: list[dict], refs: dict[str, dict[str, str]]) -> dict:
    """Import releases, let the real worker translate them (PUBLISH_POLICY checked), and count: translations
    published and held, of releases made only of sentences the models know and of those with a new one; the
    sentences the models got right (matching the reviewed corpus) and wrong, and
    how many of each a check flagged; held sentences a retry saved; wrong sentences published."""
    ids = [releases.create_release(db, title=i["title"], body=i["body"], category=i["category"],
                                   photo_caption=i["photo_caption"], photo_credit=i["photo_credit"],
                                   published_at=datetime.fromisoformat(i["published"]), publish=True,
                                   languages=("kk", "en"))["id"]
           for i in items]
    worker.run(db, engine.translate_scored, settings, once=True)
    counts = Counter()
    for release_id, item in zip(ids, items, strict=True):
        for lang, row in releases.translations_of(db, release_id).items():
            which = "known" if item["known"] else "with a new sentence"
            counts[f"{which}: {'held' if row['status'] == 'held' else 'published'}"] += 1
            for check in review.sentence_checks(row):
                right = same_text(check.output, refs[lang].get(check.source, ""))
                kind = "right" if right else "wrong"
                counts[kind] += 1
                counts[f"{kind} flagged"] += bool(check.findings)
                counts["saved by a retry"] += bool(check.hypothesis and not check.findings)
                counts["wrong published"] += not right and row["status"] != "held"
    return {**counts, "ids": ids}


def instance(folder: Path, hypotheses: int = WorkerSettings.hypotheses):
    """A fresh instance with the demo models, glossary and releases, translated by the real worker."""
    from feedsvc.translation.engine import Engine
    from feedsvc.translation.engine import prepare_environment

    migrate(connect(str(folder / "db")))  # as `feedsvc init-db` does before any process starts
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE": str(folder / "db"),
                      "UPLOAD_FOLDER": str(folder / "up"), "MODELS_DIR": str(folder / "models"),
                      "ARGOS_HOME": str(folder / "argos")})
    install_demo_models(str(folder / "models"))
    db = connect(str(folder / "db"))
    glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))
    for item in json.loads((DEMO_DIR / "releases.json").read_text(encoding="utf-8")):
        releases.create_release(db, title=item["title"], body=item["body"], category=item.get("category", ""),
                                published_at=datetime.fromisoformat(item["published"]), publish=True,
                                languages=("kk", "en"))
    prepare_environment(folder / "argos", folder / "models")
    engine = Engine()
    settings = WorkerSettings(models_dir=folder / "models", publish_policy={"kk": "auto", "en": "auto"},
                                     hypotheses=hypotheses)
    worker.run(db, engine.translate_scored, settings, once=True)
    return app, db, engine, settings


def approve_all(db) -> None:
    """An editor approves every machine translation unchanged: the score floor's calibration data."""
    for row in list(db.query("select release_id, lang, version from translations where origin = 'machine'")):
        review.approve(db, row["release_id"], row["lang"], author="bench", expected_version=row["version"])


def stored_checks(db, release_ids: list[int]) -> list[tuple[str, checks.SentenceCheck]]:
    """(lang, check) of every machine sentence of these releases."""
    out = []
    for release_id in release_ids:
        for lang, row in releases.translations_of(db, release_id).items():
            out += [(lang, check) for check in review.sentence_checks(row)]
    return out


def corpus() -> list[dict]:
    """The demo corpus: Russian with the reviewed English and Kazakh."""
    lines = (DEMO_DIR / "corpus.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [dict(zip(("ru", "en", "kk"), line.split("\t"), strict=True)) for line in lines if line.strip()]


def broken_variants(pair: dict, lang: str, others: list[dict], rng: random.Random) -> list[tuple[str, str]]:
    """(kind, broken translation) made from one reviewed translation."""
    target, out = pair[lang], []
    numbers = re.findall(r"\d+", target)
    if numbers:
        n = rng.choice(numbers)
        out.append(("number changed", target.replace(n, str(int(n) + rng.randint(1, 9)), 1)))
    names = [w for w in checks.proper_names(pair["ru"], []) if w]
    words = re.findall(r"\w+", target)
    capitalised = [w for w in words[1:] if w[:1].isupper() and len(w) > 3]
    if names and capitalised:
        name = rng.choice(capitalised)
        out.append(("name dropped", re.sub(rf"\s*{re.escape(name)}", "", target, count=1)))
        out.append(("name replaced", target.replace(name, rng.choice(["Smith", "Петров", "Omarov", "Сидоров"]), 1)))
    phrases = re.findall(r"\w+ \w+ \w+", target)
    if phrases:
        phrase = phrases[len(phrases) // 2]
        out.append(("phrase looped", target.replace(phrase, f"{phrase} {phrase} {phrase}", 1)))
    other = rng.choice([o for o in others if o["ru"] != pair["ru"]])
    out.append(("replaced by another sentence", other[lang]))
    return out


def model_run(folder: Path, hypotheses: int, items: list[dict], pairs: list[dict]) -> tuple[list, dict, list]:
    """The demo models through the real worker on one fresh instance: (lang, check) of the demo releases as
    first translated, the realistic releases' counts (import_realistic), and (lang, check) of the new text."""
    app, db, engine, settings = instance(folder, hypotheses)
    demo_ids = [r["id"] for r in db.query("select id from releases")]
    demo_checks = stored_checks(db, demo_ids)  # as the worker stored them, before an editor approved them
    approve_all(db)
    refs = {lang: references(pairs, lang) for lang in ("en", "kk")}
    # From here on (the realistic releases and the new text) every language's policy is "checked".
    settings = dataclasses.replace(settings, publish_policy={"kk": "checked", "en": "checked"})
    realistic = import_realistic(db, engine, settings, items, refs)
    unseen = releases.create_release(db, title="Новые темы", body=UNSEEN, publish=True,
                                     published_at=datetime.fromisoformat("2026-11-25T10:00:00+05:00"),
                                     languages=("kk", "en"))
    worker.run(db, engine.translate_scored, settings, once=True)
    realistic["samples"] = [("good" if same_text(check.output, refs[lang].get(check.source, "")) else "broken",
                             f"demo models, realistic releases ({lang})", {f.flag for f in check.findings})
                            for lang, check in stored_checks(db, realistic.pop("ids"))]
    new_text = stored_checks(db, [unseen["id"]])
    db.close()
    return demo_checks, realistic, new_text


def measure(seed: int, count: int = 30) -> dict:
    """Run the checks over the labelled set; counts per flag and per kind, and the realistic import with the
    retry off and on."""
    rng = random.Random(seed)
    pairs = corpus()
    items = realistic_releases(pairs, count, random.Random(seed + 1))
    runs = {}
    for hypotheses in (0, WorkerSettings.hypotheses):
        with tempfile.TemporaryDirectory() as tmp:
            runs[hypotheses] = model_run(Path(tmp), hypotheses, items, pairs)
    demo_checks, realistic, new_text = runs[WorkerSettings.hypotheses]
    samples: list[tuple[str, str, set[Flag]]] = [*realistic.pop("samples")]  # (label, kind, flags)
    for lang, check in demo_checks:
        samples.append(("good", f"demo models, demo releases ({lang})", {f.flag for f in check.findings}))
    for lang, check in new_text:
        samples.append(("broken", f"demo models, new text ({lang})", {f.flag for f in check.findings}))
    samples += corpus_samples(pairs, rng)
    result = summarize(samples)
    result["realistic"] = {hypotheses: {k: v for k, v in run[1].items() if k != "samples"}
                           for hypotheses, run in runs.items()}
    result["new text flagged"] = {hypotheses: f"{sum(1 for _, c in run[2] if c.findings)}/{len(run[2])}"
                                  for hypotheses, run in runs.items()}
    realistic_good = [s for s in samples if s[1].startswith("demo models, realistic") and s[0] == "good"]
    result["realistic_good_flagged"] = round(sum(1 for s in realistic_good if s[2]) / max(1, len(realistic_good)), 3)
    return result


def corpus_samples(pairs: list[dict], rng: random.Random) -> list[tuple[str, str, set[Flag]]]:
    """The reviewed corpus translations (good) and broken variants of them, through the checks alone."""
    from feedsvc.translation.protect import GlossaryTerm

    rows = list(csv.DictReader(io.StringIO((DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))))
    terms = [GlossaryTerm(row["ru"], {"en": row["en"], "kk": row["kk"]}) for row in rows]
    samples = []
    for lang in ("en", "kk"):
        usable = [t for t in terms if t.targets.get(lang)]
        context = checks.Context(lang, usable, checks.Calibration(checks.DEFAULT_BAND))
        for pair in pairs:
            good = checks.check(pair["ru"], pair[lang], context)
            samples.append(("good", f"reviewed corpus ({lang})", {f.flag for f in good.findings}))
            for kind, text in broken_variants(pair, lang, pairs, rng):
                bad = checks.check(pair["ru"], text, context)
                samples.append(("broken", f"{kind} ({lang})", {f.flag for f in bad.findings}))
    return samples


def summarize(samples: list[tuple[str, str, set[Flag]]]) -> dict:
    """Precision and recall of each flag and of all together, and the flagged share per kind."""
    broken = [s for s in samples if s[0] == "broken"]
    good = [s for s in samples if s[0] == "good"]
    per_flag = {}
    for flag in Flag:
        hits = [s for s in samples if flag in s[2]]
        true = sum(1 for s in hits if s[0] == "broken")
        per_flag[flag.value] = {"flagged": len(hits), "precision": round(true / len(hits), 3) if hits else None,
                                "recall": round(true / len(broken), 3) if broken else None}
    kinds = Counter(s[1] for s in samples)
    flagged = Counter(s[1] for s in samples if s[2])
    return {
        "broken": len(broken), "good": len(good),
        "broken_flagged": round(sum(1 for s in broken if s[2]) / len(broken), 3),
        "good_flagged": round(sum(1 for s in good if s[2]) / len(good), 3),
        "per_flag": per_flag,
        "per_kind": {kind: f"{flagged[kind]}/{n}" for kind, n in sorted(kinds.items())},
    }


def main() -> None:
    """Print the table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--releases", type=int, default=30, help="realistic releases to import (default 30)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"{ERROR_EVERY} realistic releases: proves the script runs (tests/test_bench.py)")
    args = parser.parse_args()
    result = measure(args.seed, ERROR_EVERY if args.smoke else args.releases)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"broken sentences flagged: {result['broken_flagged']:.3f} of {result['broken']} (target ≥ 0.90)")
    print(f"good sentences flagged:   {result['good_flagged']:.3f} of {result['good']} (target ≤ 0.05)")
    print(f"good sentences of the realistic releases flagged: {result['realistic_good_flagged']:.3f} (target ≤ 0.02)")
    for hypotheses, counts in result["realistic"].items():
        retry = f"retry with {hypotheses} hypotheses" if hypotheses else "no retry"
        print(f"realistic releases, {retry}: translations published/held: releases the models know "
              f"{counts.get('known: published', 0)}/{counts.get('known: held', 0)}, with a new sentence "
              f"{counts.get('with a new sentence: published', 0)}/{counts.get('with a new sentence: held', 0)}; "
              f"sentences right {counts.get('right', 0)} (flagged {counts.get('right flagged', 0)}), wrong "
              f"{counts.get('wrong', 0)} (flagged {counts.get('wrong flagged', 0)}, published "
              f"{counts.get('wrong published', 0)}); saved by a retry {counts.get('saved by a retry', 0)}")
    for hypotheses, share in result["new text flagged"].items():
        print(f"new text through the demo models flagged, {'retry on' if hypotheses else 'no retry'}: {share}")
    print(f"\n{'flag':14} {'flagged':>8} {'precision':>10} {'recall':>8}")
    for flag, row in result["per_flag"].items():
        print(f"{flag:14} {row['flagged']:>8} {row['precision'] if row['precision'] is not None else '—':>10} "
              f"{row['recall'] if row['recall'] is not None else '—':>8}")
    print("\nflagged per kind of sentence:")
    for kind, share in result["per_kind"].items():
        print(f"  {kind:42} {share}")


if __name__ == "__main__":
    main()
