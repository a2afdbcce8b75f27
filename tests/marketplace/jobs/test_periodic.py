"""The periodic tasks run by themselves: a consumer's scheduler and workers (threads here, as in
``marketplace serve``) expire a pledge whose time is up, with no cron; a run holds its task's
lock, two at once do not crash, a match changed meanwhile is skipped and counted, a failure is
recorded and rolled back. The same code runs on the embedded SQLite store and on Redis."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.jobs import jobs_of
from marketplace.jobs.engine import consumer_for
from marketplace.jobs.models import JobOutcome, JobRun
from marketplace.jobs.tasks import PERIODIC_BY_NAME, PeriodicJob
from marketplace.matches import services
from marketplace.matches.models import Match, MatchStatus
from tests.conftest import World
from tests.marketplace.jobs.conftest import run_at_once, status_of, wait_for

S = MatchStatus


def _pledge(db: Any, world: World, need: Any = None) -> Match:
    match = services.pledge(world.donor, need or world.need, world.resource, 1)
    db.session.commit()
    return match


def _runs(db: Any, name: str = "expire") -> list[JobRun]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(JobRun).where(JobRun.name == name)))


def _expire_consumer_run(jobs_app: Any, db: Any, world: World) -> None:
    match = _pledge(db, world)
    assert status_of(match.id) == S.PROPOSED
    consumer = consumer_for(jobs_of(jobs_app).huey, workers=2, embedded=True)
    consumer.start()
    try:
        assert wait_for(lambda: status_of(match.id) == S.EXPIRED), "the pledge did not expire"
        assert wait_for(lambda: any(r.outcome == JobOutcome.OK for r in _runs(db)))
    finally:
        consumer.stop(graceful=True)
    (run,) = [r for r in _runs(db) if r.outcome == JobOutcome.OK]
    assert run.counts["pledges"] == 1 and run.counts["skipped"] == 0
    assert run.started_at is not None and run.finished_at is not None
    assert run.finished_at >= run.started_at


def test_a_pledge_whose_time_is_up_expires_by_itself(
    make_jobs_app: Any, db: Any, world: World
) -> None:
    """The consumer started as `marketplace serve` starts it; its scheduler finds the expiry
    due this minute and a worker runs it."""
    _expire_consumer_run(make_jobs_app("sqlite"), db, world)


def test_the_same_task_runs_on_redis(
    make_jobs_app: Any, db: Any, world: World, redis_url: str
) -> None:
    jobs_app = make_jobs_app("redis")
    assert jobs_of(jobs_app).kind == "redis"
    _expire_consumer_run(jobs_app, db, world)


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_a_held_lock_stops_a_second_run(
    make_jobs_app: Any, db: Any, world: World, store: str, request: Any
) -> None:
    if store == "redis":
        request.getfixturevalue("redis_url")
    jobs = jobs_of(make_jobs_app(store))
    match = _pledge(db, world)
    holder = jobs.lock("expire")
    assert holder.acquire()
    try:
        assert holder.held_by_someone()
        assert jobs.run_periodic("expire") is None  # stops at once, records nothing
        assert status_of(match.id) == S.PROPOSED and _runs(db) == []
    finally:
        holder.release()
    run = jobs.run_periodic("expire")
    assert run is not None and run.outcome == JobOutcome.OK and run.counts["pledges"] == 1
    assert not jobs.lock("expire").held_by_someone()  # released after the run


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_two_expiry_runs_at_once_do_not_crash(
    make_jobs_app: Any, db: Any, world: World, make_household: Any, make_need: Any,
    store: str, request: Any,
) -> None:  # fmt: skip
    if store == "redis":
        request.getfixturevalue("redis_url")
    jobs = jobs_of(make_jobs_app(store))
    matches = [_pledge(db, world)]
    for _ in range(3):
        matches.append(_pledge(db, world, make_need(world.village, make_household(world.village))))
    ran = [r for r in run_at_once(jobs, "expire") if r is not None]
    assert ran and all(r.outcome == JobOutcome.OK for r in ran)
    # Each match expired once, whichever way the two runs met (one locked out, or one after
    # the other finding nothing left).
    assert sum(r.counts["pledges"] for r in ran) == len(matches)
    assert all(status_of(m.id) == S.EXPIRED for m in matches)
    db.session.expire_all()
    events = db.session.scalars(
        sa.select(AuditEvent.object_id).where(AuditEvent.action == "match_expired")
    ).all()
    assert sorted(events) == sorted(m.id for m in matches)


def test_a_dead_holders_lock_is_broken(make_jobs_app: Any, db: Any, world: World) -> None:
    """A run that died holding the lock (killed mid-run) leaves it and a "running" row: past
    JOBS_LOCK_TIMEOUT the next run takes the lock over and marks the old row failed."""
    jobs = jobs_of(make_jobs_app("sqlite", JOBS_LOCK_TIMEOUT=600))
    match = _pledge(db, world)
    dead = JobRun(name="expire", outcome=JobOutcome.RUNNING)
    db.session.add(dead)
    db.session.commit()
    key = jobs.lock("expire").key
    jobs.huey.put_if_empty(key, f"{time.time() - 3600:.0f}:dead")
    run = jobs.run_periodic("expire")
    assert run is not None and run.outcome == JobOutcome.OK
    assert status_of(match.id) == S.EXPIRED
    db.session.refresh(dead)
    assert dead.outcome == JobOutcome.FAILED and dead.message == "interrupted"
    # A lock taken a moment ago is not broken.
    jobs.huey.put_if_empty(key, f"{time.time():.0f}:alive")
    assert jobs.run_periodic("expire") is None
    jobs.huey.delete(key)


def test_a_match_changed_meanwhile_is_skipped_and_counted(
    make_jobs_app: Any,
    db: Any,
    world: World,
    make_household: Any,
    make_need: Any,
    monkeypatch: Any,
) -> None:
    jobs = jobs_of(make_jobs_app("sqlite"))
    changed = _pledge(db, world)
    other = _pledge(db, world, make_need(world.village, make_household(world.village)))
    expire_one = services._expire_one
    elsewhere = db.engine  # the session app's connections: another transaction

    def someone_acts_first(match: Match, *args: Any) -> bool:
        """The donor withdraws the first pledge, committed in another transaction, after the
        expiry read it and before it moves it."""
        if match.id == changed.id:
            with elsewhere.begin() as conn:
                conn.execute(
                    sa.update(Match).where(Match.id == changed.id).values(status=S.CANCELLED)
                )
        return expire_one(match, *args)

    monkeypatch.setattr(services, "_expire_one", someone_acts_first)
    run = jobs.run_periodic("expire")
    assert run is not None and run.outcome == JobOutcome.OK, run and run.message
    assert run.counts["pledges"] == 1 and run.counts["skipped"] == 1
    assert status_of(changed.id) == S.CANCELLED  # the other's change stands
    assert status_of(other.id) == S.EXPIRED  # the rest of the batch is kept


# On PostgreSQL a connection of this module's apps is collected unclosed here (seen only when
# the whole folder runs; not found yet, see the closing note of issue 13): the garbage
# collector closes it, and the test's own assertions stand.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_failing_run_is_recorded_and_rolled_back(
    make_jobs_app: Any, db: Any, world: World, monkeypatch: Any
) -> None:
    jobs = jobs_of(make_jobs_app("sqlite"))
    need_id = world.need.id

    def boom(run: Any) -> Any:
        from marketplace.extensions import db as app_db
        from marketplace.needs.models import Need

        need = app_db.session.get(Need, need_id)
        need.title = "改了一半"  # a change made, not yet committed
        raise RuntimeError("the service broke")

    job = PERIODIC_BY_NAME["expire"]
    monkeypatch.setitem(PERIODIC_BY_NAME, "expire", PeriodicJob(job.name, job.label, job.setting,
                                                                 boom))  # fmt: skip
    run = jobs.run_periodic("expire")
    assert run is not None and run.outcome == JobOutcome.FAILED
    assert run.message == "RuntimeError: the service broke" and run.finished_at is not None
    db.session.refresh(world.need)
    assert world.need.title == "需要一台洗衣机"  # nothing of the failed run kept
    assert not jobs.lock("expire").held_by_someone()
    monkeypatch.setitem(PERIODIC_BY_NAME, "expire", job)
    again = jobs.run_periodic("expire")
    assert again is not None and again.outcome == JobOutcome.OK  # the next run starts afresh


def test_the_other_periodic_tasks_run(app: Any, db: Any, world: World) -> None:
    """E-mail, the search outbox and last month's reports, run as the scheduler runs them."""
    from marketplace.jobs.tasks import last_month_first

    jobs = jobs_of(app)
    emails = jobs.run_periodic("notifications")
    assert emails is not None and emails.outcome == JobOutcome.OK and emails.counts == {"emails": 0}
    search = jobs.run_periodic("search")
    assert search is not None and search.outcome == JobOutcome.OK
    assert isinstance(search.counts["documents"], int)
    first = jobs.run_periodic("reports")
    assert first is not None and first.outcome == JobOutcome.OK, first and first.message
    month = last_month_first().strftime("%Y-%m")
    assert first.counts["month"] == month and first.counts["frozen"] >= 1
    second = jobs.run_periodic("reports")  # idempotent: frozen months are left as they are
    assert second is not None and second.outcome == JobOutcome.OK
    assert second.counts["frozen"] == 0 and second.counts["already"] == first.counts["frozen"]


def test_periodic_tasks_are_handed_out_once_a_minute(make_jobs_app: Any) -> None:
    """Several consumers (serve's threads, workers on other machines) each ask every minute:
    the first to claim the minute enqueues its tasks, the others get none."""
    from datetime import datetime

    from marketplace.jobs.runner import Jobs

    jobs_app = make_jobs_app("sqlite")
    first, second = jobs_of(jobs_app).huey, Jobs(jobs_app).huey  # two consumers, one store
    minute = datetime(2026, 11, 30, 2, 0, 7)
    assert [type(t).__name__ for t in first.read_periodic(minute)] == ["periodic_expire"]
    assert second.read_periodic(minute.replace(second=40)) == []
    assert first.read_periodic(minute.replace(second=59)) == []
    assert len(second.read_periodic(minute.replace(minute=1))) == 1


def test_the_audit_checkpoint_is_signed_by_its_task(app: Any, db: Any, world: World) -> None:
    """Hourly by default; a trail that no longer verifies fails the run, with the reason, and
    no checkpoint vouches for it."""
    _pledge(db, world)  # an audited event
    jobs = jobs_of(app)
    run = jobs.run_periodic("audit")
    assert run is not None and run.outcome == JobOutcome.OK, run and run.message
    assert run.counts["checkpoint"] >= 1 and run.counts["events"] >= 1
    first = db.session.scalar(sa.select(sa.func.min(AuditEvent.id)))
    with db.engine.begin() as conn:
        conn.execute(sa.update(AuditEvent).where(AuditEvent.id == first).values(action="edited"))
    broken = jobs.run_periodic("audit")
    assert broken is not None and broken.outcome == JobOutcome.FAILED
    assert broken.message.startswith("TrailBroken: ") and str(first) in broken.message
