"""The audit trail is a hash chain: an edit, insertion or deletion behind the application's
back is found by ``marketplace audit verify``."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.audit.services import record_event, verify_chain
from marketplace.roles import Role
from tests.conftest import BAIYIN, JINGYUAN, World
from tests.marketplace.oversight.trail_page import actions_shown


@pytest.fixture
def chain(db: Any, make_user: Any, region: Any) -> list[int]:
    admin = make_user(Role.ADMIN, [region(BAIYIN)])
    for n in range(5):
        record_event("test_event", admin, admin, after={"n": n, "文字": "中文"})
    record_event("second_in_same_transaction", admin)
    db.session.commit()
    return list(db.session.scalars(sa.select(AuditEvent.id).order_by(AuditEvent.id)))


def _verify(app: Any) -> Any:
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_intact_chain_verifies(app: Any, db: Any, chain: list[int]) -> None:
    assert verify_chain() is None
    result = _verify(app)
    assert result.exit_code == 0 and "intact" in result.output


def test_edited_row_is_caught(app: Any, db: Any, chain: list[int]) -> None:
    with db.engine.begin() as conn:  # behind the application's back
        conn.execute(sa.text("UPDATE audit_event SET action = 'innocent' WHERE id = :id"),
                     {"id": chain[2]})  # fmt: skip
    db.session.expire_all()
    problem = verify_chain()
    assert problem is not None and (problem.event_id, problem.kind) == (chain[2], "changed")
    result = _verify(app)
    assert result.exit_code != 0 and str(chain[2]) in result.output


def test_deleted_row_is_caught(db: Any, chain: list[int]) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE id = :id"), {"id": chain[3]})
    db.session.expire_all()
    problem = verify_chain()
    assert problem is not None and (problem.event_id, problem.kind) == (chain[4], "broken_link")


def test_inserted_row_is_caught(db: Any, chain: list[int]) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO audit_event (created_at, actor_role, action, object_type, ip, prev_hash,"
            " hash) VALUES (CURRENT_TIMESTAMP, '', 'forged', '', '', '', '')"))  # fmt: skip
    db.session.expire_all()
    problem = verify_chain()
    assert problem is not None and problem.kind == "broken_link"


def test_workflow_events_keep_the_chain(client: Any, db: Any, login: Any, world: World) -> None:
    login(world.donor)
    client.post(f"/needs/{world.need.id}/pledge",
                data={"resource": str(world.resource.id), "quantity": "1"})  # fmt: skip
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) >= 2  # login, pledge
    assert verify_chain() is None


def test_audit_page_is_scoped(
    client: Any, db: Any, login: Any, world: World, make_household: Any
) -> None:
    huining_household = make_household(world.huining_village)
    record_event("staff_did_something", world.staff, world.household)
    record_event("other_staff_did_something", world.other_staff, huining_household)
    db.session.commit()
    login(world.admin)  # 靖远县
    shown = actions_shown(client.get("/oversight/audit").data.decode())
    assert "staff_did_something" in shown and "other_staff_did_something" not in shown
    # Bad filters come back at their fields (the trail_filters tests), never a server error.
    assert client.get("/oversight/audit?since=not-a-date&action=x%27").status_code == 400
    assert client.get("/oversight/audit?action=%00").status_code == 400
    client.post("/logout")
    login(world.donor)
    assert client.get("/oversight/audit").status_code == 403


def test_trail_shows_donor_and_public_actions_by_the_object_region(
    app: Any, client: Any, db: Any, world: World, make_user: Any, region: Any
) -> None:
    """A donor's pledge and an anonymous objection concern a Jingyuan village: the city and
    county administrators and the city auditor read them; Huining's administrator does not."""
    from marketplace.matches import services as matches

    match = matches.pledge(world.donor, world.need, world.resource, 1)
    matches.approve(world.admin, match)
    matches.file_objection(match, "该户已经有洗衣机了", "", None)
    db.session.commit()
    city_admin = make_user(Role.ADMIN, [region(BAIYIN)], username="cityadmin")
    events = {e.action: e for e in db.session.scalars(sa.select(AuditEvent))}
    assert events["match_proposed"].region_path == world.village.path
    assert events["objection_filed"].actor_id is None
    assert events["objection_filed"].region_path == world.village.path

    def trail(user: Any) -> list[str]:
        reader = app.test_client()
        reader.post("/login", data={"username": user.username, "password": "testpass123"})
        return actions_shown(reader.get("/oversight/audit").get_data(as_text=True))

    for reader in (city_admin, world.auditor, world.admin):
        shown = trail(reader)
        assert "match_proposed" in shown and "objection_filed" in shown, reader.username
    assert "match_proposed" not in trail(world.huining_admin)
    assert verify_chain() is None  # the region is covered by the hash and checks out


def test_region_is_covered_by_the_hash_and_old_events_still_verify(db: Any, world: World) -> None:
    record_event("before_regions", world.staff)  # no object: no region, hashed as before 0009
    event = record_event("about_a_household", world.staff, world.household)
    db.session.commit()
    assert event.region_path == world.village.path
    assert verify_chain() is None
    with db.engine.begin() as conn:  # hiding an event from the county behind the app's back
        conn.execute(sa.text("UPDATE audit_event SET region_path = '' WHERE id = :id"),
                     {"id": event.id})  # fmt: skip
    db.session.expire_all()
    problem = verify_chain()
    assert problem is not None and (problem.event_id, problem.kind) == (event.id, "changed")


def test_region_of_objects(db: Any, world: World, region: Any) -> None:
    from marketplace.audit.services import region_of

    assert region_of(world.need) == world.village
    assert region_of(world.household) == world.village
    assert region_of(world.resource) == region(JINGYUAN)  # its service area
    assert region_of(world.org) == region(BAIYIN)
    assert region_of(world.donor) == region(BAIYIN)  # the donor's organization
    assert region_of(world.staff) == world.village
    assert region_of(None) is None
