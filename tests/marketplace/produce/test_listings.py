"""Listings: entered by the village's staff as drafts, submitted, verified or returned by the
region's administrators (never by whoever entered them), edited only as drafts or returned,
withdrawn; read by the public only while on sale; photos kept as attachments."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.attachments.models import Attachment
from marketplace.errors import ServiceError
from marketplace.notifications.models import Notification
from marketplace.produce import policy, services
from marketplace.produce.models import PHOTO_OWNER, ListingStatus, ProduceListing
from marketplace.roles import Role
from tests.conftest import World
from tests.marketplace.produce.conftest import LISTING

L = ListingStatus
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _refused(status: int, action: Any, *args: Any, **kwargs: Any) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        action(*args, **kwargs)
    assert refused.value.status == status, refused.value.message
    return refused.value


def test_a_listing_is_verified_by_an_administrator_of_its_region(
    db: Any, world: World, make_listing: Any, make_user: Any
) -> None:
    listing = make_listing(verify=False)
    assert listing.status == L.DRAFT and not policy.is_open(listing)
    # Not submitted yet: nothing to verify.
    _refused(409, services.verify_listing, world.admin, listing)
    services.submit_listing(world.staff, listing)
    assert world.admin.id in set(db.session.scalars(sa.select(Notification.user_id).where(
        Notification.kind == "produce_listing_submitted")))  # fmt: skip
    _refused(409, services.submit_listing, world.staff, listing)  # twice
    _refused(403, services.verify_listing, world.huining_admin, listing)  # another county
    _refused(403, services.verify_listing, world.staff, listing)
    _refused(403, services.verify_listing, world.auditor, listing)
    services.verify_listing(world.admin, listing)
    db.session.commit()
    assert listing.status == L.VERIFIED and listing.verified_by_id == world.admin.id
    assert policy.is_open(listing)
    assert services.get_listing(None, listing.id) == listing  # on sale: public


def test_whoever_entered_a_listing_does_not_verify_it(
    db: Any, world: World, make_user: Any
) -> None:
    root = make_user(Role.SUPERUSER, [world.village])
    listing = services.create_listing(root, world.village, world.household, **LISTING)
    services.submit_listing(root, listing)
    _refused(403, services.verify_listing, root, listing)
    assert not policy.listing_actions(root, listing)["verify"]
    services.verify_listing(world.admin, listing)


def test_a_returned_listing_is_corrected_and_submitted_again(
    db: Any, world: World, make_listing: Any
) -> None:
    listing = make_listing(verify=False)
    services.submit_listing(world.staff, listing)
    _refused(
        409,
        services.update_listing,
        world.staff,
        listing,
        world.household,
        **{**LISTING, "price": Decimal("5")},
    )  # fmt: skip  (being verified)
    assert _refused(400, services.return_listing, world.admin, listing, " ").field == "reason"
    services.return_listing(world.admin, listing, "价格偏高，请与农户核实")
    db.session.commit()
    assert listing.status == L.RETURNED and listing.status_reason == "价格偏高，请与农户核实"
    assert policy.can_edit_listing(world.staff, listing)
    assert not policy.can_edit_listing(world.other_staff, listing)
    services.update_listing(world.staff, listing, world.household,
                            **{**LISTING, "price": Decimal("3.80"), "quantity": 300})  # fmt: skip
    services.submit_listing(world.staff, listing)
    services.verify_listing(world.admin, listing)
    db.session.commit()
    assert (listing.price, listing.quantity, listing.remaining) == (Decimal("3.80"), 300, 300)
    assert listing.status_reason == ""
    _refused(409, services.update_listing, world.staff, listing, world.household, **LISTING)


def test_a_listing_not_on_sale_is_read_by_its_region_only(
    db: Any, world: World, make_listing: Any
) -> None:
    draft = make_listing(verify=False)
    for reader in (world.staff, world.admin, world.auditor):
        assert services.get_listing(reader, draft.id) == draft
    for outsider in (None, world.donor, world.other_staff, world.huining_admin):
        _refused(404, services.get_listing, outsider, draft.id)
    services.submit_listing(world.staff, draft)
    services.verify_listing(world.admin, draft)
    services.withdraw_listing(world.staff, draft, "农户自留")
    db.session.commit()
    assert draft.status == L.WITHDRAWN
    _refused(404, services.get_listing, world.donor, draft.id)
    _refused(409, services.withdraw_listing, world.staff, draft)


def test_the_rules_of_a_listings_values(db: Any, world: World, make_household: Any) -> None:
    def refused_field(**values: Any) -> str | None:
        return _refused(400, services.create_listing, world.staff, world.village,
                        world.household, **{**LISTING, **values}).field  # fmt: skip

    assert refused_field(price=Decimal(0)) == "price"
    assert refused_field(price=Decimal("1.005")) == "price"
    assert refused_field(quantity=0) == "quantity"
    assert refused_field(category="necessities.washer") == "category"
    assert refused_field(product=" ") == "product"
    assert refused_field(available_from=None) == "available_from"
    elsewhere = make_household(world.huining_village)
    assert _refused(400, services.create_listing, world.staff, world.village, elsewhere,
                    **LISTING).field == "household"  # fmt: skip
    assert _refused(400, services.create_listing, world.staff, world.village, None,
                    cooperative_name="合作社", **LISTING).field == "members"  # fmt: skip
    assert _refused(400, services.create_listing, world.staff, world.village, None,
                    cooperative_name="合作社", members=[elsewhere],
                    **LISTING).field == "members"  # fmt: skip
    _refused(403, services.create_listing, world.other_staff, world.village, world.household,
             **LISTING)  # fmt: skip
    _refused(403, services.create_listing, world.admin, world.village, world.household, **LISTING)
    assert db.session.scalar(sa.select(sa.func.count(ProduceListing.id))) == 0


def test_photos_are_kept_as_attachments_and_shown_to_whoever_reads_the_listing(
    db: Any, client: Any, login: Any, world: World, make_listing: Any
) -> None:
    login(world.staff)
    page = client.get("/produce/listings/new")
    assert page.status_code == 200
    answer = client.post("/produce/listings/new", data={
        "village": str(world.village.id), "household": str(world.household.id),
        "cooperative_name": "", "product": "带照片的荞麦", "category": "consumption.produce",
        "quantity": "10", "unit": "斤", "price": "4.50", "available_from": "2026-01-01",
        "quality_notes": "", "photos": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(PNG), "b.png")],
    }, content_type="multipart/form-data")  # fmt: skip
    assert answer.status_code == 302, answer.data.decode()[:1000]
    listing = db.session.scalars(sa.select(ProduceListing)).one()
    photos = db.session.scalars(sa.select(Attachment).where(
        Attachment.owner_type == PHOTO_OWNER, Attachment.owner_id == listing.id)).all()  # fmt: skip
    assert len(photos) == 2
    with client.get(f"/produce/photos/{photos[0].id}") as shown:
        assert shown.data == PNG
    client.post("/logout")
    assert client.get(f"/produce/photos/{photos[0].id}").status_code == 404  # a draft
    services.submit_listing(world.staff, listing)
    services.verify_listing(world.admin, listing)
    db.session.commit()
    with client.get(f"/produce/photos/{photos[0].id}") as shown:
        assert shown.status_code == 200  # on sale
    # Not an image: refused at the photo field, nothing kept.
    login(world.staff)
    refused = client.post("/produce/listings/new", data={
        "village": str(world.village.id), "household": str(world.household.id),
        "product": "坏照片", "category": "consumption.produce", "quantity": "10", "unit": "斤",
        "price": "4.50", "available_from": "2026-01-01",
        "photos": [(io.BytesIO(b"not an image"), "x.png")],
    }, content_type="multipart/form-data")  # fmt: skip
    assert refused.status_code == 400 and "坏照片" in refused.data.decode()
    assert db.session.scalar(sa.select(sa.func.count(ProduceListing.id))) == 1
