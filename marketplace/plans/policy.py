"""Who may do what with a household's plan, guarantees, exit and monitoring; and the legal
moves of a measure and of a household's status.

Village staff keep the plan (measures, guarantee checks, shocks) of the villages they serve;
administrators of the region decide a household's status: exit by assessment (脱贫), monitoring
(防返贫) and return to poverty (返贫). A status changes only through
``households.policy.STATUS_WORKFLOW``, by these decisions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.households import policy as households
from marketplace.households.models import Household
from marketplace.permissions import in_scope
from marketplace.plans.models import Measure, MeasureStatus
from marketplace.roles import Role
from marketplace.transitions import Workflow
from marketplace.vocab import HouseholdStatus

if TYPE_CHECKING:
    from marketplace.accounts.models import User

MEASURE_WORKFLOW = Workflow(
    Measure,
    {
        MeasureStatus.PLANNED: {
            MeasureStatus.UNDER_WAY,
            MeasureStatus.DONE,
            MeasureStatus.DROPPED,
        },
        MeasureStatus.UNDER_WAY: {MeasureStatus.DONE, MeasureStatus.DROPPED},
        MeasureStatus.DONE: set(),
        MeasureStatus.DROPPED: set(),
    },
)
# A measure can still be changed, and needs posted from it, until it is done or dropped.
OPEN_MEASURES = frozenset({MeasureStatus.PLANNED, MeasureStatus.UNDER_WAY})


def can_read(user: User, household: Household) -> bool:
    return households.can_read(user, household)


def can_see_personal(user: User, household: Household) -> bool:
    return households.can_see_personal(user, household)


def can_see_evidence_photo(user: User, household: Household) -> bool:
    """A photo taken in the home cannot be masked: shown only to those who may see the
    household's personal data (its village's staff, its region's administrators), audited."""
    return can_see_personal(user, household)


def can_keep_plan(user: User, household: Household) -> bool:
    """The village's staff write the plan, the guarantee checks and the measures."""
    return households.can_edit(user, household)


def can_edit_measure(user: User, measure: Measure) -> bool:
    return can_keep_plan(user, measure.plan.household) and measure.status in OPEN_MEASURES


def can_move_measure(user: User, measure: Measure, to: MeasureStatus) -> bool:
    return can_keep_plan(user, measure.plan.household) and MEASURE_WORKFLOW.allows(measure, to)


def can_post_need_from(user: User, measure: Measure) -> bool:
    return can_edit_measure(user, measure)


def can_record_shock(user: User, household: Household) -> bool:
    """Staff who see it happen, and the administrators who monitor."""
    return user.role in Role.EDITORS | Role.ADMINS and in_scope(user, household.village)


def can_resolve_shock(user: User, household: Household) -> bool:
    return can_record_shock(user, household)


def _decides(user: User, household: Household, to: HouseholdStatus) -> bool:
    return (
        user.role in Role.ADMINS
        and in_scope(user, household.village)
        and households.STATUS_WORKFLOW.allows(household, to)
    )


def can_assess_exit(user: User, household: Household) -> bool:
    """Exit (and release from monitoring) is the region's administrators' assessment."""
    return _decides(user, household, HouseholdStatus.EXITED)


def can_start_monitoring(user: User, household: Household) -> bool:
    return _decides(user, household, HouseholdStatus.MONITORED)


def can_return_to_poverty(user: User, household: Household) -> bool:
    return _decides(user, household, HouseholdStatus.POOR)


def actions(user: User, household: Household) -> dict[str, bool]:
    """What the user may do on the household's plan now, for the page's buttons."""
    return {
        "keep_plan": can_keep_plan(user, household),
        "record_shock": can_record_shock(user, household),
        "assess_exit": can_assess_exit(user, household),
        "start_monitoring": can_start_monitoring(user, household),
        "return_to_poverty": can_return_to_poverty(user, household),
        "see_personal": can_see_personal(user, household),
        "see_evidence_photo": can_see_evidence_photo(user, household),
    }


def measure_actions(user: User, measure: Measure) -> dict[str, bool]:
    return {
        "edit": can_edit_measure(user, measure),
        "post_need": can_post_need_from(user, measure),
        "start": can_move_measure(user, measure, MeasureStatus.UNDER_WAY),
        "done": can_move_measure(user, measure, MeasureStatus.DONE),
        "drop": can_move_measure(user, measure, MeasureStatus.DROPPED),
    }
