"""Fixtures of the resource tests: a browser and an API token per user, the resource form as the
page renders it, readers of a form shown again (the message at its field, the input kept), and
approved pledges made through the API as a donor and an administrator would."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import TokenScope, User, VerificationStatus
from marketplace.accounts.services import create_token
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.roles import Role
from tests.conftest import BAIYIN, PASSWORD, World
from tests.pages import PageForm, find_form

TITLE = "爱心家电捐赠：困难户优先"
DESCRIPTION = "为建档立卡贫困户捐赠家电，送货上门。"
NEW = "/resources/new"


def typing(area: list[Region], **changes: Any) -> dict[str, Any]:
    """What a donor types into the resource form: sixty washing machines for ``area``."""
    today = date.today()
    typed: dict[str, Any] = {
        "kind": "goods",
        "title": TITLE,
        "description": DESCRIPTION,
        "categories": ["necessities.washer"],
        "capacity": "60",
        "unit": "台",
        "unit_value": "1800",
        "service_area": [str(r.id) for r in area],
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=90)).isoformat(),
        "delivery_deadline": (today + timedelta(days=60)).isoformat(),
    }
    typed.update(changes)
    return typed


def unchecked(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The data with the checkbox ``name`` cleared, as the browser sends it (not at all)."""
    return {k: v for k, v in data.items() if k != name}


def form_on(page: str, url: str) -> PageForm:
    """The resource form of a page (it posts to the page itself)."""
    return find_form(page, None, page=url)


def errors_at(page: str, name: str) -> list[str]:
    """The messages shown at the field ``name``: between its control and the next one."""
    start = page.index(f'name="{name}"')
    following = page.find(' name="', start + len(name) + 7)
    end = following if following != -1 else len(page)
    found = re.findall(r'class="invalid-feedback[^"]*">([^<]*)<', page[start:end])
    return [html_lib.unescape(m).strip() for m in found]


def as_list(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def assert_kept(
    page: str, url: str, sent: dict[str, Any], *, except_: tuple[str, ...] = ()
) -> None:
    """The form shown again holds what was sent, field by field (the button aside)."""
    again = form_on(page, url).data()
    for name, value in sent.items():
        if name == "submit" or name in except_:
            continue
        assert as_list(again.get(name, [])) == as_list(value), (name, again.get(name), value)


def resource_count(db: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count(Resource.id)))


AUDIT = sa.table(
    "audit_event",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("actor_id", sa.Integer),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.Integer),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)


def audited(db: Any, action: str, resource: Resource | int) -> list[Any]:
    """The audit trail's events ``action`` about one resource, oldest first."""
    resource_id = resource if isinstance(resource, int) else resource.id
    return list(
        db.session.execute(
            sa.select(AUDIT)
            .where(
                AUDIT.c.action == action,
                AUDIT.c.object_type == "resource",
                AUDIT.c.object_id == resource_id,
            )
            .order_by(AUDIT.c.id)
        )
    )


def posted_id(response: Any) -> int:
    """The id of the resource a successful post redirects to."""
    assert response.status_code == 302, response.data.decode()[:2000]
    found = re.fullmatch(r"/resources/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


@pytest.fixture
def client_of(app: Any) -> Callable[[User], Any]:
    """A browser of its own, signed in as ``user``: several users side by side."""

    def signed_in(user: User) -> Any:
        browser = app.test_client()
        response = browser.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.data.decode()[:500]
        return browser

    return signed_in


@pytest.fixture
def token_for(db: Any) -> Callable[..., dict[str, str]]:
    """The Authorization header of a fresh API token of ``user``."""

    def make(user: User, scope: TokenScope = TokenScope.WRITE) -> dict[str, str]:
        _token, plain = create_token(user, "资源测试", scope=scope)
        db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


@pytest.fixture
def pledge(client: Any, token_for: Any) -> Callable[..., int]:
    """Pledge ``quantity`` of a resource to a need as ``donor``, through the API; the match's id."""

    def pledged(donor: User, need: Any, resource: Resource, quantity: int) -> int:
        body = {"resource_id": resource.id, "quantity": quantity}
        made = client.post(f"/api/v1/needs/{need.id}/pledge", json=body, headers=token_for(donor))
        assert made.status_code == 201, made.data
        return int(made.get_json()["id"])

    return pledged


@pytest.fixture
def approve(client: Any, db: Any, token_for: Any, pledge: Any) -> Callable[..., int]:
    """Pledge as the donor and approve as the administrator, through the API; the match's id."""

    def approved(donor: User, admin: User, need: Any, resource: Resource, quantity: int) -> int:
        match_id = pledge(donor, need, resource, quantity)
        done = client.post(f"/api/v1/matches/{match_id}/approve", headers=token_for(admin))
        assert done.status_code == 200, done.data
        db.session.expire_all()
        return match_id

    return approved


@pytest.fixture
def people(
    db: Any, world: World, region: Any, make_user: Any, make_org: Any
) -> dict[str, User | None]:
    """Everyone who may look at a resource reaching Jingyuan county, by the part they play."""
    township = world.village.parent
    other_township = next(t for t in township.parent.children if t.id != township.id)
    other_org = make_org(name="白银市另一家爱心企业")
    return {
        "anonymous": None,
        "member": world.donor,
        "other_donor": make_user(Role.DONOR, org=other_org, username="otherdonor"),
        "staff": world.staff,
        "county_admin": world.admin,
        "township_admin": make_user(Role.ADMIN, [township], username="townshipadmin"),
        "other_township_admin": make_user(Role.ADMIN, [other_township], username="othertownship"),
        "city_admin": make_user(Role.ADMIN, [region(BAIYIN)], username="cityadmin"),
        "auditor": world.auditor,
        "huining_admin": world.huining_admin,
        "superuser": make_user(Role.SUPERUSER, username="root"),
    }


@pytest.fixture
def org_in(make_org: Any, make_user: Any) -> Callable[[VerificationStatus], User]:
    """A donor of a new organization in the given state of verification."""
    counter = iter(range(1, 100))

    def donor(status: VerificationStatus) -> User:
        n = next(counter)
        org = make_org(status=status, name=f"靖远县助学公益协会{n}")
        if status == VerificationStatus.REJECTED:
            org.status_reason = "统一社会信用代码与营业执照不符"
        return make_user(Role.DONOR, org=org, username=f"{status.value}donor{n}")

    return donor
