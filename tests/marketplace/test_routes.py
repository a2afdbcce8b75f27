"""Every route declares who may use it; roles against routes behave as declared."""

from __future__ import annotations

import re
from typing import Any

import pytest

from marketplace.permissions import EXEMPT_ENDPOINTS
from marketplace.roles import Role
from tests.conftest import BAIYIN


def test_every_route_declares_an_access_rule(app: Any) -> None:
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in EXEMPT_ENDPOINTS
        and getattr(app.view_functions[rule.endpoint], "access_rule", None) is None
    ]
    assert undeclared == []


def test_a_route_without_a_rule_is_refused(app: Any, client: Any) -> None:
    """Fail closed: a view that forgot its declaration answers 403 even to the public."""
    app.view_functions["home.health"].access_rule, saved = (
        None,
        app.view_functions["home.health"].access_rule,
    )
    try:
        assert client.get("/healthz").status_code == 403
    finally:
        app.view_functions["home.health"].access_rule = saved


ADMIN_PAGES = ["/admin/organizations", "/admin/users", "/admin/users/new", "/plans/monitoring"]
SIGNED_IN_PAGES = ["/dashboard", "/account/password"]
PUBLIC_PAGES = ["/", "/login", "/register", "/healthz"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_answer_anyone(client: Any, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PAGES + SIGNED_IN_PAGES)
def test_anonymous_users_are_sent_to_sign_in(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.location


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.DONOR, 403),
        (Role.STAFF, 403),
        (Role.AUDITOR, 403),
        (Role.ADMIN, 200),
        (Role.SUPERUSER, 200),
    ],
)
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_by_role(
    client: Any,
    login: Any,
    make_user: Any,
    make_org: Any,
    region: Any,
    villages: Any,
    role: Role,
    expected: int,
    path: str,
) -> None:
    scope = {
        Role.DONOR: [],
        Role.STAFF: villages(BAIYIN)[:1],
        Role.AUDITOR: [region(BAIYIN)],
        Role.ADMIN: [region(BAIYIN)],
        Role.SUPERUSER: [],
    }[role]
    org = make_org() if role == Role.DONOR else None
    login(make_user(role, scope, org))
    assert client.get(path).status_code == expected


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_its_dashboard(
    client: Any,
    login: Any,
    make_user: Any,
    make_org: Any,
    region: Any,
    villages: Any,
    role: Role,
) -> None:
    scope = villages(BAIYIN)[:1] if role == Role.STAFF else [region(BAIYIN)]
    if role in (Role.DONOR, Role.SUPERUSER):
        scope = []
    org = make_org() if role == Role.DONOR else None
    login(make_user(role, scope, org))
    page = client.get("/dashboard").data.decode()
    heading = {
        Role.DONOR: "捐赠方工作台",
        Role.STAFF: "村干部工作台",
        Role.ADMIN: "管理员工作台",
        Role.SUPERUSER: "管理员工作台",
        Role.AUDITOR: "督查工作台",
    }[role]
    assert heading in page


def test_pages_load_no_external_asset(client: Any) -> None:
    page = client.get("/").data.decode()
    assert "cdn" not in page.lower()
    assert "http://" not in page.replace("http://localhost", "")
    assert "https://" not in page


def _menu_links(page: str) -> list[str]:
    """The menu's entries: plain links and those inside its task groups' drop-downs."""
    nav = page.split('id="mainnav"', 1)[1].split('role="search"', 1)[0]
    return re.findall(r'<a class="(?:nav-link|dropdown-item)[^"]*" href="([^"]+)"', nav)


@pytest.mark.parametrize("role", [None, *Role])
def test_the_menu_shows_exactly_the_pages_the_role_may_open(
    client: Any, login: Any, make_user: Any, world: Any, role: Role | None
) -> None:
    """The menu is built from the rules the routes declare: every entry opens, and no page
    of the menu's list that the role may open is missing from it."""
    users = {Role.DONOR: world.donor, Role.STAFF: world.staff, Role.ADMIN: world.admin,
             Role.AUDITOR: world.auditor}  # fmt: skip
    if role == Role.SUPERUSER:
        users[role] = make_user(Role.SUPERUSER, username="root")
    if role is not None:
        login(users[role])
    links = _menu_links(client.get("/").data.decode())
    assert links, "the menu is empty"
    for link in links:
        assert client.get(link).status_code == 200, link
    everyone = {"/resources/", "/disclosure"}
    assert everyone <= set(links)
    if role is None:
        assert set(links) == everyone
    if role == Role.DONOR:
        assert "/needs/browse" in links and "/households/" not in links
    if role in Role.ADMINS:
        assert {"/admin/organizations", "/admin/users"} <= set(links)
    else:
        assert "/admin/users" not in links
    assert ("/audit" in " ".join(links)) == (role in Role.OVERSIGHT)
    # The identification queue and the produce pages: in the menu of exactly the roles they
    # let in (each once).
    for path, allowed in MENU_PAGES.items():
        assert (path in links) == (role in allowed), (path, role)
        assert links.count(path) <= 1, path


MENU_PAGES: dict[str, set[Role]] = {
    "/households/identification": set(Role.EDITORS | Role.ADMINS),
    "/produce/": set(Role.REGION_READERS),
    "/produce/market": {Role.DONOR},
    "/produce/orders": set(Role),
    "/produce/review": set(Role.ADMINS),
}


# --- produce sales (消费扶贫): each page by role ----------------------------------------------

PRODUCE_PAGES = {
    # path: the roles that open it (everyone else signed in: 403)
    "/produce/": {Role.STAFF, Role.ADMIN, Role.AUDITOR, Role.SUPERUSER},
    "/produce/orders": set(Role),
    "/produce/market": {Role.DONOR},
    "/produce/review": {Role.ADMIN, Role.SUPERUSER},
    "/produce/listings/new": {Role.STAFF, Role.SUPERUSER},
}


@pytest.mark.parametrize("role", [None, *Role])
@pytest.mark.parametrize("path", sorted(PRODUCE_PAGES))
def test_produce_pages_by_role(
    client: Any, login: Any, make_user: Any, world: Any, role: Role | None, path: str
) -> None:
    users = {Role.DONOR: world.donor, Role.STAFF: world.staff, Role.ADMIN: world.admin,
             Role.AUDITOR: world.auditor}  # fmt: skip
    if role == Role.SUPERUSER:
        users[role] = make_user(Role.SUPERUSER, [world.village], username="root")
    if role is None:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location
        return
    login(users[role])
    assert client.get(path).status_code == (200 if role in PRODUCE_PAGES[path] else 403)


@pytest.mark.parametrize("role", [None, *Role])
def test_a_listing_on_sale_is_public_and_its_order_is_its_parties(
    client: Any, login: Any, make_user: Any, world: Any, make_resource: Any, region: Any,
    role: Role | None,
) -> None:  # fmt: skip
    from datetime import date
    from decimal import Decimal

    from marketplace.extensions import db as _db
    from marketplace.produce import services as produce
    from marketplace.resources.models import ResourceKind
    from tests.conftest import JINGYUAN

    listing = produce.create_listing(
        world.staff, world.village, world.household, product="荞麦",
        category="consumption.produce", quantity=10, unit="斤", price=Decimal(5),
        available_from=date(2026, 1, 1),
    )  # fmt: skip
    produce.submit_listing(world.staff, listing)
    produce.verify_listing(world.admin, listing)
    purchase = make_resource(world.org, [region(JINGYUAN)], kind=ResourceKind.PURCHASE,
                             categories=["consumption.produce"], capacity=1000, unit="元",
                             unit_value=Decimal(1))  # fmt: skip
    order = produce.place_order(world.donor, listing, purchase, 2)
    _db.session.commit()
    users = {Role.DONOR: world.donor, Role.STAFF: world.staff, Role.ADMIN: world.admin,
             Role.AUDITOR: world.auditor}  # fmt: skip
    if role == Role.SUPERUSER:
        users[role] = make_user(Role.SUPERUSER, username="root")
    if role is not None:
        login(users[role])
    assert client.get(f"/produce/listings/{listing.id}").status_code == 200
    answer = client.get(f"/produce/orders/{order.id}")
    if role is None:
        assert answer.status_code == 302
    else:
        assert answer.status_code == 200  # the buyer, and the village's region


# --- follow-ups of results and a donor's impact (issue 16): each page by role --------------------

FOLLOW_UP_PAGES = {
    # path: the roles that open it (everyone else signed in: 403; signed out: sign in)
    "/follow-ups/": set(Role.REGION_READERS),
    "/impact/": {Role.DONOR},
    "/impact/organizations/": set(Role.ADMINS | Role.OVERSIGHT),
}


@pytest.mark.parametrize("role", [None, *Role])
@pytest.mark.parametrize("path", sorted(FOLLOW_UP_PAGES))
def test_follow_up_pages_by_role(
    client: Any, login: Any, make_user: Any, world: Any, role: Role | None, path: str
) -> None:
    users = {Role.DONOR: world.donor, Role.STAFF: world.staff, Role.ADMIN: world.admin,
             Role.AUDITOR: world.auditor}  # fmt: skip
    if role == Role.SUPERUSER:
        users[role] = make_user(Role.SUPERUSER, username="root")
    if role is None:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location
        return
    login(users[role])
    assert client.get(path).status_code == (200 if role in FOLLOW_UP_PAGES[path] else 403)


@pytest.mark.parametrize("role", [None, *Role])
def test_the_certificate_check_is_public(
    client: Any, login: Any, make_user: Any, world: Any, role: Role | None
) -> None:
    users = {Role.DONOR: world.donor, Role.STAFF: world.staff, Role.ADMIN: world.admin,
             Role.AUDITOR: world.auditor}  # fmt: skip
    if role == Role.SUPERUSER:
        users[role] = make_user(Role.SUPERUSER, username="root")
    if role is not None:
        login(users[role])
    assert client.get("/verify").status_code == 200
