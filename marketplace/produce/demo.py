"""The demo's produce sales (消费扶贫), played through the services as people would: a
village's staff list a cooperative's produce (for four of the village's registered households)
and one household's, the county's administrator verifies them, the city water bureau orders
from both with its purchase resource; the cooperative's order is handed over, received, paid
and its payment confirmed (the households' income recorded), the household's is handed over
and waits for the buyer. Idempotent: a listing is found by village and product, and its orders
are played only once."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.households.models import Household
from marketplace.produce import services
from marketplace.produce.models import ProduceListing, ProduceOrder
from marketplace.regions.models import Region, RegionLevel
from marketplace.resources.models import Resource
from marketplace.timefmt import beijing_today
from marketplace.vocab import HouseholdStatus

PLAN = Path(__file__).resolve().parents[1] / "demo_data" / "produce.json"
STEPS = ["ordered", "handed_over", "received", "paid", "confirmed"]


def load(resources: dict[str, Resource], users: dict[str, User]) -> int:
    """Play the plan; the number of orders made this time."""
    plan: dict[str, Any] = json.loads(PLAN.read_text(encoding="utf-8"))
    staff, reviewer, buyer = users[plan["staff"]], users[plan["verified_by"]], users[plan["buyer"]]
    village = next(r for r in staff.regions if r.level == RegionLevel.VILLAGE)
    listings = _listings(plan["listings"], village, staff, reviewer)
    resource = resources[plan["resource"]]
    made = 0
    for spec in plan["orders"]:
        listing = listings[spec["listing"]]
        if db.session.scalar(
            sa.select(ProduceOrder.id).where(ProduceOrder.listing_id == listing.id)
        ):
            continue
        order = services.place_order(buyer, listing, resource, spec["quantity"])
        reached = STEPS.index(spec["reach"])
        if reached >= STEPS.index("handed_over"):
            services.hand_over(staff, order, spec["handover_note"])
        if reached >= STEPS.index("received"):
            services.receive(buyer, order)
        if reached >= STEPS.index("paid"):
            services.pay(buyer, order, beijing_today(), spec["reference"])
        if reached >= STEPS.index("confirmed"):
            services.confirm_payment(staff, order, beijing_today())
        made += 1
    return made


def _listings(
    specs: list[dict[str, Any]], village: Region, staff: User, reviewer: User
) -> dict[str, ProduceListing]:
    # The village's households not yet out of poverty or monitored first, the others after.
    rows = db.session.scalars(
        sa.select(Household)
        .where(Household.village_id == village.id)
        .order_by(Household.register_number)
    ).all()
    needy = sorted(rows, key=lambda h: h.status == HouseholdStatus.EXITED)
    taken = 0
    found = {}
    for spec in specs:
        existing = db.session.scalar(
            sa.select(ProduceListing).where(
                ProduceListing.village_id == village.id, ProduceListing.product == spec["product"]
            )
        )
        if "cooperative" in spec:
            household, members = None, needy[taken : taken + spec["members"]]
            name = spec["cooperative"].format(village=village.name)
        else:
            household, members, name = needy[taken], [], ""
        taken += len(members) or 1
        if existing is not None:
            found[spec["key"]] = existing
            continue
        listing = services.create_listing(
            staff, village, household, cooperative_name=name, members=members,
            product=spec["product"], category=spec["category"], quantity=spec["quantity"],
            unit=spec["unit"], price=Decimal(spec["price"]), available_from=beijing_today(),
            quality_notes=spec["quality_notes"],
        )  # fmt: skip
        services.submit_listing(staff, listing)
        services.verify_listing(reviewer, listing)
        found[spec["key"]] = listing
    return found
