"""Import forms: the upload, and the confirmation that carries the kept upload's token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SubmitField
from wtforms.validators import InputRequired


class ImportForm(FlaskForm):
    file = FileField(_l("Filled-in template (.xlsx)"))
    submit = SubmitField(_l("Check the file"))


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[InputRequired()])
    submit = SubmitField(_l("Import all rows"))
