"""Unhappy paths end well: a refused form comes back with the input kept and the message at its
field, oversized bodies get the Chinese 413 page, out-of-scope edit pages answer 404, views of
unmasked data are audited also on GET, private answers are not cached."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, VerificationStatus
from marketplace.audit.models import AuditEvent
from marketplace.matches.models import Match
from marketplace.resources.models import Resource
from tests.conftest import HUINING, JINGYUAN, World
from tests.pages import form_posting_to

TITLE = "保留我的输入：冬季棉被"


def _resource_typing(**changes: Any) -> dict[str, Any]:
    today = date.today()
    typed = {
        "title": TITLE,
        "description": "给困难户的棉被",
        "capacity": "20",
        "unit": "床",
        "unit_value": "150",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=60)).isoformat(),
        "delivery_deadline": (today + timedelta(days=30)).isoformat(),
    }
    typed.update(changes)
    return typed


def _as(client: Any, login: Any, user: Any) -> None:
    client.post("/logout")
    login(user)


def _count(db: Any, model: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _audits(db: Any, action: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action)
    )


def test_resource_refused_by_a_rule_comes_back_with_the_input(
    client: Any, db: Any, login: Any, world: World, region: Any
) -> None:
    login(world.donor)
    form = form_posting_to(client.get("/resources/new").data.decode(), "")
    before = _count(db, Resource)
    area = str(region(JINGYUAN).id)
    # No category: the service refuses; the message sits at the categories field.
    data = form.data(**_resource_typing(service_area=[area], categories=[]))
    response = client.post("/resources/new", data=data)
    page = response.data.decode()
    assert response.status_code == 400
    assert TITLE in page and "给困难户的棉被" in page
    assert "请至少选择一个类别。" in page
    assert page.index("请至少选择一个类别。") > page.index('name="categories"')
    # Validity ending before it starts: the message at valid_until, the input kept.
    today = date.today()
    data = form.data(
        **_resource_typing(
            service_area=[area],
            categories=["necessities.washer"],
            valid_until=(today - timedelta(days=3)).isoformat(),
        )
    )
    response = client.post("/resources/new", data=data)
    page = response.data.decode()
    assert response.status_code == 400 and TITLE in page
    assert page.index('name="valid_until"') < page.index("invalid-feedback", page.index(
        'name="valid_until"'))  # fmt: skip
    assert _count(db, Resource) == before


def test_pledge_refusal_keeps_the_form_on_the_need_page(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.donor)
    page = client.get(f"/needs/{world.need.id}").data.decode()
    form = form_posting_to(page, f"/needs/{world.need.id}/pledge")
    assert form.field("resource").options == [str(world.resource.id)]
    assert '<label class="form-label" for="quantity">' in page  # a visible label
    response = client.post(form.action, data=form.data(quantity="5"))  # only 1 is open
    refused = response.data.decode()
    assert response.status_code == 400
    assert "该需求仅剩 1 待对接。" in refused  # the message, at the quantity field
    assert 'value="5"' in refused  # the quantity typed is still there
    assert _count(db, Match) == 0
    done = client.post(form.action, data=form.data(quantity="1"))
    assert done.status_code == 302 and _count(db, Match) == 1


def test_pledge_form_offers_only_resources_that_fit(
    client: Any, db: Any, login: Any, world: World, make_resource: Any, region: Any
) -> None:
    far = make_resource(world.org, [region(HUINING)], title="会宁专用洗衣机")
    used_up = make_resource(world.org, [region(JINGYUAN)], title="已用完", remaining=0)
    other = make_resource(
        world.org, [region(JINGYUAN)], title="助学金", categories=["education.grant"]
    )
    login(world.donor)
    form = form_posting_to(client.get(f"/needs/{world.need.id}").data.decode(), "/pledge")
    offered = form.field("resource").options
    assert offered == [str(world.resource.id)]
    assert {str(far.id), str(used_up.id), str(other.id)}.isdisjoint(offered)
    # A resource that does not fit cannot be forced through the form either.
    forced = client.post(form.action, data=form.data(resource=str(far.id), quantity="1"))
    assert forced.status_code == 400 and _count(db, Match) == 0


def test_unverified_donor_is_told_why_there_is_no_pledge_form(
    client: Any, db: Any, login: Any, world: World, make_org: Any, make_user: Any
) -> None:
    org = make_org(status=VerificationStatus.PENDING)
    donor = make_user(Role.DONOR, org=org)
    login(donor)
    page = client.get(f"/needs/{world.need.id}").data.decode()
    assert "/pledge" not in page
    assert "审核" in page  # the reason: awaiting verification


@pytest.mark.parametrize("path", ["/login", "/register", "/households/import"])
def test_oversized_bodies_get_the_chinese_413_page(
    app: Any, client: Any, login: Any, world: World, path: str
) -> None:
    if path == "/households/import":
        login(world.staff)
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = {"username": "x" * (limit + 10), "password": "y"}
    response = client.post(path, data=body)
    assert response.status_code == 413
    assert "上传的文件过大" in response.data.decode()


def test_edit_pages_of_others_objects_answer_404(
    client: Any,
    db: Any,
    login: Any,
    world: World,
    make_org: Any,
    make_user: Any,
    make_need: Any,
) -> None:
    other_donor = make_user(Role.DONOR, org=make_org())
    login(other_donor)
    assert client.get(f"/resources/{world.resource.id}").status_code == 200  # public
    assert client.get(f"/resources/{world.resource.id}/edit").status_code == 404
    assert client.post(f"/resources/{world.resource.id}/edit", data={}).status_code == 404
    _as(client, login, world.other_staff)  # Huining staff, the need is in Jingyuan
    assert client.get(f"/needs/{world.need.id}/edit").status_code == 404
    _as(client, login, world.staff)
    submitted = make_need(world.village, world.household, status="submitted", title="待审需求")
    assert client.get(f"/needs/{submitted.id}/edit").status_code == 200
    verified = client.get(f"/needs/{world.need.id}/edit")
    assert verified.status_code == 409 and "只能撤回" in verified.data.decode()


def test_views_of_unmasked_data_are_audited_on_get(
    client: Any, db: Any, login: Any, world: World
) -> None:
    login(world.staff)
    before = _audits(db, "personal_data_viewed")
    page = client.get("/needs/new").data.decode()
    assert world.household.head_name in page  # the household choices show full names
    assert _audits(db, "personal_data_viewed") == before + 1
    _as(client, login, world.donor)
    client.post(f"/needs/{world.need.id}/pledge",
                data={"resource": str(world.resource.id), "quantity": "1"})  # fmt: skip
    _as(client, login, world.admin)
    before = _audits(db, "personal_data_viewed")
    queue = client.get("/matches/approvals").data.decode()
    assert world.household.head_name in queue
    assert _audits(db, "personal_data_viewed") == before + 1


def test_private_answers_are_not_cached_and_csp_is_tight(
    client: Any, login: Any, world: World
) -> None:
    public = client.get("/")
    assert "no-store" not in public.headers.get("Cache-Control", "")
    csp = public.headers["Content-Security-Policy"]
    for directive in ("frame-ancestors 'self'", "form-action 'self'", "base-uri 'self'"):
        assert directive in csp
    login(world.staff)
    page = client.get(f"/households/{world.household.id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"


def test_unsupported_methods_answer_405_with_allow(client: Any) -> None:
    response = client.open("/login", method="TRACE")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"] and "GET" in response.headers["Allow"]
