"""Household register forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SearchField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from marketplace.forms import NumberRange, SelectField, SelectMultipleField, choices, required
from marketplace.households.models import (
    MEMBER_COUNT_RANGE,
    MemberHealth,
    MemberLabour,
    MemberRelation,
    SchoolStage,
)
from marketplace.households.services import MEMBER_COUNT_MESSAGE
from marketplace.validation import Normalised, normalise_id_number, normalise_mobile
from marketplace.vocab import LabourCapacity, PovertyCause

# Codes typed from a paper register: no autocorrection, capitals, nothing remembered.
CODE = {"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"}


class HouseholdForm(FlaskForm):
    village = SelectField(_l("Village"), coerce=int)
    register_number = StringField(_l("Register number"), validators=required(30), render_kw=CODE)
    head_name = StringField(
        _l("Head of household"), validators=required(50), render_kw={"autocomplete": "off"}
    )
    head_id_number = StringField(
        _l("ID card number"), validators=[Normalised(normalise_id_number)], render_kw=CODE
    )
    phone = TelField(
        _l("Mobile number"),
        validators=[Normalised(normalise_mobile, True)],
        render_kw={"inputmode": "tel", "autocomplete": "off"},
    )
    member_count = IntegerField(
        _l("Members"),
        render_kw={"inputmode": "numeric"},
        validators=[
            InputRequired(message=_l("This field is required.")),
            NumberRange(*MEMBER_COUNT_RANGE, message=MEMBER_COUNT_MESSAGE),
        ],
    )
    primary_cause = SelectField(_l("Main poverty cause"), choices=PovertyCause.choices())
    other_causes = SelectMultipleField(_l("Other causes"), choices=PovertyCause.choices())
    # No status here: a new household is poor, and its status changes only through the
    # decisions on its plan (exit by assessment, monitoring: households.policy.STATUS_WORKFLOW).
    labour_capacity = SelectField(_l("Labour capacity"), choices=LabourCapacity.choices())
    income_per_capita = DecimalField(
        _l("Income per person per year (yuan)"),
        places=2,
        render_kw={"inputmode": "decimal"},
        validators=[
            Optional(),
            NumberRange(0, 10_000_000, message=_l("Income cannot be negative.")),
        ],
    )
    submit = SubmitField(_l("Save"))


class HouseholdSearchForm(FlaskForm):
    """Posted, not in the URL: names and ID numbers must never sit in a URL or a log line."""

    q = SearchField(
        _l("Name, register number or ID card number"),
        validators=[Optional()],
        render_kw={"autocomplete": "off"},
    )
    submit = SubmitField(_l("Search"))


GRADES = [
    ("", _l("No disability")),
    ("1", _l("Grade 1 (most severe)")),
    ("2", _l("Grade 2")),
    ("3", _l("Grade 3")),
    ("4", _l("Grade 4")),
]


class MemberForm(FlaskForm):
    """One person of the roster; the service checks the whole member (``member_problems``) and
    the rest of the roster, and says at the field what is wrong."""

    relation = SelectField(_l("Relation to the head"), choices=MemberRelation.choices())
    name = StringField(_l("Name"), validators=required(50), render_kw={"autocomplete": "off"})
    id_number = StringField(
        _l("ID card number"),
        validators=[Normalised(normalise_id_number)],
        description=_l("Sex and date of birth are read from it."),
        render_kw=CODE,
    )
    labour = SelectField(_l("Labour capacity"), choices=MemberLabour.choices())
    health = SelectField(_l("Health"), choices=MemberHealth.choices())
    disability_grade = SelectField(_l("Disability grade"), choices=choices(GRADES))
    schooling = SelectField(_l("Schooling"), choices=SchoolStage.choices())
    in_school = BooleanField(_l("In school now"))
    skills = StringField(
        _l("Skills"),
        validators=[Length(max=200)],
        description=_l("For example: driving, welding, cooking, farming greenhouse vegetables."),
    )
    working_away = BooleanField(_l("Working away from home"))
    submit = SubmitField(_l("Save"))


class ProposeForm(FlaskForm):
    """村评定: the village's assessment, then the household goes to the township."""

    assessed_on = DateField(
        _l("Day of the village assessment"),
        validators=[InputRequired(_l("This field is required."))],
    )
    assessment = TextAreaField(
        _l("Result of the village assessment"),
        validators=[InputRequired(_l("This field is required.")), Length(max=500)],
        description=_l(
            "For example: the villagers' representatives assessed it on 12 March and agreed "
            "(score 78); shown on the village notice board for 7 days without objection."
        ),
    )
    submit = SubmitField(_l("Propose to the township"))
