"""The search page (the search API is in marketplace/api)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request, url_for
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.needs.models import Need
from marketplace.permissions import public
from marketplace.produce.models import ProduceListing
from marketplace.regions.models import Region
from marketplace.regions.services import load_ancestors
from marketplace.resources.models import Resource, ResourceKind
from marketplace.search.backend import MAX_QUERY, Hit, Results, SearchQuery
from marketplace.search.services import search
from marketplace.search.text import pinyin_tokens, segment
from marketplace.vocab import CATEGORIES, CATEGORY_TREE

bp = Blueprint("search", __name__)


def parse_query(args: Any) -> tuple[SearchQuery, list[str]]:
    """A query from request arguments; unknown filters are dropped with a message, never an
    error page."""
    notes: list[str] = []
    text = str(args.get("q", "")).replace("\x00", "")[:MAX_QUERY].strip()
    kind_of_item = args.get("type", "need")
    if kind_of_item not in ("need", "resource", "listing"):
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
        cards=result_cards(query, results), urgencies=URGENCY,
        keep=_kept(query, request.args),
    )  # fmt: skip


def _kept(query: SearchQuery, args: Any) -> dict[str, Any]:
    """The query's choices, for the links that change one of them (facets, pages)."""
    kept = {"q": query.text, "type": query.type, "sort": query.sort,
            "category": query.category or "", "region": args.get("region", ""),
            "kind": query.kind or "", "urgency": query.urgency or ""}  # fmt: skip
    return {k: v for k, v in kept.items() if v}


# --- telling results apart ----------------------------------------------------------------

URGENCY: dict[int, tuple[LazyString, str]] = {
    1: (_l("Can wait"), "secondary"),
    2: (_l("Soon"), "warning"),
    3: (_l("Urgent"), "danger"),
}


@dataclass
class Card:
    """One result as the page shows it: what tells it from the others, read from the database
    (the index holds only what it searches), public and masked: a household is its status."""

    type: str
    id: int
    url: str
    title: Markup
    snippet: Markup
    facts: list[tuple[str, str]] = field(default_factory=list)
    open_text: str = ""  # what is still open
    urgency: int = 0
    posted: datetime | None = None


def result_cards(query: SearchQuery, results: Results) -> list[Card]:
    """The hits with their facts, in the hits' order; a hit whose row has gone is left out."""
    needs = _rows(Need, [h.id for h in results.hits if h.type == "need"],
                  selectinload(Need.village), selectinload(Need.household))  # fmt: skip
    resources = _rows(Resource, [h.id for h in results.hits if h.type == "resource"],
                      selectinload(Resource.organization),
                      selectinload(Resource.service_area))  # fmt: skip
    listings = _rows(ProduceListing, [h.id for h in results.hits if h.type == "listing"],
                     selectinload(ProduceListing.village),
                     selectinload(ProduceListing.members))  # fmt: skip
    # The villages' towns and counties at once (full_name): a query per parent otherwise.
    places = load_ancestors([*(n.village for n in needs.values()),
                             *(a for r in resources.values() for a in r.service_area),
                             *(li.village for li in listings.values())])  # fmt: skip
    cards = []
    for hit in results.hits:
        terms = found_terms(hit, query.text)
        if hit.type == "need" and hit.id in needs:
            cards.append(_need_card(needs[hit.id], hit, terms))
        elif hit.type == "resource" and hit.id in resources:
            cards.append(_resource_card(resources[hit.id], hit, terms))
        elif hit.type == "listing" and hit.id in listings:
            cards.append(_listing_card(listings[hit.id], hit, terms))
    del places  # held until every card has its place names
    return cards


def _rows(model: Any, ids: list[int], *options: Any) -> dict[int, Any]:
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(model).where(model.id.in_(ids)).options(*options))
    return {r.id: r for r in rows}


def _need_card(need: Need, hit: Hit, terms: list[str]) -> Card:
    household: Household | None = need.household
    top = CATEGORIES.get(need.category)
    facts = [
        (_("Category"), f"{top.label} · {need.category_label}" if top else need.category_label),
        (_("Village"), need.village.full_name),
        (_("Household"), str(household.status.label) if household else _("(the whole village)")),
    ]
    return Card(
        type="need", id=need.id, url=url_for("needs.detail", need_id=need.id),
        title=mark(hit.title or need.title, terms), snippet=snippet(hit, terms), facts=facts,
        open_text=_("%(open)s of %(total)s %(unit)s still needed", open=need.open_quantity,
                    total=need.quantity, unit=need.unit),
        urgency=need.urgency, posted=need.created_at,
    )  # fmt: skip


def _resource_card(resource: Resource, hit: Hit, terms: list[str]) -> Card:
    labels = [str(CATEGORIES[c].label) for c in resource.categories if c in CATEGORIES]
    areas = [r.name for r in resource.service_area]
    area_text = "、".join(areas[:3]) + (_(" and %(n)s more", n=len(areas) - 3)
                                        if len(areas) > 3 else "")  # fmt: skip
    facts = [
        (_("Kind"), str(resource.kind.label)),
        (_("Category"), "、".join(labels[:3]) or "—"),
        (_("Donor"), resource.organization.name),
        (_("Service area"), area_text or "—"),
    ]
    if resource.capacity is None:
        open_text = _("No limit on quantity")
    else:
        open_text = _("%(open)s of %(total)s %(unit)s still to give",
                      open=resource.remaining or 0, total=resource.capacity,
                      unit=resource.unit)  # fmt: skip
    return Card(
        type="resource", id=resource.id,
        url=url_for("resources.detail", resource_id=resource.id),
        title=mark(hit.title or resource.title, terms), snippet=snippet(hit, terms),
        facts=facts, open_text=open_text, posted=resource.created_at,
    )  # fmt: skip


def _listing_card(listing: ProduceListing, hit: Hit, terms: list[str]) -> Card:
    """Produce on sale: the product, the village and the seller as buyers see it (a
    cooperative by its name, a household never by its name)."""
    category = CATEGORIES[listing.category]
    seller = (listing.cooperative_name if listing.is_cooperative
              else _("A registered household of the village"))  # fmt: skip
    facts = [
        (_("Category"), f"{CATEGORIES[category.parent].label} · {category.label}"),
        (_("Village"), listing.village.full_name),
        (_("Seller"), seller),
        (_("Price per unit (yuan)"), f"¥ {listing.price} / {listing.unit}"),
    ]
    return Card(
        type="listing", id=listing.id,
        url=url_for("produce.detail", listing_id=listing.id),
        title=mark(hit.title or listing.product, terms), snippet=snippet(hit, terms),
        facts=facts, posted=listing.created_at,
        open_text=_("%(left)s of %(total)s %(unit)s left", left=listing.remaining,
                    total=listing.quantity, unit=listing.unit),
    )  # fmt: skip


# --- the words found, marked --------------------------------------------------------------

_CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")
# The backends' marks: <b> (Whoosh adds classes), </b>; everything else they give is escaped.
_BOLD = re.compile(r"<b(?: [^>]*)?>|</b>")


def _backend_parts(highlight: str) -> list[tuple[str, bool]]:
    """The backend's snippet (escaped HTML with <b> around matches) as plain text pieces,
    each saying whether the backend marked it. Nothing of its HTML is kept but the marks."""
    parts: list[tuple[str, bool]] = []
    inside = False
    for piece in _BOLD.split(highlight or ""):
        if piece:
            parts.append((html.unescape(piece), inside))
        inside = not inside
    return parts


def found_terms(hit: Hit, text: str) -> list[str]:
    """The words to mark: those the backend marked in its snippet, the words typed, and the
    Chinese words of the title and snippet that a typed pinyin spells (xiyiji, xyj: 洗衣机);
    longest first, so that 洗衣机 is marked whole rather than 洗衣."""
    parts = _backend_parts(hit.highlight)
    marked = {piece for piece, bold in parts if bold and piece.strip()}
    typed = {w for w in text.split() if w}
    spelled = {w.lower() for w in typed if w.isascii() and w.isalpha()}
    if spelled:
        shown = hit.title + "".join(piece for piece, _bold in parts)
        marked |= {word for word in set(segment(shown)) if _CJK_WORD.fullmatch(word)
                   and spelled & set(pinyin_tokens(word))}  # fmt: skip
    return sorted(marked | typed, key=lambda t: (-len(t), t))


def mark(text: str, terms: list[str]) -> Markup:
    """``text`` escaped, with <mark> around every occurrence of the terms (case ignored, the
    longest first where they overlap)."""
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    for term in terms:
        needle = term.lower()
        start = lowered.find(needle)
        while needle and start != -1:
            end = start + len(needle)
            if not any(s < end and start < e for s, e in spans):
                spans.append((start, end))
            start = lowered.find(needle, end)
    out = Markup("")
    position = 0
    for start, end in sorted(spans):
        out += escape(text[position:start]) + Markup("<mark>{}</mark>").format(text[start:end])
        position = end
    return out + escape(text[position:])


def snippet(hit: Hit, terms: list[str]) -> Markup:
    """The backend's snippet as plain text, marked again with every found word."""
    plain = "".join(piece for piece, _bold in _backend_parts(hit.highlight))
    return mark(plain, terms)


# The search API (/api/v1/search) is documented with the rest of the API in marketplace/api.
