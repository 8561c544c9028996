"""Feed polls through the production front (deploy/nginx/feedsvc.conf → gunicorn) against nginx serving a file.

Starts a demo instance under gunicorn (2 sync workers, PROXY_FIX=1) behind nginx with the project's own
configuration (the same set-up as tests/test_deploy.py), plus a second nginx server that serves the very bytes
of ``/ru/feed.atom`` as a static file. wrk polls each in turn (rounds interleaved so drift hits both alike) and
the script prints requests/s, latency and the ratio proxied ÷ static (target ≥ 0.8: within its max-age a feed
poll is answered from nginx's cache). gunicorn alone is measured too, for reference. Only 127.0.0.1 is loaded.

Needs Debian's nginx and wrk (``apt-get install nginx wrk``). From the project root:

    .venv/bin/python bench/proxy.py            # 3 rounds of 10 s per side
    .venv/bin/python bench/proxy.py --quick    # 1 round of 3 s
    .venv/bin/python bench/proxy.py --smoke    # 1 round of 1 s, 4 connections (tests/test_bench.py)
"""

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.serve import wrk  # noqa: E402
from tests.test_deploy import Gunicorn  # noqa: E402
from tests.test_deploy import Proxy  # noqa: E402
from tests.test_reliability import free_port  # noqa: E402
from tests.test_reliability import make_instance  # noqa: E402
from tests.test_reliability import request  # noqa: E402

FEED = "/ru/feed.atom"
STATIC_SERVER = """server {{
        listen 127.0.0.1:{port};
        location = /feed.atom {{
            root {root};
            default_type application/atom+xml;
        }}
    }}"""


def main() -> int:
    """Parse the options, check the tools, run the rounds in a temporary folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short round")
    parser.add_argument("--smoke", action="store_true", help="seconds: proves the script runs; numbers mean nothing")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool, path="/usr/sbin:/usr/bin") is None:
            raise SystemExit(f"{tool} is missing: apt-get install -y {tool}")
    with tempfile.TemporaryDirectory(prefix="feedsvc-proxy-bench-") as work:
        if args.smoke:
            return run(Path(work), rounds=1, seconds=1, connections=4)
        return run(Path(work), rounds=1 if args.quick else 3, seconds=3 if args.quick else 10,
                   connections=args.connections)


def run(work: Path, rounds: int, seconds: int, connections: int) -> int:
    """Serve the instance, copy the feed's bytes for the static side, load both in turn and print the results."""
    app = make_instance(work / "instance", models=False)
    web = Gunicorn(app, work / "gunicorn.log")
    proxy = None
    try:
        status, _, feed = request(web.port, "GET", FEED)
        assert status == 200
        (work / "static").mkdir()
        (work / "static" / "feed.atom").write_bytes(feed)
        static_port = free_port()
        proxy = Proxy(work / "nginx", f"127.0.0.1:{web.port}", Path(app.config["UPLOAD_FOLDER"]),
                      extra=STATIC_SERVER.format(port=static_port, root=work / "static"))
        sides = {"proxied": f"http://127.0.0.1:{proxy.port}{FEED}", "static": f"http://127.0.0.1:{static_port}/feed.atom",
                 "gunicorn alone": f"http://127.0.0.1:{web.port}{FEED}"}
        results = {side: [] for side in sides}
        for number in range(rounds):
            for side, url in sides.items():
                results[side].append(wrk(url, seconds, connections))
                print(f"round {number + 1} {side}: {results[side][-1]['rps']:,.0f} req/s", flush=True)
        report(results, len(feed), connections)
    finally:
        if proxy:
            proxy.stop()
        web.stop()
    return 0


def report(results: dict[str, list[dict]], size: int, connections: int) -> None:
    """Medians per side and the ratio the target is about."""
    print(f"\n{size:,}-byte feed, {connections} connections, medians of {len(results['static'])} round(s):")
    for side, runs in results.items():
        rps = statistics.median(r["rps"] for r in runs)
        p50 = statistics.median(r["p50"] for r in runs)
        p99 = statistics.median(r["p99"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        print(f"  {side:15} {rps:10,.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   errors {errors}")
    # Each round's two sides ran back to back, so their ratio cancels most of the machine's drift.
    ratios = [p["rps"] / s["rps"] for p, s in zip(results["proxied"], results["static"], strict=True)]
    print(f"proxied ÷ static: {statistics.median(ratios):.2f} (per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
          "target ≥ 0.8)")


if __name__ == "__main__":
    sys.exit(main())
