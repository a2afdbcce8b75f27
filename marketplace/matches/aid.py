"""What help each household has had: the ranking favours the less aided, and the household
page lists it.

Two counts, on purpose. The household page's "aid received" (``aid_received``) and the
village summary list help given or under way: from approval on (``MatchStatus.HELPING``); a
pledge still awaiting approval is no help yet and may be rejected. The ranking and the
allocation (``prior_aid_counts``) also count pledges in flight (``MatchStatus.PROPOSED``): a
household already put forward for help waits behind one that has none, otherwise a burst of
pledges or an allocation run twice would put the same household first every time (issue 12)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need
from marketplace.regions.models import Region
from marketplace.resources import capacity
from marketplace.resources.models import Resource


def aid_received(household: Household) -> list[Match]:
    """Every approved, delivered or confirmed match of the household, across all resources."""
    return list(
        db.session.scalars(
            sa.select(Match)
            .join(Need, Match.need_id == Need.id)
            .where(Need.household_id == household.id, Match.status.in_(MatchStatus.HELPING))
            .order_by(Match.created_at)
        )
    )


# What the ranking counts as aid: help given or under way, and pledges awaiting approval.
COUNTED_FOR_RANKING = MatchStatus.HELPING | {MatchStatus.PROPOSED}


def prior_aid_counts(household_ids: list[int]) -> dict[int, int]:
    """How many matches each household has received or has in flight (approved, delivered,
    confirmed, disputed, and proposed): the ranking favours the less aided."""
    if not household_ids:
        return {}
    rows = db.session.execute(
        sa.select(Need.household_id, sa.func.count(Match.id))
        .join(Match, Match.need_id == Need.id)
        .where(Need.household_id.in_(household_ids), Match.status.in_(COUNTED_FOR_RANKING))
        .group_by(Need.household_id)
    )
    return {hid: count for hid, count in rows if hid is not None}


def village_aid_summary(village: Region) -> dict[str, int]:
    """Households of the village with and without any aid: repeated aid while others wait."""
    total = db.session.scalar(
        sa.select(sa.func.count(Household.id)).where(Household.village_id == village.id)
    )
    aided = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Need.household_id)))
        .join(Match, Match.need_id == Need.id)
        .where(Need.village_id == village.id, Match.status.in_(MatchStatus.HELPING))
    )
    return {"households": int(total or 0), "aided": int(aided or 0)}


def held_by_households(resource_id: int, household_ids: list[int]) -> dict[int, int]:
    """The units of one resource each household holds in live matches (pledged, approved,
    delivered, disputed), over all its needs: what its per-household limit counts."""
    if not household_ids:
        return {}
    rows = db.session.execute(
        sa.select(Need.household_id, sa.func.sum(Match.quantity))
        .join(Match, Match.need_id == Need.id)
        .where(
            Match.resource_id == resource_id,
            Need.household_id.in_(household_ids),
            Match.status.in_(MatchStatus.LIVE),
        )
        .group_by(Need.household_id)
    )
    return {hid: int(units) for hid, units in rows if hid is not None}


@dataclass(frozen=True)
class Progress:
    """What several donors have done towards a need (or with a resource): units received
    (confirmed), delivered and awaiting confirmation, approved, pledged and awaiting approval,
    against the total (None: a resource without a set capacity)."""

    total: int | None
    confirmed: int = 0
    delivered: int = 0
    approved: int = 0
    pledged: int = 0
    # A purchase resource's units whose value its produce orders hold (消费扶贫).
    ordered: int = 0

    @property
    def under_way(self) -> int:
        return self.confirmed + self.delivered + self.approved + self.pledged + self.ordered

    def percent(self, part: int) -> int:
        """A part as a whole percentage of the total (0 without one)."""
        if not self.total:
            return 0
        return min(100, round(100 * part / self.total))


# The segments of the bar, in the order they fill: a unit moves left as it advances.
SEGMENTS = (
    ("confirmed", (MatchStatus.CONFIRMED,)),
    ("delivered", (MatchStatus.DELIVERED, MatchStatus.DISPUTED)),
    ("approved", (MatchStatus.APPROVED,)),
    ("pledged", (MatchStatus.PROPOSED,)),
)


def _units_by_status(column: Any, ids: list[int]) -> dict[tuple[int, str], int]:
    rows = db.session.execute(
        sa.select(column, Match.status, sa.func.sum(Match.quantity))
        .where(column.in_(ids), Match.status.in_([s for _n, group in SEGMENTS for s in group]))
        .group_by(column, Match.status)
    )
    return {(int(key), MatchStatus(status).value): int(units) for key, status, units in rows}


def _progress(total: int | None, units: dict[str, int]) -> Progress:
    return Progress(total, **{name: sum(units.get(s.value, 0) for s in group)
                              for name, group in SEGMENTS})  # fmt: skip


def need_progress(needs: list[Need]) -> dict[int, Progress]:
    """Each need's progress, one query for all of them."""
    units = _units_by_status(Match.need_id, [n.id for n in needs])
    return {
        n.id: _progress(n.quantity, {s: u for (k, s), u in units.items() if k == n.id})
        for n in needs
    }


def resource_progress(resource: Resource) -> Progress:
    """The resource's units by how far their matches have gone, and those its produce orders
    hold, against its capacity."""
    units = _units_by_status(Match.resource_id, [resource.id])
    progress = _progress(resource.capacity, {s: u for (_k, s), u in units.items()})
    if not capacity.holds_orders(resource):
        return progress
    return replace(progress, ordered=capacity.units_for_orders(resource))
