"""The audit trail is a hash chain: an edit, insertion or deletion behind the application's
back is found by ``marketplace audit verify``."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.oversight.models import AuditEvent
from marketplace.oversight.services import record_event, verify_chain
from tests.conftest import BAIYIN, World


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


def test_audit_page_is_scoped(client: Any, db: Any, login: Any, world: World) -> None:
    record_event("staff_did_something", world.staff, world.household)
    record_event("other_staff_did_something", world.other_staff, world.household)
    db.session.commit()
    login(world.admin)  # 靖远县
    page = client.get("/oversight/audit").data.decode()
    assert "staff_did_something" in page and "other_staff_did_something" not in page
    assert client.get("/oversight/audit?from=not-a-date&action=x%27").status_code == 200
    assert client.get("/oversight/audit?action=%00").status_code == 400
    client.post("/logout")
    login(world.donor)
    assert client.get("/oversight/audit").status_code == 403
