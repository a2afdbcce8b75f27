"""Form pieces shared by every domain."""

from __future__ import annotations

from typing import Any

import wtforms
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, Form, SelectChoice, TextAreaField
from wtforms import validators as wtf_validators
from wtforms.validators import DataRequired, InputRequired, Length, StopValidation

# What a select says of a value it does not offer (a tampered or stale post): WTForms' words for
# a single select, which its Chinese catalogue translates; its words for a multiple select it
# leaves untranslated (fuzzy). So every select of the product is one of the two below, and
# single and multiple ones say the same, from our catalogues.
NOT_OFFERED = _l("Not a valid choice.")


class SelectField(wtforms.SelectField):
    """WTForms' select, refusing a value it does not offer in the product's words."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_choice_message", NOT_OFFERED)
        kwargs.setdefault("invalid_value_message", NOT_OFFERED)
        super().__init__(*args, **kwargs)


class SelectMultipleField(wtforms.SelectMultipleField):
    """WTForms' multiple select, refusing values it does not offer in the product's words."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("invalid_choice_message", NOT_OFFERED)
        kwargs.setdefault("invalid_value_message", NOT_OFFERED)
        super().__init__(*args, **kwargs)


class NumberRange(wtf_validators.NumberRange):
    """WTForms' NumberRange, quiet when the field could not read the input as a number: the
    field's own message ("不是有效的整数。") says what is wrong, once. Every numeric field of
    the product's forms uses this one."""

    def __call__(self, form: Form, field: Field) -> None:
        if field.process_errors:
            raise StopValidation()  # no message of its own, and nothing after it runs
        super().__call__(form, field)


class ReasonForm(FlaskForm):
    """A decision with an optional reason (required by the service when refusing)."""

    reason = TextAreaField(_l("Reason"), validators=[Length(max=500)])


def required(max_length: int) -> list[object]:
    return [DataRequired(message=_l("This field is required.")), Length(max=max_length)]


def positive_int() -> list[object]:
    """A whole number above zero: quantities and capacities."""
    return [
        InputRequired(message=_l("This field is required.")),
        NumberRange(1, 100_000_000, message=_l("The quantity must be a whole number above zero.")),
    ]


def choices(pairs: list[tuple[Any, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]
