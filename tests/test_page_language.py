"""What a reader abroad meets on pages: dates as each language writes them with the time zone beside every time,
error pages with a human heading (a withdrawn release named, with when and why), and the press contact."""

import re
from datetime import UTC
from datetime import datetime

import pytest

from feedsvc import releases
from feedsvc.config import ConfigError
from feedsvc.web import create_app
from tests.helpers import TARGETS
from tests.helpers import make_release
from tests.helpers import migrated
from tests.helpers import translate_by_hand

# 19 November 2026, 10:00 UTC is 15:00 in Almaty (UTC+5).
PUBLISHED = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
TIMES = {"ru": "19 ноября 2026 г., 15:00 (Алматы, UTC+5)", "kk": "2026 жылғы 19 қараша, 15:00 (Алматы, UTC+5)",
         "en": "19 November 2026, 15:00 (Almaty, UTC+5)"}


def app_with(tmp_path, **settings):
    """An app on a fresh database with these settings."""
    return create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "feedsvc.db"),
                       "UPLOAD_FOLDER": str(tmp_path / "up"), **settings}))


def time_tags(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', html)


@pytest.mark.parametrize(("lang", "shown"), TIMES.items())
def test_release_time_in_the_pages_language_with_its_zone(client, db, lang, shown):
    release = make_release(db, published_at=PUBLISHED)
    if lang != "ru":  # an index lists a release in a language once its translation is published
        translate_by_hand(db, release, lang, "Senate session", "First paragraph.")
    page = client.get(f"/{lang}/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    index = client.get(f"/{lang}/").get_data(as_text=True)
    assert time_tags(page) == [("2026-11-19T10:00:00+00:00", shown)]
    assert time_tags(index) == [("2026-11-19T10:00:00+00:00", shown)]


def test_the_zone_follows_the_setting(tmp_path, db):
    """Another office time zone: its own city and offset, with minutes where it has them."""
    app = app_with(tmp_path, TIMEZONE="Asia/Kolkata")
    translate_by_hand(db, make_release(db, published_at=PUBLISHED), "en", "Senate session", "First paragraph.")
    html = app.test_client().get("/en/").get_data(as_text=True)
    assert time_tags(html)[0][1] == "19 November 2026, 15:30 (Kolkata, UTC+5:30)"


def test_admin_times_carry_the_zone_too(logged_in, db):
    make_release(db, published_at=PUBLISHED)
    html = logged_in.get("/admin/").get_data(as_text=True)
    assert ("2026-11-19T10:00:00+00:00", TIMES["en"]) in time_tags(html)


def test_the_release_form_names_the_zone_its_time_is_read_in(logged_in):
    html = logged_in.get("/admin/releases/new").get_data(as_text=True)
    assert re.search(r'<label for="published_at">[^<]*\(Almaty, UTC\+5\)</label>', html)


def test_feeds_keep_rfc_dates(client, db):
    make_release(db, published_at=PUBLISHED)
    assert "<pubDate>Thu, 19 Nov 2026 10:00:00 +0000</pubDate>" in client.get("/ru/feed.rss").get_data(as_text=True)


@pytest.mark.parametrize(("lang", "heading", "message"), [
    ("en", "Page not found", "There is no such page."),
    ("ru", "Страница не найдена", "Такой страницы нет."),
    ("kk", "Бет табылмады", "Мұндай бет жоқ."),
])
def test_not_found_has_a_human_heading(client, lang, heading, message):
    response = client.get(f"/{lang}/releases/424242")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert f"<h1>{heading}</h1>" in html and message in html
    assert f"<title>{heading} · " in html and "<h1>404</h1>" not in html


WITHDRAWN = {"en": ("Release withdrawn", "Senate passed the law", "1 December 2026, 16:30 (Almaty, UTC+5)"),
             "kk": ("Релиз кері қайтарып алынды", "Сенат заңды қабылдады",
                    "2026 жылғы 1 желтоқсан, 16:30 (Алматы, UTC+5)"),
             "ru": ("Релиз отозван", "Сенат принял закон", "1 декабря 2026 г., 16:30 (Алматы, UTC+5)")}


@pytest.mark.parametrize("lang", WITHDRAWN)
def test_withdrawn_release_page_names_it_when_and_why(client, db, set_clock, lang):
    release = make_release(db, title="Сенат принял закон", languages=("kk", "en"))
    for code, title in (("en", "Senate passed the law"), ("kk", "Сенат заңды қабылдады")):
        db.execute("update translations set status = 'machine', title = ?, body = 'x' "
                   "where release_id = ? and lang = ?", [title, release["id"], code])
    set_clock.set(datetime(2026, 12, 1, 11, 30, tzinfo=UTC))
    releases.set_status(db, release["id"], "withdrawn", ("kk", "en"), reason="Опубликован по ошибке")
    response = client.get(f"/{lang}/releases/{release['id']}")
    html = response.get_data(as_text=True)
    heading, title, when = WITHDRAWN[lang]
    assert response.status_code == 410
    assert f"<h1>{heading}</h1>" in html
    assert f'<dd lang="{lang}">{title}</dd>' in html
    assert ("2026-12-01T11:30:00+00:00", when) in time_tags(html)
    assert '<dd lang="ru">Опубликован по ошибке</dd>' in html


def test_withdrawn_untranslated_release_is_named_in_russian_marked_so(client, db):
    release = make_release(db, title="Сенат принял закон")
    releases.set_status(db, release["id"], "withdrawn", languages=TARGETS)
    html = client.get(f"/en/releases/{release['id']}").get_data(as_text=True)
    assert '<dd lang="ru">Сенат принял закон</dd>' in html
    assert "Reason" not in html  # no reason given: no empty line for it


def test_error_pages_keep_their_caching_rules(logged_in, client):
    assert logged_in.get("/admin/releases/424242/edit").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/en/releases/424242").headers.get("Cache-Control", "")


CONTACT = {"en": ("Press contact", "Senate Press Service"), "ru": ("Контакты для прессы", "Пресс-служба Сената"),
           "kk": ("Баспасөз үшін байланыс", "Сенат баспасөз қызметі")}


@pytest.mark.parametrize("lang", CONTACT)
def test_press_contact_in_every_footer_and_on_the_contact_page(client, db, lang):
    heading, name = CONTACT[lang]
    release = make_release(db)
    phone = '<a href="tel:+7-7172-74-70-00">+7 7172 74 70 00</a>'
    email = '<a href="mailto:press@senate.example.kz">press@senate.example.kz</a>'
    for url in (f"/{lang}/", f"/{lang}/releases/{release['id']}", f"/{lang}/search?q=x", f"/{lang}/missing"):
        footer = client.get(url, follow_redirects=True).get_data(as_text=True).split('<footer class="site">')[1]
        assert f'<a href="/{lang}/contact">{heading}</a>: {name}' in footer, url
        assert phone in footer and email in footer, url
    page = client.get(f"/{lang}/contact")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"<h1>{heading}</h1>" in html
    main = html.split("<main>")[1].split("</main>")[0]
    assert name in main and phone in main and email in main
    assert "UTC+5" in main


def test_contact_page_only_in_published_languages(client):
    assert client.get("/de/contact").status_code == 404


def test_empty_phone_is_left_out(tmp_path):
    app = app_with(tmp_path, PRESS_CONTACT_PHONE="")
    html = app.test_client().get("/en/contact").get_data(as_text=True)
    assert "tel:" not in html and "mailto:press@senate.example.kz" in html


@pytest.mark.parametrize(("setting", "value", "error"), [
    ("PRESS_CONTACT_PHONE", "74-70-00", "not a phone number in international format"),
    ("PRESS_CONTACT_PHONE", "+7 123", "is not a valid phone number"),
    ("PRESS_CONTACT_PHONE", "call us", "not a phone number in international format"),
    ("PRESS_CONTACT_EMAIL", "press at senate", "is not an e-mail address"),
    ("PRESS_CONTACT_NAMES", "Senate", "expected a mapping"),
])
def test_bad_contact_settings_are_refused_at_start(tmp_path, setting, value, error):
    with pytest.raises(ConfigError, match=error):
        app_with(tmp_path, **{setting: value})


def test_phone_is_written_in_international_format(tmp_path):
    app = app_with(tmp_path, PRESS_CONTACT_PHONE="+77172747227")
    assert app.config["PRESS_CONTACT_PHONE"] == "+7 7172 74 72 27"
    assert app.config["PRESS_CONTACT_PHONE_URI"] == "tel:+7-7172-74-72-27"
