"""The produce pages, with their forms posted as the pages render them (tests/pages.py): the
listing form (errors at the field, input kept, number keyboards), verification, the buyer's
ranked list, ordering, each step of the order page, the lists, and masking."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.produce import services
from marketplace.produce.models import ListingStatus, OrderStatus, ProduceListing, ProduceOrder
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.pages import find_form, forms_of, submit, submit_on

TYPED = {
    "product": "靖远旱砂西瓜",
    "quantity": "2000",
    "unit": "斤",
    "price": "1.20",
    "available_from": "2026-07-01",
    "quality_notes": "旱砂地种植，甜度高。",
}


def _listing(db: Any, product: str) -> ProduceListing:
    return db.session.scalars(
        sa.select(ProduceListing).where(ProduceListing.product == product)
    ).one()


def test_staff_list_a_households_produce_with_the_form_as_rendered(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    page = client.get("/produce/listings/new").data.decode()
    # A phone's number keyboards; the seller chosen on the page.
    assert 'inputmode="numeric"' in page and 'inputmode="decimal"' in page
    form = find_form(page, page="/produce/listings/new")
    assert {"village", "household", "cooperative_name", "members", "photos"} <= form.names
    answer = submit(client, "/produce/listings/new",
                    {**TYPED, "household": str(world.household.id)})  # fmt: skip
    assert answer.status_code == 302, answer.data.decode()[:2000]
    listing = _listing(db, "靖远旱砂西瓜")
    assert listing.status == ListingStatus.DRAFT and listing.household_id == world.household.id
    assert (listing.quantity, listing.remaining, listing.price) == (2000, 2000, Decimal("1.20"))
    shown = client.get(answer.location).data.decode()
    assert world.household.head_name in shown  # the village's staff see who it is (audited)
    # Submitted from its page, as the button posts.
    assert submit_on(client, shown, action=f"/produce/listings/{listing.id}/submit",
                     page=answer.location).status_code == 302  # fmt: skip
    db.session.refresh(listing)
    assert listing.status == ListingStatus.SUBMITTED


def test_bad_input_is_refused_at_its_field_and_kept(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    answer = submit(client, "/produce/listings/new",
                    {**TYPED, "price": "一块二", "product": "保留的西瓜"})  # fmt: skip
    assert answer.status_code == 400
    page = answer.data.decode()
    price = page.split('name="price"', 1)[1].split("</div>", 2)
    assert "invalid-feedback" in "".join(price) and "保留的西瓜" in page and "一块二" in page
    # Prices in fen at most; a price of zero is refused.
    for price_typed in ("1.205", "0"):
        refused = submit(client, "/produce/listings/new", {**TYPED, "price": price_typed})
        assert refused.status_code == 400, price_typed
    # A cooperative needs a name and its households; a household no cooperative name.
    no_members = submit(client, "/produce/listings/new",
                        {**TYPED, "household": "0", "cooperative_name": "种植合作社"})  # fmt: skip
    assert no_members.status_code == 400
    assert "请选择合作社带动的建档立卡户" in no_members.data.decode()
    both = submit(client, "/produce/listings/new",
                  {**TYPED, "household": str(world.household.id),
                   "cooperative_name": "种植合作社"})  # fmt: skip
    assert both.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(ProduceListing.id))) == 0


def test_a_cooperative_listed_for_its_households(
    client: Any, db: Any, login: Any, world: World, make_household: Any
) -> None:
    other = make_household(world.village, head_name="王五")
    login(world.staff)
    answer = submit(client, "/produce/listings/new", {
        **TYPED, "household": "0", "cooperative_name": "三滩村西瓜合作社",
        "members": [str(world.household.id), str(other.id)],
    })  # fmt: skip
    assert answer.status_code == 302, answer.data.decode()[:3000]
    listing = _listing(db, "靖远旱砂西瓜")
    assert listing.is_cooperative and {h.id for h in listing.members} == {world.household.id,
                                                                          other.id}  # fmt: skip


def test_an_administrator_verifies_a_donor_orders_and_the_order_goes_through_its_page(
    app: Any, db: Any, world: World, make_listing: Any, purchase: Any, client_of: Any
) -> None:
    listing = make_listing(verify=False)
    services.submit_listing(world.staff, listing)
    db.session.commit()
    admin, donor, staff = client_of(world.admin), client_of(world.donor), client_of(world.staff)
    path = f"/produce/listings/{listing.id}"
    # Not on sale yet: the donor may not even open it.
    assert donor.get(path).status_code == 404
    page = admin.get(path).data.decode()
    assert "审核通过" in page and world.household.head_name in page  # the region's administrator
    assert submit_on(admin, page, action=f"{path}/verify", page=path).status_code == 302
    db.session.refresh(listing)
    assert listing.status == ListingStatus.VERIFIED
    # The donor: the village and the product, never the household; the order form.
    page = donor.get(path).data.decode()
    assert world.household.head_name not in page and world.household.head_id_number not in page
    assert world.village.full_name in page
    over = submit_on(donor, page, {"quantity": "501"}, action=f"{path}/order", page=path)
    assert over.status_code == 400 and 'value="501"' in over.data.decode()
    assert "invalid-feedback" in over.data.decode()
    ordered = submit_on(donor, page, {"quantity": "100"}, action=f"{path}/order", page=path)
    assert ordered.status_code == 302
    order = db.session.scalars(sa.select(ProduceOrder)).one()
    assert order.amount == Decimal("450.00") and order.resource_id == purchase.id
    order_path = f"/produce/orders/{order.id}"
    # Each party sees the button of its step only, and posts it as rendered.
    steps = [
        (staff, f"{order_path}/hand_over", {"note": "过秤100斤"}, OrderStatus.HANDED_OVER),
        (donor, f"{order_path}/receive", {}, OrderStatus.RECEIVED),
        (donor, f"{order_path}/pay", {"reference": "网银转账 0001"}, OrderStatus.PAID),
        (staff, f"{order_path}/confirm_payment", {}, OrderStatus.CONFIRMED),
    ]
    for who, action, typed, reached in steps:
        html = who.get(order_path).data.decode()
        others = [c for c in (staff, donor) if c is not who]
        for other in others:
            assert action not in other.get(order_path).data.decode()
        answer = submit_on(who, html, typed, action=action, page=order_path)
        assert answer.status_code == 302, (action, answer.data.decode()[:2000])
        db.session.refresh(order)
        assert order.status == reached
    assert order.paid_on == beijing_today() and order.payment_received_on == beijing_today()
    final = staff.get(order_path).data.decode()
    assert "450.00" in final and world.household.head_name in final  # the income, named
    history = [a for a in final.split('data-action="')[1:]]
    assert [h.split('"', 1)[0] for h in history] == [
        "produce_order_ordered", "produce_order_handed_over", "produce_order_received",
        "produce_order_paid", "produce_order_confirmed",
    ]  # fmt: skip
    assert world.household.head_name not in donor.get(order_path).data.decode()
    assert services.produce_income([world.household.id]) == {world.household.id: Decimal(450)}


def test_a_step_raced_by_another_party_answers_409(
    db: Any, world: World, ordered: ProduceOrder, client_of: Any
) -> None:
    """The staff's page still shows the handover; the buyer cancels meanwhile: posting the
    stale form answers 409 with the page and its message."""
    staff, donor = client_of(world.staff), client_of(world.donor)
    path = f"/produce/orders/{ordered.id}"
    stale = staff.get(path).data.decode()
    cancelled = submit(donor, path, {"reason": "计划有变"}, action=f"{path}/cancel")
    assert cancelled.status_code == 302
    answer = submit_on(staff, stale, {"note": "已过秤"}, action=f"{path}/hand_over", page=path)
    assert answer.status_code == 409
    assert "其他人刚刚处理了这个订单，请刷新页面。" in answer.data.decode()
    db.session.refresh(ordered)
    assert ordered.status == OrderStatus.CANCELLED and ordered.handed_over_at is None


def test_the_buyers_market_ranks_what_it_may_order(
    db: Any, world: World, make_listing: Any, purchase: Any, client_of: Any, villages: Any
) -> None:
    first = make_listing(product="荞麦")
    second = make_listing(product="胡麻油", unit="斤", price=Decimal("30"))
    make_listing(product="草稿", verify=False)
    donor = client_of(world.donor)
    page = donor.get("/produce/market").data.decode()
    assert purchase.title in page and "10,000.00" in page
    assert f"/produce/listings/{first.id}?resource={purchase.id}" in page
    assert f"/produce/listings/{second.id}?resource={purchase.id}" in page
    assert "草稿" not in page and world.household.head_name not in page
    assert "分" in page  # the points, and why
    assert donor.get("/produce/market?resource=999999").status_code == 404


def test_the_lists_are_paginated_and_scoped(
    app: Any, db: Any, world: World, make_listing: Any, client_of: Any
) -> None:
    for n in range(3):
        make_listing(product=f"土豆{n}")
    staff, other = client_of(world.staff), client_of(world.other_staff)
    saved = app.config["PAGE_SIZE"]
    app.config["PAGE_SIZE"] = 2
    try:
        first = staff.get("/produce/").data.decode()
        second = staff.get("/produce/?page=2").data.decode()
    finally:
        app.config["PAGE_SIZE"] = saved
    assert first.count("/produce/listings/") - first.count("/produce/listings/new") == 2
    assert "土豆0" in second and 'rel="next"' in first
    assert "土豆" not in other.get("/produce/").data.decode()  # another county's staff
    assert client_of(world.donor).get("/produce/").status_code == 403
    assert staff.get("/produce/orders").status_code == 200


def test_every_form_of_the_listing_page_posts_without_a_server_error(
    db: Any, world: World, listing: ProduceListing, purchase: Any, client_of: Any
) -> None:
    for user in (world.staff, world.admin, world.donor, world.auditor):
        client = client_of(user)
        path = f"/produce/listings/{listing.id}"
        for form in forms_of(client.get(path).data.decode()):
            if form.method == "post" and "/logout" not in form.action:
                assert client.post(form.target(path), data=form.data()).status_code < 500


def test_the_administrators_queue_holds_listings_to_verify_and_disputed_orders(
    db: Any, world: World, make_listing: Any, ordered: ProduceOrder, client_of: Any
) -> None:
    waiting = make_listing(verify=False, product="待审核的胡麻油")
    services.submit_listing(world.staff, waiting)
    services.hand_over(world.staff, ordered)
    services.dispute(world.donor, ordered, "收到的荞麦受潮")
    db.session.commit()
    page = client_of(world.admin).get("/produce/review").data.decode()
    assert f"/produce/listings/{waiting.id}" in page and f"/produce/orders/{ordered.id}" in page
    assert "收到的荞麦受潮" in page
    elsewhere = client_of(world.huining_admin).get("/produce/review").data.decode()
    assert "待审核的胡麻油" not in elsewhere and "收到的荞麦受潮" not in elsewhere


def test_each_party_reads_its_notice_in_chinese(
    db: Any, world: World, ordered: ProduceOrder, client_of: Any
) -> None:
    services.hand_over(world.staff, ordered)
    db.session.commit()
    staff = client_of(world.staff).get("/notifications/").data.decode()
    assert f"新的农产品订单，请安排交货：{ordered.listing.product}" in staff
    donor = client_of(world.donor).get("/notifications/").data.decode()
    assert f"农产品已交货，请确认收货：{ordered.listing.product}" in donor
