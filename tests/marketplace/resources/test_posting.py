"""Posting a resource: a donor fills the form the page renders; refusals come back as the same
form, input kept and the Chinese message at its field, with nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from marketplace.accounts.models import VerificationStatus
from marketplace.resources.models import Resource, ResourceKind, ResourceStatus
from marketplace.roles import Role
from tests.conftest import JINGYUAN, World
from tests.marketplace.resources.conftest import (
    DESCRIPTION,
    NEW,
    TITLE,
    assert_kept,
    audited,
    errors_at,
    form_on,
    posted_id,
    resource_count,
    typing,
)
from tests.pages import find_form


def test_donor_of_a_verified_organization_posts_through_the_page(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    page = client.get(NEW).data.decode()
    assert "发布资源" in page and "正在等待管理员审核" not in page
    form = form_on(page, NEW)
    county = region(JINGYUAN)
    assert str(county.id) in form.field("service_area").options  # the page offers the county
    assert str(world.village.parent.id) in form.field("service_area").options  # and townships
    assert str(world.village.id) not in form.field("service_area").options  # not villages
    response = client.post(NEW, data=form.data(**typing([county])))
    resource = db.session.get(Resource, posted_id(response))
    assert resource.organization_id == world.org.id and resource.created_by_id == world.donor.id
    assert resource.kind == ResourceKind.GOODS and resource.status == ResourceStatus.ACTIVE
    assert (resource.title, resource.description) == (TITLE, DESCRIPTION)
    assert resource.categories == ["necessities.washer"]
    assert (resource.capacity, resource.remaining, resource.unit) == (60, 60, "台")
    assert resource.unit_value == Decimal("1800.00")
    assert [r.code for r in resource.service_area] == [JINGYUAN]
    assert resource.eligible_statuses == [] and resource.eligible_causes == []
    today = date.today()
    assert (resource.valid_from, resource.valid_until, resource.delivery_deadline) == (
        today, today + timedelta(days=90), today + timedelta(days=60)
    )  # fmt: skip
    [event] = audited(db, "resource_created", resource)
    assert event.actor_id == world.donor.id and event.after == {"kind": "goods", "capacity": 60}
    detail = client.get(response.headers["Location"]).data.decode()
    assert "资源已发布。" in detail and TITLE in detail and "60/60 台 剩余" in detail
    assert "洗衣机" in detail and "靖远县" in detail  # its category and area, by name
    assert "所有状态" in detail and "所有致贫原因" in detail
    assert "未公开" not in detail  # a verified organization's resource is public at once
    # Anyone sees it: in the public list and on its page, signed in or not.
    client.post("/logout")
    assert TITLE in client.get("/resources/").data.decode()
    assert client.get(f"/resources/{resource.id}").status_code == 200


def test_the_forms_choices_are_stored_as_chosen(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    township = world.village.parent
    # Every kind the page offers is accepted and kept.
    kinds = form.field("kind").options
    assert kinds == [k.value for k in ResourceKind]
    for kind in kinds:
        typed = typing([township], kind=kind, title=f"资源：{kind}")
        resource = db.session.get(Resource, posted_id(client.post(NEW, data=form.data(**typed))))
        assert resource.kind == ResourceKind(kind), kind
        assert [r.id for r in resource.service_area] == [township.id]
    # An unlimited plan keeps no capacity, whatever was typed in the capacity field; a top
    # category makes its sub-categories redundant; eligibility is kept as chosen.
    typed = typing(
        [region(JINGYUAN), township],
        kind="discount",
        title="困难户话费优惠",
        unlimited="y",
        capacity="5",
        categories=["services", "services.telecom", "education.grant"],
        eligible_statuses=["poor", "monitored"],
        eligible_causes=["illness", "disability"],
        delivery_deadline="",
    )
    resource = db.session.get(Resource, posted_id(client.post(NEW, data=form.data(**typed))))
    assert resource.capacity is None and resource.remaining is None and resource.unlimited
    assert resource.categories == ["education.grant", "services"]
    assert resource.eligible_statuses == ["poor", "monitored"]
    assert resource.eligible_causes == ["illness", "disability"]
    assert resource.delivery_deadline is None
    assert {r.id for r in resource.service_area} == {region(JINGYUAN).id, township.id}
    detail = client.get(f"/resources/{resource.id}").data.decode()
    assert "不限数量" in detail and "未脱贫" in detail and "监测户" in detail and "因病" in detail


TODAY = date.today()
REFUSED = [
    ({"capacity": "0"}, "capacity", "数量上限必须是大于零的整数，或选择不限数量。"),
    ({"capacity": "-3"}, "capacity", "数量上限必须是大于零的整数，或选择不限数量。"),
    ({"capacity": ""}, "capacity", "数量上限必须是大于零的整数，或选择不限数量。"),
    ({"capacity": "1.5"}, "capacity", "不是有效的整数。"),
    ({"capacity": "六十"}, "capacity", "不是有效的整数。"),
    ({"capacity": "100000001"}, "capacity", "数量上限必须是大于零的整数，或选择不限数量。"),
    ({"unit_value": "-1"}, "unit_value", "价值不能为负数。"),
    ({"unit_value": ""}, "unit_value", "此项为必填项。"),
    ({"unit": ""}, "unit", "此项为必填项。"),
    ({"title": "   "}, "title", "此项为必填项。"),
    ({"title": "洗" * 101}, "title", "字段长度不能超过 100 个字符。"),
    ({"valid_from": ""}, "valid_from", "此项为必填项。"),
    ({"valid_until": "2026-02-30"}, "valid_until", "不是有效的日期值。"),
    ({"valid_from": "明天"}, "valid_from", "不是有效的日期值。"),
    ({"service_area": []}, "service_area", "请至少选择一个服务区域。"),
    ({"categories": []}, "categories", "请至少选择一个类别。"),
    ({"kind": "gifts"}, "kind", "不是有效的选择。"),
    (
        {"valid_until": (TODAY - timedelta(days=1)).isoformat()},
        "valid_until",
        "有效期结束早于开始。",
    ),
    (
        {"delivery_deadline": (TODAY - timedelta(days=1)).isoformat()},
        "delivery_deadline",
        "交付截止日期早于有效期开始。",
    ),
]


def test_refused_input_comes_back_with_the_message_at_its_field(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    before = resource_count(db)
    for changes, field, message in REFUSED:
        sent = form.data(**typing([region(JINGYUAN)], **changes))
        response = client.post(NEW, data=sent)
        page = response.data.decode()
        assert response.status_code == 400, changes
        assert message in errors_at(page, field), (changes, errors_at(page, field))
        assert "请修改下面标出的内容。" in page, changes
        # The same form, with what was typed (a choice the page does not offer cannot be shown).
        assert_kept(page, NEW, sent, except_=("kind",) if field == "kind" else ())
    assert resource_count(db) == before
    # The same day for start, end and deadline is a valid one-day resource.
    today = TODAY.isoformat()
    one_day = typing([region(JINGYUAN)], valid_until=today, delivery_deadline=today)
    assert client.post(NEW, data=form.data(**one_day)).status_code == 302
    assert resource_count(db) == before + 1


def test_a_choice_the_page_does_not_offer_is_refused_in_chinese(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    english = {}
    for field, value in (
        ("categories", "necessities.yacht"),
        ("service_area", str(world.village.id)),  # a village: the form offers down to townships
        ("eligible_statuses", "rich"),
    ):
        response = client.post(
            NEW, data=form.data(**typing([region(JINGYUAN)], **{field: [value]}))
        )
        shown = errors_at(response.data.decode(), field)
        assert response.status_code == 400 and shown, field
        if any("not a valid choice" in m for m in shown):
            english[field] = shown
        assert "不是有效的选择。" in shown, (field, shown)  # as a single select says it
    assert resource_count(db) == 1
    assert not english, english


def test_input_that_is_no_number_is_told_so_once(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    shown = {}
    for field, message in (("capacity", "不是有效的整数。"), ("unit_value", "不是有效的小数。")):
        response = client.post(NEW, data=form.data(**typing([region(JINGYUAN)], **{field: "abc"})))
        shown[field] = errors_at(response.data.decode(), field)
        assert response.status_code == 400 and message in shown[field], shown
    assert resource_count(db) == 1
    assert shown == {"capacity": ["不是有效的整数。"], "unit_value": ["不是有效的小数。"]}


def test_a_pending_organization_posts_privately_until_it_is_verified(
    app: Any, client: Any, db: Any, login: Any, world: World, region: Any, make_org: Any,
    make_user: Any, client_of: Any,
) -> None:  # fmt: skip
    """The product does not refuse the post: what an unverified organization posts waits,
    private, until an administrator verifies the organization (README, 'Who uses it')."""
    org = make_org(status=VerificationStatus.PENDING, region_code=JINGYUAN, name="靖远县爱心协会")
    donor = make_user(Role.DONOR, org=org, username="pendingdonor")
    login(donor)
    page = client.get(NEW).data.decode()
    assert "您的单位正在等待管理员审核，审核通过前您发布的内容不会公开。" in page
    form = form_on(page, NEW)
    resource_id = posted_id(client.post(NEW, data=form.data(**typing([region(JINGYUAN)]))))
    resource = db.session.get(Resource, resource_id)
    assert resource.organization_id == org.id and resource.status == ResourceStatus.ACTIVE
    assert_private_but_managed(app, client, resource_id)
    admin = client_of(world.admin)  # the county's administrator verifies on the page
    queue = admin.get("/admin/organizations").data.decode()
    verify = find_form(queue, f"/admin/organizations/{org.id}/verify")
    assert admin.post(verify.target(), data=verify.data()).status_code == 302
    db.session.refresh(org)
    assert org.status == VerificationStatus.VERIFIED
    anonymous = app.test_client()
    assert anonymous.get(f"/resources/{resource_id}").status_code == 200
    assert TITLE in anonymous.get("/resources/").data.decode()
    assert resource_id in [r["id"] for r in anonymous.get("/api/v1/resources").get_json()]
    assert "未公开" not in client.get(f"/resources/{resource_id}").data.decode()


def test_a_rejected_organization_posts_privately(
    app: Any, client: Any, db: Any, login: Any, region: Any, org_in: Any
) -> None:
    donor = org_in(VerificationStatus.REJECTED)
    login(donor)
    form = form_on(client.get(NEW).data.decode(), NEW)
    resource_id = posted_id(client.post(NEW, data=form.data(**typing([region(JINGYUAN)]))))
    assert db.session.get(Resource, resource_id).organization_id == donor.organization_id
    assert_private_but_managed(app, client, resource_id)


def assert_private_but_managed(app: Any, member: Any, resource_id: int) -> None:
    """Its members read and manage the resource, told it is not public; nobody else finds it:
    not the public list, nor its page or the API for someone signed out."""
    detail = member.get(f"/resources/{resource_id}").data.decode()
    assert "未公开：单位尚未通过审核" in detail and TITLE in detail
    assert f"/resources/{resource_id}/pause" in detail
    assert f"/resources/{resource_id}/edit" in detail
    assert TITLE in member.get("/resources/?mine=1").data.decode()
    assert TITLE not in member.get("/resources/").data.decode()
    stranger = app.test_client()
    assert stranger.get(f"/resources/{resource_id}").status_code == 404
    assert stranger.get(f"/api/v1/resources/{resource_id}").status_code == 404
    assert resource_id not in [r["id"] for r in stranger.get("/api/v1/resources").get_json()]


def test_a_rejected_organization_is_not_told_it_awaits_verification(
    client: Any, db: Any, login: Any, org_in: Any
) -> None:
    login(org_in(VerificationStatus.REJECTED))
    page = client.get(NEW).data.decode()
    assert "发布资源" in page
    assert "正在等待管理员审核" not in page
    # What is true: rejected; the reason is on the dashboard; correct and submit again.
    assert "您的单位未通过审核" in page and 'href="/dashboard"' in page
    assert "更正并重新提交" in page and 'href="/account/organization"' in page


def test_a_donor_without_an_organization_is_refused_on_the_form(
    client: Any, db: Any, login: Any, world: World, region: Any, make_user: Any
) -> None:
    login(make_user(Role.DONOR, username="lonelydonor"))
    form = form_on(client.get(NEW).data.decode(), NEW)
    sent = form.data(**typing([region(JINGYUAN)]))
    response = client.post(NEW, data=sent)
    page = response.data.decode()
    assert response.status_code == 403
    assert "只有捐赠单位的成员可以发布资源。" in page
    assert_kept(page, NEW, sent)
    assert resource_count(db) == 1
