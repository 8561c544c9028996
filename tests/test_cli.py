"""The command line: demo set-up, import, users."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedsvc import releases
from feedsvc.config import ConfigError
from feedsvc.web import create_app
from feedsvc.web import users
from tests.helpers import migrated


def test_demo_loads_releases_glossary_models_and_prints_admin_password(app, runner, db):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Loaded 4 demo releases" in result.output
    password = result.output.split("password: ")[1].split()[0]
    assert users.authenticate(db, "admin", password) is not None
    assert releases.count_published(db) == 4
    assert db.execute("select count(*) from glossary_terms").fetchone()[0] >= 5
    assert "Installed demo model" in result.output
    assert db.execute("select count(*) from jobs where status = 'queued'").fetchone()[0] == 8
    again = runner.invoke(args=["demo"])
    assert "nothing loaded" in again.output and releases.count_all(db) == 4
    # The password note sits beside the database it belongs to.
    note = Path(app.config["DATABASE"]).parent / "demo-admin.txt"
    assert f"password: {password}" in note.read_text() and f"(also in {note})" in result.output


def test_demo_never_brings_back_an_admin_someone_removed(app, runner, db):
    users.create_user(db, "anna", "long enough pw")
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0 and "Demo admin" not in result.output
    assert users.find_user(db, "admin") is None


def test_demo_releases_have_photos_with_credit(app, runner, db, client):
    runner.invoke(args=["demo"])
    with_photo = list(db.query("select * from releases where photo is not null"))
    assert with_photo and all(r["photo_credit"].startswith("Фото") for r in with_photo)
    with client.get(f"/media/{with_photo[0]['photo']}") as response:
        assert response.status_code == 200 and response.mimetype == "image/jpeg"


def test_import_text_files(runner, db, tmp_path):
    first = tmp_path / "a.txt"
    first.write_text("Заголовок первого релиза\n\nПервый абзац.\n\nВторой абзац.\n", encoding="utf-8")
    second = tmp_path / "b.txt"
    second.write_text("Второй релиз\nТекст второго релиза.", encoding="utf-8")
    result = runner.invoke(args=["import", str(first), str(second)])
    assert result.exit_code == 0, result.output
    stored = {r["title"]: r for r in db.query("select * from releases")}
    assert stored["Заголовок первого релиза"]["body"] == "Первый абзац.\n\nВторой абзац."
    assert stored["Второй релиз"]["status"] == "published"


def test_import_is_all_or_nothing_with_a_clear_error(runner, db, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Заголовок\nТекст.", encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes("Заголовок\nТекст.".encode("cp1251"))
    result = runner.invoke(args=["import", str(good), str(bad)])
    assert result.exit_code == 1
    assert "not UTF-8" in result.output and "nothing was imported" in result.output
    assert releases.count_all(db) == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("Только заголовок\n", encoding="utf-8")
    assert "no body" in runner.invoke(args=["import", str(empty)]).output
    controls = tmp_path / "controls.txt"
    controls.write_text("\x01\x02\nТекст.", encoding="utf-8")  # nothing is left of this title once cleaned
    assert "the title) is empty" in runner.invoke(args=["import", str(controls)]).output
    long_title = tmp_path / "long.txt"
    long_title.write_text("З" * 301 + "\nТекст.", encoding="utf-8")  # the form's limit applies here too
    assert "at most 300" in runner.invoke(args=["import", str(long_title)]).output
    assert releases.count_all(db) == 0


def test_glossary_import_of_a_non_utf8_file_is_one_clear_line(runner, db, tmp_path):
    excel = tmp_path / "glossary.csv"
    excel.write_bytes("ru,en,kk\nСенат,Senate,Сенат\n".encode("cp1251"))
    result = runner.invoke(args=["glossary", "import", str(excel)])
    assert result.exit_code == 1 and "not UTF-8" in result.output and "Traceback" not in result.output
    assert list(db.query("select * from glossary_terms")) == []


def test_users_create_refuses_duplicates_and_short_passwords(runner, db):
    result = runner.invoke(args=["users", "create", "anna"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    assert users.authenticate(db, "anna", "long enough pw")
    again = runner.invoke(args=["users", "create", "anna"], input="long enough pw\nlong enough pw\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(args=["users", "create", "bob"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 8" in short.output


def test_users_take_the_password_from_stdin_never_from_the_command_line(app, db, tmp_path):
    env = {**os.environ, "FEEDSVC_DATABASE": app.config["DATABASE"], "FEEDSVC_UPLOAD_FOLDER": str(tmp_path / "up")}
    command = [sys.executable, "-m", "feedsvc.commands", "users"]
    created = subprocess.run([*command, "create", "anna", "--password-stdin"], input="from a pipe 123\n", env=env,
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    assert users.authenticate(db, "anna", "from a pipe 123")
    changed = subprocess.run([*command, "password", "anna", "--password-stdin"], input="changed by pipe\n", env=env,
                             capture_output=True, text=True, timeout=60)
    assert changed.returncode == 0 and users.authenticate(db, "anna", "changed by pipe")
    empty = subprocess.run([*command, "create", "bob", "--password-stdin"], input="", env=env, capture_output=True,
                           text=True, timeout=60)
    assert empty.returncode == 1 and "at least 8" in empty.stderr and "Traceback" not in empty.stderr
    visible = subprocess.run([*command, "create", "bob", "--password", "on the command line"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert visible.returncode == 2 and "No such option '--password'" in visible.stderr
    assert [row["username"] for row in db.query("select username from users")] == ["anna"]


def test_settings_get_their_defaults_types_or_a_clear_error(tmp_path):
    base = {"TESTING": True, "DATABASE": str(tmp_path / "f.db"), "UPLOAD_FOLDER": str(tmp_path / "up")}
    app = create_app(migrated({**base, "SECRET_KEY": 20261126, "SESSION_COOKIE_SECURE": "False",
                               "WORKER_LEASE_SECONDS": "60", "WORKER_POLL_SECONDS": 1}))
    assert app.config["SECRET_KEY"] == "20261126" and app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["WORKER_LEASE_SECONDS"] == 60 and app.config["WORKER_POLL_SECONDS"] == 1.0
    for bad in ({"WORKER_LEASE_SECONDS": "300s"}, {"SESSION_COOKIE_SECURE": "maybe"}, {"TIMEZONE": "Almaty"}):
        with pytest.raises(ConfigError):
            create_app({**base, **bad})


def test_a_bad_environment_setting_is_one_line_not_a_traceback(tmp_path):
    env = {**os.environ, "FEEDSVC_DATABASE": str(tmp_path / "f.db"), "FEEDSVC_UPLOAD_FOLDER": str(tmp_path / "up"),
           "FEEDSVC_TIMEZONE": "Almaty"}
    result = subprocess.run([sys.executable, "-m", "feedsvc.commands", "models", "list"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bad configuration: TIMEZONE = 'Almaty' is not a time zone name" in result.stderr
