"""Spot check forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, Optional

from marketplace.forms import NumberRange, SelectField, choices
from marketplace.oversight.models import Finding

REQUIRED = _l("This field is required.")


class SpotCheckForm(FlaskForm):
    region = SelectField(_l("Region"), coerce=int)
    period_start = DateField(_l("Period from"), validators=[InputRequired(REQUIRED)])
    period_end = DateField(_l("Period to"), validators=[InputRequired(REQUIRED)])
    category = SelectField(_l("Category"), validators=[Optional()])
    match_status = SelectField(_l("Match status"), validators=[Optional()])
    sample_size = IntegerField(
        _l("Sample size"),
        validators=[InputRequired(REQUIRED),
                    NumberRange(1, 500, _l("The sample size is between 1 and %(n)s.", n=500))],
    )  # fmt: skip
    seed = IntegerField(
        _l("Seed (optional)"), validators=[Optional(), NumberRange(0, 2**62 - 1)],
        description=_l("Leave empty for a fresh seed; give a recorded one to draw again."),
    )  # fmt: skip
    submit = SubmitField(_l("Draw the sample"))


class FindingForm(FlaskForm):
    people = SelectField(_l("People"), choices=Finding.choices())
    project = SelectField(_l("Project"), choices=Finding.choices())
    funds = SelectField(_l("Funds"), choices=Finding.choices())
    measures = SelectField(_l("Measures"), choices=Finding.choices())
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    photo = FileField(_l("Photo (optional)"))
    submit = SubmitField(_l("Save findings"))


class ReportForm(FlaskForm):
    """The auditor's report: saved as a draft while the check goes on, or closing it (final)."""

    text = TextAreaField(_l("Report"), validators=[Length(max=10000)])
    # Set on the confirmation step: close although some checks are not done.
    confirmed = HiddenField()
    save = SubmitField(_l("Save draft"))
    close = SubmitField(_l("Close the check"))


class AnswerForm(FlaskForm):
    text = TextAreaField(
        _l("Answer of the administrators"), validators=[InputRequired(REQUIRED), Length(max=10000)]
    )
    submit = SubmitField(_l("Send the answer"))


def blank_choice(label: object, pairs: list[tuple[str, object]]) -> list[object]:
    return choices([("", label), *pairs])


class TrailFilterForm(FlaskForm):
    """The audit trail's filters (GET: they stay in the address, so the pager keeps them and
    the export takes the same). The view sets the choices."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validators=[Optional()])
    role = SelectField(_l("Role"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()])
    kind = SelectField(_l("Object type"), validators=[Optional()])
    actor = StringField(_l("User name"), validators=[Optional(), Length(max=50)])
    since = DateField(_l("From"), validators=[Optional()],
                      description=_l("Beijing time, both days included."))  # fmt: skip
    until = DateField(_l("To"), validators=[Optional()])
    views = BooleanField(_l("Show page views (personal data and contacts viewed)"))

    def validate_until(self, field: DateField) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date cannot be before the start date."))
