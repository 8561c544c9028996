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
from feedsvc.modelstore import packages  # noqa: E402
from feedsvc.storage import connect  # noqa: E402
from feedsvc.translation import checks  # noqa: E402
from feedsvc.translation import glossary  # noqa: E402
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


def instance(folder: Path):
    """A fresh instance with the demo models, glossary and releases, translated by the real worker."""
    from feedsvc.translation.engine import Engine
    from feedsvc.translation.engine import prepare_environment

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE": str(folder / "db"),
                      "UPLOAD_FOLDER": str(folder / "up"), "MODELS_DIR": str(folder / "models"),
                      "ARGOS_HOME": str(folder / "argos")})
    install_demo_models(str(folder / "models"))
    db = connect(str(folder / "db"))
    glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))
    for item in json.loads((DEMO_DIR / "releases.json").read_text(encoding="utf-8")):
        releases.create_release(db, title=item["title"], body=item["body"], category=item.get("category", ""),
                                published_at=datetime.fromisoformat(item["published"]), publish=True)
    prepare_environment(folder / "argos", folder / "models")
    engine = Engine()
    settings = worker.WorkerSettings(models_dir=folder / "models", publish_policy={"kk": "auto", "en": "auto"})
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


def measure(seed: int) -> dict:
    """Run the checks over the labelled set; counts per flag and per kind."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        app, db, engine, settings = instance(Path(tmp))
        demo_ids = [r["id"] for r in db.query("select id from releases")]
        demo_checks = stored_checks(db, demo_ids)  # as the worker stored them, before an editor approved them
        approve_all(db)
        unseen = releases.create_release(db, title="Новые темы", body=UNSEEN, publish=True,
                                         published_at=datetime.fromisoformat("2026-11-25T10:00:00+05:00"))
        worker.run(db, engine.translate_scored, settings, once=True)
        terms = glossary.load_terms(db)
        installed = packages.list_packages(settings.models_dir)
        samples: list[tuple[str, str, set[Flag]]] = []  # (label, kind, flags)
        for lang, check in demo_checks:
            samples.append(("good", f"demo models, demo releases ({lang})", {f.flag for f in check.findings}))
        for lang, check in stored_checks(db, [unseen["id"]]):
            samples.append(("broken", f"demo models, new text ({lang})", {f.flag for f in check.findings}))
        pairs = corpus()
        for lang in ("en", "kk"):
            route = packages.find_route(installed, "ru", lang)
            context = checks.Context(lang, [t for t in terms if t.targets.get(lang)],
                                     checks.calibration(db, lang, route.describe()))
            for pair in pairs:
                good = checks.check(pair["ru"], pair[lang], context)
                samples.append(("good", f"reviewed corpus ({lang})", {f.flag for f in good.findings}))
                for kind, text in broken_variants(pair, lang, pairs, rng):
                    bad = checks.check(pair["ru"], text, context)
                    samples.append(("broken", f"{kind} ({lang})", {f.flag for f in bad.findings}))
        db.close()
    return summarize(samples)


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
    args = parser.parse_args()
    result = measure(args.seed)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"broken sentences flagged: {result['broken_flagged']:.3f} of {result['broken']} (target ≥ 0.90)")
    print(f"good sentences flagged:   {result['good_flagged']:.3f} of {result['good']} (target ≤ 0.05)")
    print(f"\n{'flag':14} {'flagged':>8} {'precision':>10} {'recall':>8}")
    for flag, row in result["per_flag"].items():
        print(f"{flag:14} {row['flagged']:>8} {row['precision'] if row['precision'] is not None else '—':>10} "
              f"{row['recall'] if row['recall'] is not None else '—':>8}")
    print("\nflagged per kind of sentence:")
    for kind, share in result["per_kind"].items():
        print(f"  {kind:42} {share}")


if __name__ == "__main__":
    main()
