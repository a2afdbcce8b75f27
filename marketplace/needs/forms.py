"""Need forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    DecimalField,
    IntegerField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from marketplace.forms import NumberRange, SelectField, choices, positive_int, required
from marketplace.vocab import subcategory_choices

URGENCY_CHOICES = [(1, _l("1 · can wait")), (2, _l("2 · soon")), (3, _l("3 · urgent"))]


class NeedForm(FlaskForm):
    village = SelectField(_l("Village"), coerce=int)
    household = SelectField(
        _l("Household"), coerce=int, description=_l("Leave empty for a need of the whole village.")
    )
    subcategory = SelectField(_l("Category"))
    title = StringField(_l("Title"), validators=required(100))
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    quantity = IntegerField(
        _l("Quantity"), validators=positive_int(), render_kw={"inputmode": "numeric"}
    )
    unit = StringField(_l("Unit"), validators=required(20))
    estimated_value = DecimalField(
        _l("Estimated value (yuan)"), places=2, render_kw={"inputmode": "decimal"},
        validators=[Optional(), NumberRange(0, 1e10, message=_l("The value cannot be negative."))],
    )  # fmt: skip
    urgency = SelectField(_l("Urgency"), coerce=int)
    needed_by = DateField(_l("Needed by"), validators=[Optional()])
    photo = FileField(_l("Photo (optional)"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.subcategory.choices = subcategory_choices()
        from flask import url_for

        self.subcategory.render_kw = {"data-suggest-url": url_for("needs.suggest_category")}
        self.urgency.choices = choices(URGENCY_CHOICES)


class BrowseForm(FlaskForm):
    """Filters for browsing needs (GET: no personal data in them)."""

    class Meta:
        csrf = False

    category = SelectField(_l("Category"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()])
    urgency = SelectField(_l("Urgency"), validators=[Optional()])
