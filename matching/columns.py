"""Best needs for one resource, scored over columns: the array scorer.

``rank.needs_for_resource`` scores candidate needs one ``NeedView`` at a time; at a city's
scale (thousands of candidates per request) that is most of a second. ``top_needs`` takes the
candidates as columns instead (``NeedColumns``: numbers as numpy arrays, text-like values
dictionary-encoded, so that each distinct value is judged once with the library's own rule and
the verdict gathered per row) and gives exactly ``needs_for_resource``'s answer: the same
hard constraints, the same integer points (each contribution is the same float operation,
added in the scorer's order), ties by lowest need id, and the explained ``Scored`` of
``scoring.score`` for the winners.

Two inputs are costly to read for every candidate and bounded in what they can change, so they
are asked for only where they can still matter (``NeedSource``):
- prior aid: a household never aided scores the most on that component (1 / (1 + 0)), so a
  need whose points with no prior aid cannot reach the top needs no count;
- text: its weight bounds what it adds (``index._finalists``), so only the rows that could
  still reach the top once it is added are hashed.
Both bounds keep every row that could enter the top, so the answer stays exact.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Generic, Protocol, TypeVar

import numpy as np

from matching import text
from matching.constraints import able_to_work
from matching.index import _finalists, _km, _points, _quantize, _text_values
from matching.model import NeedView, ResourceView
from matching.rank import _validate_limit
from matching.scoring import (
    DISTANCE_SCALE_KM,
    LOCATION_LEVELS,
    WAITING_FULL_DAYS,
    Scored,
    Weights,
    score,
)

T = TypeVar("T", bound=Hashable)
Place = tuple[str, float | None, float | None]  # village path, lat, lng


@dataclass(frozen=True)
class Coded(Generic[T]):
    """A dictionary-encoded column: ``values[codes[row]]`` is the row's value."""

    codes: np.ndarray
    values: tuple[T, ...]

    @classmethod
    def of(cls, items: Iterable[T]) -> Coded[T]:
        index: dict[T, int] = {}
        codes = [index.setdefault(item, len(index)) for item in items]
        return cls(np.asarray(codes, dtype=np.int32), tuple(index))

    def test(self, rule: Callable[[T], bool]) -> np.ndarray:
        """The rule judged once per distinct value, as a boolean per row."""
        table = np.fromiter((rule(v) for v in self.values), bool, len(self.values))
        result: np.ndarray = table[self.codes] if self.values else np.zeros(0, dtype=bool)
        return result

    def __getitem__(self, row: int) -> T:
        return self.values[int(self.codes[row])]


class NeedSource(Protocol):
    """What the columns do not hold, asked for by row number (positions in the columns)."""

    def prior_aid(self, rows: np.ndarray) -> np.ndarray:
        """Each row's prior aid (matches its household received or has in flight)."""
        ...

    def texts(self, rows: np.ndarray) -> Sequence[str]:
        """Each row's text, as ``NeedView.text``."""
        ...

    def views(self, rows: np.ndarray, prior_aid: np.ndarray) -> list[NeedView]:
        """The full ``NeedView`` of each row (for the winners' explanations)."""
        ...


@dataclass(frozen=True)
class NeedColumns:
    """Candidate needs as columns, one row per need.

    ``household`` says whether the need is a household's (``NeedView.household_status`` is
    not None). ``status``, ``causes`` and ``labour`` may be left out (None) when the resource
    neither filters nor favours by them; ``prior_aid`` may be left out to be asked of the
    source where it can matter."""

    ids: np.ndarray
    verified: np.ndarray
    category: Coded[str]
    subcategory: Coded[str]
    place: Coded[Place]
    open_quantity: np.ndarray
    urgency: np.ndarray
    days_waiting: np.ndarray
    household: np.ndarray
    source: NeedSource
    prior_aid: np.ndarray | None = None
    status: Coded[str | None] | None = None
    causes: Coded[tuple[str, ...]] | None = None
    labour: Coded[str | None] | None = None

    def __len__(self) -> int:
        return int(self.ids.size)

    @classmethod
    def from_views(cls, needs: Sequence[NeedView]) -> NeedColumns:
        """Columns of plain views (every column filled): for tests and callers holding views."""
        source = _ViewSource(list(needs))
        return cls(
            ids=np.fromiter((n.id for n in needs), np.int64, len(needs)),
            verified=np.fromiter((n.verified for n in needs), bool, len(needs)),
            category=Coded.of(n.category for n in needs),
            subcategory=Coded.of(n.subcategory for n in needs),
            place=Coded.of((n.village_path, n.lat, n.lng) for n in needs),
            open_quantity=np.fromiter((n.open_quantity for n in needs), np.int64, len(needs)),
            urgency=np.fromiter((n.urgency for n in needs), np.int64, len(needs)),
            days_waiting=np.fromiter((n.days_waiting for n in needs), np.int64, len(needs)),
            household=np.fromiter((n.household_status is not None for n in needs), bool,
                                  len(needs)),
            source=source,
            prior_aid=np.fromiter((n.prior_aid for n in needs), np.int64, len(needs)),
            status=Coded.of(n.household_status for n in needs),
            causes=Coded.of(n.household_causes for n in needs),
            labour=Coded.of(n.household_labour for n in needs),
        )  # fmt: skip


class _ViewSource:
    def __init__(self, needs: list[NeedView]) -> None:
        self._needs = needs

    def prior_aid(self, rows: np.ndarray) -> np.ndarray:
        return np.fromiter((self._needs[r].prior_aid for r in rows.tolist()), np.int64, rows.size)

    def texts(self, rows: np.ndarray) -> Sequence[str]:
        return [self._needs[r].text for r in rows.tolist()]

    def views(self, rows: np.ndarray, prior_aid: np.ndarray) -> list[NeedView]:
        return [self._needs[r] for r in rows.tolist()]


def needs_household_columns(resource: ResourceView) -> bool:
    """Whether scoring needs for this resource reads households' status, causes or labour."""
    return bool(resource.eligible_statuses or resource.eligible_causes
                or resource.labour_required or resource.priority_causes
                or resource.priority_statuses)  # fmt: skip


def _required(column: Coded[T] | None, name: str) -> Coded[T]:
    if column is None:
        raise ValueError(f"the resource filters or favours by {name}: load that column")
    return column


def allowed_rows(resource: ResourceView, needs: NeedColumns, today: date) -> np.ndarray:
    """Row numbers of the needs ``constraints.allowed`` lets the resource serve, in order."""
    if len(needs) == 0 or not (resource.active and resource.organization_verified):
        return np.zeros(0, dtype=np.int64)
    if not resource.valid_from <= today <= resource.valid_until:
        return np.zeros(0, dtype=np.int64)
    if resource.remaining is not None and resource.remaining <= 0:
        return np.zeros(0, dtype=np.int64)
    listed = set(resource.categories)
    paths = resource.service_paths
    mask = needs.verified & (needs.open_quantity > 0)
    mask &= needs.subcategory.test(lambda s: s in listed) | needs.category.test(
        lambda c: c in listed
    )
    mask &= needs.place.test(lambda p: any(p[0].startswith(a) for a in paths))
    if resource.eligible_statuses:
        statuses = set(resource.eligible_statuses)
        mask &= _required(needs.status, "status").test(lambda s: s in statuses)
    if resource.eligible_causes:
        causes = set(resource.eligible_causes)
        mask &= _required(needs.causes, "causes").test(lambda c: bool(set(c) & causes))
    if resource.labour_required:
        mask &= _required(needs.labour, "labour").test(lambda v: able_to_work(_probe(v)))
    rows: np.ndarray = np.flatnonzero(mask)
    return rows


def _probe(labour: str | None) -> NeedView:
    """A need with only the household's labour, for ``constraints.able_to_work``."""
    return NeedView(0, "", "", "", 0, False, household_labour=labour)


# Location values by (service area, its centres, the distinct places): a pure function of
# the three, so nothing to invalidate; kept columns pass the same places again. Bounded.
_PLACES: dict[tuple[object, ...], np.ndarray] = {}
_PLACES_SIZE = 64


def _location(resource: ResourceView, places: tuple[Place, ...]) -> np.ndarray:
    """``scoring.location_component``'s value for each distinct place (kept, ``_PLACES``)."""
    key = (resource.service_paths, resource.service_coords, places)
    found = _PLACES.get(key)
    if found is None:
        found = _location_values(resource, places)
        found.setflags(write=False)
        if len(_PLACES) >= _PLACES_SIZE:
            _PLACES.clear()
        _PLACES[key] = found
    return found


def _location_values(resource: ResourceView, places: tuple[Place, ...]) -> np.ndarray:
    depth = np.zeros(len(places), dtype=np.int64)
    inside = np.zeros(len(places), dtype=bool)
    centre_lat = np.full(len(places), np.nan)
    centre_lng = np.full(len(places), np.nan)
    lat = np.full(len(places), np.nan)
    lng = np.full(len(places), np.nan)
    area_depths = [len([c for c in p.split("/") if c]) for p in resource.service_paths]
    for i, (path, plat, plng) in enumerate(places):
        # The deepest containing area, the later one among equals (max of (depth, index)).
        best: tuple[int, int] | None = None
        for index, area in enumerate(resource.service_paths):
            if path.startswith(area) and (best is None or (area_depths[index], index) > best):
                best = (area_depths[index], index)
        if best is None:
            continue
        depth[i], inside[i] = best[0], True
        coords = (
            resource.service_coords[best[1]] if best[1] < len(resource.service_coords) else None
        )
        if coords is not None and plat is not None and plng is not None:
            centre_lat[i], centre_lng[i] = coords
            lat[i], lng[i] = plat, plng
    level = np.full(len(places), 0.2)
    for levels, value, _code in reversed(LOCATION_LEVELS):
        level = np.where(depth >= levels, value, level)
    level = np.where(inside, level, 0.0)  # outside every area (never allowed)
    known = ~(np.isnan(lat) | np.isnan(centre_lat))
    km = _km(lat, lng, centre_lat, centre_lng)
    decayed = _quantize(0.5 * level + 0.5 * np.exp(-km / DISTANCE_SCALE_KM))
    result: np.ndarray = np.where(known, decayed, level)
    return result


def _prior_values(household: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """``scoring.prior_aid_component``'s value: 0.5 for a village need, else 1 / (1 + aid)."""
    value: np.ndarray = np.where(household, 1.0 / (1.0 + np.maximum(prior, 0)), 0.5)
    return value


def top_needs(
    resource: ResourceView,
    needs: NeedColumns,
    weights: Weights,
    today: date,
    limit: int = 10,
) -> list[Scored]:
    """``rank.needs_for_resource(resource, needs, weights, today, limit)``, over columns."""
    _validate_limit(limit)
    rows = allowed_rows(resource, needs, today)
    if rows.size == 0:
        return []
    factors = weights.factors()
    listed = set(resource.categories)
    sub = needs.subcategory.test(lambda s: s in listed)[rows]
    open_q = needs.open_quantity[rows].astype(np.float64)
    priority = np.zeros(rows.size)
    if resource.priority_causes or resource.priority_statuses:
        causes, statuses = set(resource.priority_causes), set(resource.priority_statuses)
        met = _required(needs.causes, "causes").test(lambda c: any(x in causes for x in c))
        met |= _required(needs.status, "status").test(lambda s: s is not None and s in statuses)
        priority = np.where(met[rows], 1.0, 0.0)
    household = needs.household[rows]
    values: dict[str, np.ndarray | float] = {
        "category": np.where(sub, 1.0, 0.6),
        "location": _location(resource, needs.place.values)[needs.place.codes[rows]],
        "urgency": (np.clip(needs.urgency[rows], 1, 3) - 1) / 2,
        "waiting": np.minimum(np.maximum(needs.days_waiting[rows], 0) / WAITING_FULL_DAYS, 1.0),
        "quantity": (np.ones_like(open_q) if resource.remaining is None
                     else np.minimum(resource.remaining / open_q, 1.0)),
        "priority": priority,
    }  # fmt: skip
    if needs.prior_aid is not None:
        prior = needs.prior_aid[rows].astype(np.int64)
    else:
        # Never aided is the most this component gives: count aid only where it can matter.
        prior = np.zeros(rows.size, dtype=np.int64)
        values["prior_aid"] = _prior_values(household, prior)
        bound = _points(values, factors, skip="text")
        first = np.argsort(-bound, kind="stable")[: min(limit, rows.size)]
        prior[first] = needs.source.prior_aid(rows[first])
        values["prior_aid"] = _prior_values(household, prior)
        exact = _points(values, factors, skip="text")[first]
        k = min(limit, first.size)
        kth = -np.partition(-exact, k - 1)[k - 1]
        asked = np.zeros(rows.size, dtype=bool)
        asked[first] = True
        # Rows that could still reach the top-limit'th once text is added (index._finalists).
        wanted = np.flatnonzero(~asked & household & (bound + factors["text"] >= kth - 1.0 - 1e-6))
        if wanted.size:
            prior[wanted] = needs.source.prior_aid(rows[wanted])
    values["prior_aid"] = _prior_values(household, prior)
    keep = _finalists(_points(values, factors, skip="text"), factors["text"], limit)
    finalists = rows[keep]
    sims = _similarities(resource.text, needs.source.texts(finalists))
    final: dict[str, np.ndarray | float] = {name: np.asarray(v)[keep] for name, v in values.items()}
    final["text"] = _text_values(sims)
    order = np.lexsort((needs.ids[finalists], -_points(final, factors)))[:limit]
    views = needs.source.views(finalists[order], prior[keep][order])
    scored = [score(v, resource, weights, float(sims[i]))
              for v, i in zip(views, order.tolist(), strict=True)]  # fmt: skip
    scored.sort(key=lambda s: (-s.points, s.need_id))
    return scored


# Similarities already computed, by (query, text): a pure function of the two strings, so
# nothing to invalidate; a resource asked again (or its page read again) hashes no text.
# Bounded: emptied when full.
_SIMILAR: dict[tuple[str, str], float] = {}
_SIMILAR_SIZE = 50_000


def _similarities(query: str, texts: Sequence[str]) -> np.ndarray:
    """``text.similarities`` of the query against each text, each distinct text hashed once
    (and once per process for a query seen before)."""
    if not texts:
        return np.zeros(0)
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(t, len(index)) for t in texts), np.int64, len(texts))
    distinct = list(index)
    known = [_SIMILAR.get((query, t)) for t in distinct]
    missing = [t for t, k in zip(distinct, known, strict=True) if k is None]
    if missing:
        fresh = text.similarities(text.encode_one(query), text.encode(missing))
        if len(_SIMILAR) + len(missing) > _SIMILAR_SIZE:
            _SIMILAR.clear()
        found = dict(zip(missing, fresh.tolist(), strict=True))
        _SIMILAR.update({(query, t): v for t, v in found.items()})
        known = [found[t] if k is None else k for t, k in zip(distinct, known, strict=True)]
    values = np.asarray(known, dtype=np.float32)
    result: np.ndarray = values[codes]
    return result
