"""Accounts: passwords, sign-in with lock-out, registration, verification, user management.

Services take the acting user explicitly, check permission themselves, flush but never commit.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import (
    ApiToken,
    Organization,
    OrganizationKind,
    Role,
    User,
    VerificationStatus,
)
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.oversight.services import record_event
from marketplace.permissions import in_scope
from marketplace.regions.models import Region, RegionLevel

_hasher = PasswordHasher()

# Which region levels each created role may be scoped to.
SCOPE_LEVELS: dict[Role, set[RegionLevel]] = {
    Role.STAFF: {RegionLevel.VILLAGE},
    Role.ADMIN: {RegionLevel.TOWNSHIP, RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE},
    Role.AUDITOR: {
        RegionLevel.TOWNSHIP,
        RegionLevel.COUNTY,
        RegionLevel.CITY,
        RegionLevel.PROVINCE,
    },
}

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ServiceError(_l("A password needs at least 8 characters with letters and digits."))


def _password_matches(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(username: str, password: str) -> User:
    """Return the user or raise; repeated failures lock the account for a while."""
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    now = utcnow()
    failure = ServiceError(_l("Wrong user name or password."), 401)
    if user is None:
        # Hash anyway so that timing does not tell which user names exist.
        _hasher.hash(password)
        record_event("login_failed", after={"username": username[:50]})
        raise failure
    if user.locked_until is not None and user.locked_until > now:
        record_event("login_refused_locked", user, user)
        raise ServiceError(
            _l("Too many failed attempts: this account is locked for a while. Try again later."),
            423,
        )
    if not _password_matches(user, password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
            record_event("account_locked", user, user)
        record_event("login_failed", user, user)
        raise failure
    if not user.active:
        record_event("login_refused_inactive", user, user)
        raise ServiceError(_l("This account is disabled. Ask your administrator."), 403)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_event("login", user, user)
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session of the user on the server (logout, password change)."""
    user.session_token = secrets.token_hex(16)


def logout(user: User) -> None:
    end_sessions(user)
    record_event("logout", user, user)


def change_password(user: User, current: str, new: str) -> None:
    if not _password_matches(user, current):
        raise ServiceError(_l("The current password is wrong."))
    check_password_strength(new)
    user.password_hash = hash_password(new)
    end_sessions(user)
    record_event("password_changed", user, user)


def _check_username_free(username: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise ServiceError(
            _l("A user name has 3 to 50 letters, digits, dots, dashes or underscores.")
        )
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ServiceError(_l("This user name is taken."))


def register_donor(
    *,
    username: str,
    display_name: str,
    password: str,
    kind: OrganizationKind,
    organization_name: str,
    credit_code: str | None,
    region: Region | None,
    contact_phone: str,
    email: str = "",
) -> User:
    """Self-registration: the organization stays unverified until an administrator checks it."""
    _check_username_free(username)
    check_password_strength(password)
    if kind == OrganizationKind.INDIVIDUAL:
        credit_code = None
        organization_name = organization_name or display_name
    elif not credit_code:
        raise ServiceError(_l("An organization must give its unified social credit code."))
    if credit_code and db.session.scalar(
        sa.select(Organization.id).where(Organization.credit_code == credit_code)
    ):
        raise ServiceError(
            _l("An organization with this credit code is already registered: ask its members.")
        )
    org = Organization(
        name=organization_name,
        kind=kind,
        credit_code=credit_code,
        region=region,
        contact_name=display_name,
        contact_phone=contact_phone,
    )
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=Role.DONOR,
        organization=org,
        phone=contact_phone,
        email=email,
    )
    db.session.add_all([org, user])
    db.session.flush()
    record_event("donor_registered", user, org, after={"name": org.name, "kind": kind.value})
    return user


def _require_admin(actor: User) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPERUSER):
        raise ServiceError(_l("Only administrators may do this."), 403)


def organizations_in_scope(actor: User) -> sa.Select[Any]:
    """Organizations an administrator handles: those registered inside the scope."""
    from marketplace.permissions import region_clause

    query = sa.select(Organization).outerjoin(Region, Organization.region_id == Region.id)
    if actor.role == Role.SUPERUSER:
        return query
    return query.where(region_clause(actor, Region.path))


def verify_organization(actor: User, org: Organization, approve: bool, reason: str = "") -> None:
    _require_admin(actor)
    if actor.role != Role.SUPERUSER and not in_scope(actor, org.region):
        raise ServiceError(_l("This organization is outside your region."), 404)
    if actor.organization_id is not None and actor.organization_id == org.id:
        raise ServiceError(_l("You may not verify your own organization."), 403)
    if org.kind != OrganizationKind.INDIVIDUAL and not org.credit_code:
        raise ServiceError(_l("An organization must give its unified social credit code."))
    if not approve and not reason.strip():
        raise ServiceError(_l("Give a reason when you reject."))
    before = {"status": org.status.value}
    org.status = VerificationStatus.VERIFIED if approve else VerificationStatus.REJECTED
    org.status_reason = reason.strip()
    org.verified_by_id = actor.id
    org.verified_at = utcnow()
    record_event(
        "organization_verified" if approve else "organization_rejected",
        actor,
        org,
        before=before,
        after={"status": org.status.value, "reason": org.status_reason},
    )


def create_user(
    actor: User | None,
    *,
    username: str,
    display_name: str,
    role: Role,
    regions: list[Region],
    password: str,
    phone: str = "",
    email: str = "",
) -> User:
    """Staff, administrators and auditors: created by an administrator of an enclosing region.

    ``actor`` None means the command line, which may create any role, superusers included.
    """
    if actor is not None:
        _require_admin(actor)
        if role == Role.SUPERUSER or role == Role.DONOR:
            raise ServiceError(_l("Administrators create staff, administrators and auditors."))
        outside = [r for r in regions if not in_scope(actor, r)]
        if outside:
            raise ServiceError(_l("Every region must lie inside your own region."), 403)
    _check_username_free(username)
    check_password_strength(password)
    if role in SCOPE_LEVELS:
        if not regions:
            raise ServiceError(_l("Choose at least one region for this account."))
        if role != Role.STAFF and len(regions) != 1:
            raise ServiceError(_l("Administrators and auditors have exactly one region."))
        if any(r.level not in SCOPE_LEVELS[role] for r in regions):
            raise ServiceError(
                _l(
                    "Village staff are scoped to villages; administrators and auditors to a "
                    "township, county, city or province."
                )
            )
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        regions=list(regions),
        phone=phone,
        email=email,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "user_created",
        actor,
        user,
        after={"username": username, "role": role.value, "regions": [r.code for r in regions]},
    )
    return user


def users_in_scope(actor: User) -> sa.Select[Any]:
    """Accounts an administrator manages: those with a region inside the scope."""
    from marketplace.accounts.models import user_region
    from marketplace.permissions import region_clause

    if actor.role == Role.SUPERUSER:
        return sa.select(User)
    inside = (
        sa.select(user_region.c.user_id)
        .join(Region, Region.id == user_region.c.region_id)
        .where(region_clause(actor, Region.path))
    )
    return sa.select(User).where(User.id.in_(inside))


def manageable(actor: User, user: User) -> bool:
    if actor.role == Role.SUPERUSER:
        return True
    if actor.role != Role.ADMIN or user.id == actor.id or not user.regions:
        return False
    return all(in_scope(actor, r) for r in user.regions)


def set_active(actor: User, user: User, active: bool) -> None:
    _require_admin(actor)
    if not manageable(actor, user):
        raise ServiceError(_l("This account is outside your region."), 404)
    before = {"active": user.active}
    user.active = active
    if not active:
        end_sessions(user)
    record_event(
        "user_activated" if active else "user_deactivated",
        actor,
        user,
        before=before,
        after={"active": active},
    )


def unlock(actor: User, user: User) -> None:
    _require_admin(actor)
    if not manageable(actor, user):
        raise ServiceError(_l("This account is outside your region."), 404)
    user.locked_until = None
    user.failed_logins = 0
    record_event("user_unlocked", actor, user)


# --- personal API tokens ------------------------------------------------------------------

TOKEN_PREFIX = "fp_"


def _token_digest(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token; the plain value is returned once and never stored."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ServiceError(_l("Give the token a name of up to 100 characters."))
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_token_digest(plain), prefix=plain[:10])
    db.session.add(token)
    db.session.flush()
    record_event("api_token_created", user, token, after={"name": name})
    return token, plain


def revoke_token(user: User, token: ApiToken) -> None:
    if token.user_id != user.id:
        raise ServiceError(_l("The page or record was not found."), 404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_event("api_token_revoked", user, token)


def user_for_token(plain: str) -> User | None:
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(plain))
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    token.last_used_at = utcnow()
    return token.user
