"""The public home page's figures and lists are kept between requests (marketplace.facts) and
read again after any change that affects them: each change shows on the next request, and the
kept figures equal a fresh count."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from marketplace.home import services
from marketplace.matches import services as matches
from marketplace.needs.models import Need
from marketplace.timefmt import beijing_today
from tests.conftest import World


def _figures(html: str) -> list[str]:
    return re.findall(r'<div class="fs-3 fw-bold">([^<]*)</div>', html)


def _fresh(db: Any) -> services.HomePage:
    db.session.rollback()
    return services.compute_home_page()


def _kept(db: Any) -> services.HomePage:
    db.session.rollback()
    return services.home_page()


def test_each_change_shows_on_the_next_request(
    db: Any, client: Any, world: World, make_need: Any, make_household: Any
) -> None:
    first = client.get("/").data.decode()
    assert client.get("/").data.decode() == first  # kept: the same page again
    assert _figures(first)[:2] == ["1", "1"]  # one household, one open need

    make_need(world.village, make_household(world.village), title="需要一张床")
    page = client.get("/").data.decode()
    assert _figures(page)[:2] == ["2", "2"] and "需要一张床" in page
    assert _kept(db) == _fresh(db)

    match = matches.pledge(world.donor, world.need, world.resource, 1)
    matches.approve(world.admin, match)
    db.session.commit()
    assert _figures(client.get("/").data.decode())[3] == "1"  # a match approved
    matches.deliver(world.donor, match, "送到村委会")
    matches.confirm(world.staff, match, received_quantity=1, received_on=beijing_today(),
                    satisfaction=4, feedback="收到了")  # fmt: skip
    db.session.commit()
    page = client.get("/").data.decode()
    assert "¥ 1,200" in page and "收到了" in page
    assert _kept(db) == _fresh(db)


def test_a_change_made_elsewhere_shows_too(db: Any, client: Any, world: World) -> None:
    """Another process's commit: its own session and connection, nothing in this process."""
    assert _figures(client.get("/").data.decode())[1] == "1"
    with Session(db.engine) as other:
        need = other.get(Need, world.need.id)
        assert need is not None
        need.open_quantity = 0
        other.commit()
    assert _figures(client.get("/").data.decode())[1] == "0"
    assert _kept(db) == _fresh(db)


def test_labels_follow_the_readers_language(client: Any, world: World) -> None:
    """The kept lists hold codes, not words: each reader gets their own language."""
    waiting = 'id="waiting-heading"'
    chinese = client.get("/").data.decode().split(waiting, 1)[1]  # kept now
    client.get("/lang/en")
    english = client.get("/").data.decode().split(waiting, 1)[1]
    assert "· 洗衣机 ·" in chinese and "· Washing machines ·" in english
