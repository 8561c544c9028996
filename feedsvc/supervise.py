"""`feedsvc serve`'s two processes, gunicorn and the translation worker: started, watched, restarted and stopped
together; and the worker's background threads (WebSub pings, feed sources), each a Periodic round.

No Flask here: the serve command builds the two command lines and hands them over.
"""

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlite_utils import Database

from feedsvc import clock
from feedsvc.errors import FeedsvcError

# The longest wait before starting a process again; a process that ran longer than this counts as healthy.
MAX_DELAY_SECONDS = 60.0

log = logging.getLogger(__name__)


class Periodic(threading.Thread):
    """A background thread of the worker: ``step(db)`` every ``interval`` seconds until stopped.

    It opens its own connection (SQLite connections stay in one thread); a failed round (a locked or briefly
    unavailable database) is logged and tried again next round: the thread must outlive it.
    """

    def __init__(self, name: str, connect: Callable[[], Database], step: Callable[[Database], object],
                 interval: float):
        """Prepare (not start) the thread."""
        super().__init__(name=name, daemon=True)
        self.connect, self.step, self.interval = connect, step, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Run rounds until stop()."""
        db = self.connect()
        try:
            while not self.stopped.is_set():
                try:
                    self.step(db)
                except Exception:  # the thread must outlive a locked or briefly unavailable database
                    log.exception("%s: a round failed", self.name)
                self.stopped.wait(self.interval)
        finally:
            db.close()

    def stop(self) -> None:
        """Ask the thread to end after its current round, and wait for it."""
        self.stopped.set()
        self.join()


class PortInUse(FeedsvcError, OSError):
    """Something already listens on the address the web server should take."""


def check_port(host: str, port: int) -> None:
    """Refuse to start when the address is taken: gunicorn would give up after we had said "serving"."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"{host}:{port} is already in use ({exc.strerror}); stop what runs there "
                            "or choose another --port") from exc


@dataclass
class Child:
    """One supervised command: its running process (None while a restart is due) and its run of failures."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0
    next_start: float = 0.0

    def start(self, env: dict) -> subprocess.Popen:
        """Start the command in a process group of its own (so what it leaves behind can be found and stopped)."""
        self.process = subprocess.Popen(self.command, env=env, start_new_session=True)
        self.started = time.monotonic()
        return self.process

    def ended(self, max_delay: float) -> float:
        """After the process exited: clear what it left behind and return the delay before the next start.

        The delay doubles (1, 2, 4… s, clock.backoff) while the process keeps dying soon after starting,
        up to ``max_delay``; a process that ran longer than that starts again after 1 s.
        """
        assert self.process is not None
        # gunicorn's workers outlive a master killed with -9 and keep its port: stop them before a new master binds.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.failures = 1 if time.monotonic() - self.started > max_delay else self.failures + 1
        delay = clock.backoff(1.0, self.failures - 1, cap=max_delay)
        self.process, self.next_start = None, time.monotonic() + delay
        return delay


def stop(processes: list[subprocess.Popen], timeout: float = 30) -> None:
    """Ask each running process to stop (SIGTERM), then kill those still running after ``timeout``."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(web_cmd: list[str], worker_cmd: list[str], env: dict, *, echo: Callable[[str], None] = print,
        poll: float = 0.5, max_delay: float = MAX_DELAY_SECONDS) -> int:
    """Run both until we are told to stop (SIGTERM, Ctrl+C); returns the exit code (0).

    A process that dies (gunicorn's master killed with -9, a crashed worker) is started again after a
    delay that doubles while it keeps dying (see Child.ended): pages come back by themselves, translations
    resume, and the jobs a dead worker held come back with their leases.
    """
    stopping: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    children = [Child("web server", web_cmd), Child("translation worker", worker_cmd)]
    for child in children:
        child.start(env)
    try:
        while not stopping:
            for child in children:
                if child.process is None and time.monotonic() >= child.next_start:
                    child.start(env)
                elif child.process is not None and child.process.poll() is not None:
                    code = child.process.returncode
                    delay = child.ended(max_delay)
                    echo(f"The {child.name} exited (code {code}); starting it again in {delay:.0f} s.")
            time.sleep(poll)
    except KeyboardInterrupt:
        stopping.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop([child.process for child in children if child.process is not None])
    return 0
