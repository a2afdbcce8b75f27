"""In-memory, array-backed indexes for suggestions at provincial scale.

``NeedIndex`` answers "best needs for this resource" over up to millions of open needs;
``ResourceIndex`` answers "best resources for this need". Both apply the hard constraints and
the scoring of ``matching.scoring`` with numpy over whole columns, add rows one at a time (a
new need does not rebuild anything), and give exactly the ranking of ``matching.rank``: the
same integer points (the contributions are the same float operations, added in the same
order), ties by lowest id. Text similarity is computed only for candidates that could still
reach the top once it is added, which is exact because its weight bounds what it can
contribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import scipy.sparse as sp

from matching import text
from matching.constraints import able_to_work
from matching.model import NeedView, ResourceView
from matching.scoring import (
    COMPONENTS,
    DISTANCE_SCALE_KM,
    EARTH_RADIUS_KM,
    TEXT_FLOOR,
    TEXT_SATURATION,
    WAITING_FULL_DAYS,
    Scored,
    Weights,
    prior_aid_component,
    score,
    urgency_component,
    waiting_component,
)

STATUSES = {"poor": 0, "exited": 1, "monitored": 2}
CAUSES = {c: i for i, c in enumerate(["illness", "disability", "schooling", "disaster", "land",
                                      "water", "skills", "labour", "capital", "transport",
                                      "drive"])}  # fmt: skip
LEVELS = 5  # province, city, county, township, village
BLOCK = 65536


def _path_codes(path: str) -> list[int]:
    codes = [int(c) for c in path.split("/") if c]
    return codes + [-1] * (LEVELS - len(codes))


def _quantize(values: np.ndarray) -> np.ndarray:
    """``scoring.quantize``, element by element."""
    result: np.ndarray = np.floor(values * 1e6 + 0.5) / 1e6
    return result


def _cause_bits(causes: Sequence[str]) -> int:
    bits = 0
    for cause in causes:
        if cause in CAUSES:
            bits |= 1 << CAUSES[cause]
    return bits


def _km(
    lat: np.ndarray, lng: np.ndarray, centre_lat: np.ndarray, centre_lng: np.ndarray
) -> np.ndarray:
    """Haversine distances, in the scorer's argument order so that the figures agree exactly."""
    p1, p2 = np.radians(lat), np.radians(centre_lat)
    a = (np.sin((p2 - p1) / 2) ** 2
         + np.cos(p1) * np.cos(p2) * np.sin(np.radians(centre_lng - lng) / 2) ** 2)  # fmt: skip
    km: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(np.nan_to_num(a))))
    return km


Values = dict[str, "np.ndarray | float"]


def _points(values: Values, factors: dict[str, float], skip: str = "") -> np.ndarray:
    """Each row's exact total in points, added in the scorer's order (so the same float), and
    rounded half up as the scorer rounds it; ``skip`` leaves one component out (a bound)."""
    total: np.ndarray | float = 0.0
    for name in COMPONENTS:
        if name != skip:
            total = total + factors[name] * values[name]
    if skip:
        return np.asarray(total, dtype=np.float64)
    return np.floor(np.asarray(total, dtype=np.float64) + 0.5).astype(np.int64)


def _text_values(sims: np.ndarray) -> np.ndarray:
    """``scoring.text_value`` over an array (in float64, as the scorer computes it)."""
    clipped = np.clip(sims.astype(np.float64), 0.0, 1.0)
    value: np.ndarray = np.minimum(
        np.maximum((clipped - TEXT_FLOOR) / (TEXT_SATURATION - TEXT_FLOOR), 0.0), 1.0
    )
    return value


def _finalists(partial: np.ndarray, text_factor: float, limit: int) -> np.ndarray:
    """Rows that can still reach the top ``limit`` in points once text (at most text_factor
    points) is added: a row's rounded total is at most partial + text_factor + 0.5, and the
    limit-th's at least its partial - 0.5."""
    k = min(limit, partial.size)
    kth = -np.partition(-partial, k - 1)[k - 1]
    keep: np.ndarray = partial + text_factor >= kth - 1.0 - 1e-6
    return keep


def _status_table(statuses: Sequence[str]) -> np.ndarray:
    """Status number to "is one of these"; the last entry (index -1) is no household."""
    table = np.zeros(len(STATUSES) + 1, dtype=bool)
    table[[STATUSES[s] for s in statuses if s in STATUSES]] = True
    return table


class _Columns:
    """Growable numpy columns (amortised doubling)."""

    def __init__(self, spec: dict[str, np.dtype]) -> None:
        self.size = 0
        self._capacity = 1024
        self.cols = {name: np.zeros(self._capacity, dtype=dt) for name, dt in spec.items()}

    def append(self, values: dict[str, object]) -> int:
        if self.size == self._capacity:
            self._capacity *= 2
            for name, col in self.cols.items():
                grown = np.zeros(self._capacity, dtype=col.dtype)
                grown[: self.size] = col[: self.size]
                self.cols[name] = grown
        row = self.size
        for name, value in values.items():
            self.cols[name][row] = value
        self.size += 1
        return row

    def __getitem__(self, name: str) -> np.ndarray:
        column: np.ndarray = self.cols[name][: self.size]
        return column

    def copy(self) -> _Columns:
        other = _Columns.__new__(_Columns)
        other.size, other._capacity = self.size, self._capacity
        other.cols = {name: col.copy() for name, col in self.cols.items()}
        return other


class NeedIndex:
    def __init__(self) -> None:
        spec: dict[str, np.dtype] = {"id": np.dtype(np.int64), "open": np.dtype(np.int32),
                "urgency": np.dtype(np.int8), "waiting": np.dtype(np.int32),
                "prior": np.dtype(np.int32), "status": np.dtype(np.int8),
                "causes": np.dtype(np.int32), "lat": np.dtype(np.float64),
                "lng": np.dtype(np.float64), "alive": np.dtype(np.bool_),
                "no_labour": np.dtype(np.bool_)}  # fmt: skip
        spec.update({f"code{i}": np.dtype(np.int64) for i in range(LEVELS)})
        self._cols = _Columns(spec)
        self._category: list[str] = []
        self._subcategory: list[str] = []
        self._cat_codes: dict[str, int] = {}
        self._cat = np.zeros(0, dtype=np.int32)
        self._sub = np.zeros(0, dtype=np.int32)
        self._views: list[NeedView] = []
        self._row_of: dict[int, int] = {}
        # Encoded texts in blocks of BLOCK rows; the last block grows as needs arrive.
        self._blocks: list[sp.csr_matrix] = []
        self._pending: list[sp.csr_matrix] = []

    def __len__(self) -> int:
        return int(self._cols["alive"].sum())

    def _code(self, name: str) -> int:
        return self._cat_codes.setdefault(name, len(self._cat_codes))

    def add(self, need: NeedView) -> None:
        """Add or replace one need (replacing retires the old row)."""
        if self._append(need):
            self._add_texts(text.encode([need.text]))

    def add_many(self, needs: Sequence[NeedView]) -> None:
        """Bulk load: the same as adding one by one, with the texts encoded together."""
        added = [need for need in needs if self._append(need)]
        if added:
            self._add_texts(text.encode([n.text for n in added]))

    def _add_texts(self, encoded: sp.csr_matrix) -> None:
        pending = sp.vstack([*self._pending, encoded], format="csr")
        while pending.shape[0] >= BLOCK:
            self._blocks.append(pending[:BLOCK])
            pending = pending[BLOCK:]
        self._pending = [pending] if pending.shape[0] else []

    def _append(self, need: NeedView) -> bool:
        if need.id in self._row_of:
            self.remove(need.id)
        if not need.verified or need.open_quantity <= 0:
            return False
        codes = _path_codes(need.village_path)
        row = self._cols.append({
            "id": need.id, "open": need.open_quantity, "urgency": need.urgency,
            "waiting": need.days_waiting, "prior": need.prior_aid,
            "status": STATUSES.get(need.household_status or "", -1),
            "causes": _cause_bits(need.household_causes),
            "lat": np.nan if need.lat is None else need.lat,
            "lng": np.nan if need.lng is None else need.lng, "alive": True,
            "no_labour": not able_to_work(need),
            **{f"code{i}": codes[i] for i in range(LEVELS)},
        })  # fmt: skip
        if row >= len(self._cat):
            self._cat = np.resize(self._cat, max(2 * len(self._cat), 1024))
            self._sub = np.resize(self._sub, len(self._cat))
        self._cat[row] = self._code(need.category)
        self._sub[row] = self._code(need.subcategory)
        self._views.append(need)
        self._row_of[need.id] = row
        return True

    def _text_block(self, block: int) -> sp.csr_matrix:
        if block < len(self._blocks):
            return self._blocks[block]
        return self._pending[0]

    def _similarities(self, query: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
        sims = np.zeros(rows.size)
        blocks = rows // BLOCK
        for block in np.unique(blocks):
            where = blocks == block
            matrix = self._text_block(int(block))[rows[where] - block * BLOCK]
            sims[where] = text.similarities(query, matrix)
        return sims

    def remove(self, need_id: int) -> None:
        row = self._row_of.pop(need_id, None)
        if row is not None:
            self._cols.cols["alive"][row] = False

    def _candidates(self, resource: ResourceView, today: date) -> np.ndarray:
        n = self._cols.size
        if n == 0 or not (resource.active and resource.organization_verified):
            return np.zeros(0, dtype=np.int64)
        if not resource.valid_from <= today <= resource.valid_until:
            return np.zeros(0, dtype=np.int64)
        if resource.remaining is not None and resource.remaining <= 0:
            return np.zeros(0, dtype=np.int64)
        # The service area first (it keeps a county or a township out of the province), then
        # the other constraints over the rows left.
        area = np.zeros(n, dtype=bool)
        for path in resource.service_paths:
            codes = [int(c) for c in path.split("/") if c]
            if codes:
                area |= self._cols[f"code{len(codes) - 1}"] == codes[-1]
        rows = np.flatnonzero(area & self._cols["alive"])
        covered = self._lookup(resource.categories)
        mask = covered[self._cat[rows]] | covered[self._sub[rows]]
        if resource.eligible_statuses:
            mask &= _status_table(resource.eligible_statuses)[self._cols["status"][rows]]
        if resource.eligible_causes:
            mask &= (self._cols["causes"][rows] & _cause_bits(resource.eligible_causes)) != 0
        if resource.labour_required:
            mask &= ~self._cols["no_labour"][rows]
        kept: np.ndarray = rows[mask]
        return kept

    def _lookup(self, codes: Sequence[str]) -> np.ndarray:
        """A table from category number to "is one of these codes", for a gather per row."""
        table = np.zeros(len(self._cat_codes) + 1, dtype=bool)
        table[[self._cat_codes[c] for c in codes if c in self._cat_codes]] = True
        return table

    def top(
        self, resource: ResourceView, weights: Weights, today: date, limit: int
    ) -> list[Scored]:
        rows = self._candidates(resource, today)
        if rows.size == 0:
            return []
        factors = weights.factors()
        c = self._cols
        open_q = c["open"][rows].astype(np.float64)
        status, causes = c["status"][rows], c["causes"][rows]
        values: Values = {
            "category": np.where(self._lookup(resource.categories)[self._sub[rows]], 1.0, 0.6),
            "location": self._location(resource, rows),
            "urgency": (np.clip(c["urgency"][rows], 1, 3) - 1) / 2,
            "waiting": np.minimum(np.maximum(c["waiting"][rows], 0) / WAITING_FULL_DAYS, 1.0),
            "prior_aid": np.where(status < 0, 0.5, 1.0 / (1.0 + np.maximum(c["prior"][rows], 0))),
            "quantity": (np.ones_like(open_q) if resource.remaining is None
                         else np.minimum(resource.remaining / open_q, 1.0)),
            "priority": np.where(_status_table(resource.priority_statuses)[status]
                                 | ((causes & _cause_bits(resource.priority_causes)) != 0),
                                 1.0, 0.0),
        }  # fmt: skip
        keep = _finalists(_points(values, factors, skip="text"), factors["text"], limit)
        finalists = rows[keep]
        sims = self._similarities(text.encode_one(resource.text), finalists)
        final: Values = {name: np.asarray(v)[keep] for name, v in values.items()}
        final["text"] = _text_values(sims)
        order = np.lexsort((c["id"][finalists], -_points(final, factors)))[:limit]
        # The explained result of the library's scorer for the few that made it.
        scored = [score(self._views[finalists[i]], resource, weights, float(sims[i]))
                  for i in order]  # fmt: skip
        scored.sort(key=lambda s: (-s.points, s.need_id))
        return scored

    def _location(self, resource: ResourceView, rows: np.ndarray) -> np.ndarray:
        depth = np.zeros(rows.size, dtype=np.int64)
        centre_lat = np.full(rows.size, np.nan)
        centre_lng = np.full(rows.size, np.nan)
        for index, path in enumerate(resource.service_paths):
            codes = [int(x) for x in path.split("/") if x]
            if not codes:
                continue
            inside = self._cols[f"code{len(codes) - 1}"][rows] == codes[-1]
            deeper = inside & (len(codes) > depth)
            depth = np.where(deeper, len(codes), depth)
            coords = (
                resource.service_coords[index] if index < len(resource.service_coords) else None
            )
            centre_lat = np.where(deeper, coords[0] if coords else np.nan, centre_lat)
            centre_lng = np.where(deeper, coords[1] if coords else np.nan, centre_lng)
        level = np.select(
            [depth >= 5, depth >= 4, depth >= 3, depth >= 2], [1.0, 0.8, 0.6, 0.4], 0.2
        )
        lat, lng = self._cols["lat"][rows], self._cols["lng"][rows]
        known = ~(np.isnan(lat) | np.isnan(centre_lat))
        km = _km(lat, lng, centre_lat, centre_lng)
        decayed = _quantize(0.5 * level + 0.5 * np.exp(-km / DISTANCE_SCALE_KM))
        result: np.ndarray = np.where(known, decayed, level)
        return result


class ResourceIndex:
    """Best resources for a need, over columns: one row per resource (validity, capacity,
    eligibility, categories as bit sets) and one row per service region (depth, code, centre).
    The hard constraints and the components that vary between resources are computed with
    numpy; text similarity only for the rows that can still reach the top, and the explained
    score only for the few that make it."""

    def __init__(self) -> None:
        spec: dict[str, np.dtype] = {"id": np.dtype(np.int64), "alive": np.dtype(np.bool_),
                "usable": np.dtype(np.bool_), "valid_from": np.dtype(np.int32),
                "valid_until": np.dtype(np.int32), "remaining": np.dtype(np.int64),
                "statuses": np.dtype(np.int32), "causes": np.dtype(np.int32),
                "listed": np.dtype(np.uint64), "labour": np.dtype(np.bool_),
                "priority_statuses": np.dtype(np.int32),
                "priority_causes": np.dtype(np.int32)}  # fmt: skip
        self._cols = _Columns(spec)
        self._areas = _Columns({"row": np.dtype(np.int64), "depth": np.dtype(np.int64),
                                "code": np.dtype(np.int64), "lat": np.dtype(np.float64),
                                "lng": np.dtype(np.float64)})  # fmt: skip
        self._bits: dict[str, int] = {}
        self._views: list[ResourceView] = []
        self._row_of: dict[int, int] = {}
        self._texts: list[sp.csr_matrix] = []
        self._matrix: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self._row_of)

    def copy(self) -> ResourceIndex:
        """An independent copy to change while this one goes on answering (copy on write: a
        reader of this one never sees a change half made). The views and the encoded texts are
        shared: neither is changed in place."""
        other = ResourceIndex.__new__(ResourceIndex)
        other._cols, other._areas = self._cols.copy(), self._areas.copy()
        other._bits, other._row_of = dict(self._bits), dict(self._row_of)
        other._views, other._texts = list(self._views), list(self._texts)
        other._matrix = self._matrix
        return other

    def _category_bits(self, codes: Sequence[str], create: bool = True) -> int:
        bits = 0
        for code in codes:
            if code not in self._bits:
                if not create:
                    continue
                if len(self._bits) == 64:
                    raise ValueError("the index holds at most 64 distinct category codes")
                self._bits[code] = len(self._bits)
            bits |= 1 << self._bits[code]
        return bits

    def add(self, resource: ResourceView) -> None:
        self._register(resource)
        self._texts.append(text.encode_one(resource.text))
        self._matrix = None

    def add_many(self, resources: Sequence[ResourceView]) -> None:
        """Bulk load, with the texts encoded together."""
        for resource in resources:
            self._register(resource)
        if resources:
            self._texts.append(text.encode([r.text for r in resources]))
        self._matrix = None

    def _register(self, resource: ResourceView) -> None:
        self.remove(resource.id)
        row = self._cols.append({
            "id": resource.id, "alive": True,
            "usable": resource.active and resource.organization_verified,
            "valid_from": resource.valid_from.toordinal(),
            "valid_until": resource.valid_until.toordinal(),
            "remaining": -1 if resource.remaining is None else resource.remaining,
            "statuses": sum(1 << STATUSES[s] for s in set(resource.eligible_statuses)
                            if s in STATUSES) if resource.eligible_statuses else 0,
            "causes": _cause_bits(resource.eligible_causes) if resource.eligible_causes else 0,
            "listed": self._category_bits(resource.categories),
            "labour": resource.labour_required,
            "priority_statuses": sum(1 << STATUSES[s] for s in set(resource.priority_statuses)
                                     if s in STATUSES),
            "priority_causes": _cause_bits(resource.priority_causes),
        })  # fmt: skip
        if resource.eligible_statuses and self._cols["statuses"][row] == 0:
            self._cols.cols["statuses"][row] = 1 << 30  # only statuses no household has
        if resource.eligible_causes and self._cols["causes"][row] == 0:
            self._cols.cols["causes"][row] = 1 << 30
        for index, path in enumerate(resource.service_paths):
            codes = [int(c) for c in path.split("/") if c]
            if not codes:
                continue
            coords = (
                resource.service_coords[index] if index < len(resource.service_coords) else None
            )
            self._areas.append({
                "row": row, "depth": len(codes), "code": codes[-1],
                "lat": np.nan if coords is None else coords[0],
                "lng": np.nan if coords is None else coords[1],
            })  # fmt: skip
        self._views.append(resource)
        self._row_of[resource.id] = row

    def remove(self, resource_id: int) -> None:
        row = self._row_of.pop(resource_id, None)
        if row is not None:
            self._cols.cols["alive"][row] = False

    def _text_matrix(self) -> sp.csr_matrix:
        if self._matrix is None:
            self._matrix = sp.vstack(self._texts, format="csr")
            self._texts = [self._matrix]
        return self._matrix

    def _candidates(self, need: NeedView, today: date) -> tuple[np.ndarray, np.ndarray]:
        """Rows allowed for the need, and the service region that holds it most closely."""
        if not need.verified or need.open_quantity <= 0 or self._cols.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        codes = np.array(_path_codes(need.village_path), dtype=np.int64)
        areas = self._areas
        # A region of depth d holds the village when it is the village's code at depth d.
        held = np.flatnonzero(areas["code"] == codes[np.minimum(areas["depth"], LEVELS) - 1])
        if held.size == 0:
            return held, held
        # Per resource, its deepest region holding the village (the last such among equals,
        # as the scorer picks it).
        order = np.lexsort((held, areas["depth"][held], areas["row"][held]))
        held = held[order]
        rows = areas["row"][held]
        last = np.append(rows[1:] != rows[:-1], True)
        rows, held = rows[last], held[last]
        c = self._cols
        day = today.toordinal()
        wanted = self._category_bits((need.subcategory, need.category), create=False)
        keep = (
            c["alive"][rows] & c["usable"][rows]
            & (c["valid_from"][rows] <= day) & (c["valid_until"][rows] >= day)
            & (c["remaining"][rows] != 0)
            & ((c["listed"][rows] & np.uint64(wanted)) != 0)
        )  # fmt: skip
        statuses = c["statuses"][rows]
        status = STATUSES.get(need.household_status or "", -1)
        status_bit = 0 if status < 0 else 1 << status
        keep &= (statuses == 0) | ((statuses & status_bit) != 0)
        causes = c["causes"][rows]
        keep &= (causes == 0) | ((causes & _cause_bits(need.household_causes)) != 0)
        if not able_to_work(need):
            keep &= ~c["labour"][rows]
        return rows[keep], held[keep]

    def top(self, need: NeedView, weights: Weights, today: date, limit: int) -> list[Scored]:
        rows, held = self._candidates(need, today)
        if rows.size == 0:
            return []
        factors = weights.factors()
        c = self._cols
        sub_bit = np.uint64(self._category_bits((need.subcategory,), create=False))
        depth = self._areas["depth"][held]
        level = np.select(
            [depth >= 5, depth >= 4, depth >= 3, depth >= 2], [1.0, 0.8, 0.6, 0.4], 0.2
        )
        location = level
        if need.lat is not None and need.lng is not None:
            lat, lng = self._areas["lat"][held], self._areas["lng"][held]
            km = _km(np.asarray(need.lat), np.asarray(need.lng), lat, lng)
            decayed = _quantize(0.5 * level + 0.5 * np.exp(-km / DISTANCE_SCALE_KM))
            location = np.where(np.isnan(lat), level, decayed)
        remaining = c["remaining"][rows]
        status = STATUSES.get(need.household_status or "", -1)
        status_bit = 0 if status < 0 else 1 << status
        # The need's own components (urgency, waiting, prior aid): the scorer's, once.
        values: Values = {
            "category": np.where((c["listed"][rows] & sub_bit) != 0, 1.0, 0.6),
            "location": location,
            "urgency": urgency_component(need)[0],
            "waiting": waiting_component(need)[0],
            "prior_aid": prior_aid_component(need)[0],
            "quantity": np.where(remaining < 0, 1.0,
                                 np.minimum(remaining / need.open_quantity, 1.0)),
            "priority": np.where(((c["priority_statuses"][rows] & status_bit) != 0)
                                 | ((c["priority_causes"][rows]
                                     & _cause_bits(need.household_causes)) != 0), 1.0, 0.0),
        }  # fmt: skip
        keep = _finalists(_points(values, factors, skip="text"), factors["text"], limit)
        finalists = rows[keep]
        sims = text.similarities(text.encode_one(need.text), self._text_matrix()[finalists])
        final: Values = {
            name: np.asarray(v)[keep] if np.ndim(v) else v for name, v in values.items()
        }
        final["text"] = _text_values(sims)
        order = np.lexsort((c["id"][finalists], -_points(final, factors)))[:limit]
        scored = [score(need, self._views[finalists[i]], weights, float(sims[i])) for i in order]
        scored.sort(key=lambda s: (-s.points, s.resource_id))
        return scored
