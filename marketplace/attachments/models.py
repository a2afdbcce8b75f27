"""Photos attached to needs and deliveries, stored outside the web root under generated names."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, TimestampMixin


class Attachment(TimestampMixin, Base):
    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the photo documents: "need", "match" (delivery evidence, receipt),
    # "produce_listing" (the produce on sale) or "guarantee_check" (what a check of 两不愁三保障
    # saw, marketplace.plans).
    owner_type: Mapped[str] = mapped_column(sa.String(20))
    owner_id: Mapped[int]
    purpose: Mapped[str] = mapped_column(sa.String(20), default="photo")
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    __table_args__ = (
        sa.Index("ix_attachment_owner", "owner_type", "owner_id"),
        sa.CheckConstraint(
            "owner_type IN ('need', 'match', 'produce_listing', 'guarantee_check')",
            name="owner_type_known",
        ),
        sa.CheckConstraint("size > 0", name="size_positive"),
    )
