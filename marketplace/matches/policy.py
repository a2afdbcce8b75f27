"""Who may do what with a match and its objections, each rule once: role, region scope and the
state of the match together.

Services call these and refuse when they say no; views pass ``actions(user, match)`` to the
templates, which show a button only when its action is allowed and never work it out again.
The workflows of matches and of objections are here too: the rules read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from marketplace.db import utcnow
from marketplace.matches.models import Match, MatchStatus, Objection, ObjectionStatus
from marketplace.permissions import in_scope
from marketplace.resources import policy as resource_policy
from marketplace.roles import Role
from marketplace.transitions import Workflow

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.resources.models import Resource

S = MatchStatus
# Legal moves of a match; everything else is refused with 409.
TRANSITIONS: dict[MatchStatus, set[MatchStatus]] = {
    S.PROPOSED: {S.APPROVED, S.REJECTED, S.CANCELLED, S.EXPIRED},
    S.APPROVED: {S.DELIVERED, S.CANCELLED, S.EXPIRED},
    S.DELIVERED: {S.CONFIRMED, S.DISPUTED},
    S.DISPUTED: {S.CONFIRMED, S.APPROVED, S.CANCELLED},
    S.CONFIRMED: set(),
    S.REJECTED: set(),
    S.CANCELLED: set(),
    S.EXPIRED: set(),
}
WORKFLOW = Workflow(
    Match, TRANSITIONS, raced=_l("Someone else has just acted on this match. Reload the page.")
)
# Statuses in which the match holds capacity of its resource and quantity of its need: an
# approved match, disclosed to the public (and open to objections) in its disclosure window.
HOLDING = frozenset({S.APPROVED, S.DELIVERED, S.DISPUTED, S.CONFIRMED})
# What resolving a dispute makes of the match: delivery found made, to be made again, called off.
DISPUTE_OUTCOMES = {"confirmed": S.CONFIRMED, "redeliver": S.APPROVED, "cancelled": S.CANCELLED}

# An objection is decided once: upheld (the match is cancelled) or dismissed (it goes on).
OBJECTION_WORKFLOW = Workflow(
    Objection,
    {
        ObjectionStatus.OPEN: {ObjectionStatus.UPHELD, ObjectionStatus.DISMISSED},
        ObjectionStatus.UPHELD: set(),
        ObjectionStatus.DISMISSED: set(),
    },
    raced=_l("Someone else has just decided this objection. Reload the page."),
)


# --- who the user is to the match ---------------------------------------------------------


def admin_here(user: User, match: Match) -> bool:
    """An administrator of the region of the need's village."""
    return user.role in Role.ADMINS and in_scope(user, match.need.village)


def staff_here(user: User, match: Match) -> bool:
    """Village staff (or a superuser) serving the need's village."""
    return user.role in Role.EDITORS and in_scope(user, match.need.village)


def of_donor(user: User, match: Match) -> bool:
    """A member of the organization whose resource the match gives."""
    return resource_policy.is_member(user, match.resource)


def donor_here(user: User, match: Match) -> bool:
    """A donor of that organization: withdraws the pledge, delivers."""
    return user.role == Role.DONOR and of_donor(user, match)


def interested(user: User, match: Match) -> bool:
    """Made the pledge, or belongs to the giving organization: may not approve it."""
    return match.proposed_by_id == user.id or of_donor(user, match)


def _moves(match: Match, source: MatchStatus, *targets: MatchStatus) -> bool:
    """The match is in ``source`` and the workflow lets it go to each of ``targets``."""
    return match.status == source and all(WORKFLOW.allows(match, to) for to in targets)


# --- the actions --------------------------------------------------------------------------


def can_approve(user: User, match: Match) -> bool:
    """Administrators of the region approve a pledge, never their own nor their organization's."""
    return (
        admin_here(user, match)
        and not interested(user, match)
        and _moves(match, S.PROPOSED, S.APPROVED)
    )


def can_reject(user: User, match: Match) -> bool:
    return admin_here(user, match) and _moves(match, S.PROPOSED, S.REJECTED)


def can_withdraw(user: User, match: Match) -> bool:
    """The donor takes back a pledge not decided yet."""
    return donor_here(user, match) and _moves(match, S.PROPOSED, S.CANCELLED)


def delivery_held(match: Match) -> bool:
    """An open objection holds the delivery until an administrator decides it."""
    return bool(match.open_objections)


def can_deliver(user: User, match: Match) -> bool:
    return (
        donor_here(user, match)
        and _moves(match, S.APPROVED, S.DELIVERED)
        and not delivery_held(match)
    )


def can_confirm(user: User, match: Match) -> bool:
    """Staff of the village confirm a delivery with the household (a disputed one is the
    administrators' to resolve)."""
    return staff_here(user, match) and _moves(match, S.DELIVERED, S.CONFIRMED)


def can_report_non_receipt(user: User, match: Match) -> bool:
    return staff_here(user, match) and _moves(match, S.DELIVERED, S.DISPUTED)


def can_resolve(user: User, match: Match) -> bool:
    """Administrators of the region decide a dispute, to any of its outcomes."""
    return admin_here(user, match) and _moves(match, S.DISPUTED, *DISPUTE_OUTCOMES.values())


def can_object(user: User | None, match: Match, now: datetime | None = None) -> bool:
    """Anyone, signed in or not, objects to an approved match within its disclosure window."""
    now = now or utcnow()
    return (
        match.status in HOLDING
        and match.disclosure_until is not None
        and match.disclosure_until >= now
    )


def can_decide_objection(user: User, objection: Objection) -> bool:
    """Administrators of the match's region uphold or dismiss an open objection."""
    return (
        admin_here(user, objection.match)
        and OBJECTION_WORKFLOW.allows(objection, ObjectionStatus.UPHELD)
        and OBJECTION_WORKFLOW.allows(objection, ObjectionStatus.DISMISSED)
    )


def can_read_objections(user: User, match: Match) -> bool:
    """The parties of the match read the objections against it."""
    return admin_here(user, match) or staff_here(user, match) or of_donor(user, match)


def can_read_contacts(user: User, match: Match) -> bool:
    """An objector's contact is personal data: for the administrators of the region only."""
    return admin_here(user, match)


def allocates_here(user: User, resource: Resource) -> bool:
    """An administrator whose regions the resource's service area meets (a superuser: any):
    elsewhere an allocation has no village to propose to."""
    return user.role in Role.ADMINS and resource_policy.reaches(user, resource)


def can_allocate(user: User | None, resource: Resource) -> bool:
    """Administrators allocate a public resource of limited capacity in their region, when
    the resource reaches it."""
    return (
        user is not None
        and allocates_here(user, resource)
        and resource.capacity is not None
        and resource_policy.is_public(resource)
    )


def actions(user: User, match: Match) -> dict[str, bool]:
    """What the user may do with the match now, for the page's buttons."""
    return {
        "approve": can_approve(user, match),
        "reject": can_reject(user, match),
        "withdraw": can_withdraw(user, match),
        "deliver": can_deliver(user, match),
        # The donor would deliver, but an objection holds it: the page says why.
        "deliver_held": donor_here(user, match)
        and _moves(match, S.APPROVED, S.DELIVERED)
        and delivery_held(match),
        "confirm": can_confirm(user, match),
        "report_non_receipt": can_report_non_receipt(user, match),
        "resolve": can_resolve(user, match),
        "read_objections": can_read_objections(user, match),
        "read_contacts": can_read_contacts(user, match),
    }


def objection_actions(user: User, match: Match) -> dict[int, bool]:
    """For each objection against the match, whether the user may decide it now."""
    return {o.id: can_decide_objection(user, o) for o in match.objections}


def can_see_suggestions(user: User | None, resource: Resource) -> bool:
    """The best needs for a resource: for its members, and for staff, administrators and
    auditors (whose scope the resource reached to be opened at all)."""
    if resource_policy.is_member(user, resource):
        return True
    return user is not None and user.role in Role.REGION_READERS
