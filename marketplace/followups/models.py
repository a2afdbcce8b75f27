"""Follow-ups of results (跟踪问效) and certificates of contribution (帮扶证明).

A follow-up is a visit planned when a match is confirmed with the household: a number of months
after the help arrived, staff go back and record whether it still works (still employed, the
animals alive, the washer in use), what it earns, and a photo if they have one. A certificate
freezes an organization's figures for a period under a verification code (``certificates``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.db import Base, TimestampMixin, enum_column
from marketplace.matches.models import Match
from marketplace.vocab import LabelledEnum


class FollowUpStatus(LabelledEnum):
    # Overdue is not a status: a scheduled follow-up whose day has passed (``is_overdue``).
    SCHEDULED = "scheduled", _l("Due"), "warning"
    DONE = "done", _l("Recorded"), "success"


class FollowUp(TimestampMixin, Base):
    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(sa.ForeignKey("match.id"), index=True)
    # Months after the help arrived (the match's received_on) and the question set asked
    # (marketplace.followups.questions.QUESTION_SETS), both from the schedule in force when
    # the match was confirmed.
    months: Mapped[int]
    questions: Mapped[str] = mapped_column(sa.String(20))
    due_on: Mapped[date]
    status: Mapped[FollowUpStatus] = mapped_column(
        enum_column(FollowUpStatus, "status"), default=FollowUpStatus.SCHEDULED
    )
    # What staff found, once recorded.
    visited_on: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    recorded_at: Mapped[datetime | None]
    # The question set's first question: is the help still working?
    effective: Mapped[bool | None]
    # Every answer by its key (yes/no as booleans, amounts as decimal strings).
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Income the household earned from this help in the period the follow-up covers (yuan):
    # a monthly wage times the months since the previous check, or the income reported.
    income: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    # Staff's note: may say things about the household's health or family, so it shows only
    # to those who may see personal data.
    note: Mapped[str] = mapped_column(sa.Text, default="")
    photo_id: Mapped[int | None] = mapped_column(sa.ForeignKey("attachment.id"))
    # When the overdue reminder went out (once per follow-up).
    reminded_at: Mapped[datetime | None]

    match: Mapped[Match] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("match_id", "months", name="uq_follow_up_match_months"),
        sa.CheckConstraint("months > 0", name="months_positive"),
        sa.CheckConstraint("income >= 0", name="income_non_negative"),
        sa.Index("ix_follow_up_status_due_on", "status", "due_on"),
    )


class Certificate(Base):
    """A certificate of contribution (帮扶证明): what an organization's help came to in a
    period, frozen when issued. ``code`` is an HMAC of ``content`` under a key kept outside the
    database (``certificates.signing_key``): a row changed in the database no longer verifies."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    first_month: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM, Beijing months
    last_month: Mapped[str] = mapped_column(sa.String(7))
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime]

    organization: Mapped[Organization] = relationship()
