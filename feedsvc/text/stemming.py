"""Word forms for search: stems and name keys of each word, and the SQL functions that index them.

Stems: Snowball (PyStemmer) for Russian and English, a light suffix stemmer for Kazakh. Name keys: the
transliteration skeleton of feedsvc.text.names (Ашимбаев, Ashimbaev, Ashimbayev, Әшімбаев → "asmbv"), so a
name is found in any script and spelling.

Both are indexed beside the text, one token per word of it, in the same order (``index_stems``,
``index_names``): FTS5's highlight() on those columns then marks the very words of the text that matched.

No maintained package stems Kazakh (Snowball has Turkish, not Kazakh), so ``kazakh_stem`` is a small
hand-written one: it strips the noun endings a press release uses most — a case ending, then a possessive,
then a plural — each at most once, longest first, and never leaves fewer than ``KAZAKH_MIN_STEM`` letters.
Both vowel-harmony variants of every ending are listed. Verb forms are left as they are. A stemmer for
search only has to give a word's forms one key (Сенат, Сенатының, Сенатқа → сенат), not a dictionary form.
"""

import re
import sqlite3
import threading

import Stemmer

from feedsvc.text.names import skeleton

SNOWBALL = {"ru": "russian", "en": "english"}
# A word as FTS5's unicode61 tokenizer cuts it: letters and digits (categories L*, N*).
TOKEN = re.compile(r"[^\W_]+")
# Shorter skeletons are too common to be names (Ким "km", закон "zkn").
MIN_NAME_KEY = 4
# The name key of a word that is no name: a digit, which no query's key (letters only) can be.
NO_NAME = "0"
# Fewer letters than this is a root, not a stem with an ending still on it (заң, іс, үш).
KAZAKH_MIN_STEM = 3
# The sound a stem ends in decides an ending's first letter (Сенат-тың, Астана-ның, Қазақстан-да), so an
# ending is stripped only after the letters it follows: V vowel, P possessive ы/і, S voiceless consonant,
# D voiced consonant, N nasal. That tells Сенат-ы "its Senate" from a wrong Сена-ты, and Қазақстан-да from a
# wrong Қазақста-нда. A final в counts as both (Ашимбаев-тың, Ашимбаев-пен: loanwords' в sounds as ф).
KAZAKH_CLASSES = {"V": "аәеёиоөуұүыіэюя", "P": "ыі", "S": "вкқпстфхцчшщһ", "D": "бвгғджзйлмнңр", "N": "мнң"}
# Endings stripped in this order, at most one from each group, longest first: case, possessive, plural.
# Dative -на/-не and possessive -сы/-сі are not stripped alone: Астана and отырыс-ы end like them.
KAZAKH_ENDINGS = tuple(tuple(sorted(group.split(), key=lambda e: len(e.split("/")[0]), reverse=True)) for group in (
    # case: relative locative, genitive, ablative, locative, dative, accusative, instrumental
    "ндағы/P ндегі/P дағы/VD дегі/VD тағы/S тегі/S ның/VN нің/VN дың/D дің/D тың/S тің/S "
    "нан/PN нен/PN дан/VD ден/VD тан/S тен/S нда/P нде/P да/VD де/VD та/S те/S "
    "ға/VD ге/VD қа/S ке/S ына іне сына сіне ны/V ні/V ды/D ді/D ты/S ті/S ын ін мен бен пен",
    # possessive: "our", "my", "its" (Парламент Сенаты: the Senate of Parliament)
    "ымыз іміз мыз/V міз/V ым/SD ім/SD ы/SD і/SD",
    # plural
    "лар лер дар дер тар тер",
))
# PyStemmer's stemmers are not thread-safe: each thread (a web request, a trigger's call) gets its own.
_local = threading.local()


def kazakh_stem(word: str) -> str:
    """The lower-cased word without its case, possessive and plural endings (Депутаттарының → депутат)."""
    stem = word.lower()
    for endings in KAZAKH_ENDINGS:
        for ending in endings:
            if strippable(stem, ending):
                stem = stem[: -len(ending.split("/")[0])]
                break
    return stem


def strippable(stem: str, ending: str) -> bool:
    """Whether ``stem`` ends with ``ending`` (``тың/S``: after a voiceless consonant) and keeps enough letters."""
    suffix, _, after = ending.partition("/")
    rest = stem[: -len(suffix)]
    if not stem.endswith(suffix) or len(rest) < KAZAKH_MIN_STEM:
        return False
    return not after or any(rest[-1] in KAZAKH_CLASSES[name] for name in after)


def snowball(lang: str) -> Stemmer.Stemmer:
    """This thread's Snowball stemmer of a language, made on first use."""
    stemmers = _local.__dict__.setdefault("stemmers", {})
    if lang not in stemmers:
        stemmers[lang] = Stemmer.Stemmer(SNOWBALL[lang])
    return stemmers[lang]


def stem(word: str, lang: str) -> str:
    """A word's search key in ``lang``: its lower-cased Snowball stem, the Kazakh stem, or the word itself."""
    if lang == "kk":
        return kazakh_stem(word)
    if lang in SNOWBALL:
        return snowball(lang).stemWord(word.lower())
    return word.lower()


def name_key(word: str) -> str:
    """A capitalised word's transliteration skeleton when it is long enough to be a name, else NO_NAME."""
    key = skeleton(word) if word[:1].isupper() else ""
    return key if len(key) >= MIN_NAME_KEY else NO_NAME


def index_stems(text: str | None, lang: str) -> str | None:
    """The stem of each word of ``text``, in order, one token each (the stems column of the search index)."""
    if text is None:
        return None
    return " ".join(single_token(stem(word, lang), word) for word in TOKEN.findall(text))


def index_names(text: str | None) -> str | None:
    """The name key of each word of ``text``, in order, one token each (the names column of the search index)."""
    if text is None:
        return None
    return " ".join(name_key(word) for word in TOKEN.findall(text))


def single_token(form: str, word: str) -> str:
    """``form`` when it is one token, else the lower-cased word: the columns must stay word for word."""
    return form if TOKEN.fullmatch(form) else word.lower()


def register(conn: sqlite3.Connection) -> None:
    """Make the index functions the search triggers call (migration m015) known to a connection."""
    conn.create_function("search_stems", 2, index_stems, deterministic=True)
    conn.create_function("search_names", 1, index_names, deterministic=True)
