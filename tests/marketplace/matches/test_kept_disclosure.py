"""The public disclosure page's lists are kept between requests (marketplace.facts): a match
approved, or an objection decided, shows on the next request; a disclosure window that closes
with time closes on the kept list too; the kept lists equal a fresh read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marketplace.db import utcnow
from marketplace.matches import services
from marketplace.privacy import mask_name
from tests.conftest import World


def _fresh(db: Any, now: Any) -> Any:
    db.session.rollback()
    return services.compute_disclosure(now).current(now)


def test_an_approved_match_shows_on_the_next_request(
    db: Any, client: Any, world: World, make_need: Any, make_household: Any
) -> None:
    masked = mask_name(world.household.head_name)
    assert masked not in client.get("/disclosure").get_data(as_text=True)  # kept: empty
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    assert masked not in client.get("/disclosure").get_data(as_text=True)  # only pledged
    services.approve(world.admin, match)
    db.session.commit()
    page = client.get("/disclosure").get_data(as_text=True)
    assert masked in page and f"/disclosure/{match.id}/objection" in page
    assert world.household.head_name not in page
    now = utcnow()
    assert services.disclosure(now) == _fresh(db, now)

    # rejected after an objection: gone from the next page
    services.file_objection(match, "该户已领过", "", None)
    db.session.commit()
    objection = match.objections[0]
    services.resolve_objection(world.admin, objection, True, "核实属实")
    db.session.commit()
    page = client.get("/disclosure").get_data(as_text=True)
    assert f"/disclosure/{match.id}/objection" not in page and f"#{objection.id}" in page
    assert services.disclosure(now) == _fresh(db, now)


def test_windows_close_on_the_kept_lists(db: Any, world: World) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    services.approve(world.admin, match)
    db.session.commit()
    now = utcnow()
    listed, _decided = services.disclosure(now)  # kept now
    assert [m.id for m in listed] == [match.id]
    assert match.disclosure_until is not None
    later = match.disclosure_until + timedelta(seconds=1)
    assert services.disclosure(later) == ([], []) == _fresh(db, later)
