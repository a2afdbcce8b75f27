"""In-memory, array-backed indexes for suggestions at provincial scale.

``NeedIndex`` answers "best needs for this resource" over up to millions of open needs;
``ResourceIndex`` answers "best resources for this need". Both apply the hard constraints and
the scoring of ``matching.scoring`` with numpy over whole columns, add rows one at a time (a
new need does not rebuild anything), and give exactly the ranking of ``matching.rank``:
text similarity is computed only for candidates that could still reach the top once it is
added, which is exact because its weight bounds what it can contribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import scipy.sparse as sp

from matching import text
from matching.constraints import allowed
from matching.model import NeedView, ResourceView
from matching.scoring import (
    DISTANCE_SCALE_KM,
    EARTH_RADIUS_KM,
    WAITING_FULL_DAYS,
    Scored,
    Weights,
    score,
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


def _cause_bits(causes: Sequence[str]) -> int:
    bits = 0
    for cause in causes:
        if cause in CAUSES:
            bits |= 1 << CAUSES[cause]
    return bits


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


class NeedIndex:
    def __init__(self) -> None:
        spec: dict[str, np.dtype] = {"id": np.dtype(np.int64), "open": np.dtype(np.int32),
                "urgency": np.dtype(np.int8), "waiting": np.dtype(np.int32),
                "prior": np.dtype(np.int32), "status": np.dtype(np.int8),
                "causes": np.dtype(np.int32), "lat": np.dtype(np.float64),
                "lng": np.dtype(np.float64), "alive": np.dtype(np.bool_)}  # fmt: skip
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
        covered = [self._cat_codes[c] for c in (*resource.categories, *resource.compatible)
                   if c in self._cat_codes]  # fmt: skip
        mask = self._cols["alive"] & (
            np.isin(self._cat[:n], covered) | np.isin(self._sub[:n], covered)
        )
        area = np.zeros(n, dtype=bool)
        for path in resource.service_paths:
            codes = [int(c) for c in path.split("/") if c]
            if codes:
                area |= self._cols[f"code{len(codes) - 1}"] == codes[-1]
        mask &= area
        if resource.eligible_statuses:
            mask &= np.isin(self._cols["status"], [STATUSES[s] for s in resource.eligible_statuses])
        if resource.eligible_causes:
            mask &= (self._cols["causes"] & _cause_bits(resource.eligible_causes)) != 0
        return np.flatnonzero(mask)

    def top(
        self, resource: ResourceView, weights: Weights, today: date, limit: int
    ) -> list[Scored]:
        rows = self._candidates(resource, today)
        if rows.size == 0:
            return []
        w = weights.as_dict()
        total = sum(w.values())
        c = self._cols
        exact = np.isin(self._sub[rows], [self._cat_codes[x] for x in resource.categories
                                          if x in self._cat_codes])  # fmt: skip
        compatible = np.isin(self._sub[rows], [self._cat_codes[x] for x in resource.compatible
                                               if x in self._cat_codes])  # fmt: skip
        category = np.where(exact, 1.0, np.where(compatible, 0.8, 0.6))
        location = self._location(resource, rows)
        urgency = (np.clip(c["urgency"][rows], 1, 3) - 1) / 2
        waiting = np.minimum(np.maximum(c["waiting"][rows], 0) / WAITING_FULL_DAYS, 1.0)
        prior = np.where(c["status"][rows] < 0, 0.5, 1.0 / (1.0 + np.maximum(c["prior"][rows], 0)))
        open_q = c["open"][rows].astype(np.float64)
        quantity = (np.ones_like(open_q) if resource.remaining is None
                    else np.minimum(resource.remaining / open_q, 1.0))  # fmt: skip
        partial = (w["category"] * category + w["location"] * location + w["urgency"] * urgency
                   + w["waiting"] * waiting + w["prior_aid"] * prior
                   + w["quantity"] * quantity) / total  # fmt: skip
        # Only rows that could still reach the top once text (worth at most w_text/total) is in.
        k = min(limit, rows.size)
        kth = np.partition(-partial, k - 1)[k - 1] * -1
        keep = partial >= kth - w["text"] / total - 1e-12
        finalists = rows[keep]
        sims = self._similarities(text.encode([resource.text]), finalists)
        final = partial[keep] + w["text"] * np.clip(sims, 0.0, 1.0) / total
        order = np.lexsort((c["id"][finalists], -np.round(final, 12)))[:limit]
        # The explained result of the library's scorer for the few that made it.
        scored = [score(self._views[finalists[i]], resource, weights, float(sims[i]))
                  for i in order]  # fmt: skip
        scored.sort(key=lambda s: (-s.score, s.need_id))
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
        p1, p2 = np.radians(lat), np.radians(centre_lat)
        a = (np.sin((p2 - p1) / 2) ** 2
             + np.cos(p1) * np.cos(p2) * np.sin(np.radians(centre_lng - lng) / 2) ** 2)  # fmt: skip
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(np.nan_to_num(a))))
        decayed = 0.5 * level + 0.5 * np.exp(-km / DISTANCE_SCALE_KM)
        result: np.ndarray = np.where(known, decayed, level)
        return result


class ResourceIndex:
    """Best resources for a need. Candidates come from set look-ups on area and category; the
    components that vary between resources (category, location, quantity, text) are computed
    over arrays, and the explained score only for the top few."""

    def __init__(self) -> None:
        self._views: list[ResourceView | None] = []
        self._row_of: dict[int, int] = {}
        self._by_area: dict[tuple[int, int], set[int]] = {}
        self._by_category: dict[str, set[int]] = {}
        self._texts: list[sp.csr_matrix] = []
        self._matrix: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self._row_of)

    def add(self, resource: ResourceView) -> None:
        self._register(resource)
        self._texts.append(text.encode([resource.text]))
        self._matrix = None

    def _register(self, resource: ResourceView) -> None:
        self.remove(resource.id)
        row = len(self._views)
        self._views.append(resource)
        self._row_of[resource.id] = row
        for path in resource.service_paths:
            codes = [int(c) for c in path.split("/") if c]
            if codes:
                self._by_area.setdefault((len(codes) - 1, codes[-1]), set()).add(row)
        for code in (*resource.categories, *resource.compatible):
            self._by_category.setdefault(code, set()).add(row)

    def add_many(self, resources: Sequence[ResourceView]) -> None:
        """Bulk load, with the texts encoded together."""
        for resource in resources:
            self._register(resource)
        if resources:
            encoded = text.encode([r.text for r in resources])
            self._texts.extend(encoded[i] for i in range(encoded.shape[0]))
        self._matrix = None

    def remove(self, resource_id: int) -> None:
        row = self._row_of.pop(resource_id, None)
        if row is None:
            return
        old = self._views[row]
        self._views[row] = None
        assert old is not None
        for path in old.service_paths:
            codes = [int(c) for c in path.split("/") if c]
            if codes:
                self._by_area.get((len(codes) - 1, codes[-1]), set()).discard(row)
        for code in (*old.categories, *old.compatible):
            self._by_category.get(code, set()).discard(row)

    def _text_matrix(self) -> sp.csr_matrix:
        if self._matrix is None:
            self._matrix = sp.vstack(self._texts, format="csr")
        return self._matrix

    def top(self, need: NeedView, weights: Weights, today: date, limit: int) -> list[Scored]:
        codes = _path_codes(need.village_path)
        in_area: set[int] = set()
        for level, code in enumerate(codes):
            in_area |= self._by_area.get((level, code), set())
        fitting = self._by_category.get(need.subcategory, set()) | self._by_category.get(
            need.category, set()
        )
        rows = sorted(in_area & fitting)
        views = [v for v in (self._views[r] for r in rows) if v is not None]
        views = [v for v in views if allowed(need, v, today)]
        if not views:
            return []
        w = weights.as_dict()
        # Components that differ between resources; the need's own (urgency, waiting, prior
        # aid) are the same for all and do not change the order.
        from matching.scoring import category_component, location_component, quantity_component

        varying = np.array([
            w["category"] * category_component(need, v)[0]
            + w["location"] * location_component(need, v)[0]
            + w["quantity"] * quantity_component(need, v)[0]
            for v in views
        ])  # fmt: skip
        sims = text.similarities(
            text.encode([need.text]), self._text_matrix()[[self._row_of[v.id] for v in views]]
        )
        order = np.lexsort(
            (np.array([v.id for v in views]), -np.round(varying + w["text"] * sims, 12))
        )[:limit]
        scored = [score(need, views[i], weights, float(sims[i])) for i in order]
        scored.sort(key=lambda s: (-s.score, s.resource_id))
        return scored
