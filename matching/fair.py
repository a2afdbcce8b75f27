"""Fair allocation: units shared among groups (villages or townships) before scores decide.

For each resource, every group's basis is its eligible open need: the units its needs with
positive points could take, counting each household's limit (less what it already holds) and
the per-village cap. The resource's units (at most the sum of the bases) are shared in
proportion to the bases by largest-remainder rounding, remainders tied by group key. Within the
shares the total score is maximised (phase 1); what a group cannot use flows on to the others,
again by maximum score (phase 2, the unused capacity over the needs still open). So a group gets
at least its share while it has an eligible need with room, and never more than it could use.

The result carries, per (resource, group), the basis, the share and the units given; the total
score of the fair result and of the unconstrained maximum; and for every eligible need left
without, the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from matching.allocation import (
    SOLVERS,
    Allocation,
    Ints,
    Network,
    Problem,
    _compose,
    network,
    result,
)

BELOW_CUT = "below_cut"  # other needs had more points
SHARE_USED = "share_used"  # its group's share was used; a need elsewhere with fewer points won
HOUSEHOLD_SERVED = "household_served"  # the household has reached the per-household limit
VILLAGE_CAP = "village_cap"  # the village has reached the cap per village


@dataclass(frozen=True)
class GroupShare:
    resource_id: int
    group: str
    basis: int  # eligible open need (units the group could take)
    share: int  # its proportional share, largest-remainder rounded
    given: int  # units the fair allocation gives it


@dataclass(frozen=True)
class Unserved:
    need_id: int
    resource_id: int  # the resource the reason refers to (the need's best candidate)
    reason: str  # BELOW_CUT, SHARE_USED, HOUSEHOLD_SERVED or VILLAGE_CAP


@dataclass(frozen=True, eq=False)
class Shares:
    """Per (resource, group) class, as columns in (resource id, group) order: a province has
    millions of them, a page shows one resource's."""

    resource_ids: Ints
    group_names: tuple[str, ...]  # the distinct groups, sorted
    group_index: Ints  # into group_names
    basis: Ints
    share: Ints
    given: Ints

    def rows(self, resource_id: int | None = None) -> tuple[GroupShare, ...]:
        chosen = np.flatnonzero(
            self.resource_ids == resource_id if resource_id is not None
            else np.ones(self.resource_ids.size, bool)
        )  # fmt: skip
        return tuple(
            GroupShare(int(self.resource_ids[c]), self.group_names[int(self.group_index[c])],
                       int(self.basis[c]), int(self.share[c]), int(self.given[c]))
            for c in chosen.tolist()
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shares) and self.rows() == other.rows()

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class FairAllocation:
    allocation: Allocation  # the fair result
    maximum: Allocation  # the unconstrained maximum-score result, same solver
    shares: Shares  # basis, share and units given per (resource, group)
    unserved: tuple[Unserved, ...]  # by need id

    @property
    def groups(self) -> tuple[GroupShare, ...]:
        """Every (resource, group) share as rows, by (resource id, group)."""
        return self.shares.rows()

    @property
    def score_lost(self) -> float:
        return round(self.maximum.total_score - self.allocation.total_score, 9)


def largest_remainder(total: int, basis: list[int], keys: list[str]) -> list[int]:
    """``total`` units in proportion to ``basis`` (total at most their sum): floors first, then
    one more to the largest remainders, ties by key."""
    whole = sum(basis)
    if whole == 0:
        return [0] * len(basis)
    floors = [total * b // whole for b in basis]
    remainders = [total * b % whole for b in basis]
    left = total - sum(floors)
    for i in sorted(range(len(basis)), key=lambda i: (-remainders[i], keys[i]))[:left]:
        floors[i] += 1
    return floors


def _basis(net: Network, pair_class: Ints) -> Ints:
    """Units each (resource, group) class could take: need quantities, capped by each level
    from the inside out (household room, then village cap)."""
    amount = net.quantity[net.need_index].astype(np.int64)
    first_pair = np.arange(net.kept.size, dtype=np.int64)  # a pair of each current class
    key = first_pair
    for level in reversed(net.levels):
        outer = level.key[first_pair]
        amount = np.minimum(np.bincount(outer, amount, level.cap.size).astype(np.int64),
                            level.cap)  # fmt: skip
        first_pair = _first_of(level.key)
        key = level.key
    if np.any(pair_class[first_pair][key] != pair_class):
        raise ValueError("a household or village spans groups")
    return np.bincount(pair_class[first_pair], amount, int(pair_class.max(initial=-1)) + 1).astype(
        np.int64
    )


def _shares(net: Network, basis: Ints, resource: Ints, group: Ints) -> Ints:
    """``largest_remainder`` for every resource at once: classes (resource, group) in order."""
    whole = np.bincount(resource, basis, net.resources.size).astype(np.int64)
    capacity = net.capacity
    total = np.where(capacity < 0, whole, np.minimum(capacity, whole))
    safe = np.maximum(whole, 1)
    product = total[resource] * basis
    floors = product // safe[resource]
    remainder = product % safe[resource]
    left = total - np.bincount(resource, floors, net.resources.size).astype(np.int64)
    order = np.lexsort((group, -remainder, resource))  # per resource: largest remainder first
    starts = np.searchsorted(resource[order], np.arange(net.resources.size))
    rank = np.empty(resource.size, np.int64)
    rank[order] = np.arange(resource.size) - starts[resource[order]]
    return floors + (rank < left[resource])


def _first_of(key: Ints) -> Ints:
    """The first pair of each class 0..k-1 of ``key``."""
    first = np.full(int(key.max(initial=-1)) + 1, -1, np.int64)
    first[key[::-1]] = np.arange(key.size - 1, -1, -1)
    return first


def fair(problem: Problem, group_of: Mapping[int, str], solver: str = "flow") -> FairAllocation:
    """Fair mode: shares per (resource, group) by eligible open need, the score maximised
    within them, unused shares passed on. ``group_of`` maps each need id to its group (a
    village or township code); ``solver`` is one of ``allocation.SOLVERS``."""
    solve = SOLVERS[solver]
    net = network(problem)
    maximum = result(problem, net, solve(net))
    names = sorted({group_of.get(int(n), "") for n in net.needs})
    number = {name: i for i, name in enumerate(names)}  # codes in the order of the keys
    group_code = np.array([number[group_of.get(int(n), "")] for n in net.needs], np.int64)
    group_code = group_code[net.need_index] if net.kept.size else np.zeros(0, np.int64)
    pair_class, first = _compose(net.resource_index, group_code)
    basis = _basis(net, pair_class) if net.kept.size else np.zeros(0, np.int64)
    share = _shares(net, basis, net.resource_index[first], group_code[first])
    amounts = np.zeros(net.kept.size, np.int64)
    # Phase 1 splits by group: a need lies in one group and each resource's units are already
    # shared out, so every (resource, group) class acts as a resource of its own capacity, and
    # the groups are independent small problems rather than one large one. Each phase solves
    # only the pairs that can still carry a unit: a village's share of most resources is 0,
    # and after phase 1 few resources and needs have room left.
    by_class = replace(net, resources=np.arange(basis.size, dtype=np.int64),
                       resource_index=pair_class, capacity=share)  # fmt: skip
    live = by_class.open_pairs()
    amounts[live] = solve(by_class.subset(live))
    left = net.after(amounts)
    live = left.open_pairs()
    amounts[live] += solve(left.subset(live))
    fair_result = result(problem, net, amounts)
    given = np.bincount(pair_class, amounts, basis.size).astype(np.int64)
    # classes are numbered by (resource index, group code): already in (resource id, group) order
    shares = Shares(net.resources[net.resource_index[first]], tuple(names), group_code[first],
                    basis, share, given)  # fmt: skip
    unserved = _reasons(problem, net, amounts, pair_class, share, given)
    return FairAllocation(fair_result, maximum, shares, unserved)


def _reasons(
    problem: Problem, net: Network, amounts: Ints, pair_class: Ints, share: Ints, given: Ints
) -> tuple[Unserved, ...]:
    """Why each eligible need left without got nothing, for its best candidate resource."""
    left = net.after(amounts)
    served_by_need = np.bincount(net.need_index, amounts, net.needs.size)
    # The lowest unit value given by each resource: a need above it lost to a share, not a cut.
    lowest = np.full(net.resources.size, np.iinfo(np.int64).max)
    given_pairs = amounts > 0
    np.minimum.at(lowest, net.resource_index[given_pairs], net.value[given_pairs])
    full = {lv.name: lv.cap[lv.key] <= 0 for lv in left.levels}
    household_full = full.get("household", np.zeros(net.kept.size, bool))
    village_full = full.get("village", np.zeros(net.kept.size, bool))
    # best candidate per need: highest value, then lowest resource id
    order = np.lexsort((net.resource_index, -net.value, net.need_index))
    best = np.full(net.needs.size, -1, np.int64)
    best[net.need_index[order[::-1]]] = order[::-1]
    count = np.bincount(net.need_index, minlength=net.needs.size)
    by_household = np.bincount(net.need_index, household_full, net.needs.size)
    by_either = np.bincount(net.need_index, household_full | village_full, net.needs.size)
    reasons = []
    for n in np.flatnonzero(served_by_need == 0).tolist():
        if by_household[n] == count[n]:
            reason = HOUSEHOLD_SERVED
        elif by_either[n] == count[n]:
            reason = VILLAGE_CAP
        else:
            p = int(best[n])
            r = int(net.resource_index[p])
            c = int(pair_class[p])
            won_lower = net.value[p] > lowest[r]
            reason = SHARE_USED if won_lower and given[c] >= share[c] else BELOW_CUT
        p = int(best[n])
        reasons.append(
            Unserved(int(net.needs[n]), int(net.resources[net.resource_index[p]]), reason)
        )
    return tuple(reasons)
