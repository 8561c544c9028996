"""Which of feedsvc's languages a text is written in, by its letters: Kazakh, Russian or English.

Kazakh is written in Cyrillic with nine letters Russian lacks (ә ғ қ ң ө ұ ү һ і): one of them is enough to
call a text Kazakh. Other Cyrillic is Russian, Latin is English. No model: a staff tool asking `/detect`
must get an answer from the web process at once, and these three scripts tell the languages apart.
"""

from feedsvc.text import names

KAZAKH_LETTERS = frozenset(names.KAZAKH_LETTERS)


def _script(char: str) -> str | None:
    """"kk" for a Kazakh-only letter, "ru" for other Cyrillic, "en" for Latin, None for anything else."""
    if char in KAZAKH_LETTERS:
        return "kk"
    if "\u0400" <= char <= "\u04ff":
        return "ru"
    if char.isascii() and char.isalpha():
        return "en"
    return None


def detect(text: str) -> list[tuple[str, float]]:
    """The likely languages of ``text``, best first, each with a confidence from 0 to 100.

    Kazakh's confidence grows with the share of Kazakh-only letters among Cyrillic ones (a word in five has
    one, so one in 30 letters already makes it certain); a text without letters is English at confidence 0.
    """
    counts = {"kk": 0, "ru": 0, "en": 0}
    for char in text:
        if (script := _script(char)) is not None:
            counts[script] += 1
    letters = sum(counts.values())
    if not letters:
        return [("en", 0.0)]
    cyrillic = counts["kk"] + counts["ru"]
    latin = round(100 * counts["en"] / letters, 1)
    if not cyrillic:
        return [("en", latin)]
    share = round(100 * cyrillic / letters, 1)
    if counts["kk"]:
        kazakh = round(min(1.0, 0.5 + 15 * counts["kk"] / cyrillic) * share, 1)
        ranked = [("kk", kazakh), ("ru", round(share - kazakh, 1))]
    else:
        ranked = [("ru", share)]
    ranked.append(("en", latin))
    return sorted((pair for pair in ranked if pair[1] > 0), key=lambda pair: -pair[1])
