"""Audit writes hold the chain's lock only for the insert (issue 17): an event recorded early in
a request (a view of unmasked data) joins the chain at commit, so other writers append
meanwhile, and the chain still links up in id order. Runs on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL (its advisory lock)."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.audit.checkpoints import verify_trail
from marketplace.audit.models import AuditEvent
from marketplace.audit.services import record_event, verify_chain
from marketplace.extensions import db as _db
from marketplace.households.models import Household
from tests.conftest import World


def _events(db: Any) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)))


def test_a_recorded_event_does_not_hold_the_lock_until_commit(
    app: Any, db: Any, world: World
) -> None:
    admin_id = world.admin.id
    record_event("start", world.admin)
    db.session.commit()

    # This transaction, like a page showing a household unmasked: the event, then more reads.
    record_event("personal_data_viewed", world.admin, world.household)
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) >= 1

    appended = threading.Event()
    failure: list[BaseException] = []

    def other_writer() -> None:
        try:
            with app.app_context():
                try:
                    record_event("elsewhere", _db.session.get(User, admin_id))
                    _db.session.commit()
                    appended.set()
                finally:
                    _db.session.remove()
        except BaseException as error:  # shown below
            failure.append(error)

    writer = threading.Thread(target=other_writer)
    writer.start()
    # Were the chain's lock held by the open transaction above, the writer could not commit
    # before it does (this wait would run out, or SQLite's busy wait fail the writer).
    committed_meanwhile = appended.wait(timeout=60)
    writer.join(timeout=60)
    assert not failure, failure
    assert committed_meanwhile
    db.session.commit()

    start, elsewhere, viewed = _events(db)
    assert [e.action for e in (start, elsewhere, viewed)] == [
        "start", "elsewhere", "personal_data_viewed",
    ]  # fmt: skip
    assert elsewhere.prev_hash == start.hash and viewed.prev_hash == elsewhere.hash
    assert verify_chain() is None
    assert verify_trail().intact


def test_events_of_one_transaction_chain_in_order_and_a_rollback_drops_them(
    db: Any, world: World
) -> None:
    record_event("first", world.admin)
    record_event("second", world.admin, world.household)
    db.session.commit()
    record_event("dropped", world.admin)
    db.session.rollback()
    db.session.commit()  # nothing left to chain
    record_event("third", world.admin)
    db.session.commit()
    events = _events(db)
    assert [e.action for e in events] == ["first", "second", "third"]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert verify_chain() is None and verify_trail().intact


def test_a_query_of_the_trail_sees_the_events_of_its_own_transaction(db: Any, world: World) -> None:
    event = record_event("viewed", world.admin, world.household)
    found = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_id == world.household.id)
    ).all()
    assert found == [event] and event.hash and event.seal
    record_event("after_the_query", world.admin)
    db.session.commit()
    assert [e.action for e in _events(db)] == ["viewed", "after_the_query"]
    assert verify_chain() is None and verify_trail().intact
