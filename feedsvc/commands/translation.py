"""CLI for the translation side: `feedsvc worker`, `feedsvc models …`, `feedsvc glossary …`."""

import dataclasses
import json
import logging
import sqlite3
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext

from feedsvc import jobs
from feedsvc import migrations
from feedsvc import translations
from feedsvc.commands.sources import sources_poller
from feedsvc.config import from_config
from feedsvc.modelstore import convert
from feedsvc.modelstore import evaluate
from feedsvc.modelstore import packages
from feedsvc.settings import EngineSettings
from feedsvc.settings import Languages
from feedsvc.settings import Typography
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.translation import glossary
from feedsvc.translation import memory


def models_dir() -> Path:
    """The configured models folder."""
    return Path(current_app.config["MODELS_DIR"])


def site_languages() -> Languages:
    """The app's languages (SOURCE_LANGUAGE, TARGET_LANGUAGES)."""
    return Languages.of(current_app.config)


def worker_settings() -> WorkerSettings:
    """Worker settings from the app config."""
    config = current_app.config
    return from_config(config, "WORKER", WorkerSettings, models_dir=models_dir(),
                       source_lang=config["SOURCE_LANGUAGE"], publish_policy=config["PUBLISH_POLICY"],
                       typography=from_config(config, "TYPOGRAPHY", Typography), timezone=config["TIMEZONE"])


def make_engine():
    """The real engine, imported only here: the web process never loads torch or argostranslate."""
    from feedsvc.translation.engine import Engine
    from feedsvc.translation.engine import prepare_environment

    prepare_environment(current_app.config["ARGOS_HOME"], models_dir())
    return Engine(from_config(current_app.config, "ENGINE", EngineSettings))  # types checked at start


@click.command("worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Drain the queue, then exit.")
@click.option("--max-jobs", type=click.IntRange(min=1), help="Stop after this many jobs.")
def worker_command(once: bool, max_jobs: int | None) -> None:
    """Translate queued releases (runs until stopped, or with --once until the queue is empty)."""
    from feedsvc.translation import worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    db = connect(current_app.config["DATABASE"])
    try:
        migrations.ready_schema(db)  # an old schema is `feedsvc init-db`'s to change, never a worker's
    except migrations.SchemaOutdated as exc:
        raise click.ClickException(str(exc)) from exc
    engine = make_engine()

    def report(job, result):
        """One line per job handled."""
        click.echo(f"job {job['id']}: release {job['release_id']} → {job['lang']}: {result}")

    sender = None if once else websub_sender()
    poller = None if once else sources_poller()
    try:
        # A test may hand its hooks in through the app (tests/paused_worker.py); in production there are none.
        hooks = current_app.extensions["feedsvc"].get("worker_hooks", worker.NO_HOOKS)
        handled = worker.run(db, engine.translate_scored, worker_settings(), once=once, max_jobs=max_jobs,
                             on_job=report, hooks=hooks)
    except sqlite3.OperationalError as exc:  # only with --once: the long-running worker waits and retries
        raise click.ClickException(f"the database refused the worker ({exc}); the jobs stay queued") from exc
    finally:
        if sender:
            sender.stop()
        if poller:
            poller.stop()
    click.echo(f"{handled} job(s) handled; {engine.sentences_translated} sentence(s) sent to models.")


def websub_sender():
    """With WEBSUB_HUBS, a started thread that announces feed changes to the hubs (feedsvc.websub); else None:
    without hubs nothing touches the network."""
    from feedsvc import websub
    from feedsvc.web.feeds import topics

    config = current_app.config
    if not config["WEBSUB_HUBS"]:
        return None
    sender = websub.Sender(lambda: connect(config["DATABASE"]), config["WEBSUB_HUBS"], topics())
    sender.start()
    return sender


@click.command("retranslate")
@click.option("--lang", help="Target language, e.g. kk.")
@click.option("--model", metavar="NAME@VERSION", help="Only translations with a sentence this package made.")
@click.option("--run", "run_now", is_flag=True, help="Translate now, with a progress bar.")
@with_appcontext
def retranslate_command(lang: str | None, model: str | None, run_now: bool) -> None:
    """Re-translate machine translations of a language, or those a package made (human-reviewed ones are never
    touched)."""
    if not lang and not model:
        raise click.UsageError("give --lang LANG, --model NAME@VERSION, or both")
    if lang and lang not in current_app.config["TARGET_LANGUAGES"]:
        raise click.BadParameter(f"choose one of {', '.join(current_app.config['TARGET_LANGUAGES'])}",
                                 param_hint="--lang")
    if model is not None and "@" not in model:
        raise click.BadParameter("a package as NAME@VERSION, as `feedsvc models list` shows it", param_hint="--model")
    db = connect(current_app.config["DATABASE"])
    what = " and ".join(filter(None, [f"into {lang}" if lang else "", f"made by {model}" if model else ""]))
    total = len(translations.machine_translated(db, lang, model))
    with click.progressbar(length=total, label="Queuing") as bar:
        queued = jobs.requeue_machine(db, lang, progress=lambda release: bar.update(1), model=model)
    click.echo(f"{queued} machine translation(s) {what} queued; human-reviewed ones were left alone.")
    if run_now and queued:
        from feedsvc.translation import worker

        engine = make_engine()
        with click.progressbar(length=jobs.pending_count(db), label="Translating") as bar:
            handled = worker.run(db, engine.translate_scored, worker_settings(), once=True,
                                 on_job=lambda job, result: bar.update(1))
        click.echo(f"{handled} job(s) done; {engine.sentences_translated} sentence(s) sent to models.")


@click.group("models", cls=AppGroup)
def models_cli() -> None:
    """List, install, remove and build translation model packages."""


@models_cli.command("list")
def list_command() -> None:
    """Installed packages, and the route each target language will use."""
    installed, broken = packages.scan_packages(models_dir())
    click.echo(f"Models folder: {models_dir()}")
    if not installed:
        click.echo("  (no packages installed)")
    for problem in broken:
        click.echo(f"  damaged, skipped: {problem.error} (repair it, or: feedsvc models remove {problem.name})")
    for package in installed:
        demo = "  [demo model: not for real text]" if package.demo else ""
        tokens = "".join(f"  {k}={getattr(package, k)!r}" for k in ("source_prefix", "source_suffix", "target_prefix")
                         if getattr(package, k))
        click.echo(f"  {package.from_code}→{package.to_code}  {package.key}{tokens}  output decoded by "
                   f"{package.decoder}{demo}")
    source = site_languages().source
    for target in site_languages().targets:
        route = packages.find_route(installed, source, target)
        text = f"{route.kind}: {route.describe()}" if route else "none — " + packages.fix_command(source, target)
        click.echo(f"{source}→{target}: {text}")


def after_install(package: packages.PackageInfo, replaced: list[packages.PackageInfo]) -> None:
    """A new or upgraded package is in place: the replaced ones' machine output is forgotten (their folders are
    kept for a rollback); jobs that had no model are re-queued."""
    db = connect(current_app.config["DATABASE"])
    forgotten = sum(memory.forget_model(db, name) for name in {package.name, *(p.name for p in replaced)})
    requeued = jobs.requeue_no_model(db)
    click.echo(f"Installed {package.key} ({package.from_code}→{package.to_code}) in {package.path}.")
    for old in replaced:
        click.echo(f"It replaces {old.key}{' (demo model)' if old.demo else ''}, kept in "
                   f"{models_dir() / packages.REPLACED / old.key} "
                   f"(feedsvc models rollback {old.from_code} {old.to_code} puts it back).")
    click.echo(f"{forgotten} old memory entr(ies) dropped; {requeued} job(s) waiting for a model re-queued.")
    if replaced or forgotten:
        click.echo("Existing machine translations keep the old model's text until re-translated: "
                   "feedsvc retranslate --lang LANG, or --model NAME@VERSION (reviewed ones are kept).")


@models_cli.command("install")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--from-index", "pair", nargs=2, metavar="FROM TO", help="Download FROM→TO from the Argos index.")
@click.option("--force", is_flag=True, help="Install even if it scores lower than the package it replaces.")
def install_command(files: tuple[Path, ...], pair: tuple[str, str] | None, force: bool) -> None:
    """Install .argosmodel files, or download one from the Argos index (needs internet).

    A package that replaces another is first scored against it on the editors' reviewed translations.
    """
    if not files and not pair:
        raise click.UsageError("give .argosmodel file(s) or --from-index FROM TO")
    for file in files:
        install_one(file, force=force)
    if pair:
        with tempfile.TemporaryDirectory() as tmp:
            install_one(download_from_index(*pair, Path(tmp)), force=force, label="downloaded package")


def install_one(file: Path, *, force: bool = False, label: str | None = None) -> None:
    """Install one .argosmodel file unless it scores lower than what it replaces, or fail with one clear line."""
    try:
        staged = packages.stage(models_dir(), file)
    except packages.InvalidPackage as exc:
        raise click.ClickException(f"{label or file}: {exc}") from exc
    try:
        check_upgrade(staged, force)
        replaced = packages.put_in_place(models_dir(), staged)
    finally:
        packages.discard(staged)
    after_install(packages.read_package(models_dir() / staged.name), replaced)


def check_upgrade(staged: packages.PackageInfo, force: bool) -> None:
    """Score the routes the package changes, before and after, on the reviewed translations; refuse a worse one
    (chrF down more than MAX_CHRF_DROP) unless forced."""
    # The engine loads models only when there is something to score (a first install scores nothing).
    comparisons = evaluate.compare(connect(current_app.config["DATABASE"]), packages.list_packages(models_dir()),
                                   staged, site_languages(), make_engine().translate)
    for comparison in comparisons:
        click.echo(comparison_line(comparison))
    worse = [c.lang for c in comparisons if c.worse]
    if worse and not force:
        raise click.ClickException(
            f"{staged.key} scores lower than the installed route for {', '.join(worse)} "
            f"(chrF down more than {evaluate.MAX_CHRF_DROP:g}); not installed. Install it anyway with --force.")
    if worse:
        click.echo(f"Installing {staged.key} anyway (--force).")


def comparison_line(comparison: evaluate.Comparison) -> str:
    """One line per language: both chrF scores, or why they could not be compared."""
    if comparison.before is None or comparison.after is None:
        return (f"ru→{comparison.lang}: only {comparison.sentences} reviewed sentence(s) (at least "
                f"{evaluate.MIN_REVIEWED} needed): could not compare {comparison.candidate.describe()} with "
                f"{comparison.current.describe()}.")
    return (f"ru→{comparison.lang} on {comparison.sentences} reviewed sentence(s): chrF "
            f"{comparison.before.chrf:.2f} now ({comparison.current.describe()}), {comparison.after.chrf:.2f} with "
            f"{comparison.candidate.describe()}.")


@models_cli.command("rollback")
@click.argument("from_code", metavar="FROM")
@click.argument("to_code", metavar="TO")
def rollback_command(from_code: str, to_code: str) -> None:
    """Put back the FROM→TO package (language codes, e.g. ru en) that the last install replaced."""
    try:
        restored, current = packages.rollback(models_dir(), from_code, to_code)
    except (packages.PackageNotInstalled, packages.InvalidPackage) as exc:
        raise click.ClickException(str(exc)) from exc
    after_install(restored, current)


def fetch(url: str, timeout: float = 20):
    """Open a URL, turning network trouble into one clear line."""
    try:
        return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 (operator-configured URL)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(
            f"cannot reach {url} ({reason}). Without internet, copy an .argosmodel file to this machine "
            "and run: feedsvc models install FILE.argosmodel") from exc


def download_from_index(source: str, target: str, folder: Path) -> Path:
    """Find FROM→TO in the Argos index and download it with a progress bar."""
    index_url = current_app.config.get("ARGOS_INDEX_URL",
                                       "https://raw.githubusercontent.com/argosopentech/argospm-index/main/index.json")
    with fetch(index_url) as response:
        try:
            index = json.load(response)
        except ValueError as exc:
            raise click.ClickException(f"the package index at {index_url} is not JSON") from exc
    matches = [p for p in index if p.get("from_code") == source and p.get("to_code") == target and p.get("links")]
    if not matches:
        raise click.ClickException(
            f"the Argos index has no {source}→{target} package (it has none for Kazakh: see README, "
            "'Real Kazakh models')")
    url = matches[0]["links"][0]
    path = folder / "download.argosmodel"
    with fetch(url, timeout=60) as response, open(path, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with click.progressbar(length=total, label=f"Downloading {source}→{target}") as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))
    return path


@models_cli.command("remove")
@click.argument("code")
def remove_command(code: str) -> None:
    """Remove a package by folder name or language pair (ru_en)."""
    try:
        removed = packages.remove(models_dir(), code)
    except packages.PackageNotInstalled as exc:
        raise click.ClickException(f"no installed package matches {code!r} (see: feedsvc models list)") from exc
    for package in removed:
        click.echo(f"Removed {package.key}.")


@models_cli.command("build")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("sp_model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--from", "from_code", required=True, help="Source language code, e.g. ru or en.")
@click.option("--to", "to_code", required=True, help="Target language code, e.g. kk.")
@click.option("--version", default="1.0", show_default=True)
@click.option("--source-prefix", default="", help="Tokens put before every source sentence, e.g. '>>kaz_Cyrl<<'.")
@click.option("--source-suffix", default="", help="Tokens put after every source sentence, e.g. '</s>'.")
@click.option("--target-prefix", default="", help="Token forced first in every output, e.g. 'kaz_Cyrl'.")
@click.option("--name", help="Package folder name (default translate-FROM_TO-VERSION).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def build_command(model_dir: Path, sp_model: Path, output: Path, **options) -> None:
    """Package a CTranslate2 model folder and a SentencePiece model as an .argosmodel."""
    warning = packages.eos_warning(model_dir, options["source_suffix"])
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    try:
        path = packages.build_package(model_dir, sp_model, output, **options)
    except packages.InvalidPackage as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Wrote {path} ({path.stat().st_size} bytes). Install it with: feedsvc models install {path}")


@models_cli.command("convert")
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--from", "from_code", required=True, help="Source language code, e.g. ru or en.")
@click.option("--to", "to_code", required=True, help="Target language code, e.g. kk.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The .argosmodel to write (default translate-FROM_TO-VERSION.argosmodel here).")
@click.option("--version", default="1.0", show_default=True)
@click.option("--quantization", type=click.Choice(convert.QUANTIZATIONS), default="int8", show_default=True)
@click.option("--install", "install_now", is_flag=True, help="Install the package when it is written (and verified).")
@click.option("--verify", "verify_now", is_flag=True,
              help="Compare the package's translations with transformers' generate() on sample sentences.")
@click.option("--verify-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Sample sentences for --verify, one per line (default: built-in ones).")
def convert_command(checkpoint: Path, from_code: str, to_code: str, output: Path | None, version: str,
                    quantization: str, install_now: bool, verify_now: bool, verify_file: Path | None) -> None:
    """Convert a local Hugging Face checkpoint (Marian/OPUS-MT, NLLB-200, M2M-100, MADLAD-400/T5) to a package."""
    output = output or Path(f"translate-{from_code}_{to_code}-{version}.argosmodel")
    try:
        sentences = convert.samples(from_code, verify_file) if verify_now else []
        plan = convert.convert(checkpoint, output, from_code=from_code, to_code=to_code, version=version,
                               quantization=quantization, progress=lambda step: click.echo(f"… {step}"))
    except (convert.ConvertError, packages.InvalidPackage) as exc:
        raise click.ClickException(f"{checkpoint}: {exc}") from exc
    click.echo(f"Wrote {output} ({output.stat().st_size} bytes).")
    if verify_now:
        check_agreement(plan, output, sentences, quantization)
    if install_now:
        install_one(output)
    else:
        click.echo(f"Install it with: feedsvc models install {output}")


def check_agreement(plan: convert.Plan, output: Path, sentences: list[str], quantization: str) -> None:
    """--verify: the package against generate(), greedy on both sides; a failing package is removed."""
    engine = make_engine()
    # generate() is compared greedy, and with the package's own numbers: "auto" would run a float32
    # package in int8 on most CPUs, and the threshold is the quantization's.
    engine.settings = dataclasses.replace(engine.settings, beam_size=1, compute_type="default")
    click.echo(f"… verifying on {len(sentences)} sentence(s): generate() vs the package through feedsvc's engine")
    with tempfile.TemporaryDirectory() as tmp:
        package = packages.install_file(tmp, output)
        agreement = convert.verify(plan, package.path, sentences, engine.translate, quantization=quantization)
    click.echo(f"Agreement: {agreement.agreed}/{len(sentences)} identical "
               f"(at least {agreement.minimum}% required with {quantization}).")
    for source, reference, packaged in agreement.differences()[:5]:
        click.echo(f"  {source}\n    generate(): {reference}\n    package:    {packaged}")
    if not agreement.ok:
        output.unlink()
        raise click.ClickException(f"the package does not translate like the original model; {output} removed")


@models_cli.command("evaluate")
@click.option("--lang", required=True, help="Target language, e.g. kk.")
@click.option("--test-set", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="UTF-8 TSV file: Russian<TAB>reference translation, one pair a line.")
@click.option("--candidate", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An .argosmodel not installed yet, scored beside the current route.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def evaluate_command(lang: str, test_set: Path | None, candidate: Path | None, as_json: bool) -> None:
    """chrF and BLEU of the current route (and a candidate package) on a test set and the reviewed translations."""
    db = connect(current_app.config["DATABASE"])
    data = evaluation_data(db, lang, test_set)
    installed = packages.list_packages(models_dir())
    source = site_languages().source
    with tempfile.TemporaryDirectory() as tmp:
        routes = {"current": packages.find_route(installed, source, lang)}
        if candidate:
            try:
                unpacked = packages.install_file(tmp, candidate)
            except packages.InvalidPackage as exc:
                raise click.ClickException(f"{candidate}: {exc}") from exc
            routes["candidate"] = evaluate.candidate_route(installed, unpacked, source, lang)
            if routes["candidate"] is None:
                raise click.ClickException(f"{candidate} ({unpacked.from_code}→{unpacked.to_code}) gives no "
                                           f"{source}→{lang} route with the installed packages")
        results = run_evaluations(db, lang, routes, data)
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    for result in results:
        click.echo(f"{result['which']:9}  {result['data']}: {result['route']}  {result['sentences']} sentence(s)  "
                   f"chrF {result['chrf']:.2f}  BLEU {result['bleu']:.2f}  "
                   f"{result['seconds_per_sentence']:.3f} s/sentence")


def evaluation_data(db, lang: str, test_set: Path | None) -> dict[str, list[evaluate.Pair]]:
    """The data sets to score on: the test set file, and the reviewed translations if there are any."""
    data = {}
    if test_set:
        try:
            data[f"test set {test_set.name}"] = evaluate.read_test_set(test_set)
        except evaluate.BadTestSet as exc:
            raise click.ClickException(str(exc)) from exc
    reviewed = evaluate.reviewed_pairs(db, lang)
    if reviewed:
        data[evaluate.REVIEWED] = reviewed
    if not data:
        raise click.ClickException(f"nothing to score on: no reviewed {lang} translations yet; give --test-set FILE")
    return data


def run_evaluations(db, lang: str, routes: dict, data: dict[str, list[evaluate.Pair]]) -> list[dict]:
    """Score every route on every data set with a progress bar; store and return the results."""
    if routes["current"] is None:
        source = site_languages().source
        click.echo(f"{source}→{lang}: no current route — " + packages.fix_command(source, lang))
    todo = [(which, route, name) for which, route in routes.items() if route for name in data]
    engine = make_engine()
    results = []
    # On stderr, so --json output stays parseable.
    with click.progressbar(todo, label="Translating and scoring", file=sys.stderr) as bar:
        for which, route, name in bar:
            result = evaluate.evaluate(lang, route, data[name], name, engine.translate)
            evaluate.store(db, result)
            results.append({"which": which, **dataclasses.asdict(result)})
    return results


@click.group("glossary", cls=AppGroup)
def glossary_cli() -> None:
    """Import and export the glossary (CSV: ru,en,kk; ru forms separated by |, * for any ending)."""


@glossary_cli.command("import")
@click.argument("file", type=click.File("rb"))
def glossary_import(file) -> None:
    """Add or update terms from a UTF-8 CSV file (all or nothing)."""
    db = connect(current_app.config["DATABASE"])
    try:
        count = glossary.import_csv(db, file.read().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file.name}: not UTF-8 text; save the CSV as UTF-8 "
                                   "(nothing was imported)") from exc
    except glossary.BadGlossary as exc:
        raise click.ClickException(f"{file.name}: {exc} (nothing was imported)") from exc
    click.echo(f"Imported {count} term(s).")


@glossary_cli.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"), default="-")
def glossary_export(file) -> None:
    """Write every term as CSV (to stdout by default)."""
    file.write(glossary.export_csv(connect(current_app.config["DATABASE"])))


@click.command("review-queue")
@click.option("--lang", help="Only this target language, e.g. en.")
@with_appcontext
def review_queue_command(lang: str | None) -> None:
    """Machine translations waiting for an editor (held by PUBLISH_POLICY), per language, with the reasons."""
    from feedsvc.editorial import review

    rows = translations.held(connect(current_app.config["DATABASE"]), lang)
    policy = current_app.config["PUBLISH_POLICY"]
    for target in [lang] if lang else current_app.config["TARGET_LANGUAGES"]:
        held = [row for row in rows if row["lang"] == target]
        click.echo(f"{target} (policy: {policy.get(target, 'checked')}): {len(held)} waiting for review")
        for row in held:
            reasons = [f.reason for check in review.sentence_checks(row) for f in check.findings]
            why = f"{row['flags']} flagged sentence(s): {'; '.join(reasons)[:200]}" if row["flags"] else "policy"
            click.echo(f"  release {row['id']} «{row['title'][:60]}» — {why}")
            click.echo(f"    /admin/releases/{row['id']}/review")
