"""The match lifecycle through the services: every legal move, illegal ones refused with 409."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.followups.models import FollowUp
from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import NeedStatus
from marketplace.resources.models import Resource
from marketplace.timefmt import beijing_today
from tests.conftest import World

S = MatchStatus


def _reload(db: Any, *objs: Any) -> None:
    for obj in objs:
        db.session.refresh(obj)


def _pledged(db: Any, world: World, quantity: int = 1) -> Match:
    match = services.pledge(world.donor, world.need, world.resource, quantity)
    db.session.commit()
    return match


def _approved(db: Any, world: World, quantity: int = 1) -> Match:
    match = _pledged(db, world, quantity)
    services.approve(world.admin, match)
    db.session.commit()
    return match


def test_pledge_approve_deliver_confirm(db: Any, world: World) -> None:
    match = _pledged(db, world)
    assert match.status == S.PROPOSED
    services.approve(world.admin, match)
    db.session.commit()
    _reload(db, world.resource, world.need)
    assert (match.status, world.resource.remaining, world.need.open_quantity) == (S.APPROVED, 9, 0)
    assert match.disclosure_until is not None
    services.deliver(world.donor, match, "送货上门")
    db.session.commit()
    services.confirm(
        world.staff, match, received_quantity=1, received_on=beijing_today(), satisfaction=5,
        feedback="收到了",
    )  # fmt: skip
    db.session.commit()
    _reload(db, world.need)
    assert match.status == S.CONFIRMED
    assert world.need.status == NeedStatus.FULFILLED
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"match_proposed", "match_approved", "match_delivered", "match_confirmed"} <= actions


@pytest.mark.parametrize(
    ("start", "attempt"),
    [
        (S.PROPOSED, "deliver"),
        (S.PROPOSED, "confirm"),
        (S.APPROVED, "approve"),
        (S.APPROVED, "confirm"),
        (S.DELIVERED, "approve"),
        (S.DELIVERED, "deliver"),
        (S.CONFIRMED, "deliver"),
        (S.REJECTED, "approve"),
    ],
)
def test_illegal_moves_answer_409_and_change_nothing(
    db: Any, world: World, start: MatchStatus, attempt: str
) -> None:
    match = _pledged(db, world)
    if start == S.REJECTED:
        services.reject(world.admin, match, "不符合")
    if start in (S.APPROVED, S.DELIVERED, S.CONFIRMED):
        services.approve(world.admin, match)
    if start in (S.DELIVERED, S.CONFIRMED):
        services.deliver(world.donor, match, "")
    if start == S.CONFIRMED:
        services.confirm(world.staff, match, received_quantity=1, received_on=beijing_today(),
                         satisfaction=4, feedback="")  # fmt: skip
    db.session.commit()
    remaining = world.resource.remaining
    actions = {
        "approve": lambda: services.approve(world.admin, match),
        "deliver": lambda: services.deliver(world.donor, match, ""),
        "confirm": lambda: services.confirm(world.staff, match, received_quantity=1,
                                            received_on=beijing_today(), satisfaction=3,
                                            feedback=""),
    }  # fmt: skip
    with pytest.raises(ServiceError) as refused:
        actions[attempt]()
    assert refused.value.status == 409
    db.session.rollback()
    _reload(db, match, world.resource)
    assert match.status == start
    assert world.resource.remaining == remaining


def test_no_one_approves_their_own_pledge_or_organization(
    db: Any, world: World, make_user: Any, region: Any
) -> None:
    from marketplace.accounts.models import Role

    match = _pledged(db, world)
    colleague_admin = make_user(Role.ADMIN, [region("620421000000")], org=world.org)
    with pytest.raises(ServiceError) as refused:
        services.approve(colleague_admin, match)
    assert refused.value.status == 403
    with pytest.raises(ServiceError):
        services.approve(world.huining_admin, match)  # outside the region


def test_reject_needs_a_reason_and_releases_nothing(db: Any, world: World) -> None:
    match = _pledged(db, world)
    with pytest.raises(ServiceError):
        services.reject(world.admin, match, "  ")
    db.session.rollback()
    services.reject(world.admin, match, "重复认领")
    db.session.commit()
    _reload(db, world.resource)
    assert match.status == S.REJECTED and world.resource.remaining == 10


def test_approval_refused_when_capacity_is_gone(
    db: Any, world: World, make_household: Any, make_need: Any
) -> None:
    world.resource.remaining = 1
    world.resource.capacity = 1
    db.session.commit()
    second_need = make_need(world.village, make_household(world.village))
    first = _pledged(db, world)
    second = services.pledge(world.donor, second_need, world.resource, 1)
    db.session.commit()
    services.approve(world.admin, first)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.approve(world.admin, second)
    assert refused.value.status == 409
    db.session.rollback()
    _reload(db, second, world.resource, second_need)
    assert second.status == S.PROPOSED
    assert world.resource.remaining == 0
    assert second_need.open_quantity == 1


@pytest.mark.parametrize("quantity", [0, -1, 2, 1.5, True])
def test_pledge_quantity_must_fit(db: Any, world: World, quantity: Any) -> None:
    with pytest.raises(ServiceError):
        services.pledge(world.donor, world.need, world.resource, quantity)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Match.id))) == 0


def test_pledge_outside_service_area_or_eligibility_is_refused(
    db: Any, world: World, make_household: Any, make_need: Any
) -> None:
    far_need = make_need(world.huining_village, make_household(world.huining_village))
    with pytest.raises(ServiceError, match=r"service area|服务区域"):
        services.pledge(world.donor, far_need, world.resource, 1)
    db.session.rollback()
    world.resource.eligible_statuses = ["monitored"]
    db.session.commit()
    with pytest.raises(ServiceError, match=r"status|状态"):
        services.pledge(world.donor, world.need, world.resource, 1)
    db.session.rollback()
    world.resource.eligible_statuses = []
    world.resource.categories = ["education.grant"]
    db.session.commit()
    with pytest.raises(ServiceError, match=r"category|类别"):
        services.pledge(world.donor, world.need, world.resource, 1)


def test_unverified_organization_cannot_pledge(db: Any, world: World) -> None:
    from marketplace.accounts.models import VerificationStatus

    world.org.status = VerificationStatus.PENDING
    db.session.commit()
    with pytest.raises(ServiceError):
        services.pledge(world.donor, world.need, world.resource, 1)


def test_same_resource_cannot_pledge_a_need_twice(db: Any, world: World) -> None:
    world.need.quantity = world.need.open_quantity = 2
    db.session.commit()
    _pledged(db, world)
    with pytest.raises(ServiceError) as refused:
        services.pledge(world.donor, world.need, world.resource, 1)
    assert refused.value.status == 409


def test_non_receipt_dispute_then_cancel_releases_the_quantity(db: Any, world: World) -> None:
    match = _approved(db, world)
    services.deliver(world.donor, match, "")
    services.report_non_receipt(world.staff, match, "农户说没有收到洗衣机")
    db.session.commit()
    assert match.status == S.DISPUTED
    services.resolve_dispute(world.admin, match, "cancelled", "核实未送达")
    db.session.commit()
    _reload(db, world.resource, world.need)
    assert match.status == S.CANCELLED
    assert (world.resource.remaining, world.need.open_quantity) == (10, 1)


def test_dispute_found_delivered_is_confirmed(db: Any, world: World) -> None:
    match = _approved(db, world)
    services.deliver(world.donor, match, "")
    services.report_non_receipt(world.staff, match, "农户外出，未见到")
    services.resolve_dispute(world.admin, match, "confirmed", "有签收单")
    db.session.commit()
    assert match.status == S.CONFIRMED


def test_objection_blocks_delivery_until_resolved(db: Any, world: World) -> None:
    match = _approved(db, world)
    objection = services.file_objection(match, "该户家里已经有洗衣机了", "", None)
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.deliver(world.donor, match, "")
    assert refused.value.status == 409
    db.session.rollback()
    services.resolve_objection(world.admin, objection, False, "核实需求属实")
    db.session.commit()
    services.deliver(world.donor, match, "")
    db.session.commit()
    assert match.status == S.DELIVERED


def test_upheld_objection_cancels_and_releases(db: Any, world: World) -> None:
    match = _approved(db, world)
    objection = services.file_objection(match, "该户是村干部亲属，优亲厚友", "", None)
    services.resolve_objection(world.admin, objection, True, "核实属实，取消")
    db.session.commit()
    _reload(db, world.resource, world.need)
    assert match.status == S.CANCELLED
    assert world.resource.remaining == 10 and world.need.open_quantity == 1


def test_confirmation_checks_quantity_and_dates(db: Any, world: World) -> None:
    match = _approved(db, world)
    services.deliver(world.donor, match, "")
    db.session.commit()
    bad = [
        {"received_quantity": 2, "received_on": beijing_today(), "satisfaction": 5},
        {"received_quantity": 1, "received_on": beijing_today() + timedelta(days=1),
         "satisfaction": 5},
        {"received_quantity": 1, "received_on": beijing_today() - timedelta(days=30),
         "satisfaction": 5},
        {"received_quantity": 1, "received_on": beijing_today(), "satisfaction": 6},
    ]  # fmt: skip
    for values in bad:
        with pytest.raises(ServiceError):
            services.confirm(world.staff, match, feedback="", **values)
        db.session.rollback()
    with pytest.raises(ServiceError):  # staff of another village
        services.confirm(world.other_staff, match, received_quantity=1,
                         received_on=beijing_today(), satisfaction=5, feedback="")  # fmt: skip
    db.session.rollback()
    _reload(db, match)
    assert match.status == S.DELIVERED


def test_expiry_of_stale_pledges_and_overdue_approvals(
    db: Any, world: World, make_household: Any, make_need: Any
) -> None:
    from marketplace.db import utcnow

    stale = _pledged(db, world)
    stale.created_at = utcnow() - timedelta(days=30)
    other_need = make_need(world.village, make_household(world.village))
    overdue = services.pledge(world.donor, other_need, world.resource, 1)
    db.session.commit()
    services.approve(world.admin, overdue)
    world.resource.delivery_deadline = date.today() - timedelta(days=1)
    db.session.commit()
    counts = services.expire_matches()
    db.session.commit()
    assert counts == {"pledges": 1, "approved": 1, "skipped": 0}
    _reload(db, stale, overdue, world.resource, other_need)
    assert stale.status == S.EXPIRED and overdue.status == S.EXPIRED
    assert world.resource.remaining == 10 and other_need.open_quantity == 1
    assert services.expire_matches() == {"pledges": 0, "approved": 0, "skipped": 0}


def test_expire_command_is_idempotent(app: Any, db: Any, world: World) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["matches", "expire"])
    assert first.exit_code == 0 and "0 pledges" in first.output


# --- the state machine as a property ------------------------------------------------------

ACTIONS = ["approve", "reject", "withdraw", "deliver", "confirm", "dispute", "resolve_ok",
           "resolve_cancel", "expire"]  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=6))
def test_any_sequence_keeps_status_legal_and_capacity_reconciled(
    db: Any, world: World, steps: list[str]
) -> None:
    """Whatever is attempted, the status only moves along TRANSITIONS and the resource's
    remaining equals capacity minus the quantity held by approved-or-later matches."""
    db.session.execute(sa.delete(AuditEvent))
    # A confirmation schedules follow-ups of results, which refer to the match (PostgreSQL
    # enforces it): they go first.
    db.session.execute(sa.delete(FollowUp))
    db.session.execute(sa.delete(Match))
    db.session.execute(sa.update(Resource).values(remaining=Resource.capacity))
    world.need.open_quantity = world.need.quantity
    world.need.status = NeedStatus.VERIFIED
    db.session.commit()
    match = _pledged(db, world)
    do = {
        "approve": lambda: services.approve(world.admin, match),
        "reject": lambda: services.reject(world.admin, match, "x"),
        "withdraw": lambda: services.withdraw_pledge(world.donor, match),
        "deliver": lambda: services.deliver(world.donor, match, ""),
        "confirm": lambda: services.confirm(world.staff, match, received_quantity=1,
                                            received_on=beijing_today(), satisfaction=5,
                                            feedback=""),
        "dispute": lambda: services.report_non_receipt(world.staff, match, "没收到"),
        "resolve_ok": lambda: services.resolve_dispute(world.admin, match, "confirmed", "x"),
        "resolve_cancel": lambda: services.resolve_dispute(world.admin, match, "cancelled", "x"),
        "expire": lambda: services.transition(match, S.EXPIRED, None),
    }  # fmt: skip
    for step in steps:
        before = match.status
        try:
            do[step]()
            db.session.commit()
            assert match.status in services.TRANSITIONS[before]
        except ServiceError as refused:
            db.session.rollback()
            db.session.refresh(match)
            assert match.status == before, step
            assert refused.status in (400, 403, 409)
        db.session.refresh(world.resource)
        held = match.quantity if match.status in services.HOLDING else 0
        assert world.resource.remaining == world.resource.capacity - held
