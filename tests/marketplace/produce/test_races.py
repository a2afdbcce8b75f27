"""Two requests acting on what they both read (tests/races.py): the compare-and-set of the one
transition refuses the second move of an order with 409, and two orders cannot take more of a
listing or of a budget than there is. Runs on the suite's database (SQLite, and PostgreSQL in
CI)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.extensions import db as _db
from marketplace.produce import services
from marketplace.produce.models import OrderStatus, ProduceListing, ProduceOrder
from marketplace.resources.models import Resource
from tests.conftest import World
from tests.races import from_the_same_read


def _order_read(order_id: int, user_id: int) -> Any:
    def read() -> tuple[User, ProduceOrder]:
        user = _db.session.get(User, user_id)
        order = _db.session.get(ProduceOrder, order_id)
        assert user is not None and order is not None
        order.listing.village  # noqa: B018  (loaded with the read, as a page would)
        return user, order

    return read


def test_a_move_raced_by_another_is_refused_with_409(
    app: Any, db: Any, world: World, ordered: ProduceOrder
) -> None:
    """The buyer cancels and the staff hand over, both from the order as ordered: the second
    to act is refused with 409 and nothing of it is kept."""
    first, second = from_the_same_read(
        app,
        (_order_read(ordered.id, world.donor.id),
         lambda loaded: services.cancel(loaded[0], loaded[1], "不要了")),
        (_order_read(ordered.id, world.staff.id),
         lambda loaded: services.hand_over(loaded[0], loaded[1], "已交货")),
    )  # fmt: skip
    assert first is None
    assert second is not None and second.status == 409
    db.session.expire_all()
    order = db.session.get(ProduceOrder, ordered.id)
    assert order.status == OrderStatus.CANCELLED and order.handed_over_at is None
    assert order.listing.remaining == 500
    assert services.budget_problems() == []


def test_the_same_step_twice_at_once_is_taken_once(
    app: Any, db: Any, world: World, ordered: ProduceOrder
) -> None:
    services.hand_over(world.staff, ordered)
    services.receive(world.donor, ordered)
    db.session.commit()
    today = services.beijing_today()
    pay = (_order_read(ordered.id, world.donor.id),
           lambda loaded: services.pay(loaded[0], loaded[1], today, "转账"))  # fmt: skip
    first, second = from_the_same_read(app, pay, pay)
    assert first is None and second is not None and second.status == 409
    db.session.expire_all()
    purchase = db.session.get(Resource, ordered.resource_id)
    assert services.budget_held(purchase) == (Decimal(0), Decimal(450))  # spent once
    assert services.budget_problems() == []


def _order_of(listing_id: int, resource_id: int, donor_id: int, quantity: int) -> Any:
    def read() -> tuple[User, ProduceListing, Resource]:
        user = _db.session.get(User, donor_id)
        listing = _db.session.get(ProduceListing, listing_id)
        resource = _db.session.get(Resource, resource_id)
        assert user and listing and resource
        listing.village  # noqa: B018
        return user, listing, resource

    def act(loaded: tuple[User, ProduceListing, Resource]) -> None:
        services.place_order(*loaded, quantity)

    return read, act


def test_two_orders_cannot_take_more_than_the_listing_has(
    app: Any, db: Any, world: World, listing: ProduceListing, purchase: Resource
) -> None:
    """500 斤 left, both read 500 and order 300: the second is refused (409, someone else just
    ordered) and takes nothing."""
    side = _order_of(listing.id, purchase.id, world.donor.id, 300)
    first, second = from_the_same_read(app, side, side)
    assert first is None and second is not None and second.status == 409
    db.session.expire_all()
    assert db.session.get(ProduceListing, listing.id).remaining == 200
    count = db.session.scalar(sa.select(sa.func.count(ProduceOrder.id)))
    assert count == 1
    assert services.budget_problems() == []


def test_two_orders_cannot_spend_more_than_the_budget(
    app: Any, db: Any, world: World, make_listing: Any, purchase: Resource
) -> None:
    """10,000 yuan left, both read it and order 1,500 斤 at 4.50 (6,750 yuan each): the budget
    is held by one order at a time, so the second sees 3,250 left and is refused at its
    quantity."""
    big = make_listing(quantity=5000)
    side = _order_of(big.id, purchase.id, world.donor.id, 1500)
    first, second = from_the_same_read(app, side, side)
    assert first is None and second is not None
    assert second.status == 400 and second.field == "quantity"
    db.session.expire_all()
    resource = db.session.get(Resource, purchase.id)
    assert services.budget_held(resource) == (Decimal(6750), Decimal(0))
    assert services.budget_left(resource) == Decimal(3250)
    assert services.budget_problems() == []
