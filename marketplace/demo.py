"""Demo data from the source documents' real cases, in Baiyin city (白银市), Gansu.

What the demo holds is in ``demo_data/`` beside this module (organizations, accounts,
resources, need templates, village needs, the matches to play out, the parameters of the
register); this module generates the seeded households (names, ID numbers, causes: the same
on every run, ``SEED``) and plays everything through the services with an actor, as people
would: administrators create the accounts, donors register and are verified, village staff
keep the register and post needs that administrators review, donors post resources and pledge
them, administrators approve, donors deliver, staff confirm with the household. Statuses,
capacity, audit events and notifications come out as in real use.

Idempotent: every record is found by its natural key before it is created, so running the
command twice changes nothing. Demo accounts exist only when someone runs ``marketplace demo``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from stdnum.cn import ric, uscc

from marketplace.accounts import services as accounts
from marketplace.accounts.models import Organization, OrganizationKind, Role, User
from marketplace.extensions import db
from marketplace.followups import services as follow_ups
from marketplace.households import policy as household_policy
from marketplace.households.models import (
    Household,
    MemberHealth,
    MemberLabour,
    MemberRelation,
    SchoolStage,
)
from marketplace.households.services import add_member, create_household, identify
from marketplace.matches import services as matches
from marketplace.matches.models import Match
from marketplace.needs import services as needs
from marketplace.needs.models import Need, NeedStatus
from marketplace.plans import demo as plans_demo
from marketplace.produce import demo as produce_demo
from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import by_code, load_baiyin_extract, load_gazetteer
from marketplace.resources.models import Resource
from marketplace.resources.services import create_resource
from marketplace.timefmt import beijing_today, day_start_utc
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

DATA_DIR = Path(__file__).resolve().parent / "demo_data"


def _data(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


DEMO_PASSWORD = "fupin2026demo"
SEED = 2026

REGISTER: dict[str, Any] = _data("households.json")
SURNAMES: str = REGISTER["surnames"]
GIVEN: list[str] = REGISTER["given_names"]
RELATIONS: list[str] = REGISTER["relations"]
HEALTH: list[str] = REGISTER["health"]
COUNTIES: list[str] = REGISTER["counties"]

# (subcategory, title, unit, quantity, unit value, causes that make it likely)
NEED_TEMPLATES: list[tuple[str, str, str, int, int, set[str]]] = [
    (t["subcategory"], t["title"], t["unit"], t["quantity"], t["unit_value"], set(t["causes"]))
    for t in _data("need_templates.json")
]
# (subcategory, title, unit, quantity, unit value): needs of a whole village
VILLAGE_NEEDS: list[tuple[str, str, str, int, int]] = [
    (t["subcategory"], t["title"], t["unit"], t["quantity"], t["unit_value"])
    for t in _data("village_needs.json")
]


def credit_code(body: str) -> str:
    """A unified social credit code with a valid check digit (demo organizations only)."""
    return body + uscc.calc_check_digit(body)


def id_number(county_code: str, birth: date, serial: int) -> str:
    body = f"{county_code[:6]}{birth:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function skips the last character


# --- regions --------------------------------------------------------------------------------


def _region(code: str) -> Region:
    region = by_code(code)
    if region is None:
        raise RuntimeError(f"region {code} missing: load the gazetteer first")
    return region


def _regions_below(code: str, level: RegionLevel) -> list[Region]:
    """The regions of ``level`` under ``code``, in code order."""
    return list(
        db.session.scalars(
            sa.select(Region)
            .where(Region.level == level, Region.path.startswith(_region(code).path))
            .order_by(Region.code)
        )
    )


def _scope(spec: list[str] | dict[str, Any]) -> list[Region]:
    """An account's regions: a list of codes, or the first N regions of a level under one."""
    if isinstance(spec, list):
        return [_region(code) for code in spec]
    below = _regions_below(spec["within"], RegionLevel(spec["level"]))
    return below[: spec["first"]]


# --- accounts and organizations -------------------------------------------------------------


def _user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _accounts() -> dict[str, User]:
    """Staff, administrators and the auditor created by an administrator (the superuser from
    the command line); donors register their organization, and an administrator verifies it."""
    organizations = {o["key"]: o for o in _data("organizations.json")}
    users: dict[str, User] = {}
    for spec in _data("accounts.json"):
        username = spec["username"]
        user = _user(username)
        if user is None and spec["role"] == Role.DONOR.value:
            user = _register(spec, organizations[spec["organization"]], users)
            if user is None:
                continue  # the organization was registered by someone else: its members post
        elif user is None:
            regions = _scope(spec["regions"])
            creator = spec["created_by"]
            user = accounts.create_user(
                users[creator] if creator else None,
                username=username,
                display_name=spec["display_name"].format(region=regions[0].name if regions else ""),
                role=Role(spec["role"]),
                regions=regions,
                password=DEMO_PASSWORD,
            )
        users[username] = user
    return users


def _organization(name: str) -> Organization | None:
    return db.session.scalar(sa.select(Organization).where(Organization.name == name))


def _donors(users: dict[str, User]) -> dict[int, User]:
    """The demo donor of each organization, by organization id."""
    return {
        u.organization_id: u for u in users.values() if u.role == Role.DONOR and u.organization_id
    }


def _register(spec: dict[str, Any], org: dict[str, Any], users: dict[str, User]) -> User | None:
    """The donor registers the organization; an administrator verifies it (or it waits)."""
    if _organization(org["name"]) is not None:
        return None
    user = accounts.register_donor(
        username=spec["username"],
        display_name=spec["display_name"],
        password=DEMO_PASSWORD,
        kind=OrganizationKind(org["kind"]),
        organization_name=org["name"],
        credit_code=org["credit_code"],
        region=_region(org["region"]),
        contact_phone=org["contact_phone"],
    )
    if org["verified_by"] is not None:
        assert user.organization is not None
        accounts.verify_organization(users[org["verified_by"]], user.organization, approve=True)
    return user


# --- resources ------------------------------------------------------------------------------


def _resources(users: dict[str, User]) -> dict[str, Resource]:
    """Each posted by the donor of its organization, found by organization and title."""
    data = _data("resources.json")
    days = data["validity_days"]
    today = date.today()
    donors = _donors(users)
    names = {o["key"]: o["name"] for o in _data("organizations.json")}
    resources = {}
    for spec in data["resources"]:
        org = _organization(names[spec["organization"]])
        found = org and db.session.scalar(
            sa.select(Resource).where(
                Resource.organization_id == org.id, Resource.title == spec["title"]
            )
        )
        if found:
            resources[spec["key"]] = found
            continue
        if org is None or org.id not in donors:
            raise RuntimeError(f"no demo donor of {names[spec['organization']]} to post a resource")
        resources[spec["key"]] = create_resource(
            donors[org.id],
            capacity=spec["capacity"],
            service_area=[_region(code) for code in spec["service_area"]],
            kind=spec["kind"],
            title=spec["title"],
            description=spec["description"],
            categories=spec["categories"],
            unit=spec["unit"],
            unit_value=Decimal(spec["unit_value"]),
            eligible_statuses=spec["eligible_statuses"],
            eligible_causes=spec["eligible_causes"],
            priority_causes=spec.get("priority_causes", []),
            valid_from=today + timedelta(days=days["valid_from"]),
            valid_until=today + timedelta(days=days["valid_until"]),
            delivery_deadline=today + timedelta(days=days["delivery_deadline"]),
        )
    return resources


# --- the register and its needs -------------------------------------------------------------


class _Village:
    """Who acts for a village: its staff keep the register and post the needs (the superuser
    where the demo has no staff), an administrator reviews them."""

    def __init__(self, users: dict[str, User]) -> None:
        self.root = users["root"]
        self.reviewer = users[REGISTER["needs"]["reviewed_by"]]
        self.staff = {v.id: u for u in users.values() if u.role == Role.STAFF for v in u.regions}

    def editor(self, village: Region) -> User:
        return self.staff.get(village.id, self.root)


def _chosen_villages(county_code: str, staff: dict[int, User]) -> list[Region]:
    """The staff's own villages first, then villages spread across the county."""
    villages = _regions_below(county_code, RegionLevel.VILLAGE)
    wanted = REGISTER["villages_per_county"]
    step = max(len(villages) // wanted, 1)
    chosen = [v for v in villages if v.id in staff]
    chosen += [v for v in villages[::step] if v not in chosen][: wanted - len(chosen)]
    return chosen


def _household_values(
    rng: random.Random, county_code: str, serial: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One household as its staff would enter it (the draws in a fixed order: same seed,
    same register), and the people of its roster besides the head (their details, see
    ``_roster``, drawn apart so that the register stays the one it always was)."""
    causes = list(PovertyCause)
    statuses = REGISTER["status_weights"]
    surname = rng.choice(SURNAMES)
    birth = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
    primary = rng.choice(causes)
    status = rng.choices(list(statuses), weights=list(statuses.values()))[0]
    member_count = 1 + rng.randrange(6)
    values = {
        "head_name": surname + rng.choice(GIVEN),
        "head_id_number": id_number(county_code, birth, serial % 1000),
        "phone": f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
        "member_count": member_count,
        "primary_cause": primary,
        "other_causes": [c.value for c in rng.sample(causes, 1) if c != primary],
        "status": HouseholdStatus(status),
        "labour_capacity": rng.choice(list(LabourCapacity)),
        "income_per_capita": Decimal(2500 + rng.randrange(4500)),
    }
    others = []
    for m in range(member_count - 1):
        name = surname + rng.choice(GIVEN)
        rng.randrange(70)  # the birth year drawn before the roster had dates: kept for the seed
        others.append({"name": name, "relation": RELATIONS[m % len(RELATIONS)],
                       "health": rng.choice(HEALTH)})  # fmt: skip
    return values, others


# The demo data's words for relations and health, as the roster's codes.
RELATION_CODES = {
    "配偶": MemberRelation.SPOUSE,
    "子": MemberRelation.SON,
    "女": MemberRelation.DAUGHTER,
    "父亲": MemberRelation.FATHER,
    "母亲": MemberRelation.MOTHER,
    "孙子": MemberRelation.GRANDSON,
}
HEALTH_CODES = {
    "健康": MemberHealth.HEALTHY,
    "慢性病": MemberHealth.CHRONIC,
    "大病": MemberHealth.SERIOUS,
    "残疾": MemberHealth.DISABLED,
}
# Years from the head's birth to a relative's (earliest, latest).
BORN_AFTER_HEAD = {
    MemberRelation.SPOUSE: (-5, 5),
    MemberRelation.SON: (20, 32),
    MemberRelation.DAUGHTER: (20, 32),
    MemberRelation.FATHER: (-32, -20),
    MemberRelation.MOTHER: (-30, -20),
    MemberRelation.GRANDSON: (42, 56),
}
SKILLS = ["养殖", "建筑", "驾驶", "电焊", "种植", "厨师", "家政"]
# A pupil's stage by age from 6 (the last one on to 22).
STAGES_BY_AGE = [SchoolStage.PRIMARY] * 6 + [SchoolStage.JUNIOR] * 3 + [SchoolStage.SENIOR] * 3
STAGES_BY_AGE += [SchoolStage.COLLEGE]
ADULT_STAGES = [SchoolStage.ILLITERATE, SchoolStage.PRIMARY, SchoolStage.JUNIOR,
                SchoolStage.SENIOR]  # fmt: skip


@dataclass
class _Person:
    relation: MemberRelation
    name: str
    born: date
    health: MemberHealth
    labour: MemberLabour | None = None  # None: by age and health
    id_number: str = ""


def _head(household: Household) -> _Person:
    """The head as the household was registered: the household's labour, and the health its
    main cause says."""
    number = household.head_id_number
    cap = household.labour_capacity
    cause = household.primary_cause
    health = MemberHealth.HEALTHY
    if cause == PovertyCause.ILLNESS:
        health = MemberHealth.SERIOUS if cap == LabourCapacity.NONE else MemberHealth.CHRONIC
    elif cause == PovertyCause.DISABILITY:
        health = MemberHealth.DISABLED
    labour = {LabourCapacity.FULL: MemberLabour.STRONG, LabourCapacity.WEAK: MemberLabour.WEAK}
    lost = health != MemberHealth.HEALTHY
    return _Person(
        MemberRelation.HEAD,
        household.head_name,
        date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
        health,
        labour.get(cap, MemberLabour.LOST if lost else MemberLabour.NONE),
        number,
    )


def _labour(person: _Person, age: int, grade: int | None, cap: LabourCapacity) -> MemberLabour:
    """By age and health, never above what the household was registered with."""
    if person.labour is not None:
        return person.labour
    if age < 16 or age > 75:
        return MemberLabour.NONE
    if person.health == MemberHealth.SERIOUS or (grade is not None and grade <= 2):
        return MemberLabour.LOST
    if cap == LabourCapacity.NONE:
        return MemberLabour.NONE
    if cap == LabourCapacity.WEAK or age > 64 or person.health != MemberHealth.HEALTHY:
        return MemberLabour.WEAK
    return MemberLabour.STRONG


def _roster(
    household: Household, others: list[dict[str, Any]], used: set[str], serial: int
) -> list[dict[str, Any]]:
    """The whole roster, the head first, each person as staff would record them: a birth date
    fitting the relation, schooling by age, labour by age and health. The head's labour is the
    household's and nobody else works more than the household was registered with, so the
    roster gives the household the labour capacity it had."""
    rng = random.Random(f"{SEED}-roster-{serial}")
    today = date.today()
    head = _head(household)
    people = [head]
    for other in others:
        relation = RELATION_CODES[other["relation"]]
        low, high = BORN_AFTER_HEAD[relation]
        born = date(head.born.year + rng.randint(low, high), 1 + rng.randrange(12),
                    1 + rng.randrange(28))  # fmt: skip
        born = max(min(born, today - timedelta(days=400 + rng.randrange(300))), date(1920, 1, 1))
        people.append(_Person(relation, other["name"], born, HEALTH_CODES[other["health"]]))
    roster = []
    for person in people:
        age = (today - person.born).days // 365
        grade = 1 + rng.randrange(4) if person.health == MemberHealth.DISABLED else None
        in_school = 3 <= age <= 18 or (19 <= age <= 22 and rng.random() < 0.4)
        if age < 6:
            stage = SchoolStage.PRESCHOOL
        elif in_school:
            stage = STAGES_BY_AGE[min(age - 6, len(STAGES_BY_AGE) - 1)]
        else:
            stage = rng.choice(ADULT_STAGES)
        labour = (
            MemberLabour.NONE
            if in_school
            else _labour(person, age, grade, household.labour_capacity)
        )
        number, serial3 = person.id_number, serial * 7
        while not number or number in used:  # one person, one number
            number = id_number(household.village.code, person.born, 500 + serial3 % 500)
            serial3 += 1
        used.add(number)
        able = labour == MemberLabour.STRONG and 18 <= age <= 50
        roster.append({
            "relation": person.relation.value, "name": person.name, "id_number": number,
            "labour": labour.value, "health": person.health.value, "disability_grade": grade,
            "schooling": stage.value, "in_school": in_school,
            "skills": rng.choice(SKILLS) if able and rng.random() < 0.4 else "",
            "working_away": able and rng.random() < 0.4,
        })  # fmt: skip
    return roster


def _identified(
    household: Household, editor: User, users: dict[str, User], rng: random.Random
) -> None:
    """The seven steps, as people take them: the village's staff propose the household after
    its assessment, an administrator of its township reviews it, one of its county confirms it
    (the superuser stands in where the demo has nobody at that level)."""
    assessed = date.today() - timedelta(days=60 + rng.randrange(300))
    result = f"村民代表大会评议通过，评分{60 + rng.randrange(30)}分，公示7天无异议。"
    identify(editor, household, "propose", assessed_on=assessed, assessment=result)
    for step, levels in (
        ("review", household_policy.TOWNSHIP),
        ("confirm", household_policy.COUNTY),
    ):
        admins = [u for u in users.values() if u.role == Role.ADMIN]
        acting = [u for u in admins if household_policy.acts_at(u, household, levels)]
        identify(acting[0] if acting else users["root"], household, step)


def _households_and_needs(users: dict[str, User]) -> tuple[int, int]:
    rng = random.Random(SEED)
    acting = _Village(users)
    worked = REGISTER["worked_case"]
    every = REGISTER["village_need_every"]
    households = posted = 0
    serial = 0
    used: set[str] = set()  # the roster's ID card numbers so far
    for county_code in COUNTIES:
        in_worked_case = county_code == worked["county"]
        per_village = REGISTER["households_per_village"]
        if in_worked_case:
            per_village = worked["households_per_village"]
        for village_index, village in enumerate(_chosen_villages(county_code, acting.staff)):
            editor = acting.editor(village)
            registered = set(
                db.session.scalars(
                    sa.select(Household.register_number).where(Household.village_id == village.id)
                )
            )
            for number in range(1, per_village + 1):
                serial += 1
                register = f"{village.code}{number:03d}"
                if register in registered:
                    continue
                values, others = _household_values(rng, county_code, serial)
                household = create_household(editor, village, register_number=register, **values)
                for member in _roster(household, others, used, serial):
                    add_member(editor, household, **member)
                _identified(household, editor, users, random.Random(f"{SEED}-steps-{serial}"))
                households += 1
                wanted = in_worked_case and household.status.value in worked["statuses"]
                posted += _needs_for(rng, household, editor, acting.reviewer,
                                     worked["subcategory"] if wanted else None)  # fmt: skip
            if village_index % every == 0:
                posted += _village_need(rng, village, editor, acting.reviewer)
    return households, posted


def _review(reviewer: User, need: Need, status: NeedStatus) -> None:
    """An administrator verifies or returns a submitted need (or leaves it waiting)."""
    if status == NeedStatus.VERIFIED:
        needs.verify_need(reviewer, need)
    elif status == NeedStatus.RETURNED:
        needs.return_need(reviewer, need, REGISTER["needs"]["return_reason"])


def _needs_for(
    rng: random.Random, household: Household, author: User, reviewer: User, required: str | None
) -> int:
    """One or two needs likely for the household's causes; ``required``, a subcategory the
    household needs in any case, verified (the worked case)."""
    causes = set(household.causes)
    likely = [t for t in NEED_TEMPLATES if not t[5] or t[5] & causes] or NEED_TEMPLATES
    weights = REGISTER["needs"]["status_weights"]
    count = 1 + (rng.random() < 0.4)
    chosen = rng.sample(likely, min(count, len(likely)))
    if required is not None and all(t[0] != required for t in chosen):
        chosen[-1:] = [t for t in NEED_TEMPLATES if t[0] == required]
    for template in chosen:
        code, title, unit, quantity, unit_value, _causes = template
        status = NeedStatus(rng.choices(list(weights), weights=list(weights.values()))[0])
        if code == required:
            status = NeedStatus.VERIFIED
        need = needs.create_need(
            author,
            household.village,
            household,
            subcategory=code,
            title=title,
            description=f"{household.village.name}{title}。",
            quantity=quantity,
            unit=unit,
            estimated_value=Decimal(quantity * unit_value),
            urgency=1 + rng.randrange(3),
            needed_by=date.today() + timedelta(days=30 + rng.randrange(150)),
        )
        _review(reviewer, need, status)
    return count


def _village_need(rng: random.Random, village: Region, author: User, reviewer: User) -> int:
    code, title, unit, quantity, unit_value = rng.choice(VILLAGE_NEEDS)
    exists = sa.select(Need.id).where(Need.village_id == village.id, Need.household_id.is_(None))
    if db.session.scalar(exists) is not None:
        return 0
    need = needs.create_need(
        author,
        village,
        None,
        subcategory=code,
        title=title,
        description=f"{village.name}：{title}，惠及全村群众。",
        quantity=quantity,
        unit=unit,
        estimated_value=Decimal(quantity * unit_value),
        urgency=REGISTER["needs"]["village_urgency"],
        needed_by=None,
    )
    _review(reviewer, need, NeedStatus.VERIFIED)
    return 1


# --- matches --------------------------------------------------------------------------------

# How far each match of the plan goes: pledged, then approved, delivered, confirmed.
STEPS = ["proposed", "approved", "delivered", "confirmed"]


def _candidates(
    resource: Resource, subcategory: str, within: str | None, wanted: int
) -> list[Need]:
    """The first ``wanted`` verified household needs of the category, oldest first, that the
    resource may serve (the pledge checks the same: eligibility, area, category)."""
    query = (
        sa.select(Need)
        .join(Region, Need.village_id == Region.id)
        .where(
            Need.subcategory == subcategory,
            Need.status == NeedStatus.VERIFIED,
            Need.household_id.is_not(None),
        )
        .order_by(Need.id)
    )
    if within is not None:
        query = query.where(Region.path.startswith(_region(within).path))
    served = (n for n in db.session.scalars(query) if matches.pairing_problem(n, resource) is None)
    return list(islice(served, wanted))


def _matches(resources: dict[str, Resource], users: dict[str, User]) -> int:
    """A few matches in later states, so the figures and pages have something to show: the
    donor pledges, an administrator approves, the donor delivers, the village's staff confirm
    with the household."""
    if db.session.scalar(sa.select(sa.func.count(Match.id))):
        return 0
    plan = _data("matches.json")
    approver = users[plan["approved_by"]]
    confirmation = plan["confirmation"]
    acting = _Village(users)
    donors = _donors(users)
    made = 0
    for play in plan["plays"]:
        resource = resources[play["resource"]]
        donor = donors[resource.organization_id]
        outcomes = play["outcomes"]
        chosen = _candidates(resource, play["subcategory"], play["within"], len(outcomes))
        for need, outcome in zip(chosen, outcomes, strict=False):
            reached = STEPS.index(outcome)
            match = matches.pledge(donor, need, resource, need.quantity)
            if reached >= STEPS.index("approved"):
                matches.approve(approver, match)
            if reached >= STEPS.index("delivered"):
                matches.deliver(donor, match, plan["delivery_note"])
            if reached >= STEPS.index("confirmed"):
                matches.confirm(
                    acting.editor(need.village),
                    match,
                    received_quantity=match.quantity,
                    received_on=beijing_today(),  # the day in Beijing, as staff type it
                    satisfaction=confirmation["satisfaction"],
                    feedback=confirmation["feedback"],
                )
            made += 1
    return made


# --- follow-ups of results -------------------------------------------------------------------


def _date_back(match: Match, arrived: date) -> None:
    """Date a match's pledge, approval and delivery (and its need's posting and review) back to
    the days before its help arrived: the demo's stories began months before today."""
    given = day_start_utc(arrived - timedelta(days=3)) + timedelta(hours=2)
    posted = day_start_utc(arrived - timedelta(days=20)) + timedelta(hours=2)
    db.session.execute(
        sa.update(Match)
        .where(Match.id == match.id)
        .values(created_at=given, decided_at=given, delivered_at=given,
                disclosure_until=given + timedelta(days=7))
    )  # fmt: skip
    db.session.execute(
        sa.update(Need)
        .where(Need.id == match.need_id)
        .values(created_at=posted, verified_at=posted + timedelta(days=1))
    )
    db.session.refresh(match)


def _follow_ups(resources: dict[str, Resource], users: dict[str, User]) -> int:
    """Help given months ago and followed up since (跟踪问效, demo_data/followups.json): jobs
    and shares in an aquaculture fund, pledged, approved, delivered and confirmed as the other
    matches are, dated back to when the help arrived; the follow-ups due since then recorded by
    the village's staff through ``followups.services``, the rest left due or overdue. The
    donors' impact pages show these figures. The audit trail (and so a match's history) keeps
    the day the demo was loaded: it is hash-chained and never rewritten. Returns the
    follow-ups recorded."""
    plan = _data("followups.json")
    approver = users[plan["approved_by"]]
    acting = _Village(users)
    donors = _donors(users)
    today = beijing_today()
    recorded = 0
    for play in plan["plays"]:
        resource = resources[play["resource"]]
        if db.session.scalar(sa.select(Match.id).where(Match.resource_id == resource.id).limit(1)):
            continue  # played out already
        donor = donors[resource.organization_id]
        stories = play["matches"]
        found = _candidates(resource, play["subcategory"], play["within"], 10 * len(stories))
        found.sort(key=lambda n: n.village_id not in acting.staff)  # staffed villages first
        for need, story in zip(found, stories, strict=False):
            arrived = follow_ups.add_months(today, -story["arrived_months_ago"])
            match = matches.pledge(donor, need, resource, need.quantity)
            matches.approve(approver, match)
            matches.deliver(donor, match, plan["delivery_note"])
            _date_back(match, arrived)
            staff = acting.editor(need.village)
            matches.confirm(
                staff, match, received_quantity=match.quantity, received_on=arrived,
                satisfaction=story["satisfaction"], feedback=story["feedback"],
            )  # fmt: skip
            db.session.execute(
                sa.update(Match)
                .where(Match.id == match.id)
                .values(confirmed_at=day_start_utc(arrived) + timedelta(hours=3))
            )
            db.session.refresh(match)
            for follow_up, visit in zip(follow_ups.follow_ups_of(match), story["visits"],
                                        strict=False):  # fmt: skip
                outcome = follow_ups.Outcome(
                    visited_on=min(follow_up.due_on + timedelta(days=2), today),
                    effective=visit["effective"], producing=visit.get("producing"),
                    amount=visit.get("amount"), note=visit.get("note", ""),
                )  # fmt: skip
                follow_ups.record(staff, follow_up, outcome)
                recorded += 1
    return recorded


def load_demo() -> dict[str, int]:
    """Load everything; returns counts of what was created this time."""
    load_gazetteer()
    regions = load_baiyin_extract()
    if not regions.ok:  # the shipped file is checked by a test; this would be a packaging bug
        raise RuntimeError(f"Baiyin extract has bad rows: {regions.errors[:3]}")
    users = _accounts()
    resources = _resources(users)
    households, posted = _households_and_needs(users)
    made = _matches(resources, users)
    sold = produce_demo.load(resources, users)  # 消费扶贫: a cooperative's produce sold
    followed = _follow_ups(resources, users)
    planned = plans_demo.load(users)  # 一户一策: plans, guarantees, an exit, a household at risk
    return {
        "villages and townships created": regions.created,
        "households created": households,
        "needs created": posted,
        "matches created": made,
        "produce orders created": sold,
        "follow-ups recorded": followed,
        "household plans created": planned,
        "demo accounts": len(users),
    }
