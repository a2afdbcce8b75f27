"""Who may do what in oversight, each rule once: the audit trail and the random spot checks,
role, region scope and state together.

Services call these and refuse when they say no; views pass ``actions(user, check)`` to the
templates, which show a form only when its action is allowed and never work it out again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.oversight.models import SpotCheck, SpotCheckStatus
from marketplace.permissions import in_scope
from marketplace.roles import Role
from marketplace.transitions import Workflow

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.regions.models import Region

# Legal moves of a spot check; everything else is refused with 409. Closing is final.
WORKFLOW = Workflow(
    SpotCheck,
    {
        SpotCheckStatus.OPEN: {SpotCheckStatus.CLOSED},
        SpotCheckStatus.CLOSED: set(),
    },
)
# Findings and the report change while the check is open; administrators answer it closed.
EDITABLE = frozenset({SpotCheckStatus.OPEN})
ANSWERABLE = frozenset({SpotCheckStatus.CLOSED})


def can_read_trail(user: User | None) -> bool:
    """Auditors and administrators read the audit trail of their regions (what exactly:
    ``services.trail_for``)."""
    return user is not None and user.role in Role.OVERSIGHT


def can_read_spot_check(user: User | None, check: SpotCheck) -> bool:
    """Auditors and administrators read the checks drawn inside their regions."""
    return user is not None and user.role in Role.OVERSIGHT and in_scope(user, check.region)


def can_draw_spot_checks(user: User | None) -> bool:
    """Auditors draw samples (in which region: ``can_draw_spot_check``)."""
    return user is not None and user.role in Role.AUDITORS


def can_draw_spot_check(user: User | None, region: Region) -> bool:
    return user is not None and user.role in Role.AUDITORS and in_scope(user, region)


def drew(user: User, check: SpotCheck) -> bool:
    """The auditor who drew the check: the one who carries it out."""
    return user.role in Role.AUDITORS and user.id == check.created_by_id


def can_record_finding(user: User, check: SpotCheck) -> bool:
    """Findings, photos and the draft report: the auditor who drew it, while it is open."""
    return drew(user, check) and check.status in EDITABLE


def can_close(user: User, check: SpotCheck) -> bool:
    return drew(user, check) and WORKFLOW.allows(check, SpotCheckStatus.CLOSED)


def answers_for(user: User, check: SpotCheck) -> bool:
    """Administrators of the region where the check was drawn answer it."""
    return user.role in Role.ADMINS and in_scope(user, check.region)


def can_answer(user: User, check: SpotCheck) -> bool:
    """Answer the report once the check is closed, once: an answer is not overwritten."""
    return answers_for(user, check) and check.status in ANSWERABLE and not check.reply


def actions(user: User | None, check: SpotCheck) -> dict[str, bool]:
    """What the user may do with the check now, for the page's forms."""
    if user is None:
        return {"record": False, "close": False, "answer": False}
    return {
        "record": can_record_finding(user, check),
        "close": can_close(user, check),
        "answer": can_answer(user, check),
    }
