"""Fixtures of the follow-up tests: matches confirmed with the household some time ago."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.matches import services as matches
from marketplace.matches.models import Match
from marketplace.resources.models import ResourceKind
from marketplace.timefmt import beijing_today
from tests.conftest import JINGYUAN, PASSWORD, World

# What each kind of help is in the tests: the resource's kind, the need's sub-category, unit.
HELP = {
    "goods": (ResourceKind.GOODS, "necessities.washer", "台", Decimal("1200")),
    "jobs": (ResourceKind.JOBS, "jobs.employment", "人", Decimal("30000")),
    "training": (ResourceKind.TRAINING, "jobs.training", "人", Decimal("1500")),
    "livestock": (ResourceKind.GOODS, "industry.livestock", "只", Decimal("1000")),
    "industry": (ResourceKind.MONEY, "industry.aquaculture", "元", Decimal("1")),
    "discount": (ResourceKind.DISCOUNT, "services.telecom", "户", Decimal("17")),
}


@pytest.fixture
def confirmed(
    db: Any,
    world: World,
    region: Any,
    make_household: Any,
    make_need: Any,
    make_resource: Any,
) -> Callable[..., Match]:
    """A match of the world's donor confirmed with a household of ``village`` (the world's
    village by default): the help arrived ``days_ago`` days ago (the pledge, the approval and
    the delivery dated before it), confirmed by the village's staff."""

    def make(
        help: str = "goods",
        days_ago: int = 0,
        village: Any = None,
        staff: Any = None,
        quantity: int = 1,
        org: Any = None,
        donor: Any = None,
    ) -> Match:
        kind, subcategory, unit, unit_value = HELP[help]
        village = village or world.village
        household = make_household(village)
        need = make_need(village, household, subcategory=subcategory, unit=unit,
                         quantity=quantity, title=f"需要{subcategory}")  # fmt: skip
        area = [region(JINGYUAN)] if village != world.huining_village else [village.parent.parent]
        resource = make_resource(org or world.org, area, kind=kind,
                                 categories=[subcategory], unit=unit, unit_value=unit_value,
                                 capacity=None if kind == ResourceKind.DISCOUNT else 100_000,
                                 title=f"{help}资源")  # fmt: skip
        match = matches.pledge(donor or world.donor, need, resource, quantity)
        matches.approve(world.admin if village != world.huining_village else world.huining_admin,
                        match)  # fmt: skip
        matches.deliver(donor or world.donor, match, "已送达")
        arrived = beijing_today() - timedelta(days=days_ago)
        earlier = datetime.combine(arrived - timedelta(days=2), time(2), UTC)
        db.session.execute(
            sa.update(Match).where(Match.id == match.id).values(
                created_at=earlier, decided_at=earlier, delivered_at=earlier
            )
        )  # fmt: skip
        db.session.refresh(match)
        matches.confirm(
            staff or (world.staff if village == world.village else world.other_staff), match,
            received_quantity=quantity, received_on=arrived, satisfaction=5,
            feedback="很好，谢谢",
        )  # fmt: skip
        db.session.commit()
        return match

    return make


@pytest.fixture
def client_of(app: Any) -> Callable[[str], Any]:
    """A test client of its own signed in as the user named."""

    def signed_in(username: str) -> Any:
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302
        return client

    return signed_in


def months_ago(months: int, today: date | None = None) -> int:
    """Days since the same day ``months`` months ago (a follow-up due that many months after
    help that arrived then is due today)."""
    from marketplace.followups.services import add_months

    today = today or beijing_today()
    start = today
    while add_months(start, months) > today:
        start -= timedelta(days=1)
    return (today - start).days
