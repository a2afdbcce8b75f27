"""Who sees a resource: a public one everybody; one that is not (paused, closed, expired, out of
its validity, of an organization not verified) only its organization's members and the
administrators and auditors whose region it reaches; every other page answers 404. And what
each of them may do with it: post, edit, pause or close, allocate."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import VerificationStatus
from marketplace.matches.models import Match
from marketplace.resources.models import Resource, ResourceStatus
from tests.conftest import JINGYUAN, World
from tests.marketplace.resources.conftest import NEW, audited, resource_count, typing

TODAY = date.today()

# Why a resource reaching Jingyuan county is not public, as the database holds it.
HIDDEN: dict[str, dict[str, Any]] = {
    "paused": {"status": ResourceStatus.PAUSED},
    "closed": {"status": ResourceStatus.CLOSED},
    "expired": {"status": ResourceStatus.EXPIRED},
    "not_yet_valid": {"valid_from": TODAY + timedelta(days=1)},
    "validity_over": {
        "valid_from": TODAY - timedelta(days=30),
        "valid_until": TODAY - timedelta(days=1),
        "delivery_deadline": None,
    },
}
OTHER_ORG = {"pending_org": VerificationStatus.PENDING, "rejected_org": VerificationStatus.REJECTED}
COUNTY = {*HIDDEN, *OTHER_ORG}
OWN = {*HIDDEN, "township_paused"}  # the member's organization's
EVERY = {*COUNTY, "township_paused"}

# The hidden resources each viewer still finds. ``township_paused`` reaches only the township
# of the world's village: the county's and that township's administrators see it, the
# administrator of another township of the county does not (the county-wide ones reach them).
SEES: dict[str, set[str]] = {
    "anonymous": set(),
    "member": OWN,
    "other_donor": set(),
    "staff": set(),
    "county_admin": EVERY,
    "township_admin": EVERY,
    "other_township_admin": COUNTY,
    "city_admin": EVERY,
    "auditor": EVERY,
    "huining_admin": set(),
    "superuser": EVERY,
}
LOGIN = "sign-in page"
# What each viewer's attempt at each route of the world's public resource answers: posting a
# resource, editing it, pausing or closing it, allocating it. 200 attempts are only read (the
# member's own actions are in test_posting, test_editing and test_status).
ROUTES: dict[str, tuple[int | str, int | str, int | str | None, int | str]] = {
    "anonymous": (LOGIN, LOGIN, LOGIN, LOGIN),
    "member": (200, 200, None, 403),
    "other_donor": (200, 404, 404, 403),
    "staff": (403, 403, 403, 403),
    "county_admin": (403, 403, 403, 200),
    "township_admin": (403, 403, 403, 200),
    "other_township_admin": (403, 403, 403, 200),
    "city_admin": (403, 403, 403, 200),
    "auditor": (403, 403, 403, 403),
    # The resource reaches Jingyuan only: nothing to allocate in Huining (test_allocation).
    "huining_admin": (403, 403, 403, 403),
    "superuser": (403, 403, 403, 200),
}
SUGGESTED = "推荐需求"
PLEDGES = "认领与成效"


def answer(response: Any) -> int | str:
    if response.status_code == 302 and response.headers["Location"].startswith("/login"):
        return LOGIN
    return int(response.status_code)


@pytest.fixture
def hidden(
    db: Any, world: World, region: Any, make_org: Any, make_resource: Any
) -> dict[str, Resource]:
    county = [region(JINGYUAN)]
    found = {
        key: make_resource(world.org, county, title=f"不公开的资源：{key}", **values)
        for key, values in HIDDEN.items()
    }
    for key, status in OTHER_ORG.items():
        found[key] = make_resource(make_org(status=status), county, title=f"不公开的资源：{key}")
    found["township_paused"] = make_resource(
        world.org, [world.village.parent], title="不公开的资源：乡镇", status=ResourceStatus.PAUSED
    )
    return found


def browser_of(app: Any, client_of: Any, user: Any) -> Any:
    return app.test_client() if user is None else client_of(user)


# On the pages, one administrator of each kind of scope (the township and city ones are in the
# API's table below: the same rule, without a sign-in each).
ON_PAGES = [v for v in SEES if v not in ("township_admin", "other_township_admin", "city_admin")]


@pytest.mark.parametrize("viewer", ON_PAGES)
def test_what_each_viewer_sees_and_may_do(
    app: Any, db: Any, world: World, region: Any, people: dict[str, Any],
    hidden: dict[str, Resource], client_of: Any, pledge: Any, make_need: Any,
    make_household: Any, viewer: str,
) -> None:  # fmt: skip
    pledged = make_need(world.village, make_household(world.village), title="已认领的需求")
    match_id = pledge(world.donor, pledged, world.resource, 1)
    browser = browser_of(app, client_of, people[viewer])
    public = f"/resources/{world.resource.id}"
    page = browser.get(public)
    assert page.status_code == 200
    html = page.data.decode()
    assert world.resource.title in html and world.org.name in html
    # Only members manage it and read its panels; only administrators are led to allocate.
    member = viewer == "member"
    assert (f"{public}/pause" in html, f"{public}/edit" in html) == (member, member)
    assert (SUGGESTED in html, PLEDGES in html) == (member, member)
    assert (f'href="/matches/{match_id}"' in html) == member
    assert (f"{public}/allocate" in html) == (ROUTES[viewer][3] == 200)
    for secret in (world.household.head_name, world.household.head_id_number,
                   world.household.phone):  # fmt: skip
        assert secret not in html
    for key, resource in hidden.items():
        response = browser.get(f"/resources/{resource.id}")
        expected = 200 if key in SEES[viewer] else 404
        assert response.status_code == expected, (viewer, key)
        if expected == 200:
            assert resource.title in response.data.decode()
            assert ("未公开" in response.data.decode()) == (key in OWN and member)
        else:
            assert resource.title not in response.data.decode()
    # The list shows public resources only, to everyone.
    listing = browser.get("/resources/").data.decode()
    assert world.resource.title in listing
    assert not [key for key, r in hidden.items() if r.title in listing], viewer
    # The routes: what is refused is refused on GET and POST alike, and writes nothing.
    new, edit, move, allocate = ROUTES[viewer]
    attempt = typing([region(JINGYUAN)], title="不该写入的资源", submit="保存")
    count = resource_count(db)
    for url, expected in ((NEW, new), (f"{public}/edit", edit), (f"{public}/allocate", allocate)):
        assert answer(browser.get(url)) == expected, (viewer, url)
        if expected != 200:
            data = {"region": str(region(JINGYUAN).id), "cap": ""} if "allocate" in url else attempt
            assert answer(browser.post(url, data=data)) == expected, (viewer, url)
    for action in ("pause", "close") if move is not None else ():
        assert answer(browser.post(f"{public}/{action}")) == move, (viewer, action)
    db.session.expire_all()
    assert world.resource.status == ResourceStatus.ACTIVE
    assert world.resource.title == "捐赠洗衣机" and resource_count(db) == count
    assert audited(db, "resource_status", world.resource) == []
    assert audited(db, "resource_updated", world.resource) == []
    assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 1


def test_who_sees_which_resource_in_the_api(
    client: Any, db: Any, world: World, people: dict[str, Any], hidden: dict[str, Resource],
    token_for: Any,
) -> None:  # fmt: skip
    for viewer, user in people.items():
        headers = {} if user is None else token_for(user)
        one = client.get(f"/api/v1/resources/{world.resource.id}", headers=headers)
        assert one.status_code == 200 and one.get_json()["title"] == world.resource.title, viewer
        for key, resource in hidden.items():
            response = client.get(f"/api/v1/resources/{resource.id}", headers=headers)
            expected = 200 if key in SEES[viewer] else 404
            assert response.status_code == expected, (viewer, key)
            body = response.get_json()
            if expected == 200:
                assert body["id"] == resource.id
            else:
                assert body == {"status": 404, "message": "未找到该页面或记录。"}
        listed = [r["id"] for r in client.get("/api/v1/resources", headers=headers).get_json()]
        assert listed == [world.resource.id], viewer


def test_a_donor_lists_the_organizations_own_resources(
    client: Any, db: Any, login: Any, world: World, hidden: dict[str, Resource]
) -> None:
    login(world.donor)
    listing = client.get("/resources/").data.decode()
    assert "本单位的资源" in listing and "发布资源" in listing
    mine = client.get("/resources/?mine=1").data.decode()
    shown = {key for key, r in hidden.items() if r.title in mine}
    assert shown == OWN
    assert world.resource.title in mine
    assert "已关闭" in mine and "已过期" in mine  # each card says its state
    assert "已关闭" not in client.get("/resources/").data.decode()


def test_only_donors_have_a_list_of_their_own(
    app: Any, db: Any, world: World, hidden: dict[str, Resource], client_of: Any
) -> None:
    for browser in (app.test_client(), client_of(world.admin)):
        listing = browser.get("/resources/?mine=1").data.decode()
        assert "本单位的资源" not in listing and "发布资源" not in listing
        assert world.resource.title in listing  # the public list, whatever was asked
        assert not [key for key, r in hidden.items() if r.title in listing]


def test_the_list_is_paged(
    app: Any, client: Any, db: Any, world: World, region: Any, make_resource: Any
) -> None:
    size = app.config["PAGE_SIZE"]
    for n in range(size):
        make_resource(world.org, [region(JINGYUAN)], title=f"分页资源{n:02d}")
    first = client.get("/resources/").data.decode()
    second = client.get("/resources/?page=2").data.decode()
    titles = [f"分页资源{n:02d}" for n in range(size)] + [world.resource.title]
    on_first = [t for t in titles if t in first]
    on_second = [t for t in titles if t in second]
    assert len(on_first) == size and len(on_second) == 1
    assert not set(on_first) & set(on_second)
    assert "暂无记录。" in client.get("/resources/?page=9").data.decode()
