"""Frozen monthly figures: a snapshot keeps a month's report as it was when the month closed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, utcnow
from marketplace.regions.models import Region


class ReportSnapshot(Base):
    __tablename__ = "report_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7))  # "2026-10"
    # The subtree the figures cover; every region below it has its own figures inside.
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON)

    region: Mapped[Region] = relationship()

    __table_args__ = (sa.UniqueConstraint("month", "region_id", name="one_per_month_and_region"),)
