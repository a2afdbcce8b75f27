"""A match (对接) of a need with a resource, from pledge to confirmation with the household."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, TimestampMixin, enum_column
from marketplace.needs.models import Need
from marketplace.resources.models import Resource
from marketplace.vocab import LabelledEnum


class MatchStatus(LabelledEnum):
    PROPOSED = "proposed", _l("Pledged, awaiting approval"), "warning"
    APPROVED = "approved", _l("Approved"), "success"
    DELIVERED = "delivered", _l("Delivered"), "info"
    CONFIRMED = "confirmed", _l("Confirmed by household"), "primary"
    REJECTED = "rejected", _l("Rejected"), "secondary"
    CANCELLED = "cancelled", _l("Cancelled"), "secondary"
    EXPIRED = "expired", _l("Expired"), "secondary"
    DISPUTED = "disputed", _l("Disputed"), "danger"

    # Named groups of states, defined once (assigned below the class: members must exist first).
    HELPING: ClassVar[frozenset[MatchStatus]]  # help given or under way: "aided"
    UNDER_WAY: ClassVar[frozenset[MatchStatus]]  # holding capacity until confirmed or ended
    DONE: ClassVar[frozenset[MatchStatus]]  # delivered, whether or not confirmed yet
    LOST: ClassVar[frozenset[MatchStatus]]  # ended without help
    LIVE: ClassVar[frozenset[MatchStatus]]  # still going: one per (need, resource)


# A disputed match counts as help until the dispute ends it: the ranking and the reports agree.
MatchStatus.HELPING = frozenset(
    {MatchStatus.APPROVED, MatchStatus.DELIVERED, MatchStatus.CONFIRMED, MatchStatus.DISPUTED}
)
MatchStatus.UNDER_WAY = frozenset(
    {MatchStatus.APPROVED, MatchStatus.DELIVERED, MatchStatus.DISPUTED}
)
MatchStatus.DONE = frozenset({MatchStatus.DELIVERED, MatchStatus.CONFIRMED})
MatchStatus.LOST = frozenset({MatchStatus.REJECTED, MatchStatus.CANCELLED, MatchStatus.EXPIRED})


# A match that is still going (pledged, approved, delivered, disputed): at most one per
# (need, resource). Spelled as SQL for the partial unique index; ``services.LIVE`` is the same.
MatchStatus.LIVE = frozenset(
    {MatchStatus.PROPOSED, MatchStatus.APPROVED, MatchStatus.DELIVERED, MatchStatus.DISPUTED}
)
LIVE_CLAUSE = sa.text(
    "status IN (" + ", ".join(f"'{s.value}'" for s in sorted(MatchStatus.LIVE)) + ")"
)


class Match(TimestampMixin, Base):
    __tablename__ = "match"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(sa.ForeignKey("need.id"), index=True)
    resource_id: Mapped[int] = mapped_column(sa.ForeignKey("resource.id"), index=True)
    quantity: Mapped[int]
    status: Mapped[MatchStatus] = mapped_column(
        enum_column(MatchStatus, "status"), default=MatchStatus.PROPOSED
    )
    # The matching engine's score, its components and the weights used, kept with the match.
    score: Mapped[float | None]
    score_breakdown: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    delivered_at: Mapped[datetime | None]
    delivered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    delivery_note: Mapped[str] = mapped_column(sa.Text, default="")
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    received_on: Mapped[date | None]
    received_quantity: Mapped[int | None]
    dispute_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    satisfaction: Mapped[int | None]
    feedback: Mapped[str] = mapped_column(sa.Text, default="")
    disclosure_until: Mapped[datetime | None]

    need: Mapped[Need] = relationship()
    resource: Mapped[Resource] = relationship()
    objections: Mapped[list[Objection]] = relationship(
        back_populates="match", order_by="Objection.id"
    )

    @property
    def open_objections(self) -> list[Objection]:
        return [o for o in self.objections if o.status == ObjectionStatus.OPEN]

    @property
    def value(self) -> Decimal:
        return Decimal(self.quantity) * self.resource.unit_value

    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
        sa.CheckConstraint("received_quantity >= 0", name="received_non_negative"),
        sa.Index("ix_match_status", "status"),
        # One live pledge per (need, resource): a second one, even from a racing request, is
        # refused by the database (``services.pledge`` answers it 409).
        sa.Index(
            "uq_match_live_need_resource",
            "need_id",
            "resource_id",
            unique=True,
            sqlite_where=LIVE_CLAUSE,
            postgresql_where=LIVE_CLAUSE,
        ),
    )


class ObjectionStatus(LabelledEnum):
    OPEN = "open", _l("Open"), "danger"
    UPHELD = "upheld", _l("Upheld"), "danger"
    DISMISSED = "dismissed", _l("Dismissed"), "secondary"


class Objection(TimestampMixin, Base):
    """An objection (异议) filed by anyone against a publicly disclosed match."""

    __tablename__ = "objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(sa.ForeignKey("match.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    # Optional, for a reply; personal data: never shown outside the administrators in scope.
    contact: Mapped[str] = mapped_column(sa.String(100), default="")
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    status: Mapped[ObjectionStatus] = mapped_column(
        enum_column(ObjectionStatus, "status"), default=ObjectionStatus.OPEN
    )
    decision: Mapped[str] = mapped_column(sa.String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]

    match: Mapped[Match] = relationship(back_populates="objections")
