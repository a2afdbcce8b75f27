"""The allocation page in fair mode (the default): shares by village from eligible open need,
one unit per household for goods, both totals side by side, and the reasons for needs left
without; proposals sent from the rendered form keep all of it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from marketplace.matches.models import Match
from tests.conftest import JINGYUAN, World
from tests.pages import forms_of, submit_on


def _section(page: str, label: str) -> str:
    # up to the next heading: a proposal's points open into a table of their own
    return page.split(f'aria-label="{label}"', 1)[1].split("<h2", 1)[0].split("</main>", 1)[0]


def test_fair_mode_shares_by_village_one_unit_per_household(
    client: Any, db: Any, login: Any, world: World, villages: Any, make_need: Any,
    make_household: Any,
) -> None:  # fmt: skip
    county = villages(JINGYUAN)
    world.resource.capacity = world.resource.remaining = 4
    world.resource.per_household = 1
    # The world's village: its household asks twice, and two more households ask urgently.
    make_need(world.village, world.household, title="同户第二台洗衣机", urgency=3)
    for n in range(2):
        make_need(world.village, make_household(world.village), title=f"本村急需{n}", urgency=3)
    # Two other villages: one plain need each, waiting as long, less urgent.
    for village in county[1:3]:
        make_need(village, make_household(village), title=f"{village.name}需要洗衣机", urgency=1)
    db.session.commit()
    login(world.admin)
    url = f"/resources/{world.resource.id}/allocate"
    page = client.get(url).data.decode()
    assert "总分（公平）" in page and "总分（最高）" in page and "为公平让出的分数" in page
    shares = _section(page, "份额")
    # Bases: 3 households in the world's village (the double asker counts once), 1 and 1.
    assert shares.count("<tr>") == 1 + 3
    assert '<td class="text-end">3</td>' in shares
    proposals = _section(page, "拟分配")
    # Each proposal meets its need whole, so the fair total is the sum of their points.
    points = [int(x) for x in re.findall(r"<details><summary>(\d+)</summary>", proposals)]
    fair_total = re.search(
        r'<div class="fs-3 fw-bold">(\d+)</div>\s*<div class="text-muted small">总分（公平）', page
    )
    assert fair_total and int(fair_total.group(1)) == sum(points) and len(points) == 4
    assert proposals.count(f"{county[1].name}需要洗衣机") == 1  # a small village gets its share
    assert proposals.count(f"{county[2].name}需要洗衣机") == 1
    why = _section(page, "未获分配的符合条件需求及原因")
    assert "该户已达到每户可得的上限" in why or "份额已用完" in why
    # Shares of 4 by bases 3:1:1 are 2, 1, 1; maximum mode, asked on the page, gives the
    # urgent village 3 (one per household) and only one other village a unit.
    others = [f"{v.name}需要洗衣机" for v in county[1:3]]
    [form] = [f for f in forms_of(page) if f.method == "get" and "mode" in f.names]
    maximum = client.get(f"{url}?{urlencode(form.data(mode='maximum'), doseq=True)}").data.decode()
    assert sum(t in _section(maximum, "拟分配") for t in others) == 1
    assert sum(t in proposals for t in others) == 2
    # Send the fair proposals as the page posts them.
    response = submit_on(client, page, page=url)
    assert response.status_code == 302
    made = db.session.scalars(sa.select(Match)).all()
    assert len(made) == 4
    households = [m.need.household_id for m in made]
    assert len(households) == len(set(households))  # one per household
    assert len({m.need.village_id for m in made}) == 3
