"""Needs: posted by village staff, verified or returned by administrators, browsed by donors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role, User, VerificationStatus
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need, NeedStatus
from marketplace.notifications.services import notify
from marketplace.oversight.services import record_event
from marketplace.permissions import in_scope, region_clause
from marketplace.regions.models import Region, RegionLevel
from marketplace.resources.models import Resource, ResourceStatus, resource_service_area
from marketplace.vocab import CATEGORIES, SUBCATEGORY_CODES

EDITABLE = (NeedStatus.SUBMITTED, NeedStatus.RETURNED)
ACTIVE_MATCHES = (MatchStatus.APPROVED, MatchStatus.DELIVERED, MatchStatus.DISPUTED)
FIELDS = ("subcategory", "title", "description", "quantity", "unit", "estimated_value",
          "urgency", "needed_by")  # fmt: skip

# Legal moves of a need; everything else is refused with 409.
TRANSITIONS: dict[NeedStatus, set[NeedStatus]] = {
    NeedStatus.SUBMITTED: {NeedStatus.VERIFIED, NeedStatus.RETURNED, NeedStatus.WITHDRAWN},
    NeedStatus.RETURNED: {NeedStatus.SUBMITTED, NeedStatus.WITHDRAWN},
    NeedStatus.VERIFIED: {NeedStatus.FULFILLED, NeedStatus.WITHDRAWN},
    NeedStatus.FULFILLED: set(),
    NeedStatus.WITHDRAWN: set(),
}


def needs_query(user: User) -> sa.Select[Any]:
    """Needs inside the user's regions (staff, administrators, auditors)."""
    query = sa.select(Need).join(Region, Need.village_id == Region.id)
    if user.role == Role.DONOR:
        return query.where(sa.false())
    return query.where(region_clause(user, Region.path))


def public_needs_query() -> sa.Select[Any]:
    """Open, verified needs: what donors and the public may browse (masked)."""
    return (
        sa.select(Need)
        .join(Region, Need.village_id == Region.id)
        .where(Need.status == NeedStatus.VERIFIED, Need.open_quantity > 0)
    )


def get_need(user: User | None, need_id: int) -> Need:
    """A need the user may open: in scope, or open and verified for donors and the public."""
    need = db.session.get(Need, need_id)
    visible = need is not None and (
        (need.status == NeedStatus.VERIFIED and need.open_quantity > 0)
        or (user is not None and user.role != Role.DONOR and in_scope(user, need.village))
        or (user is not None and user.role == Role.DONOR and _pledged_by_org(user, need))
    )
    if not visible:
        raise ServiceError(_l("The page or record was not found."), 404)
    assert need is not None
    return need


def _pledged_by_org(user: User, need: Need) -> bool:
    return bool(
        user.organization_id
        and db.session.scalar(
            sa.select(Match.id)
            .join(Resource, Match.resource_id == Resource.id)
            .where(Match.need_id == need.id, Resource.organization_id == user.organization_id)
        )
    )


def may_edit(user: User, village: Region) -> bool:
    return user.role in (Role.STAFF, Role.SUPERUSER) and in_scope(user, village)


def can_edit(user: User, need: Need) -> bool:
    """Staff of the need's village edit it until it is verified."""
    return may_edit(user, need.village) and need.status in EDITABLE


def _move(need: Need, to: NeedStatus) -> None:
    if to not in TRANSITIONS[need.status]:
        raise ServiceError(_l("This action conflicts with the current state of the record."), 409)
    need.status = to


def _validate(values: dict[str, Any]) -> None:
    if values["subcategory"] not in SUBCATEGORY_CODES:
        raise ServiceError(_l("Choose a category from the list."), field="subcategory")
    quantity = values["quantity"]
    if not isinstance(quantity, int) or quantity <= 0:
        raise ServiceError(_l("The quantity must be a whole number above zero."), field="quantity")
    if not 1 <= int(values["urgency"]) <= 3:
        raise ServiceError(_l("Urgency is 1, 2 or 3."), field="urgency")
    if Decimal(values["estimated_value"] or 0) < 0:
        raise ServiceError(_l("The value cannot be negative."), field="estimated_value")
    needed_by = values.get("needed_by")
    if needed_by is not None and needed_by < date.today():
        raise ServiceError(_l("The date needed by cannot be in the past."), field="needed_by")


def create_need(actor: User, village: Region, household: Household | None, **values: Any) -> Need:
    if village.level != RegionLevel.VILLAGE or not may_edit(actor, village):
        raise ServiceError(_l("Only the staff of this village may post its needs."), 403)
    if household is not None and household.village_id != village.id:
        raise ServiceError(
            _l("This household does not belong to the chosen village."), field="household"
        )
    _validate(values)
    need = Need(
        village=village,
        household=household,
        category=CATEGORIES[values["subcategory"]].parent,
        open_quantity=values["quantity"],
        created_by_id=actor.id,
        status=NeedStatus.SUBMITTED,
        **values,
    )
    db.session.add(need)
    db.session.flush()
    record_event("need_created", actor, need, after={"category": need.subcategory})
    _notify_reviewers(need, "need_submitted")
    return need


def update_need(actor: User, need: Need, **values: Any) -> None:
    """Editable until verified; a returned need goes back to the review queue."""
    if not may_edit(actor, need.village):
        raise ServiceError(_l("Only the staff of this village may post its needs."), 403)
    if need.status not in EDITABLE:
        raise ServiceError(_l("A verified need can no longer be edited, only withdrawn."), 409)
    _validate(values)
    for name in FIELDS:
        setattr(need, name, values[name])
    need.category = CATEGORIES[need.subcategory].parent
    need.open_quantity = need.quantity
    if need.status == NeedStatus.RETURNED:
        _move(need, NeedStatus.SUBMITTED)
        need.return_reason = ""
        _notify_reviewers(need, "need_submitted")
    record_event("need_updated", actor, need, after={"status": need.status.value})


def withdraw_need(actor: User, need: Need) -> None:
    if not may_edit(actor, need.village):
        raise ServiceError(_l("Only the staff of this village may post its needs."), 403)
    active = db.session.scalar(
        sa.select(sa.func.count(Match.id)).where(
            Match.need_id == need.id, Match.status.in_(ACTIVE_MATCHES)
        )
    )
    if active:
        raise ServiceError(
            _l("This need has approved matches under way; it cannot be withdrawn now."), 409
        )
    before = need.status.value
    _move(need, NeedStatus.WITHDRAWN)
    from marketplace.matches.services import cancel_open_pledges

    cancel_open_pledges(actor, need=need)
    record_event("need_withdrawn", actor, need, before={"status": before})


def _require_reviewer(actor: User, need: Need) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPERUSER) or not in_scope(actor, need.village):
        raise ServiceError(_l("Only administrators of this region may review its needs."), 403)


def verify_need(actor: User, need: Need) -> None:
    _require_reviewer(actor, need)
    _move(need, NeedStatus.VERIFIED)
    need.verified_by_id = actor.id
    need.verified_at = utcnow()
    record_event("need_verified", actor, need, before={"status": "submitted"},
                 after={"status": "verified"})  # fmt: skip
    notify([need.created_by_id], "need_verified", f"/needs/{need.id}", title=need.title)


def return_need(actor: User, need: Need, reason: str) -> None:
    _require_reviewer(actor, need)
    if not reason.strip():
        raise ServiceError(_l("Give a reason when you return a need."))
    _move(need, NeedStatus.RETURNED)
    need.return_reason = reason.strip()[:500]
    record_event("need_returned", actor, need, after={"reason": need.return_reason})
    notify([need.created_by_id], "need_returned", f"/needs/{need.id}", title=need.title)


def review_queue(actor: User) -> sa.Select[Any]:
    return (
        needs_query(actor)
        .where(Need.status == NeedStatus.SUBMITTED)
        .order_by(Need.urgency.desc(), Need.created_at)
    )


def _notify_reviewers(need: Need, kind: str) -> None:
    from marketplace.notifications.services import admins_over

    notify(admins_over(need.village), kind, f"/needs/{need.id}", title=need.title)


def donor_service_paths(user: User) -> list[str]:
    """Region paths covered by the active resources of the donor's verified organization."""
    if user.organization is None or user.organization.status != VerificationStatus.VERIFIED:
        return []
    rows = db.session.scalars(
        sa.select(Region.path)
        .join(resource_service_area, resource_service_area.c.region_id == Region.id)
        .join(Resource, Resource.id == resource_service_area.c.resource_id)
        .where(
            Resource.organization_id == user.organization_id,
            Resource.status == ResourceStatus.ACTIVE,
        )
        .distinct()
    )
    return list(rows)


def browse_for_donor(
    user: User, category: str | None, region_path: str | None, urgency: int | None
) -> sa.Select[Any]:
    """Open, verified needs inside the service areas of the donor's resources, filtered."""
    paths = donor_service_paths(user)
    query = public_needs_query()
    if not paths:
        return query.where(sa.false())
    query = query.where(sa.or_(*(Region.path.startswith(p, autoescape=True) for p in paths)))
    if category:
        query = query.where(sa.or_(Need.category == category, Need.subcategory == category))
    if region_path:
        query = query.where(Region.path.startswith(region_path, autoescape=True))
    if urgency:
        query = query.where(Need.urgency == urgency)
    return query.order_by(Need.urgency.desc(), Need.created_at)
