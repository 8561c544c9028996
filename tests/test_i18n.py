"""Interface-text catalogs: complete, compiled, in step with the code, and used by the real pages.

When one of these fails after you added or changed a string in the code or templates, run

    bash scripts/i18n.sh extract update compile

translate the new (empty or "#, fuzzy") entries in feedsvc/i18n/{ru,kk}/LC_MESSAGES/messages.po,
run ``bash scripts/i18n.sh compile`` again, and commit the .pot, .po and .mo files.
"""

import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import escape

from tests.helpers import I18N
from tests.helpers import make_release
from tests.helpers import po_path

ROOT = Path(__file__).resolve().parent.parent
POT = I18N / "messages.pot"
LOCALES = ["ru", "kk", "en"]
TRANSLATED = ["ru", "kk"]  # en may (and does) use the msgids themselves
FIX = ("run `bash scripts/i18n.sh extract update compile` and translate the new entries "
       "in the ru and kk .po files")

# Python %-placeholders: %(name)s, %s, %d, %.1f ... (%% is a literal percent sign, not a placeholder).
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")
KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
LATIN = re.compile(r"[A-Za-z]")
# Strings that are the same in every language (product names, formats); none so far.
SAME_IN_ALL_LANGUAGES: set[str] = set()


def mo_path(lang: str) -> Path:
    return I18N / lang / "LC_MESSAGES" / "messages.mo"


def load_po(path: Path, lang: str | None = None):
    with open(path, "rb") as f:
        return read_po(f, locale=lang)


def entries(catalog) -> dict:
    """(context, msgid) -> message, without the header entry."""
    return {(m.context, m.id): m for m in catalog if m.id}


def msgid_text(message) -> str:
    return message.id[0] if isinstance(message.id, (list, tuple)) else message.id


def strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def ids(message) -> list[str]:
    return list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]


def label(key) -> str:
    context, msgid = key
    text = msgid[0] if isinstance(msgid, (list, tuple)) else msgid
    return f"{context}|{text!r}" if context else repr(text)


@pytest.fixture(scope="module")
def template():
    return load_po(POT)


# (c) The .pot is up to date with the code ----------------------------------------------------------


def extracted_ids() -> set:
    """The (context, msgid) pairs pybabel would extract now, with the same babel.cfg and keywords."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, filename=str(ROOT / "babel.cfg"))
    keywords = {**DEFAULT_KEYWORDS, "_l": None}  # scripts/i18n.sh passes -k _l
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
            str(ROOT / "feedsvc"), method_map, options_map, keywords=keywords):
        msgid = message[0] if isinstance(message, (list, tuple)) else message
        if msgid:
            found.add((context, msgid))
    return found


def test_pot_matches_the_code(template):
    in_code = extracted_ids()
    in_pot = {(context, msgid_text(m)) for (context, _), m in entries(template).items()}
    assert in_code, "no strings extracted: is babel.cfg right?"
    new = sorted(in_code - in_pot, key=str)
    gone = sorted(in_pot - in_code, key=str)
    assert not new and not gone, (
        f"feedsvc/i18n/messages.pot is out of date with the code: {FIX}.\n"
        f"  strings in the code but not in the .pot: {[label(k) for k in new]}\n"
        f"  strings in the .pot but no longer in the code: {[label(k) for k in gone]}")


# (a) Every string translated, placeholders intact ---------------------------------------------------


@pytest.mark.parametrize("lang", LOCALES)
def test_po_has_exactly_the_pot_strings(template, lang):
    assert po_path(lang).exists(), f"{po_path(lang)} is missing: {FIX}"
    catalog = load_po(po_path(lang), lang)
    missing = set(entries(template)) - set(entries(catalog))
    stale = set(entries(catalog)) - set(entries(template))
    assert not missing and not stale, (
        f"{lang}/messages.po is not merged with messages.pot: {FIX}.\n"
        f"  missing: {[label(k) for k in missing]}\n  no longer used: {[label(k) for k in stale]}")


@pytest.mark.parametrize("lang", LOCALES)
def test_every_string_is_translated(template, lang):
    catalog = entries(load_po(po_path(lang), lang))
    assert not load_po(po_path(lang), lang).fuzzy, f"the header of {lang}/messages.po is marked fuzzy"
    untranslated = [label(key) for key in entries(template)
                    if key in catalog and not all(s.strip() for s in strings(catalog[key]))]
    fuzzy = [label(key) for key in entries(template) if key in catalog and catalog[key].fuzzy]
    assert not untranslated, f"untranslated in {lang}/messages.po: {untranslated}; {FIX}"
    assert not fuzzy, (f"fuzzy (guessed, needs review) in {lang}/messages.po: {fuzzy}; "
                       "check them, remove the fuzzy flag, run `bash scripts/i18n.sh compile`")


@pytest.mark.parametrize("lang", LOCALES)
def test_placeholders_match(lang):
    catalog = load_po(po_path(lang), lang)
    wrong = []
    for message in entries(catalog).values():
        expected = Counter(PLACEHOLDER.findall(ids(message)[-1]))
        for string in strings(message):
            if string and Counter(PLACEHOLDER.findall(string)) != expected:
                wrong.append(f"{msgid_text(message)!r} -> {string!r}")
            names = re.findall(r"%\((\w+)\)", msgid_text(message))
            if string and names:  # Flask-Babel formats with the keyword arguments: it must not raise
                try:
                    string % {name: "x" for name in names}
                except (ValueError, TypeError, KeyError) as exc:
                    wrong.append(f"{string!r}: {exc}")
    assert not wrong, f"placeholders differ from the msgid in {lang}/messages.po: {wrong}"


@pytest.mark.parametrize("lang", LOCALES)
def test_catalog_passes_babel_checks(lang):
    catalog = load_po(po_path(lang), lang)
    problems = [f"{msgid_text(m)!r}: {'; '.join(map(str, errors))}" for m, errors in catalog.check()]
    assert not problems, f"{lang}/messages.po: {problems}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_are_in_cyrillic(lang):
    """A copied English string, or Latin look-alike letters inside Cyrillic words (a Kazakh 'i'
    typed as Latin i), would pass unnoticed on screen; catch them here."""
    problems = []
    for message in entries(load_po(po_path(lang), lang)).values():
        msgid = msgid_text(message)
        if msgid in SAME_IN_ALL_LANGUAGES:
            continue
        for string in strings(message):
            if LATIN.search(PLACEHOLDER.sub("", msgid)) and not CYRILLIC.search(string):
                problems.append(f"{msgid!r} -> {string!r} (no Cyrillic)")
            for word in re.findall(r"\w+", PLACEHOLDER.sub(" ", string)):
                if CYRILLIC.search(word) and LATIN.search(word):
                    problems.append(f"{msgid!r} -> {string!r} (mixed scripts in {word!r})")
    assert not problems, f"{lang}/messages.po: {problems}"


def test_kazakh_is_kazakh():
    """The Kazakh catalog is real Kazakh, not Russian under another name."""
    kk = entries(load_po(po_path("kk"), "kk"))
    ru = entries(load_po(po_path("ru"), "ru"))
    same_as_ru = [label(key) for key, m in kk.items() if key in ru and m.string == ru[key].string]
    with_kazakh_letters = [m for m in kk.values() if KAZAKH_LETTERS & set("".join(strings(m)))]
    assert len(same_as_ru) <= len(kk) // 10, f"kk translations identical to ru: {same_as_ru}"
    assert len(with_kazakh_letters) >= len(kk) // 2, "most Kazakh strings should use ә ғ қ ң ө ұ ү һ і"
    assert kk[(None, "Press releases")].string == "Баспасөз релиздері"
    assert kk[(None, "Machine translation.")].string == "Машиналық аударма."


def test_english_catalog_uses_the_msgids():
    for message in entries(load_po(po_path("en"), "en")).values():
        assert strings(message) == ids(message)[: len(strings(message))] or message.pluralizable, message.id


def test_plural_forms():
    assert load_po(po_path("kk"), "kk").plural_forms == "nplurals=2; plural=(n != 1);"
    assert load_po(po_path("ru"), "ru").num_plurals == 3
    assert load_po(po_path("en"), "en").plural_forms == "nplurals=2; plural=(n != 1);"


# (b) The committed .mo files are compiled from the current .po files ----------------------------------


def mo_contents(catalog) -> dict:
    return {(m.context, tuple(ids(m))): tuple(strings(m)) for m in catalog if m.id}


@pytest.mark.parametrize("lang", LOCALES)
def test_mo_is_up_to_date(lang):
    assert mo_path(lang).exists(), f"{mo_path(lang)} is missing: run `bash scripts/i18n.sh compile`"
    compiled = io.BytesIO()
    write_mo(compiled, load_po(po_path(lang), lang))  # what `pybabel compile` would write (no fuzzy)
    compiled.seek(0)
    expected = read_mo(compiled)
    with open(mo_path(lang), "rb") as f:
        committed = read_mo(f)
    assert mo_contents(committed) == mo_contents(expected), (
        f"{lang}/messages.mo is out of date with messages.po: "
        "run `bash scripts/i18n.sh compile` and commit it")
    assert committed.plural_forms == expected.plural_forms


# (d) The real pages speak the page's language -------------------------------------------------------


def translate(lang: str, msgid: str) -> str:
    """The catalog's translation, as the page shows it (HTML-escaped)."""
    string = entries(load_po(po_path(lang), lang))[(None, msgid)].string
    return str(escape(string))


@pytest.mark.parametrize("lang", LOCALES)
def test_index_interface_in_page_language(client, db, lang):
    make_release(db)
    html = client.get(f"/{lang}/").get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    for msgid in ("Press releases", "Search", "Feeds", "Language"):
        assert translate(lang, msgid) in html, (lang, msgid)
    others = [other for other in LOCALES if other != lang]
    for other in others:  # nothing of another language's interface leaks in
        assert f"<h1>{translate(other, 'Press releases')}</h1>" not in html


def test_kazakh_index_shows_kazakh(client, db):
    release = make_release(db)
    html = client.get("/kk/").get_data(as_text=True)
    assert '<html lang="kk">' in html
    assert "<h1>Баспасөз релиздері</h1>" in html
    assert release["title"] not in html  # never translated: not listed (its own page shows the original)
    assert "Press releases" not in html and "Пресс-релизы" not in html
    page = client.get(f"/kk/releases/{release['id']}", follow_redirects=True).get_data(as_text=True)
    assert release["title"] in page and 'class="notice pending"' in page


def test_english_and_russian_index(client, db):
    make_release(db)
    en = client.get("/en/").get_data(as_text=True)
    ru = client.get("/ru/").get_data(as_text=True)
    assert '<html lang="en">' in en and "<h1>Press releases</h1>" in en and "translation pending" not in en
    assert '<html lang="ru">' in ru and "<h1>Пресс-релизы</h1>" in ru


def test_kazakh_release_page_notice(client, db):
    release = make_release(db)
    response = client.get(f"/kk/releases/{release['id']}", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="kk">' in html
    notice = "The translation of this release is not ready yet; below is the Russian original."
    assert translate("kk", notice) in html


def test_unknown_release_404_in_kazakh(client, db):
    make_release(db)
    response = client.get("/kk/releases/999999")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<html lang="kk">' in html
    assert translate("kk", "There is no such page.") == "Мұндай бет жоқ."
    assert "Мұндай бет жоқ." in html
    assert translate("kk", "Go to the latest releases") in html
    assert "There is no such page." not in html and "Такой страницы нет." not in html


def test_unknown_release_404_in_english_and_russian(client):
    assert "There is no such page." in client.get("/en/releases/999999").get_data(as_text=True)
    assert "Такой страницы нет." in client.get("/ru/releases/999999").get_data(as_text=True)


@pytest.mark.parametrize("lang", LOCALES)
def test_admin_login_follows_the_browser_language(client, lang):
    """Pages without a language in the URL use the browser's preference, lazy form labels included."""
    html = client.get("/admin/login", headers={"Accept-Language": f"{lang},en;q=0.1"}).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert translate(lang, "User name") in html
    assert translate(lang, "Log in") in html


@pytest.mark.parametrize("lang", TRANSLATED)
def test_pybabel_finds_every_string_translated(tmp_path, lang):
    """pybabel's own count (`compile --statistics`): 100 % of the messages translated, none fuzzy."""
    import subprocess
    import sys

    pybabel = Path(sys.executable).with_name("pybabel")
    result = subprocess.run([str(pybabel), "compile", "--statistics", "-i", str(po_path(lang)),
                             "-o", str(tmp_path / "messages.mo"), "-l", lang],
                            capture_output=True, text=True, check=True)
    counts = re.search(r"(\d+) of (\d+) messages \((\d+)%\) translated", result.stderr + result.stdout)
    assert counts, result.stderr
    assert counts.group(1) == counts.group(2), f"pybabel: {counts.group(0)} in {lang}"
    assert "fuzzy" not in result.stderr + result.stdout
