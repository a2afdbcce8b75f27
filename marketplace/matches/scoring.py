"""The bridge between the pages and the matching library: suggestions, scores, allocation,
and the wording of explanations."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, selectinload

from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.matches.adapters import need_view, resource_view
from marketplace.matches.aid import COUNTED_FOR_RANKING, held_by_households, prior_aid_counts
from marketplace.matches.models import Match
from marketplace.matches.warm import warm_resources
from marketplace.needs.models import Need, NeedStatus
from marketplace.needs.services import public_needs_query
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.vocab import CATEGORIES, HouseholdStatus, PovertyCause
from matching import allocation, fair, rank
from matching.model import NeedView
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
    """Best open needs for a resource: candidates read as plain columns (no ORM object per
    candidate: a city's resource has tens of thousands), the winners loaded for display."""
    ranked = rank.needs_for_resource(
        resource_view(resource), candidate_need_views(resource), weights(), date.today(), limit
    )
    needs = {
        n.id: n
        for n in db.session.scalars(sa.select(Need).where(Need.id.in_([s.need_id for s in ranked])))
    }
    return [(needs[s.need_id], s) for s in ranked if s.need_id in needs]


def candidate_need_views(resource: Resource) -> list[NeedView]:
    """The engine's view of every need ``candidate_needs`` would return, in one query."""
    paths = [r.path for r in resource.service_area]
    if not paths or not resource.categories:
        return []
    # The villages first, then their needs by the village index: given the prefix condition
    # inside a join, PostgreSQL chose to read the whole need table instead.
    villages = list(
        db.session.scalars(
            sa.select(Region.id).where(
                sa.or_(*(Region.path.startswith(p, autoescape=True) for p in paths))
            )
        )
    )
    if not villages:
        return []
    aided = (
        sa.select(Need.household_id, sa.func.count(Match.id).label("times"))
        .join(Match, Match.need_id == Need.id)
        .where(
            Match.status.in_(COUNTED_FOR_RANKING),  # as prior_aid_counts counts
            Need.household_id.is_not(None),
            Need.village_id.in_(villages),
        )
        .group_by(Need.household_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(
            Need.id,
            Need.category,
            Need.subcategory,
            Region.path,
            Need.open_quantity,
            Household.status,
            Household.primary_cause,
            Household.other_causes,
            Need.urgency,
            Need.created_at,
            Need.title,
            Need.description,
            Region.lat,
            Region.lng,
            aided.c.times,
            Need.household_id,
            Household.labour_capacity,
        )
        .join(Region, Need.village_id == Region.id)
        .outerjoin(Household, Need.household_id == Household.id)
        .outerjoin(aided, aided.c.household_id == Need.household_id)
        .where(
            Need.status == NeedStatus.VERIFIED,
            Need.open_quantity > 0,
            sa.or_(
                Need.category.in_(resource.categories), Need.subcategory.in_(resource.categories)
            ),
            Need.village_id.in_(villages),
        )
    )
    today = date.today()
    return [
        NeedView(
            id=row.id,
            category=row.category,
            subcategory=row.subcategory,
            village_path=row.path,
            open_quantity=row.open_quantity,
            verified=True,
            household_status=row.status.value if row.status is not None else None,
            household_causes=(
                (row.primary_cause.value, *[c for c in row.other_causes or [] if c])
                if row.primary_cause is not None
                else ()
            ),
            urgency=row.urgency,
            days_waiting=max((today - row.created_at.date()).days, 0),
            prior_aid=row.times or 0,
            text=f"{row.title} {row.description}",
            lat=row.lat,
            lng=row.lng,
            household_id=row.household_id,
            household_labour=(
                row.labour_capacity.value if row.labour_capacity is not None else None
            ),
        )
        for row in rows
    ]


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
