"""The produce API: open listings for anyone with the village and the product only (never a
household's name or ID number, whoever asks), orders for their buyer, ordered and moved with the
same services and refusals as the pages."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from marketplace.accounts.models import TokenScope
from marketplace.accounts.services import create_token
from marketplace.produce import services
from marketplace.produce.models import OrderStatus, ProduceListing, ProduceOrder
from marketplace.roles import Role
from marketplace.timefmt import beijing_today
from tests.conftest import World

LISTING_KEYS = {
    "id", "product", "category", "village", "village_code", "cooperative", "quantity",
    "remaining", "unit", "price", "available_from", "quality_notes", "status",
}  # fmt: skip
ORDER_KEYS = {
    "id", "listing_id", "product", "village", "resource_id", "organization", "quantity", "unit",
    "price", "amount", "status", "paid_on", "payment_reference", "payment_received_on",
    "dispute_reason", "decision_reason", "cancel_reason", "score",
}  # fmt: skip


@pytest.fixture
def token_for(db: Any) -> Any:
    def make(user: Any, scope: TokenScope = TokenScope.WRITE) -> dict[str, str]:
        _token, plain = create_token(user, "采购系统", scope=scope)
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


def _order(client: Any, listing_id: int, resource_id: int, quantity: int, headers: Any) -> Any:
    body = {"resource_id": resource_id, "quantity": quantity}
    return client.post(f"/api/v1/produce/{listing_id}/order", json=body, headers=headers)


def _personal(world: World) -> list[str]:
    h = world.household
    return [h.head_name, h.head_id_number, h.phone, h.register_number, h.head_name[1:]]


@pytest.mark.parametrize("caller", ["anonymous", "donor", "staff", "admin", "auditor"])
def test_open_listings_name_the_village_and_the_product_only(
    client: Any, db: Any, world: World, make_listing: Any, make_household: Any, token_for: Any,
    caller: str,
) -> None:  # fmt: skip
    household_listing = make_listing()
    members = [world.household, make_household(world.village, head_name="李四光")]
    coop = make_listing(members=members, product="靖远羊羔肉", unit="公斤", price=Decimal("68"))
    make_listing(verify=False, product="未审核的土豆")  # a draft: not on sale
    headers = {} if caller == "anonymous" else token_for(getattr(world, caller))
    answer = client.get("/api/v1/produce", headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    assert [item["id"] for item in body] == [household_listing.id, coop.id]
    assert all(set(item) == LISTING_KEYS for item in body)
    first, second = body
    assert first["village"] == world.village.full_name and first["cooperative"] is None
    assert (first["price"], first["remaining"], first["status"]) == ("4.50", 500, "verified")
    assert second["cooperative"] == "三滩村种植合作社" and second["price"] == "68.00"
    text = json.dumps(body, ensure_ascii=False)
    for secret in [*_personal(world), "李四光"]:
        assert secret not in text
    one = client.get(f"/api/v1/produce/{coop.id}", headers=headers).get_json()
    assert set(one) == LISTING_KEYS and "李四光" not in json.dumps(one, ensure_ascii=False)
    only = client.get("/api/v1/produce?category=consumption.ecommerce", headers=headers)
    assert only.get_json() == []
    assert client.get("/api/v1/produce?category=necessities.washer").status_code == 400


def test_a_listing_not_on_sale_is_read_only_by_its_region(
    client: Any, db: Any, world: World, make_listing: Any, token_for: Any
) -> None:
    draft = make_listing(verify=False)
    assert client.get(f"/api/v1/produce/{draft.id}").status_code == 404
    assert client.get(f"/api/v1/produce/{draft.id}",
                      headers=token_for(world.donor)).status_code == 404  # fmt: skip
    staff = client.get(f"/api/v1/produce/{draft.id}", headers=token_for(world.staff))
    assert staff.status_code == 200 and staff.get_json()["status"] == "draft"
    assert client.get(f"/api/v1/produce/{draft.id}",
                      headers=token_for(world.other_staff)).status_code == 404  # fmt: skip


def test_a_buyer_orders_receives_and_pays_through_the_api(
    client: Any, db: Any, world: World, listing: ProduceListing, purchase: Any, token_for: Any,
    make_user: Any, make_org: Any,
) -> None:  # fmt: skip
    donor = token_for(world.donor)
    placed = _order(client, listing.id, purchase.id, 100, donor)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert set(order) == ORDER_KEYS
    assert (order["amount"], order["price"], order["status"]) == ("450.00", "4.50", "ordered")
    assert order["product"] == listing.product and order["organization"] == world.org.name
    for secret in _personal(world):
        assert secret not in json.dumps(order, ensure_ascii=False)
    over = _order(client, listing.id, purchase.id, 400, donor)
    assert over.status_code == 201  # 400 斤, 1,800 yuan: within the 9,550 left
    too_much = _order(client, listing.id, purchase.id, 1, donor)
    assert too_much.status_code == 409  # nothing left of the listing
    bad = _order(client, listing.id, purchase.id, 0, donor)
    assert bad.status_code == 400
    # The orders are the buyer's: listed for it, not for another organization's donor.
    listed = client.get("/api/v1/produce/orders", headers=donor).get_json()
    assert [o["id"] for o in listed] == [order["id"], over.get_json()["id"]]
    stranger = token_for(make_user(Role.DONOR, org=make_org()))
    assert client.get("/api/v1/produce/orders", headers=stranger).get_json() == []
    assert client.get(f"/api/v1/produce/orders/{order['id']}", headers=stranger).status_code == 404
    # Steps out of order are refused; the staff hand over (on the page), then it goes on.
    path = f"/api/v1/produce/orders/{order['id']}"
    assert client.post(f"{path}/receive", headers=donor).status_code == 409
    services.hand_over(world.staff, db.session.get(ProduceOrder, order["id"]), "已过秤")
    db.session.commit()
    refused = client.post(f"{path}/cancel", json={"reason": "不要了"}, headers=donor)
    assert refused.status_code == 409
    received = client.post(f"{path}/receive", headers=donor)
    assert received.status_code == 200 and received.get_json()["status"] == "received"
    assert client.post(f"{path}/receive", headers=donor).status_code == 409  # twice
    today = beijing_today().isoformat()
    assert client.post(f"{path}/pay", json={"paid_on": today, "reference": " "},
                       headers=donor).status_code == 400  # fmt: skip
    paid = client.post(f"{path}/pay", json={"paid_on": today, "reference": "网银 0001"},
                       headers=donor)  # fmt: skip
    assert paid.status_code == 200
    assert paid.get_json()["status"] == "paid" and paid.get_json()["paid_on"] == today
    assert client.get(path, headers=donor).get_json()["payment_reference"] == "网银 0001"
    assert client.get(path, headers=token_for(world.staff)).status_code == 200
    assert services.budget_problems() == []


def test_the_buyers_refusals(
    client: Any, db: Any, world: World, ordered: ProduceOrder, purchase: Any, token_for: Any
) -> None:
    path = f"/api/v1/produce/orders/{ordered.id}"
    reader = token_for(world.donor, TokenScope.READ)
    assert client.post(f"{path}/cancel", json={"reason": "x"}, headers=reader).status_code == 403
    auditor = token_for(world.auditor)
    assert client.post(f"{path}/cancel", json={"reason": "x"}, headers=auditor).status_code == 403
    assert client.post(f"{path}/receive").status_code == 401
    donor = token_for(world.donor)
    assert (
        client.post(f"{path}/dispute", json={"reason": "坏了"}, headers=donor).status_code == 409
    )  # fmt: skip  (nothing handed over)
    cancelled = client.post(f"{path}/cancel", json={"reason": "计划有变"}, headers=donor)
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == OrderStatus.CANCELLED.value
    assert cancelled.get_json()["cancel_reason"] == "计划有变"
    goods = _order(client, ordered.listing_id, world.resource.id, 1, donor)
    assert goods.status_code == 409  # a goods resource does not buy produce
    assert client.post("/api/v1/produce/999999/order", json={"resource_id": purchase.id,
                       "quantity": 1}, headers=donor).status_code == 404  # fmt: skip


def test_the_households_staff_take_their_steps_through_the_api(
    client: Any, db: Any, world: World, ordered: ProduceOrder, purchase: Any, token_for: Any,
    make_user: Any,
) -> None:  # fmt: skip
    """Hand over and confirm the payment received, as on the pages: the same services and
    policy (403 for a role not the staff's, 404 out of their villages, 409 out of order)."""
    path = f"/api/v1/produce/orders/{ordered.id}"
    staff, donor = token_for(world.staff), token_for(world.donor)
    today = beijing_today().isoformat()
    for who in (world.donor, world.admin, world.auditor):
        headers = token_for(who)
        assert client.post(f"{path}/hand_over", json={}, headers=headers).status_code == 403
        assert client.post(f"{path}/confirm_payment", json={"received_on": today},
                           headers=headers).status_code == 403  # fmt: skip
    elsewhere = token_for(make_user(Role.STAFF, [world.other_village], username="staff2"))
    assert client.post(f"{path}/hand_over", json={}, headers=elsewhere).status_code == 404
    assert client.post(f"{path}/hand_over", json={}, headers=token_for(world.staff,
                       TokenScope.READ)).status_code == 403  # fmt: skip
    early = client.post(f"{path}/confirm_payment", json={"received_on": today}, headers=staff)
    assert early.status_code == 409 and early.get_json()["message"]  # nothing paid yet
    handed = client.post(f"{path}/hand_over", json={"note": "过秤100斤"}, headers=staff)
    assert handed.status_code == 200 and handed.get_json()["status"] == "handed_over"
    assert client.post(f"{path}/hand_over", json={}, headers=staff).status_code == 409  # twice
    assert client.post(f"{path}/receive", headers=donor).status_code == 200
    assert client.post(f"{path}/pay", json={"paid_on": today, "reference": "网银 0002"},
                       headers=donor).status_code == 200  # fmt: skip
    # the day is required
    assert client.post(f"{path}/confirm_payment", json={}, headers=staff).status_code == 400
    tomorrow = (beijing_today() + timedelta(days=1)).isoformat()
    future = client.post(f"{path}/confirm_payment", json={"received_on": tomorrow},
                         headers=staff)  # fmt: skip
    assert future.status_code == 409 and "今天" in future.get_json()["message"]  # the rule's
    confirmed = client.post(f"{path}/confirm_payment", json={"received_on": today},
                            headers=staff)  # fmt: skip
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    assert body["status"] == "confirmed" and body["payment_received_on"] == today
    for secret in _personal(world):
        assert secret not in json.dumps(body, ensure_ascii=False)
    db.session.expire_all()
    assert services.produce_income([world.household.id]) == {world.household.id: Decimal(450)}
    assert client.post(f"{path}/confirm_payment", json={"received_on": today},
                       headers=staff).status_code == 409  # fmt: skip
    assert services.budget_problems() == []


def test_a_disputed_payment_through_the_api(
    client: Any, db: Any, world: World, ordered: ProduceOrder, token_for: Any
) -> None:
    """The staff dispute a payment the household did not receive; the region's administrators
    resolve it; the buyer cannot dispute a payment, nor the staff cancel after the handover."""
    path = f"/api/v1/produce/orders/{ordered.id}"
    staff, donor, admin = token_for(world.staff), token_for(world.donor), token_for(world.admin)
    today = beijing_today().isoformat()
    services.hand_over(world.staff, ordered, "过秤")
    services.receive(world.donor, ordered)
    db.session.commit()
    assert client.post(f"{path}/cancel", json={"reason": "算了"}, headers=staff).status_code == 409
    client.post(f"{path}/pay", json={"paid_on": today, "reference": "网银 0003"}, headers=donor)
    # the payment is the staff's to dispute, not the buyer's
    assert client.post(f"{path}/dispute", json={"reason": "没到账"},
                       headers=donor).status_code == 403  # fmt: skip
    disputed = client.post(f"{path}/dispute", json={"reason": "农户说没有到账"}, headers=staff)
    assert disputed.status_code == 200 and disputed.get_json()["status"] == "disputed"
    resolve = {"outcome": "pay_again", "reason": "银行退回，重新转账"}
    assert client.post(f"{path}/resolve", json=resolve, headers=staff).status_code == 403
    # an outcome of a disputed handover, not of a payment
    assert client.post(f"{path}/resolve", json={**resolve, "outcome": "received"},
                       headers=admin).status_code == 409  # fmt: skip
    assert client.post(f"{path}/resolve", json={**resolve, "outcome": "nonsense"},
                       headers=admin).status_code == 400  # fmt: skip
    decided = client.post(f"{path}/resolve", json=resolve, headers=admin)
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "received" and decided.get_json()["paid_on"] is None
    assert client.post(f"{path}/resolve", json=resolve, headers=admin).status_code == 409
    assert services.budget_problems() == []
