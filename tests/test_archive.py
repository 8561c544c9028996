"""A large archive: the admin release list a page at a time, filtered by status, translation, category and date;
index pages read from the nearer end; search ranking a common word's newest matches; bench/archive.py run end to
end at its smoke size (the test client against real SQLite files)."""

import re
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from feedsvc import clock
from feedsvc import jobs
from feedsvc import releases
from feedsvc import search
from feedsvc import translations
from feedsvc.editorial import review
from tests.helpers import ROOT
from tests.helpers import TARGETS
from tests.helpers import make_release
from tests.helpers import outputs_for
from tests.helpers import store_machine
from tests.helpers import translate_by_hand

ROW = re.compile(r'<a href="/admin/releases/(\d+)/edit">')


def listed(client, query: str = "") -> list[int]:
    """The release ids the admin list shows, in order."""
    response = client.get(f"/admin/{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [int(n) for n in ROW.findall(response.get_data(as_text=True))]


@pytest.fixture
def archive(app, db):
    """Seven releases a day apart (the newest first in the list), categories alternating, one draft."""
    app.config["ADMIN_PAGE_SIZE"] = 3
    first = datetime(2026, 11, 1, 9, tzinfo=UTC)
    made = [make_release(db, title=f"Заседание номер {n}", category="Встречи" if n % 2 else "Законы",
                         published_at=first + timedelta(days=n), publish=n != 6) for n in range(7)]
    return [release["id"] for release in made]


def test_the_list_comes_a_page_at_a_time_newest_first(logged_in, archive):
    newest_first = archive[::-1]
    assert listed(logged_in) == newest_first[:3]
    html = logged_in.get("/admin/").get_data(as_text=True)
    assert 'rel="next" href="/admin/?page=2"' in html and 'rel="prev"' not in html
    assert listed(logged_in, "?page=2") == newest_first[3:6]
    assert listed(logged_in, "?page=3") == newest_first[6:]
    assert 'rel="next"' not in logged_in.get("/admin/?page=3").get_data(as_text=True)
    assert logged_in.get("/admin/?page=4").status_code == 404
    assert logged_in.get("/admin/?page=0").status_code == 400


def test_filters_by_status_category_and_dates_and_pages_keep_them(logged_in, archive):
    assert listed(logged_in, "?status=draft") == [archive[6]]
    meetings = [archive[n] for n in (5, 3, 1)]
    assert listed(logged_in, "?category=Встречи") == meetings
    # Days in the press office's zone (Asia/Almaty): both ends included.
    assert listed(logged_in, "?since=2026-11-03&until=2026-11-05") == [archive[4], archive[3], archive[2]]
    assert listed(logged_in, "?status=published&since=2026-11-02") == [archive[5], archive[4], archive[3]]
    html = logged_in.get("/admin/?status=published&since=2026-11-02").get_data(as_text=True)
    assert 'href="/admin/?status=published&amp;since=2026-11-02&amp;page=2"' in html
    assert listed(logged_in, "?status=published&since=2026-11-02&page=2") == [archive[2], archive[1]]
    assert '<option value="Встречи" selected>' in logged_in.get("/admin/?category=Встречи").get_data(as_text=True)


def test_filters_by_translation_status_in_a_language_the_review_queue(logged_in, db, archive):
    db.execute("update translations set status = 'held' where release_id = ? and lang = 'kk'", [archive[2]])
    db.execute("update translations set status = 'held' where release_id = ? and lang = 'en'", [archive[4]])
    db.conn.commit()
    assert listed(logged_in, "?translation=held") == [archive[4], archive[2]]
    assert listed(logged_in, "?translation=held&lang=kk") == [archive[2]]
    assert listed(logged_in, "?translation=held&lang=en&category=Законы") == [archive[4]]
    assert listed(logged_in, "?translation=held&status=draft") == []
    assert "No releases match." in logged_in.get("/admin/?translation=held&status=draft").get_data(as_text=True)


@pytest.mark.parametrize("query", ("?status=lost", "?lang=xx", "?translation=done", "?since=2026-13-01",
                                   "?until=0201-01-01", "?category=Нет"))
def test_a_bad_filter_is_a_400_page_naming_the_field(logged_in, archive, query):
    response = logged_in.get(f"/admin/{query}")
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert not ROW.findall(response.get_data(as_text=True))


def test_categories_are_listed_once_each_in_order(db, archive):
    make_release(db, title="Без категории")
    assert releases.categories(db) == ["Встречи", "Законы"]


def test_every_index_page_lists_the_same_releases_from_either_end(app, db, archive):
    app.config["PAGE_SIZE"] = 2
    published = [rid for rid in archive[::-1] if releases.get_release(db, rid)["status"] == "published"]
    total = len(published)
    for page in range(1, 4):
        shown = releases.list_published(db, "ru", limit=2, offset=(page - 1) * 2, total=total)
        assert [view.id for view in shown] == published[(page - 1) * 2:page * 2]
        assert [view.id for view in shown] == [view.id for view in releases.list_published(
            db, "ru", limit=2, offset=(page - 1) * 2)]


def test_a_common_word_is_ranked_among_its_newest_matches(db, monkeypatch):
    # The oldest release names the word in its title (the best rank), but is not among the newest two matches.
    oldest = make_release(db, title="Бюджет Бюджет бюджет", body="Бюджет.")
    newer = [make_release(db, title=f"Заседание {n}", body="Обсудили бюджет.") for n in range(3)]
    assert search.find(db, "ru", "бюджет").hits[0].release.id == oldest["id"]
    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    found = [hit.release.id for hit in search.find(db, "ru", "бюджет").hits]
    assert sorted(found[:2]) == [r["id"] for r in newer[1:]]  # ranked within the window, whatever the older rank
    assert found[2:] == [newer[0]["id"], oldest["id"]]  # the older matches follow, newest first: none is lost


def test_the_review_queues_count_follows_holds_approvals_edits_take_downs_and_withdrawals(db, archive):
    def check(expected: int) -> None:
        assert review.queue_count(db) == len(translations.waiting(db)) == expected

    first, second = (releases.get_release(db, rid) for rid in archive[:2])
    check(0)
    assert store_machine(db, first, "en", outputs_for(first), flagged={1}) == "held"
    assert store_machine(db, second, "en", outputs_for(second)) == "done"
    check(1)
    held = translations.translation_row(db, first["id"], "en")
    review.approve(db, first["id"], "en", author="editor", expected_version=held["version"])
    check(0)
    edited = releases.update_release(db, second["id"], {"body": second["body"] + "\n\nНовый абзац."}, TARGETS)
    check(1)  # its published English was made for the older original
    releases.set_status(db, second["id"], "withdrawn", languages=TARGETS)
    check(0)
    releases.set_status(db, second["id"], "published", languages=TARGETS)
    check(1)
    assert review.take_down(db, first["id"], "en", author="editor")
    check(2)
    row = translations.translation_row(db, second["id"], "en")
    review.save_human(db, second["id"], "en", "Session", "Text.", author="editor", expected_version=row["version"],
                      source_revision=edited["revision"], learn=False)
    check(1)
    db.execute("delete from translations where release_id = ? and lang = 'en'", [first["id"]])
    check(0)


def test_the_archive_benchmark_runs_at_its_smoke_size():
    result = subprocess.run([sys.executable, "bench/archive.py", "--smoke"], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    pages = ("subscription feed", "release page", "index page 1", "index last page", "search, common word",
             "search, common word, newest first", "search, rare name", "sitemap file", "archive page",
             "admin release list", "review queue")
    lines = result.stdout.splitlines()
    for page in pages:
        assert any(re.match(rf"{re.escape(page)}\s+[\d.]+ ms\s+[\d.]+ ms\s+[\d.]+", line) for line in lines), page
    assert re.search(r"target: p50 at 1,000 ÷ p50 at 100 ≤ 1.5; \d+ of 22 miss it", result.stdout)


def test_the_published_count_follows_every_status_change(db, archive):
    def counted() -> int:
        return db.execute("select count(*) from releases where status = 'published'").fetchone()[0]

    assert releases.count_published(db) == counted() == 6
    releases.set_status(db, archive[6], "published", languages=TARGETS)
    releases.set_status(db, archive[0], "withdrawn", languages=TARGETS)
    releases.set_status(db, archive[1], "draft", languages=TARGETS)
    assert releases.count_published(db) == counted() == 5
    make_release(db, title="Ещё черновик", publish=False)
    make_release(db, title="Сразу опубликован")
    assert releases.count_published(db) == counted() == 6


def test_each_languages_count_follows_translations_status_changes_and_schedules(db, set_clock, archive):
    def counted(lang: str) -> int:
        return db.execute(f"""select count(*) from releases r where {releases.VISIBLE_SQL}
            {releases.translated_filter(lang, True)}""", {"lang": lang, "now": clock.stamp()}).fetchone()[0]

    def check() -> None:
        for lang in TARGETS:
            assert releases.count_published(db, lang) == counted(lang), lang

    check()
    assert counted("en") == 0
    while job := jobs.claim(db):  # English for the four oldest, as the worker would store it; nothing else
        if job["lang"] == "en" and job["release_id"] in archive[:4]:
            assert jobs.complete(db, job, {"title": f"Session {job['release_id']}", "body": "Text.", "route": "test"})
        else:
            jobs.complete_superseded(db, job)
    check()
    assert counted("en") == 4
    releases.set_status(db, archive[0], "withdrawn", languages=TARGETS)  # a translated release leaves the index
    releases.set_status(db, archive[1], "draft", languages=TARGETS)
    check()
    assert counted("en") == 2
    releases.set_status(db, archive[1], "published", languages=TARGETS)  # back, with its published translation
    check()
    later = make_release(db, title="Завтрашний релиз", published_at=clock.now() + timedelta(days=1))
    translate_by_hand(db, later, "en", "Tomorrow's release", "Text.")  # made ahead: not counted before its time
    check()
    assert counted("en") == 3
    set_clock.advance(days=2)
    check()
    assert counted("en") == 4
