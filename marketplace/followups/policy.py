"""Who may do what with follow-ups, impact pages and certificates, each rule once.

Services call these and refuse when they say no; views pass ``actions`` to the templates, which
show a form or a button only when it is allowed. Follow-ups move through ``WORKFLOW`` only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import VerificationStatus
from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.matches import policy as match_policy
from marketplace.permissions import in_scope
from marketplace.roles import Role
from marketplace.timefmt import beijing_today
from marketplace.transitions import Workflow

if TYPE_CHECKING:
    from marketplace.accounts.models import Organization, User
    from marketplace.matches.models import Match

F = FollowUpStatus
# A follow-up is recorded once; a correction is a note on the next one.
WORKFLOW = Workflow(
    FollowUp,
    {F.SCHEDULED: {F.DONE}, F.DONE: set()},
    raced=_l("Someone else has just recorded this follow-up. Reload the page."),
)


def early_days() -> int:
    """How many days before its due day a follow-up may already be recorded."""
    return int(current_app.config.get("FOLLOW_UP_EARLY_DAYS", 14))


def opens_on(follow_up: FollowUp) -> date:
    return follow_up.due_on - timedelta(days=early_days())


def is_overdue(follow_up: FollowUp, today: date | None = None) -> bool:
    return follow_up.status == F.SCHEDULED and follow_up.due_on < (today or beijing_today())


def records_here(user: User, match: Match) -> bool:
    """Village staff (or a superuser) serving the household's village: they record."""
    return match_policy.staff_here(user, match)


def can_record(user: User, follow_up: FollowUp, today: date | None = None) -> bool:
    """Staff of the household's village record a follow-up once it is open (from a few days
    before its due day), and only once."""
    today = today or beijing_today()
    return (
        records_here(user, follow_up.match)
        and WORKFLOW.allows(follow_up, F.DONE)
        and opens_on(follow_up) <= today
    )


def can_read_notes(user: User | None, match: Match) -> bool:
    """Staff's notes may speak of the household's health or family: personal data, for those
    with that right in the village's region only (never the donor, an auditor, the public)."""
    return (
        user is not None and user.role in Role.PERSONAL_DATA and in_scope(user, match.need.village)
    )


def can_list(user: User) -> bool:
    """The list of follow-ups (overdue first): staff, administrators and auditors, each over
    their own regions."""
    return user.role in Role.REGION_READERS


def is_member(user: User | None, org: Organization) -> bool:
    return bool(user is not None and user.organization_id == org.id)


def can_see_impact(user: User | None, org: Organization) -> bool:
    """An organization's impact: its own members, and the administrators and auditors (the
    figures are counts and sums, with no household named)."""
    if user is None:
        return False
    return is_member(user, org) or user.role in Role.ADMINS or user.role in Role.OVERSIGHT


def can_issue_certificate(user: User | None, org: Organization) -> bool:
    """A verified organization's members issue its certificate of contribution, and so do the
    administrators (a county's office certifies a firm's help)."""
    if user is None or org.status != VerificationStatus.VERIFIED:
        return False
    return is_member(user, org) or user.role in Role.ADMINS


def impact_actions(user: User | None, org: Organization) -> dict[str, bool]:
    return {"certify": can_issue_certificate(user, org)}
