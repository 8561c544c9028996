"""Categories as a managed list: each with a URL slug and its name in every language, a machine-made name
unreviewed until an editor confirms it (as glossary terms are). Releases point to one (``category_id``) and
keep a copy of its Russian name in ``releases.category`` (translation, search and the admin filter read it).

Staff choose from the list (the form, the CMS API, ``feedsvc import --category``): an unknown name is refused.
Only the office's own feed (feedsvc.sources) adds a category it names, through releases.create_release.
"""

from dataclasses import dataclass

from sqlite_utils import Database

from feedsvc.config import SOURCE_LANGUAGE
from feedsvc.errors import Conflict
from feedsvc.errors import InvalidInput
from feedsvc.errors import NotFound
from feedsvc.storage import write
from feedsvc.text import one_line
from feedsvc.text.editions import base_language
from feedsvc.text.editions import in_script
from feedsvc.text.slugs import category_slug

# The languages a category has a name column for (migration m033); the source language's is never unreviewed.
NAMED = ("ru", "kk", "en")
TRANSLATED = tuple(lang for lang in NAMED if lang != SOURCE_LANGUAGE)
NAME_MAX = 100


@dataclass(frozen=True)
class Category:
    """One category: its id, slug, name per language ("" when not given) and which names an editor confirmed."""

    id: int
    slug: str
    names: dict[str, str]
    reviewed: dict[str, bool]

    @property
    def name(self) -> str:
        """The Russian name (what releases.category holds)."""
        return self.names[SOURCE_LANGUAGE]

    def name_in(self, lang: str) -> str:
        """The name in ``lang``, "" when it has none (an edition's: its base language's, in its script)."""
        return in_script(lang, self.names.get(base_language(lang), ""))

    def shown_in(self, lang: str) -> tuple[str, str]:
        """The name a reader of ``lang`` sees and its language: the name in ``lang``, else the Russian one."""
        name = self.name_in(lang)
        return (name, lang) if name else (self.name, SOURCE_LANGUAGE)


class CategoryNotFound(NotFound):
    """No category with that id or slug."""

    def __init__(self, key: int | str):
        """The id or slug asked for."""
        self.key = key
        super().__init__(f"There is no category {key!r}.")


class UnknownCategory(InvalidInput):
    """A category name that is not on the managed list (staff choose from it; a typo must not make a new one)."""

    def __init__(self, name: str, known: list[str]):
        """The name given and the names known."""
        self.name, self.known = name, known
        listed = ", ".join(known) or "none yet"
        super().__init__(f"Unknown category {name!r}: add it under Admin → Categories first (known: {listed}).")


class CategoryExists(Conflict):
    """Another category already has that name."""

    def __init__(self, name: str):
        """The name that is taken."""
        self.name = name
        super().__init__(f"A category named {name!r} exists already.")


class CategoryInUse(Conflict):
    """A category releases still use cannot be deleted (merge it into another instead)."""

    def __init__(self, category: Category, count: int):
        """The category and how many releases use it."""
        self.category, self.count = category, count
        super().__init__(f"Category {category.name!r} is used by {count} release(s): merge it into another instead.")


def from_row(row: dict) -> Category:
    """A categories row as a Category."""
    return Category(id=row["id"], slug=row["slug"], names={lang: row[f"name_{lang}"] for lang in NAMED},
                    reviewed={lang: lang == SOURCE_LANGUAGE or bool(row[f"reviewed_{lang}"]) for lang in NAMED})


def all_categories(db: Database) -> list[Category]:
    """Every category, by Russian name."""
    return [from_row(row) for row in db.query("select * from categories order by name_ru")]


def by_ids(db: Database, ids: set[int]) -> dict[int, Category]:
    """The categories with these ids, by id (one query for a page of releases)."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return {row["id"]: from_row(row) for row in db.query(f"select * from categories where id in ({marks})", list(ids))}


def get(db: Database, category_id: int) -> Category:
    """One category by id."""
    rows = list(db.query("select * from categories where id = ?", [category_id]))
    if not rows:
        raise CategoryNotFound(category_id)
    return from_row(rows[0])


def by_slug(db: Database, slug: str) -> Category:
    """One category by its URL slug."""
    rows = list(db.query("select * from categories where slug = ?", [slug]))
    if not rows:
        raise CategoryNotFound(slug)
    return from_row(rows[0])


def find(db: Database, name: str) -> Category | None:
    """The category with this Russian name (or slug), None if there is none."""
    rows = list(db.query("select * from categories where name_ru = ? or slug = ? order by name_ru != ? limit 1",
                         [one_line(name), name, one_line(name)]))
    return from_row(rows[0]) if rows else None


def known(db: Database, name: str) -> Category | None:
    """The listed category a person named (Russian name or slug); None for no name; an UnknownCategory otherwise."""
    if not one_line(name):
        return None
    category = find(db, name)
    if category is None:
        raise UnknownCategory(one_line(name), [c.name for c in all_categories(db)])
    return category


def add(db: Database, name: str, names: dict[str, str] | None = None) -> Category:
    """A new category with its Russian ``name`` and, optionally, names in other languages (reviewed: a person
    typed them); its slug is the name folded to ASCII, made unique."""
    name = one_line(name)
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"A category needs a Russian name of 1 to {NAME_MAX} characters.")
    given = {lang: one_line(text) for lang, text in (names or {}).items() if lang in TRANSLATED and one_line(text)}
    with write(db):
        if find(db, name) is not None:
            raise CategoryExists(name)
        taken = {row[0] for row in db.execute("select slug from categories")}
        slug = category_slug(name, taken)
        row = {"slug": slug, "name_ru": name, **{f"name_{lang}": text for lang, text in given.items()},
               **{f"reviewed_{lang}": 1 for lang in given}}
        return get(db, int(db.table("categories").insert(row).last_pk or 0))


def ensure(db: Database, name: str) -> int | None:
    """The id of the category named ``name``, added if unknown (the office's own feed names its categories);
    None for no name. Call inside write()."""
    name = one_line(name)
    if not name:
        return None
    category = find(db, name)
    return category.id if category else add(db, name).id


def rename(db: Database, category_id: int, names: dict[str, str], reviewed: dict[str, bool]) -> Category:
    """Set a category's names (any language given) and which translated names an editor confirmed; a new
    Russian name is copied to its releases. A changed translated name is a person's: reviewed."""
    old = get(db, category_id)
    new = {lang: one_line(names.get(lang, old.name_in(lang))) for lang in NAMED}
    if not new[SOURCE_LANGUAGE] or any(len(text) > NAME_MAX for text in new.values()):
        raise InvalidInput(f"A category needs a Russian name of 1 to {NAME_MAX} characters.")
    flags = {lang: bool(new[lang]) and (reviewed.get(lang, old.reviewed[lang]) or new[lang] != old.name_in(lang))
             for lang in TRANSLATED}
    with write(db):
        other = find(db, new[SOURCE_LANGUAGE])
        if other is not None and other.id != category_id and other.name == new[SOURCE_LANGUAGE]:
            raise CategoryExists(new[SOURCE_LANGUAGE])
        db.table("categories").update(category_id, {**{f"name_{lang}": text for lang, text in new.items()},
                                                    **{f"reviewed_{lang}": int(flag) for lang, flag in flags.items()}})
        if new[SOURCE_LANGUAGE] != old.name:
            db.execute("update releases set category = ? where category_id = ?", [new[SOURCE_LANGUAGE], category_id])
    return get(db, category_id)


def usage(db: Database) -> dict[int, int]:
    """How many releases (any status) use each category, by id."""
    sql = "select category_id, count(*) from releases where category_id is not null group by category_id"
    return dict(db.execute(sql).fetchall())


def delete(db: Database, category_id: int) -> Category:
    """Delete a category no release uses; one in use is refused (CategoryInUse)."""
    with write(db):
        category = get(db, category_id)
        count = db.execute("select count(*) from releases where category_id = ?", [category_id]).fetchone()[0]
        if count:
            raise CategoryInUse(category, count)
        db.table("categories").delete(category_id)
    return category


def merge(db: Database, source_id: int, target_id: int) -> Category:
    """Move every release of ``source_id`` to ``target_id`` (its name copied) and delete the source."""
    if source_id == target_id:
        raise InvalidInput("A category cannot be merged into itself.")
    with write(db):
        source, target = get(db, source_id), get(db, target_id)
        db.execute("update releases set category_id = ?, category = ? where category_id = ?",
                   [target.id, target.name, source.id])
        db.table("categories").delete(source.id)
    return source


def shown_name(category: Category | None, lang: str, translated: str, translated_lang: str) -> tuple[str, str]:
    """A release's category as a reader of ``lang`` sees it, and its language: the category's own name in ``lang``
    if it has one, else what the release shows (``translated`` in ``translated_lang``: its translation's, or the
    original's)."""
    if category is not None and category.name_in(lang):
        return category.shown_in(lang)
    return translated, translated_lang
