"""Staff preferences in the admin (issue 25): the interface language each user chose, remembered across
requests and used before the browser's Accept-Language; public pages keep their URL's language."""

import re
from datetime import UTC
from datetime import datetime

from feedsvc.web import users
from tests.helpers import csrf_token
from tests.helpers import make_release

KAZAKH_RELEASES = "Релиздер"  # the Kazakh "Releases" of the admin menu
ENGLISH_RELEASES = ">Releases<"


def choose(client, lang: str, page: str = "/admin/"):
    """Press the language switch's ``lang`` button on ``page``, as a browser does."""
    return client.post("/admin/language", data={"lang": lang, "next": page, "csrf_token": csrf_token(client, page)})


def log_in(client, username: str, password: str) -> None:
    """Log ``username`` in through the real form, with an English browser."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302


def test_the_switch_is_in_the_admin_header_with_the_current_language_pressed(logged_in):
    page = logged_in.get("/admin/").get_data(as_text=True)
    form = re.search(r'<form class="ui-language".*?</form>', page, re.S).group(0)
    assert 'name="csrf_token"' in form
    assert re.findall(r'<button name="lang" value="(\w+)"', form) == ["ru", "kk", "en"]
    assert re.search(r'value="en"[^>]*aria-pressed="true"', form)


def test_a_chosen_language_wins_over_the_browser_and_is_remembered(logged_in, db):
    response = choose(logged_in, "kk", "/admin/?status=draft")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/?status=draft"
    assert users.find_user(db, "editor")["ui_lang"] == "kk"
    for url in ("/admin/", "/admin/releases/new", "/admin/review-queue/"):
        page = logged_in.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert KAZAKH_RELEASES in page and ENGLISH_RELEASES not in page, url
        assert '<html lang="kk"' in page, url


def test_public_pages_keep_their_urls_language(logged_in, db):
    make_release(db)
    choose(logged_in, "kk")
    page = logged_in.get("/en/").get_data(as_text=True)
    assert '<html lang="en"' in page
    assert 'class="ui-language"' not in page  # the switch sets the admin's language, not the page's


def test_another_user_is_unaffected(app, logged_in, db):
    choose(logged_in, "kk")
    users.create_user(db, "second", "another-password")
    other = app.test_client()
    log_in(other, "second", "another-password")
    page = other.get("/admin/").get_data(as_text=True)
    assert ENGLISH_RELEASES in page and KAZAKH_RELEASES not in page


def test_choosing_again_replaces_the_choice(logged_in):
    choose(logged_in, "kk")
    choose(logged_in, "ru")
    page = logged_in.get("/admin/").get_data(as_text=True)
    assert "Релизы" in page and KAZAKH_RELEASES not in page


def test_an_unpublished_language_is_refused(logged_in, db):
    assert choose(logged_in, "de").status_code == 400
    assert users.find_user(db, "editor")["ui_lang"] == ""


def test_the_switch_needs_a_login_and_a_csrf_token(client, logged_in):
    assert logged_in.post("/admin/language", data={"lang": "kk", "next": "/admin/"}).status_code == 400
    anonymous = client.application.test_client()
    token = csrf_token(anonymous, "/admin/login")
    response = anonymous.post("/admin/language", data={"lang": "kk", "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_next_cannot_leave_the_admin(logged_in):
    response = choose(logged_in, "kk", "/admin/")
    assert response.headers["Location"] == "/admin/"
    token = csrf_token(logged_in, "/admin/")
    response = logged_in.post("/admin/language", data={"lang": "kk", "next": "//evil.example/", "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_a_drafts_preview_is_its_public_page_marked_and_noindex(logged_in, db):
    draft = make_release(db, publish=False)
    for lang in ("ru", "kk", "en"):
        response = logged_in.get(f"/admin/releases/{draft['id']}/preview/{lang}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200, lang
        assert 'class="notice preview"' in page and draft["title"] in page
        assert '<meta name="robots" content="noindex' in page
        assert f'<html lang="{lang}"' in page  # the page's language, whatever the editor's
    assert "Preview — not published" in logged_in.get(f"/admin/releases/{draft['id']}/preview/en").get_data(
        as_text=True)
    assert logged_in.get(f"/ru/releases/{draft['id']}").status_code == 404


def test_the_preview_speaks_its_language_not_the_editors(logged_in, db):
    draft = make_release(db, publish=False)
    choose(logged_in, "kk")
    page = logged_in.get(f"/admin/releases/{draft['id']}/preview/ru").get_data(as_text=True)
    assert '<html lang="ru"' in page and "Предпросмотр — не опубликовано" in page


def test_the_edit_page_links_each_languages_preview(logged_in, db):
    draft = make_release(db, publish=False)
    page = logged_in.get(f"/admin/releases/{draft['id']}/edit").get_data(as_text=True)
    for lang in ("ru", "kk", "en"):
        assert f'href="/admin/releases/{draft["id"]}/preview/{lang}"' in page


def test_a_preview_needs_a_login(client, db):
    draft = make_release(db, publish=False)
    response = client.get(f"/admin/releases/{draft['id']}/preview/ru")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    assert client.get(f"/ru/releases/{draft['id']}").status_code == 404


def test_a_published_release_is_indexable_and_unmarked(client, db):
    release = make_release(db)
    page = client.get(f"/ru/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert 'class="notice preview"' not in page and 'content="noindex' not in page


def test_a_scheduled_release_is_previewed_while_readers_get_404(logged_in, db, set_clock):
    set_clock.set(datetime(2026, 11, 19, 6, 0, tzinfo=UTC))
    scheduled = make_release(db, published_at=datetime(2026, 11, 20, 6, 0, tzinfo=UTC))
    assert logged_in.get(f"/admin/releases/{scheduled['id']}/preview/kk").status_code == 200
    assert logged_in.get(f"/kk/releases/{scheduled['id']}").status_code == 404
