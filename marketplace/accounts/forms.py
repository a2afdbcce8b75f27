"""Account forms: they validate, never write."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    SelectChoice,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import EqualTo, Length, Optional

from marketplace.accounts.models import OrganizationKind, TokenScope
from marketplace.accounts.policy import SCOPE_LEVELS
from marketplace.forms import SelectField, SelectMultipleField, required
from marketplace.validation import Normalised, normalise_credit_code, normalise_mobile

# What phones and password managers need to offer the right keyboard and the right entry.
USERNAME = {"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
NEW_PASSWORD = {"autocomplete": "new-password"}
TEL = {"inputmode": "tel", "autocomplete": "tel"}
CODE = {"autocapitalize": "characters", "spellcheck": "false", "autocomplete": "off"}


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=required(50), render_kw=USERNAME)
    password = PasswordField(
        _l("Password"), validators=required(200), render_kw={"autocomplete": "current-password"}
    )
    submit = SubmitField(_l("Sign in"))


class PasswordChangeForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=required(200),
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(_l("New password"), validators=required(200), render_kw=NEW_PASSWORD)
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[EqualTo("new", message=_l("The two passwords differ."))],
        render_kw=NEW_PASSWORD,
    )
    submit = SubmitField(_l("Change password"))


class RegisterForm(FlaskForm):
    kind = SelectField(_l("Donor type"), choices=OrganizationKind.choices())
    organization_name = StringField(
        _l("Organization name"),
        validators=[Length(max=200)],
        description=_l("Leave empty if you give as an individual."),
    )
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[Normalised(normalise_credit_code, optional=True)],
        render_kw=CODE,
    )
    region = SelectField(_l("Region where the organization is registered"), coerce=int)
    username = StringField(_l("User name"), validators=required(50), render_kw=USERNAME)
    display_name = StringField(
        _l("Your name"), validators=required(50), render_kw={"autocomplete": "name"}
    )
    phone = TelField(_l("Mobile number"), validators=[Normalised(normalise_mobile)], render_kw=TEL)
    email = EmailField(
        _l("E-mail"), validators=[Optional(), Length(max=200)], render_kw={"autocomplete": "email"}
    )
    password = PasswordField(_l("Password"), validators=required(200), render_kw=NEW_PASSWORD)
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
        render_kw=NEW_PASSWORD,
    )
    submit = SubmitField(_l("Register"))

    def validate(self, extra_validators=None):  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if self.kind.data != OrganizationKind.INDIVIDUAL.value:
            if not (self.organization_name.data or "").strip():
                self.organization_name.errors.append(_l("This field is required."))
                ok = False
            if not self.credit_code.data:
                self.credit_code.errors.append(
                    _l("An organization must give its unified social credit code.")
                )
                ok = False
        return ok


class UserCreateForm(FlaskForm):
    role = SelectField(
        _l("Role"),
        # The roles an administrator creates: those with region levels to be scoped to.
        choices=[SelectChoice(r.value, r.label) for r in SCOPE_LEVELS],
    )
    regions = SelectMultipleField(
        _l("Regions"), coerce=int, description=_l("Villages for staff; one region otherwise.")
    )
    username = StringField(
        _l("User name"), validators=required(50), render_kw={**USERNAME, "autocomplete": "off"}
    )
    display_name = StringField(_l("Name"), validators=required(50))
    phone = TelField(
        _l("Mobile number"), validators=[Normalised(normalise_mobile, True)], render_kw=TEL
    )
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    password = PasswordField(
        _l("Initial password"),
        validators=required(200),
        render_kw=NEW_PASSWORD,
        description=_l("Tell it to the person; they should change it at first sign-in."),
    )
    submit = SubmitField(_l("Create account"))


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=required(100),
        description=_l("What the token is for, e.g. the county's reporting system."),
    )
    scope = SelectField(
        _l("Scope"),
        choices=[SelectChoice(s.value, s.label) for s in (TokenScope.READ, TokenScope.WRITE)],
        default=TokenScope.READ.value,
        description=_l("A read-only token may only read; one that may act can also change data."),
    )
    expires_on = DateField(
        _l("Valid until"),
        validators=[Optional()],
        description=_l("Optional: the last day the token works. Empty: until revoked."),
    )
    submit = SubmitField(_l("Create token"))


class ForgotPasswordForm(FlaskForm):
    identifier = StringField(
        _l("User name or e-mail"), validators=required(200), render_kw=USERNAME
    )
    submit = SubmitField(_l("Send a reset link"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=required(200), render_kw=NEW_PASSWORD)
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
        render_kw=NEW_PASSWORD,
    )
    submit = SubmitField(_l("Set the new password"))


class StaffVillagesForm(FlaskForm):
    regions = SelectMultipleField(
        _l("Villages"),
        coerce=int,
        description=_l("The villages this person looks after from now on."),
    )
    submit = SubmitField(_l("Save villages"))


class OrganizationForm(FlaskForm):
    """A donor corrects a rejected organization and submits it again."""

    name = StringField(_l("Organization name"), validators=[Length(max=200)])
    credit_code = StringField(
        _l("Unified social credit code"),
        validators=[Normalised(normalise_credit_code, optional=True)],
        render_kw=CODE,
    )
    region = SelectField(_l("Region where the organization is registered"), coerce=int)
    contact_name = StringField(
        _l("Contact person"), validators=required(50), render_kw={"autocomplete": "name"}
    )
    contact_phone = TelField(
        _l("Mobile number"), validators=[Normalised(normalise_mobile)], render_kw=TEL
    )
    submit = SubmitField(_l("Submit for verification again"))
