"""The search page (the search API is in marketplace/api)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from marketplace.extensions import db
from marketplace.permissions import public
from marketplace.regions.models import Region
from marketplace.resources.models import ResourceKind
from marketplace.search.backend import MAX_QUERY, SearchQuery
from marketplace.search.services import search
from marketplace.vocab import CATEGORIES, CATEGORY_TREE

bp = Blueprint("search", __name__)


def parse_query(args: Any) -> tuple[SearchQuery, list[str]]:
    """A query from request arguments; unknown filters are dropped with a message, never an
    error page."""
    notes: list[str] = []
    text = str(args.get("q", "")).replace("\x00", "")[:MAX_QUERY].strip()
    kind_of_item = args.get("type", "need")
    if kind_of_item not in ("need", "resource"):
        notes.append(_("Unknown type ignored."))
        kind_of_item = "need"
    category = args.get("category") or None
    if category and category not in CATEGORIES:
        notes.append(_("Unknown category ignored."))
        category = None
    region_path = None
    region_code = args.get("region") or ""
    if region_code:
        found = (
            db.session.scalar(sa.select(Region.path).where(Region.code == region_code))
            if region_code.isdigit() and len(region_code) == 12
            else None
        )
        if found is None:
            notes.append(_("Unknown region ignored."))
        region_path = found
    kind = args.get("kind") or None
    if kind and kind not in {k.value for k in ResourceKind}:
        notes.append(_("Unknown kind ignored."))
        kind = None
    urgency_raw = str(args.get("urgency") or "")
    urgency = int(urgency_raw) if urgency_raw in ("1", "2", "3") else None
    sort = "newest" if args.get("sort") == "newest" else "relevance"
    page_raw = str(args.get("page") or "1")
    page = int(page_raw) if page_raw.isdigit() and 0 < int(page_raw) < 10_000 else 1
    query = SearchQuery(text=text, type=kind_of_item, category=category, region_path=region_path,
                        kind=kind, urgency=urgency, sort=sort, page=page)  # fmt: skip
    return query, notes


@bp.route("/search")
@public
def page() -> Any:
    query, notes = parse_query(request.args)
    results = search(query)
    pages = max((results.total + query.page_size - 1) // query.page_size, 1)
    return render_template(
        "search/results.html", query=query, results=results, notes=notes, pages=pages,
        tree=CATEGORY_TREE, kinds=list(ResourceKind), args=request.args,
    )  # fmt: skip


# The search API (/api/v1/search) is documented with the rest of the API in marketplace/api.
