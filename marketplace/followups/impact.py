"""A donor's impact (帮扶成效): what an organization's confirmed help came to.

Households are counted, never named: the figures are counts and sums by category, county and
village, the households' own comments (as the match page shows them to the donor), and the
outcomes of the follow-ups. Help is counted when the household confirmed it (the Beijing day of
the confirmation decides the month).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organization
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.households.models import Household
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need
from marketplace.produce.models import ProduceIncome, ProduceOrder
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.timefmt import beijing_day_of, beijing_today, day_start_utc
from marketplace.vocab import CATEGORIES, CATEGORY_TREE

# Checks at these months or later (up to the next) count as "still effective after".
EFFECTIVE_AT = (6, 12)
FEEDBACK_SHOWN = 8


def parse_month(text: str | None) -> date:
    """'2026-10' -> date(2026, 10, 1); ServiceError otherwise."""
    year, _, month = (text or "").strip().partition("-")
    shaped = year.isdigit() and month.isdigit() and len(year) == 4 and len(month) in (1, 2)
    if shaped and 2000 <= int(year) <= 2100 and 1 <= int(month) <= 12:
        return date(int(year), int(month), 1)
    raise ServiceError(_l("Give the month as YYYY-MM, for example 2026-10."))


def next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def month_text(first: date) -> str:
    return first.strftime("%Y-%m")


@dataclass
class Group:
    """The figures of one category, county or village."""

    key: str
    label: str
    matches: int = 0
    households: set[int] = field(default_factory=set)
    value: Decimal = Decimal(0)

    @property
    def household_count(self) -> int:
        return len(self.households)


@dataclass
class FollowUpFigures:
    scheduled: int = 0  # not due yet
    overdue: int = 0
    done: int = 0
    effective: int = 0
    # by checkpoint (6, 12): [checked, still effective]
    at: dict[int, list[int]] = field(default_factory=lambda: {m: [0, 0] for m in EFFECTIVE_AT})
    income: Decimal = Decimal(0)

    @property
    def completion(self) -> float | None:
        """Recorded follow-ups over those due (recorded or overdue)."""
        due = self.done + self.overdue
        return round(self.done / due, 4) if due else None

    def effective_share(self, months: int) -> float | None:
        checked, still = self.at[months]
        return round(still / checked, 4) if checked else None

    def add(self, follow_up_row: Any, today: date) -> None:
        status, due_on, months, effective, income = follow_up_row
        if status == FollowUpStatus.DONE:
            self.done += 1
            self.effective += bool(effective)
            self.income += income or Decimal(0)
            bucket = checkpoint(months)
            if bucket is not None:
                self.at[bucket][0] += 1
                self.at[bucket][1] += bool(effective)
        elif due_on < today:
            self.overdue += 1
        else:
            self.scheduled += 1


def checkpoint(months: int) -> int | None:
    """The checkpoint a check at ``months`` counts for: 6 for 6 to 11 months, 12 from 12."""
    found = [m for m in EFFECTIVE_AT if months >= m]
    return found[-1] if found else None


@dataclass
class Impact:
    organization: Organization
    first: date | None
    last: date | None  # the last month included (its first day)
    confirmations: int = 0
    households: set[int] = field(default_factory=set)
    villages: dict[int, Group] = field(default_factory=dict)
    village_needs: int = 0  # help to a whole village (no household)
    value: Decimal = Decimal(0)
    value_income: Decimal = Decimal(0)
    matches_income: int = 0
    under_way: int = 0
    # Produce bought from households (消费扶贫): the households' shares of confirmed orders.
    produce_households: set[int] = field(default_factory=set)
    produce_value: Decimal = Decimal(0)
    satisfaction: list[int] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    categories: dict[str, Group] = field(default_factory=dict)
    counties: dict[str, Group] = field(default_factory=dict)
    follow_ups: FollowUpFigures = field(default_factory=FollowUpFigures)
    months: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def household_count(self) -> int:
        return len(self.households)

    @property
    def village_count(self) -> int:
        return len(self.villages)

    @property
    def income_share_value(self) -> float | None:
        """Help that builds income (industry, jobs, produce bought) over all help, by value."""
        total = self.value + self.produce_value
        return float(round((self.value_income + self.produce_value) / total, 4)) if total else None

    @property
    def income_share_count(self) -> float | None:
        return round(self.matches_income / self.confirmations, 4) if self.confirmations else None

    @property
    def mean_satisfaction(self) -> float | None:
        return (
            round(sum(self.satisfaction) / len(self.satisfaction), 1) if self.satisfaction else None
        )

    def category_rows(self) -> list[Group]:
        order = [top.code for top, _subs in CATEGORY_TREE]
        return sorted(self.categories.values(), key=lambda g: order.index(g.key))

    def county_rows(self) -> list[Group]:
        return sorted(self.counties.values(), key=lambda g: g.key)

    def village_rows(self) -> list[Group]:
        return sorted(self.villages.values(), key=lambda g: (-g.household_count, g.label))

    def month_rows(self) -> list[tuple[str, dict[str, Any]]]:
        return sorted(self.months.items(), reverse=True)

    def as_content(self) -> dict[str, Any]:
        """Plain JSON-ready figures: what a certificate freezes and signs."""
        org = self.organization
        return {
            "organization": {"id": org.id, "name": org.name, "credit_code": org.credit_code or ""},
            "period": [month_text(self.first) if self.first else "",
                       month_text(self.last) if self.last else ""],
            "households": self.household_count,
            "villages": self.village_count,
            "village_needs": self.village_needs,
            "confirmations": self.confirmations,
            "value": f"{self.value:.2f}",
            "produce": {"households": len(self.produce_households),
                        "value": f"{self.produce_value:.2f}"},
            "income_share_value": self.income_share_value,
            "categories": [[g.key, g.household_count, g.matches, f"{g.value:.2f}"]
                           for g in self.category_rows()],
            "counties": [[g.label, g.household_count, g.matches, f"{g.value:.2f}"]
                         for g in self.county_rows()],
            "follow_ups": {"done": self.follow_ups.done, "overdue": self.follow_ups.overdue,
                           "effective_6": self.follow_ups.effective_share(6),
                           "effective_12": self.follow_ups.effective_share(12),
                           "income": f"{self.follow_ups.income:.2f}"},
        }  # fmt: skip


def _county_code(path: str) -> str:
    """The county on a village's path (/province/city/county/township/village/)."""
    parts = path.strip("/").split("/")
    return parts[2] if len(parts) > 2 else parts[-1]


def _month_entry(impact: Impact, key: str) -> dict[str, Any]:
    return impact.months.setdefault(
        key,
        {"confirmations": 0, "households": set(), "value": Decimal(0), "produce": Decimal(0),
         "follow_ups_done": 0, "effective": 0, "income": Decimal(0)},
    )  # fmt: skip


def _bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    start = day_start_utc(first) if first else None
    end = day_start_utc(next_month(last)) if last else None
    return start, end


def organization_impact(
    org: Organization, first: date | None = None, last: date | None = None,
    today: date | None = None,
) -> Impact:  # fmt: skip
    """The organization's confirmed help in the months from ``first`` to ``last`` (each the
    first day of its month; None: from the start, up to now), with the follow-ups of that
    help as they stand today."""
    today = today or beijing_today()
    impact = Impact(org, first, last)
    start, end = _bounds(first, last)
    confirmed = (
        sa.select(
            Match.id, Need.household_id, Need.village_id, Region.path, Region.name,
            Need.category, Match.quantity, Match.received_quantity, Resource.unit_value,
            Match.satisfaction, Match.feedback, Match.confirmed_at, Need.title,
        )
        .join(Need, Match.need_id == Need.id)
        .join(Region, Need.village_id == Region.id)
        .join(Resource, Match.resource_id == Resource.id)
        .where(Resource.organization_id == org.id, Match.status == MatchStatus.CONFIRMED)
        .order_by(Match.confirmed_at.desc(), Match.id.desc())
    )  # fmt: skip
    if start is not None:
        confirmed = confirmed.where(Match.confirmed_at >= start)
    if end is not None:
        confirmed = confirmed.where(Match.confirmed_at < end)
    rows = db.session.execute(confirmed).all()
    county_codes = {_county_code(row.path) for row in rows}
    county_names: dict[str, str] = {}
    if county_codes:
        names = sa.select(Region.code, Region.name).where(Region.code.in_(county_codes))
        county_names = {code: name for code, name in db.session.execute(names)}
    match_ids = []
    for (match_id, household_id, village_id, path, village_name, category, quantity,
         received, unit_value, satisfaction, feedback, confirmed_at, title) in rows:  # fmt: skip
        match_ids.append(match_id)
        value = Decimal(received or quantity) * (unit_value or Decimal(0))
        income = CATEGORIES[category].builds_income if category in CATEGORIES else False
        impact.confirmations += 1
        impact.value += value
        if income:
            impact.value_income += value
            impact.matches_income += 1
        households = {household_id} if household_id is not None else set()
        impact.households |= households
        if household_id is None:
            impact.village_needs += 1
        county = _county_code(path)
        label = str(CATEGORIES[category].label) if category in CATEGORIES else category
        for groups, key, name in (
            (impact.categories, category, label),
            (impact.counties, county, county_names.get(county, county)),
        ):
            group = groups.setdefault(key, Group(key, name))
            group.matches += 1
            group.households |= households
            group.value += value
        village = impact.villages.setdefault(village_id, Group(str(village_id), village_name))
        village.matches += 1
        village.households |= households
        village.value += value
        if satisfaction:
            impact.satisfaction.append(satisfaction)
        if feedback and len(impact.feedback) < FEEDBACK_SHOWN:
            impact.feedback.append({"text": feedback, "village": village_name,
                                    "on": beijing_day_of(confirmed_at), "need": title})  # fmt: skip
        entry = _month_entry(impact, beijing_day_of(confirmed_at).strftime("%Y-%m"))
        entry["confirmations"] += 1
        entry["households"] |= households
        entry["value"] += value
    _add_follow_ups(impact, match_ids, today)
    _add_produce(impact, county_names)
    impact.under_way = int(
        db.session.scalar(
            sa.select(sa.func.count(Match.id))
            .join(Resource, Match.resource_id == Resource.id)
            .where(Resource.organization_id == org.id, Match.status.in_(MatchStatus.UNDER_WAY))
        )
        or 0
    )
    return impact


def _add_follow_ups(impact: Impact, match_ids: list[int], today: date) -> None:
    # In chunks: a database takes a bounded number of parameters.
    for offset in range(0, len(match_ids), 500):
        chunk = match_ids[offset : offset + 500]
        for row in db.session.execute(
            sa.select(
                FollowUp.status, FollowUp.due_on, FollowUp.months, FollowUp.effective,
                FollowUp.income, FollowUp.visited_on,
            ).where(FollowUp.match_id.in_(chunk))
        ):  # fmt: skip
            impact.follow_ups.add(row[:5], today)
            if row.status == FollowUpStatus.DONE and row.visited_on is not None:
                entry = _month_entry(impact, row.visited_on.strftime("%Y-%m"))
                entry["follow_ups_done"] += 1
                entry["effective"] += bool(row.effective)
                entry["income"] += row.income or Decimal(0)


def _add_produce(impact: Impact, county_names: dict[str, str]) -> None:
    """The households' income from produce the organization bought, in the months asked."""
    query = (
        sa.select(ProduceIncome.household_id, ProduceIncome.amount, ProduceIncome.month,
                  Region.id, Region.name, Region.path)
        .join(ProduceOrder, ProduceIncome.order_id == ProduceOrder.id)
        .join(Household, ProduceIncome.household_id == Household.id)
        .join(Region, Household.village_id == Region.id)
        .where(ProduceOrder.organization_id == impact.organization.id)
    )  # fmt: skip
    if impact.first is not None:
        query = query.where(ProduceIncome.month >= month_text(impact.first))
    if impact.last is not None:
        query = query.where(ProduceIncome.month <= month_text(impact.last))
    rows = db.session.execute(query).all()
    missing = {_county_code(r.path) for r in rows} - set(county_names)
    if missing:
        names = sa.select(Region.code, Region.name).where(Region.code.in_(missing))
        county_names.update({code: name for code, name in db.session.execute(names)})
    for household_id, amount, month, village_id, village_name, path in rows:
        amount = amount or Decimal(0)
        impact.produce_households.add(household_id)
        impact.households.add(household_id)
        impact.produce_value += amount
        village = impact.villages.setdefault(village_id, Group(str(village_id), village_name))
        village.households.add(household_id)
        county = _county_code(path)
        group = impact.counties.setdefault(county, Group(county, county_names.get(county, county)))
        group.households.add(household_id)
        _month_entry(impact, month)["produce"] += amount
        _month_entry(impact, month)["households"].add(household_id)


def organizations_with_help() -> list[tuple[Organization, int]]:
    """Organizations with confirmed help, the most confirmations first."""
    rows = db.session.execute(
        sa.select(Organization, sa.func.count(Match.id))
        .join(Resource, Resource.organization_id == Organization.id)
        .join(Match, Match.resource_id == Resource.id)
        .where(Match.status == MatchStatus.CONFIRMED)
        .group_by(Organization.id)
        .order_by(sa.func.count(Match.id).desc(), Organization.name)
    ).all()
    return [(org, int(count)) for org, count in rows]


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last twelve months up to this one."""
    today = today or beijing_today()
    last = today.replace(day=1)
    first = last
    for _ in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, last
