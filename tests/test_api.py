"""The CMS API (/api/): a real HTTP client (urllib) against a served app, tokens made as the admin makes them."""

import json
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from feedsvc import apikeys
from feedsvc import categories
from feedsvc import releases
from feedsvc.web import create_app
from tests.helpers import HANG_SECONDS
from tests.helpers import served

RELEASE = {"title": "Сенат принял закон о развитии местного самоуправления",
           "body": "Первый абзац.\n\nВторой абзац, 19.11.2026.", "category": "Законы"}


def call(method: str, url: str, token: str | None = None, body=None, raw: bytes | None = None):
    """One request; returns (status, headers, JSON body)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=HANG_SECONDS) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, json.load(exc)


@pytest.fixture
def api(app, db):
    """The app served on 127.0.0.1; yields (base URL of /api, write token, read token)."""
    _, write = apikeys.create(db, "CMS", "write")
    _, read = apikeys.create(db, "Dashboard", "read")
    categories.add(db, RELEASE["category"])  # the managed list the API's category is one of (issue 25)
    with served(app) as url:
        yield url + "/api", write, read


def test_cms_creates_edits_publishes_and_withdraws_a_release(api, db):
    url, write, read = api
    status, headers, created = call("POST", url + "/releases", write, RELEASE)
    assert status == 201, created
    assert headers["Location"].endswith(f"/api/releases/{created['id']}")
    assert (created["status"], created["title"], created["category"]) == ("draft", RELEASE["title"], "Законы")
    assert set(created["translations"]) == {"kk", "en"}
    stored = releases.get_release(db, created["id"])
    assert stored["body"] == RELEASE["body"]
    status, _, edited = call("PATCH", f"{url}/releases/{created['id']}", write,
                             {"title": "Сенат одобрил закон", "version": created["version"]})
    assert status == 200, edited
    assert (edited["title"], edited["body"], edited["revision"]) == ("Сенат одобрил закон", RELEASE["body"], 2)
    status, _, published = call("POST", f"{url}/releases/{created['id']}/publish", write)
    assert (status, published["status"]) == (200, "published")
    assert {row["status"] for row in published["translations"].values()} == {"pending"}
    status, _, withdrawn = call("POST", f"{url}/releases/{created['id']}/withdraw", write, {"reason": "Ошибка"})
    assert (status, withdrawn["status"], withdrawn["withdrawal_reason"]) == (200, "withdrawn", "Ошибка")
    # Reading needs only a read token; the list and one translation.
    status, _, listed = call("GET", url + "/releases", read)
    assert status == 200 and [row["id"] for row in listed["releases"]] == [created["id"]]
    status, _, translation = call("GET", f"{url}/releases/{created['id']}/translations/kk", read)
    assert status == 200 and translation["lang"] == "kk" and translation["sentences"] == []


def test_a_dated_release_keeps_the_moment_given_with_its_offset(api, db):
    url, write, _ = api
    status, _, created = call("POST", url + "/releases", write,
                              {**RELEASE, "published_at": "2026-11-19T15:30:00+05:00", "publish": True})
    assert status == 201, created
    assert created["status"] == "published"
    assert created["published_at"].startswith("2026-11-19T10:30:00")


@pytest.mark.parametrize(("body", "pointer"), (
    ({"body": "Текст."}, "#/title"),
    ({**RELEASE, "title": "Я" * 301}, "#/title"),
    ({**RELEASE, "published_at": "вчера"}, "#/published_at"),
    ({**RELEASE, "published_at": "1066-10-14T10:00"}, "#/published_at"),
    ({**RELEASE, "title": 5}, "#/title"),
    ({**RELEASE, "author": "x"}, "#/author"),
))
def test_what_the_form_refuses_the_api_refuses_as_problem_details(api, db, body, pointer):
    url, write, _ = api
    status, headers, problem = call("POST", url + "/releases", write, body)
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert (problem["status"], problem["title"]) == (400, "Bad Request")
    assert pointer in [error["pointer"] for error in problem["errors"]]
    assert all(error["detail"] for error in problem["errors"])
    assert db.execute("select count(*) from releases").fetchone()[0] == 0


def test_form_messages_come_in_the_clients_language(api):
    url, write, _ = api
    request = urllib.request.Request(url + "/releases", data=json.dumps({"body": "Текст."}).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {write}",
                                              "Accept-Language": "ru"})
    with pytest.raises(urllib.error.HTTPError) as refused, urllib.request.urlopen(request, timeout=HANG_SECONDS):
        pass
    with refused.value:
        problem = json.load(refused.value)
    assert problem["detail"] == "Пресс-релиз не сохранён: исправьте указанные поля."
    assert problem["errors"] == [{"pointer": "#/title", "detail": "Обязательное поле."}]  # the form's own message


def test_a_stale_version_is_a_409_and_changes_nothing(api, db):
    url, write, _ = api
    _, _, created = call("POST", url + "/releases", write, RELEASE)
    call("PATCH", f"{url}/releases/{created['id']}", write, {"title": "Первая правка"})
    status, headers, problem = call("PATCH", f"{url}/releases/{created['id']}", write,
                                    {"title": "Вторая правка", "version": created["version"]})
    assert (status, headers["Content-Type"]) == (409, "application/problem+json")
    assert releases.get_release(db, created["id"])["title"] == "Первая правка"


@pytest.mark.parametrize(("token", "status"), ((None, 401), ("fsk_nope", 401), ("read", 403)))
def test_writing_needs_a_current_write_token(api, db, token, status):
    url, _, read = api
    code, headers, problem = call("POST", url + "/releases", read if token == "read" else token, RELEASE)
    assert (code, problem["status"]) == (status, status)
    if status == 401:
        assert headers["WWW-Authenticate"].startswith("Bearer")
    assert db.execute("select count(*) from releases").fetchone()[0] == 0


def test_a_revoked_token_stops_at_once(api, db):
    url, _, _ = api
    row, token = apikeys.create(db, "old CMS", "read")
    assert call("GET", url + "/releases", token)[0] == 200
    apikeys.revoke(db, row["id"])
    assert call("GET", url + "/releases", token)[0] == 401


def test_missing_release_and_bad_json_are_problems(api):
    url, write, read = api
    assert call("GET", url + "/releases/999", read)[2]["status"] == 404
    status, _, problem = call("POST", url + "/releases", write, raw=b"{not json")
    assert (status, problem["status"]) == (400, 400)


def test_rate_limit_per_token_is_a_429_problem(tmp_path, app, db):
    _, token = apikeys.create(db, "CMS", "read")
    limited = create_app({**app.config, "RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "2 per minute"})
    with served(limited) as url:
        codes = [call("GET", url + "/api/releases", token)[:2] for _ in range(3)]
    assert [code for code, _ in codes] == [200, 200, 429]
    assert codes[2][1]["Content-Type"] == "application/problem+json" and codes[2][1]["Retry-After"]


def test_openapi_describes_every_api_route(app, api):
    url, _, _ = api
    status, _, document = call("GET", url + "/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"
    names = {"<id:release_id>": "{release_id}", "<target:lang>": "{lang}"}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.removeprefix("/api")
            for converter, name in names.items():
                path = path.replace(converter, name)
            routes.add(path)
    actions = {"/releases/{release_id}/<any(publish, unpublish, withdraw):action>"}
    expanded = routes - actions | {f"/releases/{{release_id}}/{a}" for a in ("publish", "unpublish", "withdraw")}
    assert expanded == set(document["paths"])
    assert document["servers"][0]["url"].endswith("/api")


FIELD = st.sampled_from(["title", "body", "category", "photo_caption", "photo_credit", "published_at", "publish",
                         "version", "photo", ""])
DATES = ["2026-11-19T10:00", "2026-11-19T10:00:00+05:00", "9999-12-31T23:59", "0001-01-01", "2026-02-30T10:00"]
VALUE = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40),
                  st.lists(st.text(max_size=3), max_size=2), st.sampled_from([*DATES, "Я" * 301, "\x00", "<script>"]))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(st.dictionaries(FIELD, VALUE, max_size=8), st.lists(st.integers(), max_size=2), st.text()))
@example(body={"title": " Сенат ", "body": "Текст.", "published_at": "2026-11-19T10:00:00+05:00", "publish": True})
def test_any_json_body_creates_a_release_or_is_a_problem_never_a_500(app, db, body):
    _, token = apikeys.create(db, "fuzz", "write")
    before = db.execute("select count(*) from releases").fetchone()[0]
    response = app.test_client().post("/api/releases", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (201, 400), (response.status_code, response.json)
    created = db.execute("select count(*) from releases").fetchone()[0] - before
    if response.status_code == 400:
        assert response.content_type == "application/problem+json" and created == 0
    else:
        assert created == 1 and releases.get_release(db, response.json["id"])["title"] == response.json["title"]


def test_keys_cli_makes_lists_and_revokes_a_key(runner, db):
    result = runner.invoke(args=["keys", "create", "Site CMS", "--scope", "write"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().rsplit(" ", 1)[1]
    assert apikeys.verify(db, secret, apikeys.ApiScope.WRITE)["name"] == "Site CMS"
    assert "Site CMS" in runner.invoke(args=["keys", "list"]).output and secret not in db.execute(
        "select group_concat(key_hash) from api_keys").fetchone()[0]
    assert runner.invoke(args=["keys", "revoke", "1"]).exit_code == 0
    assert apikeys.verify(db, secret, apikeys.ApiScope.WRITE) is None
    refused = runner.invoke(args=["keys", "revoke", "99"])
    assert refused.exit_code == 1 and "no API key 99" in refused.output
    assert runner.invoke(args=["keys", "create", " ", "--scope", "read"]).exit_code == 1
