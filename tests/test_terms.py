"""Terms that follow the calendar (the capital: Astana, Nur-Sultan, Astana), forbidden forms, one spelling of a
person per language, and check reasons in the editor's language."""

import dataclasses
import json
from datetime import UTC
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from markupsafe import escape

from feedsvc import releases
from feedsvc.demo import DEMO_DIR
from feedsvc.editorial import review
from feedsvc.modelstore import packages
from feedsvc.settings import WorkerSettings
from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation import checks
from feedsvc.translation import credits
from feedsvc.translation import glossary
from feedsvc.translation import memory
from feedsvc.translation import pipeline
from feedsvc.translation import typography
from feedsvc.translation import worker
from feedsvc.translation.checks import Flag
from feedsvc.translation.protect import GlossaryTerm
from feedsvc.translation.protect import terms_on
from feedsvc.translation.protect import wrong_forms
from tests.helpers import TARGETS
from tests.helpers import corpus
from tests.helpers import csrf_token
from tests.helpers import demo_releases
from tests.helpers import make_release
from tests.helpers import outputs_for
from tests.helpers import publish
from tests.helpers import store_machine

# A demo title with a glossary term where the capital's name now stands: the model sees the same placeholder
# text ("[1] принял закон …"), so what comes out is the glossary's form of the release's date.
CAPITAL_TITLE = "Нур-Султан принял закон о развитии местного самоуправления"
CAPITAL = {"en": {"2018": "Astana", "2020": "Nur-Sultan", "2024": "Astana"},
           "kk": {"2018": "Астана", "2020": "Нұр-Сұлтан", "2024": "Астана"}}


def capital_release(db, year: str):
    """A published release naming the capital, dated in ``year`` (Astana time: the date the glossary reads)."""
    item = demo_releases()[0]
    return releases.create_release(db, title=CAPITAL_TITLE, body=item["body"], category=item["category"],
                                   published_at=datetime(int(year), 5, 5, 6, 0, tzinfo=UTC), publish=True,
                                   languages=TARGETS)


def test_releases_of_2018_2020_and_2024_get_the_capitals_name_of_their_date(app, db, models, terms, engine):
    made = {year: capital_release(db, year) for year in ("2018", "2020", "2024")}
    settings = WorkerSettings(models_dir=app.config["MODELS_DIR"])
    assert worker.run(db, engine.translate_scored, settings, once=True) == 6
    for year, release in made.items():
        rows = releases.translations_of(db, release["id"])
        for lang in ("en", "kk"):
            wrong = {name for name in CAPITAL[lang].values() if name != CAPITAL[lang][year]}
            title = rows[lang]["title"]
            assert CAPITAL[lang][year] in title and not any(name in title for name in wrong), (year, lang, title)
            title_check = json.loads(rows[lang]["checks"])[0]
            assert not [f for f in title_check["findings"] if f["flag"] == Flag.NAMES], title_check


def test_a_day_gets_one_form_and_every_other_periods_form_is_wrong():
    terms = glossary_terms()
    assert [t.form("en") for t in terms_on(terms, "2020-05-05", "en")] == ["Nur-Sultan", "Kazakhstan"]
    assert [t.form("en") for t in terms_on(terms, "2019-03-22", "en")] == ["Astana", "Kazakhstan"]
    assert [t.form("kk") for t in terms_on(terms, "2022-09-17", "kk")] == ["Астана", "Қазақстан"]
    wrong = {(w.form, w.valid, w.forbidden) for w in wrong_forms(terms, "2024-01-01", "en")}
    assert wrong == {("Nur-Sultan", "Astana", False), ("Kazakstan", "Kazakhstan", True)}
    assert "Kazakstan" not in {t.form("en") for day in ("2018-01-01", "2024-01-01") for t in terms_on(terms, day, "en")}


def glossary_terms() -> list[GlossaryTerm]:
    """The capital's three periods, and Kazakhstan with a forbidden English spelling."""
    capital = "Астан*|Нур-Султан*"
    return [GlossaryTerm(capital, {"en": "Astana", "kk": "Астана"}, 1, None, "2019-03-22"),
            GlossaryTerm(capital, {"en": "Nur-Sultan", "kk": "Нұр-Сұлтан"}, 2, "2019-03-23", "2022-09-16"),
            GlossaryTerm(capital, {"en": "Astana", "kk": "Астана"}, 3, "2022-09-17", None),
            GlossaryTerm("Казахстан*", {"en": "Kazakhstan", "kk": "Қазақстан"}, 4),
            GlossaryTerm("Казахстан*", {"en": "Kazakstan"}, 5, forbidden=frozenset({"en"}))]


def check_on(day: str, source: str, output: str, lang: str = "en") -> list[checks.Finding]:
    """The names check of one sentence of a release published on ``day``."""
    terms = glossary_terms()
    context = checks.Context(lang, terms_on(terms, day, lang), checks.Calibration((0.45, 2.2)),
                             wrong=tuple(wrong_forms(terms, day, lang)))
    return checks.names(source, output, context)


def test_a_name_of_another_period_is_flagged_with_the_valid_one():
    source = "Сенаторы посетили Астану."
    assert check_on("2024-02-01", source, "Senators visited Astana.") == []
    found = check_on("2020-02-01", source, "Senators visited Astana.")
    assert {f.flag for f in found} == {Flag.NAMES}
    assert [f.reason for f in found] == ["name not found: Nur-Sultan",
                                         "“Astana” is not the name on the release's date: use “Nur-Sultan”"]
    kazakh = check_on("2020-02-01", source, "Сенаторлар Астанаға барды.", "kk")  # a case ending is still the name
    assert any("Астанаға" in f.reason and "Нұр-Сұлтан" in f.reason for f in kazakh)


def test_a_forbidden_form_is_flagged_and_never_substituted(db):
    found = check_on("2024-02-01", "Казахстан подписал соглашение.", "Kazakstan signed the agreement.")
    assert [f.reason for f in found] == ["name not found: Kazakhstan",
                                         "“Kazakstan” is a forbidden form: use “Kazakhstan”"]
    assert check_on("2024-02-01", "Казахстан подписал соглашение.", "Kazakhstan signed the agreement.") == []
    glossary.save_term(db, "Казахстан*", {"en": "Kazakstan"}, forbidden="en")
    glossary.save_term(db, "Казахстан*", {"en": "Kazakhstan"})
    route = packages.Route((fake_step("en"),))  # a model that says what it is given: the glossary's form shows
    checked, _ = pipeline.translate_texts(db, ["Казахстан"], route, "en", glossary.load_terms(db),
                                          lambda step, texts: texts)
    assert checked[0].output == "Kazakhstan"  # a forbidden form is never put in
    assert checked[0].findings == []


def test_an_editors_correction_with_another_periods_name_is_not_reused_on_a_later_date(db):
    sentence = "Нур-Султан принял закон."
    memory.store_human(db, "en", {sentence: "Nur-Sultan adopted the law."})
    route = packages.Route((fake_step("en"),))
    said = {"[1] принял закон.": "[1] adopted a law."}
    for day, wanted in (("2020-05-05", "Nur-Sultan adopted the law."), ("2024-05-05", "Astana adopted a law.")):
        checked, sent = pipeline.translate_texts(db, [sentence], route, "en", glossary_terms(),
                                                 lambda step, texts: [said[t] for t in texts], day=day)
        assert checked[0].output == wanted and checked[0].findings == []


def test_glossary_csv_round_trips_dates_and_forbidden_marks(db):
    text = (DEMO_DIR / "glossary.csv").read_text(encoding="utf-8") + "Казахстан*,Kazakstan,,,,en\r\n"
    assert glossary.import_csv(db, text) == 9
    exported = glossary.export_csv(db)
    assert exported.splitlines()[0] == "ru,en,kk,valid_from,valid_until,forbidden"
    assert "Астан*|Нур-Султан*,Nur-Sultan,Нұр-Сұлтан,2019-03-23,2022-09-16," in exported
    assert "Казахстан*,Kazakstan,,,,en" in exported
    before = glossary.load_terms(db)
    assert glossary.import_csv(db, exported) == 9
    assert glossary.load_terms(db) == before  # the same terms, none doubled
    assert glossary.export_csv(db) == exported
    assert glossary.import_csv(db, "ru,en,kk\nСенат*,Senate,Сенат\n") == 1  # an old file without the new columns


@pytest.mark.parametrize(("line", "message"), [
    ("Астан*,Astana,Астана,2019-13-01,,", "line 3: “2019-13-01” is not a date"),
    ("Астан*,Astana,Астана,22 марта,,", "line 3: “22 марта” is not a date"),
    ("Астан*,Astana,Астана,2022-09-17,2019-03-22,", "line 3: the term ends (2019-03-22) before it begins"),
    ("Астан*,Astana,Астана,2010-01-01,,", "line 3: the period overlaps another term"),
    ("Астан*,Astana,,,,kk", "line 3: a forbidden form in “kk” needs that form filled in"),
    ("Астан*,Astana,,,,de", "line 3: “de” is not a language"),
])
def test_a_bad_date_in_a_csv_is_one_line_error_and_nothing_is_imported(db, line, message):
    text = f"ru,en,kk,valid_from,valid_until,forbidden\nАстан*,Astana,Астана,2015-01-01,2019-03-22,\n{line}\n"
    with pytest.raises(glossary.BadGlossary) as refused:
        glossary.import_csv(db, text)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert glossary.load_terms(db) == []


def test_the_admin_glossary_carries_dates_and_the_forbidden_mark(logged_in, db):
    token = csrf_token(logged_in, "/admin/glossary/")
    form = {"ru": "Астан*|Нур-Султан*", "en": "Nur-Sultan", "kk": "Нұр-Сұлтан", "valid_from": "23.03.2019",
            "valid_until": "2022-09-16", "csrf_token": token}
    assert logged_in.post("/admin/glossary/", data=form).status_code == 302
    term = glossary.load_terms(db)[0]
    assert (term.valid_from, term.valid_until, term.forbidden) == ("2019-03-23", "2022-09-16", frozenset())
    page = logged_in.get("/admin/glossary/").get_data(as_text=True)
    assert "2019-03-23 – 2022-09-16" in page
    edit = logged_in.get(f"/admin/glossary/{term.id}").get_data(as_text=True)
    assert 'value="2019-03-23"' in edit and 'value="2022-09-16"' in edit
    refused = logged_in.post(f"/admin/glossary/{term.id}", data={**form, "valid_until": "2019-02-30"})
    assert refused.status_code == 400
    assert "“2019-02-30” is not a date: write it as 2019-03-23" in refused.get_data(as_text=True)
    marked = logged_in.post(f"/admin/glossary/{term.id}", data={**form, "forbidden_en": "y"})
    assert marked.status_code == 302 and glossary.get_term(db, term.id).forbidden == {"en"}
    assert 'class="forbidden"' in logged_in.get("/admin/glossary/").get_data(as_text=True)
    logged_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ru"
    russian = logged_in.post(f"/admin/glossary/{term.id}", data={**form, "valid_from": "вчера"})
    assert russian.status_code == 400 and "«вчера» — не дата" in russian.get_data(as_text=True)


def test_a_bad_csv_line_is_one_message_on_the_glossary_page(logged_in, db):
    token = csrf_token(logged_in, "/admin/glossary/")
    data = "ru,en,kk,valid_from,valid_until,forbidden\nСенат*,Senate,Сенат,,,\nАстан*,Astana,Астана,2019-3-1,,\n"
    response = logged_in.post("/admin/glossary/import", data={"file": (BytesIO(data.encode()), "g.csv"),
                                                              "csrf_token": token}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The CSV was refused: line 3: “2019-3-1” is not a date" in html
    assert glossary.load_terms(db) == []


# --- one spelling of a person per language -------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "text", "credit"), [
    ("kk", "Бүгін Ерлан Үкібаевтың сөзі тыңдалды. Үкібаев айтты.", "Фото: Е. Үкібаев"),
    ("kk", "Бүгін сессия өтті.", "Фото: Е. Укибаев"),  # not in the body: kept as written
    ("en", "Yerlan Ukibaev spoke today.", "Photo: Ye. Ukibaev"),
    ("en", "The session was held today.", "Photo: Ye. Ukibayev"),  # not in the body: romanized
])
def test_a_credit_spells_the_photographer_as_the_translation_does(lang, text, credit):
    assert credits.localize("Фото – Е.Укибаев", lang, text) == credit


def test_a_name_the_glossary_lists_is_the_glossary_form_in_the_credit():
    terms = [GlossaryTerm("Маулен* Ашимбаев*", {"en": "Maulen Ashimbayev", "kk": "Мәулен Әшімбаев"})]
    assert credits.localize("Фото – М.Ашимбаев", "kk", "Ашимбаев", terms) == "Фото: М. Әшімбаев"
    assert credits.localize("Фото – Маулен Ашимбаев", "en", "", terms) == "Photo: Maulen Ashimbayev"


def test_the_worker_writes_the_kazakh_credit_as_the_kazakh_body_spells_it(db):
    release = make_release(db, title="Сенатор Укибаев выступил.", body="Сенатор Укибаев выступил в Сенате.",
                           photo_credit="Фото – Е.Укибаев")
    said = {"Сенатор Укибаев выступил.": "Сенатор Үкібаев сөз сөйледі.",
            "Сенатор Укибаев выступил в [1].": "Сенатор Үкібаев [1] сөз сөйледі."}
    outcome = pipeline.translate_release(db, release, "kk", packages.Route((fake_step("kk"),)),
                                         [GlossaryTerm("Сенат|Сенате", {"kk": "Сенат"})],
                                         lambda step, texts: [said[t] for t in texts])
    assert "Үкібаев" in outcome.body and outcome.photo_credit == "Фото: Е. Үкібаев"


def fake_step(lang: str) -> packages.PackageInfo:
    """A route step ru→``lang`` (the package itself is never loaded: the model is a function of the test)."""
    return packages.PackageInfo(name=f"fake-ru-{lang}", path=Path("."), from_code="ru", to_code=lang, version="1")


# --- check reasons in the editor's language ------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "shown"), [
    ("en", "“Astana” is not the name on the release's date: use “Nur-Sultan”"),
    ("ru", "«Astana» — не название на дату релиза: пишите «Nur-Sultan»"),
    ("kk", "«Astana» — релиз күніндегі атау емес: «Nur-Sultan» деп жазыңыз"),
])
def test_check_reasons_on_the_review_screen_are_in_the_editors_language(logged_in, db, lang, shown):
    release = make_release(db)
    store_machine(db, release, "en", outputs_for(release), flagged={0})
    row = releases.translations_of(db, release["id"])["en"]
    record = json.loads(row["checks"])
    finding = checks.Finding.of(Flag.NAMES, checks.wrong_reason(False, True), used="Astana", valid="Nur-Sultan")
    record[0]["findings"] = [dataclasses.asdict(finding)]
    db.execute("update translations set checks = ? where release_id = ? and lang = 'en'",
               [json.dumps(record, ensure_ascii=False), release["id"]])
    logged_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    page = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert shown.replace("'", "&#39;") in page


# --- the public withdrawal reason in every language ----------------------------------------------------------------

def drain(app, db, engine) -> int:
    """Run the real worker with the demo models until the queue is empty (the default policy: flagged is held)."""
    settings = WorkerSettings(models_dir=app.config["MODELS_DIR"], publish_policy=app.config["PUBLISH_POLICY"])
    return worker.run(db, engine.translate_scored, settings, once=True)


def test_the_withdrawal_reason_is_translated_checked_and_shown_in_each_language(app, client, db, models, terms,
                                                                                 engine):
    first, other = demo_releases()[:2]
    release = publish(db, first)
    drain(app, db, engine)
    reason = split_sentences(split_paragraphs(other["body"])[0])[0]  # a sentence the demo models know
    releases.set_status(db, release["id"], "withdrawn", TARGETS, reason=reason)
    assert drain(app, db, engine) == 2  # the reason is queued in both languages (the rest comes from memory)
    rows = releases.translations_of(db, release["id"])
    for lang in ("en", "kk"):
        wanted = typography.apply(corpus()[reason][lang], lang)
        assert (rows[lang]["status"], rows[lang]["published_withdrawal_reason"]) == ("machine", wanted)
        record = [s for s in json.loads(rows[lang]["checks"]) if s["part"] == "withdrawal_reason"]
        assert [(s["source"], s["findings"]) for s in record] == [(reason, [])]  # checked like every sentence
        page = client.get(f"/{lang}/releases/{release['id']}")
        assert page.status_code == 410
        assert f'<dd lang="{lang}">{escape(wanted)}</dd>' in page.get_data(as_text=True)
    russian = client.get(f"/ru/releases/{release['id']}").get_data(as_text=True)
    assert f'<dd lang="ru">{reason}</dd>' in russian


def test_a_flagged_reason_waits_for_an_editor_and_the_russian_is_shown_meanwhile(app, client, db, models, terms,
                                                                                   engine):
    release = publish(db, demo_releases()[0])
    drain(app, db, engine)
    reason = "Сенатор Иванов попросил снять публикацию."  # unknown to the demo models: its name is lost
    releases.set_status(db, release["id"], "withdrawn", TARGETS, reason=reason)
    drain(app, db, engine)
    row = releases.translations_of(db, release["id"])["en"]
    assert row["status"] == "held" and row["published_withdrawal_reason"] is None
    record = [s for s in json.loads(row["checks"]) if s["part"] == "withdrawal_reason"]
    assert record and record[0]["findings"]
    assert f'<dd lang="ru">{reason}</dd>' in client.get(f"/en/releases/{release['id']}").get_data(as_text=True)
    review.save_human(db, release["id"], "en", row["title"], row["body"], author="editor",
                      expected_version=row["version"], withdrawal_reason="Senator Ivanov asked to withdraw it.",
                      seen_all=True)
    page = client.get(f"/en/releases/{release['id']}").get_data(as_text=True)
    assert '<dd lang="en">Senator Ivanov asked to withdraw it.</dd>' in page
    # Published again, then withdrawn for another reason: the old translation is never shown for the new one.
    releases.set_status(db, release["id"], "published", TARGETS)
    releases.set_status(db, release["id"], "withdrawn", TARGETS, reason="Дубликат.")
    assert '<dd lang="ru">Дубликат.</dd>' in client.get(f"/en/releases/{release['id']}").get_data(as_text=True)


def test_the_review_screen_has_the_reason_of_a_withdrawn_release_only(logged_in, db):
    release = make_release(db)
    store_machine(db, release, "en", outputs_for(release))
    page = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert "Public reason of the withdrawal" not in page
    releases.set_status(db, release["id"], "withdrawn", TARGETS, reason="Опубликован по ошибке")
    page = logged_in.get(f"/admin/releases/{release['id']}/review").get_data(as_text=True)
    assert "Public reason of the withdrawal" in page and 'name="en-withdrawal_reason"' in page
