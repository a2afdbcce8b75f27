"""Produce listings ranked for a buyer (消费扶贫): which households' produce a buyer should take
first, explained, in integer points that add up.

A buyer is an organization with a purchase resource: the categories it buys, the regions it
buys from (the resource's service area) and the budget it has left, in yuan. A listing is a
household's or a village cooperative's produce, with the statuses of the registered households
it sells for. Pure: frozen dataclasses in, ranked results out; no Flask, no database.

Hard constraints (a listing breaking one is not offered): the buyer buys the category, the
village lies in its service area, something is left, and one unit fits the budget left.

Components, each in [0, 1]:

- **category**: the buyer names the listing's exact sub-category (1) or its whole top category
  (0.6), as ``matching.scoring`` reads a resource's categories;
- **place**: the narrower the service area holding the village, the closer (village 1,
  township 0.8, county 0.6, city 0.4, province 0.2: ``scoring.LOCATION_LEVELS``);
- **price**: against the median price of the open listings of the same product and unit. At
  or below the median: 1; above: median / price. Cheaper than the median earns nothing more:
  消费扶贫 is there to raise the households' income, and a ranking that rewarded undercutting
  would push their prices down. Fewer than ``MIN_PEERS`` listings to compare: 1 ("no_peers");
- **need**: the households it sells for, by register status (poor 1, monitored 0.8: at risk
  of falling back, exited 0.4: 脱贫不脱政策, still eligible), averaged, times a share for the
  sales they already had: 0.7 x status + 0.3 / (1 + earlier sales). A listing with no
  registered household (none recorded) counts as exited households would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import median

from matching.scoring import LOCATION_LEVELS, POINTS, Explanation

COMPONENTS = ("category", "place", "price", "need")
STATUS_NEED = {"poor": 1.0, "monitored": 0.8, "exited": 0.4}
NO_HOUSEHOLD_NEED = STATUS_NEED["exited"]
STATUS_SHARE = 0.7  # of the need component; the rest goes to those who sold less before
PARENT_CATEGORY = 0.6
MIN_PEERS = 2  # listings of the same product and unit (itself included) to compare a price


class ProduceViolation(StrEnum):
    CATEGORY = "category"
    PLACE = "place"
    NOTHING_LEFT = "nothing_left"
    OVER_BUDGET = "over_budget"


@dataclass(frozen=True)
class ListingView:
    id: int
    category: str  # a sub-category code, e.g. "consumption.produce"
    village_path: str  # "/62/6204/620421/.../"
    product: str
    unit: str
    price: Decimal  # yuan per unit
    remaining: int  # units still to sell
    # Register statuses ("poor", "monitored", "exited") of the households it sells for: one
    # for a household's listing, a cooperative's member households for its listing.
    household_statuses: tuple[str, ...] = ()
    earlier_sales: int = 0  # confirmed sales of those households before


@dataclass(frozen=True)
class BuyerView:
    id: int  # the purchase resource
    categories: tuple[str, ...]  # top or sub codes
    service_paths: tuple[str, ...]  # region paths it buys from
    budget_left: Decimal | None  # yuan; None: no limit


@dataclass(frozen=True)
class Weights:
    category: float = 0.2
    place: float = 0.25
    price: float = 0.2
    need: float = 0.35

    def __post_init__(self) -> None:
        values = self.as_dict().values()
        if any(not math.isfinite(v) or v < 0 for v in values) or sum(values) <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")

    def as_dict(self) -> dict[str, float]:
        return {
            "category": self.category,
            "place": self.place,
            "price": self.price,
            "need": self.need,
        }

    def factors(self) -> dict[str, float]:
        """Points for a value of 1 in each component: its weight share x POINTS."""
        weights = self.as_dict()
        total = sum(weights.values())
        return {name: weights[name] * POINTS / total for name in COMPONENTS}


@dataclass(frozen=True)
class RankedListing:
    listing_id: int
    points: int  # out of POINTS
    component_points: dict[str, int]  # summing exactly to ``points``
    components: dict[str, float]  # each value in [0, 1], to 4 places
    explanations: tuple[Explanation, ...]

    @property
    def score(self) -> float:
        return self.points / POINTS


def _top(code: str) -> str:
    return code.split(".", 1)[0]


def _codes(path: str) -> list[str]:
    return [c for c in path.split("/") if c]


def product_key(listing: ListingView) -> tuple[str, str]:
    """Listings compared for price: the same product in the same unit, spacing and case aside."""
    return ("".join(listing.product.split()).lower(), "".join(listing.unit.split()).lower())


def violations(listing: ListingView, buyer: BuyerView) -> list[ProduceViolation]:
    """Every hard constraint the pair breaks, in a fixed order (empty: the buyer may order)."""
    found: list[ProduceViolation] = []
    if listing.category not in buyer.categories and _top(listing.category) not in buyer.categories:
        found.append(ProduceViolation.CATEGORY)
    if not any(listing.village_path.startswith(p) for p in buyer.service_paths):
        found.append(ProduceViolation.PLACE)
    if listing.remaining <= 0:
        found.append(ProduceViolation.NOTHING_LEFT)
    if buyer.budget_left is not None and listing.price > buyer.budget_left:
        found.append(ProduceViolation.OVER_BUDGET)
    return found


def category_component(listing: ListingView, buyer: BuyerView) -> tuple[float, Explanation]:
    if listing.category in buyer.categories:
        return 1.0, Explanation("category", "exact", {"category": listing.category})
    return PARENT_CATEGORY, Explanation("category", "parent", {"category": _top(listing.category)})


def place_component(listing: ListingView, buyer: BuyerView) -> tuple[float, Explanation]:
    depths = [len(_codes(p)) for p in buyer.service_paths if listing.village_path.startswith(p)]
    if not depths:
        return 0.0, Explanation("place", "outside")
    depth = max(depths)
    for levels, value, code in LOCATION_LEVELS:
        if depth >= levels:
            return value, Explanation("place", code)
    return 0.2, Explanation("place", "same_province")


def price_component(listing: ListingView, peers: list[Decimal]) -> tuple[float, Explanation]:
    """``peers``: the prices of the listings of the same product and unit, its own included."""
    if len(peers) < MIN_PEERS or listing.price <= 0:
        return 1.0, Explanation("price", "no_peers", {"price": str(listing.price)})
    middle = Decimal(median(peers))
    params: dict[str, object] = {"price": str(listing.price), "median": str(middle)}
    if listing.price <= middle:
        return 1.0, Explanation("price", "at_or_below_median", params)
    return float(middle / listing.price), Explanation("price", "above_median", params)


def need_component(listing: ListingView) -> tuple[float, Explanation]:
    statuses = listing.household_statuses
    if statuses:
        status_value = sum(STATUS_NEED.get(s, NO_HOUSEHOLD_NEED) for s in statuses) / len(statuses)
    else:
        status_value = NO_HOUSEHOLD_NEED
    earlier = max(listing.earlier_sales, 0)
    value = STATUS_SHARE * status_value + (1 - STATUS_SHARE) / (1 + earlier)
    poor = sum(1 for s in statuses if s in ("poor", "monitored"))
    params: dict[str, object] = {"households": len(statuses), "poor": poor, "sales": earlier}
    return value, Explanation("need", "households" if statuses else "none_registered", params)


def apportion(contributions: dict[str, float]) -> tuple[int, dict[str, int]]:
    """The total rounded half up to a point, and each contribution rounded by largest
    remainder so that they sum to it (equal remainders: the earlier component first)."""
    total = 0.0
    for name in COMPONENTS:
        total = total + contributions[name]
    points = math.floor(total + 0.5)
    shares = {name: math.floor(contributions[name]) for name in COMPONENTS}
    left = points - sum(shares.values())
    remainders = [contributions[name] - shares[name] for name in COMPONENTS]
    for i in sorted(range(len(COMPONENTS)), key=lambda i: (-remainders[i], i))[: max(left, 0)]:
        shares[COMPONENTS[i]] += 1
    return points, shares


def score(
    listing: ListingView, buyer: BuyerView, peers: list[Decimal], weights: Weights
) -> RankedListing:
    """Integer points from the weighted components, one explanation per component."""
    parts = {
        "category": category_component(listing, buyer),
        "place": place_component(listing, buyer),
        "price": price_component(listing, peers),
        "need": need_component(listing),
    }
    factors = weights.factors()
    points, shares = apportion({name: factors[name] * parts[name][0] for name in COMPONENTS})
    return RankedListing(
        listing_id=listing.id,
        points=points,
        component_points=shares,
        components={name: round(parts[name][0], 4) for name in COMPONENTS},
        explanations=tuple(parts[name][1] for name in COMPONENTS),
    )


def rank(
    listings: list[ListingView], buyer: BuyerView, weights: Weights | None = None
) -> list[RankedListing]:
    """The listings the buyer may order, best first (ties: the older listing, lower id, first).
    Prices are compared among all the listings given, those the buyer may not order included:
    the market's price of a product does not depend on who looks."""
    weights = weights or Weights()
    prices: dict[tuple[str, str], list[Decimal]] = {}
    for listing in listings:
        prices.setdefault(product_key(listing), []).append(listing.price)
    ranked = [
        score(listing, buyer, prices[product_key(listing)], weights)
        for listing in listings
        if not violations(listing, buyer)
    ]
    return sorted(ranked, key=lambda r: (-r.points, r.listing_id))
