"""Settings: one place for every default, and the languages setting really drives routes and queues."""

import pytest

from feedsvc import jobs
from feedsvc.config import ConfigError
from feedsvc.settings import EngineSettings
from feedsvc.settings import WorkerSettings
from feedsvc.web import create_app
from tests.conftest import make_release


def make(tmp_path, **config):
    """An app on a fresh instance folder with these settings."""
    return create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE": str(tmp_path / "feedsvc.db"),
                       "UPLOAD_FOLDER": str(tmp_path / "uploads"), "MODELS_DIR": str(tmp_path / "models"),
                       **config})


def test_worker_and_engine_settings_take_their_defaults_from_the_settings_classes(tmp_path):
    config = make(tmp_path).config
    assert config["WORKER_LEASE_SECONDS"] == WorkerSettings.lease_seconds == jobs.LEASE_SECONDS
    assert config["WORKER_BATCH_SENTENCES"] == WorkerSettings.batch_sentences
    assert config["ENGINE_BEAM_SIZE"] == EngineSettings.beam_size
    assert config["LANGUAGES"] == ["ru", "kk", "en"]


def test_an_unknown_worker_or_engine_setting_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown setting ENGINE_BEAMSIZE .*ENGINE_BEAM_SIZE"):
        make(tmp_path, ENGINE_BEAMSIZE=2)


def test_target_languages_drive_urls_and_queues(tmp_path):
    app = make(tmp_path, TARGET_LANGUAGES=["en"], PUBLISH_POLICY={"en": "auto"})
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
