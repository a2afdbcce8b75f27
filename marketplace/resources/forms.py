"""Resource forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from marketplace.forms import NumberRange, SelectField, SelectMultipleField, required
from marketplace.resources.models import (
    ResourceKind,
    default_labour_required,
    default_per_household,
)
from marketplace.vocab import HouseholdStatus, PovertyCause

REQUIRED = _l("This field is required.")
PER_HOUSEHOLD = _l(
    "The most per household must be a whole number above zero, or left empty for no limit."
)
PRIORITY = _l("A priority, not a condition: these households rank higher, and the others stay "
              "eligible.")  # fmt: skip


class ResourceForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=ResourceKind.choices())
    title = StringField(_l("Title"), validators=required(100))
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])
    categories = SelectMultipleField(_l("Categories served"))
    unlimited = BooleanField(_l("Unlimited (a discount plan open to every eligible household)"))
    capacity = IntegerField(
        _l("Capacity"),
        render_kw={"inputmode": "numeric"},
        validators=[Optional(), NumberRange(1, 100_000_000,
                    message=_l("Capacity must be a whole number above zero, or unlimited."))],
    )  # fmt: skip
    unit = StringField(_l("Unit"), validators=required(20))
    unit_value = DecimalField(
        _l("Value per unit (yuan)"), places=2, render_kw={"inputmode": "decimal"},
        validators=[InputRequired(message=_l("This field is required.")),
                    NumberRange(0, 1e10, message=_l("The value cannot be negative."))],
    )  # fmt: skip
    service_area = SelectMultipleField(_l("Service area"), coerce=int)
    eligible_statuses = SelectMultipleField(
        _l("Eligible household statuses"), choices=HouseholdStatus.choices(),
        description=_l("None chosen: every status."),
    )  # fmt: skip
    eligible_causes = SelectMultipleField(
        _l("Eligible poverty causes"), choices=PovertyCause.choices(),
        description=_l("None chosen: every cause."),
    )  # fmt: skip
    # Fairness: the unit is the household (issue 12). The defaults depend on the kind: the
    # page fills them for the kind chosen (``set_defaults``), and its script when it changes.
    per_household = IntegerField(
        _l("Most per household"),
        render_kw={"inputmode": "numeric"},
        validators=[Optional(), NumberRange(1, 100_000_000, message=PER_HOUSEHOLD)],
        description=_l("The most units one household may receive of this resource, over all "
                       "its needs. Goods: 1 by default; other kinds: no limit. Leave empty for "
                       "no limit."),
    )  # fmt: skip
    labour_required = BooleanField(
        _l("Needs someone able to work"),
        description=_l("Only households with a member able to work. Ticked by default for jobs "
                       "and training."),
    )  # fmt: skip
    priority_statuses = SelectMultipleField(
        _l("Household statuses to favour"), choices=HouseholdStatus.choices(),
        description=PRIORITY,
    )  # fmt: skip
    priority_causes = SelectMultipleField(
        _l("Poverty causes to favour"), choices=PovertyCause.choices(), description=PRIORITY,
    )  # fmt: skip
    valid_from = DateField(
        _l("Valid from"), validators=[InputRequired(_l("This field is required."))]
    )
    valid_until = DateField(
        _l("Valid until"), validators=[InputRequired(_l("This field is required."))]
    )
    delivery_deadline = DateField(_l("Delivery deadline"), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def set_defaults(self, kind: ResourceKind) -> None:
        """A new resource's fields that depend on its kind, as the donor first sees them."""
        self.kind.data = kind.value
        self.per_household.data = default_per_household(kind)
        self.labour_required.data = default_labour_required(kind)

    def validate(self, extra_validators=None):  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        # Once: a capacity that is no number was told so already.
        if not self.unlimited.data and self.capacity.data is None and not self.capacity.errors:
            self.capacity.errors = [
                *self.capacity.errors,
                _l("Capacity must be a whole number above zero, or unlimited."),
            ]
            ok = False
        return ok
