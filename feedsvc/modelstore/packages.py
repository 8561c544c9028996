"""Installed Argos packages under models/: list, route, install, remove, build. No argostranslate import.

Reading ``metadata.json`` ourselves keeps the web process (and `feedsvc models list`) free of
torch; only the worker loads a package through argostranslate.
"""

import errno
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound

PIVOT = "en"
MAX_ARCHIVE_BYTES = 2 * 1024**3
MAX_UNPACKED_BYTES = 4 * 1024**3
# Folder names in models/ that are not packages: older checkouts kept the demo archives in models/demo/.
RESERVED_NAMES = {"demo"}
# Where a replaced package is kept (not loaded: hidden folders are skipped), as REPLACED/NAME@VERSION/NAME,
# so `feedsvc models rollback` can put it back.
REPLACED = ".replaced"
# Argos reads sentencepiece.model; a package whose output pieces come from another model (OPUS-MT's target.spm)
# carries that one under this name, and feedsvc's engine decodes with it.
TARGET_SPM = "target_sentencepiece.model"
# metadata.json is a few hundred bytes; a larger one is refused before it is read or parsed.
MAX_METADATA_BYTES = 64 * 1024
# What the fields may hold: anything else would break sorting, routing, pages or the worker's model loading.
LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8}){0,2}")
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,31}")
MAX_TOKENS_CHARS = 200


class InvalidPackage(InvalidInput):
    """The file is not an Argos package feedsvc can install safely."""


class PackageNotInstalled(NotFound):
    """No installed package matches."""


@dataclass(frozen=True)
class PackageInfo:
    """One installed package, as its metadata.json describes it."""

    name: str
    path: Path
    from_code: str
    to_code: str
    version: str
    source_prefix: str = ""
    source_suffix: str = ""
    target_prefix: str = ""
    demo: bool = False

    @property
    def decoder(self) -> str:
        """The SentencePiece file that turns this package's output pieces into text."""
        return TARGET_SPM if (self.path / TARGET_SPM).is_file() else "sentencepiece.model"

    @property
    def key(self) -> str:
        """What identifies this model's output in the translation memory: name and version."""
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Route:
    """How ru→X is reached: one package (direct) or two through English (pivot)."""

    steps: tuple[PackageInfo, ...]

    @property
    def kind(self) -> str:
        """"direct" or "pivot"."""
        return "direct" if len(self.steps) == 1 else "pivot"

    @property
    def model(self) -> str:
        """Which packages make this route's sentences, as each sentence records it: "a@1" or "a@1 → b@2"."""
        return " → ".join(step.key for step in self.steps)

    def describe(self) -> str:
        """Human-readable: ru→en→kk (translate-ru_en@1.9, translate-en_kk@0.1)."""
        codes = [self.steps[0].from_code] + [s.to_code for s in self.steps]
        return "→".join(codes) + " (" + ", ".join(s.key for s in self.steps) + ")"


@dataclass(frozen=True)
class BrokenPackage:
    """A folder in models/ that cannot be used as a package, why, and its state (to report it once per change)."""

    name: str
    path: Path
    error: str
    state: tuple = ()

    @property
    def key(self) -> str:
        """How `models remove` names it: the folder name."""
        return self.name


def read_package(path: Path) -> PackageInfo:
    """Read and check one unpacked package folder's metadata."""
    meta = read_metadata(path)
    return PackageInfo(
        name=path.name, path=path, from_code=meta["from_code"], to_code=meta["to_code"],
        version=meta.get("package_version", "0"), source_prefix=meta.get("source_prefix", ""),
        source_suffix=meta.get("source_suffix", ""), target_prefix=meta.get("target_prefix", ""),
        demo=meta.get("feedsvc_demo", False) is True,
    )


def read_metadata(path: Path) -> dict:
    """A package folder's metadata.json as a checked dict: a regular file of at most MAX_METADATA_BYTES, parsed."""
    try:
        meta = json.loads(read_small_file(path / "metadata.json", MAX_METADATA_BYTES).decode("utf-8"))
    except InvalidPackage as exc:
        raise InvalidPackage(f"{path.name}: metadata.json {exc}") from exc
    except (OSError, ValueError) as exc:
        raise InvalidPackage(f"{path.name}: unreadable metadata.json ({exc})") from exc
    problem = metadata_problem(meta)
    if problem:
        raise InvalidPackage(f"{path.name}: metadata.json: {problem}")
    return meta


def read_small_file(file: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, reading at most ``limit + 1``.

    Opened without following a symlink and without blocking, then checked with fstat: a FIFO named
    metadata.json would hang a reader, a symlink to /dev/zero would fill memory, and a file that grows
    after the check is still read only up to the limit and one byte more, which tells it is too large.
    """
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InvalidPackage("is a symbolic link: only a regular file is read") from exc
        raise
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidPackage("is not a regular file (a FIFO, device or folder): only a regular file is read")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InvalidPackage(f"is larger than {limit // 1024} KiB")
    return data


def metadata_problem(meta) -> str | None:
    """What is wrong with a parsed metadata.json (types, lengths, characters), or None."""
    if not isinstance(meta, dict):
        return "not a JSON object"
    checks = [("from_code", LANGUAGE_CODE, True), ("to_code", LANGUAGE_CODE, True),
              ("package_version", VERSION, False)]
    for key, pattern, required in checks:
        value = meta.get(key)
        if value is None and not required:
            continue
        if not isinstance(value, str) or not pattern.fullmatch(value):
            return f"{key} must be text like {'ru' if pattern is LANGUAGE_CODE else '1.9'} (got {shorten(value)})"
    for key in ("source_prefix", "source_suffix", "target_prefix"):
        value = meta.get(key, "")
        if not isinstance(value, str) or len(value) > MAX_TOKENS_CHARS or not value.isprintable():
            return f"{key} must be text of at most {MAX_TOKENS_CHARS} characters (got {shorten(value)})"
    return None


def shorten(value) -> str:
    """A value's repr cut to a length fit for one line of a page or a log."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def list_packages(models_dir: str | Path) -> list[PackageInfo]:
    """Every usable installed translation package, sorted by language pair (damaged folders skipped)."""
    return scan_packages(models_dir)[0]


def scan_packages(models_dir: str | Path) -> tuple[list[PackageInfo], list[BrokenPackage]]:
    """The usable packages, sorted by language pair, and the damaged package folders with their errors.

    One damaged folder (copied in by hand, or installed by an older feedsvc) must not stop the
    listing, the models page or the worker: it is set aside and shown instead.
    """
    root = Path(models_dir)
    if not root.is_dir():
        return [], []
    found, broken = [], []
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name.startswith(".") or child.name in RESERVED_NAMES:
            continue
        try:
            if not (child / "model").is_dir():
                raise InvalidPackage(f"{child.name}: no model/ folder")
            found.append(read_package(child))
        except InvalidPackage as exc:
            broken.append(BrokenPackage(child.name, child, str(exc), folder_state(child)))
    return sorted(found, key=lambda p: (p.from_code, p.to_code, p.name)), broken


def folder_state(path: Path) -> tuple:
    """Modification times of a folder and its metadata.json: they change when someone repairs or replaces it."""
    times: list[int | None] = []
    for item in (path, path / "metadata.json"):
        try:
            times.append(item.stat().st_mtime_ns)
        except OSError:
            times.append(None)
    return tuple(times)


def version_key(version: str) -> tuple[int, ...]:
    """A version's numbers, so 1.10 sorts after 1.9 (text comparison would not)."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


def preference(package: PackageInfo) -> tuple:
    """How much a package is preferred for its language pair: a real model over a demo, then the newest."""
    return (not package.demo, version_key(package.version), package.name)


def find_route(packages: list[PackageInfo], source: str, target: str) -> Route | None:
    """The route source→target: a direct package if any, else a pivot through English.

    Where several packages serve one pair (copied in by hand), the preferred one is used.
    """
    by_pair: dict[tuple[str, str], PackageInfo] = {}
    for package in sorted(packages, key=preference, reverse=True):
        by_pair.setdefault((package.from_code, package.to_code), package)
    if (source, target) in by_pair:
        return Route((by_pair[(source, target)],))
    if target != PIVOT and (source, PIVOT) in by_pair and (PIVOT, target) in by_pair:
        return Route((by_pair[(source, PIVOT)], by_pair[(PIVOT, target)]))
    return None


def fix_command(source: str, target: str) -> str:
    """The command an operator runs when there is no route for a language (a pivot only for non-pivot targets)."""
    pivot = f", or {source}→{PIVOT} plus {PIVOT}→{target}" if PIVOT not in (source, target) else ""
    return (f"feedsvc models install FILE.argosmodel (a {source}→{target} package{pivot}); "
            "see README 'Translation models'")


def _check_member(info: zipfile.ZipInfo) -> None:
    """Refuse members that could write outside the target folder or are not plain files."""
    name = info.filename
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts or "\\" in name:
        raise InvalidPackage(f"unsafe path in archive: {name!r}")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise InvalidPackage(f"symbolic link in archive: {name!r}")
    kind = stat.S_IFMT(mode)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise InvalidPackage(f"not a regular file in archive: {name!r}")


def check_archive(archive: zipfile.ZipFile, max_unpacked: int = MAX_UNPACKED_BYTES) -> str:
    """Validate an .argosmodel before anything is extracted; returns its top folder name."""
    members = archive.infolist()
    if not members:
        raise InvalidPackage("the archive is empty")
    for info in members:
        _check_member(info)
    if sum(info.file_size for info in members) > max_unpacked:
        raise InvalidPackage("the archive unpacks to more than the size limit (zip bomb?)")
    tops = {Path(info.filename).parts[0] for info in members}
    if len(tops) != 1:
        raise InvalidPackage("the archive must hold exactly one top folder")
    top = tops.pop()
    names = {info.filename.rstrip("/") for info in members}
    if f"{top}/metadata.json" not in names:
        raise InvalidPackage("no metadata.json in the package")
    if archive.getinfo(f"{top}/metadata.json").file_size > MAX_METADATA_BYTES:
        # The header's size may lie: read_metadata checks the extracted file again before parsing it.
        raise InvalidPackage(f"metadata.json is larger than {MAX_METADATA_BYTES // 1024} KiB")
    if not any(n.startswith(f"{top}/model/") for n in names):
        raise InvalidPackage("no model/ folder in the package")
    return top


def install_file(models_dir: str | Path, archive_path: str | Path, *, max_bytes: int = MAX_ARCHIVE_BYTES,
                 max_unpacked: int = MAX_UNPACKED_BYTES) -> PackageInfo:
    """Validate and unpack an .argosmodel into models_dir, replacing an older copy of the same package.

    Extraction happens in a temporary folder inside models_dir, checked byte by byte against the
    size limit, and is moved into place only when complete.
    """
    models_dir = Path(models_dir)
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise InvalidPackage(f"no such file: {archive_path}")
    if archive_path.stat().st_size > max_bytes:
        raise InvalidPackage("the file is larger than the size limit")
    if not zipfile.is_zipfile(archive_path):
        raise InvalidPackage("not a zip archive (.argosmodel files are zip archives)")
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _install(models_dir, archive_path, max_unpacked)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise InvalidPackage(f"the archive is damaged: {exc}") from exc


def _install(models_dir: Path, archive_path: Path, max_unpacked: int) -> PackageInfo:
    """Check, extract into a staging folder, and move the package into place."""
    with zipfile.ZipFile(archive_path) as archive:
        top = check_archive(archive, max_unpacked)
        if top.startswith(".") or top in RESERVED_NAMES:
            raise InvalidPackage(f"the package folder may not be called {top!r}")
        staging = Path(tempfile.mkdtemp(prefix=".install-", dir=models_dir))
        try:
            _extract(archive, staging, max_unpacked)
            read_package(staging / top)  # refuses unreadable metadata before the move
            final = models_dir / top
            if final.exists():
                shutil.rmtree(final)
            os.replace(staging / top, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return read_package(final)


def _extract(archive: zipfile.ZipFile, dest: Path, max_unpacked: int) -> None:
    """Extract member by member, counting real bytes (headers can lie about sizes)."""
    written = 0
    for info in archive.infolist():
        target = dest / info.filename
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > max_unpacked:
                    raise InvalidPackage("the archive unpacks to more than the size limit (zip bomb?)")
                out.write(chunk)


def stage(models_dir: str | Path, archive_path: str | Path) -> PackageInfo:
    """Validate and unpack an .argosmodel into a hidden staging folder of models_dir (not loaded by anyone yet),
    so it can be scored before it replaces anything; `put_in_place` installs it, `discard` drops it."""
    folder = Path(tempfile.mkdtemp(prefix=".staged-", dir=_made(models_dir)))
    try:
        return install_file(folder, archive_path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _made(folder: str | Path) -> Path:
    """A folder, created if missing."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def discard(staged: PackageInfo) -> None:
    """Remove a staged package and its staging folder."""
    shutil.rmtree(staged.path.parent, ignore_errors=True)


def same_pair(installed: list[PackageInfo], package: PackageInfo) -> list[PackageInfo]:
    """The installed packages serving ``package``'s language pair (those it replaces)."""
    return [p for p in installed if (p.from_code, p.to_code) == (package.from_code, package.to_code)]


def put_in_place(models_dir: str | Path, staged: PackageInfo) -> list[PackageInfo]:
    """Install a staged package; the pair's other packages are moved aside (kept for a rollback), not deleted."""
    models_dir = Path(models_dir)
    replaced = [keep(models_dir, old) for old in same_pair(list_packages(models_dir), staged)]
    final = models_dir / staged.path.name
    if final.exists():  # a damaged folder of the same name: nothing worth keeping
        shutil.rmtree(final)
    os.replace(staged.path, final)
    discard(staged)
    return replaced


def keep(models_dir: Path, package: PackageInfo) -> PackageInfo:
    """Move an installed package to models_dir/.replaced/NAME@VERSION/NAME; returns it as it was installed."""
    folder = _made(models_dir / REPLACED) / package.key
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    os.replace(package.path, folder / package.name)
    os.utime(folder)  # the newest kept folder is the one a rollback restores
    return package


def kept_packages(models_dir: str | Path) -> list[PackageInfo]:
    """The replaced packages kept for a rollback, the most recently replaced first."""
    root = Path(models_dir) / REPLACED
    folders = sorted((f for f in root.iterdir() if f.is_dir()), key=lambda f: f.stat().st_mtime_ns,
                     reverse=True) if root.is_dir() else []
    kept = []
    for folder in folders:
        for child in (c for c in folder.iterdir() if c.is_dir()):
            try:
                kept.append(read_package(child))
            except InvalidPackage:
                continue  # a damaged kept copy cannot be restored; `models list` shows installed ones only
    return kept


def rollback(models_dir: str | Path, from_code: str, to_code: str) -> tuple[PackageInfo, list[PackageInfo]]:
    """Put back the FROM→TO package replaced most recently; the current one is kept in its place (a second
    rollback undoes the first). Returns the restored package and the ones it replaces."""
    models_dir = Path(models_dir)
    kept = [p for p in kept_packages(models_dir) if (p.from_code, p.to_code) == (from_code, to_code)]
    if not kept:
        raise PackageNotInstalled(f"no replaced {from_code}→{to_code} package is kept in {models_dir / REPLACED}")
    restored, installed = kept[0], same_pair(list_packages(models_dir), kept[0])
    if (models_dir / restored.name).exists() and restored.name not in {p.name for p in installed}:
        raise InvalidPackage(f"{restored.key}: another folder named {restored.name} is in {models_dir}; move it first")
    current = [keep(models_dir, old) for old in installed]
    final = models_dir / restored.name
    os.replace(restored.path, final)
    shutil.rmtree(restored.path.parent, ignore_errors=True)
    return read_package(final), current


def remove(models_dir: str | Path, code: str) -> list[PackageInfo | BrokenPackage]:
    """Remove installed packages by folder name or language pair ("ru_en" or "ru-en"); damaged ones by name."""
    pair = tuple(code.replace("-", "_").split("_")) if "_" in code or "-" in code else None
    installed, broken = scan_packages(models_dir)
    matches: list[PackageInfo | BrokenPackage] = [
        p for p in installed if p.name == code or (pair and (p.from_code, p.to_code) == pair)]
    matches += [b for b in broken if b.name == code]
    if not matches:
        raise PackageNotInstalled(code)
    for package in matches:
        shutil.rmtree(package.path)
    return matches


def model_vocabularies(model_dir: Path) -> tuple[list[str], list[str]]:
    """The source and target vocabularies of a CTranslate2 model folder (shared or separate, JSON or text)."""
    def read(stem: str) -> list[str] | None:
        """One vocabulary file, if the model has it."""
        if (model_dir / f"{stem}.json").is_file():
            return json.loads((model_dir / f"{stem}.json").read_text(encoding="utf-8"))
        if (model_dir / f"{stem}.txt").is_file():
            return (model_dir / f"{stem}.txt").read_text(encoding="utf-8").splitlines()
        return None

    shared = read("shared_vocabulary")
    source, target = read("source_vocabulary") or shared, read("target_vocabulary") or shared
    if source is None or target is None:
        raise InvalidPackage(f"{model_dir}: no vocabulary file next to model.bin")
    return source, target


def check_tokens(model_dir: str | Path, *, source_tokens: str = "", target_tokens: str = "") -> None:
    """Refuse prefix/suffix tokens the model's vocabulary lacks: CTranslate2 would silently read `<unk>`."""
    source, target = (set(v) for v in model_vocabularies(Path(model_dir)))
    missing = ([t for t in source_tokens.split() if t not in source]
               + [t for t in target_tokens.split() if t not in target])
    if missing:
        raise InvalidPackage(f"the model's vocabulary has no {', '.join(missing)}: it would read <unk> instead "
                             "(check the token's spelling against the model's vocabulary)")


def eos_warning(model_dir: str | Path, source_suffix: str) -> str | None:
    """A warning when the model's config does not add `</s>` to the source and no suffix does either."""
    config_path = Path(model_dir) / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    if config.get("add_source_eos") is False and not source_suffix:
        return ("the model's config.json says add_source_eos: false and no source suffix is given: models "
                "converted from Hugging Face (Marian, NLLB, M2M-100, T5) were trained with '</s>' after every "
                "sentence (--source-suffix '</s>'; feedsvc models convert sets it)")
    return None


def build_package(
    model_dir: str | Path, sp_model: str | Path, out_path: str | Path, *, from_code: str, to_code: str,
    version: str, from_name: str = "", to_name: str = "", source_prefix: str = "", source_suffix: str = "",
    target_prefix: str = "", name: str | None = None, readme: str = "", target_spm: str | Path | None = None,
) -> Path:
    """Package a CTranslate2 model folder and its SentencePiece model(s) as an .argosmodel (written atomically)."""
    model_dir, sp_model, out_path = Path(model_dir), Path(sp_model), Path(out_path)
    if not (model_dir / "model.bin").is_file():
        raise InvalidPackage(f"{model_dir} is not a CTranslate2 model folder (no model.bin)")
    for tokenizer in (sp_model, target_spm):
        if tokenizer is not None and not Path(tokenizer).is_file():
            raise InvalidPackage(f"no SentencePiece model at {tokenizer}")
    check_tokens(model_dir, source_tokens=f"{source_prefix} {source_suffix}", target_tokens=target_prefix)
    top = name or f"translate-{from_code}_{to_code}-{version}"
    metadata = {
        "package_version": version, "argos_version": "1.9.0", "from_code": from_code, "to_code": to_code,
        "from_name": from_name or from_code, "to_name": to_name or to_code, "type": "translate",
        "target_prefix": target_prefix, "source_prefix": source_prefix, "source_suffix": source_suffix,
    }
    sources = {"sentencepiece.model": sp_model, TARGET_SPM: target_spm}
    return write_atomically(out_path, lambda archive: _zip_package(archive, top, metadata, sources, model_dir, readme))


def write_atomically(out_path: Path, write: Callable[[zipfile.ZipFile], None]) -> Path:
    """Write a zip archive to a temporary file beside ``out_path``, then move it into place.

    A failure (a full disk) leaves no half package, and one clear InvalidPackage.
    """
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            write(archive)
        os.replace(partial, out_path)
    except OSError as exc:
        raise InvalidPackage(f"cannot write {out_path} ({exc.strerror or exc})") from exc
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return out_path


def _zip_package(archive: zipfile.ZipFile, top: str, metadata: dict, tokenizers: dict, model_dir: Path,
                 readme: str) -> None:
    """The package's files under its top folder: metadata, tokenizer(s), README, the model folder."""
    archive.writestr(f"{top}/metadata.json", json.dumps(metadata, ensure_ascii=False, indent=2))
    for name, path in tokenizers.items():
        if path is not None:
            archive.write(path, f"{top}/{name}")
    archive.writestr(f"{top}/README.md", readme or f"{metadata['from_code']}→{metadata['to_code']} model packaged "
                     "by feedsvc.\n")
    for file in sorted(model_dir.rglob("*")):
        if file.is_file():
            archive.write(file, f"{top}/model/{file.relative_to(model_dir)}")
