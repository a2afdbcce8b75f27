"""Needs: posted by village staff, verified or returned by administrators, browsed by donors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role, User, VerificationStatus
from marketplace.accounts.services import admins_over
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import Problem, ServiceError, refuse_first
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.needs import policy
from marketplace.needs.models import Need, NeedStatus
from marketplace.notifications.services import notify
from marketplace.permissions import in_scope, region_clause
from marketplace.regions.models import Region, RegionLevel
from marketplace.resources.models import Resource, ResourceStatus, resource_service_area
from marketplace.vocab import CATEGORIES, SUBCATEGORY_CODES

FIELDS = ("subcategory", "title", "description", "quantity", "unit", "estimated_value",
          "urgency", "needed_by")  # fmt: skip


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


def listed_needs(user: User | None) -> sa.Select[Any]:
    """The needs a reader's lists hold: the whole scope, or what is public."""
    return needs_query(user) if user and policy.reads_whole_scope(user) else public_needs_query()


def get_need(user: User | None, need_id: int) -> Need:
    """A need the user may open: in scope, or open and verified for donors and the public."""
    # Its village (the scope check, the page) and household (the page) with it: one statement.
    need = db.session.get(
        Need, need_id, options=[sa.orm.joinedload(Need.village), sa.orm.joinedload(Need.household)]
    )
    visible = need is not None and policy.can_view(user, need)
    if not visible:
        raise ServiceError(_l("The page or record was not found."), 404)
    assert need is not None
    return need


def move(need: Need, to: NeedStatus, **values: Any) -> None:
    """Move a need along WORKFLOW (compare-and-set, 409 on an illegal or raced move)."""
    policy.WORKFLOW.move(need, to, **values)


def need_problems(values: dict[str, Any]) -> list[Problem]:
    """Every rule the values of one need break (FIELDS): the services refuse the first, the
    import lists them all on the spreadsheet's row."""
    problems = []
    if values.get("subcategory") not in SUBCATEGORY_CODES:
        problems.append(Problem("subcategory", _l("Choose a category from the list.")))
    quantity = values.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        problems.append(Problem("quantity", _l("The quantity must be a whole number above zero.")))
    if values.get("urgency") not in (1, 2, 3):
        problems.append(Problem("urgency", _l("Urgency is 1, 2 or 3.")))
    if Decimal(values.get("estimated_value") or 0) < 0:
        problems.append(Problem("estimated_value", _l("The value cannot be negative.")))
    needed_by = values.get("needed_by")
    if needed_by is not None and needed_by < date.today():
        problems.append(Problem("needed_by", _l("The date needed by cannot be in the past.")))
    return problems


def _validate(values: dict[str, Any]) -> None:
    refuse_first(need_problems(values))


def new_need(actor: User, village: Region, household: Household | None, **values: Any) -> Need:
    """A need submitted for review, checked, not yet in the session: what create_need and the
    bulk import share (the import adds thousands at once, then calls notify_reviewers)."""
    if village.level != RegionLevel.VILLAGE or not policy.can_post_in(actor, village):
        raise ServiceError(_l("Only the staff of this village may post its needs."), 403)
    if household is not None and household.village_id != village.id:
        raise ServiceError(
            _l("This household does not belong to the chosen village."), field="household"
        )
    _validate(values)
    return Need(
        village=village,
        household=household,
        category=CATEGORIES[values["subcategory"]].parent,
        open_quantity=values["quantity"],
        created_by_id=actor.id,
        status=NeedStatus.SUBMITTED,
        **values,
    )


def create_need(actor: User, village: Region, household: Household | None, **values: Any) -> Need:
    need = new_need(actor, village, household, **values)
    db.session.add(need)
    db.session.flush()
    record_event("need_created", actor, need, after={"category": need.subcategory})
    notify_reviewers([need])
    return need


def update_need(actor: User, need: Need, **values: Any) -> None:
    """Editable until verified; a returned need goes back to the review queue."""
    if not policy.can_post_in(actor, need.village):
        raise ServiceError(_l("Only the staff of this village may post its needs."), 403)
    if need.status not in policy.EDITABLE:
        raise ServiceError(_l("A verified need can no longer be edited, only withdrawn."), 409)
    _validate(values)
    for name in FIELDS:
        setattr(need, name, values[name])
    need.category = CATEGORIES[need.subcategory].parent
    need.open_quantity = need.quantity
    if need.status == NeedStatus.RETURNED:
        move(need, NeedStatus.SUBMITTED)
        need.return_reason = ""
        notify_reviewers([need])
    record_event("need_updated", actor, need, after={"status": need.status.value})


def _require_reviewer(actor: User, need: Need) -> None:
    if actor.role not in Role.ADMINS or not in_scope(actor, need.village):  # state: move()
        raise ServiceError(_l("Only administrators of this region may review its needs."), 403)


NOT_IDENTIFIED = _l(
    "This household's identification has not been confirmed by the county yet: its needs can "
    "be verified once it is."
)


def verify_need(actor: User, need: Need) -> None:
    _require_reviewer(actor, need)
    if policy.held_back(need):  # 精准识别 first: only confirmed households are helped
        raise ServiceError(NOT_IDENTIFIED, 409)
    move(need, NeedStatus.VERIFIED)
    need.verified_by_id = actor.id
    need.verified_at = utcnow()
    record_event("need_verified", actor, need, before={"status": "submitted"},
                 after={"status": "verified"})  # fmt: skip
    notify([need.created_by_id], "need_verified", f"/needs/{need.id}", title=need.title)


def return_need(actor: User, need: Need, reason: str) -> None:
    _require_reviewer(actor, need)
    if not reason.strip():
        raise ServiceError(_l("Give a reason when you return a need."))
    move(need, NeedStatus.RETURNED)
    need.return_reason = reason.strip()[:500]
    record_event("need_returned", actor, need, after={"reason": need.return_reason})
    notify([need.created_by_id], "need_returned", f"/needs/{need.id}", title=need.title)


def review_queue(actor: User) -> sa.Select[Any]:
    return (
        needs_query(actor)
        .where(Need.status == NeedStatus.SUBMITTED)
        .order_by(Need.urgency.desc(), Need.created_at)
    )


def notify_reviewers(needs: list[Need]) -> None:
    """Tell the administrators over each need's village that it waits for their review (the
    needs are flushed: they have ids). One need: one notification about it; several at once
    (an import): one notification per reviewer with the count, not thousands of e-mails."""
    if len(needs) == 1:
        need = needs[0]
        notify(admins_over(need.village), "need_submitted", f"/needs/{need.id}", title=need.title)
        return
    waiting: dict[int, int] = {}
    by_village: dict[int, list[User]] = {}
    for need in needs:
        if need.village_id not in by_village:
            by_village[need.village_id] = admins_over(need.village)
        for reviewer in by_village[need.village_id]:
            waiting[reviewer.id] = waiting.get(reviewer.id, 0) + 1
    for reviewer_id, count in waiting.items():
        notify([reviewer_id], "needs_submitted", "/needs/review", count=count)


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
