"""Who may do what with a resource, each rule once: membership of the posting organization, the
reader's region and the resource's state together.

Services call these and refuse when they say no; views pass ``actions(user, resource)`` to the
templates, which show a button only when its action is allowed and never work it out again.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import VerificationStatus
from marketplace.permissions import in_scope
from marketplace.resources.models import Resource, ResourceStatus
from marketplace.roles import Role
from marketplace.transitions import Workflow

if TYPE_CHECKING:
    from marketplace.accounts.models import User

R = ResourceStatus
# Legal moves of a resource; everything else is refused with 409. Donors pause, resume and
# close their resources; only the periodic expiry moves one to EXPIRED, once its validity ended.
WORKFLOW = Workflow(
    Resource,
    {
        R.ACTIVE: {R.PAUSED, R.CLOSED, R.EXPIRED},
        R.PAUSED: {R.ACTIVE, R.CLOSED, R.EXPIRED},
        R.CLOSED: set(),
        R.EXPIRED: set(),
    },
    raced=_l("Someone else has just changed this resource. Reload the page."),
)
# The moves a member of the organization makes from the resource page (the rest are the system's).
BY_HAND = frozenset({R.PAUSED, R.ACTIVE, R.CLOSED})
# The statuses the periodic expiry moves from, as the workflow says.
EXPIRING = frozenset(s for s, moves in WORKFLOW.moves.items() if R.EXPIRED in moves)
# Members may change what a resource says until it is closed or expired.
EDITABLE = frozenset({R.ACTIVE, R.PAUSED})


def is_member(user: User | None, resource: Resource) -> bool:
    """A member of the organization that posted the resource (whatever the account's role)."""
    return bool(user and user.organization_id == resource.organization_id)


def is_public(resource: Resource, today: date | None = None) -> bool:
    """Open to anyone: active, of a verified organization, and valid today."""
    today = today or date.today()
    return (
        resource.status == R.ACTIVE
        and resource.organization.status == VerificationStatus.VERIFIED
        and resource.valid_from <= today <= resource.valid_until
    )


def can_post(user: User | None) -> bool:
    """Members of a donor organization post resources."""
    return user is not None and user.role == Role.DONOR and user.organization is not None


def can_manage(user: User | None, resource: Resource) -> bool:
    """The donors of the posting organization look after the resource (edit, pause, close)."""
    return user is not None and user.role == Role.DONOR and is_member(user, resource)


def reaches(user: User, resource: Resource) -> bool:
    """Administrators and auditors read the resources whose service area meets their region."""
    if user.role == Role.SUPERUSER:
        return True
    if user.role not in Role.ADMINS | Role.AUDITORS:
        return False
    return any(
        in_scope(user, area) or area.contains(mine)
        for area in resource.service_area
        for mine in user.regions
    )


def can_view(user: User | None, resource: Resource) -> bool:
    """Public resources to anyone; the rest to their organization's members and to the
    administrators and auditors it reaches."""
    if is_public(resource) or is_member(user, resource):
        return True
    return user is not None and reaches(user, resource)


def can_edit(user: User | None, resource: Resource) -> bool:
    return can_manage(user, resource) and resource.status in EDITABLE


def can_move(user: User | None, resource: Resource, to: ResourceStatus) -> bool:
    """Pause, resume (ACTIVE) or close, when the workflow allows it from the status now."""
    return to in BY_HAND and can_manage(user, resource) and WORKFLOW.allows(resource, to)


def can_pause(user: User | None, resource: Resource) -> bool:
    return can_move(user, resource, R.PAUSED)


def can_activate(user: User | None, resource: Resource) -> bool:
    return can_move(user, resource, R.ACTIVE)


def can_close(user: User | None, resource: Resource) -> bool:
    return can_move(user, resource, R.CLOSED)


def actions(user: User | None, resource: Resource) -> dict[str, bool]:
    """What the user may do with the resource now, for the page's buttons."""
    return {
        "edit": can_edit(user, resource),
        "pause": can_pause(user, resource),
        "activate": can_activate(user, resource),
        "close": can_close(user, resource),
    }
