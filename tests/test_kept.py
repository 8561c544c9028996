"""Nothing an editor typed is lost (web.kept): a form sent after its session ended, with a stale CSRF token, or
while another writer holds the database, comes back with the text, a fresh token and the reason; sent again
(after logging in, after the lock is gone), it is saved. Real SQLite, the real test client, the settable clock."""

import re
import sqlite3
from html import unescape

import lxml.html
import pytest

import feedsvc.storage
from feedsvc import releases
from feedsvc.translation import glossary
from tests.helpers import PASSWORD
from tests.helpers import make_release

TITLE = "Сенат одобрил закон «О цифровых активах»"
BODY = "Депутаты Сената рассмотрели закон.\n\nВторой абзац, тел. 74-72-27, долго набранный редактором."
REASON = "Опубликован по ошибке: текст не согласован с пресс-службой"
KK_TITLE = "Сенат «Цифрлық активтер туралы» заңды мақұлдады"
KK_BODY = "Депутаттар заңды қарады.\n\nЕкінші абзац, редактор ұзақ терген."
TERM = "цифров* актив*"


def token_in(html: str) -> str:
    """The CSRF token of the (first) form on a page."""
    match = re.search(r'name="(?:\w+-)?csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="(?:\w+-)?csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sent_again(html: str, form: "Form") -> dict:
    """What the browser sends when the editor presses the button again: the fields of the page's form that posts
    to the form's URL (as the page now holds them), and the button."""
    page = lxml.html.fromstring(html)
    found = [f for f in page.forms if (f.get("action") or form.page) == form.action]
    assert found, f"no form posting to {form.action}"
    buttons = {name: value for name, value in form.data.items() if name.endswith(("save", "save_draft", "submit"))}
    return {**dict(found[0].form_values()), **buttons}


def flashes(html: str) -> list[str]:
    """The flash messages on a page."""
    return [unescape(m) for m in re.findall(r'<p class="flash error" role="status">([^<]*)</p>', html)]


class Form:
    """One of the editors' forms: where it is shown, where it posts, what an editor typed, how to see it saved."""

    def __init__(self, name, page, action, data, typed, saved):
        self.name, self.page, self.action, self.data, self.typed, self.saved = name, page, action, data, typed, saved


def forms(db) -> list[Form]:
    """The release form (new and edit), the review save, glossary add and withdraw with a reason."""
    release = make_release(db, title="Старый заголовок", body="Старый текст.")
    rid = release["id"]
    translation = lambda: releases.translations_of(db, rid).get("kk", {})  # noqa: E731
    return [
        Form("new release", "/admin/releases/new", "/admin/releases/new",
             {"title": TITLE, "body": BODY, "save_draft": "1"}, [TITLE, "долго набранный редактором"],
             lambda: any(r["title"] == TITLE for r in db.query("select title from releases"))),
        Form("edit release", f"/admin/releases/{rid}/edit", f"/admin/releases/{rid}/edit",
             {"title": TITLE, "body": BODY, "version": str(release["version"]), "save_draft": "1"},
             [TITLE, "долго набранный редактором"], lambda: releases.get_release(db, rid)["title"] == TITLE),
        Form("review save", f"/admin/releases/{rid}/review", f"/admin/releases/{rid}/review/kk",
             {"kk-title": KK_TITLE, "kk-body": KK_BODY, "kk-version": "1", "kk-source_revision": "1",
              "kk-save": "1"}, [KK_TITLE, "редактор ұзақ терген"], lambda: translation().get("title") == KK_TITLE),
        Form("glossary add", "/admin/glossary/", "/admin/glossary/",
             {"ru": TERM, "en": "digital assets", "kk": "цифрлық активтер", "submit": "1"}, [TERM, "цифрлық активтер"],
             lambda: any(term.source == TERM for term in glossary.load_terms(db))),
        Form("withdraw", f"/admin/releases/{rid}/edit", f"/admin/releases/{rid}/withdrawn",
             {"reason": REASON, "confirm": "1"}, [REASON],
             lambda: releases.get_release(db, rid)["withdrawal_reason"] == REASON),
    ]


@pytest.fixture(params=["new release", "edit release", "review save", "glossary add", "withdraw"])
def form(request, db):
    """Each form in turn."""
    return next(f for f in forms(db) if f.name == request.param)


def log_in(client) -> None:
    """Log in through the login form (as an editor does in the other tab)."""
    html = client.get("/admin/login").get_data(as_text=True)
    response = client.post("/admin/login", data={"username": "editor", "password": PASSWORD,
                                                 "csrf_token": token_in(html)})
    assert response.status_code == 302


def assert_kept(response, form: Form, status: int) -> str:
    """The page came back with the status, everything typed and a form to send it again; returns the page."""
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:400]
    for text in form.typed:
        assert text in unescape(html), text
    assert not form.saved()
    return html


def test_a_form_sent_after_the_session_ended_comes_back_and_is_saved_after_logging_in(
        app, set_clock, logged_in, form):
    token = token_in(logged_in.get(form.page).get_data(as_text=True))
    set_clock.advance(seconds=app.config["SESSION_IDLE_SECONDS"] + 1)  # the editor typed for over an hour
    response = logged_in.post(form.action, data={**form.data, "csrf_token": token})
    html = assert_kept(response, form, 401)
    assert any("session has ended" in message for message in flashes(html))
    login = re.search(r'<a class="relogin" href="([^"]+)" target="_blank"', html)
    assert login and unescape(login.group(1)).startswith("/admin/login?next=")
    assert "Старый текст" not in html  # a logged-out page shows what was posted, nothing stored
    fresh = token_in(html)
    assert fresh != token

    log_in(logged_in)  # in the new tab; this tab still holds the text and the fresh token
    response = logged_in.post(form.action, data=sent_again(html, form))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    assert form.saved()


def test_a_session_past_its_absolute_lifetime_keeps_the_text_too(app, set_clock, logged_in, db):
    form = forms(db)[0]
    token = token_in(logged_in.get(form.page).get_data(as_text=True))
    for _ in range(app.config["SESSION_LIFETIME_SECONDS"] // 1800):
        assert logged_in.get("/admin/").status_code == 200
        set_clock.advance(seconds=1800)
    set_clock.advance(seconds=1)
    assert_kept(logged_in.post(form.action, data={**form.data, "csrf_token": token}), form, 401)


def test_a_form_with_a_stale_token_comes_back_with_a_fresh_one_and_is_saved_when_sent_again(logged_in, form):
    page = logged_in.get(form.page).get_data(as_text=True)
    with logged_in.session_transaction() as session:
        session["csrf_token"] = "0" * 40  # the session's secret changed since the form was opened (a new session)
    response = logged_in.post(form.action, data={**form.data, "csrf_token": token_in(page)})
    html = assert_kept(response, form, 400)
    assert any("session that has ended" in message for message in flashes(html))
    assert "Log in again" not in html  # still logged in: the full page, no login needed
    response = logged_in.post(form.action, data=sent_again(html, form))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    assert form.saved()


def test_a_form_without_a_token_comes_back_too(logged_in, db):
    form = forms(db)[0]
    assert_kept(logged_in.post(form.action, data=form.data), form, 400)


@pytest.fixture
def held_database(app, monkeypatch):
    """Another connection holding the write lock (BEGIN IMMEDIATE); the app waits 50 ms for it, not 10 s."""
    monkeypatch.setattr(feedsvc.storage, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(app.config["DATABASE"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


def test_a_form_sent_while_the_database_is_busy_comes_back_and_is_saved_when_sent_again(
        logged_in, form, held_database):
    token = token_in(logged_in.get(form.page).get_data(as_text=True))
    response = logged_in.post(form.action, data={**form.data, "csrf_token": token})
    html = assert_kept(response, form, 503)
    assert any("the database is busy, try again" in message for message in flashes(html)), flashes(html)
    assert "disk full" not in html
    held_database.execute("ROLLBACK")  # the other writer is done
    response = logged_in.post(form.action, data=sent_again(html, form))
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    assert form.saved()


def test_another_site_cannot_have_a_form_shown_prefilled(app, set_clock, logged_in, db):
    form = forms(db)[0]
    set_clock.advance(seconds=app.config["SESSION_IDLE_SECONDS"] + 1)
    response = logged_in.post(form.action, data=form.data, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code in (302, 400)
    assert TITLE not in response.get_data(as_text=True)


def test_a_login_form_that_expired_comes_back_with_the_name_and_a_fresh_token(client, admin):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/admin/login").get_data(as_text=True)
    with client.session_transaction() as session:
        session["csrf_token"] = "0" * 40  # the login page stayed open over a restart of the session's secret
    response = client.post("/admin/login", data={"username": admin[0], "password": admin[1],
                                                  "csrf_token": token_in(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert any("its form expired" in message for message in flashes(html))
    assert f'value="{admin[0]}"' in html and admin[1] not in html  # the name is kept, never the password
    again = client.post("/admin/login", data={"username": admin[0], "password": admin[1], "csrf_token": token_in(html)})
    assert again.status_code == 302
