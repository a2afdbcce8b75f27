"""Small helpers shared by the views."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination

from marketplace.attachments.services import read_photo
from marketplace.extensions import db


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
    return read_photo(storage.stream)


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
