"""The bridge between the pages and the matching library: suggestions, scores, allocation,
and the wording of explanations."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, selectinload

from marketplace.extensions import db
from marketplace.households.services import prior_aid_counts
from marketplace.matches.adapters import need_view, resource_view
from marketplace.needs.models import Need
from marketplace.needs.services import public_needs_query
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.vocab import CATEGORIES
from matching import allocation, rank
from matching.model import NeedView
from matching.scoring import Explanation, Scored, Weights, score

WORDING: dict[tuple[str, str], LazyString] = {
    ("category", "exact"): _l("Category matches exactly: %(category)s"),
    ("category", "compatible"): _l("Compatible category: %(category)s"),
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
    }


def _need_views(needs: list[Need]) -> list[NeedView]:
    prior = prior_aid_counts([n.household_id for n in needs if n.household_id])
    return [need_view(n, prior.get(n.household_id or 0, 0)) for n in needs]


def score_pair(need: Need, resource: Resource) -> tuple[float, dict[str, Any]]:
    """The score and breakdown stored with a pledge (and the weights that made it)."""
    used = weights()
    candidates = rank.resources_for_need(
        _need_views([need])[0], [resource_view(resource)], used, date.today(), limit=1
    )
    if candidates:
        return round(candidates[0].score, 6), breakdown(candidates[0], used)
    # Pledges pass the hard constraints first, so this is a resource that ran out meanwhile.
    plain = score(_need_views([need])[0], resource_view(resource), used)
    return round(plain.score, 6), breakdown(plain, used)


def suggest_resources(need: Need, limit: int = 5) -> list[tuple[Resource, Scored]]:
    """Best public resources for a need, from the process's warm index."""
    from marketplace.matches.warm import warm_resources

    ranked = warm_resources().top(_need_views([need])[0], weights(), date.today(), limit)
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
    needs = candidate_needs(resource)
    ranked = rank.needs_for_resource(
        resource_view(resource), _need_views(needs), weights(), date.today(), limit
    )
    by_id = {n.id: n for n in needs}
    return [(by_id[s.need_id], s) for s in ranked]


def propose_allocation(
    resource: Resource, region_path: str, village_cap: int | None
) -> tuple[allocation.Allocation, allocation.Allocation, dict[int, Need], dict[int, Scored]]:
    """The optimal allocation of one scarce resource over the needs in a region, with the
    greedy baseline beside it."""
    needs = candidate_needs(resource, region_path)
    views = _need_views(needs)
    used = weights()
    ranked = rank.needs_for_resource(
        resource_view(resource), views, used, date.today(), limit=max(len(views), 1)
    )
    by_id = {n.id: n for n in needs}
    problem = allocation.Problem.of_pairs(
        (allocation.Pair(s.need_id, resource.id, round(s.score, 6)) for s in ranked),
        need_quantity={n.id: n.open_quantity for n in needs},
        capacity={resource.id: resource.remaining},
        village_of={n.id: by_id[n.id].village.code for n in needs},
        village_cap=village_cap,
    )
    return (
        allocation.optimal(problem),
        allocation.greedy(problem),
        by_id,
        {s.need_id: s for s in ranked},
    )
