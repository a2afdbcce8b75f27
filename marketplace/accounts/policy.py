"""Who may do what with organizations and accounts, each rule once: role, region scope and
state together.

Services call these and refuse when they say no; views pass ``organization_actions`` and
``user_actions`` to the templates, which show a button only when its action is allowed and
never work it out again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from marketplace.accounts.models import Organization, VerificationStatus
from marketplace.permissions import in_scope
from marketplace.regions.models import RegionLevel
from marketplace.roles import Role
from marketplace.transitions import Workflow

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.regions.models import Region

# Legal moves of an organization's verification; everything else is refused with 409.
WORKFLOW = Workflow(
    Organization,
    {
        # Waiting: an administrator verifies or rejects it; its member may still correct it,
        # and it keeps waiting.
        VerificationStatus.PENDING: {
            VerificationStatus.VERIFIED,
            VerificationStatus.REJECTED,
            VerificationStatus.PENDING,
        },
        # Rejected: corrected and submitted again, or verified after all.
        VerificationStatus.REJECTED: {VerificationStatus.PENDING, VerificationStatus.VERIFIED},
        # Verified: an administrator may still withdraw it, with a reason.
        VerificationStatus.VERIFIED: {VerificationStatus.REJECTED},
    },
)

# Which accounts administrators create, and the region levels each may be scoped to.
SCOPE_LEVELS: dict[Role, set[RegionLevel]] = {
    Role.STAFF: {RegionLevel.VILLAGE},
    Role.ADMIN: {RegionLevel.TOWNSHIP, RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE},
    Role.AUDITOR: {
        RegionLevel.TOWNSHIP,
        RegionLevel.COUNTY,
        RegionLevel.CITY,
        RegionLevel.PROVINCE,
    },
}


# --- organizations ------------------------------------------------------------------------


def can_review_organizations(user: User) -> bool:
    """Administrators verify the organizations registered in their region (the dashboard
    counts those waiting)."""
    return user.role in Role.ADMINS


def administers_organization(user: User, org: Organization) -> bool:
    """An administrator of the region where the organization is registered (a superuser:
    every organization, those without a region too)."""
    return can_review_organizations(user) and (
        user.role == Role.SUPERUSER or in_scope(user, org.region)
    )


def is_member(user: User, org: Organization) -> bool:
    return user.organization_id is not None and user.organization_id == org.id


def can_decide(user: User, org: Organization) -> bool:
    """Verify or reject it, whatever its state: its administrators, never its own members."""
    return administers_organization(user, org) and not is_member(user, org)


def can_verify_organization(user: User, org: Organization) -> bool:
    return can_decide(user, org) and WORKFLOW.allows(org, VerificationStatus.VERIFIED)


def can_reject_organization(user: User, org: Organization) -> bool:
    return can_decide(user, org) and WORKFLOW.allows(org, VerificationStatus.REJECTED)


def can_resubmit(user: User, org: Organization) -> bool:
    """Its donor member corrects an organization not verified (rejected, or still waiting)
    and submits it again."""
    return (
        user.role == Role.DONOR
        and is_member(user, org)
        and WORKFLOW.allows(org, VerificationStatus.PENDING)
    )


def organization_actions(user: User | None, org: Organization) -> dict[str, bool]:
    """What the user may do with the organization now, for the page's buttons."""
    if user is None:
        return {"verify": False, "reject": False, "resubmit": False}
    return {
        "verify": can_verify_organization(user, org),
        "reject": can_reject_organization(user, org),
        "resubmit": can_resubmit(user, org),
    }


# --- accounts -----------------------------------------------------------------------------


def administers_accounts(user: User) -> bool:
    """Administrators manage the accounts of their region (who exactly: ``can_manage_user``)."""
    return user.role in Role.ADMINS


def inside_own_region(user: User, regions: Iterable[Region]) -> bool:
    return all(in_scope(user, r) for r in regions)


def can_create_user(user: User, role: Role | None = None, regions: Iterable[Region] = ()) -> bool:
    """Administrators create staff, administrators and auditors (``role``), scoped to regions
    inside their own (``regions``); without them: whether the user creates accounts at all."""
    return (
        administers_accounts(user)
        and (role is None or role in SCOPE_LEVELS)
        and inside_own_region(user, regions)
    )


def can_manage_user(actor: User, user: User) -> bool:
    """Disable, enable, reset the password of, lift the sign-in throttle of an account: a
    superuser any other account; an administrator the staff, administrators and auditors
    whose every region lies inside theirs, and the donors of organizations registered there.
    Nobody manages their own account here."""
    if actor.role == Role.SUPERUSER:
        return user.id != actor.id
    if actor.role != Role.ADMIN or user.id == actor.id:
        return False
    if user.role == Role.DONOR:
        org = user.organization
        return org is not None and in_scope(actor, org.region)
    if user.role == Role.SUPERUSER or not user.regions:
        return False
    return inside_own_region(actor, user.regions)


def can_assign_villages(actor: User, user: User) -> bool:
    """Staff rotation: the villages of a member of village staff the actor manages."""
    return user.role == Role.STAFF and can_manage_user(actor, user)


def user_actions(actor: User, user: User, *, throttled: bool = False) -> dict[str, bool]:
    """What the actor may do with the account now, for the users page's buttons
    (``throttled``: some address is waiting to sign in to it again)."""
    manage = can_manage_user(actor, user)
    return {
        "deactivate": manage and user.active,
        "activate": manage and not user.active,
        "reset_password": manage,
        "assign_villages": can_assign_villages(actor, user),
        "unlock": manage and throttled,
    }
