"""The command line: demo set-up, import, users."""

import shutil
from pathlib import Path

from feedsvc import releases
from feedsvc import users
from tests.conftest import ROOT


def test_demo_loads_releases_glossary_models_and_prints_admin_password(app, runner, db):
    shutil.copytree(ROOT / "models" / "demo", Path(app.config["MODELS_DIR"]) / "demo")
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


def test_users_create_refuses_duplicates_and_short_passwords(runner, db):
    result = runner.invoke(args=["users", "create", "anna"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    assert users.authenticate(db, "anna", "long enough pw")
    again = runner.invoke(args=["users", "create", "anna"], input="long enough pw\nlong enough pw\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(args=["users", "create", "bob"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 8" in short.output
