"""The household register: scoped reads, masked views, creation and edits by village staff."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role, User
from marketplace.audit.services import record_event
from marketplace.errors import Problem, ServiceError, refuse_first
from marketplace.extensions import db
from marketplace.households import policy
from marketplace.households.models import MEMBER_COUNT_RANGE, Household
from marketplace.permissions import region_clause
from marketplace.privacy import mask_id_number, mask_name, mask_phone
from marketplace.regions.models import Region, RegionLevel
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

# Roles that may see personal data at all, inside their scope. Donors, auditors and the public
# never do.
EDITABLE_FIELDS = (
    "register_number",
    "head_name",
    "head_id_number",
    "phone",
    "member_count",
    "primary_cause",
    "other_causes",
    "status",
    "labour_capacity",
    "income_per_capita",
)
MEMBER_COUNT_MESSAGE = _l(
    "A household has %(low)s to %(high)s members.",
    low=MEMBER_COUNT_RANGE[0],
    high=MEMBER_COUNT_RANGE[1],
)
# Register and ID card numbers are unique: the message for a number already registered.
ALREADY_REGISTERED = {
    "register_number": _l("A household with this register number already exists."),
    "head_id_number": _l("A household with this ID card number is already registered."),
}


def households_query(user: User) -> sa.Select[Any]:
    """Households the user may list: inside their regions; donors list none."""
    query = sa.select(Household).join(Region, Household.village_id == Region.id)
    if user.role == Role.DONOR:
        return query.where(sa.false())
    return query.where(region_clause(user, Region.path))


def get_household(user: User, household_id: int) -> Household:
    household = db.session.scalar(households_query(user).where(Household.id == household_id))
    if household is None:
        raise ServiceError(_l("The page or record was not found."), 404)
    return household


def identity(user: User, households: list[Household]) -> dict[int, dict[str, str]]:
    """Name, ID number and phone for display: full where the user has the right (and that view
    is audited), masked everywhere else."""
    shown: dict[int, dict[str, str]] = {}
    unmasked: list[int] = []
    for h in households:
        if policy.can_see_personal(user, h):
            shown[h.id] = {"name": h.head_name, "id_number": h.head_id_number, "phone": h.phone}
            unmasked.append(h.id)
        else:
            shown[h.id] = {
                "name": mask_name(h.head_name),
                "id_number": mask_id_number(h.head_id_number),
                "phone": mask_phone(h.phone),
            }
    if unmasked:
        record_event("personal_data_viewed", user, after={"households": unmasked})
    return shown


def household_problems(values: dict[str, Any]) -> list[Problem]:
    """Every rule the values of one household break, found without the database (that the
    register and ID card numbers are not yet registered is checked against it, see
    ALREADY_REGISTERED). The form, the services and the import all apply these."""
    problems = []
    count = values.get("member_count")
    low, high = MEMBER_COUNT_RANGE
    if not isinstance(count, int) or isinstance(count, bool) or not low <= count <= high:
        problems.append(Problem("member_count", MEMBER_COUNT_MESSAGE))
    income = values.get("income_per_capita")
    if income is not None and Decimal(income) < 0:
        problems.append(Problem("income_per_capita", _l("Income cannot be negative.")))
    return problems


def _check_fields(values: dict[str, Any], household: Household | None) -> None:
    for field, column in (
        ("register_number", Household.register_number),
        ("head_id_number", Household.head_id_number),
    ):
        query = sa.select(Household.id).where(column == values[field])
        if household is not None:
            query = query.where(Household.id != household.id)
        if db.session.scalar(query) is not None:
            raise ServiceError(ALREADY_REGISTERED[field], field=field)
    refuse_first(household_problems(values))
    values["primary_cause"] = PovertyCause(values["primary_cause"])
    values["status"] = HouseholdStatus(values["status"])
    values["labour_capacity"] = LabourCapacity(values["labour_capacity"])
    values["other_causes"] = [
        PovertyCause(c).value
        for c in values.get("other_causes", [])
        if c != values["primary_cause"]
    ]


def create_household(actor: User, village: Region, **values: Any) -> Household:
    if village.level != RegionLevel.VILLAGE:
        raise ServiceError(_l("Choose a village."), field="village")
    if not policy.can_keep_register_of(actor, village):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)
    _check_fields(values, None)
    household = Household(village=village, created_by_id=actor.id, **values)
    db.session.add(household)
    db.session.flush()
    record_event(
        "household_created", actor, household, after={"register_number": household.register_number}
    )
    return household


def update_household(actor: User, household: Household, village: Region, **values: Any) -> None:
    if not policy.can_edit(actor, household) or not policy.can_keep_register_of(actor, village):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)
    if village.level != RegionLevel.VILLAGE:
        raise ServiceError(_l("Choose a village."), field="village")
    _check_fields(values, household)
    changed = {
        name: str(getattr(household, name))
        for name in EDITABLE_FIELDS
        if getattr(household, name) != values[name]
    }
    for name in EDITABLE_FIELDS:
        setattr(household, name, values[name])
    household.village = village
    # Field names only: the audit trail must not become a copy of the personal data.
    record_event("household_updated", actor, household, after={"fields": sorted(changed)})
