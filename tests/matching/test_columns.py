"""The array scorer over columns (``matching.columns.top_needs``) gives exactly the library's
ranking: the same candidates, the same points per candidate, ties by lowest id, the same
explanations, whether prior aid and texts are in the columns or asked for where they matter."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import synthetic
from matching.columns import NeedColumns, needs_household_columns, top_needs
from matching.model import NeedView, ResourceView
from matching.rank import needs_for_resource
from matching.scoring import Weights
from tests.matching.test_matching import BAIYIN, COUNTIES, GANSU, TODAY, village_path

SUBCATS = ["necessities.washer", "necessities.appliance", "services.telecom", "jobs.training"]
CAUSES = ["illness", "disability", "schooling", "capital"]
TEXTS = ["需要一台洗衣机", "家里缺少冰箱", "希望参加技能培训", "申请通信资费优惠", ""]
AREAS = [BAIYIN, GANSU, "", *(f"{BAIYIN}{c}/" for c in COUNTIES.values())]


@st.composite
def needs_st(draw: st.DrawFn, id: int) -> NeedView:
    sub = draw(st.sampled_from(SUBCATS))
    county = draw(st.sampled_from(sorted(COUNTIES)))
    status = draw(st.sampled_from(["poor", "exited", "monitored", None]))
    located = draw(st.booleans())
    return NeedView(
        id=id, category=sub.split(".")[0], subcategory=sub,
        village_path=village_path(county, draw(st.integers(1, 2)), draw(st.integers(1, 3))),
        open_quantity=draw(st.integers(0, 4)), verified=draw(st.booleans()),
        household_status=status,
        household_causes=() if status is None else tuple(
            draw(st.lists(st.sampled_from(CAUSES), max_size=2, unique=True))),
        urgency=draw(st.integers(1, 3)), days_waiting=draw(st.integers(0, 150)),
        prior_aid=draw(st.integers(0, 3)) if status else 0,
        text=draw(st.sampled_from(TEXTS)) + draw(st.sampled_from(["", "，冬天急用"])),
        lat=36.5 + draw(st.integers(0, 40)) / 100 if located else None,
        lng=104.6 + draw(st.integers(0, 40)) / 100 if located else None,
        household_id=id if status else None,
        household_labour=draw(st.sampled_from(["full", "weak", "none"])) if status else None,
    )  # fmt: skip


@st.composite
def resources_st(draw: st.DrawFn, id: int) -> ResourceView:
    areas = tuple(draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=3)))
    coords = tuple(
        draw(st.one_of(st.none(), st.just((36.6, 104.7)), st.just((36.2, 105.1)))) for _ in areas
    )
    cats = st.sampled_from([*SUBCATS, "necessities", "services", "jobs"])
    return ResourceView(
        id=id, categories=tuple(draw(st.lists(cats, min_size=1, max_size=2))),
        service_paths=areas, remaining=draw(st.one_of(st.none(), st.integers(0, 5))),
        active=draw(st.booleans() | st.just(True)), organization_verified=True,
        valid_from=TODAY - timedelta(days=draw(st.integers(-1, 3))),
        valid_until=TODAY + timedelta(days=30),
        eligible_statuses=tuple(draw(st.lists(st.sampled_from(["poor", "monitored"]),
                                              max_size=1))),
        eligible_causes=tuple(draw(st.lists(st.sampled_from(CAUSES), max_size=1))),
        text=draw(st.sampled_from(TEXTS)),
        service_coords=coords[: draw(st.integers(0, len(coords)))],
        labour_required=draw(st.booleans()),
        priority_causes=tuple(draw(st.lists(st.sampled_from(CAUSES), max_size=2))),
        priority_statuses=tuple(draw(st.lists(st.sampled_from(["monitored", "poor"]),
                                              max_size=1))),
    )  # fmt: skip


class Lazy:
    """Columns without prior aid (asked for by row), counting what is asked."""

    def __init__(self, needs: list[NeedView]) -> None:
        self.needs = needs
        self.asked: list[int] = []
        self.texts_asked = 0

    def prior_aid(self, rows: np.ndarray) -> np.ndarray:
        self.asked += rows.tolist()
        return np.array([self.needs[r].prior_aid for r in rows.tolist()], dtype=np.int64)

    def texts(self, rows: np.ndarray) -> list[str]:
        self.texts_asked += rows.size
        return [self.needs[r].text for r in rows.tolist()]

    def views(self, rows: np.ndarray, prior_aid: np.ndarray) -> list[NeedView]:
        assert prior_aid.tolist() == [self.needs[r].prior_aid for r in rows.tolist()]
        return [self.needs[r] for r in rows.tolist()]


def lazy_columns(needs: list[NeedView], households: bool) -> tuple[NeedColumns, Lazy]:
    full = NeedColumns.from_views(needs)
    source = Lazy(needs)
    columns = NeedColumns(
        ids=full.ids, verified=full.verified, category=full.category,
        subcategory=full.subcategory, place=full.place, open_quantity=full.open_quantity,
        urgency=full.urgency, days_waiting=full.days_waiting, household=full.household,
        source=source, prior_aid=None,
        status=full.status if households else None, causes=full.causes if households else None,
        labour=full.labour if households else None,
    )  # fmt: skip
    return columns, source


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 30).flatmap(lambda n: st.tuples(*(needs_st(i) for i in range(1, n + 1)))),
    st.lists(st.integers(0, 1000), min_size=1, max_size=3).flatmap(
        lambda ids: st.tuples(*(resources_st(i) for i in ids))
    ),
    st.integers(1, 40),
)
def test_array_scorer_ranks_and_scores_exactly_like_the_library(
    needs: tuple[NeedView, ...], resources: tuple[ResourceView, ...], limit: int
) -> None:
    needs_list = list(needs)
    shuffled = NeedColumns.from_views(list(reversed(needs_list)))
    for resource in resources:
        expected = needs_for_resource(resource, needs_list, Weights(), TODAY, limit)
        # Every candidate, its points and explanations (a limit above the candidates).
        everything = needs_for_resource(resource, needs_list, Weights(), TODAY, 100)
        assert top_needs(resource, shuffled, Weights(), TODAY, 100) == everything
        assert top_needs(resource, shuffled, Weights(), TODAY, limit) == expected
        columns, _source = lazy_columns(needs_list, needs_household_columns(resource))
        assert top_needs(resource, columns, Weights(), TODAY, limit) == expected
        weights = Weights(text=0.5, location=0.01)  # text may matter more than the bound's
        assert top_needs(resource, columns, weights, TODAY, limit) == needs_for_resource(
            resource, needs_list, weights, TODAY, limit
        )


def test_household_columns_are_required_only_when_the_resource_reads_them() -> None:
    needs = [NeedView(1, "necessities", "necessities.washer", village_path("靖远县"), 1, True,
                      household_status="poor", household_id=1)]  # fmt: skip
    plain = ResourceView(1, ("necessities",), (BAIYIN,), None, True, True, TODAY, TODAY)
    columns, _source = lazy_columns(needs, households=False)
    assert [s.need_id for s in top_needs(plain, columns, Weights(), TODAY)] == [1]
    picky = ResourceView(**{**plain.__dict__, "eligible_statuses": ("poor",)})
    with pytest.raises(ValueError):
        top_needs(picky, columns, Weights(), TODAY)
    with pytest.raises(ValueError):
        top_needs(plain, columns, Weights(), TODAY, limit=0)


def test_synthetic_province_same_ranking_asking_few_prior_aid_counts_and_texts() -> None:
    """At scale (synthetic needs, city, county and township resources), the same top 10 as the
    library, and prior aid and texts asked for a fraction of the candidates."""
    needs = synthetic.needs(6000, seed=5)
    for resource in synthetic.resources(25, seed=6):
        expected = needs_for_resource(resource, needs, Weights(), synthetic.TODAY, 10)
        columns, source = lazy_columns(needs, households=False)
        got = top_needs(resource, columns, Weights(), synthetic.TODAY, 10)
        assert got == expected
        candidates = len(needs_for_resource(resource, needs, Weights(), synthetic.TODAY, 10**6))
        if candidates > 200:
            assert len(source.asked) < candidates / 2 and source.texts_asked < candidates / 2


def test_similarities_remembered_equal_those_computed_afresh() -> None:
    """Similarities are kept per (query, text) (``columns._SIMILAR``): a batch answered partly
    from what was kept is the batch computed from nothing, value for value; the store is
    bounded."""
    from matching import columns, text

    query = "洗衣机 一台"
    batch = [*TEXTS, "洗衣机坏了", TEXTS[0]]
    columns._SIMILAR.clear()
    first = columns._similarities(query, batch[:3])
    again = columns._similarities(query, batch)
    fresh = text.similarities(text.encode_one(query), text.encode(batch))
    assert again.dtype == fresh.dtype and again.tolist() == fresh.tolist()
    assert first.tolist() == fresh[:3].tolist()
    columns._SIMILAR.update({(str(i), ""): 0.0 for i in range(columns._SIMILAR_SIZE)})
    assert (
        columns._similarities(query, ["新的"]).tolist()
        == text.similarities(text.encode_one(query), text.encode(["新的"])).tolist()
    )
    assert len(columns._SIMILAR) <= columns._SIMILAR_SIZE


def test_location_values_kept_by_area_and_places_equal_those_computed_afresh() -> None:
    """The location values of a place set are kept by area and centres (``_PLACES``)."""
    from matching import columns

    located = [(village_path(c, 1, 1), 36.5, 104.6) for c in sorted(COUNTIES)]
    places = (*located, (village_path(sorted(COUNTIES)[0], 2, 1), None, None))
    area = ResourceView(1, ("necessities",), (BAIYIN,), None, True, True, TODAY, TODAY,
                        service_coords=((36.5, 104.2),))  # fmt: skip
    columns._PLACES.clear()
    first = columns._location(area, places)
    assert columns._location(area, places) is first
    assert first.tolist() == columns._location_values(area, places).tolist()
    moved = ResourceView(**{**area.__dict__, "service_coords": ((36.0, 104.0),)})
    assert columns._location(moved, places).tolist() == (
        columns._location_values(moved, places).tolist()
    )
    assert columns._location(moved, places).tolist() != first.tolist()
