"""Domain errors carry their subject as named attributes and say what went wrong in words for a person."""

import pytest

from feedsvc import releases
from feedsvc import revisions
from feedsvc.editorial import review
from feedsvc.errors import Conflict
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound
from feedsvc.translation import glossary
from feedsvc.web import users
from tests.helpers import TARGETS
from tests.helpers import make_release


def test_an_edit_conflict_names_the_release_the_language_and_both_versions(db):
    release = make_release(db)
    releases.update_release(db, release["id"], {"title": "Первая правка"}, TARGETS, expected_version=1)
    with pytest.raises(Conflict) as caught:
        releases.update_release(db, release["id"], {"title": "Вторая правка"}, TARGETS, expected_version=1)
    conflict = caught.value
    assert (conflict.release_id, conflict.lang, conflict.expected, conflict.current) == (release["id"], "ru", 1, 2)
    assert str(conflict) == (f"Release {release['id']} (ru) was changed by someone else since it was opened "
                             "(opened at version 1, now 2).")


def test_a_translation_edit_conflict_names_its_language(db):
    release = make_release(db)
    review.save_human(db, release["id"], "kk", "Бірінші", "Мәтін.", author="editor", expected_version=None)
    with pytest.raises(review.EditConflict) as caught:
        review.save_human(db, release["id"], "kk", "Екінші", "Мәтін.", author="editor", expected_version=1)
    assert (caught.value.release_id, caught.value.lang, caught.value.expected) == (release["id"], "kk", 1)
    assert caught.value.current > 1


@pytest.mark.parametrize(("call", "attributes", "message"), (
    (lambda db: releases.get_release(db, 42), {"release_id": 42}, "There is no release 42."),
    (lambda db: revisions.get_revision(db, 7, "kk", 3), {"release_id": 7, "lang": "kk", "revision_id": 3},
     "Release 7 has no kk version 3."),
    (lambda db: glossary.get_term(db, 5), {"term_id": 5}, "There is no glossary term 5."),
    (lambda db: users.set_password(db, "nobody", "long enough pw"), {"username": "nobody"}, "no user nobody"),
))
def test_not_found_errors_name_what_was_asked_for(db, call, attributes, message):
    with pytest.raises(NotFound) as caught:
        call(db)
    assert {name: getattr(caught.value, name) for name in attributes} == attributes
    assert str(caught.value) == message


def test_user_errors_are_of_the_hierarchy_not_value_or_key_errors(db):
    users.create_user(db, "anna", "long enough pw")
    with pytest.raises(Conflict, match="user anna already exists"):
        users.create_user(db, "anna", "long enough pw")
    with pytest.raises(InvalidInput, match="the user name is empty"):
        users.create_user(db, "  ", "long enough pw")
    with pytest.raises(InvalidInput, match="at least 8") as caught:
        users.set_password(db, "anna", "short")
    assert caught.value.length == 5
    with pytest.raises(InvalidInput, match="Unknown release status 'gone'"):
        releases.set_status(db, make_release(db)["id"], "gone", TARGETS)
