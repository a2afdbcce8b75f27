"""The periodic tasks: what each does, the setting that holds its schedule, and its label.

Each body gets the run (``Run``: ``checkpoint()`` commits what is done so far, ``progress``
shows how far it got) and returns its counts. Bodies call the services as the commands do and
never commit otherwise: the runner (``marketplace.jobs.runner``) commits once at the end, or
rolls back and records the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.timefmt import beijing_today


class Run(Protocol):
    def checkpoint(self) -> None: ...

    def progress(self, stage: str, done: int, total: int | None = None) -> None: ...


Counts = dict[str, Any]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    label: LazyString
    setting: str
    body: Callable[[Run], Counts]


def expire(run: Run) -> Counts:
    """Pledges past their time and approvals past the delivery deadline, then resources whose
    validity has ended; one at a time, each committed as it is done."""
    from marketplace.matches.services import expire_matches
    from marketplace.resources.services import expire_resources

    now = utcnow()
    counts = expire_matches(now, each=run.checkpoint)
    ended = expire_resources(now)
    return {**counts, "resources": ended["expired"], "resources_skipped": ended["skipped"]}


def send_notifications(run: Run) -> Counts:
    from marketplace.notifications.services import send_pending_emails

    return {"emails": send_pending_emails()}


def apply_search_outbox(run: Run) -> Counts:
    from marketplace.search.services import sync

    return {"documents": sync()}


def last_month_first(now: datetime | None = None) -> date:
    """The first day of the month before this one, in Beijing."""
    today = beijing_today(now)
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def freeze_last_month(run: Run) -> Counts:
    """Last month's reports of every deployed province, frozen once: a month already frozen is
    counted and left as it is."""
    from marketplace.reports.services import deployment_roots, take_snapshot

    first = last_month_first()
    counts: Counts = {"month": first.strftime("%Y-%m"), "frozen": 0, "already": 0}
    for root in deployment_roots():
        try:
            take_snapshot(None, root, first)
        except ServiceError as refused:
            if refused.status != 409:
                raise
            counts["already"] += 1
            continue
        counts["frozen"] += 1
        run.checkpoint()
    return counts


def write_audit_checkpoint(run: Run) -> Counts:
    """Check the audit trail and sign its head (committed by the checkpoint itself); a trail
    that does not verify fails the run, naming the first event changed, inserted or deleted."""
    from marketplace.audit.checkpoints import write_checkpoint

    checkpoint = write_checkpoint()
    return {"checkpoint": checkpoint.seq, "events": checkpoint.event_count}


def remind_follow_ups(run: Run) -> Counts:
    """Tell each village's staff of the follow-ups that have become overdue since the last
    reminder: each follow-up is reminded once, so a second run the same day sends nothing."""
    from marketplace.followups.services import remind_overdue

    return dict(remind_overdue())


PERIODIC: list[PeriodicJob] = [
    PeriodicJob("expire", _l("Expire pledges and late approvals"), "JOBS_SCHEDULE_EXPIRE", expire),
    PeriodicJob(
        "notifications",
        _l("Send queued e-mails"),
        "JOBS_SCHEDULE_NOTIFICATIONS",
        send_notifications,
    ),
    PeriodicJob(
        "search", _l("Apply the search outbox"), "JOBS_SCHEDULE_SEARCH", apply_search_outbox
    ),
    PeriodicJob(
        "reports", _l("Freeze last month's reports"), "JOBS_SCHEDULE_REPORTS", freeze_last_month
    ),
    PeriodicJob(
        "audit", _l("Sign the audit checkpoint"), "JOBS_SCHEDULE_AUDIT", write_audit_checkpoint
    ),
    PeriodicJob(
        "follow_ups",
        _l("Remind overdue follow-ups"),
        "JOBS_SCHEDULE_FOLLOW_UPS",
        remind_follow_ups,
    ),
]
PERIODIC_BY_NAME = {job.name: job for job in PERIODIC}

# What the counts of a run mean, for the page and the command.
COUNT_LABELS: dict[str, LazyString] = {
    "pledges": _l("pledges expired"),
    "approved": _l("approved matches expired"),
    "skipped": _l("changed meanwhile, skipped"),
    "resources": _l("resources expired"),
    "resources_skipped": _l("resources changed meanwhile"),
    "emails": _l("e-mails sent"),
    "documents": _l("documents updated"),
    "month": _l("month"),
    "frozen": _l("regions frozen"),
    "already": _l("already frozen"),
    "checkpoint": _l("checkpoint no."),
    "events": _l("events"),
    "reminded": _l("follow-ups reminded"),
    "notified": _l("people notified"),
}
