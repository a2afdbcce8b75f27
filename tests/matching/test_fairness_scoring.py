"""Fair scoring (issue 12): integer points that add up, ties by id, text that cannot be gamed,
priorities that only add, labour as a hard constraint. Each property states its expectation
from the definition, not from the code under test."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from matching.constraints import Violation, allowed, violations
from matching.index import NeedIndex, ResourceIndex
from matching.model import NeedView, ResourceView
from matching.rank import needs_for_resource, resources_for_need
from matching.scoring import POINTS, Weights, score
from tests.matching.test_matching import BAIYIN, COUNTIES, TODAY, need, resource, village_path

DEMO = Path(__file__).resolve().parents[2] / "marketplace" / "demo_data"
TEMPLATES = json.loads((DEMO / "need_templates.json").read_text(encoding="utf-8"))
RESOURCES = json.loads((DEMO / "resources.json").read_text(encoding="utf-8"))["resources"]
NEED_TEXTS = [f"{t['title']} 三滩村{t['title']}。" for t in TEMPLATES]
RESOURCE_TEXTS = [f"{r['title']} {r['description']}" for r in RESOURCES]
CAUSES = ["illness", "disability", "schooling", "disaster", "land", "labour", "skills"]
STATUSES = ["poor", "exited", "monitored"]
SUBCATS = ["necessities.washer", "necessities.appliance", "jobs.employment"]
CENTRES = {BAIYIN: (36.54, 104.17)} | {
    f"{BAIYIN}{code}/": (36.0 + i / 10, 104.0 + i / 10) for i, code in enumerate(COUNTIES.values())
}

counties = st.sampled_from(sorted(COUNTIES))
texts = st.sampled_from(NEED_TEXTS) | st.text(
    alphabet="需要洗衣机种羊助学金贫困户家庭", max_size=30
)


@st.composite
def needs_st(draw: st.DrawFn, id: int) -> NeedView:
    village_wide = draw(st.booleans()) and draw(st.booleans())
    located = draw(st.booleans())
    return need(
        id, village_path(draw(counties), draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        draw(st.sampled_from(SUBCATS)), open_quantity=draw(st.integers(1, 3)),
        status=None if village_wide else draw(st.sampled_from(STATUSES)),
        causes=() if village_wide else tuple(draw(st.sets(st.sampled_from(CAUSES), max_size=3))),
        urgency=draw(st.integers(1, 3)), prior_aid=draw(st.integers(0, 3)),
        days_waiting=draw(st.integers(0, 120)), text=draw(texts),
        household_id=None if village_wide else id // 2,
        household_labour=None if village_wide else draw(
            st.sampled_from(["full", "weak", "none", None])),
        lat=36.2 + draw(st.integers(0, 40)) / 100 if located else None,
        lng=104.1 + draw(st.integers(0, 40)) / 100 if located else None,
    )  # fmt: skip


@st.composite
def resources_st(draw: st.DrawFn, id: int) -> ResourceView:
    areas = tuple(draw(st.lists(st.sampled_from(sorted(CENTRES)), min_size=1, max_size=2,
                                unique=True)))  # fmt: skip
    cats = tuple(draw(st.lists(st.sampled_from([*SUBCATS, "necessities", "jobs"]),
                               min_size=1, max_size=2, unique=True)))  # fmt: skip
    return resource(
        id, areas, cats, remaining=draw(st.one_of(st.none(), st.integers(1, 5))),
        text=draw(st.sampled_from(RESOURCE_TEXTS)),
        service_coords=tuple(CENTRES[a] if draw(st.booleans()) else None for a in areas),
        labour_required=draw(st.booleans()),
        priority_causes=tuple(draw(st.lists(st.sampled_from(CAUSES), max_size=2, unique=True))),
        priority_statuses=tuple(draw(st.lists(st.sampled_from(STATUSES), max_size=1))),
    )  # fmt: skip


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[NeedView], list[ResourceView]]:
    needs = [draw(needs_st(i)) for i in range(1, draw(st.integers(1, 14)) + 1)]
    # Copies that differ only in id: their points are equal by construction.
    for copy in draw(st.lists(st.sampled_from(needs), max_size=4)):
        needs.append(replace(copy, id=100 + len(needs)))
    resources = [draw(resources_st(i)) for i in range(1, draw(st.integers(1, 4)) + 1)]
    return needs, resources


def _all_scores(
    needs: list[NeedView], resources: list[ResourceView]
) -> list[tuple[NeedView, ResourceView, int, dict[str, int], dict[str, float]]]:
    out = []
    for r in resources:
        for s in needs_for_resource(r, needs, Weights(), TODAY, limit=len(needs)):
            n = next(x for x in needs if x.id == s.need_id)
            out.append((n, r, s.points, s.component_points, s.components))
    return out


@settings(max_examples=80, deadline=None)
@given(worlds())
def test_component_points_sum_to_the_total(
    world: tuple[list[NeedView], list[ResourceView]],
) -> None:
    weights = Weights().as_dict()
    total_weight = sum(weights.values())
    for _n, _r, points, parts, values in _all_scores(*world):
        assert isinstance(points, int) and 0 <= points <= POINTS
        assert sum(parts.values()) == points
        for name, value in values.items():
            # Each part is its weight share x value x 10,000, to within rounding (the values
            # are reported to 4 places, worth at most half a point here).
            assert abs(parts[name] - weights[name] / total_weight * value * POINTS) <= 1.5


@settings(max_examples=60, deadline=None)
@given(worlds(), st.randoms(use_true_random=False), st.integers(1, 20))
def test_ties_by_lowest_id_and_shuffling_changes_nothing(
    world: tuple[list[NeedView], list[ResourceView]], rng: random.Random, limit: int
) -> None:
    needs, resources = world
    shuffled_needs, shuffled_resources = needs[:], resources[:]
    rng.shuffle(shuffled_needs)
    rng.shuffle(shuffled_resources)
    for r in resources:
        ranked = needs_for_resource(r, needs, Weights(), TODAY, limit)
        keys = [(-s.points, s.need_id) for s in ranked]
        assert keys == sorted(keys)  # most points first, equal points by lowest need id
        assert ranked == needs_for_resource(r, shuffled_needs, Weights(), TODAY, limit)
        index = NeedIndex()
        index.add_many(shuffled_needs)
        assert index.top(r, Weights(), TODAY, limit) == ranked
    for n in needs:
        ranked = resources_for_need(n, resources, Weights(), TODAY, limit)
        keys = [(-s.points, s.resource_id) for s in ranked]
        assert keys == sorted(keys)
        assert ranked == resources_for_need(n, shuffled_resources, Weights(), TODAY, limit)
        rindex = ResourceIndex()
        rindex.add_many(shuffled_resources)
        assert rindex.top(n, Weights(), TODAY, limit) == ranked


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_copies_that_differ_only_in_id_have_equal_points_and_rank_by_id(
    world: tuple[list[NeedView], list[ResourceView]],
) -> None:
    needs, resources = world
    for r in resources:
        ranked = needs_for_resource(r, needs, Weights(), TODAY, limit=len(needs))
        position = {s.need_id: i for i, s in enumerate(ranked)}
        points = {s.need_id: s.points for s in ranked}
        for a in needs:
            for b in needs:
                if a.id < b.id and replace(a, id=b.id) == b and a.id in points:
                    assert points[a.id] == points[b.id] and position[a.id] < position[b.id]


@settings(max_examples=150, deadline=None)
@given(
    needs_st(1), resources_st(9), st.sampled_from(["urgency", "waiting"]), st.booleans(),
    st.booleans(),
)  # fmt: skip
def test_pasting_the_resource_text_never_beats_one_urgency_level_or_a_month(
    plain: NeedView, r: ResourceView, better: str, replace_text: bool, from_index: bool
) -> None:
    if better == "urgency":
        assume(plain.urgency < 3)
        rival = replace(plain, id=2, urgency=plain.urgency + 1)
    else:
        assume(plain.days_waiting + 30 <= 90)  # waiting counts up to 90 days
        rival = replace(plain, id=2, days_waiting=plain.days_waiting + 30)
    words = r.text if replace_text else f"{plain.text} {r.text}"
    copied = replace(plain, id=3, text=words)
    assume(allowed(plain, r, TODAY))
    if from_index:
        index = NeedIndex()
        index.add_many([rival, copied])
        ranked = index.top(r, Weights(), TODAY, 2)
    else:
        ranked = needs_for_resource(r, [rival, copied], Weights(), TODAY, 2)
    points = {s.need_id: s.points for s in ranked}
    assert points[3] <= points[2]
    assert ranked[0].need_id == 2  # the rival first (by points, or by id)


@settings(max_examples=100, deadline=None)
@given(worlds())
def test_labour_is_a_hard_constraint_only_against_households_without_labour(
    world: tuple[list[NeedView], list[ResourceView]],
) -> None:
    needs, resources = world
    for r in resources:
        for n in needs:
            excluded = r.labour_required and n.household_labour == "none"
            assert (Violation.LABOUR in violations(n, r, TODAY)) == excluded
            relaxed = replace(r, labour_required=False)
            assert allowed(n, r, TODAY) == (allowed(n, relaxed, TODAY) and not excluded)
        suggested = {s.need_id for s in needs_for_resource(r, needs, Weights(), TODAY, 50)}
        index = NeedIndex()
        index.add_many(needs)
        assert {s.need_id for s in index.top(r, Weights(), TODAY, 50)} == suggested
        if r.labour_required:
            assert all(n.household_labour != "none" for n in needs if n.id in suggested)
    rindex = ResourceIndex()
    rindex.add_many(resources)
    for n in needs:
        expected = resources_for_need(n, resources, Weights(), TODAY, 50)
        assert rindex.top(n, Weights(), TODAY, 50) == expected


@settings(max_examples=100, deadline=None)
@given(needs_st(1), resources_st(9), st.sets(st.sampled_from(CAUSES)), st.booleans())
def test_a_priority_the_household_meets_only_raises_and_is_explained(
    n: NeedView, r: ResourceView, causes: set[str], by_status: bool
) -> None:
    plain = replace(r, priority_causes=(), priority_statuses=())
    favoured = replace(
        r,
        priority_causes=tuple(sorted(causes)),
        priority_statuses=(n.household_status,) if by_status and n.household_status else (),
    )
    # Priority is not eligibility.
    assert violations(n, plain, TODAY) == violations(n, favoured, TODAY)
    before, after = score(n, plain, Weights()), score(n, favoured, Weights())
    assert after.points >= before.points
    met_causes = sorted(causes & set(n.household_causes))
    met_status = by_status and n.household_status is not None
    explained = next(e for e in after.explanations if e.component == "priority")
    if met_causes or met_status:
        assert explained.code == "met" and sorted(explained.params["causes"]) == met_causes  # type: ignore[call-overload]
        assert explained.params["status"] == (n.household_status if met_status else None)
        assert after.component_points["priority"] > 0 and after.points > before.points
    else:
        assert after.points == before.points
        assert after.component_points["priority"] == 0


def test_text_is_outweighed_by_each_of_urgency_waiting_prior_aid_and_priority() -> None:
    w = Weights()
    # Most that text can add (value 0 to 1) against one urgency level (half the component),
    # 30 days (a third of the 90-day scale), one prior aid (1 to 1/2) and a met priority.
    assert w.text < w.urgency / 2 and w.text < w.waiting / 3
    assert w.text < w.prior_aid / 2 and w.text < w.priority


def test_washers_favour_illness_disability_and_no_labour() -> None:
    washers = resource(1, (f"{BAIYIN}{COUNTIES['靖远县']}/",), ("necessities.washer",),
                       priority_causes=("illness", "disability", "labour"))  # fmt: skip
    path = village_path("靖远县")
    ill, landless = need(1, path, causes=("illness",)), need(2, path, causes=("land",))
    top = needs_for_resource(washers, [landless, ill], Weights(), TODAY, 2)
    assert [s.need_id for s in top] == [1, 2]
    assert abs(top[0].points - top[1].points - Weights().factors()["priority"]) <= 1
    jobs = resource(2, (BAIYIN,), ("jobs",), labour_required=True)
    able = need(3, path, "jobs.employment", household_labour="weak")
    unable = need(4, path, "jobs.employment", household_labour="none")
    unknown = need(5, path, "jobs.employment")
    village = need(6, path, "jobs.employment", status=None, causes=())
    assert violations(unable, jobs, TODAY) == [Violation.LABOUR]
    assert [s.need_id for s in needs_for_resource(jobs, [able, unable, unknown, village],
                                                  Weights(), TODAY, 10)] == [3, 5, 6]  # fmt: skip
