"""The history page's diff stays cheap and right on long texts: sentences first, then words, bounded."""

import itertools

from feedsvc import releases
from feedsvc import revisions
from tests.helpers import make_release

SYLLABLES = ("ба", "ве", "гу", "до", "жи", "зе", "ка", "ло", "му", "ни", "по", "ра", "су", "ти", "фу", "ха")


def distinct_words(count: int) -> list[str]:
    """``count`` different words (four syllables each), as a long edit of real text has."""
    return ["".join(parts) for parts in itertools.islice(itertools.product(SYLLABLES, repeat=4), count)]


def sides(pieces: list[tuple[str, str]]) -> tuple[str, str]:
    """The old and the new text a diff's pieces describe."""
    return ("".join(text for op, text in pieces if op != "ins"), "".join(text for op, text in pieces if op != "del"))


def changes(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The deleted and inserted pieces, stripped."""
    return [(op, text.strip()) for op, text in pieces if op != "same"]


def test_one_paragraph_of_6000_distinct_words_diffs_to_the_changed_words():
    words = distinct_words(6000)
    old = " ".join(words) + "."
    edited = [*words[:3000], "ЗАМЕНА", *words[3001:5000], "ВСТАВКА", *words[5000:]]
    new = " ".join(edited) + "."
    pieces = revisions.diff_words(old, new)
    assert sides(pieces) == (old, new)
    assert changes(pieces) == [("del", words[3000]), ("ins", "ЗАМЕНА"), ("ins", "ВСТАВКА")]


def test_a_changed_stretch_too_long_for_a_word_diff_keeps_its_common_start_and_end():
    words = distinct_words(revisions.MAX_WORD_DIFF // 2 + 20)  # one sentence; its changed middle over the bound
    edited = [*words[:10], "ПЕРВОЕ", *words[11:-10], "ПОСЛЕДНЕЕ", *words[-9:]]
    old, new = " ".join(words), " ".join(edited)
    pieces = revisions.diff_words(old, new)
    assert sides(pieces) == (old, new)
    assert pieces[0] == ("same", " ".join(words[:10]) + " ")
    assert pieces[-1] == ("same", " " + " ".join(words[-9:]))
    assert changes(pieces) == [("del", " ".join(words[10:-9])), ("ins", " ".join(edited[10:-9]))]


def test_a_text_of_one_repeated_word_diffs_to_the_change():
    old = " ".join(["и"] * 4000)
    new = " ".join(["и"] * 2000 + ["или"] + ["и"] * 2000)
    pieces = revisions.diff_words(old, new)
    assert sides(pieces) == (old, new)
    assert [text for op, text in changes(pieces) if op == "ins"] == ["или"]


def test_many_repeated_sentences_diff_to_the_one_that_changed():
    old = "Да. " * 3000 + "Нет."
    new = "Да. " * 1500 + "Может быть. " + "Да. " * 1499 + "Нет."
    pieces = revisions.diff_words(old, new)
    assert sides(pieces) == (old, new)
    assert [text for op, text in changes(pieces) if op == "ins"] == ["Может быть."]


def test_history_page_of_a_long_edit_shows_the_changed_words(logged_in, db):
    words = distinct_words(6000)
    release = make_release(db, body=" ".join(words) + ".")
    releases.update_release(db, release["id"], {"body": " ".join([*words[:3000], "ЗАМЕНА", *words[3001:]]) + "."},
                            ("kk", "en"), author="editor")
    response = logged_in.get(f"/admin/releases/{release['id']}/history/ru")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"<del>{words[3000]}</del><ins>ЗАМЕНА</ins>" in html
    assert html.count("<del>") == 1 and html.count("<ins>") == 1
