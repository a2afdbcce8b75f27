"""The public home page shows the work (issue 14, 阳光操作): the needs waiting longest, the
latest deliveries confirmed with the household and what it said, masked, and the share of
the help delivered that builds income."""

from __future__ import annotations

import re
from typing import Any

from marketplace.matches import services
from marketplace.privacy import scrub
from marketplace.timefmt import beijing_today
from tests.conftest import World


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_confirmed_delivery_is_shown_with_its_feedback_masked(
    db: Any, client: Any, world: World
) -> None:
    head = world.household.head_name
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    services.approve(world.admin, match)
    services.deliver(world.donor, match, "送到村委会")
    db.session.commit()
    said = f"{head}说洗衣机很好用，有事打13812345678"
    services.confirm(world.staff, match, received_quantity=1, received_on=beijing_today(),
                     satisfaction=5, feedback=said)  # fmt: skip
    db.session.commit()

    page = client.get("/").data.decode()
    received = _text(page.split('id="delivered-heading"', 1)[1].split("</section>", 1)[0])
    assert world.resource.title in received and world.need.title in received
    assert "满意度 5/5" in received
    assert scrub(said, [head]) in received and "138****5678" in received
    assert head not in page and "13812345678" not in page
    # goods are a handout, not income-building
    assert "0% 用于增收" in received


def test_needs_waiting_longest_come_first_without_households(
    db: Any, client: Any, world: World, make_need: Any
) -> None:
    later = make_need(world.village, world.household, title="后来的需求")
    db.session.commit()
    page = client.get("/").data.decode()
    waiting = _text(page.split('id="waiting-heading"', 1)[1].split("</section>", 1)[0])
    assert waiting.index(world.need.title) < waiting.index(later.title)
    assert world.household.head_name not in waiting


def test_scrub_masks_numbers_and_the_names_given() -> None:
    assert scrub("王小明 620421199001011234 13912345678", ["王小明"]) == (
        "王** 620421********1234 139****5678"
    )
    assert scrub("", ["王小明"]) == ""
