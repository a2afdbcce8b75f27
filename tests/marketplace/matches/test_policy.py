"""matches.policy: who may approve, reject, withdraw, deliver, confirm, report non-receipt and
resolve a match, and decide an objection, by role, region and state; the match page and the
approval queue show exactly the allowed buttons; raced moves are refused with 409."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from marketplace.accounts.models import Role, User
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.matches import policy, services
from marketplace.matches.models import Match, MatchStatus, Objection, ObjectionStatus
from marketplace.timefmt import beijing_today
from tests.conftest import JINGYUAN, World
from tests.pages import forms_of
from tests.races import from_the_same_read

S = MatchStatus
STATES = (S.PROPOSED, S.APPROVED, S.DELIVERED, S.DISPUTED, S.CONFIRMED, S.REJECTED, S.CANCELLED,
          S.EXPIRED)  # fmt: skip
MOVES = ("approve", "reject", "withdraw", "deliver", "confirm", "report_non_receipt", "resolve")
CHECKS = {
    "approve": policy.can_approve,
    "reject": policy.can_reject,
    "withdraw": policy.can_withdraw,
    "deliver": policy.can_deliver,
    "confirm": policy.can_confirm,
    "report_non_receipt": policy.can_report_non_receipt,
    "resolve": policy.can_resolve,
}

# Who (towards a pledge of the world's donor to a need of a Jingyuan village) x state -> the
# moves they may make. States not named in a row allow that person nothing.
TABLE: dict[str, dict[MatchStatus, str]] = {
    "admin_here": {S.PROPOSED: "approve reject", S.DISPUTED: "resolve"},
    # An administrator of the region who belongs to the donor organization: no approving it.
    "admin_member": {S.PROPOSED: "reject", S.DISPUTED: "resolve"},
    "admin_away": {},
    "superuser": {S.PROPOSED: "approve reject", S.DELIVERED: "confirm report_non_receipt",
                  S.DISPUTED: "resolve"},
    "staff_here": {S.DELIVERED: "confirm report_non_receipt"},
    "staff_away": {},
    "donor": {S.PROPOSED: "withdraw", S.APPROVED: "deliver"},
    "other_donor": {},
    "auditor": {},
}  # fmt: skip
CASES = [
    pytest.param(who, state, set(row.get(state, "").split()), id=f"{who}-{state.value}")
    for who, row in TABLE.items()
    for state in STATES
]
# Who reads the objections against the match, and the objectors' contacts.
READERS = {
    "admin_here": {"read_objections", "read_contacts"},
    "admin_member": {"read_objections", "read_contacts"},
    "superuser": {"read_objections", "read_contacts"},
    "staff_here": {"read_objections"},
    "donor": {"read_objections"},
}


@pytest.fixture
def people(world: World, make_user: Any, make_org: Any, region: Any) -> dict[str, User]:
    return {
        "admin_here": world.admin,
        "admin_member": make_user(Role.ADMIN, [region(JINGYUAN)], org=world.org),
        "admin_away": world.huining_admin,
        "superuser": make_user(Role.SUPERUSER),
        "staff_here": world.staff,
        "staff_away": world.other_staff,
        "donor": world.donor,
        "other_donor": make_user(Role.DONOR, org=make_org()),
        "auditor": world.auditor,
    }


@pytest.fixture
def pledged(db: Any, world: World) -> Match:
    match = services.pledge(world.donor, world.need, world.resource, 1)
    db.session.commit()
    return match


def _put(db: Any, match: Match, state: MatchStatus) -> None:
    """Set up a state directly (test setup only: the application moves through the workflow)."""
    match.status = state
    db.session.commit()


@pytest.mark.parametrize(("who", "state", "expected"), CASES)
def test_policy_table(
    db: Any, people: dict[str, User], pledged: Match, who: str, state: MatchStatus,
    expected: set[str],
) -> None:  # fmt: skip
    _put(db, pledged, state)
    user = people[who]
    assert {m for m in MOVES if CHECKS[m](user, pledged)} == expected
    may = policy.actions(user, pledged)
    assert {m for m in MOVES if may[m]} == expected
    assert {k for k in ("read_objections", "read_contacts") if may[k]} == READERS.get(who, set())
    assert not may["deliver_held"]  # no objection here


def test_an_open_objection_holds_the_delivery(
    db: Any, world: World, approved: Match, people: dict[str, User]
) -> None:
    services.file_objection(approved, "该户已经有洗衣机了", "", None)
    db.session.commit()
    may = policy.actions(world.donor, approved)
    assert not may["deliver"] and may["deliver_held"]
    assert not policy.actions(people["other_donor"], approved)["deliver_held"]
    (objection,) = approved.objections
    deciders = {who for who, user in people.items() if policy.can_decide_objection(user, objection)}
    assert deciders == {"admin_here", "admin_member", "superuser"}
    services.resolve_objection(world.admin, objection, False, "核实后该户没有洗衣机")
    db.session.commit()
    assert not any(policy.can_decide_objection(u, objection) for u in people.values())
    assert policy.can_deliver(world.donor, approved)


def test_no_one_approves_what_they_proposed(
    db: Any, world: World, pledged: Match, make_user: Any, region: Any
) -> None:
    """An administrator's allocation proposes matches: another administrator approves them."""
    proposer = make_user(Role.ADMIN, [region(JINGYUAN)])
    pledged.proposed_by_id = proposer.id
    db.session.commit()
    assert not policy.can_approve(proposer, pledged) and policy.can_reject(proposer, pledged)
    assert policy.can_approve(world.admin, pledged)


def test_objections_only_within_the_disclosure_window(
    db: Any, world: World, pledged: Match
) -> None:
    assert not policy.can_object(None, pledged)  # not approved: nothing disclosed
    services.approve(world.admin, pledged)
    db.session.commit()
    assert pledged.status in policy.HOLDING and policy.can_object(None, pledged)
    later = pledged.disclosure_until + timedelta(minutes=1)
    assert not policy.can_object(world.donor, pledged, now=later)


def test_confirming_is_for_a_delivered_match_only(db: Any, world: World, approved: Match) -> None:
    """A match reported not received is the administrators' to resolve (it may end confirmed
    there): staff no longer confirm it themselves, on the page or through the service."""
    services.deliver(world.donor, approved, "已送达")
    services.report_non_receipt(world.staff, approved, "没收到")
    db.session.commit()
    assert not policy.can_confirm(world.staff, approved)
    with pytest.raises(ServiceError) as refused:
        services.confirm(world.staff, approved, received_quantity=1, received_on=beijing_today(),
                         satisfaction=5, feedback="")  # fmt: skip
    assert refused.value.status == 409


# --- the page shows exactly the allowed buttons --------------------------------------------

PAGE_ACTIONS = {"approve": "approve", "reject": "reject", "withdraw": "withdraw",
                "deliver": "deliver", "confirm": "confirm", "non-receipt": "report_non_receipt",
                "resolve": "resolve", "dismiss": "decide_objection",
                "uphold": "decide_objection"}  # fmt: skip


def _buttons(html: str) -> set[str]:
    """The actions the page's forms post to (their action, or a button's formaction)."""
    shown = set()
    for form in forms_of(html):
        if form.method != "post":
            continue
        for target in [form.action, *(b.formaction for b in form.buttons() if b.formaction)]:
            last = (target or "").rstrip("/").rsplit("/", 1)[-1]
            if ("/matches/" in target or "/objections/" in target) and last in PAGE_ACTIONS:
                shown.add(PAGE_ACTIONS[last])
    return shown


def _allowed(user: User, match: Match) -> set[str]:
    may = policy.actions(user, match)
    allowed = {m for m in MOVES if may[m]}
    if may["read_objections"] and any(policy.objection_actions(user, match).values()):
        allowed.add("decide_objection")
    return allowed


def _shows_exactly(client_of: Any, user: User, match: Match, expected: set[str]) -> str:
    page = client_of(user.username).get(f"/matches/{match.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert _buttons(html) == _allowed(user, match) == expected, user.username
    return html


def test_the_page_of_a_pledge(
    db: Any, client_of: Any, pledged: Match, people: dict[str, User]
) -> None:
    _shows_exactly(client_of, people["admin_here"], pledged, {"approve", "reject"})
    _shows_exactly(client_of, people["admin_member"], pledged, {"reject"})
    _shows_exactly(client_of, people["donor"], pledged, {"withdraw"})
    _shows_exactly(client_of, people["staff_here"], pledged, set())
    _shows_exactly(client_of, people["auditor"], pledged, set())


def test_the_page_of_an_approved_match_with_an_objection(
    db: Any, world: World, client_of: Any, approved: Match, people: dict[str, User]
) -> None:
    services.file_objection(approved, "该户已经有洗衣机了", "13800001111", None)
    db.session.commit()
    html = _shows_exactly(client_of, people["donor"], approved, set())
    assert "管理员处理前不能交付" in html  # the notice says why there is no delivery form
    admin_html = _shows_exactly(client_of, people["admin_here"], approved, {"decide_objection"})
    assert "13800001111" in admin_html
    staff_html = _shows_exactly(client_of, people["staff_here"], approved, set())
    assert "该户已经有洗衣机了" in staff_html and "13800001111" not in staff_html


def test_the_page_of_a_delivered_and_of_a_disputed_match(
    db: Any, world: World, client_of: Any, approved: Match, people: dict[str, User]
) -> None:
    services.deliver(world.donor, approved, "已送达")
    db.session.commit()
    _shows_exactly(client_of, people["staff_here"], approved, {"confirm", "report_non_receipt"})
    _shows_exactly(client_of, people["superuser"], approved, {"confirm", "report_non_receipt"})
    _shows_exactly(client_of, people["donor"], approved, set())
    services.report_non_receipt(world.staff, approved, "没收到")
    db.session.commit()
    _shows_exactly(client_of, people["admin_here"], approved, {"resolve"})
    _shows_exactly(client_of, people["staff_here"], approved, set())


def test_the_queue_offers_approval_only_to_who_may_approve(
    db: Any, client_of: Any, pledged: Match, people: dict[str, User]
) -> None:
    queue = client_of(people["admin_member"].username).get("/matches/approvals")
    assert _buttons(queue.get_data(as_text=True)) == {"reject"}
    queue = client_of(people["admin_here"].username).get("/matches/approvals")
    assert _buttons(queue.get_data(as_text=True)) == {"approve", "reject"}


# --- races ----------------------------------------------------------------------------------


def test_a_raced_move_is_refused_with_409(app: Any, db: Any, world: World, pledged: Match) -> None:
    """The administrator approves while the donor withdraws, both from the pledge they read:
    the second finds the status changed, and the approval stands."""
    ids = (world.admin.id, world.donor.id, pledged.id)

    def read_as(n: int) -> Any:
        return lambda: (_db.session.get(User, ids[n]), _db.session.get(Match, ids[2]))

    first, second = from_the_same_read(
        app,
        (read_as(0), lambda loaded: services.approve(*loaded)),
        (read_as(1), lambda loaded: services.withdraw_pledge(*loaded)),
    )
    assert first is None
    assert second is not None and second.status == 409
    assert second.message == policy.WORKFLOW.raced
    db.session.refresh(pledged)
    db.session.refresh(world.resource)
    assert pledged.status == S.APPROVED and world.resource.remaining == 9


def test_a_raced_objection_decision_is_refused_with_409(
    app: Any, db: Any, world: World, approved: Match, make_user: Any, region: Any
) -> None:
    """Two administrators decide one objection from the same reading: the first dismisses it,
    the second's upholding finds it decided, and the match goes on."""
    objection = services.file_objection(approved, "该户已经有洗衣机了", "", None)
    colleague = make_user(Role.ADMIN, [region(JINGYUAN)])
    db.session.commit()
    ids = (world.admin.id, colleague.id, objection.id)

    def read_as(n: int) -> Any:
        return lambda: (_db.session.get(User, ids[n]), _db.session.get(Objection, ids[2]))

    first, second = from_the_same_read(
        app,
        (read_as(0), lambda loaded: services.resolve_objection(*loaded, False, "核实后不成立")),
        (read_as(1), lambda loaded: services.resolve_objection(*loaded, True, "成立")),
    )
    assert first is None
    assert second is not None and second.status == 409
    assert second.message == policy.OBJECTION_WORKFLOW.raced
    db.session.refresh(objection)
    db.session.refresh(approved)
    assert objection.status == ObjectionStatus.DISMISSED and objection.decision == "核实后不成立"
    assert approved.status == S.APPROVED
    assert objection.decided_at is not None and objection.decided_at <= utcnow()


# Who sees the best needs for the world's resource (API and resource page alike).
SUGGESTION_READERS = {"admin_here", "admin_member", "admin_away", "superuser", "staff_here",
                      "staff_away", "donor", "auditor"}  # fmt: skip


def test_who_sees_the_suggestions_for_a_resource(world: World, people: dict[str, User]) -> None:
    assert {
        who for who, user in people.items() if policy.can_see_suggestions(user, world.resource)
    } == SUGGESTION_READERS
    assert not policy.can_see_suggestions(None, world.resource)
