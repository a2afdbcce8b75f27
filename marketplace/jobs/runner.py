"""Running jobs inside the app: one ``Jobs`` per app (``jobs_of(app)``), holding its Huey, the
periodic tasks registered on it and their schedules.

A periodic run takes its task's lock (a second run at once stops there), records itself as
running, runs inside an app context of its own (its own database session), commits once at
the end (or at the body's checkpoints) and records how it ended; on an error it rolls back,
records the failure with its message and the next run starts afresh. Changes that touched
the search index reach it after the commit, as after a request.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.config import ConfigError
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.jobs.models import JobOutcome, JobRun
from marketplace.jobs.schedule import Schedule, ScheduleError
from marketplace.jobs.settings import check_settings, store_kind
from marketplace.jobs.tasks import PERIODIC, PERIODIC_BY_NAME, PeriodicJob
from marketplace.jobs.work import WORK
from marketplace.signals import work_requested

if TYPE_CHECKING:  # Huey (and the Redis client through it) is imported when first used
    from huey import Huey

    from marketplace.jobs.engine import JobLock

log = logging.getLogger("marketplace.jobs")


class _Run:
    """What a body sees of its run: commit what is done, tell how far it got."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id

    def checkpoint(self) -> None:
        db.session.commit()

    def progress(self, stage: str, done: int, total: int | None = None) -> None:
        db.session.execute(
            sa.update(JobRun)
            .where(JobRun.id == self.run_id)
            .values(stage=stage[:40], done=done, total=total)
        )
        db.session.commit()


class _WorkProgress:
    """How far a piece of long work got, kept in the job store (a key per run) rather than the
    database: the body's own transaction holds the database until it ends (SQLite lets one
    writer at a time), and the page must see the progress before then."""

    def __init__(self, jobs: Jobs, run_id: int) -> None:
        self.jobs = jobs
        self.run_id = run_id
        self.last: dict[str, Any] = {}
        self._told = 0.0

    def progress(self, stage: str, done: int, total: int | None = None) -> None:
        self.last = {"stage": stage, "done": done, "total": total}
        now = time.monotonic()
        if now - self._told < 0.2 and total is not None and done < total:
            return  # at most five a second reach the store
        self._told = now
        self.jobs.huey.storage.put_data(progress_key(self.run_id), json.dumps(self.last).encode())


def progress_key(run_id: int) -> str:
    return f"work.progress.{run_id}"


@dataclass
class Overview:
    """One periodic task as the page and the command show it."""

    job: PeriodicJob
    schedule: Schedule
    last: JobRun | None
    next_run: datetime | None


class Jobs:
    def __init__(self, app: Flask) -> None:
        self.app = app
        check_settings(app.config)
        self.kind = store_kind(app.config)
        self.schedules: dict[str, Schedule] = {}
        for job in PERIODIC:
            text = str(app.config.get(job.setting, "off"))
            try:
                self.schedules[job.name] = Schedule.parse(text)
            except ScheduleError as exc:
                raise ConfigError(
                    job.setting, text, 'a crontab "minute hour day month weekday" or "off"'
                ) from exc
        self._huey: Huey | None = None
        self._work_task: Any = None
        self._building = threading.Lock()

    # --- the engine ---------------------------------------------------------------------

    @property
    def huey(self) -> Huey:
        """Built on first use (the web pages that only read runs never open the store)."""
        with self._building:
            if self._huey is None:
                from marketplace.jobs.engine import build_huey

                self._huey = self._register(build_huey(self.app.config))
            return self._huey

    def _register(self, huey: Huey) -> Huey:
        self._work_task = huey.task(name="work")(_work_entry(self))
        for job in PERIODIC:
            schedule = self.schedules[job.name]
            if schedule.off:
                continue
            huey.periodic_task(schedule.matches, name=f"periodic_{job.name}")(
                _periodic_entry(self, job.name)
            )
        return huey

    @property
    def lock_timeout(self) -> int:
        return int(self.app.config.get("JOBS_LOCK_TIMEOUT", 3600))

    def lock(self, name: str) -> JobLock:
        from marketplace.jobs.engine import JobLock

        return JobLock(self.huey, f"periodic.{name}", self.lock_timeout)

    # --- periodic runs --------------------------------------------------------------------

    def run_periodic(self, name: str) -> JobRun | None:
        """Run the task now, under its lock; None when another run holds it."""
        job = PERIODIC_BY_NAME[name]
        lock = self.lock(name)
        if not lock.acquire():
            log.info("periodic task %s is running elsewhere: this run stops", name)
            return None
        try:
            with self.app.app_context():
                run = self._run(job)
                db.session.refresh(run)
                db.session.expunge(run)  # read after the context ends (the command prints it)
                return run
        finally:
            lock.release()

    def _run(self, job: PeriodicJob) -> JobRun:
        session = db.session
        now = utcnow()
        self._close_abandoned(job.name, now)
        run = JobRun(name=job.name, outcome=JobOutcome.RUNNING, created_at=now, started_at=now)
        session.add(run)
        session.commit()
        run_id = run.id
        try:
            counts = job.body(_Run(run_id))
        except Exception as exc:
            session.rollback()
            # The traceback as text: a record holding the exception would keep its frames,
            # and the database connection they reached, alive.
            log.error("periodic task %s failed\n%s", job.name, traceback.format_exc())
            failed = session.get(JobRun, run_id)
            assert failed is not None
            failed.outcome = JobOutcome.FAILED
            failed.message = describe(exc)
            failed.finished_at = utcnow()
            session.commit()
            return failed
        done = session.get(JobRun, run_id)
        assert done is not None
        done.outcome = JobOutcome.OK
        done.counts = counts
        done.finished_at = utcnow()
        self._prune(job.name)
        session.commit()
        self._sync_search()
        return done

    def _close_abandoned(self, name: str, now: datetime) -> None:
        """Runs left "running" by a holder that died (we hold the lock now): failed."""
        db.session.execute(
            sa.update(JobRun)
            .where(JobRun.name == name, JobRun.outcome == JobOutcome.RUNNING)
            .values(outcome=JobOutcome.FAILED, finished_at=now, message="interrupted")
        )

    def _prune(self, name: str) -> None:
        days = int(self.app.config.get("JOBS_HISTORY_DAYS", 30))
        db.session.execute(
            sa.delete(JobRun).where(
                JobRun.name == name, JobRun.created_at < utcnow() - timedelta(days=days)
            )
        )

    def _sync_search(self) -> None:
        if not db.session.info.get("search_dirty"):
            return
        from marketplace.search.services import sync

        try:
            sync()
        except Exception:  # the outbox keeps the changes for the next sync
            log.exception("search sync after a job failed; the outbox keeps the changes")
            db.session.rollback()

    # --- long work ------------------------------------------------------------------------

    def request_work(self, name: str, actor: User, params: dict[str, Any], subject: str) -> int:
        """A queued run in the caller's transaction; enqueued when that transaction commits (the
        consumer must find the run), forgotten if it rolls back."""
        if name not in WORK:
            raise KeyError(name)
        run = JobRun(
            name=name, outcome=JobOutcome.QUEUED, requested_by_id=actor.id,
            subject=subject[:80], stage="queued",
        )  # fmt: skip
        db.session.add(run)
        db.session.flush()
        db.session.info.setdefault("work_to_enqueue", []).append((self, run.id, name, params))
        return int(run.id)

    def enqueue(self, run_id: int, name: str, params: dict[str, Any]) -> None:
        _ = self.huey  # built on first use, which registers the task
        self._work_task(run_id, name, params)

    def live_progress(self, run_id: int) -> dict[str, Any] | None:
        from huey.storage import EmptyData

        raw = self.huey.storage.peek_data(progress_key(run_id))
        if raw is EmptyData:
            return None
        found: dict[str, Any] = json.loads(bytes(raw))
        return found

    def run_work(self, run_id: int, name: str, params: dict[str, Any]) -> None:
        """Run one piece of long work, once: a run already taken (a task delivered twice) is
        left alone."""
        with self.app.app_context():
            session = db.session
            result = session.execute(
                sa.update(JobRun)
                .where(JobRun.id == run_id, JobRun.outcome == JobOutcome.QUEUED)
                .values(outcome=JobOutcome.RUNNING, started_at=utcnow())
            )
            claimed = result.rowcount  # type: ignore[attr-defined]
            session.commit()
            if not claimed:
                return
            run = session.get(JobRun, run_id)
            assert run is not None
            actor = session.get(User, run.requested_by_id) if run.requested_by_id else None
            progress = _WorkProgress(self, run_id)
            locale = str(params.get("locale") or self.app.config["BABEL_DEFAULT_LOCALE"])
            counts: dict[str, Any] = {}
            try:
                if actor is None or not actor.active:
                    raise ServiceError(_l("The account that asked for this work is disabled."), 403)
                with force_locale(locale):
                    counts = WORK[name].body(progress, actor, params)
            except Exception as exc:
                session.rollback()
                failed = session.get(JobRun, run_id)
                assert failed is not None
                failed.outcome = JobOutcome.FAILED
                if isinstance(exc, ServiceError):
                    with force_locale(locale):
                        failed.message = str(exc.message)[:500]
                    failed.counts = {"details": getattr(exc, "details", [])}
                else:
                    log.error("work %s (run %s) failed\n%s", name, run_id, traceback.format_exc())
                    failed.message = describe(exc)
                failed.finished_at = utcnow()
                session.commit()
                return
            finally:
                self.huey.storage.delete_data(progress_key(run_id))
            done = session.get(JobRun, run_id)
            assert done is not None
            done.outcome = JobOutcome.OK
            done.counts = counts
            done.stage = "done"
            last = progress.last
            done.done = int(last.get("done") or 0)
            done.total = last.get("total")
            done.finished_at = utcnow()
            session.commit()
            self._sync_search()

    # --- what the page and the command show ----------------------------------------------

    def overview(self, now: datetime | None = None) -> list[Overview]:
        now = now or utcnow()
        rows = []
        for job in PERIODIC:
            last = db.session.scalar(
                sa.select(JobRun)
                .where(JobRun.name == job.name)
                .order_by(JobRun.created_at.desc(), JobRun.id.desc())
                .limit(1)
            )
            schedule = self.schedules[job.name]
            rows.append(Overview(job, schedule, last, schedule.next_after(now)))
        return rows


def _work_entry(jobs: Jobs) -> Any:
    def work(run_id: int, name: str, params: dict[str, Any]) -> None:
        jobs.run_work(run_id, name, params)

    return work


@event.listens_for(Session, "after_commit")
def _enqueue_committed_work(session: Session) -> None:
    for jobs, run_id, name, params in session.info.pop("work_to_enqueue", []):
        jobs.enqueue(run_id, name, params)


@event.listens_for(Session, "after_rollback")
def _forget_work(session: Session) -> None:
    session.info.pop("work_to_enqueue", None)


def _periodic_entry(jobs: Jobs, name: str) -> Any:
    def run() -> None:
        jobs.run_periodic(name)

    run.__name__ = f"periodic_{name}"
    run.__qualname__ = run.__name__
    return run


def describe(exc: BaseException) -> str:
    """The failure as the page shows it: the error's kind and its first line (a database
    error's own message, without the statement and its parameters)."""
    inner = getattr(exc, "orig", None) or exc
    first = (str(inner).strip().splitlines() or [""])[0]
    return f"{type(inner).__name__}: {first}"[:500]


def init_app(app: Flask) -> Jobs:
    jobs = Jobs(app)
    app.extensions["jobs"] = jobs
    return jobs


@work_requested.connect
def _work_requested(
    _sender: Any, *, name: str, actor: User, params: dict[str, Any], subject: str
) -> int:
    from flask import current_app

    return jobs_of(current_app).request_work(name, actor, params, subject)


def jobs_of(app: Flask) -> Jobs:
    jobs: Jobs = app.extensions["jobs"]
    return jobs
