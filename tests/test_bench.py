"""Every benchmark in bench/ runs end to end at its --smoke size, so none can rot when a state or the schema
changes. Each test asserts that the script finishes and prints its result lines, never what they measure."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import HANG_SECONDS
from tests.helpers import ROOT
from tests.helpers import Web
from tests.helpers import make_instance
from tests.helpers import missing_program

BENCH = ROOT / "bench"
NUMBER = r"[\d.,]+"


def run_bench(*args: str) -> str:
    """Run a bench script from the project root as its README says; its standard output."""
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=HANG_SECONDS * 3)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stdout


def has_lines(output: str, *patterns: str) -> None:
    """Each pattern matches a line of the output."""
    for pattern in patterns:
        assert re.search(pattern, output, re.MULTILINE), f"no line matches {pattern!r}:\n{output[-3000:]}"


def need_wrk() -> None:
    """bench/serve.py and bench/proxy.py load the server with Debian's wrk."""
    if shutil.which("wrk") is None:
        missing_program("wrk is missing", "wrk")


@pytest.mark.slow
def test_translate_benchmark_runs(tmp_path):
    output = run_bench("bench/translate.py", "--smoke")
    has_lines(output, rf"^  \(a\)  feedsvc worker, 1 queued releases +{NUMBER} sentences/s",
              rf"^  \(b\)  raw ctranslate2 translate_batch +{NUMBER} sentences/s",
              rf"^  \(c\)  argostranslate PackageTranslation +{NUMBER} sentences/s",
              rf"^  a/b  = +{NUMBER}", rf"^  a/c  = +{NUMBER}",
              rf"^  edit/fresh = +{NUMBER} +\(target <= 0.15\)")


@pytest.mark.slow
def test_explore_benchmark_runs():
    output = run_bench("bench/explore.py", "--smoke")
    has_lines(output, rf"^inter2 intra1 mbs16 \(feedsvc now\) +{NUMBER} s/s", rf"^inter1 intra2 mbs64 +{NUMBER} s/s",
              r"function calls .* in [\d.]+ seconds", r"^total \d+s")


@pytest.mark.slow
def test_serve_benchmark_runs():
    need_wrk()
    output = run_bench("bench/serve.py", "--smoke")
    has_lines(output, rf"^cached feed req/s ÷ bare route req/s +{NUMBER} ",
              rf"^304 conditional GET req/s ÷ bare route req/s +{NUMBER} ",
              rf"^feed p50 latency, 10,000 ÷ 100 releases +{NUMBER} ", r"^index p50 latency, 10,000 ÷ 100 releases",
              r"^argostranslate/ctranslate2/torch/stanza imported +never ",
              rf"^failed requests \(timeouts, non-2xx/3xx\) +{NUMBER} ", r"^Throughput: wrk")


@pytest.mark.slow
def test_proxy_benchmark_runs():
    need_wrk()
    if not os.access("/usr/sbin/nginx", os.X_OK):
        missing_program("/usr/sbin/nginx is missing", "nginx")
    output = run_bench("bench/proxy.py", "--smoke")
    has_lines(output, rf"^  proxied +{NUMBER} req/s", rf"^  static +{NUMBER} req/s",
              rf"^  gunicorn alone +{NUMBER} req/s", rf"^proxied ÷ static: {NUMBER}")


@pytest.mark.slow
def test_checks_benchmark_runs():
    output = run_bench("bench/checks.py", "--smoke")
    has_lines(output, rf"^broken sentences flagged: {NUMBER} of \d+", rf"^good sentences flagged: +{NUMBER} of \d+",
              r"^names +\d+", r"^flagged per kind of sentence:", r"^  reviewed corpus \(en\) +\d+/\d+")


@pytest.mark.slow
def test_search_benchmark_runs():
    output = run_bench("bench/search.py", "--smoke")
    has_lines(output, r"^\| page \| query \| before \| after \|", r"^\| /ru/ \| `закон` \| \d+ \| \d+ \|",
              r"^\| /kk/ \| `депутаттар` \| \d+ \| \d+ \|",
              rf"^Writing a release with its two translations .*: {NUMBER} ms")


def lighthouse() -> str | None:
    """The Lighthouse program bench/lighthouse.sh would run (LIGHTHOUSE, else on the PATH), if installed."""
    program = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
    return program if program and Path(program).exists() else None


@pytest.mark.slow
def test_lighthouse_benchmark_runs(tmp_path):
    if lighthouse() is None:
        pytest.skip("bench/lighthouse.sh needs Lighthouse from npm, not installed here: npm install --prefix "
                    "/work/lh lighthouse@12, then LIGHTHOUSE=/work/lh/node_modules/.bin/lighthouse")
    web = Web(make_instance(tmp_path / "instance", models=False), tmp_path / "web.log")
    try:
        result = subprocess.run(["sh", str(BENCH / "lighthouse.sh"), "--smoke", f"http://127.0.0.1:{web.port}"],
                                env={**os.environ, "LIGHTHOUSE": lighthouse(), "OUT": str(tmp_path / "reports")},
                                capture_output=True, text=True, timeout=HANG_SECONDS)
    finally:
        web.stop()
    assert result.returncode == 0, result.stderr[-3000:]
    has_lines(result.stdout, r"^/ru/ performance=\d+ accessibility=\d+ best-practices=\d+ seo=\d+")
