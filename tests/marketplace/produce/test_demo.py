"""The demo's produce sales: a village cooperative's buckwheat sold to the city water bureau
(verified, one order paid and confirmed, the income shared by its four households), a
household's linseed oil handed over and waiting for the buyer; through the services, so the
budget reconciles and the pages show it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.demo import DEMO_PASSWORD, load_demo
from marketplace.produce import services
from marketplace.produce.models import (
    ListingStatus,
    OrderStatus,
    ProduceIncome,
    ProduceListing,
    ProduceOrder,
)
from tests.marketplace.test_demo import demo, loaded  # noqa: F401  (the demo, loaded once)


def test_a_cooperatives_produce_is_sold_to_a_buyer(app: Any, demo: Any) -> None:  # noqa: F811
    listings = {lst.product: lst for lst in demo.session.scalars(sa.select(ProduceListing))}
    coop, oil = listings["靖远小杂粮（荞麦）"], listings["胡麻油（冷榨）"]
    assert coop.is_cooperative and coop.cooperative_name.endswith("小杂粮种植专业合作社")
    assert len(coop.members) == 4 and not oil.is_cooperative
    assert {coop.status, oil.status} == {ListingStatus.VERIFIED}
    orders = {o.listing_id: o for o in demo.session.scalars(sa.select(ProduceOrder))}
    sold, waiting = orders[coop.id], orders[oil.id]
    assert (sold.status, sold.amount) == (OrderStatus.CONFIRMED, Decimal("2700.00"))
    assert (waiting.status, waiting.amount) == (OrderStatus.HANDED_OVER, Decimal("2000.00"))
    assert sold.organization.name == "白银市水利局" == waiting.organization.name
    income = services.produce_income([h.id for h in coop.members])
    assert sorted(income.values()) == [Decimal("675.00")] * 4
    assert demo.session.scalar(sa.select(sa.func.sum(ProduceIncome.amount))) == Decimal(2700)
    assert services.budget_problems() == []
    budget = services.budget_held(sold.resource)
    assert budget == (Decimal(2000), Decimal(2700))
    # Loading again plays nothing twice.
    assert load_demo()["produce orders created"] == 0
    assert demo.session.scalar(sa.select(sa.func.count(ProduceOrder.id))) == 2


def test_the_buyer_sees_its_market_and_its_orders(app: Any, demo: Any) -> None:  # noqa: F811
    browser = app.test_client()
    browser.post("/login", data={"username": "water_bureau", "password": DEMO_PASSWORD})
    market = browser.get("/produce/market").get_data(as_text=True)
    assert "帮扶销售农产品3.5万元" in market and "30,300.00" in market  # 35,000 - 4,700
    assert "靖远小杂粮（荞麦）" in market and "胡麻油（冷榨）" in market
    orders = browser.get("/produce/orders").get_data(as_text=True)
    assert "已确认到账" in orders and "已交货，待买方确认" in orders
    waiting = demo.session.scalars(
        sa.select(ProduceOrder).where(ProduceOrder.status == OrderStatus.HANDED_OVER)
    ).one()
    page = browser.get(f"/produce/orders/{waiting.id}").get_data(as_text=True)
    assert "已按订单收货" in page  # the buyer's next step
    for household in waiting.listing.households:
        assert household.head_name not in page
