"""The register of poor households (建档立卡贫困户)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, TimestampMixin, enum_column
from marketplace.regions.models import Region
from marketplace.vocab import HouseholdStatus, LabourCapacity, PovertyCause

# How many people a household may have: the one definition of the rule, which the form, the
# service, the import and the table's check all read.
MEMBER_COUNT_RANGE = (1, 30)


class Household(TimestampMixin, Base):
    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    register_number: Mapped[str] = mapped_column(sa.String(30), unique=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    # Personal data: shown masked to anyone without a right to it.
    head_name: Mapped[str] = mapped_column(sa.String(50))
    head_id_number: Mapped[str] = mapped_column(sa.String(18), unique=True)
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    member_count: Mapped[int] = mapped_column(default=1)
    primary_cause: Mapped[PovertyCause] = mapped_column(enum_column(PovertyCause, "primary_cause"))
    # Further causes beyond the main one, as codes of PovertyCause.
    other_causes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[HouseholdStatus] = mapped_column(
        enum_column(HouseholdStatus, "status"), default=HouseholdStatus.POOR
    )
    labour_capacity: Mapped[LabourCapacity] = mapped_column(
        enum_column(LabourCapacity, "labour_capacity"), default=LabourCapacity.FULL
    )
    income_per_capita: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    village: Mapped[Region] = relationship()
    members: Mapped[list[HouseholdMember]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="HouseholdMember.id"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "member_count >= {} AND member_count <= {}".format(*MEMBER_COUNT_RANGE),
            name="member_count_range",
        ),
        sa.CheckConstraint("income_per_capita >= 0", name="income_non_negative"),
    )

    @property
    def causes(self) -> list[str]:
        return [self.primary_cause.value, *[c for c in self.other_causes if c]]


class HouseholdMember(Base):
    __tablename__ = "household_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(50))
    relation: Mapped[str] = mapped_column(sa.String(20))
    id_number: Mapped[str] = mapped_column(sa.String(18), default="")
    birth_year: Mapped[int | None]
    # Health is sensitive: masked like ID numbers.
    health: Mapped[str] = mapped_column(sa.String(100), default="")

    household: Mapped[Household] = relationship(back_populates="members")
