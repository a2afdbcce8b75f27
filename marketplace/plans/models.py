"""One plan per household (一户一策), the guarantees that decide exit (两不愁三保障), the shocks
that put an exited household at risk (防返贫), and the decisions that moved its status.

A plan's measures answer the household's poverty causes; needs are posted from a measure and
carry its id (``need.measure_id``). Guarantee checks and shocks are kept as a history: the state
at any day is the latest check on or before it, so a month's report reads the month's end.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.db import Base, TimestampMixin, enum_column, utcnow
from marketplace.households.models import Household
from marketplace.vocab import HouseholdStatus, LabelledEnum, PovertyCause


class MeasureStatus(LabelledEnum):
    PLANNED = "planned", _l("Planned"), "secondary"
    UNDER_WAY = "under_way", _l("Under way"), "warning"
    DONE = "done", _l("Done"), "success"
    DROPPED = "dropped", _l("Dropped"), "dark"


class Guarantee(LabelledEnum):
    """两不愁三保障, with safe drinking water: what exit requires, each met or not."""

    FOOD = "food", _l("No worry about food")
    CLOTHING = "clothing", _l("No worry about clothing")
    EDUCATION = "education", _l("Compulsory education guaranteed")
    MEDICAL = "medical", _l("Basic medical care guaranteed")
    HOUSING = "housing", _l("Safe housing guaranteed")
    WATER = "water", _l("Safe drinking water guaranteed")


class ShockKind(LabelledEnum):
    """What can throw an exited household back (返贫): each one recorded flags it at risk."""

    ILLNESS = "illness", _l("Serious illness")
    DISASTER = "disaster", _l("Disaster")
    JOB_LOSS = "job_loss", _l("Loss of work")


class Plan(TimestampMixin, Base):
    __tablename__ = "household_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("household.id", ondelete="CASCADE"), unique=True
    )
    # 脱贫目标和时限: what the household aims at, and the year.
    goal: Mapped[str] = mapped_column(sa.String(200), default="")
    target_year: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    household: Mapped[Household] = relationship()
    measures: Mapped[list[Measure]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="Measure.id"
    )

    __table_args__ = (
        sa.CheckConstraint("target_year BETWEEN 2000 AND 2100", name="target_year_range"),
    )


class Measure(TimestampMixin, Base):
    __tablename__ = "plan_measure"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        sa.ForeignKey("household_plan.id", ondelete="CASCADE"), index=True
    )
    # The household's poverty cause the measure answers.
    cause: Mapped[PovertyCause] = mapped_column(enum_column(PovertyCause, "cause"))
    # The need category a need posted from it takes (vocab.CATEGORIES, a sub-category).
    subcategory: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(100))
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    due_on: Mapped[date]
    # 帮扶责任人: an account, or a name and phone (personal data: masked without a right).
    responsible_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    responsible_name: Mapped[str] = mapped_column(sa.String(50), default="")
    responsible_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    status: Mapped[MeasureStatus] = mapped_column(
        enum_column(MeasureStatus, "status"), default=MeasureStatus.PLANNED
    )
    # What came of it when done, or why it was dropped.
    outcome: Mapped[str] = mapped_column(sa.String(500), default="")
    finished_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    plan: Mapped[Plan] = relationship(back_populates="measures")
    responsible: Mapped[User | None] = relationship(foreign_keys=[responsible_id])

    __table_args__ = (
        sa.CheckConstraint(
            "responsible_id IS NOT NULL OR responsible_name <> ''", name="responsible_named"
        ),
    )


class GuaranteeCheck(Base):
    """One check of one guarantee: met or not on a day, with the evidence seen."""

    __tablename__ = "guarantee_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    guarantee: Mapped[Guarantee] = mapped_column(enum_column(Guarantee, "guarantee"))
    met: Mapped[bool]
    checked_on: Mapped[date]
    evidence: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.Index("ix_guarantee_check_latest", "household_id", "guarantee", "checked_on"),
    )


class Shock(Base):
    """A shock that puts a household at risk of falling back, open until resolved."""

    __tablename__ = "household_shock"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ShockKind] = mapped_column(enum_column(ShockKind, "kind"))
    occurred_on: Mapped[date]
    # May describe an illness: personal data, shown only to those with a right.
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_on: Mapped[date | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class StatusDecision(Base):
    """A decision that moved a household's status: exit by assessment (with the income and
    the line it was judged on), monitoring, return to poverty. Dated; audited as well."""

    __tablename__ = "household_status_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        sa.ForeignKey("household.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[HouseholdStatus] = mapped_column(
        enum_column(HouseholdStatus, "from_status")
    )
    to_status: Mapped[HouseholdStatus] = mapped_column(enum_column(HouseholdStatus, "to_status"))
    decided_on: Mapped[date]
    income_per_capita: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    poverty_line: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))
    line_year: Mapped[int | None]
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
