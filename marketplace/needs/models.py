"""Needs posted by village staff for a household or a whole village."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, TimestampMixin, enum_column
from marketplace.households.models import Household
from marketplace.regions.models import Region
from marketplace.vocab import (
    CATEGORIES,
    SUBCATEGORY_CODES,
    TOP_CATEGORY_CODES,
    LabelledEnum,
)


class NeedStatus(LabelledEnum):
    SUBMITTED = (
        "submitted",
        _l("Awaiting verification"),
        "warning",
    )  # waiting for verification; still editable
    RETURNED = (
        "returned",
        _l("Returned"),
        "danger",
    )  # sent back with a reason; editable, then resubmitted
    VERIFIED = "verified", _l("Verified, open"), "success"  # open for pledges
    FULFILLED = "fulfilled", _l("Fulfilled"), "primary"
    WITHDRAWN = "withdrawn", _l("Withdrawn"), "secondary"


def _codes_check(column: str, codes: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(c) for c in codes)})"


class Need(TimestampMixin, Base):
    __tablename__ = "need"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A household need, or a village need (road, water tank) with no household.
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("household.id"), index=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    category: Mapped[str] = mapped_column(sa.String(20))
    subcategory: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    quantity: Mapped[int]
    # Quantity not yet taken by approved matches.
    open_quantity: Mapped[int]
    unit: Mapped[str] = mapped_column(sa.String(20))
    estimated_value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal(0))
    urgency: Mapped[int] = mapped_column(default=2)
    needed_by: Mapped[date | None]
    status: Mapped[NeedStatus] = mapped_column(
        enum_column(NeedStatus, "status"), default=NeedStatus.SUBMITTED
    )
    return_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    verified_at: Mapped[datetime | None]
    # The measure of the household's plan it was posted from (plans, above needs: named by its
    # table only, never imported).
    measure_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("plan_measure.id", ondelete="SET NULL"), index=True
    )

    household: Mapped[Household | None] = relationship()
    village: Mapped[Region] = relationship()

    __table_args__ = (
        sa.CheckConstraint(_codes_check("category", TOP_CATEGORY_CODES), name="category_known"),
        sa.CheckConstraint(
            _codes_check("subcategory", SUBCATEGORY_CODES), name="subcategory_known"
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint(
            "open_quantity >= 0 AND open_quantity <= quantity", name="open_quantity_range"
        ),
        sa.CheckConstraint("urgency BETWEEN 1 AND 3", name="urgency_range"),
        sa.CheckConstraint("estimated_value >= 0", name="value_non_negative"),
        sa.Index("ix_need_status_category", "status", "category"),
        # Best needs for a resource read open needs by village from this index alone (0018).
        sa.Index(
            "ix_need_open_by_village",
            *("village_id", "category", "subcategory", "household_id", "open_quantity"),
            *("urgency", "created_at", "id"),
            postgresql_where=sa.text("status = 'verified' AND open_quantity > 0"),
            sqlite_where=sa.text("status = 'verified' AND open_quantity > 0"),
        ),
    )

    @property
    def category_label(self) -> str:
        return str(CATEGORIES[self.subcategory].label)
