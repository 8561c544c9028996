"""`feedsvc worker` that pauses between translating a batch and storing it: the kill tests' window.

``python -m tests.paused_worker SECONDS [worker options]``, on the instance the FEEDSVC_* variables name. The pause
is a worker hook (translation.worker.Hooks) the test hands in, never a setting of the real worker.
"""

import sys
import time

from flask.cli import FlaskGroup

from feedsvc.commands import make_app
from feedsvc.translation.worker import Hooks


def paused_app(seconds: float):
    """The command line's app, with a worker hook that waits ``seconds`` before each batch is stored."""
    app = make_app()
    app.extensions["feedsvc"]["worker_hooks"] = Hooks(before_store=lambda jobs: time.sleep(seconds))
    return app


if __name__ == "__main__":
    pause = float(sys.argv[1])
    FlaskGroup(create_app=lambda: paused_app(pause))(["worker", *sys.argv[2:]])
