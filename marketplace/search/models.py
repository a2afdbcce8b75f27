"""The search outbox: written in the same transaction as the change it describes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, utcnow


class SearchOutbox(Base):
    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40))  # "need:12", "resource:3"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
