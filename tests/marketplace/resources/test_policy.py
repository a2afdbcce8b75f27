"""resources.policy: who may view, edit, pause, resume and close a resource, by role, region and
state; the resource page shows exactly the allowed buttons; a raced move is refused with 409."""

from __future__ import annotations

import re
from typing import Any

import pytest

from marketplace.accounts.models import Role, User, VerificationStatus
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.resources import policy, services
from marketplace.resources.models import Resource, ResourceStatus
from tests.conftest import HUINING, World
from tests.pages import forms_of
from tests.races import from_the_same_read

R = ResourceStatus
STATES = (R.ACTIVE, R.PAUSED, R.CLOSED, R.EXPIRED)
ACTIONS = ("view", "edit", "pause", "activate", "close")

# Who (towards the world's resource: posted by world.org, reaching Jingyuan county) x state ->
# what they may do. Only an active resource of a verified organization, valid today, is public.
TABLE: dict[str, tuple[str, str, str, str]] = {
    #                ACTIVE                   PAUSED                      CLOSED  EXPIRED
    "member":       ("view edit pause close", "view edit activate close", "view", "view"),
    # An administrator who belongs to the donor organization reads it, but is no donor of it.
    "admin_member": ("view",                  "view",                     "view", "view"),
    "other_donor":  ("view",                  "",                         "",     ""),
    "admin_here":   ("view",                  "view",                     "view", "view"),
    "admin_away":   ("view",                  "",                         "",     ""),
    "auditor":      ("view",                  "view",                     "view", "view"),
    "staff":        ("view",                  "",                         "",     ""),
    "superuser":    ("view",                  "view",                     "view", "view"),
    "anonymous":    ("view",                  "",                         "",     ""),
}  # fmt: skip
CASES = [
    pytest.param(who, state, set(row[i].split()), id=f"{who}-{state.value}")
    for who, row in TABLE.items()
    for i, state in enumerate(STATES)
]


@pytest.fixture
def people(world: World, make_user: Any, make_org: Any, region: Any) -> dict[str, User | None]:
    other_org = make_org()
    return {
        "member": world.donor,
        "admin_member": make_user(Role.ADMIN, [region(HUINING)], org=world.org),
        "other_donor": make_user(Role.DONOR, org=other_org),
        "admin_here": world.admin,
        "admin_away": world.huining_admin,
        "auditor": world.auditor,
        "staff": world.staff,
        "superuser": make_user(Role.SUPERUSER),
        "anonymous": None,
    }


def _put(db: Any, resource: Resource, state: ResourceStatus) -> None:
    """Set up a state directly (test setup only: the application moves through the workflow)."""
    resource.status = state
    db.session.commit()


def _allowed(user: User | None, resource: Resource) -> set[str]:
    checks = {
        "view": policy.can_view,
        "edit": policy.can_edit,
        "pause": policy.can_pause,
        "activate": policy.can_activate,
        "close": policy.can_close,
    }
    return {name for name, check in checks.items() if check(user, resource)}


@pytest.mark.parametrize(("who", "state", "expected"), CASES)
def test_policy_table(
    db: Any, world: World, people: dict[str, Any], who: str, state: ResourceStatus,
    expected: set[str],
) -> None:  # fmt: skip
    _put(db, world.resource, state)
    user = people[who]
    assert _allowed(user, world.resource) == expected
    # The page's buttons come from actions(): the same answers.
    assert {a for a, ok in policy.actions(user, world.resource).items() if ok} == expected - {
        "view"
    }
    # Moves by hand follow the table; EXPIRED is never one.
    for to in STATES:
        manual = {R.PAUSED: "pause", R.ACTIVE: "activate", R.CLOSED: "close"}.get(to)
        assert policy.can_move(user, world.resource, to) == (manual in expected)


def test_an_unverified_or_out_of_date_resource_is_not_public(
    db: Any, world: World, people: dict[str, Any]
) -> None:
    from datetime import date, timedelta

    assert policy.is_public(world.resource)
    world.org.status = VerificationStatus.PENDING
    db.session.commit()
    assert not policy.is_public(world.resource)
    assert not policy.can_view(people["other_donor"], world.resource)
    assert policy.can_view(people["member"], world.resource)
    world.org.status = VerificationStatus.VERIFIED
    world.resource.valid_until = date.today() - timedelta(days=1)
    db.session.commit()
    assert not policy.is_public(world.resource)
    assert not policy.can_view(None, world.resource)
    # The old import keeps working for the packages that read it from the services.
    assert services.is_public is policy.is_public


def test_the_services_refuse_what_the_policy_refuses(
    db: Any, world: World, people: dict[str, Any]
) -> None:
    with pytest.raises(ServiceError) as refused:
        services.set_status(people["other_donor"], world.resource, R.PAUSED)
    assert refused.value.status == 404
    with pytest.raises(ServiceError) as refused:
        services.set_status(world.donor, world.resource, R.EXPIRED)  # only the expiry does that
    assert refused.value.status == 409
    services.set_status(world.donor, world.resource, R.CLOSED)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.set_status(world.donor, world.resource, R.ACTIVE)
    assert refused.value.status == 409
    db.session.refresh(world.resource)
    assert world.resource.status == R.CLOSED


# --- the page shows exactly the allowed buttons --------------------------------------------


def _buttons(html: str, resource_id: int) -> set[str]:
    """The actions the resource page offers: its POST forms to the resource, and the edit link."""
    prefix = f"/resources/{resource_id}/"
    shown = {
        f.action.removeprefix(prefix)
        for f in forms_of(html)
        if f.method == "post" and f.action.startswith(prefix) and f.buttons()
    }
    if re.search(rf'href="{re.escape(prefix)}edit"', html):
        shown.add("edit")
    return shown


@pytest.mark.parametrize(
    ("who", "state"),
    [("member", R.ACTIVE), ("member", R.PAUSED), ("member", R.CLOSED), ("admin_here", R.PAUSED),
     ("other_donor", R.ACTIVE)],
)  # fmt: skip
def test_the_page_shows_exactly_the_allowed_buttons(
    app: Any, db: Any, world: World, people: dict[str, Any], client_of: Any, who: str,
    state: ResourceStatus,
) -> None:  # fmt: skip
    _put(db, world.resource, state)
    user = people[who]
    page = client_of(user.username).get(f"/resources/{world.resource.id}")
    assert page.status_code == 200
    expected = set(TABLE[who][STATES.index(state)].split()) - {"view"}
    assert _buttons(page.get_data(as_text=True), world.resource.id) == expected


@pytest.fixture
def client_of(app: Any) -> Any:
    from tests.conftest import PASSWORD

    def signed_in(username: str) -> Any:
        client = app.test_client()
        client.post("/login", data={"username": username, "password": PASSWORD})
        return client

    return signed_in


# --- races ----------------------------------------------------------------------------------


def test_a_raced_move_is_refused_with_409(app: Any, db: Any, world: World) -> None:
    """Two requests read the resource active; one closes it, the other, pausing from what it
    read, finds the status changed."""
    donor_id, resource_id = world.donor.id, world.resource.id

    def read() -> tuple[User, Resource]:
        return _db.session.get(User, donor_id), _db.session.get(Resource, resource_id)

    def moving(to: ResourceStatus) -> Any:
        return lambda loaded: services.set_status(loaded[0], loaded[1], to)

    first, second = from_the_same_read(app, (read, moving(R.CLOSED)), (read, moving(R.PAUSED)))
    assert first is None
    assert second is not None and second.status == 409
    assert second.message == policy.WORKFLOW.raced
    db.session.refresh(world.resource)
    assert world.resource.status == R.CLOSED


def test_a_stale_page_answers_409(app: Any, db: Any, world: World, client_of: Any) -> None:
    """The same donor in two tabs: the second tab's button is out of date."""
    tab1, tab2 = client_of("donor"), client_of("donor")
    page = f"/resources/{world.resource.id}"
    assert {"pause", "close"} <= _buttons(tab2.get(page).get_data(as_text=True), world.resource.id)
    assert tab1.post(f"{page}/close").status_code == 302
    assert tab2.post(f"{page}/pause").status_code == 409
    db.session.refresh(world.resource)
    assert world.resource.status == R.CLOSED
