"""Resources posted by donors: goods, money, discounts, jobs, training, purchases, services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.db import Base, TimestampMixin, enum_column
from marketplace.regions.models import Region
from marketplace.vocab import LabelledEnum


class ResourceKind(LabelledEnum):
    GOODS = "goods", _l("Goods")
    MONEY = "money", _l("Money")
    DISCOUNT = "discount", _l("Discount")
    JOBS = "jobs", _l("Jobs")
    TRAINING = "training", _l("Training")
    PURCHASE = "purchase", _l("Purchase of farm produce")
    SERVICE = "service", _l("Service")


# The kinds whose help is work: they go only to households with someone able to work, unless
# the donor says otherwise.
LABOUR_KINDS = frozenset({ResourceKind.JOBS, ResourceKind.TRAINING})


def default_per_household(kind: ResourceKind) -> int | None:
    """Goods: one unit per household unless the donor says otherwise; other kinds: no limit."""
    return 1 if kind == ResourceKind.GOODS else None


def default_labour_required(kind: ResourceKind) -> bool:
    return kind in LABOUR_KINDS


class ResourceStatus(LabelledEnum):
    ACTIVE = "active", _l("Active"), "success"
    PAUSED = "paused", _l("Paused"), "secondary"
    CLOSED = "closed", _l("Closed"), "secondary"
    EXPIRED = "expired", _l("Expired"), "secondary"


resource_service_area = sa.Table(
    "resource_service_area",
    Base.metadata,
    sa.Column("resource_id", sa.ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("region.id"), primary_key=True),
)


class Resource(TimestampMixin, Base):
    __tablename__ = "resource"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    kind: Mapped[ResourceKind] = mapped_column(enum_column(ResourceKind, "kind"))
    title: Mapped[str] = mapped_column(sa.String(100))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # Category codes (top or sub) this resource serves; see marketplace.vocab.
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # None means unlimited (a discount plan open to every eligible household).
    capacity: Mapped[int | None]
    remaining: Mapped[int | None]
    unit: Mapped[str] = mapped_column(sa.String(20))
    unit_value: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal(0))
    # Eligibility: empty lists mean any status / any cause.
    eligible_statuses: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    eligible_causes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Fairness (issue 12). At most this many units to one household, over all its needs and
    # live matches (None: no limit). The defaults by kind (``default_per_household``,
    # ``default_labour_required``) are the posting form's and ``services.create_resource``'s,
    # where the donor sees them; migration 0010 gave existing rows the same.
    per_household: Mapped[int | None]
    # Hard: only households with someone able to work (the labour capacity is not "none").
    labour_required: Mapped[bool] = mapped_column(default=False)
    # Soft: causes and statuses the donor asks to favour; a bonus in the ranking, never a filter.
    priority_causes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    priority_statuses: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    delivery_deadline: Mapped[date | None]
    status: Mapped[ResourceStatus] = mapped_column(
        enum_column(ResourceStatus, "status"), default=ResourceStatus.ACTIVE
    )

    organization: Mapped[Organization] = relationship()
    service_area: Mapped[list[Region]] = relationship(
        secondary=resource_service_area, order_by=Region.code
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(capacity IS NULL AND remaining IS NULL) OR "
            "(capacity > 0 AND remaining >= 0 AND remaining <= capacity)",
            name="capacity_consistent",
        ),
        sa.CheckConstraint("unit_value >= 0", name="unit_value_non_negative"),
        sa.CheckConstraint("valid_until >= valid_from", name="validity_ordered"),
        sa.CheckConstraint("per_household >= 1", name="per_household_positive"),
    )

    @property
    def unlimited(self) -> bool:
        return self.capacity is None
