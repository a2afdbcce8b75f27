"""What goes into a search index: public, masked fields only.

Open, verified needs, active resources of verified organizations and produce on sale (a
listing verified with something left). Never a name, an ID number or a phone: descriptions are
scrubbed of long digit runs and of the households' names; a listing is its product, category,
village and cooperative, never the household selling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from marketplace.needs.models import Need, NeedStatus
from marketplace.produce.models import ProduceListing
from marketplace.produce.policy import is_open
from marketplace.resources.models import Resource
from marketplace.resources.services import is_public
from marketplace.vocab import CATEGORIES

# ID card numbers, phones and other long numbers that could identify a person.
_DIGITS = re.compile(r"[0-9０-９]{6,}[0-9Xx]?")


@dataclass(frozen=True)
class SearchDocument:
    key: str  # "need:12", "resource:3" or "listing:5"
    type: str  # "need" | "resource" | "listing"
    id: int
    title: str
    body: str
    tags: str  # category labels and region names, searchable words
    categories: tuple[str, ...]  # top and sub codes
    region_paths: tuple[str, ...]  # every ancestor path of the place (or of the service areas)
    kind: str  # resource kind, "" for needs
    urgency: int
    created_at: datetime


def scrub(text: str, names: tuple[str, ...] = ()) -> str:
    cleaned = _DIGITS.sub("", text or "")
    for name in names:
        if name:
            cleaned = cleaned.replace(name, "")
    return cleaned


def _ancestors(path: str) -> list[str]:
    codes = [c for c in path.split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def need_document(need: Need) -> SearchDocument | None:
    if need.status != NeedStatus.VERIFIED or need.open_quantity <= 0:
        return None
    names = (need.household.head_name,) if need.household else ()
    category = CATEGORIES[need.subcategory]
    # Village up to city: enough to search by place; the province adds only noise.
    regions = [need.village, *need.village.ancestors()][:4]
    return SearchDocument(
        key=f"need:{need.id}", type="need", id=need.id,
        title=scrub(need.title, names), body=scrub(need.description, names),
        tags=" ".join([str(CATEGORIES[category.parent].label), str(category.label),
                       *(r.name for r in regions)]),
        categories=(need.category, need.subcategory),
        region_paths=tuple(_ancestors(need.village.path)), kind="", urgency=need.urgency,
        created_at=need.created_at,
    )  # fmt: skip


def resource_document(resource: Resource) -> SearchDocument | None:
    if not is_public(resource):
        return None
    categories = set(resource.categories) | {c.split(".")[0] for c in resource.categories}
    paths = sorted({p for area in resource.service_area for p in _ancestors(area.path)})
    labels = [str(CATEGORIES[c].label) for c in sorted(categories) if c in CATEGORIES]
    return SearchDocument(
        key=f"resource:{resource.id}", type="resource", id=resource.id,
        title=scrub(resource.title), body=scrub(resource.description),
        tags=" ".join([*labels, resource.organization.name,
                       *(a.name for a in resource.service_area)]),
        categories=tuple(sorted(categories)), region_paths=tuple(paths),
        kind=resource.kind.value, urgency=0, created_at=resource.created_at,
    )  # fmt: skip


def _names_of(listing: ProduceListing) -> tuple[str, ...]:
    """The names a listing's text must not carry: each household's head and roster, in full
    and (three characters or more) without the surname."""
    names: set[str] = set()
    for household in listing.households:
        for name in (household.head_name, *(m.name for m in household.members)):
            if name:
                names.add(name)
                if len(name) >= 3:
                    names.add(name[1:])
    return tuple(sorted(names, key=len, reverse=True))  # the longer first


def listing_document(listing: ProduceListing) -> SearchDocument | None:
    """Produce on sale: found by its product, category, village and cooperative."""
    if not is_open(listing):
        return None
    names = _names_of(listing)
    category = CATEGORIES[listing.category]
    regions = [listing.village, *listing.village.ancestors()][:4]
    return SearchDocument(
        key=f"listing:{listing.id}", type="listing", id=listing.id,
        title=scrub(listing.product, names), body=scrub(listing.quality_notes, names),
        tags=" ".join([str(CATEGORIES[category.parent].label), str(category.label),
                       scrub(listing.cooperative_name, names), *(r.name for r in regions)]),
        categories=(category.parent, listing.category),
        region_paths=tuple(_ancestors(listing.village.path)), kind="", urgency=0,
        created_at=listing.created_at,
    )  # fmt: skip
