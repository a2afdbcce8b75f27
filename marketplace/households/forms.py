"""Household register forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DecimalField,
    IntegerField,
    SearchField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import InputRequired, Optional

from marketplace.forms import NumberRange, SelectField, SelectMultipleField, required
from marketplace.households.models import MEMBER_COUNT_RANGE
from marketplace.households.services import MEMBER_COUNT_MESSAGE
from marketplace.validation import Normalised, normalise_id_number, normalise_mobile
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

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
    status = SelectField(_l("Status"), choices=HouseholdStatus.choices())
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
