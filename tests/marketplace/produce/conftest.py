"""Fixtures of the produce tests: the world's donor as a buyer with a purchase resource of
10,000 yuan reaching Jingyuan, and listings entered by the world's staff and verified by its
administrator, through the services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from marketplace.produce import services
from marketplace.produce.models import ProduceListing, ProduceOrder
from marketplace.resources.models import Resource, ResourceKind
from tests.conftest import JINGYUAN, PASSWORD, World

BUDGET = Decimal("10000")


@pytest.fixture
def purchase(db: Any, world: World, make_resource: Any, region: Any) -> Resource:
    """The buyer's purchase resource: 10,000 元 at 1 元 each, buying consumption.produce."""
    return make_resource(
        world.org, [region(JINGYUAN)], kind=ResourceKind.PURCHASE, title="消费扶贫采购1万元",
        categories=["consumption.produce"], capacity=10000, unit="元", unit_value=Decimal(1),
    )  # fmt: skip


LISTING = {
    "product": "靖远小杂粮（荞麦）",
    "category": "consumption.produce",
    "quantity": 500,
    "unit": "斤",
    "price": Decimal("4.50"),
    "available_from": date(2026, 1, 1),
    "quality_notes": "旱地种植，不施化肥。",
}


@pytest.fixture
def budget(db: Any, world: World, make_resource: Any, region: Any) -> Resource:
    """1,000 yuan (1,000 元 at 1 元), buying produce and serving "needs a buyer" needs."""
    return make_resource(
        world.org, [region(JINGYUAN)], kind=ResourceKind.PURCHASE, title="消费扶贫采购1千元",
        categories=["consumption.produce"], capacity=1000, unit="元", unit_value=Decimal(1),
    )  # fmt: skip


@pytest.fixture
def make_listing(db: Any, world: World) -> Callable[..., ProduceListing]:
    """A listing of the world's household (or a cooperative's, given members), entered by the
    world's staff; verified by the world's administrator unless ``verify=False``."""

    def make(
        verify: bool = True, members: list[Any] | None = None, **values: Any
    ) -> ProduceListing:
        household = None if members else values.pop("household", world.household)
        listing = services.create_listing(
            world.staff, world.village, household,
            cooperative_name=values.pop("cooperative_name", "三滩村种植合作社" if members else ""),
            members=members, **{**LISTING, **values},
        )  # fmt: skip
        if verify:
            services.submit_listing(world.staff, listing)
            services.verify_listing(world.admin, listing)
        db.session.commit()
        return listing

    return make


@pytest.fixture
def listing(make_listing: Any) -> ProduceListing:
    return make_listing()


@pytest.fixture
def ordered(db: Any, world: World, listing: ProduceListing, purchase: Resource) -> ProduceOrder:
    """100 斤 at 4.50: 450 yuan, ordered by the world's donor."""
    order = services.place_order(world.donor, listing, purchase, 100)
    db.session.commit()
    return order


@pytest.fixture
def client_of(app: Any) -> Callable[[Any], Any]:
    """A test client of its own signed in as the user: several users side by side."""

    def signed_in(user: Any) -> Any:
        client = app.test_client()
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        return client

    return signed_in
