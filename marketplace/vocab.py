"""The register's standard lists and the need categories, shared by every domain.

Values are stable codes stored in the database (enforced by CHECK constraints); labels are
English msgids translated through the catalogs, so the interface speaks Chinese first.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice


class LabelledEnum(enum.StrEnum):
    """A code stored in the database, declared with its label (an English msgid, translated on
    display) and, for statuses, the tone of its badge (a Bootstrap colour):
    ``VERIFIED = "verified", _l("Verified"), "success"``."""

    _label: LazyString | None
    tone: str

    # The defaults only serve type checkers: looking a member up by value, Role("admin"),
    # does not call __new__; every member is declared with its label.
    def __new__(
        cls, value: str, label: LazyString | None = None, tone: str = "secondary"
    ) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        member.tone = tone
        return member

    @property
    def label(self) -> LazyString | str:
        return self._label if self._label is not None else self.value

    @classmethod
    def choices(cls) -> list[SelectChoice]:
        return [SelectChoice(m.value, m.label) for m in cls]


class HouseholdStatus(LabelledEnum):
    POOR = "poor", _l("Not yet out of poverty")
    EXITED = "exited", _l("Out of poverty")
    MONITORED = "monitored", _l("Monitored (at risk)")


class PovertyCause(LabelledEnum):
    ILLNESS = "illness", _l("Illness")
    DISABILITY = "disability", _l("Disability")
    SCHOOLING = "schooling", _l("Schooling costs")
    DISASTER = "disaster", _l("Disaster")
    LAND = "land", _l("Lack of land")
    WATER = "water", _l("Lack of water")
    SKILLS = "skills", _l("Lack of skills")
    LABOUR = "labour", _l("Lack of labour")
    CAPITAL = "capital", _l("Lack of capital")
    TRANSPORT = "transport", _l("Remote transport")
    DRIVE = "drive", _l("Lack of drive to develop")


class LabourCapacity(LabelledEnum):
    FULL = "full", _l("Able to work")
    WEAK = "weak", _l("Weak labour capacity")
    NONE = "none", _l("Unable to work")


class Route(LabelledEnum):
    """The five routes out of poverty (五个一批) that every need category follows: production
    and jobs, relocation, ecological compensation, education, and the social-security floor."""

    PRODUCTION = "production", _l("Developing production and jobs")
    RELOCATION = "relocation", _l("Relocation")
    ECOLOGY = "ecology", _l("Ecological compensation")
    EDUCATION = "education", _l("Education")
    SAFETY_NET = "safety_net", _l("Social-security floor")


@dataclass(frozen=True)
class Category:
    code: str
    label: LazyString
    # Help that builds income (industry, jobs, purchase of produce) vs handouts: the split
    # the Anqing document reports (18% industry).
    builds_income: bool = False
    # The route of 五个一批 it follows: every top category names one, a sub-category only when
    # it differs from its top's (relocation under housing, cash assistance under finance).
    own_route: Route | None = None

    @property
    def parent(self) -> str:
        return self.code.split(".", 1)[0]

    @property
    def is_top(self) -> bool:
        return "." not in self.code

    @property
    def route(self) -> Route:
        if self.own_route is not None:
            return self.own_route
        top = CATEGORIES[self.parent]
        assert top.own_route is not None, f"{top.code}: declare its route"
        return top.own_route


# Need categories follow 两不愁三保障 and 五个一批; each top category lists its sub-categories.
CATEGORY_TREE: list[tuple[Category, list[Category]]] = [
    (
        Category("industry", _l("Production and industry"), True, own_route=Route.PRODUCTION),
        [
            Category("industry.livestock", _l("Livestock breeding"), True),
            Category("industry.planting", _l("Crop planting and seedlings"), True),
            Category("industry.aquaculture", _l("Aquaculture"), True),
            Category("industry.cooperative", _l("Processing and cooperatives"), True),
            Category("industry.fund", _l("Industry project funding"), True),
        ],
    ),
    (
        Category("jobs", _l("Jobs and skills training"), True, own_route=Route.PRODUCTION),
        [
            Category("jobs.employment", _l("Employment placement"), True),
            Category("jobs.training", _l("Skills training"), True),
            Category("jobs.public_post", _l("Public welfare posts"), True),
        ],
    ),
    (
        Category("education", _l("Education"), own_route=Route.EDUCATION),
        [
            Category("education.tuition", _l("Tuition and school fees")),
            Category("education.grant", _l("Student grants")),
            Category("education.supplies", _l("School supplies")),
        ],
    ),
    (
        Category("medical", _l("Medical care"), own_route=Route.SAFETY_NET),
        [
            Category("medical.insurance", _l("Medical insurance premiums")),
            Category("medical.treatment", _l("Treatment costs")),
            Category("medical.aids", _l("Rehabilitation aids")),
        ],
    ),
    (
        Category("housing", _l("Housing safety"), own_route=Route.SAFETY_NET),
        [
            Category("housing.renovation", _l("Dilapidated house renovation")),
            Category("housing.relocation", _l("Relocation support"), own_route=Route.RELOCATION),
            Category("housing.materials", _l("Building materials")),
        ],
    ),
    (
        Category("necessities", _l("Daily necessities and appliances"), own_route=Route.SAFETY_NET),
        [
            Category("necessities.washer", _l("Washing machines")),
            Category("necessities.appliance", _l("Household appliances")),
            Category("necessities.clothing", _l("Clothing and bedding")),
            Category("necessities.food", _l("Food and grain")),
        ],
    ),
    (
        Category("consumption", _l("Sale of farm produce"), True, own_route=Route.PRODUCTION),
        [
            Category("consumption.produce", _l("Purchase of farm produce"), True),
            Category("consumption.ecommerce", _l("E-commerce sales channels"), True),
        ],
    ),
    (
        Category("finance", _l("Finance"), own_route=Route.PRODUCTION),
        [
            Category("finance.microcredit", _l("Micro-credit and interest subsidies")),
            Category("finance.insurance", _l("Agricultural insurance")),
            Category("finance.cash", _l("Cash assistance"), own_route=Route.SAFETY_NET),
        ],
    ),
    (
        Category("infrastructure", _l("Village infrastructure"), own_route=Route.PRODUCTION),
        [
            Category("infrastructure.road", _l("Roads and bridges")),
            Category("infrastructure.water", _l("Drinking water and water tanks")),
            Category("infrastructure.power", _l("Electricity")),
            Category("infrastructure.facility", _l("Public facilities")),
        ],
    ),
    (
        Category("services", _l("Telecom and service discounts"), own_route=Route.SAFETY_NET),
        [
            Category("services.telecom", _l("Telecom plans")),
            Category("services.discount", _l("Purchase discounts")),
            Category("services.other", _l("Other services")),
        ],
    ),
    (
        # 生态补偿: paid posts guarding the forest, subsidies for land returned to forest or grass.
        Category("ecology", _l("Ecological compensation"), own_route=Route.ECOLOGY),
        [
            Category("ecology.ranger", _l("Ecological forest-ranger posts"), True),
            Category("ecology.reforestation", _l("Returning farmland to forest subsidies")),
            Category("ecology.grassland", _l("Grassland protection subsidies")),
        ],
    ),
    (
        # 社会保障兜底: the floor under those who cannot work their way out.
        Category("safety_net", _l("Social-security floor"), own_route=Route.SAFETY_NET),
        [
            Category("safety_net.minimum_living", _l("Minimum living allowance (dibao)")),
            Category("safety_net.destitute", _l("Support for the destitute (tekun)")),
            Category("safety_net.temporary", _l("Temporary assistance")),
        ],
    ),
]

CATEGORIES: dict[str, Category] = {}
for _top, _subs in CATEGORY_TREE:
    CATEGORIES[_top.code] = _top
    CATEGORIES.update((s.code, s) for s in _subs)

TOP_CATEGORY_CODES = [top.code for top, _ in CATEGORY_TREE]
SUBCATEGORY_CODES = [s.code for _, subs in CATEGORY_TREE for s in subs]


def subcategory_choices() -> list[SelectChoice]:
    """Sub-categories grouped under their top category."""
    return [
        SelectChoice(s.code, s.label, optgroup=str(top.label))
        for top, subs in CATEGORY_TREE
        for s in subs
    ]
