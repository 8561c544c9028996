"""Admin forms (Flask-WTF: validation and CSRF in one place)."""

from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed
from flask_wtf.file import FileField
from wtforms import BooleanField
from wtforms import DateField
from wtforms import DateTimeLocalField
from wtforms import Form
from wtforms import IntegerField
from wtforms import PasswordField
from wtforms import RadioField
from wtforms import SelectChoice
from wtforms import SelectField
from wtforms import StringField
from wtforms import SubmitField
from wtforms import TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import ValidationError
from wtforms.widgets import HiddenInput

from feedsvc.states import SCHEDULED
from feedsvc.states import ReleaseStatus
from feedsvc.states import TranslationStatus
from feedsvc.text import one_line

PHOTO_EXTENSIONS = ["jpg", "jpeg", "png", "webp"]
# How an edit of a published release is told to readers: not at all (a typo), or as a dated correction with a note.
SILENT, CORRECTION = "silent", "correction"


class LoginForm(FlaskForm):
    """User name and password."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Log in"))


class EditorForm(FlaskForm):
    """A form of an editor's text: while web.kept shows it again, it fails validation, so its view saves nothing
    and renders it with what was posted."""

    def validate(self, extra_validators=None) -> bool:
        """Validate as usual, unless the request only shows the form again (web.kept)."""
        if g.get("kept_reason"):
            return False
        return super().validate(extra_validators=extra_validators)


class StatusForm(EditorForm):
    """Publish, unpublish or withdraw a release; a withdrawal may give a public reason."""

    reason = StringField(_l("Public reason (optional, shown on the withdrawn page)"), validators=[Optional()])
    # A withdrawal needs the tick; a field, so a form kept over an ended session (web.kept) keeps it too.
    confirm = BooleanField(_l("Withdraw this release"))


def plausible_year(form, field) -> None:
    """Refuse dates no press release has (and that time-zone arithmetic cannot handle)."""
    if field.data and not 1900 <= field.data.year <= 2999:
        raise ValidationError(_l("Enter a date between the years 1900 and 2999."))


def listed_category(names: list[str]):
    """A validator: the category is one of ``names`` (the managed list), or none."""
    def check(form, field) -> None:
        """Refuse a name not on the list (compared as it is stored): a typo must not make a new category."""
        name = one_line(field.data or "")
        if name and name not in names:
            raise ValidationError(_l("Unknown category “%(name)s”: choose one from the list (Categories, in the "
                                     "admin, adds new ones).", name=name))
    return check


def release_form(title_max: int, body_max: int, data: dict | None = None, timezone: str = "",
                 categories: list[str] | None = None, **form_options) -> FlaskForm:
    """The upload/edit form, with the configured size limits, the time zone its date is in and the categories to
    choose from (Russian names); ``form_options`` go to the form (the CMS API gives its JSON as ``formdata``,
    without CSRF: a token, not a cookie, is sent)."""
    names = list(categories or [])

    class ReleaseForm(EditorForm):
        """A release as press staff type or paste it."""

        title = StringField(_l("Title"), validators=[DataRequired(), Length(max=title_max)])
        body = TextAreaField(
            _l("Text"), validators=[DataRequired(), Length(max=body_max)],
            description=_l("Plain text; a blank line starts a new paragraph."),
        )
        published_at = DateTimeLocalField(
            _l("Publication date and time (%(timezone)s)", timezone=timezone), validators=[Optional(), plausible_year],
            format="%Y-%m-%dT%H:%M", description=_l("Empty: the moment the release is published."))
        category = SelectField(_l("Category"), choices=[SelectChoice("", _l("none")), *map(SelectChoice, names)],
                               validate_choice=False, validators=[Optional(), listed_category(names)])
        photo = FileField(_l("Photo (JPEG, PNG or WebP)"),
                          validators=[FileAllowed(PHOTO_EXTENSIONS, _l("Only JPEG, PNG or WebP images."))])
        photo_caption = StringField(_l("Photo caption"), validators=[Optional(), Length(max=500)])
        photo_credit = StringField(_l("Photo credit"), validators=[Optional(), Length(max=200)])
        remove_photo = BooleanField(_l("Remove the photo"))
        change = RadioField(_l("This change is"), default=SILENT, validators=[Optional()], choices=[
            SelectChoice(SILENT, _l("a silent fix (typos): readers see no notice")),
            SelectChoice(CORRECTION, _l("a correction: readers see “Corrected on …” with the note below"))])
        correction_note = StringField(_l("Correction note (shown to readers)"), validators=[Length(max=title_max)])
        # The release version the form was opened at (edits only): a stale form is refused.
        version = IntegerField(widget=HiddenInput(), validators=[Optional()])
        save_draft = SubmitField(_l("Save draft"))
        publish = SubmitField(_l("Publish"))

        def validate_correction_note(self, field) -> None:
            """A correction needs the note readers will read."""
            if self.change.data == CORRECTION and not (field.data or "").strip():
                raise ValidationError(_l("A correction needs a short note for readers (or choose a silent fix)."))

    return ReleaseForm(data=data, **form_options)


def translation_form(title_max: int, body_max: int, prefix: str, data: dict | None = None,
                     formdata=None) -> FlaskForm:
    """An editor's translation of one language, with the version it was based on (optimistic locking)."""

    class TranslationForm(EditorForm):
        """Title, category, text and photo texts of one translation."""

        title = StringField(_l("Title"), validators=[DataRequired(), Length(max=title_max)])
        category = StringField(_l("Category"), validators=[Optional(), Length(max=100)])
        body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=body_max)])
        photo_caption = StringField(_l("Photo caption"), validators=[Optional(), Length(max=500)])
        photo_credit = StringField(_l("Photo credit"), validators=[Optional(), Length(max=200)])
        photo_alt = StringField(_l("Photo alt text (empty: the caption)"), validators=[Optional(), Length(max=500)])
        withdrawal_reason = StringField(_l("Public reason of the withdrawal"),
                                        validators=[Optional(), Length(max=title_max)])
        correction_note = StringField(_l("Correction note"), validators=[Optional(), Length(max=title_max)])
        version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
        source_revision = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
        save = SubmitField(_l("Save as reviewed"))

    kwargs = {"data": data, "prefix": prefix}
    if formdata is not None:
        kwargs["formdata"] = formdata
    return TranslationForm(**kwargs)


class VersionForm(FlaskForm):
    """A POST button that names the version it acts on."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    submit = SubmitField(_l("Confirm"))


def set_hidden(field, value) -> None:
    """Change what a hidden field carries on a re-rendered form (WTForms would render the posted text)."""
    field.data, field.raw_data = value, [str(value)]


def release_filter_form(formdata, languages: list[str], categories: list[str]) -> Form:
    """The admin list's filters, read from the query string (a GET form: no CSRF, nothing is changed).

    Choices are bare values ("" for any); the template shows statuses by their labels.
    """
    def select(label, values) -> SelectField:
        """A choice among ``values`` or none."""
        return SelectField(label, choices=["", *values], validators=[Optional()])

    class ReleaseFilterForm(Form):
        """Release status, translation status (in a language), category, published dates."""

        status = select(_l("Status"), [*ReleaseStatus, SCHEDULED])
        lang = select(_l("Language"), languages)
        translation = select(_l("Translation"), list(TranslationStatus))
        category = select(_l("Category"), categories)
        since = DateField(_l("Published from"), validators=[Optional(), plausible_year])
        until = DateField(_l("to"), validators=[Optional(), plausible_year])

    return ReleaseFilterForm(formdata)


def search_form(formdata, categories: list[tuple[str, str]]) -> Form:
    """The public search's options, read from the query string (a GET form: no CSRF): order, category (each
    (Russian name, name shown)), dates."""

    class SearchForm(Form):
        """Sort by relevance or date, one category, published from / to (days)."""

        sort = SelectField(_l("Sort by"), choices=[SelectChoice("relevance", _l("relevance")),
                                                   SelectChoice("date", _l("date, newest first"))],
                           default="relevance", validators=[Optional()])
        category = SelectField(_l("Category"), validators=[Optional()],
                               choices=[SelectChoice("", _l("any")), *(SelectChoice(*pair) for pair in categories)])
        since = DateField(_l("Published from"), validators=[Optional(), plausible_year])
        until = DateField(_l("to"), validators=[Optional(), plausible_year])

    return SearchForm(formdata)
