"""House style that a machine can check: ruff, the import-linter layer contracts, docstrings."""

import re
import shutil
import subprocess
import sys
import tomllib

from tests.helpers import ROOT


def test_the_tree_passes_ruff():
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    result = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_hold():
    """The README's layer rules, as import-linter contracts in pyproject.toml (layers, core, root, web)."""
    lint = shutil.which("lint-imports") or str(ROOT / ".venv" / "bin" / "lint-imports")
    result = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def contracts() -> dict[str, dict]:
    """pyproject.toml's import-linter contracts, by type (layers, forbidden core, forbidden root…) and name."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {contract["name"]: contract for contract in config["tool"]["importlinter"]["contracts"]}


def core_modules() -> list[str]:
    """Every module of the layers below web/ and commands/, as the (exhaustive) layers contract lists them."""
    layers = next(c for c in contracts().values() if c["type"] == "layers")["layers"]
    names = [name.strip() for layer in layers for name in layer.split(":")]
    return [f"feedsvc.{name}" for name in names if name not in ("web", "commands")]


def test_the_framework_ban_covers_every_layer_of_the_core():
    """The forbidden-framework contract names exactly the layers below web/commands: none can be left out."""
    core = contracts()["The core imports no web or CLI framework"]
    assert sorted(core["source_modules"]) == sorted(core_modules())


def test_importing_the_core_loads_no_framework():
    """Importing the package root, the clock or any core module loads no Flask, werkzeug or jinja2.

    (click is not in the list: sqlite-utils, which the core uses, imports it for its own CLI.)
    """
    code = ("import importlib, pkgutil, sys; import feedsvc; "
            f"[importlib.import_module(name) for name in {core_modules()!r}]; "
            "[importlib.import_module(m.name) for name in ('feedsvc.text', 'feedsvc.translation', 'feedsvc.editorial',"
            " 'feedsvc.modelstore') for m in pkgutil.iter_modules(sys.modules[name].__path__, name + '.')]; "
            "print(sorted({'flask', 'werkzeug', 'jinja2', 'flask_babel', 'wtforms'} & set(sys.modules)) or 'clean')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.stdout.strip() == "clean", result.stdout + result.stderr


def test_the_core_type_checks():
    """mypy over the core modules listed in pyproject.toml's [tool.mypy]."""
    mypy = shutil.which("mypy") or str(ROOT / ".venv" / "bin" / "mypy")
    result = subprocess.run([mypy, "--no-incremental"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr


def test_every_function_in_the_package_has_a_docstring():
    import ast

    missing = []
    for path in sorted((ROOT / "feedsvc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, "functions without a one-line docstring:\n" + "\n".join(missing)


def test_test_modules_share_helpers_only_through_helpers_py():
    """conftest.py holds fixtures, helpers.py the shared helpers: no test module imports another one or conftest."""
    crossing = re.compile(r"^\s*(?:from tests\.(?:test_\w+|conftest) import|import tests\.(?:test_\w+|conftest))", re.M)
    found = [path.name for path in sorted((ROOT / "tests").glob("*.py")) if crossing.search(path.read_text())]
    assert found == []
