"""The allocation page of a scarce resource: administrators (and the superuser) preview the
fairest use in their region and send it to the approval queue; nobody else reaches it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from marketplace.matches.models import Match, MatchStatus
from marketplace.resources.models import ResourceStatus
from marketplace.roles import Role
from tests.conftest import HUINING, JINGYUAN, World
from tests.pages import forms_of, submit_on

CAP_REFUSED = "每村上限必须是大于零的整数。"


def allocate_url(resource: Any) -> str:
    return f"/resources/{resource.id}/allocate"


def matches(db: Any) -> list[Match]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Match).order_by(Match.id)))


def recompute(page: str, url: str, **typed: str) -> str:
    """Where the page's recompute form (a GET form) goes with ``typed`` in it."""
    [form] = [f for f in forms_of(page) if f.method == "get" and "cap" in f.names]
    return f"{url}?{urlencode(form.data(**typed), doseq=True)}"


def test_an_administrator_previews_and_proposes(
    client: Any, db: Any, login: Any, world: World, villages: Any, make_need: Any,
    make_household: Any,
) -> None:  # fmt: skip
    world.resource.capacity = world.resource.remaining = 3
    db.session.commit()
    county = villages(JINGYUAN)
    # Two needs in the world's village, one in each of two other villages of the county, one
    # in Huining (outside the resource's area).
    titles = {world.need.title}
    for village, title in ((world.village, "第二户需要洗衣机"), (county[1], "邻村需要洗衣机"),
                           (county[2], "第三村需要洗衣机")):  # fmt: skip
        make_need(village, make_household(village), title=title)
        titles.add(title)
    far = make_need(world.huining_village, make_household(world.huining_village),
                    title="会宁县需要洗衣机")  # fmt: skip
    login(world.admin)
    detail = client.get(f"/resources/{world.resource.id}").data.decode()
    assert allocate_url(world.resource) in detail  # the detail page leads here
    url = allocate_url(world.resource)
    preview = client.get(url)
    page = preview.data.decode()
    assert preview.status_code == 200 and "总分（最高）" in page
    proposals = page.split('aria-label="拟分配"', 1)[1].split("<h2", 1)[0]  # points nest tables
    assert sum(t in proposals for t in titles) == 3 and far.title not in page  # capacity 3
    # With a cap of one per village, the world's village gets one of its two.
    capped_url = recompute(page, url, cap="1")
    assert "cap=1" in capped_url and f"region={world.admin.regions[0].id}" in capped_url
    capped = client.get(capped_url).data.decode()
    capped_proposals = capped.split('aria-label="拟分配"', 1)[1].split("<h2", 1)[0]
    assert sum(t in capped_proposals for t in titles) == 3
    assert not ("第二户需要洗衣机" in capped_proposals and world.need.title in capped_proposals)
    assert matches(db) == []  # a preview writes nothing
    response = submit_on(client, capped, page=capped_url)
    assert response.status_code == 302 and response.headers["Location"] == "/matches/approvals"
    proposed = matches(db)
    assert len(proposed) == 3
    assert all(m.status == MatchStatus.PROPOSED and m.proposed_by_id == world.admin.id
               for m in proposed)  # fmt: skip
    assert len({m.need.village_id for m in proposed}) == 3
    assert all(m.resource_id == world.resource.id and m.quantity == 1 for m in proposed)
    queue = client.get("/matches/approvals").data.decode()
    assert "已提出 3 个对接，等待审批。" in queue
    # Nothing is approved: the capacity is untouched until another administrator approves.
    db.session.refresh(world.resource)
    assert world.resource.remaining == 3


def test_the_superuser_allocates_over_the_deployment(
    client: Any, db: Any, login: Any, world: World, region: Any, make_user: Any
) -> None:
    login(make_user(Role.SUPERUSER, username="root"))
    page = client.get(allocate_url(world.resource)).data.decode()
    [form] = [f for f in forms_of(page) if f.method == "get" and "region" in f.names]
    assert str(region(JINGYUAN).id) in form.field("region").options
    assert str(region(HUINING).id) in form.field("region").options
    jingyuan = client.get(
        recompute(page, allocate_url(world.resource), region=str(region(JINGYUAN).id))
    )
    assert jingyuan.status_code == 200 and world.need.title in jingyuan.data.decode()
    response = submit_on(client, jingyuan.data.decode(), page=allocate_url(world.resource))
    assert response.status_code == 302
    [match] = matches(db)
    assert match.need_id == world.need.id and match.status == MatchStatus.PROPOSED


def test_allocation_refusals_write_nothing(
    client: Any, db: Any, login: Any, world: World, region: Any, make_resource: Any
) -> None:
    login(world.admin)
    url = allocate_url(world.resource)
    mine = str(world.admin.regions[0].id)
    for cap in ("abc", "0", "-1", "1.5"):
        preview = client.get(f"{url}?cap={cap}")
        assert preview.status_code == 400 and CAP_REFUSED in preview.data.decode(), cap
        posted = client.post(url, data={"region": mine, "cap": cap})
        assert posted.status_code == 400 and CAP_REFUSED in posted.data.decode(), cap
    # A region that is not the administrator's: as if it did not exist.
    huining = str(region(HUINING).id)
    assert client.get(f"{url}?region={huining}").status_code == 404
    assert client.post(url, data={"region": huining, "cap": ""}).status_code == 404
    # An unlimited plan needs no allocating.
    plan = make_resource(world.org, [region(JINGYUAN)], capacity=None, remaining=None,
                         title="话费优惠")  # fmt: skip
    detail = client.get(f"/resources/{plan.id}").data.decode()
    assert allocate_url(plan) not in detail
    refused = client.post(allocate_url(plan), data={"region": mine, "cap": ""})
    assert refused.status_code == 400 and "只有数量有限的资源需要分配。" in refused.data.decode()
    assert client.get("/resources/999999/allocate").status_code == 404
    # A resource that is not active is proposed to nobody (and the page does not lead here).
    for status in (ResourceStatus.PAUSED, ResourceStatus.CLOSED):
        world.resource.status = status
        db.session.commit()
        assert world.need.title not in client.get(url).data.decode(), status
        detail = client.get(f"/resources/{world.resource.id}").data.decode()
        assert url not in detail, status
        assert client.post(url, data={"region": mine, "cap": ""}).status_code == 302, status
    assert matches(db) == []


def test_an_administrator_the_resource_does_not_reach_is_refused(
    client: Any, db: Any, login: Any, world: World, region: Any, make_resource: Any
) -> None:
    """A Huining administrator is not led to allocate a resource reaching Jingyuan only, and
    the route says why instead of proposing nothing; one that reaches Huining too is theirs."""
    login(world.huining_admin)
    url = allocate_url(world.resource)  # public, reaching Jingyuan only
    detail = client.get(f"/resources/{world.resource.id}")
    assert detail.status_code == 200 and url not in detail.data.decode()
    for answer in (
        client.get(url),
        client.get(f"{url}?cap=1"),
        client.post(url, data={"region": str(world.huining_admin.regions[0].id), "cap": ""}),
    ):
        assert answer.status_code == 403
        assert "此资源不覆盖您的辖区，无可分配。" in answer.data.decode()
    assert matches(db) == []
    both = make_resource(world.org, [region(JINGYUAN), region(HUINING)], title="两县的洗衣机")
    assert allocate_url(both) in client.get(f"/resources/{both.id}").data.decode()
    assert client.get(allocate_url(both)).status_code == 200
    # A resource that is not public is not even found outside its area.
    world.resource.status = ResourceStatus.PAUSED
    db.session.commit()
    assert client.get(url).status_code == 404
    assert (
        client.post(url, data={"region": str(world.huining_admin.regions[0].id)}).status_code == 404
    )
