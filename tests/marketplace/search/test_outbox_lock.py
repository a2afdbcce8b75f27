"""One writer of the index at a time, across processes: while another process holds the
writer's lock (on PostgreSQL the advisory lock, on SQLite the lock file in the instance
folder), a sync waits, then leaves its rows in the outbox; once the lock is free they are
applied and removed."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from marketplace.search import services
from marketplace.search.backend import SearchQuery
from marketplace.search.models import SearchOutbox
from tests.conftest import World


@contextmanager
def _held_elsewhere(app: Any, db: Any) -> Iterator[None]:
    """The writer's lock, taken the way another process would take it (its own connection or
    its own open file, not this process's mutex)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": services.INDEX_LOCK})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": services.INDEX_LOCK})
        return
    path = Path(app.config["INSTANCE_DIR"]) / services.LOCK_FILE
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pending(db: Any) -> int:
    return db.session.scalar(sa.select(sa.func.count(SearchOutbox.id))) or 0


def test_a_sync_waits_for_the_writer_of_another_process(app: Any, db: Any, world: World) -> None:
    services.rebuild()
    world.need.title = "需要一台冰箱"
    db.session.commit()
    assert _pending(db) > 0
    with _held_elsewhere(app, db):
        assert services.sync(wait=0.2) == 0  # gave up waiting: nothing written, nothing lost
        assert _pending(db) > 0
        assert services.search(SearchQuery(text="冰箱")).total == 0
    assert services.sync() >= 1
    assert _pending(db) == 0
    assert services.search(SearchQuery(text="冰箱")).total == 1
    assert services.drift() == []
