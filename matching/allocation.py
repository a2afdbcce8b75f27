"""Allocation of scarce resources: the set of matches with the greatest total score.

A need served in full counts its score; served in part, the matching share of it. Capacities
of resources, open quantities of needs and an optional cap per (resource, village) bound the
allocation. That is a min-cost flow (source -> resource -> resource x village -> need ->
sink); its constraint matrix is totally unimodular, so the linear programme solved by HiGHS's
simplex has an integral optimum, which is the optimal allocation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog


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


@dataclass(frozen=True)
class Problem:
    pairs: tuple[Pair, ...]
    need_quantity: Mapping[int, int]
    capacity: Mapping[int, int | None]  # None: unlimited
    village_of: Mapping[int, str]  # need id -> village code (for the per-village cap)
    village_cap: int | None = None

    def __post_init__(self) -> None:
        for p in self.pairs:
            if not 0.0 <= p.score <= 1.0:
                raise ValueError(f"score out of [0, 1] for pair {p}")
            if p.need_id not in self.need_quantity or p.resource_id not in self.capacity:
                raise ValueError(f"pair {p} names an unknown need or resource")
        if any(q < 0 for q in self.need_quantity.values()):
            raise ValueError("need quantities must be non-negative")
        if any(c is not None and c < 0 for c in self.capacity.values()):
            raise ValueError("capacities must be non-negative")
        if self.village_cap is not None and self.village_cap < 0:
            raise ValueError("the village cap must be non-negative")
        if len({(p.need_id, p.resource_id) for p in self.pairs}) != len(self.pairs):
            raise ValueError("each (need, resource) pair may appear once")


def _sorted_pairs(problem: Problem) -> list[Pair]:
    return sorted(problem.pairs, key=lambda p: (p.need_id, p.resource_id))


def _value(problem: Problem, assignments: Sequence[Assignment]) -> float:
    scores = {(p.need_id, p.resource_id): p.score for p in problem.pairs}
    return sum(
        scores[(a.need_id, a.resource_id)] * a.quantity / problem.need_quantity[a.need_id]
        for a in assignments
    )


def _finish(problem: Problem, assignments: list[Assignment]) -> Allocation:
    assignments.sort(key=lambda a: (a.need_id, a.resource_id))
    return Allocation(tuple(assignments), round(_value(problem, assignments), 9))


def greedy(problem: Problem) -> Allocation:
    """The baseline: best pairs first (ties by need id, then resource id), each as far as it
    fits."""
    need_left = dict(problem.need_quantity)
    cap_left = {r: (c if c is not None else None) for r, c in problem.capacity.items()}
    village_left: dict[tuple[int, str], int] = {}
    assignments: list[Assignment] = []
    for p in sorted(problem.pairs, key=lambda p: (-p.score, p.need_id, p.resource_id)):
        room = need_left[p.need_id]
        cap = cap_left[p.resource_id]
        if cap is not None:
            room = min(room, cap)
        if problem.village_cap is not None:
            key = (p.resource_id, problem.village_of.get(p.need_id, ""))
            room = min(room, village_left.setdefault(key, problem.village_cap))
        if room <= 0 or p.score <= 0:
            continue
        need_left[p.need_id] -= room
        if cap is not None:
            cap_left[p.resource_id] = cap - room
        if problem.village_cap is not None:
            village_left[(p.resource_id, problem.village_of.get(p.need_id, ""))] -= room
        assignments.append(Assignment(p.need_id, p.resource_id, room))
    return _finish(problem, assignments)


SCALE = 10**9  # scores to integer costs for the flow solver


def optimal(problem: Problem) -> Allocation:
    """Min-cost flow with OR-Tools: source -> resource [-> resource x village] -> need -> sink,
    plus a zero-cost bypass from source to sink so that no unit is sent where it adds nothing.
    Arcs are added in (need id, resource id) order, so the same data gives the same result."""
    from ortools.graph.python import min_cost_flow

    pairs = [p for p in _sorted_pairs(problem) if p.score > 0]
    if not pairs:
        return Allocation((), 0.0)
    need_ids = sorted({p.need_id for p in pairs})
    resource_ids = sorted({p.resource_id for p in pairs})
    demand = sum(problem.need_quantity[n] for n in need_ids)
    source, sink = 0, 1
    node_of_need = {n: 2 + i for i, n in enumerate(need_ids)}
    node_of_res = {r: 2 + len(need_ids) + i for i, r in enumerate(resource_ids)}
    next_node = 2 + len(need_ids) + len(resource_ids)
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []

    def arc(tail: int, head: int, capacity: int, cost: int) -> None:
        tails.append(tail)
        heads.append(head)
        caps.append(capacity)
        costs.append(cost)

    for r in resource_ids:
        cap = problem.capacity[r]
        arc(source, node_of_res[r], demand if cap is None else min(cap, demand), 0)
    village_node: dict[tuple[int, str], int] = {}
    first_pair_arc = len(tails)
    starts = []
    for p in pairs:
        start = node_of_res[p.resource_id]
        if problem.village_cap is not None:
            key = (p.resource_id, problem.village_of.get(p.need_id, ""))
            if key not in village_node:
                village_node[key] = next_node
                next_node += 1
            start = village_node[key]
        starts.append(start)
    for p, start in zip(pairs, starts, strict=True):
        quantity = problem.need_quantity[p.need_id]
        arc(start, node_of_need[p.need_id], quantity, -round(p.score / quantity * SCALE))
    for (resource_id, _village), node in village_node.items():
        arc(node_of_res[resource_id], node, problem.village_cap or 0, 0)
    for n in need_ids:
        arc(node_of_need[n], sink, problem.need_quantity[n], 0)
    arc(source, sink, demand, 0)  # the bypass: units that would add nothing stay home
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32), np.array(heads, dtype=np.int32),
        np.array(caps, dtype=np.int64), np.array(costs, dtype=np.int64),
    )  # fmt: skip
    flow.set_node_supply(source, demand)
    flow.set_node_supply(sink, -demand)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"allocation solver failed with status {status}")
    amounts = flow.flows(np.arange(first_pair_arc, first_pair_arc + len(pairs), dtype=np.int32))
    assignments = [
        Assignment(p.need_id, p.resource_id, int(q))
        for p, q in zip(pairs, amounts, strict=True)
        if q > 0
    ]
    return _finish(problem, assignments)


def optimal_lp(problem: Problem) -> Allocation:
    """The same optimum as a linear programme (HiGHS simplex): a slower cross-check of
    ``optimal`` (the network matrix is totally unimodular, so the vertex found is integral)."""
    pairs = [p for p in _sorted_pairs(problem) if p.score > 0]
    if not pairs:
        return Allocation((), 0.0)
    n = len(pairs)
    need_ids = sorted({p.need_id for p in pairs})
    resource_ids = sorted({p.resource_id for p in pairs})
    need_row = {nid: i for i, nid in enumerate(need_ids)}
    res_row = {rid: len(need_ids) + i for i, rid in enumerate(resource_ids)}
    rows, cols = [], []
    bounds_upper = np.empty(n)
    b = [float(problem.need_quantity[nid]) for nid in need_ids]
    for rid in resource_ids:
        cap = problem.capacity[rid]
        b.append(float(cap) if cap is not None else np.inf)
    village_row: dict[tuple[int, str], int] = {}
    for j, p in enumerate(pairs):
        rows += [need_row[p.need_id], res_row[p.resource_id]]
        cols += [j, j]
        cap = problem.capacity[p.resource_id]
        upper = problem.need_quantity[p.need_id]
        if cap is not None:
            upper = min(upper, cap)
        if problem.village_cap is not None:
            key = (p.resource_id, problem.village_of.get(p.need_id, ""))
            if key not in village_row:
                village_row[key] = len(b)
                b.append(float(problem.village_cap))
            rows.append(village_row[key])
            cols.append(j)
            upper = min(upper, problem.village_cap)
        bounds_upper[j] = upper
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(b), n))
    finite = np.isfinite(b)
    per_unit = np.array([p.score / problem.need_quantity[p.need_id] for p in pairs])
    # A tiny preference for earlier pairs (sorted by need id, resource id) breaks ties the
    # same way every time; it is far below any real score difference.
    tie_break = 1e-9 * (1.0 - np.arange(n) / n)
    result = linprog(
        c=-(per_unit + tie_break),
        A_ub=matrix[finite],
        b_ub=np.asarray(b)[finite],
        bounds=np.column_stack([np.zeros(n), bounds_upper]),
        method="highs-ds",
    )
    if result.status != 0:
        raise RuntimeError(f"allocation solver failed: {result.message}")
    quantities = np.floor(result.x + 1e-6).astype(int)
    assignments = [
        Assignment(p.need_id, p.resource_id, int(q))
        for p, q in zip(pairs, quantities, strict=True)
        if q > 0
    ]
    return _finish(problem, assignments)
