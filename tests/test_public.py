"""The public side as readers use it: language redirect, pages, notices, search, errors."""

import re
import subprocess
import sys

import pytest

from feedsvc import releases
from tests.helpers import make_release
from tests.helpers import translate_by_hand

SEED_TITLE = "Спикер Сената встретился с секретарями маслихатов"
SEED_BODY = (
    "«Модернизационная повестка Президента страны направлена на укрепление нашей Независимости», - сказал "
    "Маулен Ашимбаев.\n\n"
    "В этом году избраны более 800 сельских акимов, т.е. состав обновился наполовину.\n\n"
    "19.11.2021 771\n\n"
    "(Пресс-служба Сената, 74-72-27. Фото – Е.Укибаев)"
)


@pytest.mark.parametrize(("accept", "target"), [("kk-KZ,kk;q=0.9", "/kk/"), ("en-US,en;q=0.8", "/en/"),
                                               ("ru", "/ru/"), ("de-DE", "/ru/"), ("", "/ru/")])
def test_root_redirects_by_accept_language(client, accept, target):
    response = client.get("/", headers={"Accept-Language": accept} if accept else {})
    assert response.status_code == 302
    assert response.headers["Location"] == target
    assert "Accept-Language" in response.headers["Vary"]


def test_seed_like_release_round_trips_unchanged(client, db):
    release = make_release(db, title=SEED_TITLE, body=SEED_BODY, photo_credit="Фото – Е.Укибаев")
    stored = releases.get_release(db, release["id"])
    assert stored["body"] == SEED_BODY and stored["title"] == SEED_TITLE
    page = client.get(f"/ru/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    for piece in ("«Модернизационная повестка", "Маулен Ашимбаев", "т.е.", "19.11.2021 771", "74-72-27",
                  "Фото – Е.Укибаев", "более 800"):
        assert piece in page
    import feedparser

    for fmt in ("rss", "atom"):
        entry = feedparser.parse(client.get(f"/ru/feed.{fmt}").data).entries[0]
        text = entry.content[0].value
        for paragraph in SEED_BODY.split("\n\n"):
            assert f"<p>{paragraph}</p>" in text


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_every_page_has_language_switcher_and_hreflang(client, db, lang):
    release = make_release(db)  # translated: a pending translation is no alternate (see test_seo)
    translate_by_hand(db, release, "kk", "Сенат Спикері кездесті", "Бірінші абзац.")
    translate_by_hand(db, release, "en", "Senate Speaker met", "First paragraph.")
    for url in (f"/{lang}/", f"/{lang}/releases/{release['id']}", f"/{lang}/search?q=Сената"):
        html = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert f'<html lang="{lang}">' in html
        for code in ("ru", "kk", "en", "x-default"):
            assert f'hreflang="{code}"' in html
        assert 'rel="alternate" type="application/atom+xml"' in html


def test_untranslated_release_shows_original_with_a_notice(client, db):
    release = make_release(db)
    html = client.get(f"/kk/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert release["title"] in html
    assert 'class="notice pending"' in html
    assert 'lang="ru"' in html  # the Russian text is marked as Russian on a Kazakh page


def test_translated_release_is_labelled_machine_with_link_to_original(client, db):
    release = make_release(db)
    translate_by_hand(db, release, "en", "Senate Speaker met maslikhat secretaries", "First paragraph.")
    html = client.get(f"/en/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert "Senate Speaker met maslikhat secretaries" in html
    assert 'class="notice machine"' in html
    assert re.search(rf'href="/ru/releases/{release["id"]}-[^"]+" hreflang="ru"', html)


def test_index_is_paginated_newest_first(app, client, db):
    from datetime import UTC
    from datetime import datetime

    app.config["PAGE_SIZE"] = 2
    for day in range(1, 6):
        make_release(db, title=f"Релиз {day}", published_at=datetime(2026, 11, day, tzinfo=UTC))
    first = client.get("/ru/").get_data(as_text=True)
    assert first.index("Релиз 5") < first.index("Релиз 4") and "Релиз 3" not in first
    third = client.get("/ru/?page=3").get_data(as_text=True)
    assert "Релиз 1" in third
    assert client.get("/ru/?page=4").status_code == 404


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "99999999999", ""])
def test_bad_page_parameter_is_400_never_500(client, db, page):
    assert client.get(f"/ru/?page={page}").status_code == 400


def test_unknown_language_and_release_are_404_pages(client, db):
    assert client.get("/de/").status_code == 404
    response = client.get("/en/releases/12345")
    assert response.status_code == 404
    assert '<html lang="en">' in response.get_data(as_text=True)


def test_drafts_are_not_public(client, db):
    draft = make_release(db, publish=False)
    assert client.get(f"/ru/releases/{draft['id']}").status_code == 404
    assert draft["title"] not in client.get("/ru/").get_data(as_text=True)


def test_old_slug_redirects_to_canonical_url(client, db):
    release = make_release(db)
    response = client.get(f"/ru/releases/{release['id']}-old-title")
    assert response.status_code == 301
    assert response.headers["Location"].endswith(f"/ru/releases/{release['id']}-{releases.slug(release['title'])}")


def test_search_finds_in_each_language_own_text(client, db):
    release = make_release(db, title="Заседание Сената по бюджету")
    translate_by_hand(db, release, "en", "Senate budget session", "Text.")
    assert "Заседание Сената по <mark>бюджету</mark>" in client.get("/ru/search?q=бюджету").get_data(as_text=True)
    assert "Senate <mark>budget</mark> session" in client.get("/en/search?q=budget").get_data(as_text=True)
    assert "Senate budget session" not in client.get("/en/search?q=бюджету").get_data(as_text=True)
    assert client.get('/ru/search?q="unbalanced').status_code == 200


def test_script_in_user_text_is_shown_as_text_on_pages(client, db):
    release = make_release(db, title="<script>alert(1)</script>", body="<img src=x onerror=alert(1)>",
                           category="<b>cat</b>", photo_caption='"><script>x</script>')
    for url in ("/ru/", f"/ru/releases/{release['id']}-{releases.slug(release['title'])}", "/ru/search?q=alert"):
        html = client.get(url).get_data(as_text=True).replace("<mark>", "").replace("</mark>", "")
        assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_security_headers_on_html(client, db):
    response = client.get("/ru/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]


def test_web_process_never_imports_the_translation_stack(tmp_path):
    code = (
        "import sys; from feedsvc.web import create_app; from feedsvc.migrations import migrate; "
        f"from feedsvc.storage import connect; migrate(connect(r'{tmp_path}/x.db')); "
        f"app = create_app({{'TESTING': True, 'DATABASE': r'{tmp_path}/x.db', 'UPLOAD_FOLDER': r'{tmp_path}/u'}}); "
        "c = app.test_client(); c.get('/ru/'); c.get('/ru/feed.atom'); c.get('/admin/login'); "
        "heavy = [m for m in ('argostranslate', 'ctranslate2', 'torch', 'stanza', 'transformers') "
        "if m in sys.modules]; "
        "print(','.join(heavy) or 'clean')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "clean", result.stderr


def test_unrouted_url_under_a_language_is_a_404_in_that_language(client):
    response = client.get("/kk/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<html lang="kk">' in html and "Мұндай бет жоқ." in html
