"""The shared page patterns of issue 14, as the server renders them: lists in pages with their
count and links that keep the filters, the menu grouped by task, the fields a phone needs.

How they look (cards on a phone, the menu on one line at a desk, axe-core) is measured in a
real browser by tests/browser/test_layout.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from marketplace.accounts.models import VerificationStatus
from marketplace.notifications.services import notify
from marketplace.roles import Role
from tests.conftest import JINGYUAN
from tests.pages import forms_of


def _notifications(user: Any, count: int) -> None:
    for number in range(count):
        notify([user], "need_verified", f"/needs/{number}", title=f"需求{number}")


def test_notifications_come_a_page_at_a_time_with_their_count(
    app: Any, client: Any, login: Any, world: Any, db: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    _notifications(world.staff, 12)
    db.session.commit()
    login(world.staff)
    first = client.get("/notifications/").data.decode()
    assert "第 1–5 条，共 12 条" in first
    assert first.count('class="list-group-item') == 5
    assert "需求11" in first and "需求6" not in first  # newest first
    assert 'href="/notifications/?page=2"' in first and 'aria-current="page">1<' in first
    last = client.get("/notifications/?page=3").data.decode()
    assert "第 11–12 条，共 12 条" in last and "需求0" in last and "需求2" not in last


def test_the_pager_keeps_the_filters_of_the_list(
    app: Any, client: Any, login: Any, world: Any, make_household: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    make_household(world.village)
    login(world.admin)
    page = client.get("/needs/?status=verified").data.decode()
    assert "共 1 条" in page  # the world's one verified need: one page, its count still shown
    households = client.get(f"/households/?village={world.village.id}").data.decode()
    links = re.findall(r'class="page-link" href="([^"]+)"', households)
    assert f"/households/?page=2&amp;village={world.village.id}" in links
    assert "第 1–1 条，共 2 条" in households


def test_users_and_organizations_are_paged(
    app: Any, client: Any, login: Any, world: Any, make_user: Any, make_org: Any, monkeypatch: Any
) -> None:
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for number in range(3):
        make_user(Role.STAFF, [world.village], username=f"pagestaff{number}")
        make_org(VerificationStatus.PENDING, region_code=JINGYUAN, name=f"待审单位{number}")
    login(world.admin)
    first = client.get("/admin/users").data.decode()
    total = int(re.search(r"共 (\d+) 条", first).group(1))  # type: ignore[union-attr]
    assert total >= 5 and first.count("<tr>") - 1 == 2  # the header row and two users
    last = client.get(f"/admin/users?page={(total + 1) // 2}").data.decode()
    assert f"共 {total} 条" in last
    pending = client.get("/admin/organizations").data.decode()
    assert "第 1–2 条，共 3 条" in pending and "待审单位2" in pending and "待审单位0" not in pending
    rest = client.get("/admin/organizations?status=pending&page=2").data.decode()
    assert "第 3–3 条，共 3 条" in rest and "待审单位0" in rest


def _menu(page: str) -> str:
    return page.split('id="mainnav"', 1)[1].split('role="search"', 1)[0]


def test_the_menu_groups_the_administrators_pages_by_task(
    client: Any, login: Any, world: Any
) -> None:
    login(world.admin)
    menu = _menu(client.get("/needs/review").data.decode())
    groups = re.findall(
        r'<button class="nav-link dropdown-toggle[^"]*"[^>]*>([^<]+)</button>', menu
    )
    assert groups == ["需求与对接", "审核", "监督", "账户"]
    # The page itself is marked in its group, and the group as the current section.
    assert re.search(r'dropdown-toggle active"[^>]*aria-current="true">审核<', menu)
    assert re.search(r'href="/needs/review" aria-current="page">待审核需求<', menu)
    # A page reached from a list marks that list's entry.
    detail = _menu(client.get(f"/needs/{world.need.id}").data.decode())
    assert re.search(r'href="/needs/" aria-current="true">需求<', detail)


def test_a_signed_out_visitor_sees_plain_links_and_a_skip_link(client: Any) -> None:
    page = client.get("/").data.decode()
    assert 'href="#main"' in page and '<main class="container-xxl" id="main"' in page
    assert "dropdown-toggle" not in _menu(page)


@pytest.mark.parametrize(
    ("path", "who", "expected"),
    [
        ("/register", None, {"phone": ("tel", "tel"), "email": ("email", None)}),
        ("/households/new", "staff", {"phone": ("tel", "tel"),
                                      "member_count": ("number", "numeric"),
                                      "income_per_capita": ("number", "decimal")}),
        ("/needs/new", "staff", {"quantity": ("number", "numeric"),
                                 "estimated_value": ("number", "decimal"),
                                 "needed_by": ("date", None)}),
        ("/resources/new", "donor", {"capacity": ("number", "numeric"),
                                     "unit_value": ("number", "decimal"),
                                     "valid_from": ("date", None)}),
    ],
)  # fmt: skip
def test_phone_keyboards_fit_the_fields(
    client: Any, login: Any, world: Any, path: str, who: str | None, expected: dict[str, Any]
) -> None:
    """A number brings the number pad, a phone number the phone pad, a date the date picker."""
    if who:
        login(getattr(world, who))
    form = next(f for f in forms_of(client.get(path).data.decode()) if f.method == "post"
                and set(expected) <= f.names)  # fmt: skip
    for name, (kind, inputmode) in expected.items():
        control = form.field(name)
        assert control.type == kind, name
        assert control.attrs.get("inputmode") == inputmode, name


def test_the_identification_queue_and_produce_pages_mark_their_entries(
    client: Any, login: Any, world: Any
) -> None:
    """精准识别 sits in 审核 with the other queues (a plain link for the staff, who have no
    other); the produce pages in 需求与对接, the review of listings in 审核."""
    login(world.admin)
    menu = _menu(client.get("/households/identification").data.decode())
    assert re.search(r'dropdown-toggle active"[^>]*aria-current="true">审核<', menu)
    assert re.search(r'href="/households/identification" aria-current="page">精准识别<', menu)
    menu = _menu(client.get("/produce/review").data.decode())
    assert re.search(r'href="/produce/review" aria-current="page">待审核的农产品<', menu)
    menu = _menu(client.get("/produce/orders").data.decode())
    assert re.search(r'dropdown-toggle active"[^>]*aria-current="true">需求与对接<', menu)
    assert re.search(r'href="/produce/orders" aria-current="page">农产品订单<', menu)
    client.post("/logout")
    login(world.staff)
    menu = _menu(client.get(f"/households/{world.household.id}").data.decode())
    assert re.search(r'<a class="nav-link" href="/households/identification">精准识别<', menu)
    menu = _menu(client.get("/produce/listings/new").data.decode())
    assert re.search(r'href="/produce/" aria-current="true">农产品<', menu)
