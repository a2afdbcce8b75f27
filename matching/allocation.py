"""Allocation of scarce resources: the set of matches with the greatest total score.

A need served in full counts its points; served in part, the matching share of them. Capacities
of resources, open quantities of needs, a limit per (resource, household) and an optional cap
per (resource, village) bound the allocation. That is a min-cost flow (source -> resource
[-> resource x village] [-> resource x household] -> need -> sink), solved with OR-Tools; its
constraint matrix is totally unimodular, so the linear programme (HiGHS, kept as a
cross-check) has the same integral optimum. ``matching.fair`` adds shares per village or
township on top.

Exact, published ties: scores count as integer points out of ``POINTS``; one unit given to a
need of open quantity q is worth points x L / q, L the least common multiple of the quantities
(at most ``MAX_DENOMINATOR``, beyond which the unit value is rounded). Among allocations of equal
value every solver takes the one that serves the lowest need ids first: the solvers' integer
objective is value x K + w, where w falls with the need id and K exceeds any total of w, so
the tie-break is lexicographic and no solver tolerance can perturb it.

Candidate pairs travel as three numpy columns (need id, resource id, score): at two million
pairs, Python objects per pair would cost more than the solver.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]

POINTS = 10_000  # a score in [0, 1] is a whole number of points out of this
MAX_DENOMINATOR = 2520  # lcm(1..10): unit values are exact for open quantities dividing it


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
    """Candidate pairs as columns, sorted by (need id, resource id), with the bounds.

    ``household_of`` names each need's household (absent or None: a village-wide need, its
    own unit); ``per_household`` the most units of a resource one household may receive
    (absent or None: no limit), counting ``held``, the units each (household id, resource id)
    already holds in live matches. ``points``, if given, are the pairs' integer points (else
    the scores rounded to points)."""

    need_ids: Ints
    resource_ids: Ints
    scores: Floats
    need_quantity: Mapping[int, int]
    capacity: Mapping[int, int | None]  # None: unlimited
    village_of: Mapping[int, str]  # need id -> village code (for the per-village cap)
    village_cap: int | None = None
    household_of: Mapping[int, int | None] = field(default_factory=dict)
    per_household: Mapping[int, int | None] = field(default_factory=dict)
    held: Mapping[tuple[int, int], int] = field(default_factory=dict)
    points: Ints | None = None

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
        if bounds.get("points") is not None:
            points = np.asarray(bounds["points"], dtype=np.int64)
            if points.shape != need_ids.shape:
                raise ValueError("points must be a column as long as the pairs")
            bounds["points"] = points[order]
        return cls(need_ids[order], resource_ids[order], scores[order], **bounds)

    def __post_init__(self) -> None:
        if self.scores.size and not (np.all(self.scores >= 0.0) and np.all(self.scores <= 1.0)):
            raise ValueError("scores must lie in [0, 1]")
        if (
            self.points is not None
            and self.points.size
            and not (np.all(self.points >= 0) and np.all(self.points <= POINTS))
        ):
            raise ValueError(f"points must lie in [0, {POINTS}]")
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
        if any(c is not None and c < 0 for c in self.per_household.values()):
            raise ValueError("per-household limits must be non-negative")
        if any(h < 0 for h in self.held.values()):
            raise ValueError("units held must be non-negative")
        same = (self.need_ids[1:] == self.need_ids[:-1]) & (
            self.resource_ids[1:] == self.resource_ids[:-1]
        )
        if np.any(np.diff(self.need_ids) < 0) or np.any(same):
            raise ValueError("pairs must be sorted and each (need, resource) may appear once")
        if self.village_cap is not None:
            village: dict[int, str] = {}
            for n, h in self.household_of.items():
                if h is not None and village.setdefault(h, self.village_of.get(n, "")) != (
                    self.village_of.get(n, "")
                ):
                    raise ValueError("a household's needs must lie in one village")

    @cached_property
    def pairs(self) -> tuple[Pair, ...]:
        return tuple(
            Pair(int(n), int(r), float(s))
            for n, r, s in zip(self.need_ids, self.resource_ids, self.scores, strict=True)
        )

    @cached_property
    def pair_points(self) -> Ints:
        """Each pair's integer points: equal points are an exact tie."""
        if self.points is not None:
            return self.points
        return np.rint(self.scores * POINTS).astype(np.int64)

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


# --- the network every solver works on -----------------------------------------------------


@dataclass(frozen=True, eq=False)
class Level:
    """A nested bound: ``key`` gives each kept pair's class (0..k-1), ``cap`` the most units
    each class may receive. Keys of an inner level refine the outer ones (same resource)."""

    name: str  # "group", "village" or "household"
    key: Ints
    cap: Ints


@dataclass(frozen=True, eq=False)
class Network:
    """The kept pairs (positive points) of a problem, indexed, with integer unit values."""

    kept: Index  # positions in the problem's pair columns
    needs: Ints  # need ids, ascending
    resources: Ints  # resource ids, ascending
    need_index: Ints  # per kept pair
    resource_index: Ints  # per kept pair
    quantity: Ints  # per need: units still wanted
    capacity: Ints  # per resource: units left (-1: unlimited)
    value: Ints  # per kept pair: one unit's value, points x L / q
    levels: tuple[Level, ...]

    def with_level(self, name: str, codes: Ints, caps: Ints) -> Network:
        """A new outermost level: ``codes`` (per kept pair) under each resource, capped."""
        key, _ = _compose(self.resource_index, codes)
        levels = [Level(name, key, caps)]
        parent = key
        for level in self.levels:
            inner, first = _compose(parent, level.key)
            levels.append(Level(level.name, inner, level.cap[level.key[first]]))
            parent = inner
        return replace(self, levels=tuple(levels))

    def without(self, name: str) -> Network:
        return replace(self, levels=tuple(lv for lv in self.levels if lv.name != name))

    def subset(self, pairs: Index) -> Network:
        """The network over ``pairs`` only (positions into the kept pairs, ascending): needs,
        resources and classes renumbered in the same order. Pairs that can carry no unit may be
        left out without changing any optimum, and the solvers' work shrinks with them."""
        needs, need_index = np.unique(self.need_index[pairs], return_inverse=True)
        resources, resource_index = np.unique(self.resource_index[pairs], return_inverse=True)
        levels = []
        for level in self.levels:
            classes, key = np.unique(level.key[pairs], return_inverse=True)
            levels.append(Level(level.name, key.astype(np.int64), level.cap[classes]))
        return Network(self.kept[pairs], self.needs[needs], self.resources[resources],
                       need_index.astype(np.int64), resource_index.astype(np.int64),
                       self.quantity[needs], self.capacity[resources], self.value[pairs],
                       tuple(levels))  # fmt: skip

    def open_pairs(self) -> Index:
        """The pairs that can still carry a unit: need, resource and every class with room."""
        room = (self.quantity[self.need_index] > 0) & (self.capacity[self.resource_index] != 0)
        for level in self.levels:
            room &= level.cap[level.key] > 0
        return np.flatnonzero(room)

    def after(self, amounts: Ints) -> Network:
        """What is left once ``amounts`` (per kept pair) are given."""
        quantity = self.quantity - np.bincount(self.need_index, amounts, self.needs.size).astype(
            np.int64
        )
        used = np.bincount(self.resource_index, amounts, self.resources.size).astype(np.int64)
        capacity = np.where(self.capacity < 0, -1, self.capacity - used)
        levels = tuple(
            Level(lv.name, lv.key, lv.cap - np.bincount(lv.key, amounts, lv.cap.size).astype(
                np.int64))
            for lv in self.levels
        )  # fmt: skip
        return replace(self, quantity=quantity, capacity=capacity, levels=levels)


def _compose(parent: Ints, codes: Ints) -> tuple[Ints, Index]:
    """Classes of (parent, code), numbered in order; and the first pair of each class."""
    if parent.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.intp)
    combined = parent * (int(codes.max()) + 1) + codes
    _keys, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64), first.astype(np.intp)


def _codes(values: Iterable[object]) -> Ints:
    """Small integers for hashable values, numbered by first appearance."""
    seen: dict[object, int] = {}
    return np.fromiter((seen.setdefault(v, len(seen)) for v in values), np.int64)


def network(problem: Problem) -> Network:
    points = problem.pair_points
    kept = np.flatnonzero(points > 0)
    need_ids = problem.need_ids[kept]
    needs, need_index = np.unique(need_ids, return_inverse=True)
    resources, resource_index = np.unique(problem.resource_ids[kept], return_inverse=True)
    need_index = need_index.astype(np.int64)
    resource_index = resource_index.astype(np.int64)
    quantity = problem.quantities(needs)
    capacity = np.array(
        [-1 if (c := problem.capacity[int(r)]) is None else c for r in resources], dtype=np.int64
    )
    wanted = quantity[need_index]
    lcm = math.lcm(*(int(q) for q in np.unique(quantity[quantity > 0]))) if kept.size else 1
    if lcm <= MAX_DENOMINATOR:
        value = points[kept] * (lcm // np.maximum(wanted, 1))
    else:
        value = np.rint(points[kept] * MAX_DENOMINATOR / np.maximum(wanted, 1)).astype(np.int64)
    levels: list[Level] = []
    parent = resource_index
    if problem.village_cap is not None:
        village = _codes(problem.village_of.get(int(n), "") for n in needs)[need_index]
        key, _ = _compose(parent, village)
        levels.append(Level("village", key, np.full(int(key.max(initial=-1)) + 1,
                                                    problem.village_cap, np.int64)))  # fmt: skip
        parent = key
    limit = np.array(
        [-1 if (c := problem.per_household.get(int(r))) is None else c for r in resources],
        dtype=np.int64,
    )
    if np.any(limit >= 0):
        limited = limit[resource_index] >= 0
        household = np.array(
            [-1 if (h := problem.household_of.get(int(n))) is None else h for n in needs],
            dtype=np.int64,
        )
        # A village-wide need is its own unit; a pair of an unlimited resource its own class.
        need_unit = _codes((("h", int(h)) if h >= 0 else ("n", i))
                           for i, h in enumerate(household.tolist()))  # fmt: skip
        unit = np.where(
            limited, need_unit[need_index], need_unit.size + np.arange(kept.size, dtype=np.int64)
        )
        key, first = _compose(parent, unit)
        first_resource = resource_index[first]
        first_household = household[need_index[first]]
        held = np.zeros(first.size, np.int64)
        if problem.held:
            span = int(resources.max()) + 1
            listed = [(h * span + r, v) for (h, r), v in problem.held.items() if 0 <= r < span]
            if listed:
                codes = np.array([c for c, _v in listed], np.int64)
                amounts = np.array([v for _c, v in listed], np.int64)
                order = np.argsort(codes)
                codes, amounts = codes[order], amounts[order]
                wanted_code = first_household * span + resources[first_resource]
                at = np.clip(np.searchsorted(codes, wanted_code), 0, codes.size - 1)
                found = (codes[at] == wanted_code) & (first_household >= 0)
                held = np.where(found, amounts[at], 0)
        lim = limit[first_resource]
        room = np.where(lim < 0, wanted[first], np.maximum(lim - held, 0))
        levels.append(Level("household", key, room.astype(np.int64)))
    return Network(kept, needs, resources, need_index, resource_index, quantity, capacity,
                   value.astype(np.int64), tuple(levels))  # fmt: skip


def _tie_weights(net: Network, pairs: Index) -> tuple[Ints, Ints]:
    """Per pair of ``pairs``: the tie weight w (lower need id within its connected part: higher)
    and per pair the K of its part (above any total of w there)."""
    need_index = net.need_index[pairs]
    resource_index = net.resource_index[pairs]
    needs, local = np.unique(need_index, return_inverse=True)
    resources, local_r = np.unique(resource_index, return_inverse=True)
    graph = sp.coo_matrix(
        (np.ones(pairs.size), (local, needs.size + local_r)),
        shape=(needs.size + resources.size,) * 2,
    )
    _count, labels = connected_components(graph, directed=False)
    need_label = labels[: needs.size]
    # needs are in id order; rank within the part by a stable sort on the label
    order = np.argsort(need_label, kind="stable")
    sizes = np.bincount(need_label)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(needs.size, np.int64)
    rank[order] = np.arange(needs.size) - starts[need_label[order]]
    weight = sizes[need_label] - rank  # 1 .. size
    demand = np.bincount(need_label, net.quantity[needs], sizes.size)
    part_k = demand.astype(np.int64) * sizes + 1
    return weight[local].astype(np.int64), part_k[need_label[local]].astype(np.int64)


# --- the solvers: units per kept pair ------------------------------------------------------


def _greedy_amounts(net: Network) -> Ints:
    """Best unit values first (ties by need id, then resource id), each as far as it fits."""
    order = np.lexsort((net.resource_index, net.need_index, -net.value))
    need_left = net.quantity.tolist()
    unlimited = int(net.quantity.sum()) + 1
    cap_left = np.where(net.capacity < 0, unlimited, net.capacity).tolist()
    level_left = [lv.cap.tolist() for lv in net.levels]
    level_key = [lv.key[order].tolist() for lv in net.levels]
    amounts = np.zeros(net.kept.size, dtype=np.int64)
    needs = net.need_index[order].tolist()
    resources = net.resource_index[order].tolist()
    for position, (n, r) in enumerate(zip(needs, resources, strict=True)):
        room = min(need_left[n], cap_left[r])
        for left, keys in zip(level_left, level_key, strict=True):
            room = min(room, left[keys[position]])
        if room <= 0:
            continue
        need_left[n] -= room
        cap_left[r] -= room
        for left, keys in zip(level_left, level_key, strict=True):
            left[keys[position]] -= room
        amounts[order[position]] = room
    return amounts


# Independent parts of the problem (no need or resource in common) are solved one batch at a
# time: the solver's work grows faster than the problem, and a province splits into counties.
BATCH_PAIRS = 5_000  # measured at 100k x 10k: 5,000 beat 20,000 by about 12 % (fair and maximum)
COST_LIMIT = 2**62  # OR-Tools multiplies costs by the node count: keep far from overflow


def _flow_amounts(net: Network) -> Ints:
    """Min-cost flow with OR-Tools, one batch of connected parts at a time."""
    amounts = np.zeros(net.kept.size, dtype=np.int64)
    if net.kept.size == 0:
        return amounts
    graph = sp.coo_matrix(
        (np.ones(net.kept.size), (net.need_index, net.needs.size + net.resource_index)),
        shape=(net.needs.size + net.resources.size,) * 2,
    )
    _count, labels = connected_components(graph, directed=False)
    part = labels[net.need_index]
    by_part = np.argsort(part, kind="stable")  # pairs grouped by part, in their order inside
    bounds = np.flatnonzero(np.diff(part[by_part])) + 1
    batch: list[Index] = []
    batched = 0
    groups = np.split(by_part, bounds)
    for number, group in enumerate(groups):
        batch.append(group)
        batched += group.size
        if batched >= BATCH_PAIRS or number == len(groups) - 1:
            pairs = np.sort(np.concatenate(batch))
            batch, batched = [], 0
            amounts[pairs] = _flow(net, pairs)
    return amounts


def _costs(net: Network, pairs: Index, nodes: int) -> Ints:
    """Integer costs -(value x K + w) for ``pairs``: lexicographic ties by need id."""
    weight, part_k = _tie_weights(net, pairs)
    big = int(part_k.max())
    value = net.value[pairs]
    if (int(value.max()) * big + int(weight.max())) * (nodes + 1) >= COST_LIMIT:
        # Too large a part for an exact tie-break in 64 bits: value alone (ties then follow
        # the canonical arc order, still the same for the same data).
        return -value
    return -(value * big + weight)


def _flow(net: Network, pairs: Index) -> Ints:
    """Units sent along each of ``pairs`` by the min-cost flow over them."""
    from ortools.graph.python import min_cost_flow

    needs, need_index = np.unique(net.need_index[pairs], return_inverse=True)
    resources, resource_index = np.unique(net.resource_index[pairs], return_inverse=True)
    quantity = net.quantity[needs]
    demand = int(quantity.sum())
    capacity = net.capacity[resources]
    capacity = np.where(capacity < 0, demand, np.minimum(capacity, demand))
    source, sink = 0, 1
    need_node = 2 + np.arange(needs.size, dtype=np.int64)
    resource_node = 2 + needs.size + np.arange(resources.size, dtype=np.int64)
    next_node = 2 + needs.size + resources.size

    parent = resource_node[resource_index]
    pair_cap = quantity[need_index]
    extra: list[tuple[Ints, Ints, Ints]] = []
    for level in net.levels:
        keys, first, inverse, counts = np.unique(
            level.key[pairs], return_index=True, return_inverse=True, return_counts=True
        )
        key_cap = np.clip(level.cap[keys], 0, demand)
        # A class of one pair needs no node: its cap bounds the pair's arc.
        single = counts[inverse] == 1
        pair_cap = np.where(single, np.minimum(pair_cap, key_cap[inverse]), pair_cap)
        multi = np.flatnonzero(counts > 1)
        node_of = np.full(keys.size, -1, np.int64)
        node_of[multi] = next_node + np.arange(multi.size)
        extra.append((parent[first[multi]], node_of[multi], key_cap[multi]))
        parent = np.where(single, parent, node_of[inverse])
        next_node += multi.size

    pair_cost = _costs(net, pairs, next_node)
    parts = [
        (np.full(resources.size, source, np.int64), resource_node, capacity,
         np.zeros(resources.size, np.int64)),
        *((t, h, c, np.zeros(t.size, np.int64)) for t, h, c in extra),
        (parent, need_node[need_index], pair_cap, pair_cost),
        (need_node, np.full(needs.size, sink, np.int64), quantity, np.zeros(needs.size, np.int64)),
        # The bypass: units that would add nothing stay home.
        (np.array([source]), np.array([sink]), np.array([demand]), np.zeros(1, np.int64)),
    ]  # fmt: skip
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
    first_pair = resources.size + sum(t.size for t, _h, _c in extra)
    arcs = np.arange(first_pair, first_pair + pairs.size, dtype=np.int32)
    return np.asarray(flow.flows(arcs), np.int64)


def _lp_amounts(net: Network) -> Ints:
    """The same optimum as a linear programme (HiGHS dual simplex): integer costs on a network
    matrix, so every reduced cost is a whole number and tolerances cannot flip a tie."""
    n = net.kept.size
    if n == 0:
        return np.zeros(0, np.int64)
    columns = np.arange(n)
    capacity = np.where(net.capacity < 0, np.inf, net.capacity.astype(np.float64))
    rows = [net.need_index, net.needs.size + net.resource_index]
    bounds = [net.quantity.astype(np.float64), capacity]
    upper = np.minimum(net.quantity[net.need_index], capacity[net.resource_index])
    offset = net.needs.size + net.resources.size
    for level in net.levels:
        rows.append(offset + level.key)
        bounds.append(level.cap.astype(np.float64))
        upper = np.minimum(upper, level.cap[level.key])
        offset += level.cap.size
    b = np.concatenate(bounds)
    matrix = sp.csr_matrix(
        (np.ones(n * len(rows)), (np.concatenate(rows), np.tile(columns, len(rows)))),
        shape=(b.size, n),
    )
    from scipy.optimize import linprog  # the cross-check only: not imported at start-up

    finite = np.isfinite(b)
    all_pairs = np.arange(n, dtype=np.intp)
    cost = _costs(net, all_pairs, 0)
    if float(np.abs(cost).max()) * n >= 2.0**52:  # beyond exact doubles: value alone
        cost = -net.value
    result = linprog(
        c=cost.astype(np.float64),
        A_ub=matrix[finite],
        b_ub=b[finite],
        bounds=np.column_stack([np.zeros(n), upper]),
        method="highs-ds",
    )
    if result.status != 0:
        raise RuntimeError(f"allocation solver failed: {result.message}")
    x: Floats = np.asarray(result.x, dtype=np.float64)
    return np.floor(x + 1e-6).astype(np.int64)


SOLVERS: dict[str, Callable[[Network], Ints]] = {
    "flow": _flow_amounts,
    "lp": _lp_amounts,
    "greedy": _greedy_amounts,
}


def result(problem: Problem, net: Network, amounts: Ints) -> Allocation:
    """Assignments in (need id, resource id) order and their total score (points / POINTS)."""
    served = amounts > 0
    index = net.kept[served]
    quantity = amounts[served]
    need_ids = problem.need_ids[index]
    wanted = problem.quantities(need_ids)
    points = problem.pair_points[index]
    total = float(np.sum(points * quantity / wanted)) / POINTS if index.size else 0.0
    assignments = tuple(
        Assignment(int(n), int(r), int(q))
        for n, r, q in zip(need_ids, problem.resource_ids[index], quantity, strict=True)
    )
    return Allocation(assignments, round(total, 9))


def solve(problem: Problem, solver: str = "flow") -> Allocation:
    """The allocation of ``problem`` by one of ``SOLVERS`` ("flow", "lp", "greedy")."""
    net = network(problem)
    return result(problem, net, SOLVERS[solver](net))


def greedy(problem: Problem) -> Allocation:
    """The baseline: best pairs first (ties by need id, then resource id), each as far as it
    fits."""
    return solve(problem, "greedy")


def optimal(problem: Problem) -> Allocation:
    """Min-cost flow with OR-Tools: source -> resource [-> resource x village] [-> resource x
    household] -> need -> sink, plus a zero-cost bypass from source to sink so that no unit is
    sent where it adds nothing. Among optima, the lowest need ids are served first."""
    return solve(problem, "flow")


def optimal_lp(problem: Problem) -> Allocation:
    """The same optimum as a linear programme (HiGHS simplex): a slower cross-check of
    ``optimal`` (the network matrix is totally unimodular, so the vertex found is integral)."""
    return solve(problem, "lp")
