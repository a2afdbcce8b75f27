"""The JSON API under /api/v1: the same services and permission checks as the pages.

Authentication: the browser session (cookies; POSTs then need the CSRF token) or a personal
token in ``Authorization: Bearer fp_...`` (no cookies, no CSRF).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apiflask import APIBlueprint
from flask import abort, render_template, send_from_directory
from flask_login import current_user

from marketplace.accounts.models import Role, User
from marketplace.api import schemas
from marketplace.extensions import db
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.matches import services as matches
from marketplace.matches.models import Match
from marketplace.needs import services as needs
from marketplace.needs.models import Need
from marketplace.permissions import public, roles, signed_in
from marketplace.resources import services as resources
from marketplace.resources.models import Resource

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="v1")

IN_SCOPE = (Role.STAFF, Role.ADMIN, Role.AUDITOR, Role.SUPERUSER)


def _user() -> User | None:
    return current_user if current_user.is_authenticated else None


def _household_brief(household: Household | None, names: dict[int, dict[str, str]]) -> Any:
    if household is None:
        return None
    return {
        "id": household.id,
        "name": names[household.id]["name"],
        "status": household.status.value,
        "causes": household.causes,
    }


def need_out(need: Need, names: dict[int, dict[str, str]]) -> dict[str, Any]:
    return {
        "id": need.id, "title": need.title, "description": need.description,
        "category": need.category, "subcategory": need.subcategory,
        "village": need.village.full_name, "village_code": need.village.code,
        "quantity": need.quantity, "open_quantity": need.open_quantity, "unit": need.unit,
        "estimated_value": need.estimated_value, "urgency": need.urgency,
        "needed_by": need.needed_by, "status": need.status.value,
        "household": _household_brief(need.household, names),
    }  # fmt: skip


def _names_for(households_list: list[Household]) -> dict[int, dict[str, str]]:
    user = _user()
    if user is None:
        from marketplace.privacy import mask_name

        return {h.id: {"name": mask_name(h.head_name)} for h in households_list}
    return households.identity(user, households_list)


def resource_out(resource: Resource) -> dict[str, Any]:
    return {
        "id": resource.id, "title": resource.title, "description": resource.description,
        "kind": resource.kind.value, "organization": resource.organization.name,
        "categories": resource.categories, "capacity": resource.capacity,
        "remaining": resource.remaining, "unit": resource.unit, "unit_value": resource.unit_value,
        "service_area": [r.code for r in resource.service_area],
        "eligible_statuses": resource.eligible_statuses,
        "eligible_causes": resource.eligible_causes, "valid_from": resource.valid_from,
        "valid_until": resource.valid_until, "delivery_deadline": resource.delivery_deadline,
        "status": resource.status.value,
    }  # fmt: skip


def match_out(match: Match, names: dict[int, dict[str, str]]) -> dict[str, Any]:
    household = match.need.household
    return {
        "id": match.id, "need_id": match.need_id, "resource_id": match.resource_id,
        "quantity": match.quantity, "status": match.status.value, "score": match.score,
        "household": names[household.id]["name"] if household else None,
        "village": match.need.village.full_name, "received_quantity": match.received_quantity,
        "satisfaction": match.satisfaction, "feedback": match.feedback,
    }  # fmt: skip


def _page(query: Any, page: dict[str, int]) -> list[Any]:
    return list(db.session.scalars(query.limit(page["limit"]).offset(page["offset"])))


# --- reads ---------------------------------------------------------------------------------


@bp.get("/needs")
@public
@bp.input(schemas.NeedQuery, location="query", arg_name="query")
@bp.output(schemas.NeedOut(many=True))
def list_needs(query: dict[str, Any]) -> Any:
    """Open, verified needs; staff, administrators and auditors get every need in their scope."""
    user = _user()
    select = (
        needs.needs_query(user) if user and user.role in IN_SCOPE else needs.public_needs_query()
    )
    if query["category"]:
        select = select.where(
            sa.or_(Need.category == query["category"], Need.subcategory == query["category"])
        )
    rows = _page(select.order_by(Need.id), query)
    names = _names_for([n.household for n in rows if n.household])
    return [need_out(n, names) for n in rows]


@bp.get("/needs/<int:need_id>")
@public
@bp.output(schemas.NeedOut)
def get_need(need_id: int) -> Any:
    need = needs.get_need(_user(), need_id)
    names = _names_for([need.household] if need.household else [])
    return need_out(need, names)


@bp.get("/resources")
@public
@bp.input(schemas.PageIn, location="query", arg_name="page")
@bp.output(schemas.ResourceOut(many=True))
def list_resources(page: dict[str, int]) -> Any:
    """Active resources of verified organizations."""
    rows = _page(resources.public_resources_query().order_by(Resource.id), page)
    return [resource_out(r) for r in rows]


@bp.get("/resources/<int:resource_id>")
@public
@bp.output(schemas.ResourceOut)
def get_resource(resource_id: int) -> Any:
    return resource_out(resources.get_resource(_user(), resource_id))


@bp.get("/matches")
@signed_in
@bp.input(schemas.PageIn, location="query", arg_name="page")
@bp.output(schemas.MatchOut(many=True))
def list_matches(page: dict[str, int]) -> Any:
    """Your organization's matches (donors) or your regions' (everyone else)."""
    rows = _page(matches.matches_for(current_user).order_by(Match.id), page)
    names = _names_for([m.need.household for m in rows if m.need.household])
    return [match_out(m, names) for m in rows]


@bp.get("/matches/<int:match_id>")
@signed_in
@bp.output(schemas.MatchOut)
def get_match(match_id: int) -> Any:
    match = matches.get_match(current_user, match_id)
    names = _names_for([match.need.household] if match.need.household else [])
    return match_out(match, names)


def household_out(household: Household, shown: dict[str, str]) -> dict[str, Any]:
    return {
        "id": household.id, "register_number": household.register_number,
        "name": shown["name"], "id_number": shown["id_number"], "phone": shown["phone"],
        "village": household.village.full_name, "member_count": household.member_count,
        "primary_cause": household.primary_cause.value, "other_causes": household.other_causes,
        "status": household.status.value, "labour_capacity": household.labour_capacity.value,
    }  # fmt: skip


@bp.get("/households")
@roles(*IN_SCOPE)
@bp.input(schemas.PageIn, location="query", arg_name="page")
@bp.output(schemas.HouseholdOut(many=True))
def list_households(page: dict[str, int]) -> Any:
    """Households in your scope; personal data masked unless your role may see it."""
    rows = _page(households.households_query(current_user).order_by(Household.id), page)
    shown = households.identity(current_user, rows)
    return [household_out(h, shown[h.id]) for h in rows]


@bp.get("/households/<int:household_id>")
@roles(*IN_SCOPE)
@bp.output(schemas.HouseholdOut)
def get_household(household_id: int) -> Any:
    household = households.get_household(current_user, household_id)
    shown = households.identity(current_user, [household])[household.id]
    return household_out(household, shown)


def _suggestion(item_id: int, title: str, scored: Any) -> dict[str, Any]:
    from marketplace.matches.scoring import explain

    words = [
        explain({"component": e.component, "code": e.code, "params": e.params})
        for e in scored.explanations
    ]
    return {
        "id": item_id, "title": title, "score": round(scored.score, 4),
        "components": scored.components, "explanations": [w for w in words if w],
    }  # fmt: skip


@bp.get("/needs/<int:need_id>/suggestions")
@signed_in
@bp.input(schemas.SuggestionQuery, location="query", arg_name="query")
@bp.output(schemas.SuggestionOut(many=True))
def need_suggestions(need_id: int, query: dict[str, int]) -> Any:
    """The best resources for a need, with the score's components and their explanations."""
    from marketplace.matches.scoring import suggest_resources

    need = needs.get_need(current_user, need_id)
    return [_suggestion(r.id, r.title, s) for r, s in suggest_resources(need, query["limit"])]


@bp.get("/resources/<int:resource_id>/suggestions")
@signed_in
@bp.input(schemas.SuggestionQuery, location="query", arg_name="query")
@bp.output(schemas.SuggestionOut(many=True))
def resource_suggestions(resource_id: int, query: dict[str, int]) -> Any:
    """The best open needs for a resource (its members, administrators and auditors)."""
    from marketplace.matches.scoring import suggest_needs

    resource = resources.get_resource(current_user, resource_id)
    if not (resources.is_member(current_user, resource) or current_user.role in IN_SCOPE):
        abort(404)
    return [_suggestion(n.id, n.title, s) for n, s in suggest_needs(resource, query["limit"])]


# --- actions -------------------------------------------------------------------------------


def _match_result(match: Match) -> Any:
    names = _names_for([match.need.household] if match.need.household else [])
    return match_out(match, names)


@bp.post("/needs/<int:need_id>/pledge")
@roles(Role.DONOR)
@bp.input(schemas.PledgeIn, arg_name="body")
@bp.output(schemas.MatchOut, status_code=201)
def pledge(need_id: int, body: dict[str, Any]) -> Any:
    need = needs.get_need(current_user, need_id)
    resource = resources.get_resource(current_user, body["resource_id"])
    return _match_result(matches.pledge(current_user, need, resource, body["quantity"]))


@bp.post("/matches/<int:match_id>/approve")
@roles(Role.ADMIN, Role.SUPERUSER)
@bp.output(schemas.MatchOut)
def approve(match_id: int) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.approve(current_user, match)
    return _match_result(match)


@bp.post("/matches/<int:match_id>/reject")
@roles(Role.ADMIN, Role.SUPERUSER)
@bp.input(schemas.ReasonIn, arg_name="body")
@bp.output(schemas.MatchOut)
def reject(match_id: int, body: dict[str, Any]) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.reject(current_user, match, body["reason"])
    return _match_result(match)


@bp.post("/matches/<int:match_id>/deliver")
@roles(Role.DONOR)
@bp.input(schemas.DeliverIn, arg_name="body")
@bp.output(schemas.MatchOut)
def deliver(match_id: int, body: dict[str, Any]) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.deliver(current_user, match, body["note"])
    return _match_result(match)


@bp.post("/matches/<int:match_id>/confirm")
@roles(Role.STAFF, Role.SUPERUSER)
@bp.input(schemas.ConfirmIn, arg_name="body")
@bp.output(schemas.MatchOut)
def confirm(match_id: int, body: dict[str, Any]) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.confirm(current_user, match, **body)
    return _match_result(match)


# --- documentation, served from this site ---------------------------------------------------


@bp.get("/docs")
@public
@bp.doc(hide=True)
def docs() -> Any:
    return render_template("api/docs.html")


@bp.get("/docs/assets/<path:name>")
@public
@bp.doc(hide=True)
def docs_asset(name: str) -> Any:
    import swagger_ui_bundle

    if name not in {"swagger-ui.css", "swagger-ui-bundle.js"}:
        abort(404)
    return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), name)
