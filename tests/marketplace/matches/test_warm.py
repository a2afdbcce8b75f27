"""The warm resource index (issue 17): a refresh reloads what changed and nothing else, and
readers answer from the index as it is while one thread refreshes it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.extensions import db as _db
from marketplace.matches import warm as warm_module
from marketplace.matches.scoring import suggest_resources
from marketplace.matches.warm import WarmResources
from marketplace.needs.models import Need
from marketplace.resources.models import Resource
from tests.conftest import JINGYUAN, World


@dataclass
class Counted:
    index: WarmResources
    loads: list[list[int] | None]  # each load's ids (None: all of them)


@pytest.fixture
def warm(app: Any, monkeypatch: pytest.MonkeyPatch) -> Counted:
    """A fresh index for the test, its loads counted."""
    fresh = WarmResources()
    monkeypatch.setitem(app.extensions, "warm_resources", fresh)
    counted = Counted(fresh, [])
    original = fresh._load

    def load(session: Session, ids: list[int] | None) -> list[Resource]:
        counted.loads.append(None if ids is None else sorted(ids))
        return original(session, ids)

    monkeypatch.setattr(fresh, "_load", load)
    return counted


def _suggested(app: Any, need_id: int) -> list[int]:
    with app.app_context():
        try:
            need = _db.session.get(Need, need_id)
            return [r.id for r, _s in suggest_resources(need, limit=10)]
        finally:
            _db.session.remove()


def test_a_refresh_reloads_what_changed_and_nothing_else(
    app: Any, db: Any, world: World, make_org: Any, make_resource: Any, region: Any,
    warm: Counted, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    county = region(JINGYUAN)
    others = [make_resource(world.org, [county], title=f"洗衣机第{n}批") for n in range(3)]
    need = world.need.id
    everyone = sorted([world.resource.id, *(r.id for r in others)])
    assert sorted(_suggested(app, need)) == everyone
    loads = warm.loads
    assert loads == [None]  # the first build reads them all

    assert sorted(_suggested(app, need)) == everyone
    assert loads == [None]  # nothing changed: nothing read

    others[0].remaining = 0
    db.session.commit()
    assert sorted(_suggested(app, need)) == sorted(set(everyone) - {others[0].id})
    assert loads == [None, [others[0].id]]  # the one changed, not the rest

    added = make_resource(world.org, [county], title="又一批洗衣机")
    assert added.id in _suggested(app, need)
    assert loads[2:] == [[added.id]]

    # The sweep (every request here) compares what changed lately and finds nothing to read.
    monkeypatch.setattr(warm_module, "SWEEP_SECONDS", 0)
    _suggested(app, need)
    _suggested(app, need)
    assert len(loads) == 3

    # A transaction that committed after a later one: its row lies behind the newest change
    # seen, so the cheap question (count, newest change) cannot tell; the sweep finds it.
    newest = db.session.scalar(sa.select(sa.func.max(Resource.updated_at)))
    db.session.execute(
        sa.update(Resource)
        .where(Resource.id == others[1].id)
        .values(remaining=0, updated_at=newest - timedelta(seconds=5))
    )
    db.session.commit()
    assert others[1].id not in _suggested(app, need)
    assert loads[3:] == [[others[1].id]]


def test_an_organization_changed_reloads_its_resources_only(
    app: Any, db: Any, world: World, make_org: Any, make_resource: Any, region: Any,
    warm: Counted,
) -> None:  # fmt: skip
    from marketplace.accounts.models import VerificationStatus

    county = region(JINGYUAN)
    second_org = make_org()
    theirs = [make_resource(second_org, [county], title=f"爱心洗衣机{n}") for n in range(2)]
    need = world.need.id
    assert set(_suggested(app, need)) == {world.resource.id, *(r.id for r in theirs)}
    second_org.status = VerificationStatus.PENDING
    db.session.commit()
    assert _suggested(app, need) == [world.resource.id]
    loads = warm.loads
    assert loads == [None, sorted(r.id for r in theirs)]


def test_readers_answer_from_the_index_while_another_thread_refreshes(
    app: Any, db: Any, world: World, make_resource: Any, region: Any,
    warm: Counted, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    need = world.need.id
    assert _suggested(app, need) == [world.resource.id]
    added = make_resource(world.org, [region(JINGYUAN)], title="又一批洗衣机")

    loading, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}
    original = warm.index._load

    def slow(session: Session, ids: list[int] | None) -> list[Resource]:
        loading.set()
        # Released by the reader below once it has its answer. Were the reader waiting for
        # this refresh, nobody would release it and the wait would run out.
        outcome["released"] = release.wait(timeout=60)
        return original(session, ids)

    monkeypatch.setattr(warm.index, "_load", slow)

    def refresher() -> None:
        outcome["refreshed"] = _suggested(app, need)

    thread = threading.Thread(target=refresher)
    thread.start()
    try:
        assert loading.wait(timeout=60), "the refresh did not start"
        answer = _suggested(app, need)  # while the refresh is held inside its load
    finally:
        release.set()
        thread.join(timeout=60)
    assert outcome["released"] is True  # the reader did not wait for the refresh
    assert answer == [world.resource.id]  # from the index as it was
    assert set(outcome["refreshed"]) == {world.resource.id, added.id}
    assert set(_suggested(app, need)) == {world.resource.id, added.id}  # published


def test_while_the_facts_token_stays_the_index_asks_nothing_more(
    app: Any, db: Any, world: World, make_resource: Any, region: Any, warm: Counted
) -> None:
    """The cheap question is the facts token (one row by key): the aggregates over resources
    and organizations are read only once it has moved, and a change still shows next time."""
    need = world.need.id
    _suggested(app, need)  # built
    _suggested(app, need)  # found current: the token noted
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", seen)
    try:
        _suggested(app, need)
        quiet = list(statements)
        added = make_resource(world.org, [region(JINGYUAN)], title="再一批洗衣机")
        statements.clear()
        assert added.id in _suggested(app, need)
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", seen)
    assert any("fact_version" in s for s in quiet)
    assert not any("count(resource.id)" in s for s in quiet), quiet
    assert any("count(resource.id)" in s for s in statements)
    assert warm.loads[-1] == [added.id]
