"""The bridge between the pages and the matching library: suggestions, scores, allocation,
and the wording of explanations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, selectinload

from marketplace.extensions import db
from marketplace.facts import FactCache
from marketplace.households.models import Household
from marketplace.matches.adapters import need_view, resource_view
from marketplace.matches.aid import held_by_households, prior_aid_counts
from marketplace.matches.warm import warm_resources
from marketplace.needs.models import Need, NeedStatus
from marketplace.needs.services import public_needs_query
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.vocab import CATEGORIES, HouseholdStatus, PovertyCause
from matching import allocation, columns, fair, rank
from matching.model import NeedView, ResourceView
from matching.scoring import Explanation, Scored, Weights, score

WORDING: dict[tuple[str, str], LazyString] = {
    ("category", "exact"): _l("Category matches exactly: %(category)s"),
    ("category", "parent"): _l("Same main category: %(category)s"),
    ("category", "none"): _l("Category does not match"),
    ("location", "same_village"): _l("Same village"),
    ("location", "same_township"): _l("Same township"),
    ("location", "same_county"): _l("Same county"),
    ("location", "same_city"): _l("Same city"),
    ("location", "same_province"): _l("Same province"),
    ("location", "outside"): _l("Outside the service area"),
    ("text", "similarity"): _l("Descriptions %(percent)s%% alike"),
    ("urgency", "urgency"): _l("Urgency %(level)s of 3"),
    ("waiting", "days"): _l("Waiting for %(days)s days"),
    ("prior_aid", "never_aided"): _l("This household has received no aid yet"),
    ("prior_aid", "aided_before"): _l("This household has been aided %(times)s times"),
    ("prior_aid", "village_need"): _l("A need of the whole village"),
    ("quantity", "full"): _l("Can meet the whole quantity"),
    ("quantity", "partial"): _l("Can meet only %(available)s"),
    ("quantity", "none"): _l("Nothing left open"),
    ("priority", "met"): _l("Among the donor's priorities: %(priority)s"),
    ("priority", "not_met"): _l("Not among the donor's priorities"),
}
DISTANCE = _l("%(km)s km away")


def weights() -> Weights:
    """From MATCH_WEIGHTS (JSON object of component weights), else the library's defaults."""
    raw = current_app.config.get("MATCH_WEIGHTS") or "{}"
    values = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return Weights(**{k: float(v) for k, v in values.items()})


def explain(item: dict[str, Any]) -> str:
    """Words for one stored explanation {component, code, params}."""
    params = dict(item.get("params") or {})
    if "category" in params and params["category"] in CATEGORIES:
        params["category"] = str(CATEGORIES[str(params["category"])].label)
    if item.get("component") == "priority":
        # The causes and status that met the donor's priorities, in words.
        causes = [str(PovertyCause(c).label) for c in params.get("causes") or ()
                  if c in PovertyCause.__members__.values()]  # fmt: skip
        status = str(params.get("status") or "")
        if status in HouseholdStatus.__members__.values():
            causes.append(str(HouseholdStatus(status).label))
        params["priority"] = "、".join(causes)
    template = WORDING.get((item.get("component", ""), item.get("code", "")))
    if template is None:
        return ""
    text = str(template) % params
    if item.get("component") == "location" and "km" in params:
        text += "，" + str(DISTANCE) % params
    return text


def _stored(explanations: tuple[Explanation, ...]) -> list[dict[str, Any]]:
    return [{"component": e.component, "code": e.code, "params": e.params} for e in explanations]


def breakdown(scored: Scored, used: Weights) -> dict[str, Any]:
    return {
        "components": scored.components,
        "weights": used.as_dict(),
        "explanations": _stored(scored.explanations),
        # Integer points out of POINTS, per component, summing exactly to the total.
        "points": scored.points,
        "component_points": scored.component_points,
    }


COMPONENT_NAMES: dict[str, LazyString] = {
    "category": _l("Category"),
    "location": _l("Place"),
    "text": _l("Description"),
    "urgency": _l("Urgency"),
    "waiting": _l("Waiting"),
    "prior_aid": _l("Aid so far"),
    "quantity": _l("Quantity"),
    "priority": _l("Donor's priority"),
}


def score_lines(stored: dict[str, Any]) -> list[tuple[str, int, str]]:
    """A stored breakdown as lines a person can check: component, points, why; the points add
    up to the total. Empty for breakdowns stored before points existed."""
    parts = stored.get("component_points") or {}
    words: dict[str, list[str]] = {}
    for item in stored.get("explanations") or []:
        text = explain(item)
        if text:
            words.setdefault(str(item.get("component")), []).append(text)
    return [
        (str(COMPONENT_NAMES.get(name, name)), int(points), "；".join(words.get(name, [])))
        for name, points in parts.items()
    ]


def need_views(needs: list[Need]) -> list[NeedView]:
    """The library's view of each need, with its household's prior aid (one query for all)."""
    prior = prior_aid_counts([n.household_id for n in needs if n.household_id])
    return [need_view(n, prior.get(n.household_id or 0, 0)) for n in needs]


def score_pair(need: Need, resource: Resource) -> tuple[float, dict[str, Any]]:
    """The score and breakdown stored with a pledge (and the weights that made it)."""
    used = weights()
    candidates = rank.resources_for_need(
        need_views([need])[0], [resource_view(resource)], used, date.today(), limit=1
    )
    if candidates:
        return round(candidates[0].score, 6), breakdown(candidates[0], used)
    # Pledges pass the hard constraints first, so this is a resource that ran out meanwhile.
    plain = score(need_views([need])[0], resource_view(resource), used)
    return round(plain.score, 6), breakdown(plain, used)


def suggest_resources(need: Need, limit: int = 5) -> list[tuple[Resource, Scored]]:
    """Best public resources for a need, from the process's warm index."""
    ranked = warm_resources().top(need_views([need])[0], weights(), date.today(), limit)
    by_id = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Resource).where(Resource.id.in_([s.resource_id for s in ranked]))
        )
    }
    return [(by_id[s.resource_id], s) for s in ranked if s.resource_id in by_id]


def candidate_needs(resource: Resource, region_path: str | None = None) -> list[Need]:
    """Open, verified needs the resource could serve, narrowed in SQL by category and area."""
    paths = [r.path for r in resource.service_area]
    if region_path:
        region_inside_an_area = any(region_path.startswith(p) for p in paths)
        paths = (
            [region_path]
            if region_inside_an_area
            else [p for p in paths if p.startswith(region_path)]
        )
    if not paths or not resource.categories:
        return []
    return list(
        db.session.scalars(
            public_needs_query().where(
                sa.or_(Need.category.in_(resource.categories),
                       Need.subcategory.in_(resource.categories)),
                sa.or_(*(Region.path.startswith(p, autoescape=True) for p in paths)),
            )
            # The scorer reads each need's household and village: load them with the needs,
            # not one query per need.
            .options(selectinload(Need.household), contains_eager(Need.village))
        )
    )  # fmt: skip


def suggest_needs(resource: Resource, limit: int = 10) -> list[tuple[Need, Scored]]:
    """Best open needs for a resource: the candidates read as columns (no ORM object, no
    NeedView per candidate: a city's resource has thousands) and scored by the library's array
    scorer, which gives ``rank.needs_for_resource``'s answer; the winners loaded for display."""
    view = resource_view(resource)
    ranked = columns.top_needs(view, kept_need_columns(resource, view), weights(), date.today(),
                               limit)  # fmt: skip
    needs = {
        n.id: n
        for n in db.session.scalars(sa.select(Need).where(Need.id.in_([s.need_id for s in ranked])))
    }
    return [(needs[s.need_id], s) for s in ranked if s.need_id in needs]


# The candidates of an area and categories, kept per process until a fact changes
# (marketplace.facts: any need, household or match committed by any process replaces the
# token) or the day turns (waiting days): a resource page read again, or another resource of
# the same city and categories, scores the kept columns without the query. Bounded: a city's
# entry is a few MB at 1M households (the columns, and the prior aid and texts asked of it).
_KEPT = FactCache(size=32)


def kept_need_columns(resource: Resource, view: ResourceView | None = None) -> columns.NeedColumns:
    """``candidate_need_columns``, kept until a fact changes (same rows, same answers)."""
    view = view or resource_view(resource)
    households = columns.needs_household_columns(view)
    today = date.today()
    key = ("best-needs", tuple(sorted(set(view.service_paths))),
           tuple(sorted(set(view.categories))), households, today)  # fmt: skip
    return _KEPT.get(key, lambda: candidate_need_columns(resource, view, households))


def candidate_need_views(resource: Resource) -> list[NeedView]:
    """The engine's view of every need ``candidate_needs`` would return, read as columns."""
    found = candidate_need_columns(resource, households=True)
    rows = np.arange(len(found))
    return found.source.views(rows, found.source.prior_aid(rows))


# The candidates' query reads an index of open, verified needs by village that holds every
# column it selects (migration 0018): the needs of a city's villages without visiting the
# table. The index is partial, so its condition is spelled in the SQL, not as parameters.
_OPEN = sa.and_(
    Need.status == sa.literal_column("'verified'"), Need.open_quantity > sa.literal_column("0")
)
assert NeedStatus.VERIFIED.value == "verified"


def candidate_need_columns(
    resource: Resource, view: ResourceView | None = None, households: bool | None = None
) -> columns.NeedColumns:
    """Open, verified needs in the resource's area and categories, as the library's columns:
    one query selecting plain values (enums and JSON read as text, each distinct value decoded
    once); households' status, causes and labour only when the resource filters or favours by
    them (``households``: always or never); prior aid and texts asked for by the scorer."""
    view = view or resource_view(resource)
    paths = list(view.service_paths)
    with_households = columns.needs_household_columns(view) if households is None else households
    selected: list[Any] = [Need.id, Need.household_id, Need.category, Need.subcategory,
                           Need.open_quantity, Need.urgency, Need.created_at, Region.path,
                           Region.lat, Region.lng]  # fmt: skip
    if with_households:
        selected += [
            sa.type_coerce(Household.status, sa.String),
            sa.type_coerce(Household.primary_cause, sa.String),
            sa.cast(Household.other_causes, sa.Text),
            sa.type_coerce(Household.labour_capacity, sa.String),
        ]
    query = (
        sa.select(*selected)
        .join(Region, Need.village_id == Region.id)
        .where(
            _OPEN,
            sa.or_(Need.category.in_(view.categories), Need.subcategory.in_(view.categories)),
            sa.or_(*(Region.path.startswith(p, autoescape=True) for p in paths)),
        )
    )
    if with_households:
        query = query.outerjoin(Household, Need.household_id == Household.id)
    rows = list(db.session.execute(query).all()) if paths and view.categories else []
    return _columns(rows, with_households, date.today())


def _columns(rows: list[Any], with_households: bool, today: date) -> columns.NeedColumns:
    values = list(zip(*rows, strict=True)) or [()] * (14 if with_households else 10)
    ids, household_ids, categories, subcategories, open_quantity, urgency, created = values[:7]
    count = len(ids)
    found = _NeedRows(
        np.fromiter(ids, np.int64, count),
        list(household_ids),
    )
    household = np.fromiter((h is not None for h in household_ids), bool, count)
    status = causes = labour = None
    if with_households:
        status_col, primary, other, labour_col = values[10:14]
        status = columns.Coded.of(status_col)
        decoded: dict[tuple[Any, Any], tuple[str, ...]] = {}
        for key in zip(primary, other, strict=True):
            if key not in decoded:
                decoded[key] = _causes(*key)
        causes = columns.Coded.of(decoded[key] for key in zip(primary, other, strict=True))
        labour = columns.Coded.of(labour_col)
        found.households = {
            h: (s, decoded[(p, o)], lab)
            for h, s, p, o, lab in zip(household_ids, status_col, primary, other, labour_col,
                                       strict=True)
            if h is not None
        }  # fmt: skip
    result = columns.NeedColumns(
        ids=found.ids,
        verified=np.ones(count, dtype=bool),
        category=columns.Coded.of(categories),
        subcategory=columns.Coded.of(subcategories),
        place=columns.Coded.of(zip(values[7], values[8], values[9], strict=True)),
        open_quantity=np.fromiter(open_quantity, np.int64, count),
        urgency=np.fromiter(urgency, np.int64, count),
        # As the adapter counts them (need_view): whole days since the need was posted.
        days_waiting=np.fromiter(
            (max((today - c.date()).days, 0) for c in created), np.int64, count
        ),
        household=household,
        source=found,
        status=status,
        causes=causes,
        labour=labour,
    )
    found.columns = result
    return result


def _causes(primary: str | None, other: str | None) -> tuple[str, ...]:
    """A household's causes as ``Household.causes`` lists them, from the two columns' text."""
    if primary is None:
        return ()
    rest = json.loads(other) if other else []
    return (primary, *[c for c in rest or [] if c])


class _NeedRows:
    """What the array scorer asks of the database beyond the columns: prior aid and texts of
    the rows that can still reach the top, and the winners' full views. What was read is
    remembered (the columns may be kept for later requests, ``kept_need_columns``), so each
    household's count, need's text and household's record is read once per kept entry."""

    def __init__(self, ids: np.ndarray, household_ids: list[int | None]) -> None:
        self.ids = ids
        self.household_ids = household_ids
        self.households: dict[int, tuple[str, tuple[str, ...], str]] = {}
        self.columns: columns.NeedColumns | None = None
        self._texts: dict[int, str] = {}
        self._prior: dict[int, int] = {}

    def prior_aid(self, rows: np.ndarray) -> np.ndarray:
        households = [self.household_ids[r] for r in rows.tolist()]
        wanted = sorted({h for h in households if h is not None} - self._prior.keys())
        if wanted:
            counts = prior_aid_counts(wanted)
            self._prior.update({h: counts.get(h, 0) for h in wanted})
        known = self._prior
        return np.fromiter(
            (known[h] if h is not None else 0 for h in households), np.int64, rows.size
        )

    def texts(self, rows: np.ndarray) -> list[str]:
        wanted = [i for i in self.ids[rows].tolist() if i not in self._texts]
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            for need_id, title, description in db.session.execute(
                sa.select(Need.id, Need.title, Need.description).where(Need.id.in_(chunk))
            ):
                self._texts[need_id] = f"{title} {description}"
        return [self._texts[i] for i in self.ids[rows].tolist()]

    def views(self, rows: np.ndarray, prior_aid: np.ndarray) -> list[NeedView]:
        assert self.columns is not None
        found = self.columns
        wanted = {self.household_ids[r] for r in rows.tolist()} - {None} - self.households.keys()
        if wanted:
            self.households.update({
                h: (s, _causes(p, o), lab)
                for h, s, p, o, lab in db.session.execute(
                    sa.select(
                        Household.id,
                        sa.type_coerce(Household.status, sa.String),
                        sa.type_coerce(Household.primary_cause, sa.String),
                        sa.cast(Household.other_causes, sa.Text),
                        sa.type_coerce(Household.labour_capacity, sa.String),
                    ).where(Household.id.in_(sorted(h for h in wanted if h is not None)))
                )
            })  # fmt: skip
        texts = self.texts(rows)
        views = []
        for row, prior, text in zip(rows.tolist(), prior_aid.tolist(), texts, strict=True):
            household_id = self.household_ids[row]
            status, causes, labour = (
                self.households[household_id] if household_id is not None else (None, (), None)
            )
            path, lat, lng = found.place[row]
            views.append(
                NeedView(
                    id=int(found.ids[row]),
                    category=found.category[row],
                    subcategory=found.subcategory[row],
                    village_path=path,
                    open_quantity=int(found.open_quantity[row]),
                    verified=True,
                    household_status=status,
                    household_causes=causes,
                    urgency=int(found.urgency[row]),
                    days_waiting=int(found.days_waiting[row]),
                    prior_aid=int(prior) if household_id is not None else 0,
                    text=text,
                    lat=lat,
                    lng=lng,
                    household_id=household_id,
                    household_labour=labour,
                )
            )
        return views


MODES = ("fair", "maximum")
GROUP_LEVELS = ("village", "township")
UNSERVED_REASONS: dict[str, LazyString] = {
    fair.BELOW_CUT: _l("Other needs had more points"),
    fair.SHARE_USED: _l("Its village's (or township's) share was used"),
    fair.HOUSEHOLD_SERVED: _l("The household already has as much as one household may get"),
    fair.VILLAGE_CAP: _l("The village reached the cap per village"),
}


@dataclass(frozen=True)
class Proposal:
    """What the allocation page shows and ``services.allocate`` creates: the chosen result,
    the other mode's total beside it, the greedy baseline, and for fair mode the shares."""

    mode: str
    group_level: str
    chosen: allocation.Allocation
    fair: fair.FairAllocation
    greedy: allocation.Allocation
    needs: dict[int, Need]
    scored: dict[int, Scored]
    group_names: dict[str, str]
    weights: Weights

    @property
    def maximum(self) -> allocation.Allocation:
        return self.fair.maximum

    def breakdown(self, need_id: int) -> dict[str, Any]:
        """How one need's points add up, as the match page shows them."""
        return breakdown(self.scored[need_id], self.weights)


def propose_allocation(
    resource: Resource,
    region_path: str,
    village_cap: int | None,
    mode: str = "fair",
    group_level: str = "village",
) -> Proposal:
    """The allocation of one scarce resource over the eligible needs in a region: fair mode
    (units shared among villages or townships by their eligible open need, then the most
    points within the shares) or the maximum total points, with the greedy baseline."""
    needs = candidate_needs(resource, region_path)
    views = need_views(needs)
    used = weights()
    ranked = rank.needs_for_resource(
        resource_view(resource), views, used, date.today(), limit=max(len(views), 1)
    )
    by_id = {n.id: n for n in needs}

    def group(need: Need) -> Region:
        village = need.village
        if group_level == "township" and village.parent is not None:
            return village.parent
        return village

    problem = allocation.Problem.of_pairs(
        (allocation.Pair(s.need_id, resource.id, s.score) for s in ranked),
        need_quantity={n.id: n.open_quantity for n in needs},
        capacity={resource.id: resource.remaining},
        village_of={n.id: by_id[n.id].village.code for n in needs},
        village_cap=village_cap,
        household_of={n.id: n.household_id for n in needs},
        per_household={resource.id: resource.per_household},
        held={
            (household, resource.id): units
            for household, units in held_by_households(
                resource.id, sorted({n.household_id for n in needs if n.household_id})
            ).items()
        },
        points=[s.points for s in ranked],
    )
    shared = fair.fair(problem, {n.id: group(n).code for n in needs})
    return Proposal(
        mode=mode,
        group_level=group_level,
        chosen=shared.allocation if mode == "fair" else shared.maximum,
        fair=shared,
        greedy=allocation.greedy(problem),
        needs=by_id,
        scored={s.need_id: s for s in ranked},
        group_names={group(n).code: group(n).full_name for n in needs},
        weights=used,
    )
