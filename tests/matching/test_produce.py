"""Ranking produce listings for a buyer (matching.produce): each expectation is worked out from
the definition in the module's docstring, not read back from the code."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.produce import (
    COMPONENTS,
    BuyerView,
    ListingView,
    ProduceViolation,
    Weights,
    rank,
    score,
    violations,
)
from matching.scoring import POINTS

BAIYIN = "/62/6204/"
JINGYUAN = BAIYIN + "620421/"
HUINING = BAIYIN + "620422/"
VILLAGE = JINGYUAN + "620421100/620421100201/"
OTHER_VILLAGE = JINGYUAN + "620421101/620421101202/"
HUINING_VILLAGE = HUINING + "620422100/620422100201/"


def listing(id: int, **values: object) -> ListingView:
    base = ListingView(
        id=id, category="consumption.produce", village_path=VILLAGE, product="土豆", unit="斤",
        price=Decimal("1.50"), remaining=1000, household_statuses=("poor",),
    )  # fmt: skip
    return replace(base, **values)  # type: ignore[arg-type]


def buyer(**values: object) -> BuyerView:
    base = BuyerView(
        id=1, categories=("consumption.produce",), service_paths=(BAIYIN,),
        budget_left=Decimal("35000"),
    )  # fmt: skip
    return replace(base, **values)  # type: ignore[arg-type]


def test_a_listing_outside_what_the_buyer_buys_is_not_offered() -> None:
    assert violations(listing(1, category="consumption.ecommerce"), buyer()) == [
        ProduceViolation.CATEGORY
    ]
    # The whole top category covers every sub-category.
    assert violations(listing(1, category="consumption.ecommerce"),
                      buyer(categories=("consumption",))) == []  # fmt: skip
    assert violations(listing(1), buyer(service_paths=(HUINING,))) == [ProduceViolation.PLACE]
    assert violations(listing(1, remaining=0), buyer()) == [ProduceViolation.NOTHING_LEFT]
    # One unit at 1.50 does not fit a budget of 1.49; it fits 1.50 exactly; no limit: None.
    assert violations(listing(1), buyer(budget_left=Decimal("1.49"))) == [
        ProduceViolation.OVER_BUDGET
    ]
    assert violations(listing(1), buyer(budget_left=Decimal("1.50"))) == []
    assert violations(listing(1, price=Decimal(10**9)), buyer(budget_left=None)) == []
    assert [r.listing_id for r in rank([listing(1), listing(2, remaining=0)], buyer())] == [1]


def test_points_of_a_listing_worked_by_hand() -> None:
    """Weights 0.2/0.25/0.2/0.35 of 10,000: category 2000, place 2500, price 2000, need 3500.
    A poor household never sold before, in a village of the buyer's county, the only 土豆 on
    offer, the buyer naming consumption.produce: category 1, place 0.6 (same county), price 1
    (no peers), need 0.7 x 1 + 0.3 / 1 = 1 -> 2000 + 1500 + 2000 + 3500 = 9000."""
    found = score(listing(1), buyer(service_paths=(JINGYUAN,)), [Decimal("1.50")], Weights())
    assert found.component_points == {"category": 2000, "place": 1500, "price": 2000,
                                      "need": 3500}  # fmt: skip
    assert found.points == 9000
    assert [e.code for e in found.explanations] == ["exact", "same_county", "no_peers",
                                                    "households"]  # fmt: skip
    # The buyer's whole city, the top category only, an exited household sold to twice:
    # category 0.6 -> 1200, place 0.4 -> 1000, need 0.7 x 0.4 + 0.3 / 3 = 0.38 -> 1330.
    other = score(
        listing(1, household_statuses=("exited",), earlier_sales=2),
        buyer(categories=("consumption",)), [Decimal("1.50")], Weights(),
    )  # fmt: skip
    assert other.component_points == {"category": 1200, "place": 1000, "price": 2000,
                                      "need": 1330}  # fmt: skip
    assert other.points == 5530


def test_price_is_judged_against_the_median_of_the_same_product_and_unit() -> None:
    """土豆 per 斤 at 1.00, 1.50 and 3.00: the median is 1.50. At 3.00 the price component is
    1.50 / 3.00 = 0.5; at 1.00, below the median, it is 1, no more than at the median: the
    ranking does not reward undercutting the households' prices."""
    cheap, middle, dear = (listing(i, price=Decimal(p)) for i, p in
                           ((1, "1.00"), (2, "1.50"), (3, "3.00")))  # fmt: skip
    sheep = listing(4, product="羊肉", price=Decimal("40"))  # another product: not a peer
    ranked = {r.listing_id: r for r in rank([cheap, middle, dear, sheep], buyer())}
    assert ranked[3].components["price"] == 0.5
    assert ranked[1].components["price"] == ranked[2].components["price"] == 1.0
    assert ranked[1].points == ranked[2].points  # cheaper than the median: no bonus
    assert ranked[4].explanations[2].code == "no_peers"
    # Spacing and case of the product and unit aside, they are the same product.
    assert ranked[3].explanations[2].params["median"] == "1.50"
    spaced = rank([listing(1, product=" 土 豆", unit="斤 "), dear], buyer())
    assert {r.listing_id: r.components["price"] for r in spaced} == {1: 1.0, 3: 0.75}


def test_a_poorer_household_that_sold_less_ranks_first_all_else_equal() -> None:
    poor = listing(5, household_statuses=("poor",))
    monitored = listing(4, household_statuses=("monitored",))
    exited = listing(3, household_statuses=("exited",))
    sold_before = listing(2, household_statuses=("poor",), earlier_sales=3)
    nobody = listing(1, household_statuses=())
    order = [r.listing_id for r in rank([nobody, sold_before, exited, monitored, poor], buyer())]
    # need: poor 1.0; monitored 0.86; poor sold 3 times 0.775; exited 0.58; nobody 0.58.
    assert order == [5, 4, 2, 1, 3]  # nobody and exited tie: the lower id first


def test_a_cooperative_counts_the_mean_of_its_households() -> None:
    """Two poor and two exited members: status 0.7, need 0.7 x 0.7 + 0.3 = 0.79."""
    coop = listing(1, household_statuses=("poor", "poor", "exited", "exited"))
    found = rank([coop], buyer())[0]
    assert found.components["need"] == 0.79
    assert found.explanations[3].params == {"households": 4, "poor": 2, "sales": 0}


def test_nearer_villages_rank_higher() -> None:
    near = listing(1, village_path=VILLAGE)
    far = listing(2, village_path=HUINING_VILLAGE)
    ranked = rank([far, near], buyer(service_paths=(BAIYIN, JINGYUAN)))
    assert [r.listing_id for r in ranked] == [1, 2]
    assert [r.explanations[1].code for r in ranked] == ["same_county", "same_city"]


def test_weights_must_be_usable() -> None:
    with pytest.raises(ValueError):
        Weights(category=-1)
    with pytest.raises(ValueError):
        Weights(0, 0, 0, 0)
    only_need = rank([listing(1, household_statuses=("exited",))], buyer(),
                     Weights(category=0, place=0, price=0, need=1))  # fmt: skip
    assert only_need[0].points == round(POINTS * (0.7 * 0.4 + 0.3))


statuses = st.lists(st.sampled_from(["poor", "monitored", "exited"]), max_size=5)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999"), places=2)


@given(
    st.lists(st.tuples(statuses, prices, st.integers(0, 5), st.sampled_from(["土豆", "羊肉"])),
             min_size=1, max_size=8),
    st.sampled_from([BAIYIN, JINGYUAN]),
)  # fmt: skip
def test_points_add_up_and_stay_in_range(rows: list[tuple[list[str], Decimal, int, str]],
                                         area: str) -> None:  # fmt: skip
    listings = [
        listing(i + 1, household_statuses=tuple(s), price=p, earlier_sales=n, product=name)
        for i, (s, p, n, name) in enumerate(rows)
    ]
    ranked = rank(listings, buyer(service_paths=(area,), budget_left=None))
    assert len(ranked) == len(listings)
    for r in ranked:
        assert sum(r.component_points.values()) == r.points
        assert 0 <= r.points <= POINTS
        assert set(r.components) == set(COMPONENTS)
        assert all(0 <= v <= 1 for v in r.components.values())
    keys = [(-r.points, r.listing_id) for r in ranked]
    assert keys == sorted(keys)
