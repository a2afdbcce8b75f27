"""The append-only audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, utcnow


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
    # The hash sealed with the audit key (keys.py), which the database does not hold: an event
    # written behind the application's back cannot carry a valid seal. "" before migration 0012.
    seal: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")

    __table_args__ = (sa.Index("ix_audit_event_object", "object_type", "object_id"),)


class AuditCheckpoint(Base):
    """The head of the trail at a moment, signed with the audit key: how many events there
    were, the last one and its hash. Deleting events at the end, or appending one, no longer
    verifies. Each checkpoint names the one before (by number and signature), so one removed
    from the table shows too; the latest is published on the disclosure page."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # 1, 2, 3, ... with no gap
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    event_count: Mapped[int]
    last_event_id: Mapped[int | None]  # None: the trail was empty
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    prev_signature: Mapped[str] = mapped_column(sa.String(64), default="")
    key_id: Mapped[str] = mapped_column(sa.String(16))
    signature: Mapped[str] = mapped_column(sa.String(64))
