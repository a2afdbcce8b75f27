"""Produce listings, the orders of buyers, their budgets and the income they bring households."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.db import Base, TimestampMixin, enum_column, utcnow
from marketplace.households.models import Household
from marketplace.regions.models import Region
from marketplace.resources.models import Resource
from marketplace.vocab import CATEGORY_TREE, LabelledEnum

# What a listing may be filed under: the sub-categories of the sale of farm produce.
PRODUCE_CATEGORIES = [s for top, subs in CATEGORY_TREE if top.code == "consumption" for s in subs]
PRODUCE_CATEGORY_CODES = [c.code for c in PRODUCE_CATEGORIES]
# The owner_type of a listing's photos in marketplace.attachments.
PHOTO_OWNER = "produce_listing"


class ListingStatus(LabelledEnum):
    DRAFT = "draft", _l("Draft"), "secondary"
    SUBMITTED = "submitted", _l("Awaiting verification"), "warning"
    RETURNED = "returned", _l("Returned"), "danger"
    VERIFIED = "verified", _l("Verified, on sale"), "success"
    SOLD_OUT = "sold_out", _l("Sold out"), "primary"
    WITHDRAWN = "withdrawn", _l("Withdrawn"), "secondary"


listing_household = sa.Table(
    "produce_listing_household",
    Base.metadata,
    sa.Column(
        "listing_id", sa.ForeignKey("produce_listing.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("household_id", sa.ForeignKey("household.id"), primary_key=True),
)


class ProduceListing(TimestampMixin, Base):
    """A household's produce (``household``), or a village cooperative's (``cooperative_name``,
    selling for the registered households of ``members``): exactly one of the two."""

    __tablename__ = "produce_listing"

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("region.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("household.id"), index=True)
    cooperative_name: Mapped[str] = mapped_column(sa.String(100), default="")
    product: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(40))
    quantity: Mapped[int]
    # Units not yet taken by orders (an order takes its quantity; a cancelled one gives it back).
    remaining: Mapped[int]
    unit: Mapped[str] = mapped_column(sa.String(20))
    price: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))  # yuan per unit
    available_from: Mapped[date]
    quality_notes: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ListingStatus] = mapped_column(
        enum_column(ListingStatus, "status"), default=ListingStatus.DRAFT
    )
    status_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    verified_at: Mapped[datetime | None]

    village: Mapped[Region] = relationship()
    household: Mapped[Household | None] = relationship()
    members: Mapped[list[Household]] = relationship(
        secondary=listing_household, order_by=Household.id
    )

    __table_args__ = (
        sa.CheckConstraint(
            "category IN (" + ", ".join(repr(c) for c in PRODUCE_CATEGORY_CODES) + ")",
            name="category_known",
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_range"),
        sa.CheckConstraint("price > 0", name="price_positive"),
        sa.CheckConstraint(
            "(household_id IS NULL AND cooperative_name <> '') OR "
            "(household_id IS NOT NULL AND cooperative_name = '')",
            name="one_seller",
        ),
        sa.Index("ix_produce_listing_status", "status"),
    )

    @property
    def is_cooperative(self) -> bool:
        return self.household_id is None

    @property
    def cooperative(self) -> str | None:
        """The cooperative's name; None for a household's listing."""
        return self.cooperative_name or None

    @property
    def households(self) -> list[Household]:
        """The registered households the sale earns for."""
        if self.household is not None:
            return [self.household]
        return list(self.members)

    @property
    def value(self) -> Decimal:
        return Decimal(self.quantity) * self.price


class OrderStatus(LabelledEnum):
    ORDERED = "ordered", _l("Ordered, awaiting handover"), "warning"
    HANDED_OVER = "handed_over", _l("Handed over, awaiting the buyer"), "info"
    RECEIVED = "received", _l("Received by the buyer, awaiting payment"), "info"
    PAID = "paid", _l("Paid, awaiting confirmation"), "primary"
    CONFIRMED = "confirmed", _l("Payment confirmed received"), "success"
    DISPUTED = "disputed", _l("Disputed"), "danger"
    CANCELLED = "cancelled", _l("Cancelled"), "secondary"


class ProduceOrder(TimestampMixin, Base):
    """A buyer's order of a listing, paid from one of its purchase resources."""

    __tablename__ = "produce_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(sa.ForeignKey("produce_listing.id"), index=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id"), index=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organization.id"), index=True)
    quantity: Mapped[int]
    price: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))  # the listing's, when ordered
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))  # quantity x price
    status: Mapped[OrderStatus] = mapped_column(
        enum_column(OrderStatus, "status"), default=OrderStatus.ORDERED
    )
    # The ranking's points for the buyer when ordered, its components and explanations.
    score: Mapped[float | None]
    score_breakdown: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    ordered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    handed_over_at: Mapped[datetime | None]
    handed_over_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    handover_note: Mapped[str] = mapped_column(sa.Text, default="")
    received_at: Mapped[datetime | None]
    received_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    paid_at: Mapped[datetime | None]
    paid_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    paid_on: Mapped[date | None]
    payment_reference: Mapped[str] = mapped_column(sa.String(100), default="")
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    payment_received_on: Mapped[date | None]
    dispute_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    # The step the order was at when disputed: what resolving it may lead back to.
    disputed_from: Mapped[OrderStatus | None] = mapped_column(
        enum_column(OrderStatus, "disputed_from")
    )
    decision_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), default="")

    listing: Mapped[ProduceListing] = relationship()
    resource: Mapped[Resource] = relationship()
    organization: Mapped[Organization] = relationship()

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("price > 0", name="price_positive"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_produce_order_status", "status"),
    )

    @property
    def village(self) -> Region:
        """Where the produce comes from (the audit trail files the order's events there)."""
        return self.listing.village


class ProduceBudget(Base):
    """What the orders of one purchase resource hold of its budget: ``committed`` by orders
    not paid yet, ``spent`` by those paid. Kept by the one transition of orders, checked
    against the orders themselves by ``services.budget_problems``."""

    __tablename__ = "produce_budget"

    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id"), primary_key=True)
    committed: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal(0))
    spent: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2), default=Decimal(0))

    __table_args__ = (
        sa.CheckConstraint("committed >= 0", name="committed_non_negative"),
        sa.CheckConstraint("spent >= 0", name="spent_non_negative"),
    )


class ProduceIncome(Base):
    """A household's income from one confirmed order, in the month the household received the
    payment (Beijing days, as staff type them). A cooperative's sale is shared equally among
    its member households, to the fen; the shares of an order add up to its amount."""

    __tablename__ = "produce_income"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("produce_order.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"))
    month: Mapped[str] = mapped_column(sa.String(7))  # "2026-10"
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("order_id", "household_id", name="one_per_order_and_household"),
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
        sa.Index("ix_produce_income_household_month", "household_id", "month"),
    )
