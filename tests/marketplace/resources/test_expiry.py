"""Resources whose validity has ended move to EXPIRED through the workflow, in the periodic
expiry that `marketplace matches expire` runs: idempotent, one resource at a time, and a
resource changed meanwhile is skipped and counted."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.resources import policy, services
from marketplace.resources.models import Resource, ResourceStatus
from marketplace.search.models import SearchOutbox
from tests.conftest import JINGYUAN, World

R = ResourceStatus


def _today() -> date:
    """The day the expiry judges by (that of ``now``, UTC, like the expiry of matches)."""
    return utcnow().date()


def _ended(make_resource: Any, world: World, region: Any, **values: Any) -> Resource:
    """A resource whose last valid day was yesterday."""
    yesterday = _today() - timedelta(days=1)
    return make_resource(
        world.org, [region(JINGYUAN)], valid_from=yesterday - timedelta(days=30),
        valid_until=yesterday, delivery_deadline=None, **values,
    )  # fmt: skip


def test_ended_resources_expire_once(
    db: Any, world: World, make_resource: Any, region: Any
) -> None:
    active = _ended(make_resource, world, region, title="已到期的资源")
    paused = _ended(make_resource, world, region, status=R.PAUSED)
    closed = _ended(make_resource, world, region, status=R.CLOSED)
    ends_today = make_resource(world.org, [region(JINGYUAN)], valid_until=_today())
    db.session.execute(sa.delete(SearchOutbox))
    db.session.commit()

    assert services.expire_resources() == {"expired": 2, "skipped": 0}
    db.session.commit()
    for resource in (active, paused, closed, ends_today, world.resource):
        db.session.refresh(resource)
    assert (active.status, paused.status) == (R.EXPIRED, R.EXPIRED)
    assert closed.status == R.CLOSED  # closed is final
    assert ends_today.status == R.ACTIVE and world.resource.status == R.ACTIVE  # still valid
    # Audited as a status move by no one, and queued for the search index.
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "resource_status")
    ).all()
    assert sorted(e.object_id for e in events) == sorted([active.id, paused.id])
    assert all(e.actor_id is None and e.after == {"status": "expired"} for e in events)
    keys = set(db.session.scalars(sa.select(SearchOutbox.key)))
    assert {f"resource:{active.id}", f"resource:{paused.id}"} <= keys
    # Nothing more to do the second time; an expired resource can no longer be edited or moved.
    assert services.expire_resources() == {"expired": 0, "skipped": 0}
    assert not policy.can_edit(world.donor, active)
    assert not any(policy.actions(world.donor, active).values())


def test_the_day_is_the_one_asked_for(
    db: Any, world: World, make_resource: Any, region: Any
) -> None:
    resource = make_resource(world.org, [region(JINGYUAN)], valid_until=_today())
    assert services.expire_resources(utcnow()) == {"expired": 0, "skipped": 0}
    assert services.expire_resources(utcnow() + timedelta(days=1)) == {"expired": 1, "skipped": 0}
    db.session.refresh(resource)
    assert resource.status == R.EXPIRED


def test_a_resource_changed_since_it_was_read_is_skipped(
    db: Any, world: World, make_resource: Any, region: Any
) -> None:
    """The expiry moves from the status it read; another request paused the resource in the
    meantime, so the move finds the status changed (409): skipped, counted, and the next run
    expires it from where it is now."""
    changed = _ended(make_resource, world, region)
    untouched = _ended(make_resource, world, region)
    assert changed.status == R.ACTIVE  # read by this session
    with _db.engine.begin() as other_request:
        other_request.execute(
            sa.update(Resource).where(Resource.id == changed.id).values(status=R.PAUSED)
        )
    assert services.expire_resources() == {"expired": 1, "skipped": 1}
    db.session.commit()
    db.session.refresh(untouched)
    assert untouched.status == R.EXPIRED
    db.session.refresh(changed)
    assert changed.status == R.PAUSED
    assert services.expire_resources() == {"expired": 1, "skipped": 0}
    db.session.commit()
    db.session.refresh(changed)
    assert changed.status == R.EXPIRED


def test_an_extension_made_meanwhile_wins(
    db: Any, world: World, make_resource: Any, region: Any
) -> None:
    """The end of validity is checked again in the move itself: a donor who extended the
    resource after the expiry read it keeps it active."""
    resource = _ended(make_resource, world, region)
    with _db.engine.begin() as other_request:
        other_request.execute(
            sa.update(Resource)
            .where(Resource.id == resource.id)
            .values(valid_until=_today() + timedelta(days=30))
        )
    # The move as the expiry makes it, on what it read before the extension.
    with pytest.raises(ServiceError) as refused:
        policy.WORKFLOW.move(resource, R.EXPIRED, only_if=Resource.valid_until < _today())
    assert refused.value.status == 409
    db.session.rollback()
    db.session.refresh(resource)
    assert resource.status == R.ACTIVE


def test_the_expire_command_expires_resources(
    app: Any, db: Any, world: World, make_resource: Any, region: Any
) -> None:
    resource = _ended(make_resource, world, region)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["matches", "expire"])
    assert first.exit_code == 0, first.output
    assert "1 resources expired; 0 changed meanwhile" in first.output
    again = runner.invoke(args=["matches", "expire"])
    assert again.exit_code == 0 and "0 resources expired" in again.output
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).status == R.EXPIRED
