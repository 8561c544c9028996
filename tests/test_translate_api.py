"""The LibreTranslate-compatible endpoint: LibreTranslate's own Python client against a served app, answered by a
real `feedsvc worker` with the tiny demo models (ru→en direct, ru→kk through English)."""

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from libretranslatepy import LibreTranslateAPI

from feedsvc import apikeys
from feedsvc import textrequests
from feedsvc.demo import DEMO_DIR
from feedsvc.demo import install_demo_models
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from feedsvc.text.detect import detect
from feedsvc.translation import glossary
from feedsvc.translation import typography
from feedsvc.translation import worker
from feedsvc.translation.texts import pieces
from feedsvc.web import create_app
from tests.helpers import HANG_SECONDS
from tests.helpers import corpus
from tests.helpers import csrf_token
from tests.helpers import make_release
from tests.helpers import migrated
from tests.helpers import served
from tests.helpers import wait_until
from tests.helpers import worker_env

SENTENCE = "Сенат принял закон о развитии местного самоуправления"
OTHER = "Закон расширяет полномочия маслихатов и вводит ежегодный отчет акима перед населением."


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    """A migrated instance with the demo models and glossary, and a real worker serving it (module-wide: the
    worker loads torch once)."""
    root = tmp_path_factory.mktemp("translate-api")
    config = migrated({"TESTING": True, "SECRET_KEY": "test", "DATABASE": str(root / "feedsvc.db"),
                       "UPLOAD_FOLDER": str(root / "uploads"), "MODELS_DIR": str(root / "models"),
                       "ARGOS_HOME": str(root / "argos"), "RATELIMIT_ENABLED": False})
    install_demo_models(config["MODELS_DIR"])
    db = connect(config["DATABASE"])
    glossary.import_csv(db, (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8"))
    db.close()
    worker = subprocess.Popen([sys.executable, "-m", "feedsvc.commands", "worker"],
                              env=worker_env(create_app(dict(config))), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    yield config
    worker.terminate()
    worker.wait(timeout=HANG_SECONDS)


@pytest.fixture
def serve(instance):
    """Serve the instance with extra settings; yields a function giving the base URL."""
    import contextlib

    with contextlib.ExitStack() as stack:
        def start(**settings) -> str:
            """A served app with these settings."""
            return stack.enter_context(served(create_app({**instance, **settings}))) + "/"

        yield start


def expected(sentence: str, lang: str) -> str:
    """The demo corpus's translation of a sentence, as the worker typesets it."""
    return typography.apply(corpus()[sentence][lang], lang)


def post(url: str, payload: dict, as_json: bool = True) -> tuple[int, dict]:
    """POST as LibreTranslate's documented curl examples do (JSON), or as a form; returns status and JSON."""
    from urllib.parse import urlencode

    data = json.dumps(payload).encode() if as_json else urlencode(payload).encode()
    request = urllib.request.Request(url, data=data, headers={
        "Content-Type": "application/json" if as_json else "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=HANG_SECONDS) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


# The client never closes its responses (urlopen without ``with``): their sockets are collected later.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_libretranslate_client_translates_with_a_key_made_in_the_admin(instance, serve):
    url = serve(TRANSLATE_API="keys")
    db = connect(instance["DATABASE"])
    _, secret = apikeys.create(db, "Nextcloud", "translate")
    client = LibreTranslateAPI(url, api_key=secret)
    assert client.translate(SENTENCE, "ru", "en", timeout=HANG_SECONDS) == expected(SENTENCE, "en")
    assert client.translate(SENTENCE, "ru", "kk", timeout=HANG_SECONDS) == expected(SENTENCE, "kk")  # the pivot
    assert client.detect("Сенат заңды қабылдады.")[0]["language"] == "kk"
    languages = {item["code"]: item["targets"] for item in client.languages()}
    assert languages["ru"] == ["kk", "en"] and languages["en"] == ["kk"] and languages["kk"] == []
    # Nothing sent stays stored.
    assert db.execute("select count(*) from text_requests").fetchone()[0] == 0
    assert db.execute("select last_used_at from api_keys").fetchone()[0]


@pytest.mark.parametrize(("given", "status", "error"), (
    ({}, 403, "Missing API key"),
    ({"api_key": "fsk_wrong"}, 403, "Invalid API key"),
))
def test_keys_mode_refuses_a_missing_or_wrong_key(serve, given, status, error):
    url = serve(TRANSLATE_API="keys")
    code, answer = post(url + "translate", {"q": SENTENCE, "source": "ru", "target": "en", **given})
    assert (code, answer["error"].split(":")[0]) == (status, error)


def test_revoked_and_read_scoped_keys_cannot_translate(instance, serve):
    url = serve(TRANSLATE_API="keys")
    db = connect(instance["DATABASE"])
    revoked, revoked_secret = apikeys.create(db, "old laptop", "translate")
    apikeys.revoke(db, revoked["id"])
    _, cms_secret = apikeys.create(db, "CMS", "read")
    for secret in (revoked_secret, cms_secret):
        code, answer = post(url + "translate", {"q": SENTENCE, "source": "ru", "target": "en", "api_key": secret})
        assert (code, answer) == (403, {"error": "Invalid API key"})


def test_list_auto_and_html_as_libretranslate_documents_them(serve):
    url = serve(TRANSLATE_API="open")
    code, answer = post(url + "translate", {"q": [SENTENCE, OTHER], "source": "auto", "target": "en"})
    assert code == 200, answer
    assert answer["translatedText"] == [expected(SENTENCE, "en"), expected(OTHER, "en")]
    assert answer["detectedLanguage"] == [{"confidence": 100.0, "language": "ru"}] * 2
    assert answer["flags"] == [[], []]
    html = f'<p class="lead">{SENTENCE}</p>\n<script>var x = "{SENTENCE}";</script>'
    code, answer = post(url + "translate", {"q": html, "source": "ru", "target": "en", "format": "html"},
                        as_json=False)
    assert code == 200, answer
    assert answer["translatedText"] == (f'<p class="lead">{expected(SENTENCE, "en")}</p>\n'
                                        f'<script>var x = "{SENTENCE}";</script>')


def test_sentence_checks_flags_come_back_as_an_extra_field(serve):
    url = serve(TRANSLATE_API="open")
    # A number the demo model has never seen: the literals check compares numbers of source and output.
    code, answer = post(url + "translate", {"q": "Сенат принял закон 12345.", "source": "ru", "target": "en"})
    assert code == 200, answer
    assert isinstance(answer["translatedText"], str)
    assert answer["flags"] and all(flag["findings"] for flag in answer["flags"])
    assert answer["flags"][0]["source"] == "Сенат принял закон 12345."


@pytest.mark.parametrize(("payload", "error"), (
    ({"source": "ru", "target": "en"}, "Invalid request: missing q parameter"),
    ({"q": "x", "target": "en"}, "Invalid request: missing source parameter"),
    ({"q": "x", "source": "ru"}, "Invalid request: missing target parameter"),
    ({"q": "x", "source": "de", "target": "en"}, "de is not supported"),
    ({"q": "x", "source": "ru", "target": "de"}, "de is not supported"),
    ({"q": "x", "source": "kk", "target": "ru"}, "Russian (ru) is not available as a target language from Kazakh (kk)"),
    ({"q": "x", "source": "ru", "target": "en", "format": "pdf"}, "Invalid request: format must be text or html"),
    ({"q": "я" * 5001, "source": "ru", "target": "en"}, "Invalid request: request (5001) exceeds text limit (5000)"),
))
def test_bad_requests_get_libretranslates_400_and_store_nothing(instance, serve, payload, error):
    url = serve(TRANSLATE_API="open")
    assert post(url + "translate", payload) == (400, {"error": error})
    assert connect(instance["DATABASE"]).execute("select count(*) from text_requests").fetchone()[0] == 0


def test_off_by_default_is_a_404(serve):
    url = serve()
    assert post(url + "translate", {"q": SENTENCE, "source": "ru", "target": "en"})[0] == 404
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "languages", timeout=HANG_SECONDS)
    with refused.value:
        assert refused.value.code == 404


def test_too_many_requests_is_libretranslates_429(serve):
    url = serve(TRANSLATE_API="open", RATELIMIT_ENABLED=True, TRANSLATE_API_RATE_LIMIT="2 per minute")
    codes = [post(url + "detect", {"q": "Сенат"}) for _ in range(3)]
    assert [code for code, _ in codes] == [200, 200, 429]
    assert codes[2][1]["error"].startswith("Slowdown:")


def test_no_worker_answer_is_a_503_and_the_request_is_not_kept(tmp_path):
    config = migrated({"TESTING": True, "SECRET_KEY": "t", "DATABASE": str(tmp_path / "x.db"),
                       "UPLOAD_FOLDER": str(tmp_path / "u"), "MODELS_DIR": str(tmp_path / "models"),
                       "TRANSLATE_API": "open", "TRANSLATE_API_TIMEOUT": 0.2})
    install_demo_models(config["MODELS_DIR"])
    response = create_app(config).test_client().post("/translate", json={"q": SENTENCE, "source": "ru",
                                                                          "target": "en"})
    assert response.status_code == 503
    assert "feedsvc worker" in response.json["error"] and response.headers["Retry-After"]
    assert connect(config["DATABASE"]).execute("select count(*) from text_requests").fetchone()[0] == 0


def test_web_process_translating_never_imports_the_translation_stack(tmp_path):
    code = (
        "import sys; from feedsvc.web import create_app; from feedsvc.migrations import migrate; "
        "from feedsvc.demo import install_demo_models; "
        f"from feedsvc.storage import connect; migrate(connect(r'{tmp_path}/x.db')); "
        f"install_demo_models(r'{tmp_path}/models'); "
        f"app = create_app({{'TESTING': True, 'DATABASE': r'{tmp_path}/x.db', 'UPLOAD_FOLDER': r'{tmp_path}/u', "
        f"'MODELS_DIR': r'{tmp_path}/models', 'TRANSLATE_API': 'open', 'TRANSLATE_API_TIMEOUT': 0.1}}); "
        "c = app.test_client(); assert c.get('/languages').json[0]['targets']; "
        "assert c.post('/translate', json={'q': 'Сенат', 'source': 'auto', 'target': 'en'}).status_code == 503; "
        "assert c.post('/detect', data={'q': 'Сенат'}).status_code == 200; "
        "heavy = [m for m in ('argostranslate', 'ctranslate2', 'torch', 'stanza', 'transformers') "
        "if m in sys.modules]; print(','.join(heavy) or 'clean')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_SECONDS)
    assert result.stdout.strip() == "clean", result.stderr


@pytest.mark.parametrize(("text", "lang"), (
    ("Сенат принял закон.", "ru"),
    ("Сенат заңды қабылдады.", "kk"),
    ("ӘКІМ", "kk"),
    ("The Senate adopted a law.", "en"),
))
def test_detect_tells_kazakh_russian_and_english_by_their_letters(text, lang):
    assert detect(text)[0] == (lang, 100.0)


def test_detect_gives_a_mixed_text_to_its_larger_script():
    ranked = detect("Сенат принял закон: Senate")
    assert [lang for lang, _ in ranked] == ["ru", "en"] and ranked[0][1] > ranked[1][1] > 0


def test_plain_text_keeps_its_lines_and_html_its_markup():
    assert pieces("Один. Два.\n\n  Три", "text") == [["Один.", "Два."], "\n\n  ", ["Три"]]
    assert pieces("<b>Да &amp; нет</b><style>p{}</style>", "html") == [
        "<b>", ["Да & нет"], "</b>", "<style>", "p{}", "</style>"]


def test_admin_makes_shows_once_and_revokes_keys(logged_in, db):
    token = csrf_token(logged_in, "/admin/keys/")
    page = logged_in.post("/admin/keys/", data={"name": "Discourse", "scope": "translate", "csrf_token": token})
    html = page.get_data(as_text=True)
    secret = html.split('<code id="new-key">')[1].split("</code>")[0]
    assert apikeys.verify(db, secret, apikeys.ApiScope.TRANSLATE)["name"] == "Discourse"
    assert secret not in logged_in.get("/admin/keys/").get_data(as_text=True)  # shown once
    assert db.execute("select key_hash from api_keys").fetchone()[0] == apikeys.key_hash(secret)
    key_id = db.execute("select id from api_keys").fetchone()[0]
    response = logged_in.post(f"/admin/keys/{key_id}/revoke", data={"csrf_token": token})
    assert response.status_code == 302
    assert apikeys.verify(db, secret, apikeys.ApiScope.TRANSLATE) is None


def test_stale_text_requests_are_dropped_by_the_worker(db, set_clock):
    stale = textrequests.submit(db, [textrequests.TextItem("Сенат", "ru")], "en", "text")
    set_clock.advance(seconds=textrequests.STALE_SECONDS + 1)
    fresh = textrequests.submit(db, [textrequests.TextItem("Сенат", "ru")], "en", "text")
    assert textrequests.claim(db)["id"] == fresh
    assert textrequests.finished(db, stale)["status"] == "failed"  # gone


def test_worker_answers_waiting_texts_before_release_jobs(app, db, engine, models, terms):
    make_release(db, title=OTHER)  # published: two jobs queued first
    request_id = textrequests.submit(db, [textrequests.TextItem(SENTENCE, "ru")], "en", "text")
    answered = []
    worker.run(db, engine.translate, WorkerSettings(models_dir=app.config["MODELS_DIR"]), once=True, max_jobs=1,
               on_job=lambda job, result: answered.append(textrequests.finished(db, request_id)))
    assert answered[0]["answer"] == [{"translatedText": expected(SENTENCE, "en"), "flags": []}]


def test_a_model_failure_is_libretranslates_500_with_the_reason(app, models):
    app.config["TRANSLATE_API"] = "open"

    def broken(step, sentences, **options):
        """A model that cannot run."""
        raise RuntimeError("model file damaged")

    configured, other = WorkerSettings(models_dir=app.config["MODELS_DIR"]), connect(app.config["DATABASE"])
    helper = threading.Thread(target=wait_until, daemon=True,
                              args=(lambda: worker.serve_texts(other, broken, configured), "no text request came"))
    helper.start()
    response = app.test_client().post("/translate", data={"q": SENTENCE, "source": "ru", "target": "en"})
    helper.join(HANG_SECONDS)
    other.close()
    assert response.status_code == 500
    assert response.json == {"error": "Cannot translate text: RuntimeError: model file damaged"}


def test_browser_tools_may_call_from_their_own_origin_and_read_the_settings(app):
    app.config["TRANSLATE_API"] = "keys"
    client = app.test_client()
    preflight = client.options("/translate", headers={"Origin": "moz-extension://x",
                                                      "Access-Control-Request-Method": "POST"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    frontend = client.get("/frontend/settings").json
    assert (frontend["keyRequired"], frontend["charLimit"]) == (True, 5000)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
PARAMETER = st.sampled_from(["q", "source", "target", "format", "api_key", "alternatives", ""])
VALUE = st.one_of(JSON, st.sampled_from(["auto", "ru", "kk", "en", "html", "text", "", "de", "fsk_x"]),
                  st.lists(st.text(max_size=30), max_size=4))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(st.dictionaries(PARAMETER, VALUE, max_size=6), JSON))
def test_any_json_body_is_answered_as_libretranslate_would_and_stores_nothing(app, db, models, body):
    app.config.update(TRANSLATE_API="open", TRANSLATE_API_TIMEOUT=0.01)  # no worker: a valid request times out
    client = app.test_client()
    for path in ("/translate", "/detect"):
        response = client.post(path, json=body)
        assert response.status_code in (200, 400, 503), (path, response.status_code, response.json)
        assert response.status_code != 200 or path == "/detect"
        assert isinstance(response.json, list) or response.json.get("error")
    assert db.execute("select count(*) from text_requests").fetchone()[0] == 0
