"""What a plan usually holds, as data: the measures that answer each poverty cause (因户施策,
"缺啥补啥"), and the need category that closes each unmet guarantee.

The plan form offers these to staff as a start; each becomes an ordinary measure they edit.
The words are msgids, shown in Chinese first like every other string.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.plans.models import Guarantee
from marketplace.vocab import PovertyCause


@dataclass(frozen=True)
class Suggestion:
    subcategory: str  # a need category: a need posted from the measure takes it
    title: LazyString
    target: LazyString


SUGGESTED_MEASURES: dict[PovertyCause, tuple[Suggestion, ...]] = {
    PovertyCause.ILLNESS: (
        Suggestion(
            "medical.insurance",
            _l("Enrol every member in basic medical and serious-illness insurance"),
            _l("Every member insured; premiums subsidised"),
        ),
        Suggestion(
            "medical.treatment",
            _l("Medical assistance and a contracted family doctor"),
            _l("Out-of-pocket costs covered within the assistance limits"),
        ),
    ),
    PovertyCause.DISABILITY: (
        Suggestion(
            "medical.aids",
            _l("Rehabilitation aids and the two disability allowances"),
            _l("Allowances paid every month; aids fitted"),
        ),
        Suggestion(
            "jobs.public_post",
            _l("A public welfare post within the member's ability"),
            _l("A steady wage for one member"),
        ),
    ),
    PovertyCause.SCHOOLING: (
        Suggestion(
            "education.grant",
            _l("Student grants (Rain and Dew plan) for each child in school"),
            _l("No child leaves school for lack of money"),
        ),
        Suggestion(
            "education.tuition",
            _l("Tuition and fee exemption"),
            _l("Fees waived for the school year"),
        ),
    ),
    PovertyCause.DISASTER: (
        Suggestion(
            "housing.renovation",
            _l("Repair the damaged house"),
            _l("The house safe to live in"),
        ),
        Suggestion(
            "safety_net.temporary",
            _l("Temporary assistance after the disaster"),
            _l("Basic living costs covered until the harvest"),
        ),
        Suggestion(
            "finance.insurance",
            _l("Agricultural insurance for crops and livestock"),
            _l("Crops and livestock insured"),
        ),
    ),
    PovertyCause.LAND: (
        Suggestion(
            "industry.cooperative",
            _l("Join a cooperative and share in its income"),
            _l("A yearly dividend from the cooperative"),
        ),
        Suggestion(
            "ecology.ranger",
            _l("An ecological forest-ranger post"),
            _l("A ranger's wage every month"),
        ),
    ),
    PovertyCause.WATER: (
        Suggestion(
            "infrastructure.water",
            _l("A water tank or piped drinking water"),
            _l("Safe drinking water all year"),
        ),
    ),
    PovertyCause.SKILLS: (
        Suggestion(
            "jobs.training",
            _l("Skills training: one skill for each household"),
            _l("A certificate for one member"),
        ),
        Suggestion(
            "jobs.employment",
            _l("A job placement after the training"),
            _l("Stable work for one member"),
        ),
    ),
    PovertyCause.LABOUR: (
        Suggestion(
            "safety_net.minimum_living",
            _l("Minimum living allowance (dibao) for those unable to work"),
            _l("The allowance paid every month"),
        ),
        Suggestion(
            "safety_net.destitute",
            _l("Support for the destitute (tekun) for a member living alone"),
            _l("Care and support arranged"),
        ),
    ),
    PovertyCause.CAPITAL: (
        Suggestion(
            "finance.microcredit",
            _l("A micro-credit loan for poor households, interest subsidised"),
            _l("A loan for a project of the household's own"),
        ),
        Suggestion(
            "industry.livestock",
            _l("Breeding stock for a livestock project"),
            _l("Income from the livestock within a year"),
        ),
    ),
    PovertyCause.TRANSPORT: (
        Suggestion(
            "housing.relocation",
            _l("Relocation to a settlement with roads, water and work"),
            _l("Moved, settled and with a source of income"),
        ),
        Suggestion(
            "consumption.produce",
            _l("A buyer for the household's farm produce"),
            _l("The produce sold at a fair price"),
        ),
    ),
    PovertyCause.DRIVE: (
        Suggestion(
            "jobs.public_post",
            _l("A public welfare post, with regular visits by the cadre"),
            _l("Working every month"),
        ),
        Suggestion(
            "jobs.training",
            _l("Training and examples from neighbours who got out of poverty"),
            _l("A plan of the household's own for its income"),
        ),
    ),
}

# The need category that closes each guarantee when it is not met.
GUARANTEE_CATEGORY: dict[Guarantee, str] = {
    Guarantee.FOOD: "necessities.food",
    Guarantee.CLOTHING: "necessities.clothing",
    Guarantee.EDUCATION: "education.grant",
    Guarantee.MEDICAL: "medical.insurance",
    Guarantee.HOUSING: "housing.renovation",
    Guarantee.WATER: "infrastructure.water",
}


def suggestions_for(cause: PovertyCause) -> tuple[Suggestion, ...]:
    return SUGGESTED_MEASURES.get(cause, ())
