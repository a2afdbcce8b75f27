"""The engine's view of needs and resources: plain frozen data, no ORM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class NeedView:
    id: int
    category: str  # top category code, e.g. "necessities"
    subcategory: str  # e.g. "necessities.washer"
    village_path: str  # materialised region path "/62.../6204.../.../"
    open_quantity: int
    verified: bool
    # None for a village-wide need (a road, a water tank).
    household_status: str | None = None
    household_causes: tuple[str, ...] = ()
    urgency: int = 2
    days_waiting: int = 0
    prior_aid: int = 0  # matches the household already received
    text: str = ""
    lat: float | None = None
    lng: float | None = None
    # The unit of fairness: needs of one household share its per-household limit. None for a
    # village-wide need, which is its own unit.
    household_id: int | None = None
    # The household's labour capacity ("full", "weak", "none"; None: not known or village-wide).
    household_labour: str | None = None


@dataclass(frozen=True)
class ResourceView:
    id: int
    categories: tuple[str, ...]  # category codes, top or sub
    service_paths: tuple[str, ...]  # region paths; every village under one is served
    remaining: int | None  # None: unlimited
    active: bool
    organization_verified: bool
    valid_from: date
    valid_until: date
    eligible_statuses: tuple[str, ...] = ()  # empty: any status
    eligible_causes: tuple[str, ...] = ()  # empty: any cause
    text: str = ""
    # Centre (lat, lng) of each service region, aligned with service_paths; None if unknown.
    service_coords: tuple[tuple[float, float] | None, ...] = ()
    # At most this many units to one household (None: no limit).
    per_household: int | None = None
    # Hard: only households with someone able to work (jobs, training).
    labour_required: bool = False
    # Soft: causes and statuses the donor asks to favour (an explained bonus, not a filter).
    priority_causes: tuple[str, ...] = ()
    priority_statuses: tuple[str, ...] = ()
