"""Capacity under concurrent approvals: exactly the capacity is approved, never more.

Runs on the suite's database; CI runs the suite a second time on PostgreSQL, where this is
the test the workflow issue asks for (50 approvals racing for a capacity of 10).
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import Need, NeedStatus
from marketplace.resources.models import Resource
from tests.conftest import World

CAPACITY = 10
ATTEMPTS = 50


def test_concurrent_approvals_never_exceed_capacity(app: Any, db: Any, world: World) -> None:
    resource_id = world.resource.id
    world.resource.capacity = world.resource.remaining = CAPACITY
    match_ids = []
    for n in range(ATTEMPTS):
        need = Need(
            village=world.village, category="necessities", subcategory="necessities.washer",
            title=f"村民需要洗衣机{n}", quantity=1, open_quantity=1, unit="台",
            status=NeedStatus.VERIFIED,
        )  # fmt: skip
        match = Match(need=need, resource=world.resource, quantity=1, status=MatchStatus.PROPOSED)
        db.session.add(match)
        db.session.flush()
        match_ids.append(match.id)
    db.session.commit()
    admin_id = world.admin.id

    start = threading.Barrier(ATTEMPTS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(match_id: int) -> None:
        # Wait before touching the pool: holding connections at the barrier would deadlock
        # once there are more threads than pooled connections.
        start.wait()
        with app.app_context():
            admin = _db.session.get(User, admin_id)
            match = _db.session.get(Match, match_id)
            try:
                services.approve(admin, match)
                _db.session.commit()
                result = "approved"
            except ServiceError as refused:
                _db.session.rollback()
                result = f"refused {refused.status}"
            finally:
                _db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=approve, args=(i,)) for i in match_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(outcomes) == ATTEMPTS
    assert outcomes.count("approved") == CAPACITY
    assert outcomes.count("refused 409") == ATTEMPTS - CAPACITY
    db.session.expire_all()
    resource = db.session.get(Resource, resource_id)
    approved = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Match.quantity), 0)).where(
            Match.resource_id == resource_id, Match.status == MatchStatus.APPROVED
        )
    )
    assert resource.remaining == 0
    assert approved == CAPACITY == resource.capacity - resource.remaining
    still_open = db.session.scalar(
        sa.select(sa.func.count(Need.id)).where(Need.open_quantity == 1, Need.title.like("村民%"))
    )
    assert still_open == ATTEMPTS - CAPACITY
    # Fifty writers appended to the audit chain at once: it still links up.
    from marketplace.audit.services import verify_chain

    assert verify_chain() is None
