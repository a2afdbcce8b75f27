"""Produce on sale is searchable (type "listing"): by its product, category, village and
cooperative, through the outbox as listings are verified, sold out and withdrawn; the result is a
listing (its page), and nothing of the households selling is in the index."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.produce import services as produce
from marketplace.produce.models import ProduceListing
from marketplace.search import services
from marketplace.search.backend import SearchQuery
from marketplace.search.documents import listing_document
from tests.conftest import World
from tests.marketplace.search.test_results_page import cards


def _found(text: str, type: str = "listing") -> list[int]:
    return [h.id for h in services.search(SearchQuery(text=text, type=type)).hits]


def _personal(world: World, *households: Any) -> list[str]:
    found = []
    for h in (world.household, *households):
        found += [h.head_name, h.head_id_number, h.phone, h.register_number]
    return found


def test_a_listing_on_sale_is_found_and_follows_its_status(
    db: Any, world: World, make_listing: Any, purchase: Any
) -> None:
    services.rebuild()
    listing = make_listing(quantity=10)  # verified through the services: on sale
    draft = make_listing(verify=False, product="靖远枸杞")
    services.sync()
    assert _found("荞麦") == [listing.id]  # the product
    assert _found("qiaomai") == [listing.id]  # its pinyin
    assert listing.id in _found(world.village.name)  # the village
    assert listing.id in _found("农产品")  # the category's words
    assert _found("枸杞") == []  # a draft is not on sale
    assert _found("荞麦", type="need") == [] and _found("荞麦", type="resource") == []
    facets = services.search(SearchQuery(text="荞麦", type="listing")).facets
    assert facets["category"].get("consumption") == 1
    # Sold out: off the index; a cancelled order puts it on sale, and back in the index.
    order = produce.place_order(world.donor, listing, purchase, 10)
    db.session.commit()
    services.sync()
    assert _found("荞麦") == []
    produce.cancel(world.donor, order, "计划有变")
    db.session.commit()
    services.sync()
    assert _found("荞麦") == [listing.id]
    # Its page's edit after verification does not exist; a withdrawal takes it off.
    produce.withdraw_listing(world.staff, listing, "已自行销售")
    db.session.commit()
    services.sync()
    assert _found("荞麦") == []
    produce.submit_listing(world.staff, draft)
    produce.verify_listing(world.admin, draft)
    db.session.commit()
    services.sync()
    assert _found("枸杞") == [draft.id]
    assert services.drift() == []


def test_no_household_data_in_the_index(
    db: Any, world: World, make_listing: Any, make_household: Any
) -> None:
    """Notes that name the household, its phone or ID number are indexed without them; a
    cooperative is found by its name, never by its members'."""
    h = world.household
    make_listing(quality_notes=f"{h.head_name}家种植，联系{h.phone}，身份证{h.head_id_number}，"
                               "旱地荞麦")  # fmt: skip
    member = make_household(world.village, head_name="李四光")
    coop = make_listing(members=[h, member], product="靖远羊羔肉", unit="公斤",
                        price=Decimal("68"), quality_notes="李四光和四光家的羊")  # fmt: skip
    services.rebuild()
    contents = json.dumps(services.backend().contents(), ensure_ascii=False)
    for secret in [*_personal(world, member), "李四光", "四光", h.head_name[1:]]:
        assert secret not in contents, secret
        for kind in ("listing", "need", "resource"):
            hits = services.search(SearchQuery(text=secret, type=kind)).hits
            assert not [x for x in hits if x.type == "listing"], (secret, kind)
    assert _found("合作社") == [coop.id]  # by the cooperative's name
    document = listing_document(coop)
    assert document is not None and "李四光" not in document.tags + document.body


def test_the_results_page_shows_a_listing_as_a_listing(
    client: Any, db: Any, world: World, make_listing: Any
) -> None:
    listing = make_listing()
    services.rebuild()
    html = client.get("/search?q=荞麦&type=listing").get_data(as_text=True)
    assert '<option value="listing" selected>' in html
    (card,) = cards(html)
    assert card["type"] == "listing" and card["id"] == listing.id
    assert card["href"] == f"/produce/listings/{listing.id}"
    for fact in ("荞麦", world.village.full_name, "¥ 4.50 / 斤", "500"):
        assert fact in card["text"], fact
    assert "荞麦" in card["marked"]
    for secret in _personal(world):
        assert secret not in html
    page = client.get(card["href"])
    assert page.status_code == 200 and listing.product in page.get_data(as_text=True)
    # The API's search answers it too, as a listing.
    answer = client.get("/api/v1/search?q=荞麦&type=listing").get_json()
    assert [(hit["type"], hit["id"]) for hit in answer["hits"]] == [("listing", listing.id)]


@pytest.mark.postgres
def test_the_postgres_backend_finds_a_listing(
    db: Any, world: World, make_listing: Any, pg_url: str
) -> None:
    from marketplace.search.postgres_backend import PostgresBackend
    from marketplace.search.services import document_for

    listing = make_listing()
    engine = sa.create_engine(pg_url)
    try:
        backend = PostgresBackend(engine)
        backend.create_table()
        backend.clear()
        keys = [f"listing:{i}" for i in db.session.scalars(sa.select(ProduceListing.id))]
        keys.append(f"need:{world.need.id}")
        backend.upsert(d for d in (document_for(k) for k in keys) if d)
        assert not PostgresBackend(engine).fresh  # a listing's document is of today's format
        found = backend.search(SearchQuery(text="荞麦", type="listing"))
        assert [(h.type, h.id) for h in found.hits] == [("listing", listing.id)]
        assert backend.search(SearchQuery(text=world.household.head_name,
                                          type="listing")).total == 0  # fmt: skip
    finally:
        engine.dispose()
