"""Organizations and user accounts, each account scoped to regions."""

from __future__ import annotations

import secrets
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, TimestampMixin, enum_column, utcnow
from marketplace.regions.models import Region
from marketplace.roles import Role  # where the domains have always found it
from marketplace.vocab import LabelledEnum


class OrganizationKind(LabelledEnum):
    ENTERPRISE = "enterprise", _l("Enterprise")
    SOCIAL_ORG = "social_org", _l("Social organization")
    GOVERNMENT = "government", _l("Government unit")
    INDIVIDUAL = "individual", _l("Individual donor")


class TokenScope(LabelledEnum):
    READ = "read", _l("Read only")  # GET, HEAD, OPTIONS only
    WRITE = "write", _l("Read and act")  # read and act


class VerificationStatus(LabelledEnum):
    PENDING = "pending", _l("Awaiting verification"), "warning"
    VERIFIED = "verified", _l("Verified"), "success"
    REJECTED = "rejected", _l("Rejected"), "secondary"


user_region = sa.Table(
    "user_region",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("region_id", sa.ForeignKey("region.id"), primary_key=True),
)


class Organization(TimestampMixin, Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind, "kind"))
    # Unified social credit code (统一社会信用代码); individuals have none.
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id"), index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(50), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[VerificationStatus] = mapped_column(
        enum_column(VerificationStatus, "status"), default=VerificationStatus.PENDING
    )
    status_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    verified_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", use_alter=True, name="fk_organization_verified_by_id_user")
    )
    verified_at: Mapped[datetime | None]

    region: Mapped[Region | None] = relationship()
    members: Mapped[list[User]] = relationship(
        back_populates="organization", foreign_keys="User.organization_id"
    )

    @property
    def is_verified(self) -> bool:
        return self.status == VerificationStatus.VERIFIED


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(50))
    email: Mapped[str] = mapped_column(sa.String(200), default="")
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organization.id"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    # Rotated at logout and password change: every session holding the old one is dead.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=lambda: secrets.token_hex(16))
    # Set by an administrator's reset: every page leads to the password page until changed.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    organization: Mapped[Organization | None] = relationship(
        back_populates="members", foreign_keys=[organization_id]
    )
    regions: Mapped[list[Region]] = relationship(secondary=user_region, order_by=Region.code)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class ApiToken(Base):
    """A personal token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters, shown so the user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Valid through this day (Beijing time); None: until revoked.
    expires_on: Mapped[date | None]
    scope: Mapped[TokenScope] = mapped_column(
        enum_column(TokenScope, "scope"), default=TokenScope.READ
    )

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed sign-ins of one account name from one client address.

    After ``LOGIN_MAX_FAILURES`` failures that address waits ``LOGIN_LOCK_MINUTES`` before it
    may try that account again; the owner signing in from elsewhere is not affected. Keyed by
    the name typed, so unknown names are throttled exactly like real ones.
    """

    __tablename__ = "login_throttle"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), index=True)
    address: Mapped[str] = mapped_column(sa.String(64))
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("username", "address", name="one_per_account_and_address"),
        sa.CheckConstraint("failures >= 0", name="failures_non_negative"),
    )
