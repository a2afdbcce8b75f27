"""The resource page: its members read suggested needs (households masked) and the pledges made
with it; everyone reads what the resource is. (That nobody else reads the panels is checked for
each role in test_visibility.)"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.matches.models import Match, MatchStatus
from marketplace.resources.models import ResourceStatus
from tests.conftest import HUINING, JINGYUAN, World
from tests.pages import find_form

SUGGESTED = "推荐需求"
PLEDGES = "认领与成效"


def secrets(world: World) -> tuple[str, ...]:
    return (world.household.head_name, world.household.head_id_number, world.household.phone)


def test_members_read_suggested_needs_masked_and_the_pledges(
    app: Any, client: Any, db: Any, login: Any, world: World, make_need: Any, make_household: Any
) -> None:
    far = make_need(world.huining_village, make_household(world.huining_village),
                    title="会宁县的洗衣机需求")  # fmt: skip
    other = make_need(world.village, make_household(world.village), title="需要助学金",
                      subcategory="education.grant")  # fmt: skip
    second = make_need(world.village, make_household(world.village), title="第二户需要洗衣机")
    url = f"/resources/{world.resource.id}"
    login(world.donor)
    page = client.get(url).data.decode()
    assert SUGGESTED in page
    suggested = page[page.index(SUGGESTED) :]
    assert f'href="/needs/{world.need.id}"' in suggested and world.need.title in suggested
    assert f'href="/needs/{second.id}"' in suggested
    assert "张**" in suggested and "类别完全匹配：洗衣机" in suggested  # masked; explained
    assert far.title not in page  # outside the service area
    assert other.title not in page  # a category the resource does not serve
    for secret in secrets(world):
        assert secret not in page
    assert PLEDGES not in page  # nothing pledged yet
    # Pledged on the need's page, the pledge is listed on the resource's.
    need_page = client.get(f"/needs/{world.need.id}").data.decode()
    pledge = find_form(need_page, f"/needs/{world.need.id}/pledge")
    assert client.post(pledge.target(), data=pledge.data(quantity="1")).status_code == 302
    match = db.session.scalar(sa.select(Match))
    assert match.resource_id == world.resource.id and match.status == MatchStatus.PROPOSED
    page = client.get(url).data.decode()
    assert PLEDGES in page and SUGGESTED in page
    pledges = page[page.index(PLEDGES) :]
    assert f'href="/matches/{match.id}"' in pledges and world.need.title in pledges
    assert "1 台" in pledges
    # Still shown once the resource is paused (the suggestions are not).
    world.resource.status = ResourceStatus.PAUSED
    db.session.commit()
    page = client.get(url).data.decode()
    assert PLEDGES in page and f'href="/matches/{match.id}"' in page and SUGGESTED not in page


def test_what_everyone_reads_about_a_resource(
    client: Any, db: Any, world: World, region: Any, make_resource: Any
) -> None:
    plan = make_resource(
        world.org,
        [region(JINGYUAN), region(HUINING)],
        title="困难户话费优惠",
        description="每分钟0.06元 <script>alert(1)</script>",
        categories=["services.telecom"],
        capacity=None,
        remaining=None,
        eligible_statuses=["poor"],
        eligible_causes=["illness"],
        delivery_deadline=None,
    )
    page = client.get(f"/resources/{plan.id}").data.decode()
    assert "困难户话费优惠" in page and world.org.name in page
    assert "每分钟0.06元 &lt;script&gt;alert(1)&lt;/script&gt;" in page  # escaped, not run
    assert "<script>alert(1)" not in page
    assert "不限数量" in page and "通信资费" in page
    assert "靖远县" in page and "会宁县" in page and "未脱贫" in page and "因病" in page
    assert "交付截止日期" not in page
    assert f"{plan.valid_from} – {plan.valid_until}" in page
    assert client.get("/resources/999999").status_code == 404
