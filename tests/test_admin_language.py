"""The admin speaks the editor's language: every admin page, in Russian and Kazakh, with data in every status,
shows no English interface word (statuses, flags, buttons, headers, flashes, form errors)."""

import io
import json
import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from feedsvc import releases
from feedsvc.config import default_config
from feedsvc.editorial import review
from feedsvc.modelstore.evaluate import Evaluation
from feedsvc.modelstore.evaluate import store
from feedsvc.states import JobStatus
from feedsvc.states import Origin
from feedsvc.states import ReleaseStatus
from feedsvc.states import TranslationStatus
from feedsvc.translation.checks import Flag
from tests.helpers import csrf_token
from tests.helpers import make_release
from tests.helpers import po_path

# Elements whose text is not interface text: code, commands, and anything marked as another language's data.
SKIPPED = {"code", "script", "style"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")


class VisibleText(HTMLParser):
    """The text a reader of ``lang`` sees or hears (text, titles, labels, button values) outside code and
    outside elements marked with another language."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang, self.stack, self.parts = lang, [], []

    def hidden(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in SKIPPED or attrs.get("lang", self.lang) != self.lang
        if not (skip or self.hidden()):
            self.parts += [attrs[a] for a in ("title", "placeholder", "aria-label", "alt") if attrs.get(a)]
            if tag == "input" and attrs.get("type") in ("submit", "button"):
                self.parts.append(attrs.get("value") or "")
        if tag not in VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self.hidden():
            self.parts.append(data)


def visible_text(html: str, lang: str) -> str:
    parser = VisibleText(lang)
    parser.feed(html)
    return " ".join(parser.parts)


def english_words() -> set[str]:
    """Every word of the English interface (the msgids) and every stored status and flag, lower-cased,
    less the words the Russian and Kazakh catalogs keep as they are (RSS, CSV, chrF…)."""
    with open(po_path("en"), "rb") as f:
        msgids = [m.id if isinstance(m.id, str) else " ".join(m.id) for m in read_po(f) if m.id]
    words = {w.lower() for text in msgids for w in WORD.findall(re.sub(r"%\(\w+\)\w", " ", text))}
    for vocabulary in (ReleaseStatus, TranslationStatus, JobStatus, Origin, Flag):
        words |= {value.lower() for value in vocabulary} | {part for value in vocabulary for part in value.split("-")}
    kept = set()
    for lang in ("ru", "kk"):
        with open(po_path(lang), "rb") as f:
            kept |= {w.lower() for m in read_po(f, locale=lang) if m.id
                     for s in ([m.string] if isinstance(m.string, str) else m.string) for w in WORD.findall(s or "")}
    return {w for w in words if len(w) >= 2} - kept


def every_status(db, app) -> list[dict]:
    """Releases, translations and jobs in every status there is, a held translation with every flag, a
    reviewed (human) version and an evaluation: the admin pages then show each status's label."""
    languages = tuple(app.config["TARGET_LANGUAGES"])
    made = [make_release(db, title=f"Релиз номер {n}", languages=languages, category="Новости") for n in range(4)]
    make_release(db, title="Черновик релиза", publish=False)
    releases.set_status(db, made[3]["id"], ReleaseStatus.WITHDRAWN, languages, reason="Ошибка в тексте")
    statuses = [TranslationStatus.PENDING, TranslationStatus.TRANSLATING, TranslationStatus.MACHINE,
                TranslationStatus.HELD, TranslationStatus.REVIEWED, TranslationStatus.OUTDATED,
                TranslationStatus.FAILED, TranslationStatus.NO_MODEL]
    checks = [{"source": "Первый абзац «с цитатой».", "output": "First paragraph with a quote.", "score": -0.5,
               "findings": [{"flag": flag, "reason": f"{flag} detail"} for flag in Flag]}]
    pairs = [(release, lang) for release in made for lang in languages]
    for (release, lang), status in zip(pairs, statuses, strict=True):
        text = {"en": "First paragraph", "kk": "Бірінші абзац"}[lang]
        db.execute("update translations set status = ?, title = ?, body = ?, origin = 'machine', flags = 1, "
                   "checks = ?, error = ? where release_id = ? and lang = ?",
                   [status, text, text + ".", json.dumps(checks), "boom" if status == "failed" else None,
                    release["id"], lang])
    review.save_human(db, made[2]["id"], "kk", "Бірінші", "Бірінші абзац.", author="editor", expected_version=None)
    job_ids = [row["id"] for row in db.query("select id from jobs order by id")]
    for job_id, status in zip(job_ids, list(JobStatus), strict=False):
        db.execute("update jobs set status = ? where id = ?", [status, job_id])
    store(db, Evaluation("kk", "ru→en→kk", "reviewed", 10, 50.0, 20.0, 0.1))
    return made


def admin_pages(client, made: list[dict], term_id: int) -> list[str]:
    """Every admin page there is, for these releases."""
    pages = ["/admin/", "/admin/releases/new", "/admin/models/", "/admin/glossary/", f"/admin/glossary/{term_id}"]
    for release in made:
        pages += [f"/admin/releases/{release['id']}/edit", f"/admin/releases/{release['id']}/review",
                  f"/admin/releases/{release['id']}/history/ru", f"/admin/releases/{release['id']}/history/kk"]
    return pages


def untranslated(html: str, lang: str, english: set[str]) -> list[str]:
    """English interface words in the page's visible text. Data is left out: e-mail addresses, the staff user
    name (``editor``, also an English word) and the language names, written as each language names itself."""
    text = re.sub(r"\S+@\S+", " ", visible_text(html, lang))
    text = re.sub(r"\beditor\b", " ", text)
    for name in default_config("instance")["LANGUAGE_NAMES"].values():
        text = text.replace(name, " ")
    return sorted({w for w in WORD.findall(text) if w.lower() in english})


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_admin_pages_show_no_english_interface_word(app, db, logged_in, models, terms, lang):
    made = every_status(db, app)
    logged_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    english = english_words()
    assert {"published", "pending", "done", "no-model", "withdraw", "save"} <= english  # the list is real
    term_id = terms[0].id
    found = {}
    for url in admin_pages(logged_in, made, term_id):
        response = logged_in.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html, url
        if words := untranslated(html, lang, english):
            found[url] = words
    assert not found, f"English interface words on {lang} admin pages: {found}"


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_admin_messages_and_form_errors_in_the_editors_language(app, db, logged_in, lang):
    """Flashes after actions and form validation errors (WTForms' own included) are translated too."""
    logged_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    english = english_words()
    token = csrf_token(logged_in, "/admin/releases/new")
    refused = logged_in.post("/admin/releases/new", data={"csrf_token": token, "title": "", "body": ""})
    assert refused.status_code == 400
    assert not untranslated(refused.get_data(as_text=True), lang, english)
    assert "This field is required" not in refused.get_data(as_text=True)
    release = make_release(db, languages=tuple(app.config["TARGET_LANGUAGES"]))
    for status in ("withdrawn", "draft", "published"):
        token = csrf_token(logged_in, f"/admin/releases/{release['id']}/edit")
        page = logged_in.post(f"/admin/releases/{release['id']}/{status}", data={"csrf_token": token, "confirm": "1"},
                              follow_redirects=True)
        html = page.get_data(as_text=True)
        assert 'class="flash success"' in html
        assert not untranslated(html, lang, english), status


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_login_and_its_refusal_in_the_editors_language(client, admin, lang):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    english = english_words()
    assert not untranslated(client.get("/admin/login").get_data(as_text=True), lang, english)
    token = csrf_token(client, "/admin/login")
    refused = client.post("/admin/login", data={"csrf_token": token, "username": admin[0], "password": "wrong"})
    html = refused.get_data(as_text=True)
    assert 'class="flash error"' in html and not untranslated(html, lang, english)
    missing = client.get("/admin/nothing-here").get_data(as_text=True)
    assert not untranslated(missing, lang, english)


@pytest.mark.parametrize(("lang", "form_error", "csv_error"), [
    ("ru", "в «*» нет букв", "нет столбцов: kk (нужен заголовок ru,en,kk)"),
    ("kk", "«*» ішінде әріп жоқ", "бағандар жоқ: kk (ru,en,kk тақырыбы керек)"),
])
def test_glossary_refusals_in_the_editors_language(logged_in, lang, form_error, csv_error):
    """The glossary's reasons come from the core as marked English templates, shown translated."""
    logged_in.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    token = csrf_token(logged_in, "/admin/glossary/")
    refused = logged_in.post("/admin/glossary/", data={"csrf_token": token, "ru": "*", "en": "x"})
    assert refused.status_code == 400 and form_error in refused.get_data(as_text=True)
    upload = {"csrf_token": token, "file": (io.BytesIO("ru,en\nСенат,Senate\n".encode()), "g.csv")}
    page = logged_in.post("/admin/glossary/import", data=upload, follow_redirects=True)
    assert csv_error in page.get_data(as_text=True)
    upload = {"csrf_token": token, "file": (io.BytesIO(b"ru,en,kk\n\xff\xfe\n"), "g.csv")}
    page = logged_in.post("/admin/glossary/import", data=upload, follow_redirects=True)
    assert "UTF-8" in page.get_data(as_text=True) and "codec" not in page.get_data(as_text=True)


def test_the_check_sees_an_untranslated_word():
    """The check itself: a raw status or an English button in interface text is caught; data marked with
    its language and code are not interface text."""
    english = english_words()
    html = ('<p>Статус: published</p><button>Save draft</button><p lang="en">Senate passed a law</p>'
            '<code>feedsvc models install</code>')
    assert untranslated(html, "ru", english) == ["Save", "draft", "published"]
