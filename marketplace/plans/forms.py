"""Plan forms: the plan's aim, a measure, one visit's guarantee checks, a shock."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, Field, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from marketplace.forms import NumberRange, SelectField, choices, required
from marketplace.plans.models import Guarantee, ShockKind
from marketplace.validation import Normalised, normalise_mobile
from marketplace.vocab import subcategory_choices

CHECK_CHOICES = choices([("", _l("Not checked this time")), ("met", _l("Met")),
                         ("unmet", _l("Not met"))])  # fmt: skip


class PlanForm(FlaskForm):
    goal = StringField(
        _l("Aim of the plan"),
        validators=[Length(max=200)],
        description=_l("What the household aims at, e.g. income from sheep and a job for one."),
    )
    target_year = IntegerField(
        _l("Year to be out of poverty"),
        validators=[
            Optional(),
            NumberRange(2000, 2100, message=_l("Give a year from 2000 to 2100.")),
        ],
    )
    submit = SubmitField(_l("Save"))


class MeasureForm(FlaskForm):
    cause = SelectField(_l("Poverty cause it answers"))
    subcategory = SelectField(
        _l("Category"), description=_l("A need posted from the measure takes this category.")
    )
    title = StringField(_l("Measure"), validators=required(100))
    target = StringField(
        _l("Target"), validators=[Length(max=200)],
        description=_l("What counts as done, e.g. every member insured."),
    )  # fmt: skip
    due_on = DateField(
        _l("Due by"), validators=[InputRequired(message=_l("This field is required."))]
    )
    responsible_id = SelectField(_l("Responsible cadre"), coerce=int)
    responsible_name = StringField(
        _l("Or the cadre's name"), validators=[Length(max=50)],
        description=_l("When the cadre has no account here."),
    )  # fmt: skip
    responsible_phone = StringField(
        _l("The cadre's mobile number"), validators=[Normalised(normalise_mobile, True)]
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.subcategory.choices = subcategory_choices()


class GuaranteesForm(FlaskForm):
    """One visit (入户核查): the day, and for each guarantee checked, met or not, what was seen
    and, if taken, a photo of it. Fields ``<guarantee>_met``, ``<guarantee>_evidence`` and
    ``<guarantee>_photo``, added below."""

    checked_on = DateField(
        _l("Day of the check"), validators=[InputRequired(message=_l("This field is required."))]
    )
    submit = SubmitField(_l("Record the checks"))

    def entries(self) -> list[tuple[Guarantee, Field, Field, Field]]:
        return [
            (g, self[f"{g.value}_met"], self[f"{g.value}_evidence"], self[f"{g.value}_photo"])
            for g in Guarantee
        ]


for _guarantee in Guarantee:
    setattr(
        GuaranteesForm,
        f"{_guarantee.value}_met",
        SelectField(_guarantee.label, choices=CHECK_CHOICES, validators=[Optional()]),
    )
    setattr(
        GuaranteesForm,
        f"{_guarantee.value}_evidence",
        StringField(_l("Evidence"), validators=[Length(max=500)]),
    )
    setattr(
        GuaranteesForm,
        f"{_guarantee.value}_photo",
        FileField(_l("Photo (optional)"), render_kw={"accept": "image/jpeg,image/png,image/webp"}),
    )


class ShockForm(FlaskForm):
    kind = SelectField(_l("What happened"), choices=ShockKind.choices())
    occurred_on = DateField(
        _l("When"), validators=[InputRequired(message=_l("This field is required."))]
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=500)])
    submit = SubmitField(_l("Record the shock"))
