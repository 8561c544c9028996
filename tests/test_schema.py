"""The schema changes in one step: `feedsvc init-db` (or `serve`, which runs it first) migrates; web processes and
workers started on an older schema say so in one line and exit, all at once, without touching it."""

import subprocess
import sys

import pytest

from feedsvc.migrations import SchemaOutdated
from feedsvc.migrations import migrations
from feedsvc.storage import connect
from feedsvc.web import create_app
from tests.helpers import HANG_SECONDS
from tests.helpers import free_port
from tests.helpers import request
from tests.helpers import wait_until

OUTDATED = "the database schema is older than this code: run `feedsvc init-db`"


def old_database(path: str) -> list[str]:
    """A database one migration behind this code (as the last release left it); returns the pending names."""
    db = connect(path)
    try:
        last = migrations.pending(db)[-1].name
        migrations.apply(db, stop_before=last)
        return [migration.name for migration in migrations.pending(db)]
    finally:
        db.close()


def env_for(tmp_path) -> dict:
    """The environment of `feedsvc` processes on the instance in ``tmp_path``."""
    import os

    return {**os.environ, "FEEDSVC_DATABASE": str(tmp_path / "feedsvc.db"), "FEEDSVC_SECRET_KEY": "schema-test",
            "FEEDSVC_UPLOAD_FOLDER": str(tmp_path / "uploads"), "FEEDSVC_MODELS_DIR": str(tmp_path / "models"),
            "FEEDSVC_ARGOS_HOME": str(tmp_path / "argos"), "FEEDSVC_WORKER_POLL_SECONDS": "0.2"}


def gunicorn(port: int) -> list[str]:
    """gunicorn as `feedsvc serve` and the README's unit start it."""
    return [sys.executable, "-m", "gunicorn", "--preload", "--workers", "2", "--bind", f"127.0.0.1:{port}",
            "feedsvc.web:create_app()"]


WORKER = [sys.executable, "-m", "feedsvc.commands", "worker"]


def test_create_app_refuses_an_old_schema_and_leaves_it_as_it_is(tmp_path):
    database = str(tmp_path / "feedsvc.db")
    pending = old_database(database)
    with pytest.raises(SchemaOutdated, match="run `feedsvc init-db`") as refused:
        create_app({"TESTING": True, "DATABASE": database, "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    assert refused.value.pending == pending
    assert [m.name for m in migrations.pending(connect(database))] == pending


def test_create_app_gives_a_new_database_its_schema(tmp_path):
    database = str(tmp_path / "feedsvc.db")
    app = create_app({"TESTING": True, "DATABASE": database, "UPLOAD_FOLDER": str(tmp_path / "uploads"),
                      "SECRET_KEY": "test"})
    assert migrations.pending(connect(database)) == []
    assert app.test_client().get("/ru/").status_code == 200


def test_processes_started_at_once_on_an_old_database_exit_then_start_after_one_init_db(tmp_path):
    env = env_for(tmp_path)
    pending = old_database(env["FEEDSVC_DATABASE"])
    assert pending
    commands = [gunicorn(free_port()), gunicorn(free_port()), WORKER, WORKER]
    started = [subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for command in commands]
    for process in started:
        output, _ = process.communicate(timeout=HANG_SECONDS)
        assert process.returncode != 0, output
        assert OUTDATED in output and "Traceback" not in output, output
        assert len([line for line in output.splitlines() if line.strip()]) == 1, output
    db = connect(env["FEEDSVC_DATABASE"])
    assert [m.name for m in migrations.pending(db)] == pending  # nobody migrated on its own

    # One upgrade, started twice at once as the web and worker units' ExecStartPre do: one waits for the other.
    upgrades = [subprocess.Popen([sys.executable, "-m", "feedsvc.commands", "init-db"], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    for upgrade in upgrades:
        output, _ = upgrade.communicate(timeout=HANG_SECONDS)
        assert upgrade.returncode == 0 and "Database ready" in output, output
    assert migrations.pending(db) == []

    port = free_port()
    web = subprocess.Popen(gunicorn(port), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    try:
        worker = subprocess.run([*WORKER, "--once"], env=env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=HANG_SECONDS)
        assert worker.returncode == 0, worker.stderr
        assert "0 job(s) handled" in worker.stdout

        def answers() -> bool:
            """gunicorn serves the Russian index (and has not exited)."""
            assert web.poll() is None, web.stdout.read()
            try:
                return request(port, "GET", "/ru/")[0] == 200
            except OSError:
                return False

        wait_until(answers, "gunicorn did not start after init-db")
    finally:
        web.terminate()
        output, _ = web.communicate(timeout=HANG_SECONDS)
    assert "Traceback" not in output and OUTDATED not in output, output
    db.close()
