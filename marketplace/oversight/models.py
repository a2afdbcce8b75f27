"""Spot checks of delivered help (随机抽查)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, enum_column, utcnow
from marketplace.regions.models import Region
from marketplace.vocab import LabelledEnum


class SpotCheckStatus(LabelledEnum):
    OPEN = "open", _l("In progress"), "danger"
    CLOSED = "closed", _l("Closed"), "secondary"


class Finding(LabelledEnum):
    FOUND = "found", _l("Found")
    NOT_FOUND = "not_found", _l("Not found")
    UNCHECKED = "unchecked", _l("Not checked yet")


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
