"""Monthly progress figures (月报表) for a region subtree, by region, category and donor.

One pass over the month's facts: each fact (a need posted, a match approved, ...) is added to
every region on its village's path below the report's root, so that one computation serves the
whole drill-down (province > city > county > township > village) and can be frozen as one
snapshot. Months run on Beijing time.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeGuard

import sqlalchemy as sa

from marketplace.accounts.models import Organization
from marketplace.extensions import db
from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.households.models import Household
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need, NeedStatus
from marketplace.plans import services as plans
from marketplace.plans.models import Guarantee
from marketplace.produce.models import ProduceIncome, ProduceListing, ProduceOrder
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.timefmt import beijing_today
from marketplace.vocab import CATEGORIES, HouseholdStatus

BEIJING = timezone(timedelta(hours=8))
COUNTS: tuple[str, ...] = ("posted", "verified", "matched", "fulfilled", "unmet",
                           "aided_repeatedly")  # fmt: skip
VALUES: tuple[str, ...] = ("value_pledged", "value_delivered", "value_income", "value_handout")
# Follow-ups of results (marketplace.followups): those due in the month and how many of them are
# recorded; the checks at 6 months (6 to 11) and at 12 months or later recorded in the month, and
# how many found the help still working; the income they recorded for registered households.
COUNTS = (*COUNTS, "follow_ups_due", "follow_ups_done", "checked_6", "effective_6",
          "checked_12", "effective_12")  # fmt: skip
# Income added to registered households: the follow-ups' and produce sold (消费扶贫, the
# household's share of a confirmed order in the month its payment was received), and the two.
VALUES = (*VALUES, "income_follow_ups", "income_produce", "income_added")
# Households (marketplace.plans), counted per household, not by category or donor: the
# guarantees (两不愁三保障) at the month's end (all six met; at least one not met; each one not
# met), the exits by assessment in the month, and, as of today like unmet needs, the households
# at risk of falling back and those monitored.
HOUSEHOLD_COUNTS = ("guarantees_met", "guarantees_unmet", *(f"unmet_{g.value}" for g in Guarantee),
                    "exited", "at_risk", "monitored")  # fmt: skip
COUNTS = (*COUNTS, *HOUSEHOLD_COUNTS)
# Dimensions of the breakdown inside each region.
ALL, CATEGORY, ORGANIZATION = "all", "category", "organization"
# The five routes (五个一批) the help follows, by the need's sub-category (vocab.Route).
ROUTE = "route"


def parse_month(text: str) -> date:
    """'2026-10' -> date(2026, 10, 1); ValueError on anything else."""
    year, _, month = (text or "").strip().partition("-")
    if not (year.isdigit() and month.isdigit() and len(year) == 4 and len(month) in (1, 2)):
        raise ValueError(text)
    first = date(int(year), int(month), 1)
    if first.year < 2000:
        raise ValueError(text)
    return first


def next_month(first: date) -> date:
    return date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def month_bounds(first: date) -> tuple[datetime, datetime]:
    """The month's start and end instants (Beijing time), in UTC."""

    def at(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=BEIJING).astimezone(UTC)

    return at(first), at(next_month(first))


@dataclass
class Tally:
    """The figures of one region (or one category or donor inside a region)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    values: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(VALUES, Decimal(0)))
    matched_income: int = 0
    days_to_approval: list[float] = field(default_factory=list)
    days_to_delivery: list[float] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        for name, count in other.counts.items():
            self.counts[name] += count
        for name, value in other.values.items():
            self.values[name] += value
        self.matched_income += other.matched_income
        self.days_to_approval.extend(other.days_to_approval)
        self.days_to_delivery.extend(other.days_to_delivery)

    def as_dict(self) -> dict[str, Any]:
        def median(days: list[float]) -> float | None:
            return round(statistics.median(days), 1) if days else None

        matched = self.counts["matched"]
        value_total = self.values["value_income"] + self.values["value_handout"]
        return {
            **self.counts,
            **{name: float(round(v, 2)) for name, v in self.values.items()},
            "median_days_to_approval": median(self.days_to_approval),
            "median_days_to_delivery": median(self.days_to_delivery),
            # The share of help that builds income, by number of matches and by value.
            "income_share_count": round(self.matched_income / matched, 4) if matched else None,
            "income_share_value": (
                float(round(self.values["value_income"] / value_total, 4)) if value_total else None
            ),
            **follow_up_shares(self.counts),
        }


def follow_up_shares(counts: dict[str, int]) -> dict[str, float | None]:
    """The follow-ups' completion rate and the shares of help still working at 6 and 12 months."""

    def share(part: str, whole: str) -> float | None:
        return round(counts[part] / counts[whole], 4) if counts.get(whole) else None

    return {
        "follow_up_completion": share("follow_ups_done", "follow_ups_due"),
        "effective_share_6": share("effective_6", "checked_6"),
        "effective_share_12": share("effective_12", "checked_12"),
    }


def empty_figures() -> dict[str, Any]:
    return Tally().as_dict()


def _days(later: datetime, earlier: datetime) -> float:
    return (_aware(later) - _aware(earlier)).total_seconds() / 86400


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _within(moment: datetime | None, start: datetime, end: datetime) -> TypeGuard[datetime]:
    return moment is not None and start <= _aware(moment) < end


class MonthFigures:
    """Accumulates facts into tallies keyed by (region code, dimension, key)."""

    def __init__(self, root: Region) -> None:
        self.root = root
        self.root_depth = root.path.count("/") - 2
        self.tallies: dict[tuple[str, str, str], Tally] = defaultdict(Tally)

    def regions_of(self, village_path: str) -> list[str]:
        """Codes of the root and every region below it on the village's path."""
        return village_path.strip("/").split("/")[self.root_depth :]

    def add(
        self,
        village_path: str,
        category: str,
        org_id: int | None,
        delta: Tally,
        subcategory: str | None = None,
    ) -> None:
        """Add one fact's figures to every region on its path, by category, by donor and by
        route (the sub-category's when given, else the category's)."""
        route = CATEGORIES[subcategory or category].route.value
        for code in self.regions_of(village_path):
            self.tallies[(code, ALL, "")].merge(delta)
            self.tallies[(code, CATEGORY, category)].merge(delta)
            self.tallies[(code, ROUTE, route)].merge(delta)
            if org_id is not None:
                self.tallies[(code, ORGANIZATION, str(org_id))].merge(delta)

    def as_dict(self) -> dict[str, Any]:
        regions: dict[str, Any] = {}
        for (code, dimension, key), tally in sorted(self.tallies.items()):
            entry = regions.setdefault(
                code, {ALL: empty_figures(), CATEGORY: {}, ORGANIZATION: {}, ROUTE: {}}
            )
            if dimension == ALL:
                entry[ALL] = tally.as_dict()
            else:
                entry[dimension][key] = tally.as_dict()
        return regions


def _one(name: str) -> Tally:
    tally = Tally()
    tally.counts[name] = 1
    return tally


def compute_month(root: Region, first: date) -> dict[str, Any]:
    """Every figure of the month for the root's subtree, as plain JSON-ready data."""
    figures = month_tallies(root, first)
    org_ids = {int(key) for _code, dim, key in figures.tallies if dim == ORGANIZATION}
    return {
        "month": first.strftime("%Y-%m"),
        "root": root.code,
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "regions": figures.as_dict(),
        "organization_names": organization_names(org_ids),
    }


def month_tallies(root: Region, first: date) -> MonthFigures:
    """The month's tallies for the root's subtree, before they are turned into figures (a
    city's report merges its counties', reports.services)."""
    start, end = month_bounds(first)
    figures = MonthFigures(root)
    inside = Region.path.startswith(root.path, autoescape=True)
    need_rows = sa.select(Need.id, Region.path, Need.category, Need.subcategory).join(
        Region, Need.village_id == Region.id
    )

    for _id, path, category, subcategory in db.session.execute(
        need_rows.where(inside, Need.created_at >= start, Need.created_at < end)
    ):
        figures.add(path, category, None, _one("posted"), subcategory)
    for _id, path, category, subcategory in db.session.execute(
        need_rows.where(inside, Need.verified_at >= start, Need.verified_at < end)
    ):
        figures.add(path, category, None, _one("verified"), subcategory)
    # Needs still open at the month's end. Live figures can only see today's state; a
    # snapshot taken when the month closes keeps the figure of that day.
    for _id, path, category, subcategory in db.session.execute(
        need_rows.where(
            inside,
            Need.status == NeedStatus.VERIFIED,
            Need.open_quantity > 0,
            Need.created_at < end,
        )
    ):
        figures.add(path, category, None, _one("unmet"), subcategory)

    _add_matches(figures, inside, start, end)
    _add_repeated_aid(figures, inside, end)
    _add_households(figures, inside, first)
    _add_follow_ups(figures, inside, first)
    _add_produce_income(figures, inside, first)
    return figures


def _add_matches(figures: MonthFigures, inside: Any, start: datetime, end: datetime) -> None:
    touched = sa.or_(
        *(
            sa.and_(column >= start, column < end)
            for column in (
                Match.created_at,
                Match.decided_at,
                Match.delivered_at,
                Match.confirmed_at,
            )
        )
    )
    rows = db.session.execute(
        sa.select(
            Match.status,
            Match.quantity,
            Match.created_at,
            Match.decided_at,
            Match.delivered_at,
            Match.confirmed_at,
            Need.created_at,
            Need.category,
            Region.path,
            Resource.organization_id,
            Resource.unit_value,
            Need.subcategory,
        )
        .join(Need, Match.need_id == Need.id)
        .join(Region, Need.village_id == Region.id)
        .join(Resource, Match.resource_id == Resource.id)
        .where(inside, touched)
    )
    for (status, quantity, created, decided, delivered, confirmed, posted, category, path,
         org_id, unit_value, subcategory) in rows:  # fmt: skip
        value = Decimal(quantity) * (unit_value or Decimal(0))
        delta = Tally()
        if _within(created, start, end) and status not in MatchStatus.LOST:
            delta.values["value_pledged"] = value
        if status in MatchStatus.HELPING:
            if _within(decided, start, end):
                income = CATEGORIES[category].builds_income
                delta.counts["matched"] = 1
                delta.matched_income = int(income)
                delta.values["value_income" if income else "value_handout"] = value
                delta.days_to_approval.append(_days(decided, posted))
            if _within(delivered, start, end):
                delta.values["value_delivered"] = value
                delta.days_to_delivery.append(_days(delivered, posted))
            if _within(confirmed, start, end) and status == MatchStatus.CONFIRMED:
                delta.counts["fulfilled"] = 1
        figures.add(path, category, org_id, delta, subcategory)


def _add_repeated_aid(figures: MonthFigures, inside: Any, end: datetime) -> None:
    """Households helped more than once up to the month's end (扶富不扶穷 shows here)."""
    rows = db.session.execute(
        sa.select(Need.household_id, Region.path)
        .join(Match, Match.need_id == Need.id)
        .join(Region, Need.village_id == Region.id)
        .where(
            inside,
            Need.household_id.is_not(None),
            Match.status.in_(MatchStatus.HELPING),
            Match.decided_at < end,
        )
        .group_by(Need.household_id, Region.path)
        .having(sa.func.count(Match.id) > 1)
    )
    for _household, path in rows:
        for code in figures.regions_of(path):
            figures.tallies[(code, ALL, "")].counts["aided_repeatedly"] += 1


def _add_follow_ups(figures: MonthFigures, inside: Any, first: date) -> None:
    """Follow-ups due in the month (by today) and whether they are recorded; checks recorded in
    the month by checkpoint (6 months: 6 to 11, 12 months: 12 and later), and the income they
    recorded for registered households (as ``followups.services.income_from_follow_ups``)."""
    end, today = next_month(first), beijing_today()
    rows = db.session.execute(
        sa.select(
            FollowUp.status, FollowUp.due_on, FollowUp.months, FollowUp.effective,
            FollowUp.income, FollowUp.visited_on, Need.household_id, Need.category, Region.path,
            Resource.organization_id, Need.subcategory,
        )
        .join(Match, FollowUp.match_id == Match.id)
        .join(Need, Match.need_id == Need.id)
        .join(Region, Need.village_id == Region.id)
        .join(Resource, Match.resource_id == Resource.id)
        .where(
            inside,
            sa.or_(
                sa.and_(FollowUp.due_on >= first, FollowUp.due_on < end),
                sa.and_(FollowUp.visited_on >= first, FollowUp.visited_on < end),
            ),
        )
    )  # fmt: skip
    for (status, due_on, months, effective, income, visited_on, household_id, category, path,
         org_id, subcategory) in rows:  # fmt: skip
        done = status == FollowUpStatus.DONE
        delta = Tally()
        if first <= due_on < end and due_on <= today:
            delta.counts["follow_ups_due"] = 1
            delta.counts["follow_ups_done"] = int(done)
        if done and visited_on is not None and first <= visited_on < end:
            at = "12" if months >= 12 else "6" if months >= 6 else None
            if at is not None:
                delta.counts[f"checked_{at}"] = 1
                delta.counts[f"effective_{at}"] = int(bool(effective))
            if household_id is not None:
                delta.values["income_follow_ups"] = income or Decimal(0)
                delta.values["income_added"] = income or Decimal(0)
        figures.add(path, category, org_id, delta, subcategory)


def _add_households(figures: MonthFigures, inside: Any, first: date) -> None:
    """The households' figures (HOUSEHOLD_COUNTS), on every region of their village's path."""

    def count(name: str, paths: Iterable[str]) -> None:
        for path in paths:
            for code in figures.regions_of(path):
                figures.tallies[(code, ALL, "")].counts[name] += 1

    end = next_month(first)
    checks: dict[int, tuple[str, dict[Guarantee, bool]]] = {}
    for path, household, guarantee, met in plans.guarantee_facts(inside, end):
        checks.setdefault(household, (path, {}))[1][guarantee] = met
    states = list(checks.values())
    count("guarantees_met", (p for p, s in states if len(s) == len(Guarantee) and all(s.values())))
    count("guarantees_unmet", (p for p, s in states if not all(s.values())))
    for guarantee in Guarantee:
        count(f"unmet_{guarantee.value}", (p for p, s in states if s.get(guarantee) is False))
    count("exited", plans.exit_paths(inside, first, end))
    count("at_risk", plans.household_paths(inside, plans.at_risk_clause()))
    count("monitored", plans.household_paths(inside, Household.status == HouseholdStatus.MONITORED))


def _add_produce_income(figures: MonthFigures, inside: Any, first: date) -> None:
    """Households' income from produce sold (marketplace.produce), in the month the payment
    reached them, by the household's village, the listing's category and the buyer."""
    rows = db.session.execute(
        sa.select(ProduceIncome.amount, ProduceListing.category, ProduceOrder.organization_id,
                  Region.path)
        .join(ProduceOrder, ProduceIncome.order_id == ProduceOrder.id)
        .join(ProduceListing, ProduceOrder.listing_id == ProduceListing.id)
        .join(Household, ProduceIncome.household_id == Household.id)
        .join(Region, Household.village_id == Region.id)
        .where(inside, ProduceIncome.month == first.strftime("%Y-%m"))
    )  # fmt: skip
    for amount, category, org_id, path in rows:
        delta = Tally()
        delta.values["income_produce"] = amount or Decimal(0)
        delta.values["income_added"] = amount or Decimal(0)
        figures.add(path, category.split(".")[0], org_id, delta, category)


def organization_names(ids: Iterable[int]) -> dict[str, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    return {str(i): name for i, name in rows}
