"""The JSON API under /api/v1: the same services and permission checks as the pages.

Authentication: the browser session (cookies; POSTs then need the CSRF token) or a personal
token in ``Authorization: Bearer fp_...`` (no cookies, no CSRF; a read-only token only reads).

Every answer is JSON. A refusal is ``{"status": <code>, "message": "..."}`` (a refused field
adds ``detail``): 400 input that fails the schema, 401 no valid token or session, 403 not for
your role or token, 404 not found in your scope, 409 refused by the record's state or a rule,
413 too large. The OpenAPI document (/api/v1/openapi.json) declares each operation's answers;
tests/marketplace/api/test_openapi_conformance.py holds the API to it with schemathesis.

Handlers stay thin: they ask the domain services for the records (or build a small dataclass
for a computed answer) and return them; the output schemas (``schemas``) say what goes out, and
personal data goes out masked or in full (audited) in one place, ``disclosure``. The request
commits once, in ``create_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
import swagger_ui_bundle
from apiflask import APIBlueprint, HTTPError
from flask import abort, render_template, send_from_directory
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.api import schemas
from marketplace.api.disclosure import reader
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.matches import policy as match_policy
from marketplace.matches import services as matches
from marketplace.matches.models import Match
from marketplace.needs import services as needs
from marketplace.needs.models import Need
from marketplace.permissions import public, roles, signed_in
from marketplace.produce import services as produce
from marketplace.produce.models import ProduceListing, ProduceOrder
from marketplace.resources import services as resources
from marketplace.resources.models import Resource
from marketplace.roles import Role
from marketplace.search.services import search as run_search
from marketplace.search.views import parse_query

bp = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="v1")


# --- the OpenAPI document: security, error bodies, the answers of each operation ------------

BEARER = "BearerAuth"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal token (fp_...) made on the account's token page; a read-only "
        "token answers 403 to every POST. A signed-in browser session works too (POSTs then "
        "need the X-CSRFToken header).",
    }
}
Security = list[str | dict[str, list[Any]]]  # what APIFlask's doc(security=...) takes
SIGNED_IN: Security = [{BEARER: []}]
# Anyone may read; a token (or session) of staff, administrators and auditors sees more.
OPTIONAL: Security = [{}, {BEARER: []}]

ANSWERS = {
    400: "Refused input: a field fails the schema (detail names it) or text holds a NUL",
    403: "Not for your role, your token is read-only, or your password must be changed first",
    404: "No such record in your scope (an id out of range included)",
    409: "Refused by the record's current state or a rule: already decided, more than is "
    "still open or left, a resource that does not fit the need, dates that do not fit",
    413: "The body is larger than the server accepts",
}


def answers(*codes: int) -> dict[int, str]:
    return {code: ANSWERS[code] for code in (400, 403, *codes)}


READ = answers()
READ_ONE = answers(404)
ACT = answers(404, 409, 413)


@bp.record_once
def document(state: BlueprintSetupState) -> None:
    """The document describes what this API sends: its security scheme and error bodies."""
    state.app.config.update(
        SECURITY_SCHEMES=SECURITY_SCHEMES,
        HTTP_ERROR_SCHEMA=schemas.ErrorOut,
        VALIDATION_ERROR_SCHEMA=schemas.ValidationErrorOut,
    )
    state.app.spec_processor(finish_document)  # type: ignore[attr-defined]


def finish_document(spec: dict[str, Any]) -> dict[str, Any]:
    """What APIFlask does not say by itself: the range of ids in paths, and that a body with
    required fields is itself required."""
    components = spec.get("components", {}).get("schemas", {})
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                    parameter["schema"].update(minimum=1, maximum=schemas.MAX_ID)
            body = operation.get("requestBody")
            if body:
                ref = body["content"]["application/json"]["schema"].get("$ref", "")
                body["required"] = bool(components.get(ref.rsplit("/", 1)[-1], {}).get("required"))
    return spec


@bp.url_value_preprocessor
def ids_in_range(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An id beyond the database's integers names nothing: 404, before any query."""
    if values and any(isinstance(v, int) and v > schemas.MAX_ID for v in values.values()):
        abort(404)


@bp.errorhandler(HTTPError)
def refused_input(error: HTTPError) -> Any:
    """A body or query that fails its schema: the one error body, in the user's language, with
    the fields refused."""
    message = (
        _("The request could not be understood. Please check what you entered.")
        if error.status_code in (400, 422)
        else (error.message or "")
    )
    body = {"status": error.status_code, "message": message, "detail": error.detail}
    return body, error.status_code, error.headers


@bp.errorhandler(ServiceError)
def refused_by_rule(exc: ServiceError) -> Any:
    """The input passed the schema, so a plain refusal from a service is about the records
    (more than is open, a resource that does not fit, dates): 409, with the rule's message."""
    db.session.rollback()
    status = 409 if exc.status == 400 else exc.status
    return {"status": status, "message": str(exc.message)}, status


def _page(query: Any, page: dict[str, int]) -> list[Any]:
    return list(db.session.scalars(query.limit(page["limit"]).offset(page["offset"])))


# --- reads: the records, dumped by the output schemas (which mask personal data) -----------


@bp.get("/needs")
@public
@bp.doc(security=OPTIONAL, responses=READ)
@bp.input(schemas.NeedQuery, location="query", arg_name="query")
@bp.output(schemas.NeedOut(many=True))
def list_needs(query: dict[str, Any]) -> Any:
    """Open, verified needs; staff, administrators and auditors get every need in their scope."""
    select = needs.listed_needs(reader())
    if query["category"]:
        select = select.where(
            sa.or_(Need.category == query["category"], Need.subcategory == query["category"])
        )
    return _page(select.order_by(Need.id), query)


@bp.get("/needs/<int:need_id>")
@public
@bp.doc(security=OPTIONAL, responses=READ_ONE)
@bp.output(schemas.NeedOut)
def get_need(need_id: int) -> Any:
    return needs.get_need(reader(), need_id)


@bp.get("/resources")
@public
@bp.doc(security=OPTIONAL, responses=READ)
@bp.input(schemas.PageIn, location="query", arg_name="page")
@bp.output(schemas.ResourceOut(many=True))
def list_resources(page: dict[str, int]) -> Any:
    """Active resources of verified organizations."""
    return _page(resources.public_resources_query().order_by(Resource.id), page)


@bp.get("/resources/<int:resource_id>")
@public
@bp.doc(security=OPTIONAL, responses=READ_ONE)
@bp.output(schemas.ResourceOut)
def get_resource(resource_id: int) -> Any:
    return resources.get_resource(reader(), resource_id)


@bp.get("/matches")
@signed_in
@bp.doc(security=SIGNED_IN, responses=READ)
@bp.input(schemas.PageIn, location="query", arg_name="page")
@bp.output(schemas.MatchOut(many=True))
def list_matches(page: dict[str, int]) -> Any:
    """Your organization's matches (donors) or your regions' (everyone else)."""
    return _page(matches.matches_for(current_user).order_by(Match.id), page)


@bp.get("/matches/<int:match_id>")
@signed_in
@bp.doc(security=SIGNED_IN, responses=READ_ONE)
@bp.output(schemas.MatchOut)
def get_match(match_id: int) -> Any:
    return matches.get_match(current_user, match_id)


@bp.get("/households")
@roles(*Role.REGION_READERS)
@bp.doc(security=SIGNED_IN, responses=READ)
@bp.input(schemas.PageIn, location="query", arg_name="page")
@bp.output(schemas.HouseholdOut(many=True))
def list_households(page: dict[str, int]) -> Any:
    """Households in your scope, with their rosters; personal data masked unless your role
    may see it."""
    query = households.households_query(current_user).options(
        sa.orm.selectinload(Household.members)
    )
    return _page(query.order_by(Household.id), page)


@bp.get("/households/<int:household_id>")
@roles(*Role.REGION_READERS)
@bp.doc(security=SIGNED_IN, responses=READ_ONE)
@bp.output(schemas.HouseholdOut)
def get_household(household_id: int) -> Any:
    return households.get_household(current_user, household_id)


@bp.get("/needs/<int:need_id>/suggestions")
@signed_in
@bp.doc(security=SIGNED_IN, responses=READ_ONE)
@bp.input(schemas.SuggestionQuery, location="query", arg_name="query")
@bp.output(schemas.SuggestionOut(many=True))
def need_suggestions(need_id: int, query: dict[str, int]) -> Any:
    """The best resources for a need, with the score's components and their explanations."""
    from marketplace.matches.scoring import suggest_resources  # NumPy, SciPy: on first use

    need = needs.get_need(current_user, need_id)
    return [schemas.Suggestion(r, s) for r, s in suggest_resources(need, query["limit"])]


@bp.get("/resources/<int:resource_id>/suggestions")
@signed_in
@bp.doc(security=SIGNED_IN, responses=READ_ONE)
@bp.input(schemas.SuggestionQuery, location="query", arg_name="query")
@bp.output(schemas.SuggestionOut(many=True))
def resource_suggestions(resource_id: int, query: dict[str, int]) -> Any:
    """The best open needs for a resource (its members, administrators and auditors)."""
    from marketplace.matches.scoring import suggest_needs  # NumPy, SciPy: on first use

    resource = resources.get_resource(current_user, resource_id)
    if not match_policy.can_see_suggestions(current_user, resource):
        abort(404)
    return [schemas.Suggestion(n, s) for n, s in suggest_needs(resource, query["limit"])]


@bp.get("/search")
@public
@bp.doc(security=OPTIONAL, responses=READ)
@bp.input(schemas.SearchQueryIn, location="query", arg_name="args")
@bp.output(schemas.SearchOut)
def search(args: dict[str, str]) -> Any:
    """Search needs or resources (public text only, never personal data).

    Filters it does not know (a category, region, type or kind) are ignored and named in
    ``notes``; the words are cut to 200 characters.
    """
    query, notes = parse_query(args)
    return schemas.Found(results=run_search(query), page=query.page, notes=notes)


# --- actions: each answers the match as it is now --------------------------------------------


@bp.post("/needs/<int:need_id>/pledge")
@roles(Role.DONOR)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.PledgeIn, arg_name="body")
@bp.output(schemas.MatchOut, status_code=201)
def pledge(need_id: int, body: dict[str, Any]) -> Any:
    need = needs.get_need(current_user, need_id)
    resource = resources.get_resource(current_user, body["resource_id"])
    return matches.pledge(current_user, need, resource, body["quantity"])


@bp.post("/matches/<int:match_id>/approve")
@roles(*Role.ADMINS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.output(schemas.MatchOut)
def approve(match_id: int) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.approve(current_user, match)
    return match


@bp.post("/matches/<int:match_id>/reject")
@roles(*Role.ADMINS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.ReasonIn, arg_name="body")
@bp.output(schemas.MatchOut)
def reject(match_id: int, body: dict[str, Any]) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.reject(current_user, match, body["reason"])
    return match


@bp.post("/matches/<int:match_id>/deliver")
@roles(Role.DONOR)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.DeliverIn, arg_name="body")
@bp.output(schemas.MatchOut)
def deliver(match_id: int, body: dict[str, Any]) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.deliver(current_user, match, body["note"])
    return match


@bp.post("/matches/<int:match_id>/confirm")
@roles(*Role.EDITORS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.ConfirmIn, arg_name="body")
@bp.output(schemas.MatchOut)
def confirm(match_id: int, body: dict[str, Any]) -> Any:
    match = matches.get_match(current_user, match_id)
    matches.confirm(current_user, match, **body)
    return match


# --- produce sales (消费扶贫): open listings for anyone (masked), orders for their buyer -----


@bp.get("/produce")
@public
@bp.doc(security=OPTIONAL, responses=READ)
@bp.input(schemas.ProduceQuery, location="query", arg_name="query")
@bp.output(schemas.ProduceListingOut(many=True))
def list_produce(query: dict[str, Any]) -> Any:
    """Produce on sale (verified, with something left): the village and the product, never
    who the household is."""
    select = produce.open_listings_query()
    if query["category"]:
        select = select.where(ProduceListing.category == query["category"])
    return _page(select.order_by(ProduceListing.id), query)


@bp.get("/produce/<int:listing_id>")
@public
@bp.doc(security=OPTIONAL, responses=READ_ONE)
@bp.output(schemas.ProduceListingOut)
def get_produce(listing_id: int) -> Any:
    return produce.get_listing(reader(), listing_id)


@bp.post("/produce/<int:listing_id>/order")
@roles(Role.DONOR)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.ProduceOrderIn, arg_name="body")
@bp.output(schemas.ProduceOrderOut, status_code=201)
def order_produce(listing_id: int, body: dict[str, Any]) -> Any:
    """Order from a listing with one of your organization's purchase resources: within what
    is left of the listing and of the resource's budget."""
    listing = produce.get_listing(current_user, listing_id)
    resource = resources.get_resource(current_user, body["resource_id"])
    return produce.place_order(current_user, listing, resource, body["quantity"])


@bp.get("/produce/orders")
@signed_in
@bp.doc(security=SIGNED_IN, responses=READ)
@bp.input(schemas.PageIn, location="query", arg_name="page")
@bp.output(schemas.ProduceOrderOut(many=True))
def list_produce_orders(page: dict[str, int]) -> Any:
    """Your organization's produce orders (buyers) or your regions' (everyone else)."""
    return _page(produce.orders_for(current_user).order_by(ProduceOrder.id), page)


@bp.get("/produce/orders/<int:order_id>")
@signed_in
@bp.doc(security=SIGNED_IN, responses=READ_ONE)
@bp.output(schemas.ProduceOrderOut)
def get_produce_order(order_id: int) -> Any:
    return produce.get_order(current_user, order_id)


@bp.post("/produce/orders/<int:order_id>/hand_over")
@roles(*Role.EDITORS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.HandOverIn, arg_name="body")
@bp.output(schemas.ProduceOrderOut)
def hand_over_produce(order_id: int, body: dict[str, Any]) -> Any:
    """The staff of the listing's village hand the produce over to the buyer."""
    order = produce.get_order(current_user, order_id)
    produce.hand_over(current_user, order, body["note"])
    return order


@bp.post("/produce/orders/<int:order_id>/receive")
@roles(Role.DONOR)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.output(schemas.ProduceOrderOut)
def receive_produce(order_id: int) -> Any:
    """The buyer received the produce handed over."""
    order = produce.get_order(current_user, order_id)
    produce.receive(current_user, order)
    return order


@bp.post("/produce/orders/<int:order_id>/pay")
@roles(Role.DONOR)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.PaymentIn, arg_name="body")
@bp.output(schemas.ProduceOrderOut)
def pay_produce(order_id: int, body: dict[str, Any]) -> Any:
    """The buyer records its payment of the whole amount; the household's staff confirm it."""
    order = produce.get_order(current_user, order_id)
    produce.pay(current_user, order, body["paid_on"], body["reference"])
    return order


@bp.post("/produce/orders/<int:order_id>/confirm_payment")
@roles(*Role.EDITORS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.PaymentReceivedIn, arg_name="body")
@bp.output(schemas.ProduceOrderOut)
def confirm_produce_payment(order_id: int, body: dict[str, Any]) -> Any:
    """The staff of the listing's village confirm, with the household, that the payment
    arrived: the amount is recorded as the household's income."""
    order = produce.get_order(current_user, order_id)
    produce.confirm_payment(current_user, order, body["received_on"])
    return order


@bp.post("/produce/orders/<int:order_id>/cancel")
@roles(Role.DONOR, *Role.EDITORS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.ReasonIn, arg_name="body")
@bp.output(schemas.ProduceOrderOut)
def cancel_produce(order_id: int, body: dict[str, Any]) -> Any:
    """Before the handover, by the buyer (or the village's staff when the household cannot
    supply it): the quantity and the budget are released."""
    order = produce.get_order(current_user, order_id)
    produce.cancel(current_user, order, body["reason"])
    return order


@bp.post("/produce/orders/<int:order_id>/dispute")
@roles(Role.DONOR, *Role.EDITORS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.ReasonIn, arg_name="body")
@bp.output(schemas.ProduceOrderOut)
def dispute_produce(order_id: int, body: dict[str, Any]) -> Any:
    """The buyer disputes a handover (not received, not as described), the village's staff a
    payment the household did not receive; the region's administrators resolve it."""
    order = produce.get_order(current_user, order_id)
    produce.dispute(current_user, order, body["reason"])
    return order


@bp.post("/produce/orders/<int:order_id>/resolve")
@roles(*Role.ADMINS)
@bp.doc(security=SIGNED_IN, responses=ACT)
@bp.input(schemas.ResolveIn, arg_name="body")
@bp.output(schemas.ProduceOrderOut)
def resolve_produce(order_id: int, body: dict[str, Any]) -> Any:
    """The region's administrators decide a disputed order, with the reason."""
    order = produce.get_order(current_user, order_id)
    produce.resolve_dispute(current_user, order, body["outcome"], body["reason"])
    return order


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
    if name not in {"swagger-ui.css", "swagger-ui-bundle.js"}:
        abort(404)
    return send_from_directory(Path(swagger_ui_bundle.swagger_ui_path), name)
