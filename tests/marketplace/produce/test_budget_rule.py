"""A purchase resource is one budget shared by its matches to needs and its produce orders, by one
rule (``resources.capacity``): a match's approval cannot take what orders hold, and an order
cannot spend what approved matches hold; the reconciliation (spent = the sum paid) still holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.errors import ServiceError
from marketplace.matches import services as matches
from marketplace.matches.models import MatchStatus
from marketplace.produce import services
from marketplace.produce.models import OrderStatus, ProduceOrder
from marketplace.resources import capacity
from marketplace.resources.models import Resource
from marketplace.timefmt import beijing_today
from tests.conftest import JINGYUAN, World


def _buyer_need(world: World, make_household: Any, make_need: Any, quantity: int) -> Any:
    return make_need(world.village, make_household(world.village),
                     subcategory="consumption.produce", unit="元", quantity=quantity,
                     title="帮助销售农产品")  # fmt: skip


def _refused(status: int, action: Any, *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        action(*args, **kwargs)
    assert refused.value.status == status, refused.value.message
    return refused.value


def test_an_approval_cannot_take_what_orders_hold(
    app: Any, db: Any, world: World, budget: Resource, make_listing: Any,
    make_household: Any, make_need: Any,
) -> None:  # fmt: skip
    """Budget 1,000; an order holds 600; a pledge of 500 made before the order is refused at
    approval, in Chinese, and changes nothing; a pledge made now may ask for 400 at most."""
    pledge = matches.pledge(world.donor, _buyer_need(world, make_household, make_need, 500),
                            budget, 500)  # fmt: skip
    db.session.commit()
    order = services.place_order(world.donor, make_listing(price=Decimal("6.00")), budget, 100)
    db.session.commit()
    assert order.amount == Decimal(600) and services.budget_left(budget) == Decimal(400)
    refused = _refused(409, matches.approve, world.admin, pledge)
    db.session.rollback()
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import refresh

        refresh()
        said = str(refused.message)
    assert "农产品订单" in said and "600.00" in said and "400.00" in said, said
    db.session.refresh(pledge)
    db.session.refresh(budget)
    assert pledge.status == MatchStatus.PROPOSED and budget.remaining == 1000
    # A new pledge is told what is free: 400 units, not the 1,000 that remain.
    need = _buyer_need(world, make_household, make_need, 500)
    too_much = _refused(400, matches.pledge, world.donor, need, budget, 500)
    assert too_much.field == "quantity" and "400" in str(too_much.message)
    assert capacity.units_free(budget) == 400
    fits = matches.pledge(world.donor, need, budget, 400)
    matches.approve(world.admin, fits)
    db.session.commit()
    db.session.refresh(budget)
    assert budget.remaining == 600 and services.budget_left(budget) == Decimal(0)
    # Nothing is left for an order now, nor for another match.
    assert _refused(400, services.place_order, world.donor, order.listing, budget, 1).field == (
        "resource"
    )
    assert capacity.units_free(budget) == 0
    assert services.budget_problems() == []


def test_an_order_cannot_spend_what_approved_matches_hold_and_the_sums_reconcile(
    db: Any, world: World, budget: Resource, make_listing: Any,
    make_household: Any, make_need: Any,
) -> None:  # fmt: skip
    match = matches.pledge(world.donor, _buyer_need(world, make_household, make_need, 500),
                           budget, 500)  # fmt: skip
    matches.approve(world.admin, match)
    db.session.commit()
    assert services.budget_left(budget) == Decimal(500)
    listing = make_listing(price=Decimal("6.00"))
    over = _refused(400, services.place_order, world.donor, listing, budget, 90)  # 540 yuan
    assert over.field == "quantity" and "540.00" in str(over.message)
    order = services.place_order(world.donor, listing, budget, 80)  # 480 yuan
    services.hand_over(world.staff, order, "过秤80斤")
    services.receive(world.donor, order)
    services.pay(world.donor, order, beijing_today(), "银行转账 20261201002")
    services.confirm_payment(world.staff, order, beijing_today())
    db.session.commit()
    paid = db.session.scalar(
        sa.select(sa.func.sum(ProduceOrder.amount)).where(
            ProduceOrder.resource_id == budget.id, ProduceOrder.status == OrderStatus.CONFIRMED
        )
    )
    assert services.budget_held(budget) == (Decimal(0), paid) and paid == Decimal(480)
    assert services.budget_problems() == []
    # What is left is the same figure for orders and for matches: one rule.
    assert services.budget_left(budget) == Decimal(20) and capacity.units_free(budget) == 20


def test_the_budget_cannot_be_edited_below_what_orders_hold(
    db: Any, world: World, budget: Resource, make_listing: Any, region: Any
) -> None:
    from marketplace.resources import services as resources

    services.place_order(world.donor, make_listing(price=Decimal("6.00")), budget, 100)  # 600
    db.session.commit()
    values = {name: getattr(budget, name) for name in resources.FIELDS}
    refused = _refused(400, resources.update_resource, world.donor, budget, capacity=500,
                       service_area=[region(JINGYUAN)], **values)  # fmt: skip
    assert refused.field == "capacity" and "600.00" in str(refused.message)
    db.session.rollback()
    resources.update_resource(world.donor, budget, capacity=600,
                              service_area=[region(JINGYUAN)], **values)  # fmt: skip
    db.session.commit()
    assert services.budget_left(budget) == Decimal(0) and services.budget_problems() == []


def test_the_pledge_form_leaves_out_a_budget_its_orders_hold_whole(
    db: Any, world: World, budget: Resource, make_listing: Any, make_household: Any,
    make_need: Any, client_of: Any,
) -> None:  # fmt: skip
    """Orders hold 600 of 1,000: the budget is offered; they hold all 1,000: it is not (a
    pledge from it would be refused with every unit still "remaining")."""
    need = _buyer_need(world, make_household, make_need, 500)
    db.session.commit()
    listing = make_listing(price=Decimal("6.00"))
    services.place_order(world.donor, listing, budget, 100)  # 600 yuan
    db.session.commit()
    donor = client_of(world.donor)
    offered = donor.get(f"/needs/{need.id}").data.decode()
    assert f'<option value="{budget.id}"' in offered, offered[offered.find("<main") :][:3000]
    services.place_order(world.donor, listing, budget, 66)  # 396 more: 996 held, 4 units free
    db.session.commit()
    assert capacity.units_free(budget) == 4
    assert f'<option value="{budget.id}"' in donor.get(f"/needs/{need.id}").data.decode()
    services.place_order(world.donor, make_listing(price=Decimal("1.00")), budget, 4)
    db.session.commit()
    assert budget.remaining == 1000 and capacity.units_free(budget) == 0
    page = donor.get(f"/needs/{need.id}").data.decode()
    assert f'<option value="{budget.id}"' not in page
