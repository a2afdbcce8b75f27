"""What help each household has had: the ranking favours the less aided, and the household
page lists it.

Two counts, on purpose. The household page's "aid received" (``aid_received``) and the
village summary list help given or under way: from approval on (``MatchStatus.HELPING``); a
pledge still awaiting approval is no help yet and may be rejected. The ranking and the
allocation (``prior_aid_counts``) also count pledges in flight (``MatchStatus.PROPOSED``): a
household already put forward for help waits behind one that has none, otherwise a burst of
pledges or an allocation run twice would put the same household first every time (issue 12)."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need
from marketplace.regions.models import Region


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
