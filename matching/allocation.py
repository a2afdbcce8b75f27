"""Allocation of scarce resources: the set of matches with the greatest total score.

A need served in full counts its score; served in part, the matching share of it. Capacities
of resources, open quantities of needs and an optional cap per (resource, village) bound the
allocation. That is a min-cost flow (source -> resource [-> resource x village] -> need ->
sink), solved with OR-Tools; its constraint matrix is totally unimodular, so the linear
programme (HiGHS, kept as a cross-check) has the same integral optimum.

Candidate pairs travel as three numpy columns (need id, resource id, score): at two million
pairs, Python objects per pair would cost more than the solver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pair:
    need_id: int
    resource_id: int
    score: float


@dataclass(frozen=True)
class Assignment:
    need_id: int
    resource_id: int
    quantity: int


@dataclass(frozen=True)
class Allocation:
    assignments: tuple[Assignment, ...]
    total_score: float


@dataclass(frozen=True, eq=False)
class Problem:
    """Candidate pairs as columns, sorted by (need id, resource id), with the bounds."""

    need_ids: Ints
    resource_ids: Ints
    scores: Floats
    need_quantity: Mapping[int, int]
    capacity: Mapping[int, int | None]  # None: unlimited
    village_of: Mapping[int, str]  # need id -> village code (for the per-village cap)
    village_cap: int | None = None

    @classmethod
    def of_pairs(cls, pairs: Iterable[Pair], **bounds: Any) -> Problem:
        listed = list(pairs)
        return cls.from_arrays(
            np.array([p.need_id for p in listed], dtype=np.int64),
            np.array([p.resource_id for p in listed], dtype=np.int64),
            np.array([p.score for p in listed], dtype=np.float64),
            **bounds,
        )

    @classmethod
    def from_arrays(
        cls, need_ids: Ints, resource_ids: Ints, scores: Floats, **bounds: Any
    ) -> Problem:
        need_ids = np.asarray(need_ids, dtype=np.int64)
        resource_ids = np.asarray(resource_ids, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        if not need_ids.shape == resource_ids.shape == scores.shape or need_ids.ndim != 1:
            raise ValueError("need ids, resource ids and scores must be columns of one length")
        order = np.lexsort((resource_ids, need_ids))
        return cls(need_ids[order], resource_ids[order], scores[order], **bounds)

    def __post_init__(self) -> None:
        if self.scores.size and not (np.all(self.scores >= 0.0) and np.all(self.scores <= 1.0)):
            raise ValueError("scores must lie in [0, 1]")
        if not np.all(np.isin(self.need_ids, np.fromiter(self.need_quantity, np.int64))):
            raise ValueError("a pair names an unknown need")
        if not np.all(np.isin(self.resource_ids, np.fromiter(self.capacity, np.int64))):
            raise ValueError("a pair names an unknown resource")
        if any(q < 0 for q in self.need_quantity.values()):
            raise ValueError("need quantities must be non-negative")
        if any(c is not None and c < 0 for c in self.capacity.values()):
            raise ValueError("capacities must be non-negative")
        if self.village_cap is not None and self.village_cap < 0:
            raise ValueError("the village cap must be non-negative")
        same = (self.need_ids[1:] == self.need_ids[:-1]) & (
            self.resource_ids[1:] == self.resource_ids[:-1]
        )
        if np.any(np.diff(self.need_ids) < 0) or np.any(same):
            raise ValueError("pairs must be sorted and each (need, resource) may appear once")

    @cached_property
    def pairs(self) -> tuple[Pair, ...]:
        return tuple(
            Pair(int(n), int(r), float(s))
            for n, r, s in zip(self.need_ids, self.resource_ids, self.scores, strict=True)
        )

    def quantities(self, need_ids: Ints) -> Ints:
        return np.fromiter((self.need_quantity[int(n)] for n in need_ids), np.int64, need_ids.size)

    def village_keys(self, resource_index: Ints, positive: npt.NDArray[np.bool_]) -> Ints:
        """One integer per (resource, village) of each kept pair, for the per-village cap."""
        codes: dict[str, int] = {}
        village = np.fromiter(
            (codes.setdefault(self.village_of.get(int(n), ""), len(codes))
             for n in self.need_ids[positive]),
            np.int64,
        )  # fmt: skip
        return resource_index * max(len(codes), 1) + village


def _result(problem: Problem, kept: npt.NDArray[np.intp], amounts: Ints) -> Allocation:
    """Assignments in (need id, resource id) order and their total score."""
    served = amounts > 0
    index = kept[served]
    quantity = amounts[served]
    need_ids = problem.need_ids[index]
    wanted = problem.quantities(need_ids)
    total = float(np.sum(problem.scores[index] * quantity / wanted)) if index.size else 0.0
    assignments = tuple(
        Assignment(int(n), int(r), int(q))
        for n, r, q in zip(need_ids, problem.resource_ids[index], quantity, strict=True)
    )
    return Allocation(assignments, round(total, 9))


def greedy(problem: Problem) -> Allocation:
    """The baseline: best pairs first (ties by need id, then resource id), each as far as it
    fits."""
    # Pairs are stored in (need, resource) order, so a stable sort on -score keeps that tie order.
    order = np.argsort(-problem.scores, kind="stable")
    order = order[problem.scores[order] > 0]
    need_left = dict(problem.need_quantity)
    cap_left = dict(problem.capacity)
    village_left: dict[tuple[int, str], int] = {}
    amounts = np.zeros(order.size, dtype=np.int64)
    cap = problem.village_cap
    for position, (n, r) in enumerate(
        zip(problem.need_ids[order].tolist(), problem.resource_ids[order].tolist(), strict=True)
    ):
        room = need_left[n]
        left = cap_left[r]
        if left is not None:
            room = min(room, left)
        if cap is not None:
            key = (r, problem.village_of.get(n, ""))
            room = min(room, village_left.setdefault(key, cap))
        if room <= 0:
            continue
        need_left[n] -= room
        if left is not None:
            cap_left[r] = left - room
        if cap is not None:
            village_left[key] -= room
        amounts[position] = room
    back = np.argsort(order, kind="stable")  # assignments back in (need, resource) order
    return _result(problem, order[back], amounts[back])


SCALE = 10**9  # scores to integer costs for the flow solver


# Independent parts of the problem (no need or resource in common) are solved one batch at a
# time: the solver's work grows faster than the problem, and a province splits into counties.
BATCH_PAIRS = 20_000


def optimal(problem: Problem) -> Allocation:
    """Min-cost flow with OR-Tools: source -> resource [-> resource x village] -> need -> sink,
    plus a zero-cost bypass from source to sink so that no unit is sent where it adds nothing.
    Arcs are added in (need id, resource id) order, so the same data gives the same result."""
    positive = problem.scores > 0
    kept = np.flatnonzero(positive)
    if kept.size == 0:
        return Allocation((), 0.0)
    needs, need_index = np.unique(problem.need_ids[kept], return_inverse=True)
    resources, resource_index = np.unique(problem.resource_ids[kept], return_inverse=True)
    quantity = problem.quantities(needs)
    capacity = np.array(
        [-1 if (c := problem.capacity[int(r)]) is None else c for r in resources], dtype=np.int64
    )
    village = (
        None if problem.village_cap is None
        else problem.village_keys(resource_index, positive)
    )  # fmt: skip
    graph = sp.coo_matrix(
        (np.ones(kept.size), (need_index, needs.size + resource_index)),
        shape=(needs.size + resources.size,) * 2,
    )
    _count, labels = connected_components(graph, directed=False)
    part = labels[need_index]
    by_part = np.argsort(part, kind="stable")  # pairs grouped by part, in their order inside
    bounds = np.flatnonzero(np.diff(part[by_part])) + 1
    amounts = np.zeros(kept.size, dtype=np.int64)
    batch: list[npt.NDArray[np.intp]] = []
    groups = np.split(by_part, bounds)
    for number, group in enumerate(groups):
        batch.append(group)
        if sum(g.size for g in batch) >= BATCH_PAIRS or number == len(groups) - 1:
            pairs = np.sort(np.concatenate(batch))
            batch = []
            amounts[pairs] = _flow(
                need_index[pairs], resource_index[pairs], quantity, capacity,
                problem.scores[kept[pairs]], None if village is None else village[pairs],
                problem.village_cap,
            )  # fmt: skip
    return _result(problem, kept, amounts)


def _flow(
    need_index: Ints,
    resource_index: Ints,
    all_quantity: Ints,
    all_capacity: Ints,
    scores: Floats,
    village: Ints | None,
    village_cap: int | None,
) -> Ints:
    """Units sent along each pair by the min-cost flow over these pairs (capacity -1:
    unlimited)."""
    from ortools.graph.python import min_cost_flow

    needs, need_index = np.unique(need_index, return_inverse=True)
    resources, resource_index = np.unique(resource_index, return_inverse=True)
    quantity = all_quantity[needs]
    demand = int(quantity.sum())
    capacity = all_capacity[resources]
    capacity = np.where(capacity < 0, demand, np.minimum(capacity, demand))
    source, sink = 0, 1
    need_node = 2 + np.arange(needs.size, dtype=np.int64)
    resource_node = 2 + needs.size + np.arange(resources.size, dtype=np.int64)
    next_node = 2 + needs.size + resources.size

    pair_start = resource_node[resource_index]
    extra: list[tuple[Ints, Ints, Ints]] = []
    if village is not None and village_cap is not None:
        keys, first_pair, key_index = np.unique(village, return_index=True, return_inverse=True)
        village_node = next_node + np.arange(keys.size, dtype=np.int64)
        pair_start = village_node[key_index]
        extra.append((
            resource_node[resource_index[first_pair]], village_node,
            np.full(keys.size, village_cap, dtype=np.int64),
        ))  # fmt: skip

    pair_quantity = quantity[need_index]
    pair_cost = -np.round(scores / pair_quantity * SCALE).astype(np.int64)
    parts = [
        (np.zeros(resources.size, np.int64), resource_node, capacity, np.zeros(resources.size)),
        (pair_start, need_node[need_index], pair_quantity, pair_cost),
        *((t, h, c, np.zeros(t.size)) for t, h, c in extra),
        (need_node, np.full(needs.size, sink, np.int64), quantity, np.zeros(needs.size)),
        # The bypass: units that would add nothing stay home.
        (np.array([source]), np.array([sink]), np.array([demand]), np.zeros(1)),
    ]
    tails, heads, caps, costs = (np.concatenate([p[i] for p in parts]) for i in range(4))
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64),
        costs.astype(np.int64),
    )  # fmt: skip
    flow.set_node_supply(source, demand)
    flow.set_node_supply(sink, -demand)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"allocation solver failed with status {status}")
    first = resources.size
    count = need_index.size
    return np.asarray(flow.flows(np.arange(first, first + count, dtype=np.int32)), np.int64)


def optimal_lp(problem: Problem) -> Allocation:
    """The same optimum as a linear programme (HiGHS simplex): a slower cross-check of
    ``optimal`` (the network matrix is totally unimodular, so the vertex found is integral)."""
    positive = problem.scores > 0
    kept = np.flatnonzero(positive)
    n = kept.size
    if n == 0:
        return Allocation((), 0.0)
    needs, need_index = np.unique(problem.need_ids[kept], return_inverse=True)
    resources, resource_index = np.unique(problem.resource_ids[kept], return_inverse=True)
    quantity = problem.quantities(needs)
    capacity = np.array(
        [np.inf if (c := problem.capacity[int(r)]) is None else c for r in resources]
    )
    columns = np.arange(n)
    rows = [need_index, needs.size + resource_index]
    bounds = [quantity.astype(np.float64), capacity]
    upper = np.minimum(quantity[need_index], capacity[resource_index])
    if problem.village_cap is not None:
        keys, key_index = np.unique(
            problem.village_keys(resource_index, positive), return_inverse=True
        )
        rows.append(needs.size + resources.size + key_index)
        bounds.append(np.full(keys.size, float(problem.village_cap)))
        upper = np.minimum(upper, problem.village_cap)
    b = np.concatenate(bounds)
    matrix = sp.csr_matrix(
        (np.ones(n * len(rows)), (np.concatenate(rows), np.tile(columns, len(rows)))),
        shape=(b.size, n),
    )
    finite = np.isfinite(b)
    per_unit = problem.scores[kept] / quantity[need_index]
    # A tiny preference for earlier pairs (sorted by need id, resource id) breaks ties the
    # same way every time; it is far below any real score difference.
    tie_break = 1e-9 * (1.0 - columns / n)
    result = linprog(
        c=-(per_unit + tie_break),
        A_ub=matrix[finite],
        b_ub=b[finite],
        bounds=np.column_stack([np.zeros(n), upper]),
        method="highs-ds",
    )
    if result.status != 0:
        raise RuntimeError(f"allocation solver failed: {result.message}")
    amounts = np.floor(result.x + 1e-6).astype(np.int64)
    return _result(problem, kept, amounts)
