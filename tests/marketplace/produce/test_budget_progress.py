"""The resource page's bar of a purchase resource shows what its produce orders hold beside what
its matches took, against its capacity: the budget is one, and so is its picture."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marketplace.matches.aid import resource_progress
from marketplace.produce import services
from marketplace.resources.models import Resource
from tests.conftest import World


def test_orders_show_on_the_purchase_resources_bar(
    client: Any,
    login: Any,
    db: Any,
    world: World,
    budget: Resource,
    make_listing: Any,
) -> None:
    assert resource_progress(budget).ordered == 0
    services.place_order(world.donor, make_listing(price=Decimal("6.50")), budget, 100)
    db.session.commit()
    progress = resource_progress(budget)
    # 650 yuan held at 1 yuan a unit: 650 units of the 1,000.
    assert progress.ordered == 650 and progress.total == 1000 and progress.under_way == 650
    assert progress.percent(progress.ordered) == 65
    login(world.donor)
    page = client.get(f"/resources/{budget.id}").data.decode()
    assert "农产品订单占用 650 元" in page and "width: 65%" in page
    # A resource that is not a budget has no such segment.
    assert resource_progress(world.resource).ordered == 0
