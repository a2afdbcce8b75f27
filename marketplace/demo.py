"""Demo data from the source documents' real cases, in Baiyin city (白银市), Gansu.

Idempotent: every record is found by its natural key before it is created, so running the
command twice changes nothing. Demo accounts exist only when someone runs ``marketplace demo``.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from stdnum.cn import ric, uscc

from marketplace.accounts.models import (
    Organization,
    OrganizationKind,
    Role,
    User,
    VerificationStatus,
)
from marketplace.accounts.services import hash_password
from marketplace.db import utcnow
from marketplace.extensions import db
from marketplace.households.models import Household, HouseholdMember
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need, NeedStatus
from marketplace.regions.models import Region, RegionLevel
from marketplace.regions.services import by_code, load_baiyin_extract, load_gazetteer
from marketplace.resources.models import Resource, ResourceKind, ResourceStatus
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

DEMO_PASSWORD = "fupin2026demo"
SEED = 2026
BAIYIN = "620400000000"
JINGYUAN = "620421000000"
HUINING = "620422000000"
COUNTIES = ["620402000000", "620403000000", JINGYUAN, HUINING, "620423000000"]

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗魏韩冯蒋"
_GIVEN_NAMES = "建国秀英志强桂兰玉梅德福海军春花永明小燕文斌金花学军红霞天佑彩霞国庆丽娟生福兰英"
GIVEN = [_GIVEN_NAMES[i : i + 2] for i in range(0, len(_GIVEN_NAMES), 2)]
RELATIONS = ["配偶", "子", "女", "父亲", "母亲", "孙子"]
HEALTH = ["健康", "健康", "健康", "慢性病", "残疾", "大病"]


def credit_code(body: str) -> str:
    """A unified social credit code with a valid check digit (demo organizations only)."""
    return body + uscc.calc_check_digit(body)


def id_number(county_code: str, birth: date, serial: int) -> str:
    body = f"{county_code[:6]}{birth:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function skips the last character


ORGANIZATIONS: list[dict[str, Any]] = [
    {
        "name": "中国电信股份有限公司白银分公司",
        "kind": OrganizationKind.ENTERPRISE,
        "credit_code": credit_code("91620400MA71TEL01"),
        "status": VerificationStatus.VERIFIED,
    },
    {
        "name": "白银爱心家电有限公司（海尔电器经销）",
        "kind": OrganizationKind.ENTERPRISE,
        "credit_code": credit_code("91620400MA71HAE02"),
        "status": VerificationStatus.VERIFIED,
    },
    {
        "name": "白银市工商联合会（总商会）",
        "kind": OrganizationKind.SOCIAL_ORG,
        "credit_code": credit_code("51620400MJ0000103"),
        "status": VerificationStatus.VERIFIED,
    },
    {
        "name": "白银市水利局",
        "kind": OrganizationKind.GOVERNMENT,
        "credit_code": credit_code("11620400013900104"),
        "status": VerificationStatus.VERIFIED,
    },
    {
        "name": "白银市科学技术协会",
        "kind": OrganizationKind.SOCIAL_ORG,
        "credit_code": credit_code("51620400013900105"),
        "status": VerificationStatus.VERIFIED,
    },
    {
        "name": "白银市党史研究室",
        "kind": OrganizationKind.GOVERNMENT,
        "credit_code": credit_code("11620400013900106"),
        "status": VerificationStatus.VERIFIED,
    },
    {
        "name": "个人捐赠：陈爱心",
        "kind": OrganizationKind.INDIVIDUAL,
        "credit_code": None,
        "status": VerificationStatus.VERIFIED,
    },
    {
        "name": "靖远县助学公益协会",
        "kind": OrganizationKind.SOCIAL_ORG,
        "credit_code": credit_code("51620421MJ0000207"),
        "status": VerificationStatus.PENDING,
    },
]


def _region(code: str) -> Region:
    region = by_code(code)
    if region is None:
        raise RuntimeError(f"region {code} missing: load the gazetteer first")
    return region


def _get_or_create(model: type, lookup: dict[str, Any], **values: Any) -> Any:
    found = db.session.scalar(sa.select(model).filter_by(**lookup))
    if found is not None:
        return found
    obj = model(**lookup, **values)
    db.session.add(obj)
    db.session.flush()
    return obj


def _organizations(city: Region) -> dict[str, Organization]:
    orgs = {}
    for spec in ORGANIZATIONS:
        org = _get_or_create(
            Organization,
            {"name": spec["name"]},
            kind=spec["kind"],
            credit_code=spec["credit_code"],
            region=city if spec["status"] == VerificationStatus.VERIFIED else _region(JINGYUAN),
            status=spec["status"],
            verified_at=utcnow() if spec["status"] == VerificationStatus.VERIFIED else None,
            contact_name="联系人",
            contact_phone="09318888000",
        )
        orgs[spec["name"]] = org
    return orgs


def _villages(county_code: str) -> list[Region]:
    county = _region(county_code)
    return list(
        db.session.scalars(
            sa.select(Region)
            .where(Region.level == RegionLevel.VILLAGE, Region.path.startswith(county.path))
            .order_by(Region.code)
        )
    )


def _accounts(orgs: dict[str, Organization]) -> dict[str, User]:
    jingyuan_villages = _villages(JINGYUAN)
    huining_villages = _villages(HUINING)
    jingyuan = _region(JINGYUAN)
    first_township = min(jingyuan.children, key=lambda r: r.code)
    names = list(orgs)
    specs: list[tuple[str, str, Role, list[Region], Organization | None]] = [
        ("root", "系统管理员", Role.SUPERUSER, [], None),
        ("city_admin", "白银市扶贫办", Role.ADMIN, [_region(BAIYIN)], None),
        ("jingyuan_admin", "靖远县扶贫办", Role.ADMIN, [jingyuan], None),
        ("township_admin", f"{first_township.name}管理员", Role.ADMIN, [first_township], None),
        ("auditor", "白银市纪检督查", Role.AUDITOR, [_region(BAIYIN)], None),
        ("jingyuan_staff", "靖远县驻村第一书记", Role.STAFF, jingyuan_villages[:2], None),
        ("huining_staff", "会宁县村干部", Role.STAFF, huining_villages[:1], None),
        ("telecom", "白银电信扶贫专员", Role.DONOR, [], orgs[names[0]]),
        ("appliance", "家电企业专员", Role.DONOR, [], orgs[names[1]]),
        ("chamber", "商会秘书处", Role.DONOR, [], orgs[names[2]]),
        ("water_bureau", "市水利局帮扶干部", Role.DONOR, [], orgs[names[3]]),
        ("volunteer", "陈爱心", Role.DONOR, [], orgs[names[6]]),
        ("new_charity", "助学协会秘书", Role.DONOR, [], orgs[names[7]]),
    ]
    users = {}
    password_hash = hash_password(DEMO_PASSWORD)
    for username, display, role, regions, org in specs:
        users[username] = _get_or_create(
            User,
            {"username": username},
            display_name=display,
            role=role,
            regions=regions,
            organization=org,
            password_hash=password_hash,
        )
    return users


def _resources(orgs: dict[str, Organization], users: dict[str, User]) -> dict[str, Resource]:
    names = list(orgs)
    today = date.today()
    city = _region(BAIYIN)
    jingyuan = _region(JINGYUAN)
    specs: list[dict[str, Any]] = [
        dict(
            org=names[0],
            user="telecom",
            kind=ResourceKind.DISCOUNT,
            title="建档立卡贫困户通信资费优惠：国内通话0.06元/分钟，每月3元享20元服务",
            description="白银电信依托精准扶贫大数据平台，对建档立卡贫困户率先出台优惠政策：国内通话每分钟0.06元，每月3元的补助提供20元的服务内容。",
            categories=["services.telecom"],
            capacity=None,
            unit="户",
            unit_value=Decimal("17"),
            area=[city],
            statuses=[],
            causes=[],
        ),
        dict(
            org=names[1],
            user="appliance",
            kind=ResourceKind.GOODS,
            title="为靖远县贫困户捐赠洗衣机60台",
            description="爱心企业为靖远县60户贫困户捐赠洗衣机，优先照顾因病、因残、缺劳力家庭。",
            categories=["necessities.washer"],
            capacity=60,
            unit="台",
            unit_value=Decimal("1200"),
            area=[jingyuan],
            statuses=["poor", "monitored"],
            causes=[],
        ),
        dict(
            org=names[1],
            user="appliance",
            kind=ResourceKind.DISCOUNT,
            title="购买海尔电器优惠500元（约10000户）",
            description="给约10000户贫困户购买海尔电器提供500元的价格优惠。",
            categories=["necessities.appliance", "necessities.washer"],
            capacity=10000,
            unit="户",
            unit_value=Decimal("500"),
            area=[city],
            statuses=[],
            causes=[],
        ),
        dict(
            org=names[2],
            user="chamber",
            kind=ResourceKind.MONEY,
            title="商会募集水产养殖产业扶贫资金96万元",
            description="商会募集资金96万元，支持水产养殖企业带动贫困户发展产业、入股分红。",
            categories=["industry.aquaculture", "industry.fund"],
            capacity=960000,
            unit="元",
            unit_value=Decimal("1"),
            area=[city],
            statuses=["poor", "monitored"],
            causes=["capital", "skills"],
        ),
        dict(
            org=names[3],
            user="water_bureau",
            kind=ResourceKind.PURCHASE,
            title="帮扶销售农产品3.5万元（消费扶贫）",
            description="市水利局干部职工采购贫困户自产的小杂粮、土豆、羊肉等农产品。",
            categories=["consumption.produce"],
            capacity=35000,
            unit="元",
            unit_value=Decimal("1"),
            area=[city],
            statuses=[],
            causes=[],
        ),
        dict(
            org=names[5],
            user=None,
            kind=ResourceKind.JOBS,
            title="帮扶就业岗位18个（保洁、保安、物流）",
            description="为有劳动能力的贫困户成员提供稳定就业岗位，月薪2500元起，包吃住。",
            categories=["jobs.employment", "jobs.public_post"],
            capacity=18,
            unit="人",
            unit_value=Decimal("30000"),
            area=[city],
            statuses=["poor", "monitored"],
            causes=["skills", "capital", "drive"],
        ),
        dict(
            org=names[4],
            user=None,
            kind=ResourceKind.MONEY,
            title="教育资助：贫困家庭学生助学金（30名）",
            description="资助建档立卡贫困家庭在校学生，每人每年2000元助学金。",
            categories=["education.grant", "education.tuition"],
            capacity=30,
            unit="人",
            unit_value=Decimal("2000"),
            area=[city],
            statuses=[],
            causes=["schooling"],
        ),
        dict(
            org=names[6],
            user="volunteer",
            kind=ResourceKind.GOODS,
            title="冬季棉被和棉衣",
            description="个人爱心捐赠：棉被、棉衣各50套，送给缺劳力、因病的困难家庭。",
            categories=["necessities.clothing"],
            capacity=50,
            unit="套",
            unit_value=Decimal("300"),
            area=[city],
            statuses=[],
            causes=[],
        ),
    ]
    resources = {}
    for spec in specs:
        org = orgs[spec["org"]]
        capacity = spec["capacity"]
        resources[spec["title"]] = _get_or_create(
            Resource,
            {"organization_id": org.id, "title": spec["title"]},
            created_by_id=users[spec["user"]].id if spec["user"] else None,
            kind=spec["kind"],
            description=spec["description"],
            categories=spec["categories"],
            capacity=capacity,
            remaining=capacity,
            unit=spec["unit"],
            unit_value=spec["unit_value"],
            eligible_statuses=spec["statuses"],
            eligible_causes=spec["causes"],
            valid_from=today - timedelta(days=30),
            valid_until=today + timedelta(days=335),
            delivery_deadline=today + timedelta(days=120),
            status=ResourceStatus.ACTIVE,
            service_area=spec["area"],
        )
    return resources


# (subcategory, title, unit, quantity, unit value, causes that make it likely)
NEED_TEMPLATES = [
    ("necessities.washer", "需要一台洗衣机", "台", 1, 1200, {"illness", "disability", "labour"}),
    ("necessities.appliance", "家里缺少冰箱", "台", 1, 1800, {"illness", "labour"}),
    ("necessities.clothing", "冬季缺少棉被棉衣", "套", 2, 300, {"disaster", "labour"}),
    ("services.telecom", "申请通信资费优惠", "户", 1, 17, set()),
    ("education.grant", "孩子上高中需要助学金", "人", 1, 2000, {"schooling"}),
    ("education.supplies", "孩子缺少学习用品和书桌", "套", 1, 400, {"schooling"}),
    ("medical.treatment", "慢性病长期用药费用困难", "元", 3000, 1, {"illness"}),
    ("medical.aids", "残疾家庭成员需要轮椅", "台", 1, 800, {"disability"}),
    ("housing.renovation", "危房改造缺少资金", "元", 20000, 1, {"disaster", "capital"}),
    ("industry.livestock", "想养种羊缺少资金和种羊", "只", 5, 1000, {"capital", "skills"}),
    ("industry.aquaculture", "参与水产养殖入股分红", "元", 10000, 1, {"capital"}),
    ("industry.planting", "需要马铃薯良种和地膜", "亩", 10, 200, {"land", "water", "skills"}),
    ("jobs.employment", "家中青壮年劳力希望外出务工", "人", 1, 30000, {"skills", "drive"}),
    ("jobs.training", "希望参加电焊或厨师技能培训", "人", 1, 1500, {"skills"}),
    ("consumption.produce", "自产小杂粮土豆需要销路", "元", 3000, 1, {"transport", "land"}),
    ("finance.microcredit", "申请小额信贷贴息", "元", 30000, 1, {"capital"}),
]
VILLAGE_NEEDS = [
    ("infrastructure.road", "村道硬化（2公里）", "公里", 2, 300000),
    ("infrastructure.water", "修建人畜饮水水窖", "座", 10, 5000),
    ("infrastructure.facility", "村卫生室设备更新", "套", 1, 30000),
    ("infrastructure.power", "农网改造和路灯", "盏", 40, 800),
]


def _households_and_needs(users: dict[str, User]) -> tuple[int, int]:
    rng = random.Random(SEED)
    staff_of = {v.id: users["jingyuan_staff"] for v in users["jingyuan_staff"].regions}
    staff_of.update({v.id: users["huining_staff"] for v in users["huining_staff"].regions})
    admin = users["city_admin"]
    households = needs = 0
    causes = list(PovertyCause)
    serial = 0
    for county_code in COUNTIES:
        villages = _villages(county_code)
        # The staff's own villages first, then villages spread across the county.
        step = max(len(villages) // 12, 1)
        chosen = [v for v in villages if v.id in staff_of]
        chosen += [v for v in villages[::step] if v not in chosen][: 12 - len(chosen)]
        for village_index, village in enumerate(chosen):
            for number in range(1, 6):
                serial += 1
                register = f"{village.code}{number:03d}"
                if db.session.scalar(
                    sa.select(Household.id).where(Household.register_number == register)
                ):
                    continue
                surname = rng.choice(SURNAMES)
                birth = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
                primary = rng.choice(causes)
                status = rng.choices(list(HouseholdStatus), weights=[6, 3, 1])[0]
                members = 1 + rng.randrange(6)
                household = Household(
                    register_number=register,
                    village=village,
                    head_name=surname + rng.choice(GIVEN),
                    head_id_number=id_number(county_code, birth, serial % 1000),
                    phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                    member_count=members,
                    primary_cause=primary,
                    other_causes=[c.value for c in rng.sample(causes, 1) if c != primary],
                    status=status,
                    labour_capacity=rng.choice(list(LabourCapacity)),
                    income_per_capita=Decimal(2500 + rng.randrange(4500)),
                    created_by_id=staff_of.get(village.id, admin).id,
                )
                for m in range(members - 1):
                    household.members.append(
                        HouseholdMember(
                            name=surname + rng.choice(GIVEN),
                            relation=RELATIONS[m % len(RELATIONS)],
                            birth_year=1950 + rng.randrange(70),
                            health=rng.choice(HEALTH),
                        )
                    )
                db.session.add(household)
                households += 1
                needs += _needs_for(rng, household, staff_of.get(village.id, admin), admin)
            if village_index % 3 == 0:
                needs += _village_need(rng, village, staff_of.get(village.id, admin), admin)
        db.session.flush()
    return households, needs


def _needs_for(rng: random.Random, household: Household, author: User, admin: User) -> int:
    causes = set(household.causes)
    likely = [t for t in NEED_TEMPLATES if not t[5] or t[5] & causes] or NEED_TEMPLATES
    count = 1 + (rng.random() < 0.4)
    for template in rng.sample(likely, min(count, len(likely))):
        code, title, unit, quantity, unit_value, _causes = template
        status = rng.choices(
            [NeedStatus.VERIFIED, NeedStatus.SUBMITTED, NeedStatus.RETURNED], weights=[7, 2, 1]
        )[0]
        db.session.add(
            Need(
                household=household,
                village=household.village,
                category=code.split(".")[0],
                subcategory=code,
                title=title,
                description=f"{household.village.name}{title}。",
                quantity=quantity,
                open_quantity=quantity,
                unit=unit,
                estimated_value=Decimal(quantity * unit_value),
                urgency=1 + rng.randrange(3),
                needed_by=date.today() + timedelta(days=30 + rng.randrange(150)),
                status=status,
                return_reason="请补充家庭成员情况说明" if status == NeedStatus.RETURNED else "",
                created_by_id=author.id,
                verified_by_id=admin.id if status == NeedStatus.VERIFIED else None,
                verified_at=utcnow() if status == NeedStatus.VERIFIED else None,
            )
        )
    return count


def _village_need(rng: random.Random, village: Region, author: User, admin: User) -> int:
    code, title, unit, quantity, unit_value = rng.choice(VILLAGE_NEEDS)
    exists = sa.select(Need.id).where(Need.village_id == village.id, Need.household_id.is_(None))
    if db.session.scalar(exists) is not None:
        return 0
    db.session.add(
        Need(
            village=village,
            category=code.split(".")[0],
            subcategory=code,
            title=title,
            description=f"{village.name}：{title}，惠及全村群众。",
            quantity=quantity,
            open_quantity=quantity,
            unit=unit,
            estimated_value=Decimal(quantity * unit_value),
            urgency=2,
            status=NeedStatus.VERIFIED,
            created_by_id=author.id,
            verified_by_id=admin.id,
            verified_at=utcnow(),
        )
    )
    return 1


def _matches(resources: dict[str, Resource], users: dict[str, User]) -> int:
    """A few matches in later states, so the figures and pages have something to show."""
    if db.session.scalar(sa.select(sa.func.count(Match.id))):
        return 0
    washer = next(r for r in resources.values() if r.capacity == 60)
    telecom = next(
        r for r in resources.values() if r.kind == ResourceKind.DISCOUNT and r.capacity is None
    )
    jingyuan = _region(JINGYUAN)
    made = 0
    plan = [
        (
            washer,
            "necessities.washer",
            jingyuan.path,
            [MatchStatus.CONFIRMED, MatchStatus.DELIVERED, MatchStatus.APPROVED],
        ),
        (telecom, "services.telecom", "/", [MatchStatus.CONFIRMED, MatchStatus.APPROVED]),
    ]
    now = utcnow()
    for resource, code, path, statuses in plan:
        needs = db.session.scalars(
            sa.select(Need)
            .join(Region, Need.village_id == Region.id)
            .where(
                Need.subcategory == code,
                Need.status == NeedStatus.VERIFIED,
                Region.path.startswith(path),
                Need.household_id.is_not(None),
            )
            .order_by(Need.id)
            .limit(len(statuses))
        ).all()
        for need, status in zip(needs, statuses, strict=False):
            match = Match(
                need=need,
                resource=resource,
                quantity=need.quantity,
                status=status,
                proposed_by_id=users["appliance" if resource is washer else "telecom"].id,
                decided_by_id=users["city_admin"].id,
                decided_at=now,
                disclosure_until=now + timedelta(days=7),
            )
            need.open_quantity -= need.quantity
            if resource.remaining is not None:
                resource.remaining -= need.quantity
            if status in (MatchStatus.DELIVERED, MatchStatus.CONFIRMED):
                match.delivered_at = now
                match.delivery_note = "已送货上门"
            if status == MatchStatus.CONFIRMED:
                match.confirmed_at = now
                match.received_quantity = need.quantity
                match.satisfaction = 5
                match.feedback = "已收到，非常感谢"
                need.status = NeedStatus.FULFILLED
            db.session.add(match)
            made += 1
    db.session.flush()
    return made


def load_demo() -> dict[str, int]:
    """Load everything; returns counts of what was created this time."""
    load_gazetteer()
    regions = load_baiyin_extract()
    if not regions.ok:  # the shipped file is checked by a test; this would be a packaging bug
        raise RuntimeError(f"Baiyin extract has bad rows: {regions.errors[:3]}")
    city = _region(BAIYIN)
    orgs = _organizations(city)
    users = _accounts(orgs)
    resources = _resources(orgs, users)
    households, needs = _households_and_needs(users)
    matches = _matches(resources, users)
    return {
        "villages and townships created": regions.created,
        "households created": households,
        "needs created": needs,
        "matches created": matches,
        "demo accounts": len(users),
    }
