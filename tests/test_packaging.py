"""feedsvc installed from its wheel (not editable): the demo models travel inside the package, and installed
models go beside the instance, never into site-packages."""

import os
import subprocess
import sys
import zipfile

import pytest

from feedsvc.modelstore import packages
from tests.helpers import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel `pip install .` would install, built offline from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, timeout=300)
    (path,) = out.glob("feedsvc-*.whl")
    return path


def test_the_wheel_ships_the_demo_models(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "feedsvc/demo/models/translate-ru_en-demo.argosmodel" in names
    assert "feedsvc/demo/models/translate-en_kk-demo.argosmodel" in names


@pytest.mark.slow
def test_demo_from_a_non_editable_install_installs_models_beside_the_instance(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site),
                    str(wheel)], check=True, capture_output=True, timeout=300)
    # The installed copy comes first on the path; the dependencies come from this environment.
    env = {**os.environ, "PYTHONPATH": str(site), "FEEDSVC_SECRET_KEY": "test"}
    code = ("import feedsvc, sys; from feedsvc.web import create_app; from click.testing import CliRunner; "
            "app = create_app(check_schema=False); print(feedsvc.__file__); print(app.config['MODELS_DIR']); "
            "from feedsvc.commands import cli; "
            "r = app.test_cli_runner().invoke(cli, args=['demo']); print(r.output); sys.exit(r.exit_code)")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    module, models_dir = result.stdout.splitlines()[:2]
    assert module.startswith(str(site))
    assert models_dir.endswith(os.path.join("instance", "models"))
    assert not models_dir.startswith(str(site / "feedsvc"))
    assert "Installed demo model translate-ru_en-demo" in result.stdout
    assert {p.name for p in packages.list_packages(models_dir)} == {"translate-ru_en-demo", "translate-en_kk-demo"}
