"""Scores as integer points out of 10,000 from explained components, with configurable weights.

Each component has a value in [0, 1]; its exact contribution is weight share x value x 10,000.
The total is that sum rounded to the nearest point, and the components' points are the
contributions rounded by largest remainder so that they add up to the total exactly: equal
points mean equal, and an explanation's points always sum to the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from matching.constraints import category_fits
from matching.model import NeedView, ResourceView

EARTH_RADIUS_KM = 6371.0
POINTS = 10_000
# The order in which contributions are added up (the array indexes add theirs in this order
# too, so that both get the same float and hence the same points).
COMPONENTS = ("category", "location", "text", "urgency", "waiting", "prior_aid", "quantity",
              "priority")  # fmt: skip

# Text similarity (cosine of character uni- and bi-grams) counts from a noise floor and
# saturates. Measured over the demo need templates x the demo resources (4 villages each, need
# text "title village+title。" as the demo writes it, 512 pairs; benchmarks/text_gaming.py):
# - pairs the hard constraints allow (category fits): similarity p10 0.11, median 0.34,
#   p90 0.51, max 0.57;
# - pairs of unrelated categories: median 0.15, p90 0.20, max 0.24 (shared characters such as
#   贫困, 家庭, 的);
# - pasting the resource's title and description into the need raises similarity by 0.33 to
#   0.81 (median 0.55); pasting its title alone by 0.07 to 0.64.
# With the old weights (text 0.10 of 1.00) pasting was worth up to 808 points, more than one
# urgency level (750) and two months of waiting (667): the finding. Decision: the value
# is (similarity - 0.15) / 0.35 clipped to [0, 1] (0 at the unrelated pairs' median, full at
# about the allowed pairs' p90), and the default weight is 0.03, so text is never worth more
# than 300 points whatever is pasted: below one urgency level (750 points) and below 30 days of
# waiting (400 points), with 100 points to spare for rounding. Text stays a tie-breaker among
# otherwise similar needs, which is all the measurements support.
TEXT_FLOOR = 0.15
TEXT_SATURATION = 0.50


@dataclass(frozen=True)
class Weights:
    """Component weights (any scale: each counts as its share of their sum).

    The defaults put urgency, waiting, prior aid and priority each above text (see TEXT_FLOOR
    for the figures): text is worth at most 300 points, less than one urgency level (750) or 30
    more days of waiting (400)."""

    category: float = 0.22
    location: float = 0.18
    text: float = 0.03
    urgency: float = 0.15
    waiting: float = 0.12
    prior_aid: float = 0.15
    quantity: float = 0.05
    priority: float = 0.10

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
            "priority": self.priority,
        }

    def factors(self) -> dict[str, float]:
        """Points for a value of 1 in each component: its weight share x POINTS."""
        weights = self.as_dict()
        total = sum(weights.values())
        return {name: weights[name] * POINTS / total for name in COMPONENTS}


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
    points: int  # out of POINTS: what ranking and allocation compare
    component_points: dict[str, int]  # per component, summing exactly to ``points``
    components: dict[str, float]  # each component's value in [0, 1], to 4 places
    explanations: tuple[Explanation, ...]

    @property
    def score(self) -> float:
        """The points as a fraction in [0, 1] (points / POINTS)."""
        return self.points / POINTS


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


def quantize(value: float) -> float:
    """To the nearest millionth, with plain float operations numpy repeats bit for bit."""
    return math.floor(value * 1e6 + 0.5) / 1e6


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
        # To a millionth, so that the array indexes (numpy's exp and trigonometry may differ
        # from math's in the last bit) get the same value and the same points.
        level_score = quantize(0.5 * level_score + 0.5 * math.exp(-km / DISTANCE_SCALE_KM))
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


def text_value(similarity: float) -> float:
    """A similarity to the text component's value: 0 up to the floor, 1 from saturation."""
    return min(max((similarity - TEXT_FLOOR) / (TEXT_SATURATION - TEXT_FLOOR), 0.0), 1.0)


def text_component(similarity: float) -> tuple[float, Explanation]:
    similarity = min(max(similarity, 0.0), 1.0)
    percent = round(100 * similarity)
    return text_value(similarity), Explanation("text", "similarity", {"percent": percent})


def priority_component(need: NeedView, resource: ResourceView) -> tuple[float, Explanation]:
    """The donor's soft priorities (causes; statuses such as "monitored", 监测户): a bonus when
    the household meets one, never a filter. Params: the matched causes and status."""
    if not resource.priority_causes and not resource.priority_statuses:
        return 0.0, Explanation("priority", "none_declared")
    causes = tuple(c for c in resource.priority_causes if c in need.household_causes)
    status = need.household_status
    if status is not None and status not in resource.priority_statuses:
        status = None
    if not causes and status is None:
        return 0.0, Explanation("priority", "not_met")
    return 1.0, Explanation("priority", "met", {"causes": causes, "status": status})


def round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def exact_total(contributions: dict[str, float]) -> float:
    """The sum of the contributions, added in COMPONENTS order."""
    total = 0.0
    for name in COMPONENTS:
        total = total + contributions[name]
    return total


def apportion(contributions: dict[str, float]) -> tuple[int, dict[str, int]]:
    """The total rounded to a point, and each contribution rounded by largest remainder so that
    they sum to it (equal remainders: the earlier component first)."""
    points = round_half_up(exact_total(contributions))
    shares = {name: math.floor(contributions[name]) for name in COMPONENTS}
    left = points - sum(shares.values())
    remainders = [contributions[name] - shares[name] for name in COMPONENTS]
    order = sorted(range(len(COMPONENTS)), key=lambda i: (-remainders[i], i))
    for i in order[: max(left, 0)]:
        shares[COMPONENTS[i]] += 1
    return points, shares


def score(
    need: NeedView, resource: ResourceView, weights: Weights, text_similarity: float = 0.0
) -> Scored:
    """Integer points from the weighted components, with one explanation per component."""
    parts = {
        "category": category_component(need, resource),
        "location": location_component(need, resource),
        "text": text_component(text_similarity),
        "urgency": urgency_component(need),
        "waiting": waiting_component(need),
        "prior_aid": prior_aid_component(need),
        "quantity": quantity_component(need, resource),
        "priority": priority_component(need, resource),
    }
    factors = weights.factors()
    points, shares = apportion({name: factors[name] * parts[name][0] for name in COMPONENTS})
    return Scored(
        need_id=need.id,
        resource_id=resource.id,
        points=points,
        component_points=shares,
        components={name: round(parts[name][0], 4) for name in COMPONENTS},
        explanations=tuple(parts[name][1] for name in COMPONENTS),
    )
