"""Form pieces shared by every domain."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


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
