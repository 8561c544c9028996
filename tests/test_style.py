"""House style that a machine can check: ruff, the import-linter layer contracts, docstrings."""

import shutil
import subprocess

from tests.conftest import ROOT


def test_the_tree_passes_ruff():
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    result = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_hold():
    """The README's layer rules, as import-linter contracts in pyproject.toml (core, translation, web)."""
    lint = shutil.which("lint-imports") or str(ROOT / ".venv" / "bin" / "lint-imports")
    result = subprocess.run([lint, "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "3 kept, 0 broken" in result.stdout


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
