"""Progress people can see (issue 14): a need's page and the donors' browse page show what is
pledged, approved, delivered and received against what is needed, with several donors filling
one need; a resource's page the same against its capacity."""

from __future__ import annotations

import re
from typing import Any

from marketplace.matches import aid, services
from marketplace.matches.models import MatchStatus
from tests.conftest import World


def _words(html: str) -> str:
    section = html.split('class="mb-2 help-progress"', 1)[1].split("</p>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", section).split())


def test_two_donors_fill_one_need_and_the_pages_show_how_far(
    db: Any, client: Any, login: Any, world: World, make_resource: Any, make_user: Any
) -> None:
    world.need.quantity = world.need.open_quantity = 3
    world.resource.per_household = None
    other = make_resource(world.org, list(world.resource.service_area), title="第二批洗衣机")
    other.per_household = None
    db.session.commit()
    first = services.pledge(world.donor, world.need, world.resource, 1)
    services.pledge(world.donor, world.need, other, 1)
    db.session.commit()
    services.approve(world.admin, first)
    db.session.commit()

    progress = aid.need_progress([world.need])[world.need.id]
    assert (progress.total, progress.approved, progress.pledged, progress.confirmed) == (3, 1, 1, 0)
    assert progress.percent(progress.approved) == 33

    login(world.donor)
    words = _words(client.get(f"/needs/{world.need.id}").data.decode())
    assert "已审批 1 台" in words and "已认领，待审批 1 台" in words and "共需 3 台" in words
    assert "已收到" not in words  # nothing received yet: no empty segment named
    browse = client.get("/needs/browse").data.decode()
    assert "已审批 1 台" in _words(browse)

    resource_words = _words(client.get(f"/resources/{world.resource.id}").data.decode())
    assert "已审批 1 台" in resource_words
    assert f"总量 {world.resource.capacity} 台" in resource_words


def test_a_need_without_help_says_so(db: Any, client: Any, world: World) -> None:
    assert aid.need_progress([world.need])[world.need.id].under_way == 0
    words = _words(client.get(f"/needs/{world.need.id}").data.decode())
    assert "尚无进行中的帮扶。" in words
    assert MatchStatus.PROPOSED.value not in words
