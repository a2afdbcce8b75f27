"""The household register: scoped reads, masked views, creation and edits by village staff;
the roster of its members; its identification (精准识别)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from stdnum.cn import ric

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import admins_over, staff_of
from marketplace.audit.models import AuditEvent
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import Problem, ServiceError, refuse_first
from marketplace.extensions import db
from marketplace.households import policy
from marketplace.households.models import (
    DISABILITY_GRADES,
    MEMBER_COUNT_RANGE,
    Household,
    HouseholdMember,
    IdentificationStatus,
    MemberHealth,
    MemberLabour,
    MemberRelation,
    SchoolStage,
    Sex,
)
from marketplace.notifications import services as notifications
from marketplace.notifications.models import Notification
from marketplace.permissions import region_clause
from marketplace.privacy import mask_id_number, mask_name, mask_phone
from marketplace.regions.models import Region, RegionLevel
from marketplace.timefmt import beijing_today
from marketplace.transitions import conflict
from marketplace.validation import normalise_id_number
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


def identity(
    user: User, households: list[Household], *, members: bool = False
) -> dict[int, dict[str, Any]]:
    """Name, ID number and phone for display: full where the user has the right (and that view
    is audited), masked everywhere else. With ``members``, each household's roster too (under
    "members", see ``shown_member``), disclosed and audited the same way in the same event."""
    shown: dict[int, dict[str, Any]] = {}
    unmasked: list[int] = []
    unmasked_members: list[int] = []
    for h in households:
        full = policy.can_see_personal(user, h)
        if full:
            shown[h.id] = {"name": h.head_name, "id_number": h.head_id_number, "phone": h.phone}
            unmasked.append(h.id)
        else:
            shown[h.id] = {
                "name": mask_name(h.head_name),
                "id_number": mask_id_number(h.head_id_number),
                "phone": mask_phone(h.phone),
            }
        if members:
            roster = ordered_roster(h)
            shown[h.id]["members"] = [shown_member(m, full) for m in roster]
            if full:
                unmasked_members.extend(m.id for m in roster)
    if unmasked:
        after: dict[str, Any] = {"households": unmasked}
        if unmasked_members:
            after["members"] = unmasked_members
        record_event("personal_data_viewed", user, after=after)
    return shown


def ordered_roster(household: Household) -> list[HouseholdMember]:
    """The head first, then the others in the order they were entered."""
    return sorted(household.members, key=lambda m: (m.relation != MemberRelation.HEAD, m.id))


def shown_member(member: HouseholdMember, full: bool) -> dict[str, Any]:
    """One member as the reader may see them: name and ID card number masked, birth date and
    health left out, unless ``full`` (the reader's right, decided and audited by ``identity``).
    Relation, sex, labour, schooling, skills and work away are not masked: they are what the
    register's figures and the matching read."""
    return {
        "id": member.id,
        "relation": member.relation,
        "name": member.name if full else mask_name(member.name),
        "id_number": member.id_number if full else mask_id_number(member.id_number),
        "sex": member.sex,
        "birth_date": member.birth_date if full else None,
        "age": age_of(member.birth_date) if full else None,
        "labour": member.labour,
        "health": member.health if full else None,
        "disability_grade": member.disability_grade if full else None,
        "schooling": member.schooling,
        "in_school": member.in_school,
        "skills": member.skills,
        "working_away": member.working_away,
        # Carried over from before the roster recorded them: the staff complete these.
        "incomplete": not member.id_number or member.labour is None or member.schooling is None,
    }


def age_of(born: date | None, today: date | None = None) -> int | None:
    if born is None:
        return None
    today = today or beijing_today()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


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
    elsewhere = sa.select(HouseholdMember.id).where(
        HouseholdMember.id_number != "", HouseholdMember.id_number == values["head_id_number"]
    )
    if household is not None:
        elsewhere = elsewhere.where(HouseholdMember.household_id != household.id)
    if db.session.scalar(elsewhere) is not None:
        raise ServiceError(IN_ANOTHER_ROSTER, field="head_id_number")
    refuse_first(household_problems(values))
    values["primary_cause"] = PovertyCause(values["primary_cause"])
    if "status" in values:  # a new household's (the demo's): poor unless given
        values["status"] = HouseholdStatus(values["status"])
    values["labour_capacity"] = LabourCapacity(values["labour_capacity"])
    values["other_causes"] = [
        PovertyCause(c).value
        for c in values.get("other_causes", [])
        if c != values["primary_cause"]
    ]


IN_ANOTHER_ROSTER = _l("This person is already in the roster of a household.")


def create_household(actor: User, village: Region, **values: Any) -> Household:
    if village.level != RegionLevel.VILLAGE:
        raise ServiceError(_l("Choose a village."), field="village")
    if not policy.can_keep_register_of(actor, village):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)
    _check_fields(values, None)
    household = Household(
        village=village,
        created_by_id=actor.id,
        identification=IdentificationStatus.DECLARED,  # 户申报: the steps start here
        **values,
    )
    db.session.add(household)
    db.session.flush()
    record_event(
        "household_created", actor, household, after={"register_number": household.register_number}
    )
    return household


STATUS_NOT_EDITED = _l(
    "A household's status is not edited on the register: it changes only by the decisions on "
    "its plan (exit by assessment, monitoring, return to poverty)."
)


def update_household(actor: User, household: Household, village: Region, **values: Any) -> None:
    """The register's fields (EDITABLE_FIELDS); never the status (households.policy
    .STATUS_WORKFLOW: the plan's decisions) nor the identification (``identify``)."""
    if not policy.can_edit(actor, household) or not policy.can_keep_register_of(actor, village):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)
    if "status" in values:
        raise ServiceError(STATUS_NOT_EDITED, 409)
    if village.level != RegionLevel.VILLAGE:
        raise ServiceError(_l("Choose a village."), field="village")
    _check_fields(values, household)
    if any(m.id_number == values["head_id_number"] and m.relation != MemberRelation.HEAD
           for m in household.members):  # fmt: skip
        raise ServiceError(_l(
            "This person is in the household's roster: remove their row first (the head's row "
            "then takes the new head's name and number)."), field="head_id_number")  # fmt: skip
    listed = len(household.members)
    if values["member_count"] < listed:
        raise ServiceError(
            _l("The roster lists %(count)s members: remove members from it first.", count=listed),
            field="member_count",
        )
    derived = roster_labour(household.members)
    if derived is not None:  # the roster decides; the household's own field is not used
        values["labour_capacity"] = derived
    changed = {
        name: str(getattr(household, name))
        for name in EDITABLE_FIELDS
        if getattr(household, name) != values[name]
    }
    for name in EDITABLE_FIELDS:
        setattr(household, name, values[name])
    household.village = village
    head = next((m for m in household.members if m.relation == MemberRelation.HEAD), None)
    if head is not None:  # the head's row of the roster follows the household's head
        head.name = household.head_name
        _set_id_number(head, household.head_id_number)
    # Field names only: the audit trail must not become a copy of the personal data.
    record_event("household_updated", actor, household, after={"fields": sorted(changed)})


# --- the roster (家庭成员) -------------------------------------------------------------------

MEMBER_FIELDS = ("relation", "name", "id_number", "labour", "health", "disability_grade",
                 "schooling", "in_school", "skills", "working_away")  # fmt: skip
ALREADY_HEAD = _l("The roster already has the head.")
ALREADY_IN_ROSTER = _l("This person is already in this roster.")
HEAD_NUMBER = _l("This is the head's ID card number: choose the relation Head of household.")


def roster_full(count: int) -> Any:
    return _l(
        "The household has %(count)s members and the roster lists them all: change the number "
        "of members on the household's form first.",
        count=count,
    )


HEAD_IS_THE_HOUSEHOLDS = _l(
    "The head's name and ID card number are the household's: change them on the household's "
    "form, or choose another relation."
)


def member_problems(values: dict[str, Any]) -> list[Problem]:
    """Every rule the values of one member break, found without the database (MEMBER_FIELDS;
    ``id_number`` normalised). The form, the services and the import all apply these; who else
    is in the roster is checked against it (``roster_problems``)."""
    problems = []

    def choice(field: str, vocabulary: type[Any], message: Any) -> None:
        if values.get(field) not in {m.value for m in vocabulary}:
            problems.append(Problem(field, message))

    choose = _l("Choose one from the list.")
    choice("relation", MemberRelation, choose)
    name = (values.get("name") or "").strip()
    if not name:
        problems.append(Problem("name", _l("This field is required.")))
    elif len(name) > 50:
        problems.append(Problem("name", _l("At most %(n)s characters.", n=50)))
    try:
        normalise_id_number(values.get("id_number") or "")
    except ValueError as exc:
        problems.append(Problem("id_number", exc.args[0]))
    choice("labour", MemberLabour, choose)
    choice("health", MemberHealth, choose)
    grade = values.get("disability_grade")
    if values.get("health") == MemberHealth.DISABLED.value:
        if grade not in DISABILITY_GRADES:
            problems.append(Problem("disability_grade", _l("Give the disability grade, 1 to 4.")))
    elif grade is not None:
        problems.append(Problem("disability_grade", _l("Only a disability has a grade.")))
    choice("schooling", SchoolStage, choose)
    if values.get("in_school") and values.get("schooling") == SchoolStage.ILLITERATE.value:
        problems.append(Problem("in_school", _l("Choose the stage the pupil attends.")))
    if len(values.get("skills") or "") > 200:
        problems.append(Problem("skills", _l("At most %(n)s characters.", n=200)))
    return problems


def roster_rules(
    head: tuple[str, str],
    member_count: int,
    others: list[tuple[str, str]],
    values: dict[str, Any],
    adding: bool,
) -> list[Problem]:
    """What the rest of the roster says of one member's checked values, without the database:
    ``head`` the household's head (name, ID card number), ``others`` the (relation, ID card
    number) of the roster's other members. One head per household, with the household's head
    name and number; nobody twice; no more members than the household has (``adding``)."""
    problems = []
    number = values["id_number"]
    if values["relation"] == MemberRelation.HEAD.value:
        if any(relation == MemberRelation.HEAD.value for relation, _n in others):
            problems.append(Problem("relation", ALREADY_HEAD))
        if number != head[1]:
            problems.append(Problem("id_number", HEAD_IS_THE_HOUSEHOLDS))
        elif (values.get("name") or "").strip() != head[0]:
            problems.append(Problem("name", HEAD_IS_THE_HOUSEHOLDS))
    elif number == head[1]:
        problems.append(Problem("relation", HEAD_NUMBER))
    if any(n == number for _r, n in others):
        problems.append(Problem("id_number", ALREADY_IN_ROSTER))
    if adding and len(others) >= member_count:
        problems.append(Problem("", roster_full(member_count)))
    return problems


def registered_elsewhere(numbers: list[str], household_ids: set[int]) -> set[str]:
    """Which of these ID card numbers are in the roster, or are the head, of a household other
    than ``household_ids`` (one person, one household)."""
    found: set[str] = set()
    others = household_ids or {0}
    for start in range(0, len(numbers), 500):
        chunk = [n for n in numbers[start : start + 500] if n]
        # != '': the condition of the partial unique index, which the lookup then uses.
        in_rosters = sa.select(HouseholdMember.id_number).where(
            HouseholdMember.id_number != "",
            HouseholdMember.id_number.in_(chunk),
            HouseholdMember.household_id.not_in(others),
        )
        heads = sa.select(Household.head_id_number).where(
            Household.head_id_number.in_(chunk), Household.id.not_in(others)
        )
        found.update(db.session.scalars(in_rosters))
        found.update(db.session.scalars(heads))
    return found


def roster_problems(
    household: Household, values: dict[str, Any], member: HouseholdMember | None = None
) -> list[Problem]:
    """``roster_rules`` for a member of a registered household (``member``: the one being
    edited), and that the person is in no other household."""
    others = [(m.relation.value, m.id_number) for m in household.members if m is not member]
    head = (household.head_name, household.head_id_number)
    problems = roster_rules(head, household.member_count, others, values, member is None)
    taken = registered_elsewhere([values["id_number"]], {household.id})
    if taken and not any(p.field == "id_number" for p in problems):
        problems.append(Problem("id_number", IN_ANOTHER_ROSTER))
    return problems


def roster_labour(members: Iterable[HouseholdMember]) -> LabourCapacity | None:
    """The household's labour capacity as the roster gives it, None when no member's labour is
    recorded (the household's own field then stands): able to work if anyone is able-bodied,
    weak if the best is weak or partial labour, none if nobody can work (no labour, or lost).

    Anyone who can work counts, whatever their age: no working-age limit (16 to 60) is applied
    on top. The staff record each person's capacity knowing their age and health, and in the
    villages people past 60 farm, herd and take the public-welfare posts (公益岗位) that are
    meant for them; a limit would keep jobs and training from households whose only worker is
    an older one, which is the exclusion the fairness rule is meant to avoid, not to cause."""
    recorded = [m.labour.capacity for m in members if m.labour is not None]
    if not recorded:
        return None
    for capacity in (LabourCapacity.FULL, LabourCapacity.WEAK):
        if capacity in recorded:
            return capacity
    return LabourCapacity.NONE


def _keep_labour(household: Household) -> None:
    derived = roster_labour(household.members)
    if derived is not None:
        household.labour_capacity = derived


def _set_id_number(member: HouseholdMember, number: str) -> None:
    """The number, and the sex and birth date it holds."""
    member.id_number = number
    member.birth_date = ric.get_birth_date(number)
    member.sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE


def _member_values(values: dict[str, Any]) -> dict[str, Any]:
    """The checked values as the columns take them."""
    return {
        "relation": MemberRelation(values["relation"]),
        "name": values["name"].strip(),
        "labour": MemberLabour(values["labour"]),
        "health": MemberHealth(values["health"]),
        "disability_grade": values.get("disability_grade"),
        "schooling": SchoolStage(values["schooling"]),
        "in_school": bool(values.get("in_school")),
        "skills": (values.get("skills") or "").strip(),
        "working_away": bool(values.get("working_away")),
    }


def _check_member(
    actor: User, household: Household, values: dict[str, Any], member: HouseholdMember | None
) -> None:
    if not policy.can_edit_members(actor, household):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)
    refuse_first(member_problems(values))
    values["id_number"] = normalise_id_number(values["id_number"])
    found = roster_problems(household, values, member)
    if found:
        problem = found[0]
        raise ServiceError(problem.message, field=problem.field or None)


def flush_roster() -> None:
    """A racing request may have added the same person (or a second head) since the check:
    the unique indexes refuse it, answered 409."""
    try:
        db.session.flush()
    except sa.exc.IntegrityError as error:
        db.session.rollback()
        text = str(error.orig)
        if "uq_household_member_head" in text or "household_member.household_id" in text:
            raise conflict(ALREADY_HEAD) from error
        if "uq_household_member_id_number" in text or "household_member.id_number" in text:
            raise conflict(IN_ANOTHER_ROSTER) from error
        raise


def new_member(household: Household, values: dict[str, Any]) -> HouseholdMember:
    """A member from checked values (the import adds them this way too)."""
    member = HouseholdMember(**_member_values(values))
    _set_id_number(member, values["id_number"])
    household.members.append(member)
    _keep_labour(household)
    return member


def add_member(actor: User, household: Household, **values: Any) -> HouseholdMember:
    _check_member(actor, household, values, None)
    member = new_member(household, values)
    flush_roster()
    record_event("member_added", actor, household,
                 after={"member": member.id, "relation": member.relation.value})  # fmt: skip
    return member


def update_member(actor: User, member: HouseholdMember, **values: Any) -> None:
    household = member.household
    _check_member(actor, household, values, member)
    new = _member_values(values)
    changed = sorted(n for n, v in new.items() if getattr(member, n) != v)
    if member.id_number != values["id_number"]:
        changed.append("id_number")
    for name, value in new.items():
        setattr(member, name, value)
    _set_id_number(member, values["id_number"])
    _keep_labour(household)
    flush_roster()
    # Field names only: the audit trail must not become a copy of the personal data.
    record_event("member_updated", actor, household,
                 after={"member": member.id, "fields": sorted(changed)})  # fmt: skip


def remove_member(actor: User, member: HouseholdMember) -> None:
    household = member.household
    if not policy.can_edit_members(actor, household):
        raise ServiceError(_l("Only the staff of this village may change its register."), 403)
    household.members.remove(member)
    _keep_labour(household)
    db.session.flush()
    record_event("member_removed", actor, household,
                 after={"member": member.id, "relation": member.relation.value})  # fmt: skip


def get_member(user: User, household_id: int, member_id: int) -> HouseholdMember:
    """A member of a household the user may read (404 otherwise, as for the household)."""
    household = get_household(user, household_id)
    member = next((m for m in household.members if m.id == member_id), None)
    if member is None:
        raise ServiceError(_l("The page or record was not found."), 404)
    return member


# --- identification (精准识别) --------------------------------------------------------------

S = IdentificationStatus
STEPS: dict[str, IdentificationStatus] = {
    "propose": S.PROPOSED,  # 村评定, then proposed by the village's staff
    "review": S.REVIEWED,  # 入户查、逐级核: the township
    "confirm": S.CONFIRMED,  # 县确认: the county
    "send_back": S.RETURNED,  # by the level reviewing it, or the city's spot checks
}
NOT_YOUR_STEP = {
    "propose": _l("Only the staff of this village may propose its households."),
    "review": _l("Only administrators of the household's township review its identification."),
    "confirm": _l("Only administrators of the household's county confirm its identification."),
    "send_back": _l("Only the level reviewing this household may send it back."),
}


# The seven steps as the household page shows them, and how far each state has come.
SEVEN_STEPS = [
    _l("The household applies"),  # 户申报
    _l("The villagers' group discusses"),  # 小组议
    _l("The village assesses"),  # 村评定
    _l("The township visits the household"),  # 入户查
    _l("Checked level by level"),  # 逐级核
    _l("The county confirms"),  # 县确认
    _l("The city spot-checks"),  # 市抽查
]
STEPS_DONE = {S.DECLARED: 1, S.RETURNED: 2, S.PROPOSED: 3, S.REVIEWED: 5, S.CONFIRMED: 6}


def identification_steps(household: Household) -> list[tuple[Any, bool]]:
    """The seven steps (户申报 ... 市抽查), each with whether the household has passed it. The
    city's spot checks (随机抽查) are drawn at random among confirmed households: never
    "passed", always ahead."""
    done = STEPS_DONE[household.identification]
    return [(label, n < done) for n, label in enumerate(SEVEN_STEPS)]


def identification_queue(user: User) -> sa.Select[Any]:
    """The households waiting for the user's step, oldest move first: for the village's staff
    those to propose (declared, or sent back); for an administrator of a township those it
    proposed, of a county those its townships reviewed (a superuser: both)."""
    clauses: list[sa.ColumnElement[bool]] = []
    if user.role in Role.EDITORS:
        clauses.append(Household.identification.in_([S.DECLARED, S.RETURNED]))
    if user.role == Role.SUPERUSER:
        clauses.append(Household.identification.in_([S.PROPOSED, S.REVIEWED]))
    elif user.role == Role.ADMIN:
        waits = {RegionLevel.TOWNSHIP: S.PROPOSED, RegionLevel.COUNTY: S.REVIEWED}
        clauses += [
            sa.and_(Household.identification == waits[r.level],
                    Region.path.startswith(r.path, autoescape=True))
            for r in user.regions
            if r.level in waits
        ]  # fmt: skip
    query = households_query(user).where(sa.or_(*clauses) if clauses else sa.false())
    return query.order_by(Household.updated_at, Household.id)


def _may_take(actor: User, household: Household, step: str) -> bool:
    """The actor's part in the step, whatever the state (the workflow judges that: 409)."""
    if step == "propose":
        return policy.can_edit(actor, household)
    if step == "review":
        return policy.acts_at(actor, household, policy.TOWNSHIP)
    if step == "confirm":
        return policy.acts_at(actor, household, policy.COUNTY)
    levels = {S.PROPOSED: policy.TOWNSHIP, S.REVIEWED: policy.COUNTY}.get(
        household.identification, policy.SPOT_CHECKERS
    )
    return policy.acts_at(actor, household, levels)


def identify(
    actor: User,
    household: Household,
    step: str,
    *,
    assessed_on: date | None = None,
    assessment: str = "",
    reason: str = "",
) -> None:
    """Take one step of the household's identification, the one transition function: the
    village proposes (with its assessment's date and result), the township reviews, the county
    confirms, a level sends it back (with a reason). Refused 403 when the step is not the
    actor's, 409 when the household is not at a state the step starts from (or someone else
    moved it first); every step is audited."""
    if step not in STEPS:
        raise ServiceError(_l("The page or record was not found."), 404)
    if not _may_take(actor, household, step):
        raise ServiceError(NOT_YOUR_STEP[step], 403)
    to = STEPS[step]
    values: dict[str, Any] = {}
    after: dict[str, Any] = {"identification": to.value}
    if step == "propose":
        if assessed_on is None:
            raise ServiceError(_l("This field is required."), field="assessed_on")
        if assessed_on > beijing_today():
            raise ServiceError(_l("The date cannot be in the future."), field="assessed_on")
        if not assessment.strip():
            raise ServiceError(_l("This field is required."), field="assessment")
        values = {
            "village_assessed_on": assessed_on,
            "village_assessment": assessment.strip()[:500],
            "identification_reason": "",
            "identification_reviewed_by_id": None,
            "identification_reviewed_at": None,
            "identification_confirmed_by_id": None,
            "identification_confirmed_at": None,
        }
        after["assessed_on"] = assessed_on.isoformat()
    elif step == "review":
        values = {"identification_reviewed_by_id": actor.id,
                  "identification_reviewed_at": utcnow()}  # fmt: skip
    elif step == "confirm":
        if actor.role != Role.SUPERUSER and actor.id == household.identification_reviewed_by_id:
            raise ServiceError(
                _l("You reviewed this household for the township: another administrator, of "
                   "the county, confirms it."), 403)  # fmt: skip
        values = {"identification_confirmed_by_id": actor.id,
                  "identification_confirmed_at": utcnow()}  # fmt: skip
    else:
        if not reason.strip():
            raise ServiceError(_l("Give a reason when you send a household back."),
                               field="reason")  # fmt: skip
        values = {"identification_reason": reason.strip()[:500]}
        after["reason"] = values["identification_reason"]
    source = policy.IDENTIFICATION.move(household, to, **values)
    record_event(f"identification_{to.value}", actor, household,
                 before={"identification": source.value}, after=after)  # fmt: skip
    _tell_next(actor, household, step)


# Who is told of each step: the level whose turn it is now, or the staff who proposed the
# household when it is sent back (with the reason). The register number and the village only:
# no name or ID card number in a notification (it may go out by e-mail).
notifications.MESSAGES.update({
    "identification_proposed": _l(
        "Household %(number)s (%(village)s) proposed by the village: please review it"),
    "identification_reviewed": _l(
        "Household %(number)s (%(village)s) reviewed by the township: please confirm it"),
    "identification_returned": _l(
        "Household %(number)s (%(village)s) was sent back from identification. Reason: "
        "%(reason)s"),
})  # fmt: skip


def _proposer(household: Household) -> int | None:
    """Who proposed the household last (the audit trail keeps each step's actor)."""
    return db.session.scalar(
        sa.select(AuditEvent.actor_id)
        .where(
            AuditEvent.object_type == Household.__tablename__,
            AuditEvent.object_id == household.id,
            AuditEvent.action == f"identification_{S.PROPOSED.value}",
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def identification_recipients(household: Household, step: str) -> list[User]:
    """Those a step hands the household to: after the village's proposal the administrators
    of its township, after the township's review those of its county; a household sent back
    goes to the staff who proposed it (still active), or else to its village's staff."""
    if step in ("propose", "review"):
        level = policy.TOWNSHIP if step == "propose" else policy.COUNTY
        return [u for u in admins_over(household.village) if policy.acts_at(u, household, level)]
    if step == "send_back":
        proposer = _proposer(household)
        user = db.session.get(User, proposer) if proposer is not None else None
        if user is not None and user.active and policy.can_edit(user, household):
            return [user]
        return staff_of(household.village)
    return []


# The handovers a step takes care of: their notifications, still unread, are marked read
# (another administrator of the level may have been told too; nothing waits for them now).
TAKEN_CARE_OF = {
    "review": ["identification_proposed"],
    "confirm": ["identification_reviewed"],
    "send_back": ["identification_proposed", "identification_reviewed"],
    "propose": ["identification_returned"],
}


def _tell_next(actor: User, household: Household, step: str) -> None:
    link = f"/households/{household.id}#identification"
    db.session.execute(
        sa.update(Notification)
        .where(
            Notification.link == link,
            Notification.kind.in_(TAKEN_CARE_OF[step]),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    recipients = [u for u in identification_recipients(household, step) if u.id != actor.id]
    if not recipients:
        return
    kind = "identification_" + STEPS[step].value
    params = {"number": household.register_number, "village": household.village.full_name}
    if step == "send_back":
        params["reason"] = household.identification_reason
    notifications.notify(recipients, kind, link, **params)
