"""Produce forms: the listing (staff), the order (buyers) and each step of an order."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, DecimalField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.forms import NumberRange, SelectField, SelectMultipleField, choices, required
from marketplace.produce.models import PRODUCE_CATEGORIES
from marketplace.produce.policy import OUTCOME_LABELS

REQUIRED = _l("This field is required.")
QUANTITY = _l("The quantity must be a whole number above zero.")
PRICE = _l("The price per unit is above zero and at most 1,000,000 yuan.")
MAX_PHOTOS = 5


class ListingForm(FlaskForm):
    village = SelectField(_l("Village"), coerce=int)
    household = SelectField(
        _l("Household"), coerce=int,
        description=_l("The household selling; or choose “a village cooperative” and name it."),
    )  # fmt: skip
    cooperative_name = StringField(
        _l("Cooperative's name"), validators=[Length(max=100)],
        description=_l("Only for a village cooperative's produce."),
    )  # fmt: skip
    members = SelectMultipleField(
        _l("Households the cooperative sells for"), coerce=int,
        description=_l("The registered households whose income the sales are: the amount "
                       "confirmed is shared equally among them."),
    )  # fmt: skip
    product = StringField(_l("Product"), validators=required(100))
    category = SelectField(_l("Category"))
    quantity = IntegerField(
        _l("Quantity"),
        validators=[InputRequired(message=REQUIRED), NumberRange(1, 100_000_000, message=QUANTITY)],
        render_kw={"inputmode": "numeric", "min": "1"},
    )
    unit = StringField(_l("Unit"), validators=required(20), render_kw={"placeholder": "斤"})
    price = DecimalField(
        _l("Price per unit (yuan)"), places=2,
        validators=[InputRequired(message=REQUIRED),
                    NumberRange(Decimal("0.01"), Decimal(1_000_000), message=PRICE)],
        render_kw={"inputmode": "decimal"},
    )  # fmt: skip
    available_from = DateField(_l("Available from"), validators=[InputRequired(message=REQUIRED)])
    quality_notes = TextAreaField(
        _l("Quality notes"), validators=[Length(max=2000)],
        description=_l("Variety, grade, how it is grown or kept, certificates."),
    )  # fmt: skip
    photos = MultipleFileField(_l("Photos (optional, up to 5)"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = choices([(c.code, c.label) for c in PRODUCE_CATEGORIES])


class OrderForm(FlaskForm):
    resource = SelectField(_l("Purchase resource"), coerce=int)
    quantity = IntegerField(
        _l("Quantity"),
        validators=[InputRequired(message=REQUIRED), NumberRange(1, 100_000_000, message=QUANTITY)],
        render_kw={"inputmode": "numeric", "min": "1"},
    )
    submit = SubmitField(_l("Order"))


class HandOverForm(FlaskForm):
    note = TextAreaField(
        _l("Handover note"), validators=[Length(max=2000)],
        description=_l("Weight handed over, where and to whom."),
    )  # fmt: skip
    submit = SubmitField(_l("Mark handed over"))


class PayForm(FlaskForm):
    paid_on = DateField(_l("Date paid"), validators=[InputRequired(message=REQUIRED)])
    reference = StringField(
        _l("Payment reference"), validators=required(100),
        description=_l("The transfer's number, so that the household's staff can check it."),
    )  # fmt: skip
    submit = SubmitField(_l("Record the payment"))


class ConfirmPaymentForm(FlaskForm):
    received_on = DateField(
        _l("Date the household received it"), validators=[InputRequired(message=REQUIRED)]
    )
    submit = SubmitField(_l("Confirm the payment received"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=required(500))


class DisputeForm(ReasonForm):
    submit = SubmitField(_l("Report a problem"))


class CancelForm(ReasonForm):
    submit = SubmitField(_l("Cancel the order"))


class ResolveForm(FlaskForm):
    outcome = SelectField(_l("Outcome"))
    reason = TextAreaField(_l("Reason for the decision"), validators=required(500))
    submit = SubmitField(_l("Resolve the dispute"))

    def offer(self, outcomes: list[str]) -> None:
        self.outcome.choices = choices([(o, OUTCOME_LABELS[o]) for o in outcomes])


class ListingReasonForm(FlaskForm):
    """Returning a listing (a reason required by the service) or withdrawing it."""

    reason = TextAreaField(_l("Reason"), validators=[Length(max=500)])
