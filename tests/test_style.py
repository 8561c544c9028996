"""House style that a machine can check: ruff (pyflakes, pycodestyle, isort single-line imports, bugbear)."""

import shutil
import subprocess

from tests.conftest import ROOT


def test_the_tree_passes_ruff():
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    result = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_in_the_package_has_a_docstring():
    import ast

    missing = []
    for path in sorted((ROOT / "feedsvc").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, "functions without a one-line docstring:\n" + "\n".join(missing)
