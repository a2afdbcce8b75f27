"""Resources: posted by members of a donor organization, public once it is verified. Who may
do what with one is in ``resources.policy``; these refuse when it says no."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organization, User, VerificationStatus
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.regions.models import Region
from marketplace.resources import capacity as capacity_rule
from marketplace.resources import policy
from marketplace.resources.models import (
    Resource,
    ResourceKind,
    ResourceStatus,
    default_labour_required,
    default_per_household,
)

# Still read from here by packages above (search, api); the rules themselves are the policy's.
from marketplace.resources.policy import is_member as is_member
from marketplace.resources.policy import is_public as is_public
from marketplace.transitions import conflict
from marketplace.vocab import CATEGORIES, HouseholdStatus, PovertyCause

FIELDS = ("kind", "title", "description", "categories", "unit", "unit_value",
          "eligible_statuses", "eligible_causes", "valid_from", "valid_until",
          "delivery_deadline", "per_household", "labour_required", "priority_causes",
          "priority_statuses")  # fmt: skip

# The most units of one resource a donor may allow one household.
MAX_PER_HOUSEHOLD = 100_000_000


def public_resources_query() -> sa.Select[Any]:
    """Active resources of verified organizations, valid today."""
    today = date.today()
    return (
        sa.select(Resource)
        .join(Organization, Resource.organization_id == Organization.id)
        .where(
            Resource.status == ResourceStatus.ACTIVE,
            Organization.status == VerificationStatus.VERIFIED,
            Resource.valid_from <= today,
            Resource.valid_until >= today,
        )
    )


def get_resource(user: User | None, resource_id: int) -> Resource:
    """The resource, if the user may see it (``policy.can_view``); 404 otherwise."""
    # Its organization with it (the visibility check and every page read it).
    resource = db.session.get(
        Resource, resource_id, options=[sa.orm.joinedload(Resource.organization)]
    )
    if resource is None or not policy.can_view(user, resource):
        raise ServiceError(_l("The page or record was not found."), 404)
    return resource


def own_resources(user: User) -> sa.Select[Any]:
    return sa.select(Resource).where(Resource.organization_id == user.organization_id)


def _require_donor(actor: User) -> Organization:
    if not policy.can_post(actor) or actor.organization is None:
        raise ServiceError(_l("Only members of a donor organization post resources."), 403)
    return actor.organization


def _validate(values: dict[str, Any], service_area: list[Region]) -> None:
    values["kind"] = ResourceKind(values["kind"])
    if not values["categories"] or any(c not in CATEGORIES for c in values["categories"]):
        raise ServiceError(_l("Choose at least one category from the list."), field="categories")
    if not service_area:
        raise ServiceError(
            _l("Choose at least one region the resource reaches."), field="service_area"
        )
    if Decimal(values["unit_value"] or 0) < 0:
        raise ServiceError(_l("The value cannot be negative."), field="unit_value")
    if values["valid_until"] < values["valid_from"]:
        raise ServiceError(_l("The end of validity comes before its start."), field="valid_until")
    deadline = values.get("delivery_deadline")
    if deadline is not None and deadline < values["valid_from"]:
        raise ServiceError(
            _l("The delivery deadline comes before the start of validity."),
            field="delivery_deadline",
        )
    values["eligible_statuses"] = [HouseholdStatus(s).value for s in values["eligible_statuses"]]
    values["eligible_causes"] = [PovertyCause(c).value for c in values["eligible_causes"]]
    _fairness(values)
    # Keep the list small and canonical: a top category makes its sub-categories redundant.
    tops = {c for c in values["categories"] if "." not in c}
    values["categories"] = sorted(
        c for c in set(values["categories"]) if "." not in c or c.split(".")[0] not in tops
    )


def _fairness(values: dict[str, Any]) -> None:
    """The per-household limit, labour and priorities: what a caller leaves out is the kind's
    default (goods: one per household; jobs and training: someone able to work)."""
    kind = values["kind"]
    per_household = values.setdefault("per_household", default_per_household(kind))
    if per_household is not None and (
        not isinstance(per_household, int)
        or isinstance(per_household, bool)
        or not 1 <= per_household <= MAX_PER_HOUSEHOLD
    ):
        raise ServiceError(
            _l("The most per household must be a whole number above zero, or left empty for "
               "no limit."),
            field="per_household",
        )  # fmt: skip
    values["labour_required"] = bool(values.get("labour_required", default_labour_required(kind)))
    values["priority_statuses"] = [
        HouseholdStatus(s).value for s in values.get("priority_statuses") or []
    ]
    values["priority_causes"] = [PovertyCause(c).value for c in values.get("priority_causes") or []]


def _check_capacity(capacity: int | None) -> None:
    if capacity is not None and (not isinstance(capacity, int) or capacity <= 0):
        raise ServiceError(
            _l("Capacity must be a whole number above zero, or unlimited."), field="capacity"
        )


def create_resource(
    actor: User, *, capacity: int | None, service_area: list[Region], **values: Any
) -> Resource:
    org = _require_donor(actor)
    _check_capacity(capacity)
    _validate(values, service_area)
    resource = Resource(
        organization=org,
        created_by_id=actor.id,
        capacity=capacity,
        remaining=capacity,
        service_area=service_area,
        status=ResourceStatus.ACTIVE,
        **values,
    )
    db.session.add(resource)
    db.session.flush()
    record_event(
        "resource_created", actor, resource,
        after={"kind": resource.kind.value, "capacity": capacity},
    )  # fmt: skip
    return resource


# The statuses of a match that hold capacity of its resource: matches.policy.HOLDING, which
# tests/marketplace/resources/test_editing.py keeps equal to this.
HOLDING_STATUSES = ("approved", "delivered", "disputed", "confirmed")


def _taken() -> sa.ColumnElement[int]:
    """What the resource has given, as SQL over its own row (so that it can sit in the UPDATE).

    A limited resource keeps it as capacity - remaining: matches' capacity code moves
    ``remaining`` in the same statement that checks it, and an expression over the row is
    evaluated again on the row a concurrent approval just wrote. An unlimited one keeps no
    count (NULL - NULL), so it is the quantity of its matches that hold capacity, read from the
    match table by name (as notifications read the user table): resources sit below matches and
    may not import them. That is the simplest correct way: a ``taken`` column would need a
    migration and every capacity change in matches to keep it, and a signal answered by matches
    would count 0 whenever nothing is connected to it."""
    match = db.metadata.tables["match"]
    held = (
        sa.select(sa.func.coalesce(sa.func.sum(match.c.quantity), 0))
        .where(match.c.resource_id == Resource.id, match.c.status.in_(HOLDING_STATUSES))
        .scalar_subquery()
    )
    return sa.case(
        (Resource.capacity.is_(None), held), else_=Resource.capacity - Resource.remaining
    )


def update_resource(
    actor: User,
    resource: Resource,
    *,
    capacity: int | None,
    service_area: list[Region],
    **values: Any,
) -> None:
    if not policy.can_manage(actor, resource):
        raise ServiceError(_l("The page or record was not found."), 404)
    if not policy.can_edit(actor, resource):
        raise ServiceError(_l("A closed resource can no longer be edited."), 409)
    _check_capacity(capacity)
    _validate(values, service_area)
    taken = db.session.scalar(sa.select(_taken()).where(Resource.id == resource.id)) or 0
    if capacity is not None and capacity < taken:
        raise ServiceError(
            _l("Capacity cannot be lower than the %(taken)s already approved.", taken=taken),
            field="capacity",
        )
    before = {"capacity": resource.capacity, "remaining": resource.remaining}
    # One statement, so a concurrent approval cannot slip between reading and writing.
    db.session.execute(
        sa.update(Resource)
        .where(Resource.id == resource.id)
        .values(
            capacity=capacity,
            remaining=None if capacity is None else capacity - _taken(),
        )
    )
    db.session.refresh(resource, ["capacity", "remaining"])
    for name in FIELDS:
        setattr(resource, name, values[name])
    # A purchase resource's produce orders keep what they hold (resources.capacity).
    held = capacity_rule.orders_hold(resource)
    left = capacity_rule.value_left(resource, held=held)
    if left is not None and left < 0:
        raise ServiceError(
            _l("Produce orders hold %(held)s yuan of this purchase resource: what is left "
               "after the approved matches must still pay for them.", held=held),
            field="capacity",
        )  # fmt: skip
    resource.service_area = service_area
    # A change of service area alone touches no column: the stamp tells warm indexes.
    resource.updated_at = utcnow()
    after = {"capacity": resource.capacity, "remaining": resource.remaining}
    record_event("resource_updated", actor, resource, before=before, after=after)


def set_status(actor: User, resource: Resource, status: ResourceStatus) -> None:
    """Pause, resume or close: a move of the workflow (409 when illegal, or when someone else
    moved the resource since it was read)."""
    if not policy.can_manage(actor, resource):
        raise ServiceError(_l("The page or record was not found."), 404)
    if not policy.can_move(actor, resource, status):
        raise conflict()
    before = policy.WORKFLOW.move(resource, status)
    record_event("resource_status", actor, resource, before={"status": before.value},
                 after={"status": status.value})  # fmt: skip


def expire_resources(now: datetime | None = None) -> dict[str, int]:
    """Resources whose validity has ended (``valid_until`` before today) move to EXPIRED, one at
    a time through the workflow: one paused, closed or extended since it was read is skipped
    (the move answers 409) and counted, and the next run takes it if it still has to go.
    Idempotent (for cron)."""
    today = (now or utcnow()).date()
    ended = Resource.valid_until < today
    due = db.session.scalars(
        sa.select(Resource).where(Resource.status.in_(policy.EXPIRING), ended).order_by(Resource.id)
    ).all()
    counts = {"expired": 0, "skipped": 0}
    for resource in due:
        try:
            # The end of validity is checked again in the move itself: an edit that extended
            # it after the read wins.
            before = policy.WORKFLOW.move(resource, ResourceStatus.EXPIRED, only_if=ended)
        except ServiceError as refused:
            if refused.status != 409:
                raise
            counts["skipped"] += 1
            continue
        record_event("resource_status", None, resource, before={"status": before.value},
                     after={"status": ResourceStatus.EXPIRED.value})  # fmt: skip
        counts["expired"] += 1
    return counts
