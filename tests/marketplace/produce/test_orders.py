"""The order lifecycle: one transition function, legal and illegal moves, the budget kept and
reconciled (budget spent = sum of the paid orders), the listing's quantity, the household's
income, disputes, notifications and the audit trail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.notifications.models import Notification
from marketplace.produce import services
from marketplace.produce.models import (
    ListingStatus,
    OrderStatus,
    ProduceIncome,
    ProduceListing,
    ProduceOrder,
)
from marketplace.produce.policy import ORDER_MOVES
from marketplace.roles import Role
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.marketplace.produce.conftest import BUDGET

S = OrderStatus


def _refused(status: int, action: Any, *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        action(*args, **kwargs)
    assert refused.value.status == status, refused.value.message
    return refused.value


def _actions(db: Any, order: ProduceOrder) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.object_type == "produce_order", AuditEvent.object_id == order.id)
            .order_by(AuditEvent.id)
        )
    )


def _notified(db: Any, kind: str) -> set[int]:
    return set(db.session.scalars(sa.select(Notification.user_id).where(Notification.kind == kind)))


def _through_to_paid(world: World, order: ProduceOrder) -> None:
    services.hand_over(world.staff, order, "过秤100斤，交给采购人")
    services.receive(world.donor, order)
    services.pay(world.donor, order, beijing_today(), "银行转账 20261201001")


def test_an_order_goes_from_ordered_to_confirmed_and_the_household_earns_it(
    db: Any, world: World, ordered: ProduceOrder, purchase: Any
) -> None:
    assert (ordered.status, ordered.amount, ordered.price) == (S.ORDERED, Decimal("450.00"),
                                                              Decimal("4.50"))  # fmt: skip
    assert ordered.listing.remaining == 400
    assert services.budget_held(purchase) == (Decimal(450), Decimal(0))
    assert world.staff.id in _notified(db, "produce_ordered")
    services.hand_over(world.staff, ordered, "过秤100斤")
    assert world.donor.id in _notified(db, "produce_handed_over")
    services.receive(world.donor, ordered)
    assert world.staff.id in _notified(db, "produce_received")
    services.pay(world.donor, ordered, beijing_today(), "转账 001")
    assert world.staff.id in _notified(db, "produce_paid")
    assert services.budget_held(purchase) == (Decimal(0), Decimal(450))
    assert services.produce_income([world.household.id]) == {}  # not until confirmed
    services.confirm_payment(world.staff, ordered, beijing_today())
    assert world.donor.id in _notified(db, "produce_confirmed")
    db.session.commit()
    assert ordered.status == S.CONFIRMED
    month = f"{beijing_today():%Y-%m}"
    assert services.produce_income([world.household.id]) == {world.household.id: Decimal(450)}
    assert services.produce_income([world.household.id], month) == {
        world.household.id: Decimal(450)
    }
    assert services.produce_income([world.household.id], beijing_today()) == {
        world.household.id: Decimal(450)
    }
    assert services.produce_income([world.household.id], "1999-01") == {}
    assert services.budget_problems() == []
    assert _actions(db, ordered) == [
        "produce_order_ordered", "produce_order_handed_over", "produce_order_received",
        "produce_order_paid", "produce_order_confirmed",
    ]  # fmt: skip
    confirmed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "produce_order_confirmed")
    ).one()
    assert confirmed.after["income"] == {str(world.household.id): "450.00"}
    assert confirmed.region_path == world.village.path  # the village's auditors read it


def test_every_move_not_in_the_table_is_refused_and_changes_nothing(
    db: Any, world: World, ordered: ProduceOrder, purchase: Any
) -> None:
    """From each state reached, every status the table does not allow is refused with 409 by
    the one transition function, and the order, the budget and the listing stay as they were."""
    reached = []
    for step in range(5):
        db.session.refresh(ordered)
        reached.append(ordered.status)
        for to in S:
            if to in ORDER_MOVES[ordered.status]:
                continue
            before = (ordered.status, services.budget_held(purchase), ordered.listing.remaining)
            _refused(409, services.transition, ordered, to, world.admin)
            db.session.refresh(ordered)
            after = (ordered.status, services.budget_held(purchase), ordered.listing.remaining)
            assert after == before
        if step == 0:
            services.hand_over(world.staff, ordered)
        elif step == 1:
            services.receive(world.donor, ordered)
        elif step == 2:
            services.pay(world.donor, ordered, beijing_today(), "转账")
        elif step == 3:
            services.confirm_payment(world.staff, ordered, beijing_today())
    assert reached == [S.ORDERED, S.HANDED_OVER, S.RECEIVED, S.PAID, S.CONFIRMED]


def test_each_step_is_for_its_party_and_in_its_order(
    db: Any, world: World, ordered: ProduceOrder, make_user: Any, make_org: Any
) -> None:
    other_org = make_org()
    other_donor = make_user(Role.DONOR, org=other_org)
    # Out of order: 409, the state is wrong for the step.
    _refused(409, services.receive, world.donor, ordered)
    _refused(409, services.pay, world.donor, ordered, beijing_today(), "转账")
    _refused(409, services.confirm_payment, world.staff, ordered, beijing_today())
    # Not the party: 403.
    _refused(403, services.hand_over, world.donor, ordered)
    _refused(403, services.hand_over, world.other_staff, ordered)  # another village's staff
    _refused(403, services.cancel, other_donor, ordered, "不要了")
    services.hand_over(world.staff, ordered)
    _refused(409, services.hand_over, world.staff, ordered)  # twice
    _refused(403, services.receive, other_donor, ordered)
    _refused(403, services.receive, world.staff, ordered)
    _refused(409, services.cancel, world.donor, ordered, "不要了")  # handed over: dispute instead
    services.receive(world.donor, ordered)
    # The payment's date and reference are checked where they are typed.
    future = beijing_today() + timedelta(days=1)
    assert _refused(400, services.pay, world.donor, ordered, future, "转账").field == "paid_on"
    assert _refused(400, services.pay, world.donor, ordered, beijing_today(), " ").field == (
        "reference"
    )
    services.pay(world.donor, ordered, beijing_today(), "转账")
    _refused(403, services.confirm_payment, world.donor, ordered, beijing_today())
    assert _refused(400, services.confirm_payment, world.staff, ordered, future).field == (
        "received_on"
    )


def test_cancelling_gives_back_the_quantity_and_the_budget(
    db: Any, world: World, listing: ProduceListing, purchase: Any
) -> None:
    whole = services.place_order(world.donor, listing, purchase, 500)
    db.session.commit()
    assert listing.remaining == 0 and listing.status == ListingStatus.SOLD_OUT
    assert services.order_problem(listing, purchase) is not None  # nothing left
    _refused(409, services.place_order, world.donor, listing, purchase, 1)
    assert _refused(400, services.cancel, world.staff, whole, " ").field == "reason"
    services.cancel(world.staff, whole, "农户家中遭灾，无法供货")
    db.session.commit()
    assert whole.status == S.CANCELLED
    assert listing.remaining == 500 and listing.status == ListingStatus.VERIFIED  # on sale again
    assert services.budget_held(purchase) == (Decimal(0), Decimal(0))
    assert services.budget_left(purchase) == BUDGET
    assert world.donor.id in _notified(db, "produce_cancelled")
    assert services.budget_problems() == []


def test_an_order_within_what_is_left_of_the_listing_and_the_budget(
    db: Any, world: World, make_listing: Any, purchase: Any
) -> None:
    """10,000 yuan: 2,000 斤 of buckwheat at 4.50 is 9,000 yuan; then 300 斤 more (1,350) is
    over the 1,000 left, refused at the quantity; 222 斤 (999) fits."""
    big = make_listing(quantity=3000)
    services.place_order(world.donor, big, purchase, 2000)
    db.session.commit()
    assert services.budget_left(purchase) == Decimal(1000)
    over = _refused(400, services.place_order, world.donor, big, purchase, 300)
    assert over.field == "quantity" and "1350.00" in str(over.message)
    assert _refused(400, services.place_order, world.donor, big, purchase, 1001).field == (
        "quantity"
    )  # more than the 1,000 斤 left of the listing
    assert _refused(400, services.place_order, world.donor, big, purchase, 0).field == "quantity"
    services.place_order(world.donor, big, purchase, 222)
    db.session.commit()
    assert services.budget_left(purchase) == Decimal("1.00")
    # One unit (4.50) no longer fits: the ranking offers nothing and an order is refused.
    assert services.ranked_for(purchase) == []
    assert _refused(400, services.place_order, world.donor, big, purchase, 1).field == "resource"
    assert services.budget_problems() == []


def test_what_matches_to_needs_hold_is_not_free_for_orders(
    db: Any, world: World, listing: ProduceListing, purchase: Any
) -> None:
    """The budget left is remaining x value per unit, less the orders: a purchase resource
    whose matches hold 9,800 of its 10,000 yuan has 200 left for orders."""
    purchase.remaining = 200
    db.session.commit()
    assert services.budget_of(purchase) == BUDGET
    assert services.budget_left(purchase) == Decimal(200)
    assert _refused(400, services.place_order, world.donor, listing, purchase, 45).field == (
        "quantity"
    )  # 202.50
    services.place_order(world.donor, listing, purchase, 44)  # 198.00


def test_only_a_verified_buyer_with_its_own_active_purchase_resource_orders(
    db: Any, world: World, listing: ProduceListing, purchase: Any, make_org: Any, make_user: Any
) -> None:
    from marketplace.accounts.models import VerificationStatus

    stranger = make_user(Role.DONOR, org=make_org())
    _refused(403, services.place_order, stranger, listing, purchase, 1)
    _refused(403, services.place_order, world.staff, listing, purchase, 1)
    pending = make_user(Role.DONOR, org=make_org(status=VerificationStatus.PENDING))
    _refused(403, services.place_order, pending, listing, purchase, 1)
    assert _refused(400, services.place_order, world.donor, listing, world.resource, 1).field == (
        "resource"
    )  # a goods resource does not buy produce
    draft = services.create_listing(world.staff, world.village, world.household,
                                    **{**_listing_values(), "product": "未审核"})  # fmt: skip
    _refused(409, services.place_order, world.donor, draft, purchase, 1)


def _listing_values() -> dict[str, Any]:
    from tests.marketplace.produce.conftest import LISTING

    return dict(LISTING)


def test_a_disputed_handover_resolved_each_way(
    db: Any, world: World, make_listing: Any, purchase: Any
) -> None:
    listing = make_listing()
    orders = [services.place_order(world.donor, listing, purchase, 10) for _ in range(3)]
    for order in orders:
        services.hand_over(world.staff, order)
        _refused(403, services.dispute, world.staff, order, "买方没收到")  # the buyer's to say
        services.dispute(world.donor, order, "收到的荞麦发霉")
        assert (order.status, order.disputed_from) == (S.DISPUTED, S.HANDED_OVER)
    assert world.admin.id in _notified(db, "produce_disputed")
    _refused(403, services.resolve_dispute, world.staff, orders[0], "received", "核实")
    assert (
        _refused(400, services.resolve_dispute, world.admin, orders[0], "confirmed", "核实").field
        == "outcome"
    )  # not an outcome of a disputed handover
    assert _refused(400, services.resolve_dispute, world.admin, orders[0], "received",
                    " ").field == "reason"  # fmt: skip
    services.resolve_dispute(world.admin, orders[0], "received", "抽样检查，质量合格")
    services.resolve_dispute(world.admin, orders[1], "hand_over_again", "重新发货")
    services.resolve_dispute(world.admin, orders[2], "cancelled", "质量不合格，取消")
    db.session.commit()
    assert [o.status for o in orders] == [S.RECEIVED, S.ORDERED, S.CANCELLED]
    assert orders[1].handed_over_at is None and orders[0].disputed_from is None
    assert listing.remaining == 500 - 20
    assert services.budget_held(purchase) == (Decimal(90), Decimal(0))
    assert world.donor.id in _notified(db, "produce_resolved")
    assert services.budget_problems() == []


def test_a_disputed_payment_is_confirmed_or_paid_again(
    db: Any, world: World, make_listing: Any, purchase: Any
) -> None:
    listing = make_listing()
    first, second = (services.place_order(world.donor, listing, purchase, 10) for _ in range(2))
    for order in (first, second):
        _through_to_paid(world, order)
        _refused(403, services.dispute, world.donor, order, "没收到")  # the household's to say
        services.dispute(world.staff, order, "农户说没有收到货款")
    assert services.budget_held(purchase) == (Decimal(0), Decimal(90))  # still paid
    services.resolve_dispute(world.admin, first, "confirmed", "银行回单显示已到账")
    services.resolve_dispute(world.admin, second, "pay_again", "转账被退回")
    db.session.commit()
    assert first.status == S.CONFIRMED and second.status == S.RECEIVED
    assert second.paid_at is None and second.payment_reference == ""
    assert services.budget_held(purchase) == (Decimal(45), Decimal(45))
    assert services.produce_income([world.household.id]) == {world.household.id: Decimal(45)}
    services.pay(world.donor, second, beijing_today(), "重新转账")
    services.confirm_payment(world.staff, second, beijing_today())
    db.session.commit()
    assert services.produce_income([world.household.id]) == {world.household.id: Decimal(90)}
    assert services.budget_problems() == []


def test_a_cooperatives_sale_is_shared_among_its_households_to_the_fen(
    db: Any, world: World, make_listing: Any, make_household: Any, purchase: Any
) -> None:
    """100.00 yuan over three households: 33.34, 33.33, 33.33 (the odd fen to the first)."""
    members = [world.household, make_household(world.village), make_household(world.village)]
    coop = make_listing(members=members, price=Decimal("10.00"))
    assert coop.is_cooperative and coop.households == sorted(members, key=lambda h: h.id)
    order = services.place_order(world.donor, coop, purchase, 10)
    _through_to_paid(world, order)
    services.confirm_payment(world.staff, order, beijing_today())
    db.session.commit()
    income = services.produce_income([m.id for m in members])
    ids = sorted(m.id for m in members)
    assert [income[i] for i in ids] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(income.values()) == order.amount
    assert services.shares(Decimal("0.02"), 3) == [Decimal("0.01"), Decimal("0.01"), Decimal(0)]
    assert services.budget_problems() == []


def test_the_reconciliation_finds_a_budget_that_drifted_from_the_orders(
    db: Any, world: World, ordered: ProduceOrder, purchase: Any
) -> None:
    """budget spent = sum of the paid orders: the check compares the stored totals with the
    orders themselves, so a total changed by anything but the transition is found."""
    from marketplace.produce.models import ProduceBudget

    _through_to_paid(world, ordered)
    db.session.commit()
    paid = db.session.scalar(
        sa.select(sa.func.sum(ProduceOrder.amount)).where(ProduceOrder.status == S.PAID)
    )
    budget = db.session.get(ProduceBudget, purchase.id)
    assert budget.spent == paid == Decimal(450) and budget.committed == 0
    assert services.budget_problems() == []
    budget.spent = Decimal(400)
    db.session.commit()
    assert services.budget_problems() == [f"resource {purchase.id}: spent 400.00 != orders 450.00"]
    budget.spent = Decimal(450)
    services.confirm_payment(world.staff, ordered, beijing_today())
    db.session.commit()
    assert services.budget_problems() == []
    # The income shares of a confirmed order add up to its amount: a share changed is found.
    share = db.session.scalars(sa.select(ProduceIncome)).one()
    share.amount = Decimal(1)
    db.session.commit()
    assert services.budget_problems() == [f"order {ordered.id}: income 1.00 != amount 450.00"]


def test_withdrawing_a_listing_stops_new_orders_not_those_under_way(
    db: Any, world: World, ordered: ProduceOrder, purchase: Any
) -> None:
    listing = ordered.listing
    services.withdraw_listing(world.staff, listing, "农户自留")
    db.session.commit()
    _refused(409, services.place_order, world.donor, listing, purchase, 1)
    services.hand_over(world.staff, ordered)  # the order goes on
    assert services.get_listing(world.donor, listing.id) == listing  # its buyer still reads it
