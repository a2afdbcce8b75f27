"""Checks for the identifiers people type: ID cards, credit codes, mobiles.

Each normaliser returns the canonical form or raises ValueError with an English msgid; the
form validators translate it so the user reads a Chinese message.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from flask_babel import lazy_gettext as _l
from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError
from wtforms import Field, Form
from wtforms.validators import ValidationError as FormError

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def _compact(value: str) -> str:
    # NFKC turns full-width digits and letters (１２３Ｘ) into ASCII.
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", value or "")).upper()


def normalise_id_number(value: str) -> str:
    """An 18-digit resident ID card number, checked by the GB 11643 checksum."""
    compact = _compact(value)
    if not re.fullmatch(r"\d{17}[\dX]", compact):
        raise ValueError(_l("An ID card number has 17 digits and a final digit or X."))
    invalid = ValueError(
        _l("This ID card number is not valid: check the digits (checksum or birth date).")
    )
    if ric.calc_check_digit(compact) != compact[-1]:
        raise invalid
    try:
        born = ric.get_birth_date(compact)
    except ValidationError as exc:
        raise invalid from exc
    if born > date.today() or born.year < 1900:
        raise invalid
    # stdnum's own validate() also demands that the region code existed in the birth year,
    # which refuses real cards issued after a county was renumbered (靖远县 622422 -> 620421
    # in 1985, so everyone born there before 1985 holds a 620421 card). Any known code will do.
    if not numdb.get("cn/loc").info(compact[:6])[-1][1]:
        raise ValueError(_l("The first six digits of this ID card number are not a region code."))
    return compact


def normalise_credit_code(value: str) -> str:
    """An 18-character unified social credit code, checked by its checksum."""
    compact = _compact(value)
    try:
        return str(uscc.validate(compact))
    except ValidationError as exc:
        raise ValueError(
            _l("This unified social credit code is not valid: check the 18 characters.")
        ) from exc


def normalise_mobile(value: str) -> str:
    compact = _compact(value)
    if compact.startswith("+86"):
        compact = compact[3:]
    if not MOBILE_RE.fullmatch(compact):
        raise ValueError(_l("A mobile number has 11 digits and starts with 1."))
    return compact


class Normalised:
    """A WTForms validator that normalises the field's data in place or reports the error."""

    def __init__(self, normaliser: object, optional: bool = False) -> None:
        self.normaliser = normaliser
        self.optional = optional

    def __call__(self, form: Form, field: Field) -> None:
        if self.optional and not (field.data or "").strip():
            field.data = ""
            return
        try:
            field.data = self.normaliser(field.data)  # type: ignore[operator]
        except ValueError as exc:
            raise FormError(str(exc.args[0])) from exc
