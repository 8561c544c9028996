"""Admin side: login, protection of every admin URL, CSRF, the upload form and its errors."""

import io
import re
from datetime import UTC
from datetime import datetime

import pytest
from PIL import Image

from feedsvc import categories
from feedsvc import releases
from feedsvc.demo import demo_photo
from tests.helpers import TARGETS
from tests.helpers import csrf_token
from tests.helpers import edit_form_data
from tests.helpers import make_release
from tests.helpers import migrated

BODY = "Спикер Сената Маулен Ашимбаев встретился с секретарями маслихатов.\n\n«Это важно», - сказал он."


def admin_urls(app) -> list[tuple[str, str]]:
    """Every admin URL in the URL map, with its method, filled with a plausible id."""
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and rule.endpoint not in ("auth.login", "auth.logout"):
            path = re.sub(r"<(?:int|id):\w+>", "1", rule.rule)
            path = re.sub(r"<any\((\w+)[^>]*\):\w+>", lambda m: m.group(1), path)
            path = re.sub(r"<(?:target|lang):\w+>", app.config["TARGET_LANGUAGES"][0], path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                urls.append((method, path))
    return urls


def test_every_admin_url_needs_login(app, client, db):
    make_release(db)
    urls = admin_urls(app)
    assert len(urls) >= 10
    for method, path in urls:
        response = client.open(path, method=method)
        # A POST without a session fails CSRF (400) or redirects to login; never does the work.
        assert response.status_code in (302, 401, 400), (method, path, response.status_code)
        if response.status_code == 302:
            assert "/admin/login" in response.headers["Location"]
    assert releases.get_release(db, 1)["status"] == "published"


def test_post_without_csrf_token_is_refused_even_when_logged_in(logged_in, db):
    release = make_release(db)
    response = logged_in.post(f"/admin/releases/{release['id']}/withdrawn")
    assert response.status_code == 400
    response = logged_in.post("/admin/releases/new", data={"title": "Без токена", "body": "Текст."})
    assert response.status_code == 400
    assert releases.get_release(db, release["id"])["status"] == "published"
    assert releases.count_all(db) == 1


def test_wrong_password_is_refused(client, admin):
    token = csrf_token(client, "/admin/login")
    response = client.post("/admin/login", data={"username": admin[0], "password": "wrong", "csrf_token": token})
    assert response.status_code == 200
    assert "/admin/" not in response.headers.get("Location", "")
    assert client.get("/admin/").status_code == 302


def test_login_is_rate_limited(tmp_path):
    from feedsvc.web import create_app

    app = create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "r.db"),
                      "UPLOAD_FOLDER": str(tmp_path / "up"), "RATELIMIT_ENABLED": True}))
    client = app.test_client()
    token = csrf_token(client, "/admin/login")
    codes = [client.post("/admin/login", data={"username": "x", "password": "y", "csrf_token": token}).status_code
             for _ in range(12)]
    assert codes[:10] == [200] * 10
    assert codes[10:] == [429, 429]


@pytest.fixture(autouse=True)
def listed_categories(db):
    """The categories these tests file releases under, on the managed list the form chooses from (issue 25)."""
    for name in ("Встречи", "Парламент"):
        categories.add(db, name)


def post_release(client, **fields):
    """Submit the new-release form the way a browser does."""
    token = csrf_token(client, "/admin/releases/new")
    data = {"title": "Спикер Сената встретился с секретарями маслихатов", "body": BODY,
            "published_at": "2026-11-19T11:30", "category": "Встречи", "csrf_token": token, "publish": "1",
            "photo_caption": "", "photo_credit": ""}
    data.update(fields)
    return client.post("/admin/releases/new", data=data, content_type="multipart/form-data")


def test_publish_through_the_form_stores_release_and_queues_translations(logged_in, db):
    response = post_release(logged_in)
    assert response.status_code == 302
    release = releases.get_release(db, 1)
    assert release["status"] == "published"
    assert release["body"] == BODY
    assert release["published_at"] == "2026-11-19T06:30:00+00:00"  # 11:30 in Almaty (UTC+5)
    jobs = {(j["lang"], j["status"]) for j in db.query("select * from jobs")}
    assert jobs == {("kk", "queued"), ("en", "queued")}
    assert logged_in.get(f"/ru/releases/{release['id']}", follow_redirects=True).status_code == 200


def test_photo_is_reencoded_without_exif(logged_in, db, app, tmp_path):
    image = Image.open(io.BytesIO(demo_photo(0)))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    raw = io.BytesIO()
    image.save(raw, "JPEG", exif=exif.tobytes())
    assert b"SecretCam" in raw.getvalue()
    response = post_release(logged_in, photo=(io.BytesIO(raw.getvalue()), "photo.jpg"),
                            photo_caption="Участники встречи", photo_credit="Фото – Е.Укибаев")
    assert response.status_code == 302
    release = releases.get_release(db, 1)
    stored = (tmp_path / "uploads" / release["photo"]).read_bytes()
    assert b"SecretCam" not in stored
    assert release["photo_type"] == "image/jpeg" and release["photo_length"] == len(stored)
    page = logged_in.get("/ru/releases/1", follow_redirects=True).get_data(as_text=True)
    assert 'alt="Участники встречи"' in page and "Фото – Е.Укибаев" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "This field is required."),
        ({"body": "  "}, "This field is required."),
        ({"title": "Я" * 301}, "Field cannot be longer than 300 characters."),
        ({"photo": (io.BytesIO(b"not an image at all"), "photo.jpg")}, "The photo was refused"),
        ({"photo": (io.BytesIO(b"GIF89a..."), "photo.gif")}, "Only JPEG, PNG or WebP images."),
    ],
)
def test_bad_input_gets_a_form_message_and_keeps_what_was_typed(logged_in, db, fields, message):
    response = post_release(logged_in, **{"body": BODY, **fields})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "секретарями маслихатов" in html  # the typed text is still in the form
    assert releases.count_all(db) == 0


def test_oversized_upload_gets_a_friendly_413_page(logged_in, app):
    app.config["MAX_CONTENT_LENGTH"] = 100 * 1024  # small, so the test client keeps the body in memory
    response = post_release(logged_in, photo=(io.BytesIO(b"x" * (200 * 1024)), "big.jpg"))
    assert response.status_code == 413
    assert "The upload is too large." in response.get_data(as_text=True)


def test_decompression_bomb_is_refused(logged_in, db):
    raw = io.BytesIO()
    Image.new("1", (20000, 20000)).save(raw, "PNG")  # ~50 KB on disk, 400 megapixels decoded
    response = post_release(logged_in, photo=(io.BytesIO(raw.getvalue()), "bomb.png"))
    assert response.status_code == 400
    assert "The photo was refused" in response.get_data(as_text=True)
    assert releases.count_all(db) == 0


def test_edit_keeps_guid_and_requeues_translations(logged_in, db):
    release = make_release(db)
    token = csrf_token(logged_in, f"/admin/releases/{release['id']}/edit")
    response = logged_in.post(f"/admin/releases/{release['id']}/edit", data={
        "title": "Исправленный заголовок", "body": "Новый текст.", "published_at": "2026-11-19T11:30",
        "csrf_token": token, "save_draft": "1"}, content_type="multipart/form-data")
    assert response.status_code == 302
    edited = releases.get_release(db, release["id"])
    assert edited["guid"] == release["guid"] and edited["revision"] == 2
    revisions = [j["source_revision"] for j in db.query("select * from jobs where status = 'queued'")]
    assert revisions == [2, 2]


def test_withdraw_through_admin_gives_410(logged_in, db, client):
    release = make_release(db)
    token = csrf_token(logged_in, f"/admin/releases/{release['id']}/edit")
    unconfirmed = logged_in.post(f"/admin/releases/{release['id']}/withdrawn",
                                 data={"csrf_token": token, "reason": "Дубликат"})
    assert unconfirmed.status_code == 400 and releases.get_release(db, release["id"])["status"] == "published"
    assert "Дубликат" in unconfirmed.get_data(as_text=True)  # the reason typed stays in its field
    response = logged_in.post(f"/admin/releases/{release['id']}/withdrawn", data={"csrf_token": token, "confirm": "1"})
    assert response.status_code == 302
    assert logged_in.get(f"/ru/releases/{release['id']}").status_code == 410
    assert releases.get_release(db, release["id"])["guid"] == release["guid"]


def test_withdrawal_records_when_and_the_public_reason(logged_in, db, set_clock):
    release = make_release(db)
    set_clock.advance(days=1)
    token = csrf_token(logged_in, f"/admin/releases/{release['id']}/edit")
    logged_in.post(f"/admin/releases/{release['id']}/withdrawn", data={"csrf_token": token, "reason": "Дубликат",
                                                                           "confirm": "1"})
    withdrawn = releases.get_release(db, release["id"])
    assert (withdrawn["withdrawn_at"], withdrawn["withdrawal_reason"]) == ("2026-11-20T12:00:00+00:00", "Дубликат")
    releases.set_status(db, release["id"], "published", languages=TARGETS)
    republished = releases.get_release(db, release["id"])
    assert (republished["withdrawn_at"], republished["withdrawal_reason"]) == (None, None)


def test_admin_list_shows_translation_status_per_language(logged_in, db):
    make_release(db, title="Релиз для списка")
    html = logged_in.get("/admin/").get_data(as_text=True)
    assert "Релиз для списка" in html
    assert html.count("translation-pending") == 2


def test_behind_a_proxy_the_login_limit_counts_each_client_separately(tmp_path):
    from feedsvc.web import create_app

    app = create_app(migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "p.db"),
                      "UPLOAD_FOLDER": str(tmp_path / "up"), "RATELIMIT_ENABLED": True, "PROXY_FIX": 1,
                      "LOGIN_RATE_LIMIT": "2 per minute"}))
    client = app.test_client()
    token = csrf_token(client, "/admin/login")

    def attempt(address):
        return client.post("/admin/login", data={"username": "x", "password": "y", "csrf_token": token},
                           headers={"X-Forwarded-For": address}).status_code

    assert [attempt("203.0.113.7") for _ in range(3)] == [200, 200, 429]
    assert attempt("198.51.100.9") == 200  # another reader behind the same proxy is not locked out


def test_a_stale_edit_form_is_refused_and_keeps_what_was_typed(logged_in, db):
    release = make_release(db)
    url = f"/admin/releases/{release['id']}/edit"
    first = edit_form_data(logged_in, release["id"], body="Правка первого редактора.")
    second = edit_form_data(logged_in, release["id"], category="Парламент")  # opened at the same version
    assert logged_in.post(url, data=first, content_type="multipart/form-data").status_code == 302
    response = logged_in.post(url, data=second, content_type="multipart/form-data")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "changed by someone else" in html and 'value="Парламент"' in html
    stored = releases.get_release(db, release["id"])
    assert (stored["body"], stored["category"]) == ("Правка первого редактора.", "")
    # Saving again from the refused form (it now carries the current version) is a deliberate overwrite.
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    assert logged_in.post(url, data={**second, "version": version, "csrf_token": csrf_token(logged_in, url)},
                          content_type="multipart/form-data").status_code == 302
    assert releases.get_release(db, release["id"])["category"] == "Парламент"


def test_clearing_the_date_on_edit_keeps_the_publication_date(logged_in, db):
    release = make_release(db)
    data = edit_form_data(logged_in, release["id"], published_at="", title="Новый заголовок")
    response = logged_in.post(f"/admin/releases/{release['id']}/edit", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    stored = releases.get_release(db, release["id"])
    assert (stored["title"], stored["published_at"]) == ("Новый заголовок", release["published_at"])


def test_a_changed_category_is_a_new_revision_and_translated_again(db):
    release = make_release(db)
    edited = releases.update_release(db, release["id"], {"category": "Парламент"}, languages=TARGETS)
    assert edited["revision"] == release["revision"] + 1
    queued = [j["source_revision"] for j in db.query("select * from jobs where status = 'queued'")]
    assert queued == [edited["revision"]] * 2


def test_staff_see_a_drafts_photo_readers_do_not(logged_in, db, client, app):
    from feedsvc.photos import save_photo

    photo = save_photo(demo_photo(2), app.config["UPLOAD_FOLDER"], max_bytes=10**7, max_pixels=10**7)
    release = make_release(db, photo=photo, publish=False)
    page = logged_in.get(f"/admin/releases/{release['id']}/edit").get_data(as_text=True)
    assert f'src="/admin/media/{photo["photo"]}"' in page
    with logged_in.get(f"/admin/media/{photo['photo']}") as preview:
        assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
        assert preview.headers["Cache-Control"] == "no-store"  # no shared (or any) cache keeps a draft
    anonymous = app.test_client()
    with anonymous.get(f"/media/{photo['photo']}") as public:
        assert public.status_code == 404  # not published
    assert anonymous.get(f"/admin/media/{photo['photo']}").status_code == 302  # to the login page
    assert logged_in.get("/admin/media/no-such.jpg").status_code == 404


def test_a_draft_is_dated_when_published_unless_an_editor_set_its_date(logged_in, db, set_clock):
    token = csrf_token(logged_in, "/admin/releases/new")
    form = {"title": "Черновик", "body": "Текст.", "published_at": "", "csrf_token": token, "save_draft": "1"}
    logged_in.post("/admin/releases/new", data=form, content_type="multipart/form-data")
    dated = dict(form, title="Датированный черновик", published_at="2026-11-18T10:00")
    logged_in.post("/admin/releases/new", data=dated, content_type="multipart/form-data")
    undated_id, dated_id = (row["id"] for row in db.query("select id from releases order by id"))
    set_clock.advance(minutes=50, seconds=7, microseconds=5)  # published later (within the session)
    for release_id in (undated_id, dated_id):
        token = csrf_token(logged_in, f"/admin/releases/{release_id}/edit")
        logged_in.post(f"/admin/releases/{release_id}/published", data={"csrf_token": token})
    assert releases.get_release(db, undated_id)["published_at"] == "2026-11-19T12:50:07.000005+00:00"
    assert releases.get_release(db, dated_id)["published_at"] == "2026-11-18T05:00:00+00:00"  # 10:00 in Almaty
    set_clock.advance(minutes=5)
    releases.set_status(db, undated_id, "draft", languages=TARGETS)
    releases.set_status(db, undated_id, "published", languages=TARGETS)  # published before: it keeps its date
    assert releases.get_release(db, undated_id)["published_at"] == "2026-11-19T12:50:07.000005+00:00"


def test_an_edit_moves_the_date_only_when_the_date_field_changed(logged_in, db):
    release = make_release(db, published_at=datetime(2026, 11, 19, 6, 30, 42, tzinfo=UTC))
    page = logged_in.get(f"/admin/releases/{release['id']}/edit").get_data(as_text=True)
    assert 'value="2026-11-19T11:30"' in page and "(Almaty, UTC+5)" in page  # the field says its time zone
    data = edit_form_data(logged_in, release["id"], title="Новый заголовок")  # the date as the form shows it
    assert logged_in.post(f"/admin/releases/{release['id']}/edit", data=data,
                          content_type="multipart/form-data").status_code == 302
    assert releases.get_release(db, release["id"])["published_at"] == "2026-11-19T06:30:42+00:00"  # seconds kept
    data = edit_form_data(logged_in, release["id"], published_at="2026-11-19T11:31")
    logged_in.post(f"/admin/releases/{release['id']}/edit", data=data, content_type="multipart/form-data")
    assert releases.get_release(db, release["id"])["published_at"] == "2026-11-19T06:31:00+00:00"
