"""Editing a resource: members of the posting organization, until it is closed (what everyone
else gets is in test_visibility); the form comes filled with what is stored, and capacity keeps
count of what was already approved."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from marketplace.matches.policy import HOLDING
from marketplace.resources.models import Resource, ResourceStatus
from marketplace.resources.services import HOLDING_STATUSES
from marketplace.roles import Role
from tests.conftest import HUINING, JINGYUAN, World
from tests.marketplace.resources.conftest import (
    assert_kept,
    audited,
    errors_at,
    form_on,
    unchecked,
)
from tests.pages import submit_on


def edit_url(resource: Resource) -> str:
    return f"/resources/{resource.id}/edit"


def stored(resource: Resource) -> dict[str, Any]:
    return {
        "kind": resource.kind,
        "title": resource.title,
        "description": resource.description,
        "categories": resource.categories,
        "capacity": resource.capacity,
        "remaining": resource.remaining,
        "unit": resource.unit,
        "unit_value": resource.unit_value,
        "service_area": [r.id for r in resource.service_area],
        "eligible_statuses": resource.eligible_statuses,
        "eligible_causes": resource.eligible_causes,
        "valid_from": resource.valid_from,
        "valid_until": resource.valid_until,
        "delivery_deadline": resource.delivery_deadline,
        "status": resource.status,
    }


def test_the_edit_form_holds_what_is_stored_and_saving_it_changes_nothing(
    client: Any, db: Any, login: Any, world: World, region: Any, make_resource: Any
) -> None:
    resource = make_resource(
        world.org,
        [region(JINGYUAN), world.huining_village.parent],
        title="助学金与学习用品",
        description="每名学生两千元",
        categories=["education.grant", "education.supplies"],
        capacity=30,
        unit="人",
        unit_value=Decimal("2000"),
        eligible_statuses=["poor", "monitored"],
        eligible_causes=["schooling"],
        delivery_deadline=None,
    )
    before = stored(resource)
    login(world.donor)
    page = client.get(edit_url(resource)).data.decode()
    assert "修改资源" in page
    form = form_on(page, edit_url(resource))
    shown = form.data()
    assert shown["title"] == "助学金与学习用品" and shown["description"] == "每名学生两千元"
    assert shown["categories"] == ["education.grant", "education.supplies"]
    assert shown["capacity"] == "30" and "unlimited" not in shown
    assert shown["unit"] == "人" and shown["unit_value"] == "2000.00"
    assert sorted(shown["service_area"]) == sorted(str(i) for i in before["service_area"])
    assert shown["eligible_statuses"] == ["poor", "monitored"]
    assert shown["eligible_causes"] == "schooling"
    assert shown["valid_from"] == resource.valid_from.isoformat()
    assert shown["delivery_deadline"] == ""
    response = client.post(edit_url(resource), data=shown)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/resources/{resource.id}"
    db.session.expire_all()
    assert stored(resource) == before
    [event] = audited(db, "resource_updated", resource)
    assert event.actor_id == world.donor.id
    assert event.before == event.after == {"capacity": 30, "remaining": 30}
    assert "已保存。" in client.get(f"/resources/{resource.id}").data.decode()


def test_a_refused_edit_keeps_the_input_and_the_stored_resource(
    client: Any, db: Any, login: Any, world: World
) -> None:
    resource = world.resource
    before = stored(resource)
    login(world.donor)
    form = form_on(client.get(edit_url(resource)).data.decode(), edit_url(resource))
    for changes, field, message in (
        ({"service_area": []}, "service_area", "请至少选择一个服务区域。"),
        ({"categories": []}, "categories", "请至少选择一个类别。"),
        ({"capacity": "0"}, "capacity", "数量上限必须是大于零的整数，或选择不限数量。"),
        ({"valid_until": (resource.valid_from - timedelta(days=1)).isoformat()}, "valid_until",
         "有效期结束早于开始。"),
    ):  # fmt: skip
        sent = form.data(title="不该保存的标题", **changes)
        response = client.post(edit_url(resource), data=sent)
        page = response.data.decode()
        assert response.status_code == 400, changes
        assert message in errors_at(page, field), (changes, errors_at(page, field))
        assert "修改资源" in page
        assert_kept(page, edit_url(resource), sent)
    db.session.expire_all()
    assert stored(resource) == before
    assert audited(db, "resource_updated", resource) == []


def test_another_member_of_the_organization_changes_it(
    client: Any, db: Any, login: Any, world: World, region: Any, make_user: Any
) -> None:
    """Membership is by organization: a colleague of the poster edits and pauses it."""
    resource = world.resource
    colleague = make_user(Role.DONOR, org=world.org, username="colleague")
    login(colleague)
    form = form_on(client.get(edit_url(resource)).data.decode(), edit_url(resource))
    today = date.today()
    changed = form.data(
        kind="money",
        title="洗衣机改为购置补贴",
        categories=["necessities"],
        capacity="25",
        unit="户",
        unit_value="800.5",
        service_area=[str(region(HUINING).id)],
        eligible_causes=["disaster"],
        valid_until=(today + timedelta(days=10)).isoformat(),
        delivery_deadline="",
    )
    assert client.post(edit_url(resource), data=changed).status_code == 302
    db.session.expire_all()
    assert resource.kind.value == "money" and resource.title == "洗衣机改为购置补贴"
    assert resource.categories == ["necessities"]
    assert (resource.capacity, resource.remaining, resource.unit) == (25, 25, "户")
    assert resource.unit_value == Decimal("800.50")
    assert [r.code for r in resource.service_area] == [HUINING]
    assert resource.eligible_causes == ["disaster"]
    assert resource.valid_until == today + timedelta(days=10)
    assert resource.delivery_deadline is None
    [event] = audited(db, "resource_updated", resource)
    assert event.actor_id == colleague.id
    # A change of service area shows at once: the public list says where it reaches now.
    listing = client.get("/resources/").data.decode()
    assert "洗衣机改为购置补贴" in listing and "会宁县" in listing
    url = f"/resources/{resource.id}"
    assert submit_on(client, client.get(url).data.decode(), action=f"{url}/pause",
                     page=url).status_code == 302  # fmt: skip
    db.session.refresh(resource)
    assert resource.status == ResourceStatus.PAUSED
    [event] = audited(db, "resource_status", resource)
    assert event.actor_id == colleague.id


def test_a_closed_or_expired_resource_is_no_longer_edited(
    client: Any, db: Any, login: Any, world: World
) -> None:
    url = edit_url(world.resource)
    login(world.donor)
    form = form_on(client.get(url).data.decode(), url)
    for status in (ResourceStatus.CLOSED, ResourceStatus.EXPIRED):
        world.resource.status = status
        db.session.commit()
        detail = client.get(f"/resources/{world.resource.id}").data.decode()
        assert url not in detail, status  # no edit link
        assert client.get(url).status_code == 404, status
        assert client.post(url, data=form.data(title="关闭后修改")).status_code == 404, status
        db.session.expire_all()
        assert world.resource.title == "捐赠洗衣机" and world.resource.status == status
    assert audited(db, "resource_updated", world.resource) == []


def test_capacity_keeps_count_of_what_was_approved(
    client: Any, db: Any, login: Any, world: World, make_need: Any, make_household: Any,
    approve: Any,
) -> None:  # fmt: skip
    need = make_need(world.village, make_household(world.village), quantity=4, title="四台洗衣机")
    approve(world.donor, world.admin, need, world.resource, 3)
    assert (world.resource.capacity, world.resource.remaining) == (10, 7)
    url = edit_url(world.resource)
    login(world.donor)
    form = form_on(client.get(url).data.decode(), url)
    refused = client.post(url, data=form.data(capacity="2"))
    page = refused.data.decode()
    assert refused.status_code == 400
    assert errors_at(page, "capacity") == ["数量上限不能低于已审批的 3。"]
    assert_kept(page, url, form.data(capacity="2"))
    db.session.expire_all()
    assert (world.resource.capacity, world.resource.remaining) == (10, 7)
    # Exactly what was approved is allowed, and leaves nothing; more raises what is left.
    assert client.post(url, data=form.data(capacity="3")).status_code == 302
    db.session.expire_all()
    assert (world.resource.capacity, world.resource.remaining) == (3, 0)
    assert client.post(url, data=form.data(capacity="20")).status_code == 302
    db.session.expire_all()
    assert (world.resource.capacity, world.resource.remaining) == (20, 17)
    [_first, last] = audited(db, "resource_updated", world.resource)  # the refusal left none
    assert last.before == {"capacity": 3, "remaining": 0}
    assert last.after == {"capacity": 20, "remaining": 17}
    assert "17/20 台 剩余" in client.get(f"/resources/{world.resource.id}").data.decode()


def test_switching_to_unlimited_and_back_keeps_count_of_what_was_approved(
    client: Any, db: Any, login: Any, world: World, make_need: Any, make_household: Any,
    make_resource: Any, region: Any, approve: Any,
) -> None:  # fmt: skip
    need = make_need(world.village, make_household(world.village), quantity=4, title="四台洗衣机")
    approve(world.donor, world.admin, need, world.resource, 3)
    plan = make_resource(world.org, [region(JINGYUAN)], title="话费优惠",
                         capacity=None, remaining=None)  # fmt: skip
    approve(world.donor, world.admin, world.need, plan, 1)
    login(world.donor)
    url = edit_url(world.resource)
    form = form_on(client.get(url).data.decode(), url)
    assert client.post(url, data=form.data(unlimited="y")).status_code == 302
    form = form_on(client.get(url).data.decode(), url)
    client.post(url, data=unchecked(form.data(capacity="10"), "unlimited"))
    db.session.expire_all()
    problems = []
    if (world.resource.capacity, world.resource.remaining) != (10, 7):
        problems.append(("round trip", world.resource.capacity, world.resource.remaining))
    plan_url = edit_url(plan)
    form = form_on(client.get(plan_url).data.decode(), plan_url)
    response = client.post(plan_url, data=unchecked(form.data(capacity="1"), "unlimited"))
    db.session.expire_all()
    if response.status_code != 400 and plan.remaining != 0:
        problems.append(("below what was given", plan.capacity, plan.remaining))
    assert not problems, problems


def test_resources_count_what_the_holding_matches_hold() -> None:
    """resources may not import matches: its list of the statuses that hold capacity is the
    one matches' capacity code keeps."""
    assert set(HOLDING_STATUSES) == {s.value for s in HOLDING}
