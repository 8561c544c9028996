"""`feedsvc serve`'s two processes, gunicorn and the translation worker: started, watched and stopped together;
and the worker's background threads (WebSub pings, feed sources), each a Periodic round.

No Flask here: the serve command builds the two command lines and hands them over.
"""

import logging
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable

from sqlite_utils import Database

from feedsvc.errors import FeedsvcError

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
        poll: float = 0.5, max_delay: float = 60.0) -> int:
    """Run both until the web server ends or we are told to stop (SIGTERM, Ctrl+C); returns an exit code.

    A worker that dies is started again after a delay that doubles while it keeps dying (up to
    ``max_delay``): translations resume by themselves, and the jobs it held come back with their leases.
    A web server that ends on its own ends the service with its exit code.
    """
    stopping: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    web = subprocess.Popen(web_cmd, env=env)
    first = subprocess.Popen(worker_cmd, env=env)
    worker: subprocess.Popen | None = first  # None while a restart is due
    started, failures, next_start = time.monotonic(), 0, 0.0
    processes = [web, first]
    try:
        while not stopping and web.poll() is None:
            if worker is None and time.monotonic() >= next_start:
                worker = subprocess.Popen(worker_cmd, env=env)
                started = time.monotonic()
                processes.append(worker)
            elif worker is not None and worker.poll() is not None:
                failures = 1 if time.monotonic() - started > max_delay else failures + 1
                delay = min(2.0 ** (failures - 1), max_delay)
                echo(f"The translation worker exited (code {worker.returncode}); starting it again in {delay:.0f} s.")
                worker, next_start = None, time.monotonic() + delay
            time.sleep(poll)
    except KeyboardInterrupt:
        stopping.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop(processes)
    if stopping:
        return 0
    echo(f"The web server exited (code {web.returncode}); the translation worker was stopped too.")
    return web.returncode or 1
