"""The record of every job run: when it started and ended, how it went, what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, enum_column, utcnow
from marketplace.vocab import LabelledEnum


class JobOutcome(LabelledEnum):
    QUEUED = "queued", _l("Queued"), "secondary"
    RUNNING = "running", _l("Running"), "info"
    OK = "ok", _l("Succeeded"), "success"
    FAILED = "failed", _l("Failed"), "danger"


class JobRun(Base):
    """One run of a periodic task, or one piece of long work a user asked for (with its
    progress: stage, rows done of total)."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))  # "expire", "search_rebuild"
    outcome: Mapped[JobOutcome] = mapped_column(
        enum_column(JobOutcome, "outcome"), default=JobOutcome.RUNNING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    # What the run did, by kind ({"pledges": 3, "skipped": 1}), and why it failed.
    counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    # Progress of long work, shown while it runs.
    stage: Mapped[str] = mapped_column(sa.String(40), default="")
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None] = mapped_column()
    subject: Mapped[str] = mapped_column(sa.String(80), default="")  # "import:12"
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    __table_args__ = (sa.Index("ix_job_run_name_created_at", "name", "created_at"),)


def percent_of(done: int, total: int | None) -> int | None:
    """How far, in whole per cent (None: the total is not known)."""
    if not total:
        return None
    return max(0, min(100, done * 100 // total))
