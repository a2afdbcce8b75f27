"""Lists a page at a time: the one place that reads ``?page=`` and the page size.

Outside the layers (like ``web.py``), importing no domain, so every domain's views may use it;
templates show the result with ``_macros.html`` ``pager`` (its count and links that keep the
list's filters).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination

from marketplace.extensions import db


def paginate(query: Any, per_page: int | None = None) -> Pagination:
    """The page of ``query`` that ``?page=`` asks for (the first for a missing, bad or
    too-small number; an empty page past the end), with the total count."""
    number = request.args.get("page", 1, type=int) or 1
    return db.paginate(
        query,
        page=max(number, 1),
        per_page=per_page or current_app.config["PAGE_SIZE"],
        error_out=False,
    )
