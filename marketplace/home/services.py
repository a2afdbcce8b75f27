"""Figures for the home page and the dashboards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from marketplace.accounts import policy as accounts_policy
from marketplace.accounts.models import Organization, Role, User, VerificationStatus
from marketplace.accounts.services import organizations_in_scope
from marketplace.extensions import db
from marketplace.facts import cache as fact_cache
from marketplace.households.models import Household
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need, NeedStatus
from marketplace.needs.services import public_needs_query
from marketplace.permissions import region_clause
from marketplace.privacy import scrub
from marketplace.regions.models import Region
from marketplace.regions.services import load_ancestors
from marketplace.resources.models import Resource
from marketplace.resources.services import public_resources_query
from marketplace.timefmt import beijing_today
from marketplace.vocab import CATEGORIES


@dataclass(frozen=True)
class WaitingNeed:
    """An open need as the home page lists it (plain data: it is kept between requests)."""

    id: int
    title: str
    village: str  # the full name
    subcategory: str
    open_quantity: int
    unit: str
    created_at: datetime

    @property
    def category_label(self) -> str:
        return str(CATEGORIES[self.subcategory].label)  # in the reader's language


@dataclass(frozen=True)
class Delivery:
    """A confirmed delivery as the home page lists it; the feedback already masked."""

    resource: str
    need: str
    donor: str
    village: str
    confirmed_at: datetime | None
    satisfaction: int | None
    feedback: str


@dataclass(frozen=True)
class PublicWork:
    waiting: list[WaitingNeed]
    deliveries: list[Delivery]
    income_share: float | None  # 0..1 of the value delivered; None before any


@dataclass(frozen=True)
class HomePage:
    figures: dict[str, Any]  # headline_figures()
    work: PublicWork


def home_page(limit: int = 5) -> HomePage:
    """What the public home page shows, kept until a fact changes (marketplace.facts): one
    SELECT of the facts' token per request instead of the counts. Keyed by the day too:
    which resources are valid, and so public, turns at midnight."""
    key = ("home", limit, date.today(), beijing_today())
    return fact_cache.get(key, lambda: compute_home_page(limit))


def compute_home_page(limit: int = 5) -> HomePage:
    return HomePage(headline_figures(), public_work(limit))


def headline_figures() -> dict[str, Any]:
    """Public figures, counted now: counts only, nothing personal."""
    value_delivered = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Match.quantity * Resource.unit_value), 0))
        .join(Resource, Match.resource_id == Resource.id)
        .where(Match.status.in_(MatchStatus.DONE))
    )
    return {
        "households": db.session.scalar(sa.select(sa.func.count(Household.id))),
        # The same "open need" and "public resource" that donors browse and search finds.
        "open_needs": _count(public_needs_query()),
        "resources": _count(public_resources_query()),
        "matches": db.session.scalar(
            sa.select(sa.func.count(Match.id)).where(
                Match.status.in_({MatchStatus.APPROVED, *MatchStatus.DONE})
            )
        ),
        "value_delivered": Decimal(value_delivered or 0),
    }


def _count(query: sa.Select[Any]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def dashboard_figures(user: User) -> dict[str, Any]:
    """What the role can do next, counted inside the user's scope."""
    in_scope_need = (
        sa.select(Need.id)
        .join(Region, Need.village_id == Region.id)
        .where(region_clause(user, Region.path))
    )
    if user.role == Role.DONOR:
        org = user.organization
        return {
            "organization": org,
            "resources": _count(sa.select(Resource.id).where(Resource.organization_id == org.id))
            if org
            else 0,
            "open_needs": _count(public_needs_query()),
        }
    figures: dict[str, Any] = {
        "regions": user.regions,
        "households": _count(
            sa.select(Household.id)
            .join(Region, Household.village_id == Region.id)
            .where(region_clause(user, Region.path))
        ),
        "needs_waiting": _count(in_scope_need.where(Need.status == NeedStatus.SUBMITTED)),
        "needs_returned": _count(in_scope_need.where(Need.status == NeedStatus.RETURNED)),
        "needs_open": _count(in_scope_need.where(Need.status == NeedStatus.VERIFIED)),
        "matches_proposed": _count(
            sa.select(Match.id)
            .join(Need, Match.need_id == Need.id)
            .join(Region, Need.village_id == Region.id)
            .where(region_clause(user, Region.path), Match.status == MatchStatus.PROPOSED)
        ),
    }
    if accounts_policy.can_review_organizations(user):
        figures["organizations_pending"] = _count(
            organizations_in_scope(user).where(Organization.status == VerificationStatus.PENDING)
        )
    return figures


def public_work(limit: int = 5) -> PublicWork:
    """What the public home page shows of the work (阳光操作): the needs waiting longest,
    the latest deliveries confirmed with the household and what it said (masked), and the
    share of the help delivered that builds income rather than hands out."""
    waiting = list(
        db.session.scalars(
            public_needs_query()
            .options(sa.orm.contains_eager(Need.village))
            .order_by(Need.created_at, Need.id)
            .limit(limit)
        )
    )
    confirmed = list(
        db.session.scalars(
            sa.select(Match)
            .where(Match.status == MatchStatus.CONFIRMED)
            .options(
                sa.orm.selectinload(Match.need).selectinload(Need.village),
                sa.orm.selectinload(Match.need)
                .selectinload(Need.household)
                .selectinload(Household.members),
                sa.orm.selectinload(Match.resource).selectinload(Resource.organization),
            )
            .order_by(Match.confirmed_at.desc(), Match.id.desc())
            .limit(limit)
        )
    )
    # Held while the full names are read (one query for every ancestor).
    _loaded = load_ancestors([*(n.village for n in waiting), *(m.need.village for m in confirmed)])
    waiting_needs = [
        WaitingNeed(n.id, n.title, n.village.full_name, n.subcategory, n.open_quantity, n.unit,
                    n.created_at)
        for n in waiting
    ]  # fmt: skip
    deliveries = [
        Delivery(m.resource.title, m.need.title, m.resource.organization.name,
                 m.need.village.full_name, m.confirmed_at, m.satisfaction,
                 scrub(m.feedback, _people(m.need.household)))
        for m in confirmed
    ]  # fmt: skip
    return PublicWork(waiting_needs, deliveries, _income_share())


def _people(household: Household | None) -> list[str]:
    if household is None:
        return []
    return [household.head_name, *(m.name for m in household.members)]


def _income_share() -> float | None:
    """The share (0..1) of the value delivered that went to income-building categories."""
    rows = db.session.execute(
        sa.select(Need.category, sa.func.sum(Match.quantity * Resource.unit_value))
        .join(Need, Match.need_id == Need.id)
        .join(Resource, Match.resource_id == Resource.id)
        .where(Match.status.in_(MatchStatus.DONE))
        .group_by(Need.category)
    ).all()
    total = sum(Decimal(v or 0) for _c, v in rows)
    if not total:
        return None
    income = sum(
        Decimal(v or 0) for c, v in rows if c in CATEGORIES and CATEGORIES[c].builds_income
    )
    return float(income / total)
