"""The whole schema history, applied in order by sqlite_utils.Migrations."""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from feedsvc import clock
from feedsvc.config import SOURCE_LANGUAGE
from feedsvc.errors import StorageUnavailable
from feedsvc.states import OPEN_JOBS
from feedsvc.states import JobStatus
from feedsvc.states import Origin
from feedsvc.states import ReleaseStatus
from feedsvc.states import TranslationStatus as Status
from feedsvc.storage import write
from feedsvc.text.slugs import category_slug

migrations = Migrations("feedsvc")


@migrations()
def m001_core(db: Database) -> None:
    """Releases, their translations, admin users and the translation job queue."""
    db.table("releases").create(
        {
            "id": int,
            "guid": str,
            "title": str,
            "body": str,
            "category": str,
            "published_at": str,
            "status": str,
            "photo": str,
            "photo_type": str,
            "photo_length": int,
            "photo_width": int,
            "photo_height": int,
            "photo_caption": str,
            "photo_credit": str,
            "revision": int,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"guid", "title", "body", "status", "published_at", "revision"},
        defaults={"status": "draft", "revision": 1, "category": ""},
    )
    db.table("releases").create_index(["guid"], unique=True)
    db.table("releases").create_index(["status", "published_at"])
    db.table("translations").create(
        {
            "release_id": int,
            "lang": str,
            "title": str,
            "body": str,
            "status": str,
            "origin": str,
            "route": str,
            "source_revision": int,
            "error": str,
            "updated_at": str,
        },
        pk=("release_id", "lang"),
        foreign_keys=[("release_id", "releases", "id")],
        not_null={"status"},
        defaults={"status": "pending", "origin": "machine"},
    )
    db.table("translations").create_index(["lang", "status"])
    db.table("users").create(
        {"id": int, "username": str, "password_hash": str, "created_at": str},
        pk="id",
        not_null={"username", "password_hash"},
    )
    db.table("users").create_index(["username"], unique=True)
    db.table("jobs").create(
        {
            "id": int,
            "release_id": int,
            "lang": str,
            "source_revision": int,
            "status": str,
            "attempts": int,
            "run_after": str,
            "lease_until": str,
            "lease_token": str,
            "error": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("release_id", "releases", "id")],
        not_null={"status", "attempts"},
        defaults={"status": "queued", "attempts": 0},
    )
    db.table("jobs").create_index(["status", "run_after"])
    db.table("jobs").create_index(["release_id", "lang"])


@migrations()
def m002_search(db: Database) -> None:
    """Full-text search: Russian originals and each language's translations."""
    tokenize = "unicode61 remove_diacritics 0"
    db.table("releases").enable_fts(["title", "body"], create_triggers=True, tokenize=tokenize)
    db.table("translations").enable_fts(["title", "body"], create_triggers=True, tokenize=tokenize)


@migrations()
def m003_change_counter(db: Database) -> None:
    """One row that every change to published data bumps: the key for feed caches and ETags.

    Triggers, not application code, so that a change made by any process (web, worker, CLI)
    is seen by every web worker's cache on its next request.
    """
    db.table("site_state").create({"id": int, "version": int, "changed_at": str}, pk="id")
    db.table("site_state").insert({"id": 1, "version": 1, "changed_at": "1970-01-01T00:00:00+00:00"})
    for table in ("releases", "translations"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"""CREATE TRIGGER bump_{table}_{event.lower()} AFTER {event} ON {table}
                BEGIN UPDATE site_state SET version = version + 1,
                changed_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') WHERE id = 1; END"""
            )


@migrations()
def m004_translation_support(db: Database) -> None:
    """Translation memory and glossary."""
    db.table("memory").create(
        {
            "id": int,
            "step": str,
            "source": str,
            "target": str,
            "origin": str,
            "created_at": str,
        },
        pk="id",
        not_null={"step", "source", "target"},
        defaults={"origin": "machine"},
    )
    db.table("memory").create_index(["step", "source"], unique=True)
    db.table("glossary_terms").create(
        {"id": int, "source": str, "en": str, "kk": str, "note": str, "updated_at": str},
        pk="id",
        not_null={"source"},
    )
    db.table("glossary_terms").create_index(["source"], unique=True)


@migrations()
def m005_review(db: Database) -> None:
    """Human review: versions for optimistic locking, reviewer, machine suggestions, revision history."""
    translations = db.table("translations")
    translations.add_column("version", int, not_null_default=1)
    for column in ("reviewed_by", "reviewed_at", "suggestion_title", "suggestion_body", "suggestion_route"):
        translations.add_column(column, str)
    translations.add_column("suggestion_revision", int)
    db.table("revisions").create(
        {
            "id": int,
            "release_id": int,
            "lang": str,
            "title": str,
            "body": str,
            "origin": str,
            "author": str,
            "source_revision": int,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("release_id", "releases", "id")],
        not_null={"release_id", "lang", "title", "body", "origin"},
    )
    db.table("revisions").create_index(["release_id", "lang", "id"])
    db.execute(
        """insert into revisions (release_id, lang, title, body, origin, author, source_revision, created_at)
        select id, 'ru', title, body, 'human', '', revision, updated_at from releases"""
    )
    db.execute(
        """insert into revisions (release_id, lang, title, body, origin, author, source_revision, created_at)
        select release_id, lang, title, body, origin, '', source_revision, updated_at from translations
        where title is not null and status = 'done'"""
    )


@migrations()
def m006_session_tokens(db: Database) -> None:
    """A random token per user, part of the session: rotating it ends every session of that user."""
    import secrets

    db.table("users").add_column("session_token", str)
    for row in list(db.query("select id from users")):
        db.table("users").update(row["id"], {"session_token": secrets.token_urlsafe(24)})


@migrations()
def m007_translated_category(db: Database) -> None:
    """Categories are translated with the release, so a Kazakh page does not show a Russian rubric."""
    db.table("translations").add_column("category", str)


@migrations()
def m008_release_version(db: Database) -> None:
    """A counter bumped by every edit of a release, so a stale edit form is refused instead of undoing another's."""
    db.table("releases").add_column("version", int, not_null_default=1)


@migrations()
def m009_translation_checks(db: Database) -> None:
    """Sentence checks: each translation's checked sentences and flag count, model scores in the memory,
    and the scores of sentences editors kept unchanged (the per-route floor is calibrated on them)."""
    db.table("translations").add_column("checks", str)
    db.table("translations").add_column("flags", int, not_null_default=0)
    db.table("memory").add_column("score", float)
    db.table("kept_scores").create({"id": int, "route": str, "score": float}, pk="id", not_null={"route", "score"})
    db.table("kept_scores").create_index(["route"])


@migrations()
def m010_model_evaluations(db: Database) -> None:
    """The latest chrF/BLEU of each route on each data set (`feedsvc models evaluate`), for the models page."""
    db.table("model_evaluations").create(
        {"lang": str, "route": str, "data": str, "sentences": int, "chrf": float, "bleu": float,
         "seconds_per_sentence": float, "evaluated_at": str},
        pk=("lang", "route", "data"), not_null={"lang", "route", "data"},
    )



@migrations()
def m011_machine_status(db: Database) -> None:
    """A machine translation's status is called what it is: "machine" (it was "done", like a finished job)."""
    db.execute("update translations set status = 'machine' where status = 'done'")


@migrations()
def m012_withdrawal(db: Database) -> None:
    """When a release was withdrawn and the public reason given (the 410 page and the feeds' tombstones say both)."""
    db.table("releases").add_column("withdrawn_at", str)
    db.table("releases").add_column("withdrawal_reason", str)
    db.execute("update releases set withdrawn_at = updated_at where status = 'withdrawn'")


@migrations()
def m013_photo_translations(db: Database) -> None:
    """A photo's caption, credit and alt text are translated with the release and kept in its history.

    An empty alt text means "the caption" (an editor may set another). Releases with a photo caption or
    credit are queued again, so their finished translations get them too (a human text gets them beside it).
    """
    for table in ("translations", "revisions"):
        for column in ("photo_caption", "photo_credit", "photo_alt"):
            db.table(table).add_column(column, str)
    db.execute(
        """insert into jobs (release_id, lang, source_revision, status, attempts, run_after, created_at, updated_at)
        select t.release_id, t.lang, r.revision, 'queued', 0, r.updated_at, r.updated_at, r.updated_at
        from translations t join releases r on r.id = t.release_id
        where r.status = 'published' and t.title is not null
        and (coalesce(r.photo_caption, '') != '' or coalesce(r.photo_credit, '') != '')
        and not exists (select 1 from jobs j where j.release_id = t.release_id and j.lang = t.lang
                        and j.status in ('queued', 'running'))"""
    )


@migrations()
def m014_feed_times(db: Database) -> None:
    """When an entry's content last changed (feeds' ``updated``; status changes leave it alone), whether an editor
    set the publication date (otherwise publishing a draft stamps that moment), the order of first publication
    (``seq``: archive pages), and WebSub's pending pings.

    ``websub_pending`` is written by triggers in the transaction that changes what a feed shows (a published or
    withdrawn release: every language, ``lang = '*'``; a visible translation: its language), so no change can
    be committed without its ping, whichever process wrote it; the worker sends them (feedsvc.websub).
    """
    db.table("releases").add_column("text_updated_at", str)
    db.table("releases").add_column("date_set", int, not_null_default=1)
    # Old stamps count whole seconds, so entries stored in one second would share their feeds' ``updated``:
    # a distinct microsecond offset per row (even for releases, odd for translations) keeps them apart.
    spread = "substr({col}, 1, 19) || printf('.%06d', ({key} % 499999) * 2 + {odd}) || '+00:00'"
    db.execute(f"update releases set text_updated_at = {spread.format(col='updated_at', key='id', odd=0)}")
    db.execute(f"""update translations set updated_at = {spread.format(col='updated_at', key='rowid', odd=1)}
        where length(updated_at) = 25""")
    # The order of first publication: archive pages (RFC 5005) hold fixed ranges of it, so a page once full
    # never gains or reorders entries, whatever is published, back-dated or withdrawn later.
    db.table("releases").add_column("seq", int)
    db.execute("""update releases set seq = ordered.n from (select id, row_number() over (order by published_at, id)
        as n from releases where status != 'draft') as ordered where ordered.id = releases.id""")
    # A draft whose date is its creation time (the old form's default, to the minute) was dated by nobody:
    # publishing it stamps the moment it is published, as for drafts made from now on.
    db.execute("""update releases set date_set = 0 where seq is null and status = 'draft'
        and abs(julianday(published_at) - julianday(created_at)) * 86400 < 60""")
    db.table("releases").create_index(["seq"], unique=True)
    db.table("websub_pending").create(
        {"lang": str, "version": int, "pinged": int, "attempts": int, "run_after": str, "error": str},
        pk="lang", defaults={"version": 0, "pinged": 0, "attempts": 0, "run_after": ""},
    )
    shown = "('published', 'withdrawn')"
    visible = "('machine', 'reviewed', 'outdated')"
    bump = """INSERT INTO websub_pending (lang, version) VALUES ({lang}, 1)
        ON CONFLICT (lang) DO UPDATE SET version = version + 1;"""
    for event, when in (("INSERT", f"NEW.status IN {shown}"), ("DELETE", f"OLD.status IN {shown}"),
                        ("UPDATE", f"NEW.status IN {shown} OR OLD.status IN {shown}")):
        db.execute(f"""CREATE TRIGGER websub_releases_{event.lower()} AFTER {event} ON releases WHEN {when}
            BEGIN {bump.format(lang="'*'")} END""")
    db.execute(f"""CREATE TRIGGER websub_translations_update AFTER UPDATE ON translations
        WHEN NEW.status IN {visible} OR OLD.status IN {visible}
        BEGIN {bump.format(lang="NEW.lang")} END""")


@migrations()
def m015_search_stems(db: Database) -> None:
    """Search that understands word forms: each text beside its stems and name keys, word for word.

    One FTS5 table per text table, in place of m002's (same names, same tokenizer, rowid = the text's rowid):
    title and body as written, their stems in the text's language, and their names' transliteration
    skeletons (feedsvc.text.stemming). Triggers call the stemming functions that storage.connect registers,
    so every write of a release or translation, by any process, keeps the index current. The default
    rank weighs a title above a body, and the text itself above stems above names.
    """
    source_lang = f"'{SOURCE_LANGUAGE}'"
    for table, lang, stored_lang in (("releases", source_lang, source_lang), ("translations", "new.lang", "lang")):
        db.table(table).disable_fts()
        db.execute(f"""CREATE VIRTUAL TABLE {table}_fts USING fts5(title, body, title_stems, body_stems,
            title_names, body_names, tokenize='unicode61 remove_diacritics 0')""")
        db.execute(f"INSERT INTO {table}_fts({table}_fts, rank) VALUES ('rank', 'bm25(10, 1, 5, 0.5, 2, 0.2)')")
        row = f"""(rowid, title, body, title_stems, body_stems, title_names, body_names) VALUES (new.rowid,
            new.title, new.body, search_stems(new.title, {lang}), search_stems(new.body, {lang}),
            search_names(new.title), search_names(new.body))"""
        db.execute(f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO {table}_fts {row}; END")
        db.execute(f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF title, body ON {table} BEGIN "
                   f"DELETE FROM {table}_fts WHERE rowid = old.rowid; INSERT INTO {table}_fts {row}; END")
        db.execute(f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN "
                   f"DELETE FROM {table}_fts WHERE rowid = old.rowid; END")
        db.execute(f"""INSERT INTO {table}_fts (rowid, title, body, title_stems, body_stems, title_names, body_names)
            SELECT rowid, title, body, search_stems(title, {stored_lang}), search_stems(body, {stored_lang}),
            search_names(title), search_names(body) FROM {table}""")


@migrations()
def m016_photo_sizes(db: Database) -> None:
    """The sizes made of a release's photo (JSON: name, type, width, height, length), served with srcset.

    Photos stored before this have none until `feedsvc photo-sizes` makes them; their pages show the original.
    """
    db.table("releases").add_column("photo_sizes", str)


@migrations()
def m019_memory_checked_outputs(db: Database) -> None:
    """Which machine entries of the memory the sentence checks flagged (kept, so the model is not asked again,
    but never taken for a known translation), and which hypothesis of the model each entry is (a retry's)."""
    db.table("memory").add_column("flagged", int, not_null_default=0)
    db.table("memory").add_column("hypothesis", int, not_null_default=0)


# The texts of a translation readers see, each copied to ``published_<name>`` when it is published (m020).
PUBLISHED_TEXTS = ("title", "body", "category", "photo_caption", "photo_credit", "photo_alt", "checks", "origin")


@migrations()
def m020_published_copy(db: Database) -> None:
    """What readers have of each translation: the last published copy, kept until a better one is published.

    A trigger copies a translation's texts (and its per-sentence record, origin, source revision and ``updated_at``)
    to ``published_*`` whenever it is stored as published (machine, reviewed, or an editor's text of an older
    original), whichever process wrote it; a held or pending translation leaves the copy alone, so a source edit
    never takes the last published text away from readers. Search indexes and WebSub pings follow the copy.
    """
    table = db.table("translations")
    for name in PUBLISHED_TEXTS:
        table.add_column(f"published_{name}", str)
    table.add_column("published_revision", int)
    table.add_column("published_updated", str)
    copy = ", ".join(f"published_{name} = {{row}}.{name}" for name in PUBLISHED_TEXTS)
    copy += ", published_revision = {row}.source_revision, published_updated = {row}.updated_at"
    published = "('machine', 'reviewed', 'outdated')"
    db.execute(f"update translations set {copy.format(row='translations')} "
               f"where status in {published} and coalesce(title, '') != ''")
    differs = " or ".join(f"new.published_{name} is not new.{name}" for name in PUBLISHED_TEXTS)
    db.execute(f"""CREATE TRIGGER translations_publish AFTER UPDATE ON translations
        WHEN new.status in {published} and coalesce(new.title, '') != '' and ({differs})
        BEGIN UPDATE translations SET {copy.format(row='new')} WHERE rowid = new.rowid; END""")
    # Search finds what readers can read: the published copy, not a held text.
    db.execute("DROP TRIGGER translations_search_insert")
    db.execute("DROP TRIGGER translations_search_update")
    row = """(rowid, title, body, title_stems, body_stems, title_names, body_names) VALUES (new.rowid,
        new.published_title, new.published_body, search_stems(new.published_title, new.lang),
        search_stems(new.published_body, new.lang), search_names(new.published_title),
        search_names(new.published_body))"""
    db.execute(f"CREATE TRIGGER translations_search_insert AFTER INSERT ON translations BEGIN "
               f"INSERT INTO translations_fts {row}; END")
    db.execute(f"CREATE TRIGGER translations_search_update AFTER UPDATE OF published_title, published_body "
               f"ON translations BEGIN DELETE FROM translations_fts WHERE rowid = old.rowid; "
               f"INSERT INTO translations_fts {row}; END")
    db.execute("DELETE FROM translations_fts")
    db.execute("""INSERT INTO translations_fts (rowid, title, body, title_stems, body_stems, title_names, body_names)
        SELECT rowid, published_title, published_body, search_stems(published_title, lang),
        search_stems(published_body, lang), search_names(published_title), search_names(published_body)
        FROM translations""")
    # WebSub: a language's feeds change when its published copy does.
    db.execute("DROP TRIGGER websub_translations_update")
    db.execute("""CREATE TRIGGER websub_translations_update AFTER UPDATE OF published_title, published_updated
        ON translations WHEN old.published_title is not new.published_title
        or old.published_updated is not new.published_updated
        BEGIN INSERT INTO websub_pending (lang, version) VALUES (new.lang, 1)
        ON CONFLICT (lang) DO UPDATE SET version = version + 1; END""")


@migrations()
def m023_archive_indexes(db: Database) -> None:
    """Indexes a national archive (100,000 releases) needs: the admin list newest first in any status, by
    category, and by translation status (the review queue) without reading every release."""
    db.table("releases").create_index(["published_at"], if_not_exists=True)
    db.table("releases").create_index(["category", "published_at"], if_not_exists=True)
    db.table("translations").create_index(["status", "lang"], if_not_exists=True)


@migrations()
def m023_published_count(db: Database) -> None:
    """How many releases are published, kept by triggers in site_state: counting them reads the whole status index
    (a tenth of the index page's time at 100,000 releases, after every change)."""
    db.table("site_state").add_column("published", int, not_null_default=0)
    db.execute("update site_state set published = (select count(*) from releases where status = 'published')")
    changes = {"insert": ("AFTER INSERT", "(new.status = 'published')"),
               "update": ("AFTER UPDATE OF status", "(new.status = 'published') - (old.status = 'published')"),
               "delete": ("AFTER DELETE", "- (old.status = 'published')")}
    for name, (event, delta) in changes.items():
        db.execute(f"CREATE TRIGGER releases_published_{name} {event} ON releases BEGIN "
                   f"UPDATE site_state SET published = published + {delta} WHERE id = 1; END")


@migrations()
def m024_feed_sources(db: Database) -> None:
    """The office's own feeds the worker follows (feedsvc.sources): each source's state, each entry's release.

    An entry is known by its source and its id (never imported twice, across restarts too), with the hash of
    what was stored from it (a different one upstream is an edit). A release keeps its entry's link.
    """
    db.table("feed_sources").create(
        {"url": str, "etag": str, "last_modified": str, "ttl": int, "checked_at": str, "succeeded_at": str,
         "next_poll": str, "attempts": int, "error": str, "error_at": str, "imported": int, "edited": int,
         "withdrawn": int},
        pk="url", defaults={"next_poll": "", "attempts": 0, "imported": 0, "edited": 0, "withdrawn": 0})
    db.table("feed_source_entries").create(
        {"source_url": str, "entry_id": str, "release_id": int, "content_hash": str, "image": str,
         "imported_at": str, "updated_at": str},
        pk=("source_url", "entry_id"), foreign_keys=[("release_id", "releases", "id")])
    db.table("feed_source_entries").create_index(["release_id"])
    db.table("releases").add_column("original_url", str)


@migrations()
def m025_api(db: Database) -> None:
    """Keys of the LibreTranslate-compatible endpoint and tokens of the CMS API (feedsvc.apikeys, only their
    hashes), and the translation requests the web process hands the worker (feedsvc.textrequests)."""
    db.table("api_keys").create(
        {"id": int, "name": str, "scope": str, "prefix": str, "key_hash": str, "created_at": str,
         "last_used_at": str, "revoked_at": str},
        pk="id", not_null={"name", "scope", "prefix", "key_hash", "created_at"})
    db.table("api_keys").create_index(["key_hash"], unique=True)
    db.table("text_requests").create(
        {"id": int, "items": str, "target": str, "format": str, "status": str, "created_at": str,
         "claimed_at": str, "answer": str, "error": str},
        pk="id", not_null={"items", "target", "format", "status", "created_at"}, defaults={"status": "queued"})
    db.table("text_requests").create_index(["status", "id"])


@migrations()
def m026_glossary_dates(db: Database) -> None:
    """Terms that follow the calendar: a period of validity (dates, ISO, either end open) and the languages in
    which a term's form is forbidden. One Russian form may now have several terms, one per period (the capital:
    Astana, Nur-Sultan, Astana again), so the unique key is the forms with their period and forbidden mark."""
    terms = db.table("glossary_terms")
    terms.add_column("valid_from", str)
    terms.add_column("valid_until", str)
    terms.add_column("forbidden", str, not_null_default="")
    db.execute("DROP INDEX idx_glossary_terms_source")
    db.execute("CREATE UNIQUE INDEX idx_glossary_terms_period ON glossary_terms "
               "(source, coalesce(valid_from, ''), coalesce(valid_until, ''), forbidden)")


# The texts of a translation readers see since m027: the withdrawn page's public reason too.
READER_TEXTS = (*PUBLISHED_TEXTS, "withdrawal_reason")


@migrations()
def m027_translated_withdrawal_reason(db: Database) -> None:
    """The public withdrawal reason in each language: translated, checked and reviewed with the release's other
    one-line texts, and copied to ``published_withdrawal_reason`` with them (m020's trigger, made again with it)."""
    table = db.table("translations")
    table.add_column("withdrawal_reason", str)
    table.add_column("published_withdrawal_reason", str)
    publish_trigger(db, READER_TEXTS)


def publish_trigger(db: Database, texts: tuple[str, ...]) -> None:
    """Make m020's trigger again for ``texts``: a translation's new publishable text (machine, reviewed or
    outdated, with a title) is copied to its ``published_*`` columns, the copy readers see."""
    copy = ", ".join(f"published_{name} = new.{name}" for name in texts)
    copy += ", published_revision = new.source_revision, published_updated = new.updated_at"
    differs = " or ".join(f"new.published_{name} is not new.{name}" for name in texts)
    db.execute("DROP TRIGGER translations_publish")
    db.execute(f"""CREATE TRIGGER translations_publish AFTER UPDATE ON translations
        WHEN new.status in ('machine', 'reviewed', 'outdated') and coalesce(new.title, '') != '' and ({differs})
        BEGIN UPDATE translations SET {copy} WHERE rowid = new.rowid; END""")


@migrations()
def m028_scheduled_publication(db: Database) -> None:
    """Until when scheduled releases (published with a later time) were announced to WebSub hubs: the worker
    pings for each one whose time has come since (feedsvc.websub.announce_due). Empty at first: the worker's first
    look counts what is public already, one ping more (by the service's clock, which SQLite's is not in tests)."""
    db.table("site_state").add_column("due_through", str, not_null_default="")


@migrations()
def m029_corrections(db: Database) -> None:
    """A correction readers see (issue 25): when a published release was last corrected and the editor's public
    note; a silent fix (typos) leaves both as they were."""
    table = db.table("releases")
    table.add_column("corrected_at", str)
    table.add_column("correction_note", str)


@migrations()
def m030_translated_counts(db: Database) -> None:
    """How many published releases each target language's index lists (a published translation), kept by
    triggers as m023 keeps the source language's: counting them reads the whole archive after every change
    (200 ms at 100,000 releases, on every cold /en/ and /kk/ page)."""
    db.table("translated_counts").create({"lang": str, "count": int}, pk="lang", not_null={"count"})
    db.execute("""insert into translated_counts (lang, count) select t.lang, count(*) from translations t
        join releases r on r.id = t.release_id where r.status = 'published' and coalesce(t.published_title, '') != ''
        group by t.lang""")
    listed = ("(coalesce({row}.published_title, '') != '' "
              "and (select status from releases where id = {row}.release_id) = 'published')")
    changes = {"insert": ("AFTER INSERT", "new", listed.format(row="new")),
               "update": ("AFTER UPDATE OF published_title", "new",
                          f"{listed.format(row='new')} - {listed.format(row='old')}"),
               "delete": ("AFTER DELETE", "old", f"- {listed.format(row='old')}")}
    # No OR IGNORE in the trigger: an outer statement's conflict policy (an upsert's) would override it.
    for name, (event, row, delta) in changes.items():
        db.execute(f"""CREATE TRIGGER translated_counts_{name} {event} ON translations BEGIN
            INSERT INTO translated_counts (lang, count) SELECT {row}.lang, 0
                WHERE NOT EXISTS (SELECT 1 FROM translated_counts WHERE lang = {row}.lang);
            UPDATE translated_counts SET count = count + {delta} WHERE lang = {row}.lang; END""")
    # A release published, unpublished or withdrawn moves it in or out of every language it has a translation in.
    db.execute("""CREATE TRIGGER translated_counts_status AFTER UPDATE OF status ON releases
        WHEN (new.status = 'published') != (old.status = 'published') BEGIN
        UPDATE translated_counts SET count = count + (case when new.status = 'published' then 1 else -1 end)
        WHERE lang in (select lang from translations where release_id = new.id
                       and coalesce(published_title, '') != ''); END""")


@migrations()
def m031_user_language(db: Database) -> None:
    """The admin interface language each staff member chose (issue 25); empty: their browser's preference."""
    db.table("users").add_column("ui_lang", str, not_null_default="")


# A translation that waits for an editor (the review queue): a published release's, held or outdated, or published
# but made for an older original (readers keep that copy until a new one is published). One condition, over a
# translation row {t} and its release {r}, for the queue's query and for the triggers that keep its count.
WAITING = (f"({{r}}.status = '{ReleaseStatus.PUBLISHED}' and ({{t}}.status in ('{Status.HELD}', '{Status.OUTDATED}') "
           "or (coalesce({t}.published_title, '') != '' and {t}.published_revision != {r}.revision)))")


@migrations()
def m032_waiting_count(db: Database) -> None:
    """How many translations wait for an editor, kept by triggers in site_state: every admin page shows it, and
    counting reads every published translation (550 ms at 100,000 releases, no index can answer the condition)."""
    db.table("site_state").add_column("waiting", int, not_null_default=0)
    db.execute(f"""update site_state set waiting = (select count(*) from translations t
        join releases r on r.id = t.release_id where {WAITING.format(t='t', r='r')}) where id = 1""")
    # A translation's own change: its row before (old) and after (new), against its release as it stands.
    of_translation = "(select count(*) from releases r where r.id = {row}.release_id and " + WAITING + ")"
    changes = {"insert": ("AFTER INSERT", of_translation.format(row="new", t="new", r="r")),
               "update": ("AFTER UPDATE OF status, published_title, published_revision",
                          f"{of_translation.format(row='new', t='new', r='r')} - "
                          f"{of_translation.format(row='old', t='old', r='r')}"),
               "delete": ("AFTER DELETE", f"- {of_translation.format(row='old', t='old', r='r')}")}
    # A release published, withdrawn or edited (a new revision) moves each of its translations in or out.
    of_release = "(select count(*) from translations t where t.release_id = {row}.id and " + WAITING + ")"
    for name, (event, delta) in changes.items():
        db.execute(f"CREATE TRIGGER waiting_count_{name} {event} ON translations BEGIN "
                   f"UPDATE site_state SET waiting = waiting + {delta} WHERE id = 1; END")
    db.execute(f"""CREATE TRIGGER waiting_count_release AFTER UPDATE OF status, revision ON releases BEGIN
        UPDATE site_state SET waiting = waiting + {of_release.format(row='new', t='t', r='new')}
            - {of_release.format(row='old', t='t', r='old')} WHERE id = 1; END""")


@migrations()
def m033_categories_managed_list(db: Database) -> None:
    """Categories as a managed list (issue 25): one row per category with its URL slug (from the Russian name)
    and its name in each language, a machine-made name marked unreviewed until an editor confirms it. Releases
    point to it (``category_id``); ``releases.category`` stays a copy of the Russian name (translation, search
    and the admin filter read it). Every free-text category in use becomes a row, its Kazakh and English names
    the translation its releases show most often (unreviewed)."""
    db.table("categories").create(
        {"id": int, "slug": str, "name_ru": str, "name_kk": str, "name_en": str, "reviewed_kk": int,
         "reviewed_en": int}, pk="id", not_null={"slug", "name_ru", "name_kk", "name_en", "reviewed_kk",
                                                 "reviewed_en"},
        defaults={"name_kk": "", "name_en": "", "reviewed_kk": 0, "reviewed_en": 0})
    db.table("categories").create_index(["slug"], unique=True)
    db.table("categories").create_index(["name_ru"], unique=True)
    # Plain ALTER TABLE with REFERENCES: sqlite-utils' add_column(fk=...) rebuilds the table and drops its triggers.
    db.execute("ALTER TABLE releases ADD COLUMN category_id INTEGER REFERENCES categories(id)")
    db.table("releases").create_index(["category_id", "published_at"])
    taken: set[str] = set()
    used = db.execute("select distinct category from releases where category > '' order by category").fetchall()
    for (name,) in used:
        slug = category_slug(name, taken)
        taken.add(slug)
        names = {f"name_{lang}": machine_category_name(db, name, lang) for lang in ("kk", "en")}
        db.table("categories").insert({"slug": slug, "name_ru": name, **names})
    db.execute("update releases set category_id = (select id from categories c where c.name_ru = releases.category) "
               "where category > ''")
    for event in ("INSERT", "UPDATE", "DELETE"):  # a renamed category changes pages and feeds: m003's counter
        db.execute(f"""CREATE TRIGGER bump_categories_{event.lower()} AFTER {event} ON categories
            BEGIN UPDATE site_state SET version = version + 1,
            changed_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') WHERE id = 1; END""")


def machine_category_name(db: Database, name: str, lang: str) -> str:
    """The translation of category ``name`` its releases' published ``lang`` translations show most often."""
    row = db.execute("""select t.published_category from translations t join releases r on r.id = t.release_id
        where r.category = ? and t.lang = ? and coalesce(t.published_category, '') != ''
        group by t.published_category order by count(*) desc, t.published_category limit 1""", [name, lang]).fetchone()
    return row[0] if row else ""


# The texts of a translation readers see since m034: the correction's note too.
SHOWN_TEXTS = (*READER_TEXTS, "correction_note")


@migrations()
def m034_translated_correction_note(db: Database) -> None:
    """The correction's note in each language (issue 25): translated, checked and reviewed with the release's
    other one-line texts, and copied to ``published_correction_note`` with them (the trigger made again with it).

    Corrections made before have only the Russian note: their published translations are queued again (memory
    gives the release's sentences back, so only the note reaches a model), unless a job for them is open already;
    one taken down stays down, and one never published gets the note with its first translation.
    """
    table = db.table("translations")
    table.add_column("correction_note", str)
    table.add_column("published_correction_note", str)
    publish_trigger(db, SHOWN_TEXTS)
    now, open_jobs = clock.utcnow(), ", ".join(f"'{status}'" for status in OPEN_JOBS)
    db.execute(f"""insert into jobs (release_id, lang, source_revision, status, attempts, run_after, created_at,
        updated_at) select r.id, t.lang, r.revision, '{JobStatus.QUEUED}', 0, :now, :now, :now
        from releases r join translations t on t.release_id = r.id
        where r.status = '{ReleaseStatus.PUBLISHED}' and coalesce(r.correction_note, '') != ''
        and coalesce(t.published_title, '') != ''
        and not exists (select 1 from jobs j where j.release_id = r.id and j.lang = t.lang
                        and j.status in ({open_jobs}))
        order by r.id, t.lang""", {"now": now})


# Release ids per sitemap file: file n of a language lists the releases with ids (n-1)*SITEMAP_WINDOW+1 ..
# n*SITEMAP_WINDOW readable in it (sitemaps.MAX_URLS). Small, so that a file costs a few milliseconds to build and
# a trigger recounts a window as cheaply. The triggers of m035 hold this size: changing it takes a migration.
SITEMAP_WINDOW = 100
# Each language's windows holding a release readable in it, with when the newest text there changed: the source
# language's releases and each published translation ({where}: which releases, a condition on ``r``).
SITEMAP_WINDOWS = f"""select lang, (id - 1) / {SITEMAP_WINDOW} + 1 as number, max(updated) as lastmod from (
    select r.id, '{SOURCE_LANGUAGE}' as lang, max(r.text_updated_at, r.published_at, r.updated_at) as updated
    from releases r not indexed where {{where}}
    union all
    select r.id, t.lang, max(r.text_updated_at, r.published_at, r.updated_at, t.published_updated)
    from releases r not indexed join translations t on t.release_id = r.id
    and coalesce(t.published_title, '') != '' where {{where}})
    group by lang, number"""


@migrations()
def m035_sitemap_windows(db: Database) -> None:
    """The sitemap index's windows, kept by triggers: every published release's (a scheduled one's too, which
    releases.readable_windows corrects), so that /sitemap.xml reads a row per file instead of the archive (1 s at
    100,000 releases). A change to a release or a translation counts its window again (a hundred releases)."""
    db.table("sitemap_windows").create({"lang": str, "number": int, "lastmod": str}, pk=("number", "lang"))
    published = f"r.status = '{ReleaseStatus.PUBLISHED}'"
    db.execute(f"insert into sitemap_windows (lang, number, lastmod) {SITEMAP_WINDOWS.format(where=published)}")
    first = f"(({{row}}.{{id}} - 1) / {SITEMAP_WINDOW}) * {SITEMAP_WINDOW} + 1"
    recount = f"""DELETE FROM sitemap_windows WHERE number = ({{row}}.{{id}} - 1) / {SITEMAP_WINDOW} + 1;
        INSERT INTO sitemap_windows (lang, number, lastmod) {SITEMAP_WINDOWS.format(
            where=f"{published} and r.id between {first} and {first} + {SITEMAP_WINDOW - 1}")};"""
    watched = {"releases": ("id", "status, published_at, updated_at, text_updated_at"),
               "translations": ("release_id", "published_title, published_updated")}
    for table, (id_column, columns) in watched.items():
        for name, event, row in (("insert", "INSERT", "new"), ("update", f"UPDATE OF {columns}", "new"),
                                 ("delete", "DELETE", "old")):
            db.execute(f"CREATE TRIGGER sitemap_windows_{table}_{name} AFTER {event} ON {table} BEGIN "
                       f"{recount.format(row=row, id=id_column)} END")


@migrations()
def m036_category_machine_names(db: Database) -> None:
    """A category added after m033 (by staff or the office's own feed) gets, like those m033 listed, its name in a
    language from the first published translation of one of its releases that names it: machine-made, unreviewed.
    An editor's correction of a release's category (a human translation) names the category too, reviewed, unless
    an editor has named it already. Without it the category's page and feeds in that language would be named in
    Russian. A trigger, so that every path that publishes a translation fills it."""
    human = f"new.origin = '{Origin.HUMAN}'"
    for lang in ("kk", "en"):
        db.execute(f"""CREATE TRIGGER category_name_{lang} AFTER UPDATE OF published_category ON translations
            WHEN new.lang = '{lang}' AND coalesce(new.published_category, '') != '' BEGIN
            UPDATE categories SET name_{lang} = new.published_category, reviewed_{lang} = {human}
            WHERE (name_{lang} = '' OR (reviewed_{lang} = 0 AND {human}))
            AND id = (SELECT category_id FROM releases WHERE id = new.release_id); END""")


def migrate(db: Database) -> None:
    """Bring the schema up to date (`feedsvc init-db`, `feedsvc serve` and the demo set-up, never a service).

    Under one write lock: two upgrades started at once (the web and worker units' ExecStartPre) run one after
    the other, and the second finds nothing pending.
    """
    with write(db):
        migrations.apply(db)


class SchemaOutdated(StorageUnavailable, RuntimeError):
    """The database's schema is older than this code: `feedsvc init-db` must run before any process starts.

    Also a RuntimeError because gunicorn reports one raised while it loads the app (``--preload``) in one line.
    """

    def __init__(self, pending: list[str]):
        """Keep the names of the migrations still to apply; the message says what to run."""
        self.pending = pending
        super().__init__("the database schema is older than this code: run `feedsvc init-db`")


def ready_schema(db: Database) -> None:
    """Give a new, empty database its schema; refuse one with migrations still to apply.

    An old schema is only ever upgraded by `feedsvc init-db`: web processes and workers starting at once would
    race to change a live archive. An empty database has no archive to change, and migrate() holds the write
    lock, so processes starting at once on a new instance take turns and the later ones find nothing to do.
    """
    if not db.table_names():
        migrate(db)
        return
    pending = [migration.name for migration in migrations.pending(db)]
    if pending:
        raise SchemaOutdated(pending)
