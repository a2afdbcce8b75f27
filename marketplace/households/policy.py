"""Who may do what with the household register, each rule once (role and region scope).

Services call these and refuse; views pass ``actions(user, household)`` to the templates as
``may``. Personal data (names, ID numbers, phones, health) is shown unmasked only where
``can_see_personal`` says so, and every such view is audited (households.services.identity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.households.models import Household, IdentificationStatus
from marketplace.permissions import in_scope
from marketplace.regions.models import RegionLevel
from marketplace.roles import Role
from marketplace.transitions import Workflow
from marketplace.vocab import HouseholdStatus

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.regions.models import Region

S = IdentificationStatus
# 精准识别: the legal moves of a household's identification; everything else is 409.
IDENTIFICATION = Workflow(
    Household,
    {
        S.DECLARED: {S.PROPOSED},  # 户申报、小组议 done: the village assesses and proposes it
        S.PROPOSED: {S.REVIEWED, S.RETURNED},  # 入户查、逐级核: the township
        S.REVIEWED: {S.CONFIRMED, S.RETURNED},  # 县确认: the county
        S.CONFIRMED: {S.RETURNED},  # 市抽查 (or the county) finds it wrongly identified
        S.RETURNED: {S.PROPOSED},  # corrected by the village and proposed again
    },
    column="identification",
)

# A household's status (未脱贫, 已脱贫, 监测户): the legal moves, everything else is 409. The
# register's form and import never change it once the household is registered (the status is
# not among households.services.EDITABLE_FIELDS); only the decisions above the register move it,
# each with its reason (marketplace.plans: exit by assessment, monitoring when an exited
# household is at risk, release from monitoring by the same assessment, return to poverty).
STATUS_WORKFLOW = Workflow(
    Household,
    {
        HouseholdStatus.POOR: {HouseholdStatus.EXITED},
        HouseholdStatus.EXITED: {HouseholdStatus.MONITORED, HouseholdStatus.POOR},
        HouseholdStatus.MONITORED: {HouseholdStatus.EXITED, HouseholdStatus.POOR},
    },
)


def can_read(user: User, household: Household) -> bool:
    """The register inside one's regions; donors read none of it."""
    return user.role in Role.REGION_READERS and in_scope(user, household.village)


def can_see_personal(user: User, household: Household) -> bool:
    return user.role in Role.PERSONAL_DATA and in_scope(user, household.village)


def can_keep_register_of(user: User, village: Region | None) -> bool:
    """Village staff (and superusers) add and edit the households of the villages they serve."""
    return user.role in Role.EDITORS and in_scope(user, village)


def can_edit(user: User, household: Household) -> bool:
    return can_keep_register_of(user, household.village)


def can_edit_members(user: User, household: Household) -> bool:
    """The roster is kept like the register: by the staff of the household's village."""
    return can_edit(user, household)


# --- identification (精准识别) -------------------------------------------------------------
#
# Who acts at each level: an administrator whose scope holds a region of that level above the
# household's village. The township reviews (its administrators know the village and visit the
# household), the county confirms; administrators of the city (or province) carry out the
# spot checks (市抽查) and may send a confirmed household back, as the county may. A county
# administrator does not stand in for a township: the two levels are the check on each other
# (逐级核), and the one who reviewed a household does not also confirm it. A superuser acts for
# any level (the platform's operator: setting up, the demo).


def acts_at(user: User, household: Household, levels: set[RegionLevel]) -> bool:
    """An administrator scoped to a region of one of ``levels`` that holds the household."""
    if user.role == Role.SUPERUSER:
        return True
    return user.role == Role.ADMIN and any(
        r.level in levels and r.contains(household.village) for r in user.regions
    )


TOWNSHIP = {RegionLevel.TOWNSHIP}
COUNTY = {RegionLevel.COUNTY}
SPOT_CHECKERS = {RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE}


def is_identified(household: Household | None) -> bool:
    """Confirmed by the county: only then are the household's needs verified. A village-wide
    need (no household) is not held back."""
    return household is None or household.identification == IdentificationStatus.CONFIRMED


def can_propose(user: User, household: Household) -> bool:
    """The village's staff propose it after the village assessment (村评定)."""
    return can_edit(user, household) and IDENTIFICATION.allows(household, S.PROPOSED)


def can_review_identification(user: User, household: Household) -> bool:
    return acts_at(user, household, TOWNSHIP) and IDENTIFICATION.allows(household, S.REVIEWED)


def can_confirm_identification(user: User, household: Household) -> bool:
    return (
        acts_at(user, household, COUNTY)
        and IDENTIFICATION.allows(household, S.CONFIRMED)
        and (user.role == Role.SUPERUSER or user.id != household.identification_reviewed_by_id)
    )


def can_send_back(user: User, household: Household) -> bool:
    """With a reason: the township what it reviews, the county what it confirms, the county and
    the city's spot checks a confirmed household."""
    levels = {
        S.PROPOSED: TOWNSHIP,
        S.REVIEWED: COUNTY,
        S.CONFIRMED: SPOT_CHECKERS,
    }.get(household.identification)
    return levels is not None and acts_at(user, household, levels)


def actions(user: User, household: Household) -> dict[str, bool]:
    return {
        "edit": can_edit(user, household),
        "see_personal": can_see_personal(user, household),
        "edit_members": can_edit_members(user, household),
        "propose": can_propose(user, household),
        "review_identification": can_review_identification(user, household),
        "confirm_identification": can_confirm_identification(user, household),
        "send_back": can_send_back(user, household),
    }
