"""Small helpers shared by the views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import current_app, g, request
from flask_sqlalchemy.pagination import Pagination

from marketplace.attachments.services import read_photo
from marketplace.errors import ServiceError
from marketplace.extensions import db

T = TypeVar("T")


def paginate(query: Any) -> Pagination:
    page = request.args.get("page", 1, type=int) or 1
    return db.paginate(
        query, page=max(page, 1), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )


def uploaded_photo(field: Any) -> tuple[bytes, str, str] | None:
    """The checked content of an optional photo field, or None when nothing was chosen."""
    storage = field.data
    if storage is None or isinstance(storage, str) or not getattr(storage, "filename", ""):
        return None
    try:
        return read_photo(storage.stream)
    except ServiceError as exc:  # shown at the photo field, the rest of the form kept
        raise ServiceError(exc.message, exc.status, field=field.name) from exc


def int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value and value > 0 else None


def first_error(form: Any) -> str:
    """The first validation message of a form, for actions posted from another page."""
    for field_name, errors in form.errors.items():
        if errors:
            label = getattr(form, field_name).label.text if hasattr(form, field_name) else ""
            return f"{label}: {errors[0]}" if label else str(errors[0])
    return ""


def keep_changes() -> None:
    """Commit this request's changes although it answers with an error (a failed sign-in
    is recorded); by default only successful requests commit."""
    g.keep_changes = True


def refuse_in_form(form: Any, exc: ServiceError) -> None:
    """Show a service's refusal on the form: at its field when it names one of the form's
    fields, above the form otherwise. Nothing of the attempted change is kept."""
    db.session.rollback()
    field = getattr(form, exc.field, None) if exc.field else None
    form.refused_status = exc.status
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


@dataclass(frozen=True)
class Submission(Generic[T]):
    """What ``submitted`` did: true when the service ran, with what it returned."""

    ok: bool
    value: T | None = None

    def __bool__(self) -> bool:
        return self.ok


def submitted(form: Any, action: Callable[[], T]) -> Submission[T]:
    """Validate a posted form and run the service ``action``. False when the form must be
    shown again: invalid input, or a refusal of the service now shown at its field."""
    if not form.validate_on_submit():
        return Submission(False)
    try:
        return Submission(True, action())
    except ServiceError as exc:
        refuse_in_form(form, exc)
        return Submission(False)


def form_status(form: Any) -> int:
    """The status of a page showing ``form``: 400 when it carries errors. A form shown again
    keeps what the session holds by then (a refused change was already rolled back): the
    audit of the unmasked data the page shows must not be lost with the error status."""
    if form.errors:
        keep_changes()
        return int(getattr(form, "refused_status", 400))
    return 200
