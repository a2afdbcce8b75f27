"""Scores in [0, 1] from explained components, each in [0, 1], with configurable weights."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from matching.constraints import category_fits
from matching.model import NeedView, ResourceView

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Weights:
    category: float = 0.25
    location: float = 0.20
    text: float = 0.10
    urgency: float = 0.15
    waiting: float = 0.10
    prior_aid: float = 0.15
    quantity: float = 0.05

    def __post_init__(self) -> None:
        values = self.as_dict().values()
        if any(not math.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")

    def as_dict(self) -> dict[str, float]:
        return {
            "category": self.category,
            "location": self.location,
            "text": self.text,
            "urgency": self.urgency,
            "waiting": self.waiting,
            "prior_aid": self.prior_aid,
            "quantity": self.quantity,
        }


@dataclass(frozen=True)
class Explanation:
    """One component's reason, as a code and parameters; the application words it."""

    component: str
    code: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Scored:
    need_id: int
    resource_id: int
    score: float
    components: dict[str, float]
    explanations: tuple[Explanation, ...]


# Region path depth: "/province/city/county/township/village/" has 5 codes.
LOCATION_LEVELS = ((5, 1.0, "same_village"), (4, 0.8, "same_township"),
                   (3, 0.6, "same_county"), (2, 0.4, "same_city"))  # fmt: skip
WAITING_FULL_DAYS = 90
DISTANCE_SCALE_KM = 50.0


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _codes(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def category_component(need: NeedView, resource: ResourceView) -> tuple[float, Explanation]:
    if need.subcategory in resource.categories:
        return 1.0, Explanation("category", "exact", {"category": need.subcategory})
    if category_fits(need, resource):
        return 0.6, Explanation("category", "parent", {"category": need.category})
    return 0.0, Explanation("category", "none")


def location_component(need: NeedView, resource: ResourceView) -> tuple[float, Explanation]:
    """The narrower the service area that holds the village, the closer the help: same
    village > township > county > city > province; refined by distance to that area's centre
    when both have coordinates."""
    containing = [
        (len(_codes(path)), index)
        for index, path in enumerate(resource.service_paths)
        if need.village_path.startswith(path)
    ]
    if not containing:
        return 0.0, Explanation("location", "outside")
    depth, index = max(containing)
    level_score, code = 0.2, "same_province"
    for levels, value, name in LOCATION_LEVELS:
        if depth >= levels:
            level_score, code = value, name
            break
    params: dict[str, object] = {}
    centre = resource.service_coords[index] if index < len(resource.service_coords) else None
    if centre is not None and need.lat is not None and need.lng is not None:
        km = haversine_km(need.lat, need.lng, centre[0], centre[1])
        params["km"] = round(km)
        level_score = 0.5 * level_score + 0.5 * math.exp(-km / DISTANCE_SCALE_KM)
    return level_score, Explanation("location", code, params)


def urgency_component(need: NeedView) -> tuple[float, Explanation]:
    level = min(max(need.urgency, 1), 3)
    return (level - 1) / 2, Explanation("urgency", "urgency", {"level": level})


def waiting_component(need: NeedView) -> tuple[float, Explanation]:
    days = max(need.days_waiting, 0)
    return min(days / WAITING_FULL_DAYS, 1.0), Explanation("waiting", "days", {"days": days})


def prior_aid_component(need: NeedView) -> tuple[float, Explanation]:
    """Less-aided first: the documents warn against 扶富不扶穷 and favouritism."""
    if need.household_status is None:
        return 0.5, Explanation("prior_aid", "village_need")
    prior = max(need.prior_aid, 0)
    code = "never_aided" if prior == 0 else "aided_before"
    return 1.0 / (1.0 + prior), Explanation("prior_aid", code, {"times": prior})


def quantity_component(need: NeedView, resource: ResourceView) -> tuple[float, Explanation]:
    if need.open_quantity <= 0:
        return 0.0, Explanation("quantity", "none")
    if resource.remaining is None or resource.remaining >= need.open_quantity:
        return 1.0, Explanation("quantity", "full", {"quantity": need.open_quantity})
    share = resource.remaining / need.open_quantity
    return share, Explanation("quantity", "partial", {"available": resource.remaining})


def score(
    need: NeedView, resource: ResourceView, weights: Weights, text_similarity: float = 0.0
) -> Scored:
    """The weighted mean of the components, with one explanation per component."""
    parts = {
        "category": category_component(need, resource),
        "location": location_component(need, resource),
        "text": (
            min(max(text_similarity, 0.0), 1.0),
            Explanation("text", "similarity", {"percent": round(100 * text_similarity)}),
        ),
        "urgency": urgency_component(need),
        "waiting": waiting_component(need),
        "prior_aid": prior_aid_component(need),
        "quantity": quantity_component(need, resource),
    }
    w = weights.as_dict()
    total = sum(w.values())
    value = sum(w[name] * part[0] for name, part in parts.items()) / total
    return Scored(
        need_id=need.id,
        resource_id=resource.id,
        score=min(max(value, 0.0), 1.0),
        components={name: round(part[0], 4) for name, part in parts.items()},
        explanations=tuple(part[1] for part in parts.values()),
    )
