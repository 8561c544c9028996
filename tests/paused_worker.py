"""`feedsvc worker` that pauses between translating a batch and storing it: the kill tests' window.

``python -m tests.paused_worker PAUSE [worker options]``, on the instance the FEEDSVC_* variables name. PAUSE is
``hold``: block before storing until stdin is closed — the test keeps it open and kills the worker there, so the
kill lands mid-job however fast or slow the machine is (an event, not a guessed duration); or a number of seconds
that only widens the window a randomly timed kill may land in. The pause is a worker hook
(translation.worker.Hooks) the test hands in, never a setting of the real worker.
"""

import sys
import time

from flask.cli import FlaskGroup

from feedsvc.commands import make_app
from feedsvc.translation.worker import Hooks

HOLD = "hold"


def before_store(pause: str):
    """The hook: wait for stdin's end (``hold``), or ``pause`` seconds."""
    if pause == HOLD:
        return lambda jobs: sys.stdin.read()
    seconds = float(pause)
    return lambda jobs: time.sleep(seconds)


def paused_app(pause: str):
    """The command line's app, with a worker hook that pauses before each batch is stored."""
    app = make_app()
    app.extensions["feedsvc"]["worker_hooks"] = Hooks(before_store=before_store(pause))
    return app


if __name__ == "__main__":
    FlaskGroup(create_app=lambda: paused_app(sys.argv[1]))(["worker", *sys.argv[2:]])
