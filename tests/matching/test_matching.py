"""The pure matching library: hard constraints, ranking, allocation (no Flask, no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.allocation import Pair, Problem, greedy, optimal, optimal_lp
from matching.constraints import Violation, allowed, violations
from matching.model import NeedView, ResourceView
from matching.rank import needs_for_resource, resources_for_need
from matching.scoring import Weights, score

TODAY = date(2026, 11, 22)
GANSU, BAIYIN = "/620000000000/", "/620000000000/620400000000/"
COUNTIES = {
    "白银区": "620402000000", "平川区": "620403000000", "靖远县": "620421000000",
    "会宁县": "620422000000", "景泰县": "620423000000",
}  # fmt: skip
LANZHOU = "/620000000000/620100000000/620102000000/620102001000/620102001001/"


def village_path(county: str, township: int = 1, village: int = 1) -> str:
    code = COUNTIES[county]
    town = f"{code[:6]}{township:03d}000"
    vill = f"{code[:6]}{township:03d}{village:03d}"
    return f"{BAIYIN}{code}/{town}/{vill}/"


def need(id: int, path: str, sub: str = "necessities.washer", **kw: object) -> NeedView:
    return NeedView(
        id=id, category=sub.split(".")[0], subcategory=sub, village_path=path,
        open_quantity=kw.pop("open_quantity", 1), verified=kw.pop("verified", True),  # type: ignore[arg-type]
        household_status=kw.pop("status", "poor"),  # type: ignore[arg-type]
        household_causes=kw.pop("causes", ("illness",)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def resource(id: int, areas: tuple[str, ...], cats: tuple[str, ...], **kw: object) -> ResourceView:
    return ResourceView(
        id=id, categories=cats, service_paths=areas, remaining=kw.pop("remaining", 60),  # type: ignore[arg-type]
        active=True, organization_verified=True, valid_from=TODAY - timedelta(days=1),
        valid_until=TODAY + timedelta(days=30), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


JINGYUAN_WASHERS = resource(1, (f"{BAIYIN}{COUNTIES['靖远县']}/",), ("necessities.washer",),
                            eligible_statuses=("poor", "monitored"))  # fmt: skip
TELECOM = resource(2, (BAIYIN,), ("services.telecom",), remaining=None)


def test_jingyuan_washing_machines_reach_only_jingyuan() -> None:
    for county in COUNTIES:
        ok = allowed(need(1, village_path(county)), JINGYUAN_WASHERS, TODAY)
        assert ok == (county == "靖远县"), county
    assert violations(need(1, LANZHOU), JINGYUAN_WASHERS, TODAY) == [Violation.SERVICE_AREA]


def test_baiyin_telecom_plan_reaches_all_five_counties_and_nothing_outside() -> None:
    for county in COUNTIES:
        assert allowed(need(1, village_path(county), "services.telecom"), TELECOM, TODAY)
    assert not allowed(need(1, LANZHOU, "services.telecom"), TELECOM, TODAY)


def test_each_hard_constraint() -> None:
    base = need(1, village_path("靖远县"))
    assert Violation.NEED_NOT_OPEN in violations(need(1, base.village_path, verified=False),
                                                 JINGYUAN_WASHERS, TODAY)  # fmt: skip
    assert Violation.STATUS in violations(need(1, base.village_path, status="exited"),
                                          JINGYUAN_WASHERS, TODAY)  # fmt: skip
    assert Violation.CATEGORY in violations(need(1, base.village_path, "education.grant"),
                                            JINGYUAN_WASHERS, TODAY)  # fmt: skip
    assert Violation.OUT_OF_VALIDITY in violations(base, JINGYUAN_WASHERS, TODAY + timedelta(60))
    empty = resource(3, JINGYUAN_WASHERS.service_paths, ("necessities",), remaining=0)
    assert violations(base, empty, TODAY) == [Violation.NO_CAPACITY]
    # A top category covers its sub-categories.
    assert allowed(base, resource(4, (BAIYIN,), ("necessities",)), TODAY)


def test_score_components_and_explanations() -> None:
    fresh = need(1, village_path("靖远县"), urgency=3, days_waiting=90, prior_aid=0)
    aided = need(2, village_path("靖远县"), urgency=3, days_waiting=90, prior_aid=3)
    weights = Weights()
    a, b = score(fresh, JINGYUAN_WASHERS, weights), score(aided, JINGYUAN_WASHERS, weights)
    assert a.score > b.score  # less-aided first
    assert a.components["category"] == 1.0 and a.components["location"] == 0.6
    codes = {e.component: e.code for e in a.explanations}
    assert codes["category"] == "exact" and codes["prior_aid"] == "never_aided"
    assert codes["location"] == "same_county"
    assert 0.0 <= a.score <= 1.0


def test_weights_are_validated() -> None:
    with pytest.raises(ValueError):
        Weights(category=-1)
    with pytest.raises(ValueError):
        Weights(0, 0, 0, 0, 0, 0, 0, 0)  # eight components since priority


def test_ranking_is_sorted_limited_and_deterministic() -> None:
    needs = [need(i, village_path("靖远县", 1, i % 5 + 1), urgency=1 + i % 3, prior_aid=i % 2)
             for i in range(1, 30)]  # fmt: skip
    needs.append(need(99, LANZHOU))
    top = needs_for_resource(JINGYUAN_WASHERS, needs, Weights(), TODAY, limit=10)
    assert len(top) == 10 and 99 not in [s.need_id for s in top]
    assert [s.score for s in top] == sorted((s.score for s in top), reverse=True)
    assert top == needs_for_resource(JINGYUAN_WASHERS, list(reversed(needs)), Weights(), TODAY, 10)
    with pytest.raises(ValueError):
        needs_for_resource(JINGYUAN_WASHERS, needs, Weights(), TODAY, limit=0)
    best = resources_for_need(needs[0], [TELECOM, JINGYUAN_WASHERS], Weights(), TODAY)
    assert [s.resource_id for s in best] == [1]


# --- properties --------------------------------------------------------------------------

counties = st.sampled_from(sorted(COUNTIES))
subcats = st.sampled_from(["necessities.washer", "necessities.appliance", "services.telecom",
                           "education.grant"])  # fmt: skip


@st.composite
def needs_st(draw: st.DrawFn, id: int) -> NeedView:
    return need(
        id, village_path(draw(counties), draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        draw(subcats), open_quantity=draw(st.integers(0, 3)), verified=draw(st.booleans()),
        status=draw(st.sampled_from(["poor", "exited", "monitored", None])),
        urgency=draw(st.integers(1, 3)), prior_aid=draw(st.integers(0, 4)),
    )  # fmt: skip


@st.composite
def resources_st(draw: st.DrawFn, id: int) -> ResourceView:
    areas = tuple(
        draw(
            st.lists(
                st.sampled_from([BAIYIN, GANSU] + [f"{BAIYIN}{c}/" for c in COUNTIES.values()]),
                min_size=1,
                max_size=2,
            )
        )
    )
    cats = tuple(draw(st.lists(subcats | st.sampled_from(["necessities", "services"]),
                               min_size=1, max_size=2)))  # fmt: skip
    return resource(
        id, areas, cats, remaining=draw(st.one_of(st.none(), st.integers(0, 5))),
        eligible_statuses=tuple(draw(st.lists(st.sampled_from(["poor", "monitored"]), max_size=1))),
    )  # fmt: skip


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[NeedView], list[ResourceView]]:
    n = draw(st.integers(1, 12))
    r = draw(st.integers(1, 4))
    return [draw(needs_st(i)) for i in range(1, n + 1)], [
        draw(resources_st(i)) for i in range(1, r + 1)
    ]


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_suggestions_never_break_a_hard_constraint(
    world: tuple[list[NeedView], list[ResourceView]],
) -> None:
    needs, resources = world
    for r in resources:
        for s in needs_for_resource(r, needs, Weights(), TODAY, limit=50):
            n = next(x for x in needs if x.id == s.need_id)
            assert not violations(n, r, TODAY)
            assert 0.0 <= s.score <= 1.0
    for n in needs:
        for s in resources_for_need(n, resources, Weights(), TODAY, limit=50):
            assert allowed(n, next(x for x in resources if x.id == s.resource_id), TODAY)


def _problem(needs: list[NeedView], resources: list[ResourceView], cap: int | None) -> Problem:
    pairs = tuple(
        Pair(n.id, r.id, round(score(n, r, Weights()).score, 6))
        for n in needs for r in resources if allowed(n, r, TODAY)
    )  # fmt: skip
    return Problem.of_pairs(
        pairs,
        need_quantity={n.id: n.open_quantity for n in needs},
        capacity={r.id: r.remaining for r in resources},
        village_of={n.id: n.village_path for n in needs},
        village_cap=cap,
    )


@settings(max_examples=60, deadline=None)
@given(worlds(), st.one_of(st.none(), st.integers(0, 2)))
def test_allocation_respects_bounds_beats_greedy_and_is_deterministic(
    world: tuple[list[NeedView], list[ResourceView]], cap: int | None
) -> None:
    problem = _problem(*world, cap)
    best, base = optimal(problem), greedy(problem)
    for allocation in (best, base):
        per_need: dict[int, int] = {}
        per_res: dict[int, int] = {}
        per_village: dict[tuple[int, str], int] = {}
        for a in allocation.assignments:
            assert a.quantity > 0
            per_need[a.need_id] = per_need.get(a.need_id, 0) + a.quantity
            per_res[a.resource_id] = per_res.get(a.resource_id, 0) + a.quantity
            key = (a.resource_id, problem.village_of[a.need_id])
            per_village[key] = per_village.get(key, 0) + a.quantity
            assert (a.need_id, a.resource_id) in {(p.need_id, p.resource_id) for p in problem.pairs}
        assert all(q <= problem.need_quantity[n] for n, q in per_need.items())
        for r, q in per_res.items():
            capacity = problem.capacity[r]
            assert capacity is None or q <= capacity
        if cap is not None:
            assert all(q <= cap for q in per_village.values())
    assert best.total_score >= base.total_score - 1e-6
    assert optimal(problem) == best
    # The flow solver and the linear programme agree on the optimum.
    assert abs(optimal_lp(problem).total_score - best.total_score) < 1e-6


def test_sixty_washing_machines_among_hundreds_of_households() -> None:
    needs = [need(i, village_path("靖远县", 1 + i % 4, 1 + i % 7), urgency=1 + i % 3,
                  prior_aid=i % 3, days_waiting=i % 100) for i in range(1, 401)]  # fmt: skip
    needs += [need(1000 + i, village_path("会宁县")) for i in range(20)]
    problem = _problem(needs, [JINGYUAN_WASHERS], cap=3)
    result = optimal(problem)
    # 28 villages with a cap of 3 each could take 84: all 60 machines go out, no more.
    assert sum(a.quantity for a in result.assignments) == 60
    assert all(a.need_id < 1000 for a in result.assignments)  # Jingyuan only
    villages = [problem.village_of[a.need_id] for a in result.assignments]
    assert max(villages.count(v) for v in set(villages)) <= 3
    assert result.total_score >= greedy(problem).total_score - 1e-9


# --- the array indexes give the library's ranking ------------------------------------------


@settings(max_examples=40, deadline=None)
@given(worlds(), st.integers(1, 8))
def test_indexes_rank_exactly_like_the_library(
    world: tuple[list[NeedView], list[ResourceView]], limit: int
) -> None:
    from matching.index import NeedIndex, ResourceIndex

    needs, resources = world
    need_index, resource_index = NeedIndex(), ResourceIndex()
    need_index.add_many(needs[: len(needs) // 2])
    for n in needs[len(needs) // 2 :]:
        need_index.add(n)  # incremental, one at a time
    for r in resources:
        resource_index.add(r)
    for r in resources:
        expected = needs_for_resource(r, needs, Weights(), TODAY, limit)
        got = need_index.top(r, Weights(), TODAY, limit)
        assert [s.need_id for s in got] == [s.need_id for s in expected]
    for n in needs:
        expected = resources_for_need(n, resources, Weights(), TODAY, limit)
        got = resource_index.top(n, Weights(), TODAY, limit)
        assert [s.resource_id for s in got] == [s.resource_id for s in expected]


def test_index_removal_and_replacement() -> None:
    from matching.index import NeedIndex

    index = NeedIndex()
    a, b = need(1, village_path("靖远县")), need(2, village_path("靖远县"), prior_aid=2)
    index.add_many([a, b])
    assert [s.need_id for s in index.top(JINGYUAN_WASHERS, Weights(), TODAY, 5)] == [1, 2]
    index.remove(1)
    assert [s.need_id for s in index.top(JINGYUAN_WASHERS, Weights(), TODAY, 5)] == [2]
    index.add(need(2, village_path("靖远县"), verified=False))  # no longer open: retired
    assert index.top(JINGYUAN_WASHERS, Weights(), TODAY, 5) == []
    assert len(index) == 0


def test_category_suggestion_keywords_then_learning() -> None:
    from matching.classify import CategoryClassifier

    model = CategoryClassifier({"necessities.washer": ("洗衣机",), "industry.livestock": ("羊",)})
    model.fit(["需要洗衣机"], ["necessities.washer"])  # too few to learn from
    assert not model.learned
    assert model.suggest("家里想要一台洗衣机")[0][0] == "necessities.washer"
    assert model.suggest("") == [] and model.suggest("天气很好") == []
    texts = [f"想养{n}只种羊" for n in range(20)] + [f"孩子上学缺学费{n}" for n in range(20)]
    labels = ["industry.livestock"] * 20 + ["education.tuition"] * 20
    model.fit(texts, labels)
    assert model.learned
    assert model.suggest("准备养羊")[0][0] == "industry.livestock"
    assert model.suggest("交不起学费")[0][0] == "education.tuition"


@settings(max_examples=30, deadline=None)
@given(worlds(), st.one_of(st.none(), st.integers(0, 2)))
def test_allocation_solved_in_separate_parts_is_still_optimal(
    world: tuple[list[NeedView], list[ResourceView]], cap: int | None
) -> None:
    """Independent parts (no need or resource in common) solved one at a time give the optimum."""
    from matching import allocation

    problem = _problem(*world, cap)
    whole = optimal(problem)
    saved = allocation.BATCH_PAIRS
    allocation.BATCH_PAIRS = 1  # every connected part on its own
    try:
        split, again = optimal(problem), optimal(problem)
    finally:
        allocation.BATCH_PAIRS = saved
    assert split == again  # deterministic
    assert abs(split.total_score - whole.total_score) < 1e-6
    assert abs(split.total_score - optimal_lp(problem).total_score) < 1e-6


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from("需要一台洗衣机种羊助学金危房改造abcXYZ 123，。\\t"), max_size=80
    )
)
def test_one_text_encoder_matches_the_batch_encoder(words: str) -> None:
    from matching import text

    one, batch = text.encode_one(words), text.encode([words])
    one.sort_indices()
    batch.sort_indices()
    assert one.shape == batch.shape and (one != batch).nnz == 0
