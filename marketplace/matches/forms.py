"""Match forms: pledge, decisions, delivery, confirmation, objection."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.forms import SelectField, choices, positive_int, required


class PledgeForm(FlaskForm):
    resource = SelectField(_l("From your resource"), coerce=int)
    quantity = IntegerField(
        _l("Quantity"),
        validators=positive_int(),
        render_kw={"inputmode": "numeric"},
    )
    submit = SubmitField(_l("Pledge"))


class DeliverForm(FlaskForm):
    note = TextAreaField(_l("Delivery note"), validators=[Length(max=2000)])
    photo = FileField(_l("Evidence photo (optional)"))
    submit = SubmitField(_l("Mark delivered"))


class ConfirmForm(FlaskForm):
    received_quantity = IntegerField(
        _l("Quantity received"),
        validators=positive_int(),
        render_kw={"inputmode": "numeric"},
    )
    received_on = DateField(
        _l("Date received"), validators=[InputRequired(_l("This field is required."))]
    )
    satisfaction = SelectField(
        _l("Household's satisfaction"), coerce=int,
        choices=choices([(n, str(n)) for n in (5, 4, 3, 2, 1)]),
    )  # fmt: skip
    feedback = TextAreaField(_l("Household's comment"), validators=[Length(max=2000)])
    photo = FileField(_l("Photo (optional)"))
    submit = SubmitField(_l("Confirm receipt"))


class NonReceiptForm(FlaskForm):
    reason = TextAreaField(_l("What the household reports"), validators=required(500))
    submit = SubmitField(_l("Report non-receipt"))


class ResolveForm(FlaskForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=choices(
            [
                ("confirmed", _l("Delivery was made: confirmed")),
                ("redeliver", _l("Deliver again")),
                ("cancelled", _l("Call off the match and release the quantity")),
            ]
        ),
    )
    reason = TextAreaField(_l("Reason for the decision"), validators=required(500))
    submit = SubmitField(
        _l("Record decision"),
        # Final: the browser asks first (static/js/confirm.js).
        render_kw={"data-confirm": _l("Record this decision? It cannot be undone.")},
    )


class ObjectionForm(FlaskForm):
    reason = TextAreaField(_l("Your objection"), validators=[*required(2000), Length(min=5)])
    contact = StringField(_l("How to reach you (optional)"), validators=[Length(max=100)])
    submit = SubmitField(_l("File objection"))
