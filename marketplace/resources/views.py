"""Resource pages: public list and detail, posting and editing by donors."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.accounts import policy as accounts_policy
from marketplace.extensions import db
from marketplace.permissions import public, roles
from marketplace.regions import services as region_services
from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import load_ancestors
from marketplace.resources import policy, services
from marketplace.resources.forms import ResourceForm
from marketplace.resources.models import (
    Resource,
    ResourceKind,
    ResourceStatus,
    default_labour_required,
    default_per_household,
)
from marketplace.roles import Role
from marketplace.signals import page_context, resource_page
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
    user = current_user if current_user.is_authenticated else None
    return render_template(
        "resources/list.html", page=page, mine=mine, may={"post": policy.can_post(user)}
    )


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
        "per_household": form.per_household.data,
        "labour_required": bool(form.labour_required.data),
        "priority_statuses": form.priority_statuses.data or [],
        "priority_causes": form.priority_causes.data or [],
    }


@bp.route("/new", methods=["GET", "POST"])
@roles(Role.DONOR)
def create() -> Any:
    form = ResourceForm()
    _form_choices(form)
    if not form.is_submitted():
        # The kind's defaults (one per household for goods, ...); ?kind= chooses the kind.
        chosen = request.args.get("kind", "")
        known = {k.value: k for k in ResourceKind}
        form.set_defaults(known.get(chosen, ResourceKind.GOODS))
    done = submitted(form, lambda: services.create_resource(current_user, **_values(form)))
    if done and done.value:
        flash(_("Resource posted."), "success")
        return redirect(url_for("resources.detail", resource_id=done.value.id))
    return _form_page(form), form_status(form)


@bp.route("/<int:resource_id>")
@public
def detail(resource_id: int) -> Any:
    """The resource page; its matches, best needs and allocation link come from matches
    (above resources) through the ``resource_page`` signal."""
    user = current_user if current_user.is_authenticated else None
    resource = services.get_resource(user, resource_id)
    # The service area's parents (full_name) in one query, not one per parent.
    places = load_ancestors(resource.service_area)
    return render_template(
        "resources/detail.html",
        resource=resource,
        places=places,  # held while the page renders
        member=policy.is_member(user, resource),
        public=policy.is_public(resource),
        may=policy.actions(user, resource),
        **page_context(resource_page, user=user, resource=resource),
    )


@bp.route("/<int:resource_id>/edit", methods=["GET", "POST"])
@roles(Role.DONOR)
def edit(resource_id: int) -> Any:
    resource = services.get_resource(current_user, resource_id)
    if not policy.can_edit(current_user, resource):
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
    return _form_page(form, resource), form_status(form)


def _form_page(form: ResourceForm, resource: Resource | None = None) -> str:
    """The posting and editing form; what the donor's organization may do (correct and submit
    it again) comes from its policy, for the alert above the form."""
    org = current_user.organization
    org_may = accounts_policy.organization_actions(current_user, org) if org is not None else {}
    defaults = {
        kind.value: {
            "per_household": default_per_household(kind),
            "labour_required": default_labour_required(kind),
        }
        for kind in ResourceKind
    }
    return render_template(
        "resources/form.html", form=form, resource=resource, org_may=org_may, defaults=defaults
    )


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
