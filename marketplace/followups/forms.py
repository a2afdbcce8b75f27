"""Follow-up, certificate and verification forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from marketplace.followups.questions import QuestionSet
from marketplace.forms import SelectField, choices

YES_NO = [("", _l("Choose")), ("yes", _l("Yes")), ("no", _l("No"))]


def yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


class FollowUpForm(FlaskForm):
    # Which follow-up the page showed: a second person recording it meanwhile is refused.
    follow_up = HiddenField()
    visited_on = DateField(
        _l("Day of the visit"), validators=[InputRequired(_l("This field is required."))]
    )
    effective = SelectField(_l("Still working?"), choices=choices(YES_NO),
                            validators=[InputRequired(_l("Answer this question."))])  # fmt: skip
    producing = SelectField(_l("Producing?"), choices=choices(YES_NO),
                            validators=[InputRequired(_l("Answer this question."))])  # fmt: skip
    # Text, read by the service (which says at the field what is wrong): "2,800" is accepted.
    amount = StringField(_l("Amount (yuan)"), validators=[Length(max=20)],
                         render_kw={"inputmode": "decimal"})  # fmt: skip
    note = TextAreaField(_l("Note (only staff and administrators see it)"),
                         validators=[Length(max=2000)])  # fmt: skip
    photo = FileField(_l("Photo (optional)"))
    submit = SubmitField(_l("Record the follow-up"))

    def ask(self, asked: QuestionSet) -> FollowUpForm:
        """The questions of one question set: its wording, and only the fields it asks."""
        self.effective.label.text = str(asked.effective)
        if asked.producing is None:
            del self.producing
        else:
            self.producing.label.text = str(asked.producing)
        if asked.amount is None:
            del self.amount
        else:
            self.amount.label.text = str(asked.amount)
        return self

    def answers(self) -> dict[str, Any]:
        return {
            "visited_on": self.visited_on.data,
            "effective": yes_no(self.effective.data),
            "producing": yes_no(self.producing.data) if "producing" in self._fields else None,
            "amount": (self.amount.data or "") if "amount" in self._fields else None,
            "note": self.note.data or "",
        }


def _month() -> list[object]:
    return [InputRequired(_l("This field is required.")), Length(max=7)]


class CertificateForm(FlaskForm):
    first_month = StringField(_l("From (month)"), validators=_month(),
                              render_kw={"type": "month", "placeholder": "2026-01"})  # fmt: skip
    last_month = StringField(_l("To (month)"), validators=_month(),
                             render_kw={"type": "month", "placeholder": "2026-12"})  # fmt: skip
    submit = SubmitField(_l("Issue the certificate"))


class VerifyForm(FlaskForm):
    code = StringField(
        _l("Verification code"),
        validators=[InputRequired(_l("This field is required.")), Length(max=40)],
        render_kw={"autocomplete": "off", "placeholder": "XXXX-XXXX-XXXX-XXXX-XXXX"},
    )
    submit = SubmitField(_l("Check the code"))
