"""The match lifecycle: pledge, approval (taking capacity), delivery, confirmation, disputes,
objections and expiry. Every status change of a match goes through ``transition``, of an
objection through ``policy.OBJECTION_WORKFLOW``; who may do each is ``matches.policy``'s."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import admins_over, staff_of
from marketplace.audit.services import record_event
from marketplace.db import lock_row, utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.facts import cache as fact_cache
from marketplace.households.models import Household
from marketplace.matches import policy
from marketplace.matches.adapters import need_view, resource_view
from marketplace.matches.aid import held_by_households, prior_aid_counts
from marketplace.matches.models import Match, MatchStatus, Objection, ObjectionStatus
from marketplace.matches.policy import DISPUTE_OUTCOMES, HOLDING, WORKFLOW
from marketplace.matches.policy import TRANSITIONS as TRANSITIONS  # the table, read from here too
from marketplace.needs import policy as need_policy
from marketplace.needs import services as needs
from marketplace.needs.models import Need, NeedStatus
from marketplace.notifications.services import is_email, notify, notify_address
from marketplace.permissions import in_scope, region_clause
from marketplace.privacy import mask_name
from marketplace.regions.models import Region
from marketplace.regions.services import load_ancestors
from marketplace.resources import capacity
from marketplace.resources.models import Resource
from marketplace.signals import capacity_changed, need_viewing
from marketplace.timefmt import beijing_day_of, beijing_today
from marketplace.transitions import conflict
from marketplace.vocab import CATEGORIES
from matching.constraints import Violation, violations

S = MatchStatus
LIVE = S.LIVE  # one per (need, resource): the unique index on match says so too

VIOLATION_MESSAGES: dict[Violation, LazyString] = {
    Violation.NEED_NOT_OPEN: _l("The need is not open for pledges."),
    Violation.RESOURCE_INACTIVE: _l("The resource is not active."),
    Violation.ORGANIZATION_UNVERIFIED: _l("The donor organization is not verified yet."),
    Violation.OUT_OF_VALIDITY: _l("The resource is not valid today."),
    Violation.NO_CAPACITY: _l("The resource has nothing left to give."),
    Violation.CATEGORY: _l("The resource does not cover this need's category."),
    Violation.SERVICE_AREA: _l("The need's village lies outside the resource's service area."),
    Violation.STATUS: _l("The household's status is not eligible for this resource."),
    Violation.CAUSE: _l("The household's poverty causes are not eligible for this resource."),
    Violation.LABOUR: _l("This resource is for households with a member able to work."),
}


def transition(
    match: Match, to: MatchStatus, actor: User | None, *, only_if: Any = None, **values: Any
) -> None:
    """Move a match (a compare-and-set, see marketplace.transitions), or refuse with 409 and
    change nothing; capacity and the audit event follow the move here, so no caller forgets.
    ``only_if``: a condition on the row checked in the same statement."""
    source = WORKFLOW.move(match, to, only_if=only_if, **values)
    # Capacity follows the status in this one place: taken on entering HOLDING, released on
    # leaving it, so no caller can forget either.
    if source not in HOLDING and to in HOLDING:
        _take_capacity(match)
    elif source in HOLDING and to not in HOLDING:
        _release_capacity(match)
    record_event(
        f"match_{to.value}", actor, match, before={"status": source.value},
        after={"status": to.value, **{k: str(v) for k, v in values.items()}},
    )  # fmt: skip


# --- reading -----------------------------------------------------------------------------


def _joined() -> sa.Select[Any]:
    # Lists show each match's need, village, household and donor: loaded with the rows, not
    # one query per row.
    need = sa.orm.contains_eager(Match.need)
    return (
        sa.select(Match)
        .join(Need, Match.need_id == Need.id)
        .join(Region, Need.village_id == Region.id)
        .join(Resource, Match.resource_id == Resource.id)
        .options(
            need.contains_eager(Need.village),
            need.selectinload(Need.household),
            sa.orm.contains_eager(Match.resource).selectinload(Resource.organization),
        )
    )


def matches_for(user: User) -> sa.Select[Any]:
    """Matches the user may see: their organization's (donors), their regions' (others)."""
    if user.role == Role.DONOR:
        return _joined().where(Resource.organization_id == user.organization_id)
    return _joined().where(region_clause(user, Region.path))


def get_match(user: User, match_id: int) -> Match:
    match = db.session.scalar(matches_for(user).where(Match.id == match_id))
    if match is None:
        raise ServiceError(_l("The page or record was not found."), 404)
    return match


def approval_queue(user: User) -> sa.Select[Any]:
    return matches_for(user).where(Match.status == S.PROPOSED).order_by(Match.created_at)


def dispute_queue(user: User) -> sa.Select[Any]:
    with_objection = sa.select(Objection.match_id).where(Objection.status == ObjectionStatus.OPEN)
    return (
        matches_for(user)
        .where(sa.or_(Match.status == S.DISPUTED, Match.id.in_(with_objection)))
        .order_by(Match.updated_at)
    )


def disclosure_query(now: datetime | None = None) -> sa.Select[Any]:
    """Approved matches inside their disclosure window (公示期)."""
    now = now or utcnow()
    return (
        _joined()
        .where(Match.status.in_(HOLDING), Match.disclosure_until >= now)
        .order_by(Match.decided_at.desc())
    )


@dataclass(frozen=True)
class Shown:
    """A record of the disclosure page as plain data (kept between requests, read by the
    template like the ORM object: ``m.need.village.full_name``); labels are resolved when the
    page is drawn, in the reader's language."""

    full_name: str = ""
    name: str = ""
    unit: str = ""
    subcategory: str = ""
    village: Shown | None = None
    organization: Shown | None = None

    @property
    def category_label(self) -> str:
        return str(CATEGORIES[self.subcategory].label)


@dataclass(frozen=True)
class DisclosedMatch:
    id: int
    need: Shown
    resource: Shown
    quantity: int
    value: Decimal
    disclosure_until: datetime
    decided_at: datetime | None
    household_name: str  # masked; "" for a village's need


@dataclass(frozen=True)
class DecidedObjection:
    id: int
    status: ObjectionStatus
    match: Any  # a Shown-like match: .need, .resource
    decided_at: datetime
    household_name: str  # masked
    reason: str  # public_text


@dataclass(frozen=True)
class Disclosure:
    """What the public disclosure page lists, as of ``at``: read later, the windows are
    applied again (``current``), so the page never shows a match or an objection whose
    window has closed since."""

    matches: list[DisclosedMatch]
    objections: list[DecidedObjection]
    at: datetime

    def current(self, now: datetime) -> tuple[list[DisclosedMatch], list[DecidedObjection]]:
        days = int(current_app.config.get("DISCLOSURE_DAYS", 7))
        return (
            [m for m in self.matches if m.disclosure_until >= now],
            [o for o in self.objections if o.decided_at >= now - timedelta(days=days)],
        )


def disclosure(now: datetime | None = None) -> tuple[list[DisclosedMatch], list[DecidedObjection]]:
    """The matches in their disclosure window and the objections decided in the last days,
    kept until a fact changes (marketplace.facts) and filtered by the windows at ``now``: a
    window only closes as time passes, so the kept lists hold every row still inside one."""
    now = now or utcnow()
    days = int(current_app.config.get("DISCLOSURE_DAYS", 7))
    kept = fact_cache.get(("disclosure", days), lambda: compute_disclosure(now))
    return kept.current(now)


def compute_disclosure(now: datetime | None = None, objections: int = 50) -> Disclosure:
    """The disclosure page's lists, read now."""
    now = now or utcnow()
    matches = list(db.session.scalars(disclosure_query(now)))
    decided = list(
        db.session.scalars(
            decided_objections(now)
            .limit(objections)
            .options(
                sa.orm.selectinload(Objection.match).options(
                    sa.orm.selectinload(Match.need).selectinload(Need.village),
                    sa.orm.selectinload(Match.need).selectinload(Need.household),
                    sa.orm.selectinload(Match.resource).selectinload(Resource.organization),
                )
            )
        )
    )
    _loaded = load_ancestors([*(m.need.village for m in matches),
                              *(o.match.need.village for o in decided)])  # fmt: skip

    def shown(match: Match) -> tuple[Shown, Shown]:
        need = Shown(
            subcategory=match.need.subcategory,
            village=Shown(full_name=match.need.village.full_name),
        )
        resource = Shown(
            unit=match.resource.unit, organization=Shown(name=match.resource.organization.name)
        )
        return need, resource

    def masked(match: Match) -> str:
        household = match.need.household
        return mask_name(household.head_name) if household is not None else ""

    listed = []
    for m in matches:
        need, resource = shown(m)
        assert m.disclosure_until is not None  # disclosure_query asks for it
        listed.append(DisclosedMatch(
            id=m.id, need=need, resource=resource, quantity=m.quantity, value=m.value,
            disclosure_until=m.disclosure_until, decided_at=m.decided_at,
            household_name=masked(m),
        ))  # fmt: skip
    outcomes = []
    for o in decided:
        need, resource = shown(o.match)
        assert o.decided_at is not None  # decided_objections asks for it
        outcomes.append(DecidedObjection(
            id=o.id, status=o.status, match=DisclosedMatch(
                id=o.match.id, need=need, resource=resource, quantity=o.match.quantity,
                value=o.match.value, disclosure_until=o.match.disclosure_until or o.decided_at,
                decided_at=o.match.decided_at, household_name=masked(o.match)),
            decided_at=o.decided_at, household_name=masked(o.match), reason=public_text(o),
        ))  # fmt: skip
    return Disclosure(listed, outcomes, now)


class ListPagination(Pagination):
    """A page of a list already read (``items=``), as ``paginate`` gives one of a query."""

    def _query_items(self) -> list[Any]:
        items: list[Any] = self._query_args["items"]
        return items[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["items"])


# --- the lifecycle ------------------------------------------------------------------------


def check_pairing(need: Need, resource: Resource) -> None:
    prior = prior_aid_counts([need.household_id]) if need.household_id else {}
    found = violations(
        need_view(need, prior.get(need.household_id or 0, 0)),
        resource_view(resource),
        beijing_today(),
    )
    if found:
        raise ServiceError(VIOLATION_MESSAGES[found[0]], field="resource")


def pairing_problem(need: Need, resource: Resource) -> str | None:
    """Why this resource may not serve this need, or None when it may."""
    try:
        check_pairing(need, resource)
    except ServiceError as exc:
        return str(exc.message)
    return None


def has_units_to_pledge(resource: Resource) -> bool:
    """Whether a pledge could take anything from the resource now: units remain that produce
    orders do not hold (the rule ``_check_quantity`` applies to the quantity asked)."""
    free = capacity.units_free(resource)
    return free is None or free > 0


def _check_quantity(quantity: Any, need: Need, resource: Resource) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise ServiceError(_l("The quantity must be a whole number above zero."), field="quantity")
    if quantity > need.open_quantity:
        raise ServiceError(
            _l("Only %(n)s remain open on this need.", n=need.open_quantity), field="quantity"
        )
    free = capacity.units_free(resource)  # what produce orders hold is not free
    if free is not None and quantity > free:
        raise ServiceError(_l("Only %(n)s remain on this resource.", n=free), field="quantity")
    _check_per_household(quantity, need, resource)


def _held_by_unit(need: Need, resource: Resource) -> int:
    """The units of the resource the need's unit of fairness already holds in live matches:
    its household's, over all the household's needs; a village-wide need is its own unit."""
    if need.household_id is None:
        return int(
            db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(Match.quantity), 0)).where(
                    Match.need_id == need.id,
                    Match.resource_id == resource.id,
                    Match.status.in_(LIVE),
                )
            )
            or 0
        )
    return held_by_households(resource.id, [need.household_id]).get(need.household_id, 0)


def _check_per_household(quantity: int, need: Need, resource: Resource) -> None:
    """At most ``per_household`` units of the resource to one household, counting what its
    live matches of the resource already hold (pledges awaiting approval included)."""
    limit = resource.per_household
    if limit is None:
        return
    if need.household_id is not None:
        # Two pledges to two needs of one household would each count the other as not yet
        # there: the household's row is held until this request commits.
        lock_row(db.session, Household, need.household_id)
    held = _held_by_unit(need, resource)
    if held + quantity > limit:
        raise ServiceError(
            _l(
                "This resource gives at most %(limit)s %(unit)s to one household; this "
                "household already has %(held)s %(unit)s of it pledged or received, so at "
                "most %(left)s more.",
                limit=limit, unit=resource.unit, held=held, left=max(limit - held, 0),
            ),
            field="quantity",
        )  # fmt: skip


def _live_pledge_of(need: Need, resource: Resource) -> int | None:
    """The live match of the resource with the need, if there is one (the unique index on
    match holds the same rule against requests that race past this read)."""
    return db.session.scalar(
        sa.select(Match.id).where(
            Match.need_id == need.id, Match.resource_id == resource.id, Match.status.in_(LIVE)
        )
    )


ALREADY_PLEDGED = _l("This resource is already pledged to this need.")


def _flush_refusing_duplicates() -> None:
    """Flush new matches. The partial unique index refuses a second live pledge of a resource
    to a need that raced past the check: roll back and answer 409."""
    try:
        db.session.flush()
    except sa.exc.IntegrityError as error:
        db.session.rollback()
        if _is_live_duplicate(error):
            raise conflict(ALREADY_PLEDGED) from error
        raise


def _is_live_duplicate(error: sa.exc.IntegrityError) -> bool:
    """The unique index of live pledges refused the row (PostgreSQL names the index, SQLite
    the columns)."""
    text = str(error.orig)
    return "uq_match_live_need_resource" in text or "match.need_id, match.resource_id" in text


def pledge(actor: User, need: Need, resource: Resource, quantity: int) -> Match:
    """A donor claims (认领) a need from one of their resources: a proposed match."""
    from marketplace.matches import scoring  # NumPy, SciPy: imported on first use

    if actor.role != Role.DONOR or actor.organization_id != resource.organization_id:
        raise ServiceError(_l("Only members of the resource's organization may pledge it."), 403)
    check_pairing(need, resource)
    if _live_pledge_of(need, resource) is not None:
        raise conflict(ALREADY_PLEDGED)
    _check_quantity(quantity, need, resource)
    score, breakdown = scoring.score_pair(need, resource)
    match = Match(
        need=need,
        resource=resource,
        quantity=quantity,
        status=S.PROPOSED,
        proposed_by_id=actor.id,
        score=score,
        score_breakdown=breakdown,
    )
    db.session.add(match)
    _flush_refusing_duplicates()
    record_event("match_proposed", actor, match, after={"quantity": quantity})
    notify(admins_over(need.village), "pledge_made", f"/matches/{match.id}", title=need.title)
    return match


def _require_admin_over(actor: User, match: Match) -> None:
    if not policy.admin_here(actor, match):
        raise ServiceError(_l("Only administrators of this region may decide."), 403)


def _require_donor_of(actor: User, match: Match) -> None:
    if not policy.donor_here(actor, match):
        raise ServiceError(_l("Only members of the resource's organization may pledge it."), 403)


def _refuse_unless(allowed: bool) -> None:
    """The last word of the policy: who the actor is was checked (403), so what is left is
    the state of the match (409)."""
    if not allowed:
        raise conflict()


def _take_capacity(match: Match) -> None:
    """One conditional UPDATE each for the resource and the need, checked by row count:
    read-check-write would over-allocate, and SELECT FOR UPDATE is a no-op on SQLite."""
    q = match.quantity
    if match.resource.capacity is not None:
        if capacity.holds_orders(match.resource):  # one approval or order at a time from here
            lock_row(db.session, Resource, match.resource_id)
        taken = db.session.execute(
            sa.update(Resource)
            .where(Resource.id == match.resource_id, capacity.can_take_sql(q))
            .values(remaining=Resource.remaining - q)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            _refuse_over_capacity(match)
    opened = db.session.execute(
        sa.update(Need)
        .where(
            Need.id == match.need_id, Need.open_quantity >= q, Need.status == NeedStatus.VERIFIED
        )
        .values(open_quantity=Need.open_quantity - q)
        .execution_options(synchronize_session=False)
    )
    if opened.rowcount != 1:  # type: ignore[attr-defined]
        raise conflict(_l("The need no longer has that much open: the pledge cannot be approved."))
    db.session.expire(match.resource, ["remaining"])
    db.session.expire(match.need, ["open_quantity"])
    capacity_changed.send(need_id=match.need_id, resource_id=match.resource_id)


def _refuse_over_capacity(match: Match) -> None:
    """Why the approval could not take the units: too few remain, or what remains pays for
    the resource's produce orders (``resources.capacity``)."""
    db.session.expire(match.resource, ["remaining"])
    held = capacity.orders_hold(match.resource)
    remaining = match.resource.remaining or 0
    if held > 0 and remaining >= match.quantity:
        raise conflict(
            _l(
                "Produce orders hold %(held)s yuan of this purchase resource's budget: what is "
                "left, %(left)s yuan, does not pay for %(n)s %(unit)s. The pledge cannot be "
                "approved.",
                held=held, left=capacity.value_left(match.resource, held=held),
                n=match.quantity, unit=match.resource.unit,
            )
        )  # fmt: skip
    raise conflict(_l("Not enough left on the resource: the pledge cannot be approved."))


def _release_capacity(match: Match) -> None:
    q = match.quantity
    if match.resource.capacity is not None:
        db.session.execute(
            sa.update(Resource)
            .where(Resource.id == match.resource_id)
            .values(remaining=Resource.remaining + q)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        sa.update(Need)
        .where(Need.id == match.need_id)
        .values(open_quantity=Need.open_quantity + q)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(match.resource, ["remaining"])
    db.session.expire(match.need, ["open_quantity"])
    capacity_changed.send(need_id=match.need_id, resource_id=match.resource_id)


def _refuse_beyond_household_limit(match: Match) -> None:
    """Approval checks the per-household limit again against what is approved: two pledges to
    two needs of one household that passed their checks at once cannot both be approved."""
    resource, need = match.resource, match.need
    if resource.per_household is None:
        return
    unit = Match.need_id == need.id
    if need.household_id is not None:
        unit = Match.need_id.in_(sa.select(Need.id).where(Need.household_id == need.household_id))
    held = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Match.quantity), 0)).where(
            unit, Match.resource_id == resource.id, Match.status.in_(HOLDING), Match.id != match.id
        )
    )
    if int(held or 0) + match.quantity > resource.per_household:
        raise conflict(
            _l(
                "The household would receive more than the %(limit)s %(unit)s of this resource "
                "one household may have: the pledge cannot be approved.",
                limit=resource.per_household, unit=resource.unit,
            )
        )  # fmt: skip


def approve(actor: User, match: Match) -> None:
    _require_admin_over(actor, match)
    if match.proposed_by_id == actor.id:
        raise ServiceError(_l("You may not approve a pledge you made yourself."), 403)
    if policy.of_donor(actor, match):
        raise ServiceError(_l("You may not approve a pledge of your own organization."), 403)
    _refuse_unless(policy.can_approve(actor, match))
    # Capacity is checked by the conditional updates below, not by the read-only check.
    found = [
        v
        for v in violations(need_view(match.need), resource_view(match.resource), beijing_today())
        if v not in (Violation.NO_CAPACITY, Violation.NEED_NOT_OPEN)
    ]
    if found:
        raise conflict(VIOLATION_MESSAGES[found[0]])
    # The need's row before the match's, as withdraw_need takes them: in the opposite order
    # an approval and a withdrawal at once deadlock on PostgreSQL.
    lock_row(db.session, Need, match.need_id)
    _refuse_beyond_household_limit(match)
    now = utcnow()
    days = int(current_app.config.get("DISCLOSURE_DAYS", 7))
    transition(
        match, S.APPROVED, actor,
        decided_by_id=actor.id, decided_at=now, disclosure_until=now + timedelta(days=days),
    )  # fmt: skip
    notify([match.proposed_by_id], "pledge_approved", f"/matches/{match.id}",
           title=match.need.title)  # fmt: skip


def reject(actor: User, match: Match, reason: str) -> None:
    _require_admin_over(actor, match)
    if not reason.strip():
        raise ServiceError(_l("Give a reason when you reject."), field="reason")
    _refuse_unless(policy.can_reject(actor, match))
    transition(match, S.REJECTED, actor, decided_by_id=actor.id, decided_at=utcnow(),
               decision_reason=reason.strip()[:500])  # fmt: skip
    notify([match.proposed_by_id], "pledge_rejected", f"/matches/{match.id}",
           title=match.need.title)  # fmt: skip


def withdraw_pledge(actor: User, match: Match) -> None:
    """The donor takes back a pledge that has not been decided yet."""
    _require_donor_of(actor, match)
    _refuse_unless(policy.can_withdraw(actor, match))
    transition(match, S.CANCELLED, actor)


def withdraw_need(actor: User, need: Need) -> None:
    """Staff withdraw a need: refused while a match is under way, and its open pledges are
    cancelled. Here rather than in needs because it changes matches."""
    if not need_policy.can_post_in(actor, need.village):
        raise ServiceError(_l("Only the staff of this village may post its needs."), 403)
    # Held first, so that an approval of one of its pledges waits (or this waits for it) and
    # the count below is what the approval left.
    lock_row(db.session, Need, need.id)
    active = db.session.scalar(
        sa.select(sa.func.count(Match.id)).where(
            Match.need_id == need.id, Match.status.in_(S.UNDER_WAY)
        )
    )
    if active:
        raise ServiceError(
            _l("This need has approved matches under way; it cannot be withdrawn now."), 409
        )
    before = need.status.value
    needs.move(need, NeedStatus.WITHDRAWN)
    for match in db.session.scalars(
        sa.select(Match).where(Match.need_id == need.id, Match.status == S.PROPOSED)
    ):
        transition(match, S.CANCELLED, actor, decision_reason="need withdrawn")
    record_event("need_withdrawn", actor, need, before={"status": before})


@need_viewing.connect
def _donor_pledged_to(_sender: Any, *, user: User, need: Need) -> bool:
    """A donor keeps seeing a need its organization pledged to, after it closed."""
    return bool(
        user.organization_id
        and db.session.scalar(
            sa.select(Match.id)
            .join(Resource, Match.resource_id == Resource.id)
            .where(Match.need_id == need.id, Resource.organization_id == user.organization_id)
        )
    )


def deliver(actor: User, match: Match, note: str) -> None:
    _require_donor_of(actor, match)
    if policy.delivery_held(match):
        raise conflict(
            _l("An objection against this match is open: it cannot be delivered until an "
               "administrator resolves it.")
        )  # fmt: skip
    _refuse_unless(policy.can_deliver(actor, match))
    transition(match, S.DELIVERED, actor, delivered_at=utcnow(), delivered_by_id=actor.id,
               delivery_note=note.strip()[:2000])  # fmt: skip
    notify(staff_of(match.need.village), "match_delivered", f"/matches/{match.id}",
           title=match.need.title)  # fmt: skip


def _require_staff_over(actor: User, match: Match) -> None:
    if not policy.staff_here(actor, match):
        raise ServiceError(_l("Only the staff of the household's village may confirm."), 403)


def confirm(
    actor: User,
    match: Match,
    *,
    received_quantity: int,
    received_on: date,
    satisfaction: int,
    feedback: str,
) -> None:
    """Confirmed with the household: what arrived, when, and how satisfied they are."""
    _require_staff_over(actor, match)
    if not isinstance(received_quantity, int) or not 1 <= received_quantity <= match.quantity:
        raise ServiceError(
            _l("The quantity received is between 1 and the %(n)s pledged.", n=match.quantity),
            field="received_quantity",
        )
    if not 1 <= satisfaction <= 5:
        raise ServiceError(_l("Satisfaction is from 1 to 5."), field="satisfaction")
    # Both sides in Beijing days: the day typed is a Beijing one, decided_at is stored in UTC
    # (approved at 17:30 UTC is 01:30 the next day in Beijing).
    if received_on > beijing_today():
        raise ServiceError(_l("The date received cannot be in the future."), field="received_on")
    if match.decided_at and received_on < beijing_day_of(match.decided_at):
        raise ServiceError(
            _l("The date received cannot be before the approval."), field="received_on"
        )
    _refuse_unless(policy.can_confirm(actor, match))
    transition(match, S.CONFIRMED, actor, confirmed_at=utcnow(), confirmed_by_id=actor.id,
               received_quantity=received_quantity, received_on=received_on,
               satisfaction=satisfaction, feedback=feedback.strip()[:2000])  # fmt: skip
    _fulfil_if_done(match.need)
    notify([match.proposed_by_id], "match_confirmed", f"/matches/{match.id}",
           title=match.need.title)  # fmt: skip


def _fulfil_if_done(need: Need) -> None:
    db.session.refresh(need)
    live = db.session.scalar(
        sa.select(sa.func.count(Match.id)).where(Match.need_id == need.id, Match.status.in_(LIVE))
    )
    if need.open_quantity == 0 and not live and need.status == NeedStatus.VERIFIED:
        needs.move(need, NeedStatus.FULFILLED)


def report_non_receipt(actor: User, match: Match, reason: str) -> None:
    _require_staff_over(actor, match)
    if not reason.strip():
        raise ServiceError(_l("Say what the household reports."), field="reason")
    _refuse_unless(policy.can_report_non_receipt(actor, match))
    transition(match, S.DISPUTED, actor, dispute_reason=reason.strip()[:500])
    notify(admins_over(match.need.village), "match_disputed", f"/matches/{match.id}",
           title=match.need.title)  # fmt: skip


def resolve_dispute(actor: User, match: Match, outcome: str, reason: str) -> None:
    """Delivery found made (confirmed), to be made again (approved), or called off (cancelled,
    releasing the quantity)."""
    _require_admin_over(actor, match)
    if outcome not in DISPUTE_OUTCOMES:
        raise ServiceError(_l("Choose an outcome."), field="outcome")
    if not reason.strip():
        raise ServiceError(_l("Record the reason for the decision."), field="reason")
    _refuse_unless(policy.can_resolve(actor, match))
    to = DISPUTE_OUTCOMES[outcome]
    extra: dict[str, Any] = {"decision_reason": reason.strip()[:500]}
    if to == S.CONFIRMED:
        extra.update(confirmed_at=utcnow(), confirmed_by_id=actor.id)
    elif to == S.APPROVED:
        # The delivery did not arrive: it and the report of non-receipt become history (the
        # audit trail keeps both, the match page shows them as past); the next one starts afresh.
        extra.update(delivered_at=None, delivered_by_id=None, delivery_note="", dispute_reason="")
    transition(match, to, actor, **extra)
    if to == S.CONFIRMED:
        _fulfil_if_done(match.need)
    notify([match.proposed_by_id, *staff_of(match.need.village)], "match_resolved",
           f"/matches/{match.id}", title=match.need.title)  # fmt: skip


def file_objection(match: Match, reason: str, contact: str, actor: User | None) -> Objection:
    """Anyone may object to a disclosed match during its disclosure window."""
    if not policy.can_object(actor, match):
        raise conflict(_l("This match is not open to objections."))
    if not 5 <= len(reason.strip()) <= 2000:
        raise ServiceError(_l("Explain the objection in 5 to 2000 characters."), field="reason")
    objection = Objection(
        match=match, reason=reason.strip(), contact=contact.strip()[:100],
        filed_by_id=actor.id if actor else None,
    )  # fmt: skip
    db.session.add(objection)
    db.session.flush()
    record_event("objection_filed", actor, objection, after={"match": match.id})
    notify([*admins_over(match.need.village), match.proposed_by_id], "objection_filed",
           f"/matches/{match.id}", title=match.need.title)  # fmt: skip
    return objection


def resolve_objection(actor: User, objection: Objection, uphold: bool, reason: str) -> None:
    """Upheld: the match is cancelled and its quantity released. Dismissed: it goes on."""
    match = objection.match
    _require_admin_over(actor, match)
    _refuse_unless(policy.can_decide_objection(actor, objection))
    if not reason.strip():
        raise ServiceError(_l("Record the reason for the decision."), field="reason")
    policy.OBJECTION_WORKFLOW.move(
        objection, ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED,
        decision=reason.strip()[:500], decided_by_id=actor.id, decided_at=utcnow(),
    )  # fmt: skip
    record_event("objection_" + objection.status.value, actor, objection,
                 after={"match": match.id, "decision": objection.decision})  # fmt: skip
    if uphold and match.status in (S.APPROVED, S.DISPUTED):
        transition(match, S.CANCELLED, actor, decision_reason=objection.decision)
    notify([match.proposed_by_id, *staff_of(match.need.village)], "match_resolved",
           f"/matches/{match.id}", title=match.need.title)  # fmt: skip
    _tell_objector(objection)


def _tell_objector(objection: Objection) -> None:
    """The outcome reaches the objector: in the app when signed in at filing, by e-mail when
    the contact given is an address (a telephone number is for the administrators to call).
    What it says is what the public disclosure page shows: no personal data."""
    kind = "objection_" + objection.status.value
    link = f"/disclosure#objection-{objection.id}"
    params = {"number": objection.id, "reason": public_text(objection)}
    if objection.filed_by_id is not None:
        notify([objection.filed_by_id], kind, link, **params)
    elif is_email(objection.contact):
        notify_address(objection.contact.strip(), kind, link, **params)


DIGITS = re.compile(r"\d[\d\s-]{5,}[\dXx]")


def public_text(objection: Objection) -> str:
    """The decision's reason as the public may read it: the household's name masked, and any
    run of digits long enough to be a telephone or ID number hidden."""
    text = objection.decision
    household = objection.match.need.household
    if household is not None and household.head_name:
        text = text.replace(household.head_name, mask_name(household.head_name))
    return DIGITS.sub(lambda m: "*" * len(m.group(0)), text)


def decided_objections(now: datetime | None = None) -> sa.Select[Any]:
    """Objections decided within the disclosure period, newest first, for the public page."""
    now = now or utcnow()
    days = int(current_app.config.get("DISCLOSURE_DAYS", 7))
    return (
        sa.select(Objection)
        .where(Objection.status != ObjectionStatus.OPEN,
               Objection.decided_at >= now - timedelta(days=days))
        .order_by(Objection.decided_at.desc(), Objection.id.desc())
    )  # fmt: skip


def expire_matches(
    now: datetime | None = None, each: Callable[[], None] | None = None
) -> dict[str, int]:
    """Pledges undecided for too long, and approved matches past the resource's delivery
    deadline, expire; approved ones release their quantity. One match at a time through the
    workflow: one someone decided, withdrew, delivered or gave a later deadline since it was
    read is skipped (the move answers 409) and counted, and the next run takes it if it still
    has to go. ``each``, when given, is called after every match (the job and the command
    commit there, so a failure later keeps what was done). Idempotent (for cron)."""
    now = now or utcnow()
    ttl = timedelta(days=int(current_app.config.get("PLEDGE_TTL_DAYS", 14)))
    stale_clause = Match.created_at < now - ttl
    late_clause = Match.resource_id.in_(
        sa.select(Resource.id).where(Resource.delivery_deadline < beijing_today(now))
    )
    due = [
        (S.PROPOSED, stale_clause, "pledges"),
        (S.APPROVED, late_clause, "approved"),
    ]
    counts = {"pledges": 0, "approved": 0, "skipped": 0}
    for status, clause, counted in due:
        ids = db.session.scalars(
            sa.select(Match.id).where(Match.status == status, clause).order_by(Match.id)
        ).all()
        for match_id in ids:
            match = db.session.get(Match, match_id)
            # The condition is checked again in the move itself (a deadline extended after the
            # read wins), and the status is its compare-and-set.
            if match is None or not _expire_one(match, status, clause):
                counts["skipped"] += 1
            else:
                counts[counted] += 1
            if each is not None:
                each()
    return counts


def _expire_one(match: Match, status: MatchStatus, clause: Any) -> bool:
    if match.status != status:  # moved since the ids were read
        return False
    try:
        transition(match, S.EXPIRED, None, only_if=clause)
    except ServiceError as refused:
        if refused.status != 409:
            raise
        return False
    told = [match.proposed_by_id]
    if status == S.APPROVED:
        told += staff_of(match.need.village)
    notify(told, "match_expired", f"/matches/{match.id}", title=match.need.title)
    return True


def refuse_unless_reached(actor: User, resource: Resource) -> None:
    """An allocation outside the resource's service area would propose nothing: refused."""
    if not policy.allocates_here(actor, resource):
        raise ServiceError(
            _l("This resource does not reach your region: there is nothing to allocate there."),
            403,
        )


class _HouseholdRoom:
    """What each unit of fairness (a household, or a village-wide need on its own) may still
    be given of one resource under its per-household limit, counting its live matches. The
    allocation's proposals pass through it, so none goes beyond the limit whatever the solver
    proposed (``matching.allocation`` bounds it too once it is given ``per_household``)."""

    def __init__(self, resource: Resource, needs: list[Need]) -> None:
        self.limit = resource.per_household
        households = sorted({n.household_id for n in needs if n.household_id is not None})
        self.held: dict[object, int] = {
            h: units for h, units in held_by_households(resource.id, households).items()
        }

    def take(self, need: Need, quantity: int) -> int:
        if self.limit is None:
            return quantity
        key: object = need.household_id if need.household_id is not None else ("need", need.id)
        granted = min(quantity, max(self.limit - self.held.get(key, 0), 0))
        self.held[key] = self.held.get(key, 0) + granted
        return granted


def refuse_unless_may_allocate(
    actor: User,
    resource: Resource,
    region: Region,
    village_cap: int | None = None,
    mode: str = "fair",
    group_level: str = "village",
) -> None:
    """The rule of an allocation, checked before it is computed (and before one is sent to the
    background, so that a refusal shows on the page rather than in a failed run)."""
    from marketplace.matches import scoring  # NumPy, SciPy: imported on first use

    if actor.role not in Role.ADMINS or not in_scope(actor, region):
        raise ServiceError(_l("Only administrators of this region may decide."), 403)
    refuse_unless_reached(actor, resource)
    if resource.capacity is None:
        raise ServiceError(_l("Only a resource with a limited capacity needs allocating."))
    if village_cap is not None and village_cap < 1:
        raise ServiceError(_l("The cap per village must be a whole number above zero."))
    if mode not in scoring.MODES or group_level not in scoring.GROUP_LEVELS:
        raise ServiceError(_l("Choose a mode and a level the page offers."))


def allocate(
    actor: User,
    resource: Resource,
    region: Region,
    village_cap: int | None,
    mode: str = "fair",
    group_level: str = "village",
) -> list[Match]:
    """An administrator turns the optimal allocation of a scarce resource in their region into
    proposed matches. They go to the approval queue like any pledge: nothing is approved here,
    and the proposer may not approve them."""
    from marketplace.matches import scoring  # NumPy, SciPy: imported on first use

    refuse_unless_may_allocate(actor, resource, region, village_cap, mode, group_level)
    proposal = scoring.propose_allocation(resource, region.path, village_cap, mode, group_level)
    best, needs_by_id, scored = proposal.chosen, proposal.needs, proposal.scored
    used = scoring.weights()
    room = _HouseholdRoom(resource, list(needs_by_id.values()))
    created = []
    for assignment in best.assignments:
        need = needs_by_id[assignment.need_id]
        if _live_pledge_of(need, resource) is not None:
            continue
        quantity = room.take(need, assignment.quantity)
        if quantity <= 0:
            continue
        match = Match(
            need=need, resource=resource, quantity=quantity, status=S.PROPOSED,
            proposed_by_id=actor.id, score=round(scored[need.id].score, 6),
            score_breakdown=scoring.breakdown(scored[need.id], used),
        )  # fmt: skip
        db.session.add(match)
        created.append(match)
    _flush_refusing_duplicates()  # a donor may have pledged one of these pairs meanwhile
    record_event("allocation_proposed", actor, resource,
                 after={"matches": [m.id for m in created], "village_cap": village_cap,
                        "mode": mode, "group_level": group_level,
                        "total_score": best.total_score,
                        "maximum_score": proposal.maximum.total_score})  # fmt: skip
    notify(admins_over(region), "pledge_made", "/matches/approvals", title=resource.title)
    return created
