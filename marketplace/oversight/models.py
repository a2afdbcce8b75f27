"""The append-only audit trail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, enum_column, utcnow
from marketplace.regions.models import Region
from marketplace.vocab import LABELS, LabelledEnum


class AuditEvent(Base):
    """One thing that happened. The application inserts these and never updates or deletes one."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    actor_role: Mapped[str] = mapped_column(sa.String(20), default="")
    action: Mapped[str] = mapped_column(sa.String(50), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(30), default="")
    object_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    # Path of the region of the object acted on ("" when it has none, and before migration 0009):
    # administrators and auditors read the events about their regions, whoever acted.
    region_path: Mapped[str] = mapped_column(
        sa.String(200), default="", server_default="", index=True
    )
    # Tamper evidence: each event's hash covers its content and the previous event's hash.
    prev_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    hash: Mapped[str] = mapped_column(sa.String(64), default="")

    __table_args__ = (sa.Index("ix_audit_event_object", "object_type", "object_id"),)


class SpotCheckStatus(LabelledEnum):
    OPEN = "open"
    CLOSED = "closed"


class Finding(LabelledEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    UNCHECKED = "unchecked"


LABELS.update(
    {
        SpotCheckStatus.OPEN: _l("In progress"),
        SpotCheckStatus.CLOSED: _l("Closed"),
        Finding.FOUND: _l("Found"),
        Finding.NOT_FOUND: _l("Not found"),
        Finding.UNCHECKED: _l("Not checked yet"),
    }
)

# The "four checks" of the Anqing document: people, project, funds, measures.
CHECKS = ("people", "project", "funds", "measures")


class SpotCheck(Base):
    """A random spot check (随机抽查): a population, a seed, and the sample they give."""

    __tablename__ = "spot_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"))
    period_start: Mapped[date]
    period_end: Mapped[date]
    category: Mapped[str] = mapped_column(sa.String(40), default="")
    match_status: Mapped[str] = mapped_column(sa.String(20), default="")
    sample_size: Mapped[int]
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    population: Mapped[list[int]] = mapped_column(sa.JSON, default=list)  # match ids, sorted
    sample: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    status: Mapped[SpotCheckStatus] = mapped_column(
        enum_column(SpotCheckStatus, "status"), default=SpotCheckStatus.OPEN
    )
    report: Mapped[str] = mapped_column(sa.Text, default="")
    reply: Mapped[str] = mapped_column(sa.Text, default="")
    closed_at: Mapped[datetime | None]

    region: Mapped[Region] = relationship()
    items: Mapped[list[SpotCheckItem]] = relationship(
        back_populates="check", order_by="SpotCheckItem.match_id", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.CheckConstraint("sample_size > 0", name="sample_size_positive"),)


class SpotCheckItem(Base):
    __tablename__ = "spot_check_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_check_id: Mapped[int] = mapped_column(
        sa.ForeignKey("spot_check.id", ondelete="CASCADE"), index=True
    )
    match_id: Mapped[int] = mapped_column(sa.ForeignKey("match.id"))
    people: Mapped[Finding] = mapped_column(
        enum_column(Finding, "people"), default=Finding.UNCHECKED
    )
    project: Mapped[Finding] = mapped_column(
        enum_column(Finding, "project"), default=Finding.UNCHECKED
    )
    funds: Mapped[Finding] = mapped_column(enum_column(Finding, "funds"), default=Finding.UNCHECKED)
    measures: Mapped[Finding] = mapped_column(
        enum_column(Finding, "measures"), default=Finding.UNCHECKED
    )
    note: Mapped[str] = mapped_column(sa.Text, default="")

    check: Mapped[SpotCheck] = relationship(back_populates="items")
