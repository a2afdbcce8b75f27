"""Who may follow a piece of long work, and cancel it while no worker has taken it: the one
who asked for it; who may start a search rebuild: the superuser (it rewrites the whole index,
for every region)."""

from __future__ import annotations

from typing import Any

from marketplace.jobs.models import JobOutcome, JobRun
from marketplace.roles import Role


def can_follow(user: Any, run: JobRun) -> bool:
    return bool(
        user.is_authenticated and run.requested_by_id is not None and run.requested_by_id == user.id
    )


def can_cancel(user: Any, run: JobRun) -> bool:
    return can_follow(user, run) and run.outcome == JobOutcome.QUEUED


def can_rebuild_search(user: Any) -> bool:
    return bool(user.is_authenticated and user.role == Role.SUPERUSER)
