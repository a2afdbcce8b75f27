"""Who may do what with the monthly reports, each rule once: role and region scope together.

The service refuses when these say no; the report page shows its buttons from
``actions(user, report)`` and never works them out again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.permissions import in_scope
from marketplace.roles import Role

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.regions.models import Region
    from marketplace.reports.services import MonthReport


def can_read(user: User, region: Region) -> bool:
    """Staff, administrators and auditors read the reports of the regions they see."""
    return user.role in Role.REGION_READERS and in_scope(user, region)


def can_freeze(user: User, region: Region) -> bool:
    """Administrators freeze a finished month's figures for a region of theirs."""
    return user.role in Role.ADMINS and in_scope(user, region)


def actions(user: User, report: MonthReport) -> dict[str, bool]:
    """What the user may do on the report's page: freezing, until a frozen report covers it."""
    return {"freeze": can_freeze(user, report.region) and report.snapshot is None}
