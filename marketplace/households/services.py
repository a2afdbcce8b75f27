"""The household register: scoped reads, masked views, creation and edits by village staff."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role, User
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.matches.models import Match, MatchStatus
from marketplace.oversight.services import record_event
from marketplace.permissions import in_scope, region_clause
from marketplace.privacy import mask_id_number, mask_name, mask_phone
from marketplace.regions.models import Region, RegionLevel
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

# Roles that may see personal data at all, inside their scope. Donors, auditors and the public
# never do.
PERSONAL_DATA_ROLES = (Role.STAFF, Role.ADMIN, Role.SUPERUSER)
AID_STATUSES = (MatchStatus.APPROVED, MatchStatus.DELIVERED, MatchStatus.CONFIRMED)
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


def may_see_personal(user: User, household: Household) -> bool:
    return user.role in PERSONAL_DATA_ROLES and in_scope(user, household.village)


def may_edit(user: User, household: Household | None = None, village: Region | None = None) -> bool:
    region = household.village if household is not None else village
    return user.role in (Role.STAFF, Role.SUPERUSER) and in_scope(user, region)


def identity(user: User, households: list[Household]) -> dict[int, dict[str, str]]:
    """Name, ID number and phone for display: full where the user has the right (and that view
    is audited), masked everywhere else."""
    shown: dict[int, dict[str, str]] = {}
    unmasked: list[int] = []
    for h in households:
        if may_see_personal(user, h):
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


def _check_fields(values: dict[str, Any], household: Household | None) -> None:
    duplicates = [
        (
            "register_number",
            Household.register_number,
            values["register_number"],
            _l("A household with this register number already exists."),
        ),
        (
            "head_id_number",
            Household.head_id_number,
            values["head_id_number"],
            _l("A household with this ID card number is already registered."),
        ),
    ]
    for field, column, value, message in duplicates:
        query = sa.select(Household.id).where(column == value)
        if household is not None:
            query = query.where(Household.id != household.id)
        if db.session.scalar(query) is not None:
            raise ServiceError(message, field=field)
    if not 1 <= int(values["member_count"]) <= 30:
        raise ServiceError(_l("A household has 1 to 30 members."), field="member_count")
    income = values.get("income_per_capita")
    if income is not None and Decimal(income) < 0:
        raise ServiceError(_l("Income cannot be negative."), field="income_per_capita")
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
    if not may_edit(actor, village=village):
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
    if not may_edit(actor, household) or not may_edit(actor, village=village):
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


def aid_received(household: Household) -> list[Match]:
    """Every approved, delivered or confirmed match of the household, across all resources."""
    from marketplace.needs.models import Need

    return list(
        db.session.scalars(
            sa.select(Match)
            .join(Need, Match.need_id == Need.id)
            .where(Need.household_id == household.id, Match.status.in_(AID_STATUSES))
            .order_by(Match.created_at)
        )
    )


def prior_aid_counts(household_ids: list[int]) -> dict[int, int]:
    """How many matches each household has received: the ranking favours the less aided."""
    from marketplace.needs.models import Need

    if not household_ids:
        return {}
    rows = db.session.execute(
        sa.select(Need.household_id, sa.func.count(Match.id))
        .join(Match, Match.need_id == Need.id)
        .where(Need.household_id.in_(household_ids), Match.status.in_(AID_STATUSES))
        .group_by(Need.household_id)
    )
    return {hid: count for hid, count in rows if hid is not None}


def village_aid_summary(village: Region) -> dict[str, int]:
    """Households of the village with and without any aid: repeated aid while others wait."""
    from marketplace.needs.models import Need

    total = db.session.scalar(
        sa.select(sa.func.count(Household.id)).where(Household.village_id == village.id)
    )
    aided = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Need.household_id)))
        .join(Match, Match.need_id == Need.id)
        .where(Need.village_id == village.id, Match.status.in_(AID_STATUSES))
    )
    return {"households": int(total or 0), "aided": int(aided or 0)}
