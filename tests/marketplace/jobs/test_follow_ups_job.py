"""The follow-up reminders run as a periodic task (daily, Beijing morning): overdue follow-ups are
reminded once each, a run while another holds the task's lock stops at once, two runs at once
never both remind one follow-up, and a second run the same day sends nothing again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketplace.jobs import jobs_of
from marketplace.jobs.models import JobOutcome
from marketplace.jobs.schedule import Schedule
from marketplace.jobs.tasks import COUNT_LABELS, PERIODIC_BY_NAME
from marketplace.notifications.models import Notification
from tests.conftest import World
from tests.marketplace.followups import conftest as follow_up_fixtures
from tests.marketplace.followups.conftest import months_ago
from tests.marketplace.jobs.conftest import run_at_once

# The follow-up tests' matches confirmed some months ago, used here too.
confirmed = follow_up_fixtures.confirmed


def _reminders(db: Any) -> list[tuple[int | None, int]]:
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(Notification)
        .where(Notification.kind == "follow_ups_overdue")
        .order_by(Notification.id)
    )
    return [(n.user_id, n.params["count"]) for n in rows]


def test_it_is_scheduled_daily_in_the_beijing_morning(app: Any) -> None:
    from datetime import UTC, datetime

    job = PERIODIC_BY_NAME["follow_ups"]
    assert job.setting == "JOBS_SCHEDULE_FOLLOW_UPS"
    schedule = Schedule.parse(app.config[job.setting])
    assert not schedule.off
    # 08:00 in Beijing is 00:00 UTC; the next run after it is the next day's.
    after = schedule.next_after(datetime(2026, 3, 2, 0, 30, tzinfo=UTC))
    assert after is not None
    assert (after.year, after.month, after.day, after.hour, after.minute) == (2026, 3, 3, 0, 0)
    assert {"reminded", "notified"} <= set(COUNT_LABELS)


def test_overdue_follow_ups_are_reminded_by_the_task_once(
    make_jobs_app: Any, db: Any, world: World, confirmed: Any
) -> None:
    confirmed("goods", days_ago=months_ago(3) + 2)
    confirmed("jobs", days_ago=months_ago(1) + 2)
    confirmed("goods", days_ago=1)  # nothing due yet
    jobs = jobs_of(make_jobs_app("sqlite"))
    holder = jobs.lock("follow_ups")
    assert holder.acquire()
    try:
        assert jobs.run_periodic("follow_ups") is None  # another run holds it: this one stops
        assert _reminders(db) == []
    finally:
        holder.release()
    run = jobs.run_periodic("follow_ups")
    assert run is not None and run.outcome == JobOutcome.OK, run and run.message
    assert run.counts == {"reminded": 2, "notified": 1}
    assert _reminders(db) == [(world.staff.id, 2)]
    again = jobs.run_periodic("follow_ups")  # the same day again: nothing new to tell
    assert again is not None and again.outcome == JobOutcome.OK
    assert again.counts == {"reminded": 0, "notified": 0}
    assert _reminders(db) == [(world.staff.id, 2)]


def test_two_runs_at_once_remind_each_follow_up_once(
    make_jobs_app: Any, db: Any, world: World, confirmed: Any
) -> None:
    for extra in range(3):
        confirmed("goods", days_ago=months_ago(3) + 1 + extra)
    jobs = jobs_of(make_jobs_app("sqlite"))
    ran = [r for r in run_at_once(jobs, "follow_ups") if r is not None]
    assert ran and all(r.outcome == JobOutcome.OK for r in ran)
    # Whichever way the two met (one locked out, or one after the other finding nothing left),
    # the three follow-ups were reminded once, in one notification.
    assert sum(r.counts["reminded"] for r in ran) == 3
    assert _reminders(db) == [(world.staff.id, 3)]
