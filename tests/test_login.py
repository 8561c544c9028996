"""Staff sessions that hold: login limits per client and per user name, no user enumeration by timing,
sessions that end, admin pages no cache keeps, demo data only when asked, short glossary imports."""

import io
import signal
import subprocess
import sys
from datetime import timedelta

from feedsvc.storage import connect
from feedsvc.web import create_app
from feedsvc.web import users
from tests.helpers import PASSWORD
from tests.helpers import csrf_token
from tests.helpers import migrated
from tests.helpers import wait_until


def limited_app(tmp_path, **config):
    """An app with rate limits on (the other tests switch them off), behind one trusted proxy."""
    app = create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "l.db"),
                      "UPLOAD_FOLDER": str(tmp_path / "up"), "RATELIMIT_ENABLED": True, "PROXY_FIX": 1, **config}))
    db = connect(app.config["DATABASE"])
    for name in ("editor", "second"):
        users.create_user(db, name, PASSWORD)
    db.close()
    return app


def attempt(client, token, username, password, address):
    """One login POST from ``address`` (as the proxy reports it); the response."""
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token},
                       headers={"X-Forwarded-For": address})


def test_only_failed_logins_count(tmp_path):
    app = limited_app(tmp_path, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    token = csrf_token(client, "/admin/login")
    codes = [attempt(client, token, "editor", PASSWORD, "203.0.113.7").status_code for _ in range(6)]
    assert codes == [302] * 6  # an editor logging in again and again is never locked out


def test_guesses_at_one_user_name_are_limited_whatever_the_address(tmp_path):
    app = limited_app(tmp_path, LOGIN_USER_RATE_LIMIT="3 per hour")
    client = app.test_client()
    token = csrf_token(client, "/admin/login")
    codes = [attempt(client, token, "Editor ", "guess", f"198.51.100.{n}").status_code for n in range(1, 5)]
    assert codes == [200, 200, 200, 429]  # rotating X-Forwarded-For does not help: the name is counted
    locked = attempt(client, token, "editor", "guess", "198.51.100.99")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    other = attempt(client, token, "second", PASSWORD, "198.51.100.50")
    assert other.status_code == 302  # a locked account does not block the others


def test_an_unknown_user_costs_a_password_check_like_a_wrong_password(tmp_path, monkeypatch):
    app = limited_app(tmp_path)
    checked = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda stored, given: checked.append(stored) or real(stored,
                                                                                                        given))
    db = connect(app.config["DATABASE"])
    assert users.authenticate(db, "editor", "wrong") is None
    assert users.authenticate(db, "nobody", "wrong") is None
    assert users.authenticate(db, "editor", PASSWORD) is not None
    assert len(checked) == 3 and checked[1].startswith(checked[0].split("$")[0])  # the same kind of hash
    db.close()


def test_admin_responses_are_never_stored(logged_in):
    for path in ("/admin/", "/admin/glossary/export.csv", "/admin/models/"):
        assert logged_in.get(path).headers["Cache-Control"] == "no-store", path
    logged_in.post("/admin/logout", data={"csrf_token": csrf_token(logged_in, "/admin/")})
    assert logged_in.get("/admin/login").headers["Cache-Control"] == "no-store"


def test_sessions_end_after_the_idle_time_and_carry_a_lifetime(app, logged_in, set_clock):
    response = logged_in.get("/admin/")
    assert response.status_code == 200
    set_clock.advance(seconds=app.config["SESSION_IDLE_SECONDS"] - 1)
    assert logged_in.get("/admin/").status_code == 200  # still in use: the idle clock starts again
    set_clock.advance(seconds=app.config["SESSION_IDLE_SECONDS"] + 1)
    assert logged_in.get("/admin/").status_code == 302  # idle too long: logged out
    assert app.permanent_session_lifetime == timedelta(seconds=app.config["SESSION_LIFETIME_SECONDS"])


def test_an_active_session_ends_at_the_absolute_lifetime_from_its_login(app, set_clock, logged_in):
    lifetime, idle = app.config["SESSION_LIFETIME_SECONDS"], app.config["SESSION_IDLE_SECONDS"]
    for _ in range(lifetime // (idle // 2)):  # a request every half idle time: never idle, for 12 hours
        assert logged_in.get("/admin/").status_code == 200
        set_clock.advance(seconds=idle // 2)
    assert logged_in.get("/admin/").status_code == 200  # 12 h to the second since logging in: still on
    set_clock.advance(seconds=1)
    assert logged_in.get("/admin/").status_code == 302  # past 12 h since logging in, however active
    assert logged_in.get("/admin/").status_code == 302  # and the session is gone, not only refused once


def test_a_session_without_a_stored_login_time_ends(app, set_clock, logged_in):
    with logged_in.session_transaction() as session:
        del session["login_at"]  # a cookie from before the login time was stored
    assert logged_in.get("/admin/").status_code == 302


def test_a_glossary_too_large_for_a_request_is_sent_to_the_command_line(app, logged_in, db):
    app.config["GLOSSARY_WEB_IMPORT_ROWS"] = 3
    rows = "ru,en,kk\n" + "".join(f"термин{n},term{n},термин{n}\n" for n in range(5))
    token = csrf_token(logged_in, "/admin/glossary/")
    response = logged_in.post("/admin/glossary/import", data={"csrf_token": token,
                              "file": (io.BytesIO(rows.encode()), "big.csv")}, follow_redirects=True)
    assert "feedsvc glossary import FILE.csv" in response.get_data(as_text=True)
    assert db.table("glossary_terms").count == 0


def test_serve_loads_no_demo_data_unless_asked_and_says_how_to_make_an_admin(tmp_path):
    from tests.helpers import free_port
    from tests.helpers import service_env

    app = create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "s.db"),
                      "UPLOAD_FOLDER": str(tmp_path / "up"), "MODELS_DIR": str(tmp_path / "models"),
                      "ARGOS_HOME": str(tmp_path / "argos")}))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen([sys.executable, "-m", "feedsvc.commands", "serve", "--port", str(free_port()),
                                  "--workers", "1"], env=service_env(app), cwd=tmp_path, stdout=out,
                                 stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "feedsvc is serving" in log.read_text(), "serve did not start")
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)
    assert "No admin yet: create one with `feedsvc users create NAME`" in log.read_text()
    db = connect(app.config["DATABASE"])
    assert (db.table("releases").count, db.table("users").count) == (0, 0)
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())
    db.close()
