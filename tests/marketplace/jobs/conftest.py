"""Apps with a job store of their own: a SQLite file in the test's folder, or Redis under a
queue name no one else uses (removed afterwards). They share the session's database."""

from __future__ import annotations

import gc
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from marketplace.jobs import jobs_of
from marketplace.matches.models import Match
from tests.conftest import FreshContextClient, base_config, database_url

REDIS_URL = "redis://127.0.0.1:6379/15"
# Only the expiry runs by itself in these apps; it is due every minute, and a pledge's time is
# up at once.
SHORT = {
    "PLEDGE_TTL_DAYS": 0,
    "JOBS_SCHEDULE_EXPIRE": "* * * * *",
    "JOBS_SCHEDULE_NOTIFICATIONS": "off",
    "JOBS_SCHEDULE_SEARCH": "off",
    "JOBS_SCHEDULE_REPORTS": "off",
    "JOBS_SCHEDULE_AUDIT": "off",
    "JOBS_SCHEDULE_FOLLOW_UPS": "off",
}


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    """A real Redis: skipped with the reason when absent, except in CI (REQUIRE_POSTGRES)."""
    if not redis_reachable():
        reason = "needs Redis on 127.0.0.1:6379"
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(reason + " (REQUIRE_POSTGRES is set: CI runs every service)")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def make_jobs_app(app: Any, db: Any, tmp_path: Any) -> Iterator[Callable[..., Any]]:
    """``make_jobs_app(store="sqlite"|"redis", **settings)``: an app over the session's
    database with its own job store."""
    made: list[Any] = []

    def make(store: str = "sqlite", **settings: Any) -> Any:
        config = base_config(database_url())
        config.update(SHORT)
        if store == "redis":
            config.update(JOBS_URL=REDIS_URL, JOBS_NAME=f"test-{uuid.uuid4().hex[:12]}")
        else:
            config.update(JOBS_URL=f"sqlite:///{tmp_path / f'jobs{len(made)}.db'}")
        config.update(settings)
        other = create_app(config)
        other.test_client_class = FreshContextClient
        made.append(other)
        return other

    yield make
    for other in made:
        jobs = jobs_of(other)
        if jobs.kind == "redis" and jobs._huey is not None:
            _flush_redis(jobs.huey)
        with other.app_context():
            _db.engine.dispose()
    limiter.init_app(app)  # the one limiter back on the session app
    limiter.reset()
    gc.collect()  # a connection left open fails this test, not the next one


def _flush_redis(huey: Any) -> None:
    huey.flush()
    huey.flush_locks()
    conn = huey.storage.conn
    for key in conn.scan_iter(match=f"huey.*.{huey.storage.name}*"):
        conn.delete(key)
    assert not list(conn.scan_iter(match=f"huey.*.{huey.storage.name}*"))


def run_at_once(jobs: Any, name: str, runs: int = 2) -> list[Any]:
    """Start ``runs`` runs of the periodic task together (threads released by one barrier), as
    two consumers would; what finished (None for a run that found the lock taken). A run that
    raised fails the test."""
    start = threading.Barrier(runs)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            results.append(jobs.run_periodic(name))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def wait_for(check: Callable[[], bool], seconds: float = 90) -> bool:
    """Poll until ``check`` holds (a generous bound, never asserted as a timing)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def status_of(match_id: int) -> str:
    """The match's status as committed now, read past the test session's cache."""
    with _db.engine.connect() as conn:
        return str(conn.execute(sa.select(Match.status).where(Match.id == match_id)).scalar_one())
