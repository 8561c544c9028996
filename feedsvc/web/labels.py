"""The interface's words for the stored vocabularies and its dates: one place names every status and flag.

Tables store English keys (feedsvc.states, translation.checks.Flag); staff and readers see these labels,
in the page's language. Times are shown in the press office's time zone, written as each language writes
dates, with the zone beside them, so a reader abroad never meets an unexplained time.
"""

from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_location
from flask import current_app
from flask import g
from flask_babel import format_datetime
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup

from feedsvc import clock
from feedsvc.states import SCHEDULED
from feedsvc.states import JobStatus
from feedsvc.states import Origin
from feedsvc.states import ReleaseStatus
from feedsvc.states import SentenceOrigin
from feedsvc.states import TranslationStatus
from feedsvc.text import editions
from feedsvc.translation.checks import Flag

# How each language writes a date and time (CLDR's own "long" patterns differ from the press norms:
# Kazakh writes "2026 жылғы 19 қараша", Russian "19 ноября 2026 г.", and a 24-hour clock everywhere).
DATE_PATTERNS = {"ru": "d MMMM y 'г.'", "kk": "y 'жылғы' d MMMM", "en": "d MMMM y"}
DEFAULT_DATE_PATTERN = "d MMMM y"


def status_labels() -> dict[str, str]:
    """Every status of every vocabulary (release, translation, job, origin) in the interface's language.

    The vocabularies share some values ("failed", "no-model", "machine"); they mean the same to staff.
    """
    return {
        ReleaseStatus.DRAFT: _("draft"), ReleaseStatus.PUBLISHED: _("published"),
        ReleaseStatus.WITHDRAWN: _("withdrawn"), SCHEDULED: _("scheduled"),
        TranslationStatus.PENDING: _("pending"), TranslationStatus.TRANSLATING: _("translating"),
        TranslationStatus.MACHINE: _("machine"), TranslationStatus.HELD: _("needs review"),
        TranslationStatus.REVIEWED: _("reviewed"), TranslationStatus.OUTDATED: _("outdated"),
        TranslationStatus.FAILED: _("failed"), TranslationStatus.NO_MODEL: _("no model"),
        JobStatus.QUEUED: _("queued"), JobStatus.RUNNING: _("running"), JobStatus.DONE: _("done"),
        JobStatus.SUPERSEDED: _("superseded"), Origin.HUMAN: _("human"),
    }


def status_label(status: str | None) -> str:
    """A stored status (of a release, translation or job) or origin, in the interface's language.

    The labels are looked up once per request and locale: the admin list shows a few hundred statuses a page.
    """
    key = str(get_locale())
    known = g.setdefault("status_labels", {})
    if key not in known:
        known[key] = status_labels()
    return known[key].get(status or "", status or "—")


def flag_label(flag: str) -> str:
    """The name of a sentence check's flag, in the interface's language."""
    labels = {Flag.PLACEHOLDERS: _("placeholders"), Flag.LITERALS: _("numbers and links"), Flag.NAMES: _("names"),
              Flag.LENGTH: _("length"), Flag.REPETITION: _("repetition"), Flag.UNTRANSLATED: _("untranslated"),
              Flag.COPY: _("same output for different sentences"), Flag.QUOTES: _("quotes"),
              Flag.SCORE: _("low model score")}
    return labels.get(flag, flag)


def finding_reason(finding) -> str:
    """Why a check flagged a sentence, in the interface's language (checks stored before reasons were
    translatable have only their English reason)."""
    return _(finding.template, **finding.values) if finding.template else finding.reason


def provenance_label(view) -> str:
    """What a translated page or feed item says of its text (a LocalizedRelease): reviewed by the press service
    only when an editor saw every sentence, else machine translation (with how many sentences were reviewed); an
    edition's text says first that it is the translation written in another alphabet."""
    return " ".join(filter(None, (edition_label(view), translation_label(view))))


def edition_label(view) -> str:
    """What an edition's text is ("" in a language's own script): the translation, written letter by letter."""
    if not editions.edition(view.lang) or view.is_original:
        return ""
    return _("A transliteration of the Kazakh translation into the Latin alphabet of 2021.")


def translation_label(view) -> str:
    """Reviewed by the press service, or machine translation (with how many sentences were reviewed)."""
    found = view.provenance
    if found is None or found.complete:
        return _("Translation reviewed by the press service.")
    if found.reviewed:
        return ngettext("Machine translation, %(reviewed)s of %(num)s sentence reviewed.",
                        "Machine translation, %(reviewed)s of %(num)s sentences reviewed.", found.total,
                        reviewed=found.reviewed)
    return _("Machine translation.")


def outdated_label(view) -> str:
    """The notice of a translation kept up while the one of the updated original is checked ("" if current)."""
    if not view.is_outdated:
        return ""
    return _("The original was updated on %(date)s; the updated translation is being checked.",
             date=localdt(view.original_updated_at))


def correction_label(view) -> str:
    """The words before a corrected release's note (a LocalizedRelease): when it was corrected ("" if never)."""
    if not view.corrected_at:
        return ""
    return _("Corrected on %(date)s:", date=localdt(view.corrected_at))


def origin_label(origin: str) -> str:
    """Where a sentence of a translation comes from, in the interface's language."""
    return {SentenceOrigin.MACHINE: _("machine"), SentenceOrigin.APPROVED: _("approved as it is"),
            SentenceOrigin.EDITED: _("edited")}.get(origin, origin)


def route_label(kind: str) -> str:
    """How a language is reached: directly, or through English."""
    return {"direct": _("direct"), "pivot": _("through English")}.get(kind, kind)


def zone_label(moment: datetime) -> str:
    """The time zone beside a time: the zone's city in the page's language and its UTC offset (Almaty, UTC+5)."""
    city = get_timezone_location(moment.tzinfo, locale=get_locale(), return_city=True)
    minutes = int(moment.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    hours, rest = divmod(abs(minutes), 60)
    offset = "" if minutes == 0 else f"{'+' if minutes > 0 else '−'}{hours}" + (f":{rest:02d}" if rest else "")
    return page_script(f"{city}, UTC{offset}")


def office_zone() -> ZoneInfo:
    """The press office's time zone (TIMEZONE): pages show times in it, the release form reads them in it."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_moment(value: str | datetime) -> datetime:
    """A stored UTC time (ISO text or a moment) in the press office's time zone."""
    return (clock.parse_time(value) if isinstance(value, str) else value).astimezone(office_zone())


def localdt(value: str) -> str:
    """A stored UTC time as the page's language writes it, with the zone: 19 November 2026, 15:00 (Almaty, UTC+5)."""
    moment = local_moment(value)
    return f"{page_script(format_datetime(moment, date_pattern() + ', HH:mm'))} ({zone_label(moment)})"


def page_script(text: str) -> str:
    """A text the locale wrote (a date, a city) in the page's script: an edition's (kk-latn) on its pages."""
    return editions.in_script(g.get("lang"), text)


def date_pattern() -> str:
    """The date pattern of the interface's language."""
    return DATE_PATTERNS.get(str(get_locale()), DEFAULT_DATE_PATTERN)


def timetag(value: str | None) -> Markup:
    """A stored time as <time datetime="ISO">, its text as localdt writes it (machines read the ISO value)."""
    if not value:
        return Markup("—")
    return Markup('<time datetime="{}">{}</time>').format(value, localdt(value))


def day_start(day: date | None, later: int = 0) -> datetime | None:
    """Midnight starting ``day`` (plus ``later`` days) in the press office's time zone; None for no day."""
    return day and datetime.combine(day + timedelta(days=later), time(), office_zone())
