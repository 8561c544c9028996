"""Settings: one place for every default, and the languages setting really drives routes and queues."""

import pytest

from feedsvc import jobs
from feedsvc.config import ConfigError
from feedsvc.editorial import review
from feedsvc.settings import EngineSettings
from feedsvc.settings import WorkerSettings
from feedsvc.storage import connect
from tests.helpers import app_with_settings
from tests.helpers import make_release


def test_worker_and_engine_settings_take_their_defaults_from_the_settings_classes(tmp_path):
    config = app_with_settings(tmp_path).config
    assert config["WORKER_LEASE_SECONDS"] == WorkerSettings.lease_seconds == jobs.LEASE_SECONDS
    assert config["WORKER_BATCH_SENTENCES"] == WorkerSettings.batch_sentences
    assert config["ENGINE_BEAM_SIZE"] == EngineSettings.beam_size
    assert config["LANGUAGES"] == ["ru", "kk", "kk-latn", "en"]  # the Kazakh Latin edition beside Kazakh


def test_an_unknown_worker_or_engine_setting_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting ENGINE_BEAMSIZE .*ENGINE_BEAM_SIZE"):
        app_with_settings(tmp_path, ENGINE_BEAMSIZE=2)


def test_target_languages_drive_urls_and_queues(tmp_path):
    app = app_with_settings(tmp_path, TARGET_LANGUAGES=["en"], PUBLISH_POLICY={"en": "auto"})
    client = app.test_client()
    assert client.get("/en/").status_code == 200
    assert client.get("/kk/").status_code == 404  # not a published language here
    assert client.get("/kk/feed.rss").status_code == 404
    from feedsvc.storage import connect

    db = connect(app.config["DATABASE"])
    release = make_release(db, languages=tuple(app.config["TARGET_LANGUAGES"]))
    queued = {row["lang"] for row in db.query("select lang from jobs where release_id = ?", [release["id"]])}
    assert queued == {"en"}
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert "/admin/releases/<id:release_id>/review/<target:lang>" in rules
    assert app.url_map.converters["target"].regex == "en"


# Another target set than the default ru→kk, en: each site serves its own languages and nothing else.
TRANSLATED = {"kk": ("Сенат заңды қабылдады", "Сенат заңды қабылдады."),
              "en": ("The Senate passed the law", "The Senate passed the law.")}


@pytest.mark.parametrize(("targets", "absent"), ((("en",), "kk"), (("kk",), "en")))
def test_a_site_with_other_target_languages_serves_exactly_those(tmp_path, targets, absent):
    app = app_with_settings(tmp_path, TARGET_LANGUAGES=list(targets))
    db = connect(app.config["DATABASE"])
    release = make_release(db, languages=targets)
    for lang in targets:
        review.save_human(db, release["id"], lang, *TRANSLATED[lang], author="editor", expected_version=None)
    client = app.test_client()
    assert client.get("/", headers={"Accept-Language": absent}).location.endswith("/ru/")  # the source, not absent
    for lang in ("ru", *targets):
        page = client.get(f"/{lang}/releases/{release['id']}", follow_redirects=True)
        assert page.status_code == 200
        assert f'<html lang="{lang}"' in page.text
        for fmt in ("rss", "atom", "json"):
            feed = client.get(f"/{lang}/feed.{fmt}")
            assert feed.status_code == 200
            assert f"/{lang}/releases/{release['id']}" in feed.text
    assert TRANSLATED[targets[0]][0] in client.get(f"/{targets[0]}/").text
    for path in (f"/{absent}/", f"/{absent}/feed.rss", f"/{absent}/releases/{release['id']}",
                 f"/admin/releases/{release['id']}/review/{absent}"):
        assert client.get(path).status_code == 404, path
    assert {row["lang"] for row in db.query("select lang from jobs")} == set(targets)
    assert f'hreflang="{absent}"' not in client.get(f"/{targets[0]}/").text
