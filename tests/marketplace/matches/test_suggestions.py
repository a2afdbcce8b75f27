"""The engine inside the product: scores stored with pledges, suggestions, allocation."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from marketplace.matches.scoring import score_pair
from tests.conftest import HUINING, World


def test_pledge_stores_score_weights_and_explanations(db: Any, world: World) -> None:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    assert 0 < match.score <= 1
    breakdown = match.score_breakdown
    assert set(breakdown["weights"]) == set(breakdown["components"])
    codes = {e["component"]: e["code"] for e in breakdown["explanations"]}
    assert codes["category"] == "exact" and codes["prior_aid"] == "never_aided"


def test_queue_shows_the_explanation_in_chinese(
    client: Any, db: Any, login: Any, world: World
) -> None:
    services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    login(world.admin)
    page = client.get("/matches/approvals").data.decode()
    assert "类别完全匹配：洗衣机" in page and "该户尚未获得帮扶" in page


def test_suggestions_api(client: Any, db: Any, login: Any, world: World, make_org: Any,
                         make_resource: Any, region: Any) -> None:  # fmt: skip
    elsewhere = make_resource(make_org(), [region(HUINING)], title="会宁洗衣机")
    login(world.staff)
    found = client.get(f"/api/v1/needs/{world.need.id}/suggestions?limit=5").get_json()
    assert [s["id"] for s in found] == [world.resource.id]
    assert elsewhere.id not in [s["id"] for s in found]
    assert any("洗衣机" in e for e in found[0]["explanations"])
    assert client.get(f"/api/v1/needs/{world.need.id}/suggestions?limit=0").status_code == 400
    client.post("/logout")
    login(world.donor)
    needs = client.get(f"/api/v1/resources/{world.resource.id}/suggestions").get_json()
    assert [s["id"] for s in needs] == [world.need.id]
    assert "张三丰" not in str(needs)


def test_allocation_proposes_within_capacity_and_village_cap(
    client: Any, db: Any, login: Any, world: World, make_household: Any, make_need: Any,
    villages: Any,
) -> None:  # fmt: skip
    world.resource.capacity = world.resource.remaining = 3
    db.session.commit()
    for village in villages("620421000000")[:3]:
        for _ in range(3):
            make_need(village, make_household(village))
    login(world.admin)
    preview = client.get(f"/resources/{world.resource.id}/allocate?cap=1")
    assert preview.status_code == 200
    assert "总分（最高）" in preview.data.decode()
    response = client.post(f"/resources/{world.resource.id}/allocate",
                           data={"region": str(world.admin.regions[0].id), "cap": "1"})  # fmt: skip
    assert response.status_code == 302
    proposed = db.session.scalars(sa.select(Match)).all()
    assert len(proposed) == 3
    assert all(m.status == MatchStatus.PROPOSED for m in proposed)
    assert len({m.need.village_id for m in proposed}) == 3  # one per village
    # Nothing is approved, and the proposer may not approve their own proposals.
    from marketplace.errors import ServiceError

    try:
        services.approve(world.admin, proposed[0])
        raise AssertionError("the proposer approved their own proposal")
    except ServiceError as refused:
        assert refused.status == 403


def test_donor_cannot_allocate(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.donor)
    assert client.get(f"/resources/{world.resource.id}/allocate").status_code == 403


def test_warm_resource_index_follows_changes(app: Any, db: Any, world: World, make_org: Any,
                                             make_resource: Any, region: Any) -> None:  # fmt: skip
    """The process keeps its index of resources; each change in the database shows at once."""
    from marketplace.accounts.models import VerificationStatus
    from marketplace.matches.scoring import suggest_resources
    from marketplace.resources.models import ResourceStatus
    from tests.conftest import JINGYUAN

    def suggested() -> list[int]:
        with app.app_context():
            return [r.id for r, _s in suggest_resources(world.need, limit=10)]

    assert suggested() == [world.resource.id]
    second_org = make_org()
    second = make_resource(second_org, [region(JINGYUAN)], title="又一批洗衣机")
    assert set(suggested()) == {world.resource.id, second.id}  # added without a rebuild
    second.status = ResourceStatus.PAUSED
    db.session.commit()
    assert suggested() == [world.resource.id]
    second.status = ResourceStatus.ACTIVE
    second_org.status = VerificationStatus.PENDING
    db.session.commit()
    assert suggested() == [world.resource.id]  # an organization change rebuilds
    world.resource.remaining = 0
    db.session.commit()
    assert suggested() == []
    db.session.delete(second)
    db.session.commit()
    assert suggested() == []


def test_candidate_views_read_as_columns_equal_the_orm_views(
    db: Any, world: World, make_need: Any, make_household: Any
) -> None:
    """The resource page reads candidates as plain columns; they must be what the adapters make
    of the ORM rows (household status and causes, prior aid, village, waiting days)."""
    from marketplace.matches.scoring import candidate_need_views, candidate_needs, need_views
    from marketplace.vocab import PovertyCause

    other = make_household(world.other_village, primary_cause=PovertyCause.SCHOOLING,
                           other_causes=["illness", "capital"])  # fmt: skip
    make_need(world.other_village, other, title="第二台洗衣机", quantity=2)
    make_need(world.village, None, title="村级洗衣房设备")
    aided = make_need(world.village, world.household, title="已获帮扶")
    db.session.add(Match(need=aided, resource=world.resource, quantity=1,
                         status=MatchStatus.CONFIRMED))  # fmt: skip
    db.session.commit()
    columns = sorted(candidate_need_views(world.resource), key=lambda v: v.id)
    orm = sorted(need_views(candidate_needs(world.resource)), key=lambda v: v.id)
    assert len(columns) == 4 and columns == orm
    assert {v.prior_aid for v in columns if v.household_status} >= {1}


def test_the_distance_component_runs_in_the_app(db: Any, world: World) -> None:
    """The adapter passes the service regions' centres, so a need is scored by how far its
    village lies from them (it never did before: the component was dead in the app)."""
    county = world.resource.service_area[0]
    county.lat, county.lng = 36.57, 104.68
    world.village.lat, world.village.lng = 36.90, 104.90  # about 41 km away
    db.session.commit()
    match = services.pledge(world.donor, world.need, world.resource, 1)
    location = next(
        e for e in match.score_breakdown["explanations"] if e["component"] == "location"
    )
    assert 35 <= location["params"]["km"] <= 45
    near = match.score_breakdown["components"]["location"]
    world.village.lat, world.village.lng = county.lat, county.lng
    db.session.commit()
    _score, breakdown = score_pair(world.need, world.resource)
    assert breakdown["components"]["location"] > near  # nearer scores higher


def test_the_match_page_shows_points_that_add_up(
    client: Any, db: Any, login: Any, world: World
) -> None:
    """Each component's points, in Chinese with its reason, summing to the stored total."""
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    stored = match.score_breakdown
    assert sum(stored["component_points"].values()) == stored["points"] > 0
    login(world.admin)
    page = client.get(f"/matches/{match.id}").data.decode()
    table = page.split('aria-label="分值"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><td>([^<]+)</td><td class="text-end">(\d+)</td>', table)
    assert {name for name, _points in rows} >= {"类别", "紧急程度", "等待时间", "已获帮扶"}
    assert sum(int(points) for _name, points in rows) == stored["points"]
    assert f'<td class="text-end fw-bold">{stored["points"]}</td>' in table
    assert "<td>已获帮扶</td>" in table and "该户尚未获得帮扶" in table  # the reason beside it
