"""Resource pages: public list and detail, posting and editing by donors."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.forms import ReasonForm
from marketplace.matches import scoring
from marketplace.matches import services as matches
from marketplace.matches.models import Match
from marketplace.permissions import public, roles
from marketplace.regions import services as region_services
from marketplace.regions.models import Region, RegionLevel
from marketplace.resources import services
from marketplace.resources.forms import ResourceForm
from marketplace.resources.models import Resource, ResourceStatus
from marketplace.vocab import CATEGORY_TREE
from marketplace.web import form_status, paginate, submitted

bp = Blueprint("resources", __name__, url_prefix="/resources")


@bp.route("/")
@public
def index() -> Any:
    mine = current_user.is_authenticated and current_user.role == Role.DONOR
    query = (
        services.own_resources(current_user)
        if mine and request.args.get("mine")
        else services.public_resources_query()
    )
    page = paginate(query.order_by(Resource.created_at.desc()))
    return render_template("resources/list.html", page=page, mine=mine)


def _form_choices(form: ResourceForm) -> None:
    form.categories.choices = [
        SelectChoice(c.code, c.label, optgroup=str(top.label))
        for top, subs in CATEGORY_TREE
        for c in (top, *subs)
    ]
    deployed = region_services.deployment_regions()
    townships = db.session.scalars(
        sa.select(Region)
        .where(
            Region.level == RegionLevel.TOWNSHIP,
            sa.or_(sa.false(), *(Region.path.startswith(r.path) for r in deployed)),
        )
        .order_by(Region.path)
    ).all()
    form.service_area.choices = [SelectChoice(r.id, r.full_name) for r in [*deployed, *townships]]


def _values(form: ResourceForm) -> dict[str, Any]:
    area = db.session.scalars(sa.select(Region).where(Region.id.in_(form.service_area.data))).all()
    return {
        "kind": form.kind.data,
        "title": form.title.data.strip(),
        "description": (form.description.data or "").strip(),
        "categories": form.categories.data or [],
        "capacity": None if form.unlimited.data else form.capacity.data,
        "unit": form.unit.data.strip(),
        "unit_value": form.unit_value.data,
        "service_area": list(area),
        "eligible_statuses": form.eligible_statuses.data or [],
        "eligible_causes": form.eligible_causes.data or [],
        "valid_from": form.valid_from.data,
        "valid_until": form.valid_until.data,
        "delivery_deadline": form.delivery_deadline.data,
    }


@bp.route("/new", methods=["GET", "POST"])
@roles(Role.DONOR)
def create() -> Any:
    form = ResourceForm()
    _form_choices(form)
    done = submitted(form, lambda: services.create_resource(current_user, **_values(form)))
    if done and done.value:
        flash(_("Resource posted."), "success")
        return redirect(url_for("resources.detail", resource_id=done.value.id))
    return render_template("resources/form.html", form=form), form_status(form)


@bp.route("/<int:resource_id>")
@public
def detail(resource_id: int) -> Any:
    user = current_user if current_user.is_authenticated else None
    resource = services.get_resource(user, resource_id)
    member = services.is_member(user, resource)
    own_matches: list[Match] = []
    if member:
        own_matches = list(
            db.session.scalars(
                matches.matches_for(current_user)
                .where(Match.resource_id == resource.id)
                .order_by(Match.id.desc())
            )
        )
    suggestions = []
    if member and services.is_public(resource):
        from marketplace.households.services import identity

        found = scoring.suggest_needs(resource, limit=10)
        names = identity(current_user, [n.household for n, _s in found if n.household])
        suggestions = [(n, s, names[n.household.id]["name"] if n.household else "")
                       for n, s in found]  # fmt: skip
    may_allocate = (
        user is not None
        and user.role in (Role.ADMIN, Role.SUPERUSER)
        and resource.capacity is not None
        and services.is_public(resource)
    )
    response = render_template(
        "resources/detail.html",
        resource=resource,
        member=member,
        public=services.is_public(resource),
        matches=own_matches,
        suggestions=suggestions,
        may_allocate=may_allocate,
    )
    return response


@bp.route("/<int:resource_id>/allocate", methods=["GET", "POST"])
@roles(Role.ADMIN, Role.SUPERUSER)
def allocate(resource_id: int) -> Any:
    """Propose the fairest use of a scarce resource in the administrator's region."""
    resource = services.get_resource(current_user, resource_id)
    regions = [r for r in current_user.regions] or region_services.deployment_regions()
    source = request.form if request.method == "POST" else request.args
    region = regions[0]
    if source.get("region"):
        region = next((r for r in regions if str(r.id) == source.get("region")), None) or abort(404)
    cap_raw = (source.get("cap") or "").strip()
    village_cap = int(cap_raw) if cap_raw.isdigit() and int(cap_raw) > 0 else None
    if cap_raw and village_cap is None:  # never silently allocate without the cap asked for
        raise ServiceError(_l("The cap per village must be a whole number above zero."))
    if request.method == "POST":
        if not ReasonForm().validate_on_submit():
            abort(400)
        created = matches.allocate(current_user, resource, region, village_cap)
        flash(_("%(n)s matches proposed; they wait in the approval queue.", n=len(created)),
              "success")  # fmt: skip
        return redirect(url_for("matches.approvals"))
    best, greedy, needs_by_id, scored = scoring.propose_allocation(
        resource, region.path, village_cap
    )
    return render_template(
        "resources/allocate.html", resource=resource, regions=regions, region=region,
        cap=village_cap, best=best, greedy=greedy, needs=needs_by_id, scored=scored,
    )  # fmt: skip


@bp.route("/<int:resource_id>/edit", methods=["GET", "POST"])
@roles(Role.DONOR)
def edit(resource_id: int) -> Any:
    resource = services.get_resource(current_user, resource_id)
    if not services.can_edit(current_user, resource):
        abort(404)  # another organization's resource, or one that is closed
    form = ResourceForm(obj=resource)
    _form_choices(form)
    if not form.is_submitted():
        form.kind.data = resource.kind.value
        form.unlimited.data = resource.capacity is None
        form.service_area.data = [r.id for r in resource.service_area]
    if submitted(form, lambda: services.update_resource(current_user, resource, **_values(form))):
        flash(_("Saved."), "success")
        return redirect(url_for("resources.detail", resource_id=resource.id))
    return render_template("resources/form.html", form=form, resource=resource), form_status(form)


@bp.route("/<int:resource_id>/<any(pause, activate, close):action>", methods=["POST"])
@roles(Role.DONOR)
def change_status(resource_id: int, action: str) -> Any:
    resource = services.get_resource(current_user, resource_id)
    target = {
        "pause": ResourceStatus.PAUSED,
        "activate": ResourceStatus.ACTIVE,
        "close": ResourceStatus.CLOSED,
    }[action]
    services.set_status(current_user, resource, target)
    flash(_("Saved."), "success")
    return redirect(url_for("resources.detail", resource_id=resource.id))
