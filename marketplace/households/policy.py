"""Who may do what with the household register, each rule once (role and region scope).

Services call these and refuse; views pass ``actions(user, household)`` to the templates as
``may``. Personal data (names, ID numbers, phones, health) is shown unmasked only where
``can_see_personal`` says so, and every such view is audited (households.services.identity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marketplace.permissions import in_scope
from marketplace.roles import Role

if TYPE_CHECKING:
    from marketplace.accounts.models import User
    from marketplace.households.models import Household
    from marketplace.regions.models import Region


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


def actions(user: User, household: Household) -> dict[str, bool]:
    return {
        "edit": can_edit(user, household),
        "see_personal": can_see_personal(user, household),
    }
