"""The API's resource operations: the public list, one resource (the scope rules are in
test_visibility), the suggested needs of a resource; resources are read-only there."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from marketplace.accounts.models import TokenScope, VerificationStatus
from marketplace.resources.models import ResourceKind, ResourceStatus
from marketplace.roles import Role
from tests.conftest import HUINING, JINGYUAN, World
from tests.marketplace.resources.conftest import resource_count

NOT_FOUND = {"status": 404, "message": "未找到该页面或记录。"}


def test_the_public_list_and_what_each_resource_says(
    client: Any, db: Any, world: World, region: Any, make_resource: Any, make_org: Any
) -> None:
    today = date.today()
    plan = make_resource(
        world.org, [region(HUINING), region(JINGYUAN)], kind=ResourceKind.DISCOUNT,
        title="困难户话费优惠", description="每分钟0.06元", categories=["services.telecom"],
        capacity=None, remaining=None, unit="户", eligible_statuses=["poor"],
        eligible_causes=["illness", "disability"], delivery_deadline=None,
    )  # fmt: skip
    make_resource(world.org, [region(JINGYUAN)], title="暂停", status=ResourceStatus.PAUSED)
    make_resource(make_org(status=VerificationStatus.PENDING), [region(JINGYUAN)], title="待审")
    make_resource(world.org, [region(JINGYUAN)], title="过期", valid_until=today - timedelta(1),
                  valid_from=today - timedelta(9), delivery_deadline=None)  # fmt: skip
    listed = client.get("/api/v1/resources").get_json()
    assert [r["id"] for r in listed] == [world.resource.id, plan.id]
    assert listed[0] == {
        "id": world.resource.id, "title": "捐赠洗衣机", "description": "", "kind": "goods",
        "organization": world.org.name, "categories": ["necessities.washer"], "capacity": 10,
        "remaining": 10, "unit": "台", "unit_value": "1200.00", "service_area": [JINGYUAN],
        "eligible_statuses": [], "eligible_causes": [],
        "valid_from": (today - timedelta(days=1)).isoformat(),
        "valid_until": (today + timedelta(days=90)).isoformat(),
        "delivery_deadline": (today + timedelta(days=60)).isoformat(), "status": "active",
        "per_household": None, "labour_required": False, "priority_statuses": [],
        "priority_causes": [],
    }  # fmt: skip
    assert listed[1]["kind"] == "discount"
    assert listed[1]["capacity"] is None and listed[1]["remaining"] is None
    assert listed[1]["service_area"] == sorted([JINGYUAN, HUINING])
    assert listed[1]["eligible_causes"] == ["illness", "disability"]
    assert listed[1]["delivery_deadline"] is None
    assert client.get(f"/api/v1/resources/{plan.id}").get_json() == listed[1]
    # Paging.
    assert [r["id"] for r in client.get("/api/v1/resources?limit=1").get_json()] == [
        world.resource.id
    ]
    assert [r["id"] for r in client.get("/api/v1/resources?limit=1&offset=1").get_json()] == [
        plan.id
    ]
    assert client.get("/api/v1/resources?offset=2").get_json() == []
    for bad in ("limit=0", "limit=201", "offset=-1", "limit=abc"):
        refused = client.get(f"/api/v1/resources?{bad}")
        assert refused.status_code == 400, bad
        assert refused.get_json()["status"] == 400 and refused.get_json()["message"], bad


def test_unknown_ids_answer_404_in_json(client: Any, db: Any, world: World) -> None:
    for resource_id in (world.resource.id + 1000, 2**31 - 1, 2**31):
        response = client.get(f"/api/v1/resources/{resource_id}")
        assert response.status_code == 404, resource_id
        assert response.get_json()["status"] == 404, resource_id
    assert client.get(f"/api/v1/resources/{world.resource.id + 1000}").get_json() == NOT_FOUND


def test_resources_are_read_only_in_the_api(
    client: Any, db: Any, world: World, token_for: Any
) -> None:
    donor = token_for(world.donor)
    body = {"title": "API 发布", "kind": "goods", "categories": ["necessities.washer"]}
    assert client.post("/api/v1/resources", json=body, headers=donor).status_code == 405
    one = f"/api/v1/resources/{world.resource.id}"
    for method in (client.put, client.patch, client.delete, client.post):
        assert method(one, json=body, headers=donor).status_code == 405, method
    assert resource_count(db) == 1
    db.session.refresh(world.resource)
    assert world.resource.title == "捐赠洗衣机"
    # A read-only token reads.
    reader = token_for(world.donor, TokenScope.READ)
    assert client.get(one, headers=reader).get_json()["id"] == world.resource.id


def test_suggested_needs_of_a_resource(
    client: Any, db: Any, world: World, make_org: Any, make_user: Any, make_need: Any,
    make_household: Any, token_for: Any,
) -> None:  # fmt: skip
    far = make_need(world.huining_village, make_household(world.huining_village),
                    title="会宁县的洗衣机需求")  # fmt: skip
    url = f"/api/v1/resources/{world.resource.id}/suggestions"
    assert client.get(url).status_code == 401
    found = client.get(url, headers=token_for(world.donor)).get_json()
    assert [s["id"] for s in found] == [world.need.id] and far.id not in [s["id"] for s in found]
    assert found[0]["title"] == world.need.title and 0 <= found[0]["score"] <= 1
    assert "类别完全匹配：洗衣机" in found[0]["explanations"]
    assert set(found[0]["components"]) >= {"category", "location"}
    for secret in (world.household.head_name, world.household.head_id_number):
        assert secret not in str(found)
    for user in (world.admin, world.auditor, world.staff):
        answer = client.get(url, headers=token_for(user))
        assert [s["id"] for s in answer.get_json()] == [world.need.id], user.username
    other_donor = make_user(Role.DONOR, org=make_org(), username="otherdonor")
    assert client.get(url, headers=token_for(other_donor)).get_json() == NOT_FOUND
    for bad in ("limit=0", "limit=51"):
        assert client.get(f"{url}?{bad}", headers=token_for(world.donor)).status_code == 400
    # Paused: the member still asks, and nothing is suggested; outside the region, not found.
    world.resource.status = ResourceStatus.PAUSED
    db.session.commit()
    assert client.get(url, headers=token_for(world.donor)).get_json() == []
    assert client.get(url, headers=token_for(world.huining_admin)).get_json() == NOT_FOUND
