"""Accounts: passwords, sign-in with per-address throttles, registration, verification, user
management, password resets, API tokens.

Services take the acting user explicitly, check permission themselves, flush but never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import string
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context, has_request_context, request
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from marketplace.accounts import policy
from marketplace.accounts.models import (
    ApiToken,
    LoginThrottle,
    Organization,
    OrganizationKind,
    Role,
    TokenScope,
    User,
    VerificationStatus,
    user_region,
)
from marketplace.audit.services import record_event
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.notifications import services as notifications
from marketplace.notifications.services import notify
from marketplace.permissions import region_clause
from marketplace.regions.models import Region

_hashers: dict[tuple[int, int, int], PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    """Argon2 at the configured cost (PASSWORD_HASH_*; argon2's recommended one outside an
    app). A sign-in rehashes a password hashed at another cost."""
    config = current_app.config if has_app_context() else {}
    cost = (
        int(config.get("PASSWORD_HASH_TIME_COST", 3)),
        int(config.get("PASSWORD_HASH_MEMORY_KIB", 65536)),
        int(config.get("PASSWORD_HASH_PARALLELISM", 4)),
    )
    if cost not in _hashers:
        _hashers[cost] = PasswordHasher(time_cost=cost[0], memory_cost=cost[1], parallelism=cost[2])
    return _hashers[cost]


USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,50}$")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password) < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ServiceError(
            _l("A password needs at least 8 characters with letters and digits."), field=field
        )


def _password_matches(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def client_address() -> str:
    return ((request.remote_addr or "") if has_request_context() else "cli")[:64]


def _throttle(username: str, address: str) -> LoginThrottle | None:
    return db.session.scalar(
        sa.select(LoginThrottle).where(
            LoginThrottle.username == username, LoginThrottle.address == address
        )
    )


class SignInThrottled(ServiceError):
    """Too many failures for one account from one address: that address waits."""

    def __init__(self, until: datetime, now: datetime) -> None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(
            _l(
                "Too many failed sign-ins for this account from your address: wait %(minutes)s "
                "minutes and try again, or ask your administrator.",
                minutes=math.ceil(seconds / 60),
            ),
            429,
        )
        self.retry_after = seconds


def authenticate(username: str, password: str) -> User:
    """Return the user or raise.

    Failures are counted per (account name, client address): after ``LOGIN_MAX_FAILURES`` that
    address waits ``LOGIN_LOCK_MINUTES`` before trying that account again (answer 429), while
    the owner signing in from another address is not hindered. Unknown names are throttled
    the same way, so the answers do not tell which names exist.
    """
    username = username.strip()[:50]
    address = client_address()
    user = db.session.scalar(sa.select(User).where(User.username == username))
    now = utcnow()
    throttle = _throttle(username, address)
    if throttle is not None and throttle.blocked_until is not None:
        if throttle.blocked_until > now:
            record_event("login_refused_throttled", user, user, after={"username": username})
            raise SignInThrottled(throttle.blocked_until, now)
        throttle.blocked_until = None  # the wait is over: a fresh count
        throttle.failures = 0
    if user is None or not _password_matches(user, password):
        if user is None:
            # Hash anyway so that timing does not tell which user names exist.
            _hasher().hash(password)
        if throttle is None:
            throttle = LoginThrottle(username=username, address=address, failures=0)
            db.session.add(throttle)
        throttle.failures += 1
        record_event("login_failed", user, user, after={"username": username})
        if throttle.failures >= current_app.config["LOGIN_MAX_FAILURES"]:
            minutes = current_app.config["LOGIN_LOCK_MINUTES"]
            throttle.blocked_until = now + timedelta(minutes=minutes)
            record_event(
                "login_throttled", user, user, after={"username": username, "minutes": minutes}
            )
            raise SignInThrottled(throttle.blocked_until, now)
        raise ServiceError(_l("Wrong user name or password."), 401)
    if not user.active:
        record_event("login_refused_inactive", user, user)
        raise ServiceError(_l("This account is disabled. Ask your administrator."), 403)
    if throttle is not None:
        db.session.delete(throttle)
    user.last_login_at = now
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_event("login", user, user)
    return user


def throttled_usernames(usernames: list[str]) -> set[str]:
    """Those of the names that some address is waiting to try again."""
    if not usernames:
        return set()
    return set(
        db.session.scalars(
            sa.select(LoginThrottle.username).where(
                LoginThrottle.username.in_(usernames), LoginThrottle.blocked_until > utcnow()
            )
        )
    )


def clear_throttles(username: str) -> int:
    result = db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.username == username))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_sessions(user: User) -> None:
    """Invalidate every session of the user on the server (logout, password change)."""
    user.session_token = secrets.token_hex(16)


def end_tokens(user: User) -> int:
    """Revoke every API token of the user still in force; returns how many."""
    result = db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_everything(user: User) -> int:
    """Every session and every token of the user ends (password changed or reset, account
    disabled, "sign out everywhere")."""
    end_sessions(user)
    return end_tokens(user)


def logout(user: User) -> None:
    end_sessions(user)
    record_event("logout", user, user)


def sign_out_everywhere(user: User) -> None:
    revoked = end_everything(user)
    record_event("signed_out_everywhere", user, user, after={"tokens_revoked": revoked})


def change_password(user: User, current: str, new: str) -> None:
    if not _password_matches(user, current):
        raise ServiceError(_l("The current password is wrong."), field="current")
    check_password_strength(new, field="new")
    if _password_matches(user, new):
        raise ServiceError(_l("Choose a password different from the current one."), field="new")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    revoked = end_everything(user)
    record_event("password_changed", user, user, after={"tokens_revoked": revoked})


def _temporary_password() -> str:
    """12 characters without look-alikes (0/O, 1/l/I), always with letters and digits."""
    letters = "".join(c for c in string.ascii_letters if c not in "OlI")
    digits = "23456789"
    while True:
        value = "".join(secrets.choice(letters + digits) for _ in range(12))
        if any(c in digits for c in value) and any(c in letters for c in value):
            return value


def reset_password(actor: User, user: User) -> str:
    """An administrator of an enclosing region sets a temporary password, returned once (never
    stored in plain), that must be changed at the next sign-in; sessions and tokens end."""
    _require_manager(actor, user)
    temporary = _temporary_password()
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    revoked = end_everything(user)
    clear_throttles(user.username)
    record_event("password_reset", actor, user, after={"tokens_revoked": revoked})
    return temporary


# --- self-service reset by e-mail -----------------------------------------------------------

RESET_SALT = "password-reset"
RESET_MAX_AGE = 3600  # seconds a reset link stays valid


def self_service_reset_enabled() -> bool:
    """E-mail resets need a mail server and the public address links are built on (never the
    request's Host header, which a caller chooses)."""
    return bool(current_app.config.get("MAIL_SERVER") and current_app.config.get("PUBLIC_URL"))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _password_fingerprint(user: User) -> str:
    """Changes with the password, so a link works once; reveals nothing of the hash."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def reset_token(user: User) -> str:
    return str(_serializer().dumps({"u": user.id, "p": _password_fingerprint(user)}))


def user_for_reset_token(token: str) -> User | None:
    """The user a reset link is for, or None when it is expired, used or forged."""
    try:
        data = _serializer().loads(token, max_age=RESET_MAX_AGE)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(str(data.get("p", "")), _password_fingerprint(user)):
        return None
    return user


def request_password_reset(identifier: str) -> None:
    """Mail a reset link to the account named (user name or e-mail address) when it exists,
    is active and has an address; the caller answers the same in every case."""
    identifier = identifier.strip()[:200]
    if not identifier or not self_service_reset_enabled():
        return
    user = db.session.scalar(
        sa.select(User).where(
            sa.or_(User.username == identifier, sa.func.lower(User.email) == identifier.lower())
        )
    )
    if user is None or not user.active or not user.email:
        record_event("password_reset_requested", None, None, after={"found": False})
        return
    link = notifications.absolute_link(f"/login/reset/{reset_token(user)}")
    minutes = RESET_MAX_AGE // 60
    from flask_babel import force_locale
    from flask_babel import gettext as _

    with force_locale("zh_Hans_CN"):
        subject = _("Reset your password")
        body = _(
            "Someone asked to reset the password of the account %(username)s. Open this link "
            "within %(minutes)s minutes to choose a new password; it works once:\n\n%(link)s\n\n"
            "If it was not you, ignore this message: the password stays as it is.",
            username=user.username,
            minutes=minutes,
            link=link,
        )
    try:
        notifications.send_email(user.email, subject, body)
    except Exception:  # the answer must not tell whether a mail was attempted
        current_app.logger.exception("password reset mail to user %s failed", user.id)
    record_event("password_reset_requested", None, user, after={"found": True})


def reset_password_with_token(token: str, new: str) -> User:
    user = user_for_reset_token(token)
    if user is None:
        raise ServiceError(
            _l("This reset link has expired or was already used. Ask for a new one."),
            field="password",
        )
    check_password_strength(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    revoked = end_everything(user)
    clear_throttles(user.username)
    record_event("password_reset_by_email", user, user, after={"tokens_revoked": revoked})
    return user


def _check_username_free(username: str) -> None:
    if not USERNAME_RE.fullmatch(username):
        raise ServiceError(
            _l("A user name has 3 to 50 letters, digits, dots, dashes or underscores."),
            field="username",
        )
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise ServiceError(_l("This user name is taken."), field="username")


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
        raise ServiceError(
            _l("An organization must give its unified social credit code."), field="credit_code"
        )
    _check_credit_code_free(credit_code)
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
    _tell_admins_of(org)
    return user


def _check_credit_code_free(credit_code: str | None, org: Organization | None = None) -> None:
    if not credit_code:
        return
    query = sa.select(Organization.id).where(Organization.credit_code == credit_code)
    if org is not None:
        query = query.where(Organization.id != org.id)
    if db.session.scalar(query):
        raise ServiceError(
            _l("An organization with this credit code is already registered: ask its members."),
            field="credit_code",
        )


def _tell_admins_of(org: Organization) -> None:
    if org.region is not None:
        notify(
            admins_over(org.region), "organization_submitted", "/admin/organizations", name=org.name
        )


def resubmit_organization(
    actor: User,
    org: Organization,
    *,
    name: str,
    credit_code: str | None,
    region: Region | None,
    contact_name: str,
    contact_phone: str,
) -> None:
    """A member corrects an organization that was rejected (or still waits) and submits it
    again: it waits for verification once more."""
    if not policy.is_member(actor, org):
        raise ServiceError(_l("The page or record was not found."), 404)
    if not policy.can_resubmit(actor, org):
        raise ServiceError(
            _l("This organization is verified: ask an administrator to change its details.")
        )
    name = name.strip()
    if org.kind == OrganizationKind.INDIVIDUAL:
        credit_code = None
        name = name or actor.display_name
    elif not credit_code:
        raise ServiceError(
            _l("An organization must give its unified social credit code."), field="credit_code"
        )
    if not name:
        raise ServiceError(_l("This field is required."), field="name")
    if region is None:
        raise ServiceError(
            _l("Choose the region where the organization is registered."), field="region"
        )
    _check_credit_code_free(credit_code, org)
    before = {
        "status": org.status.value,
        "reason": org.status_reason,
        "name": org.name,
        "credit_code": org.credit_code,
        "region": org.region.code if org.region else None,
    }
    org.name = name
    org.credit_code = credit_code
    org.region = region
    org.contact_name = contact_name.strip()
    org.contact_phone = contact_phone
    db.session.flush()
    policy.WORKFLOW.move(
        org, VerificationStatus.PENDING, status_reason="", verified_by_id=None, verified_at=None
    )
    record_event(
        "organization_resubmitted",
        actor,
        org,
        before=before,
        after={
            "status": org.status.value,
            "name": name,
            "credit_code": credit_code,
            "region": region.code,
        },
    )
    _tell_admins_of(org)


def _require_admin(actor: User) -> None:
    if not policy.administers_accounts(actor):
        raise ServiceError(_l("Only administrators may do this."), 403)


def _require_manager(actor: User, user: User) -> None:
    """An administrator who manages this account (404 when it lies outside the region)."""
    _require_admin(actor)
    if not policy.can_manage_user(actor, user):
        raise ServiceError(_l("This account is outside your region."), 404)


def organizations_in_scope(actor: User) -> sa.Select[Any]:
    """Organizations an administrator handles: those registered inside the scope."""
    query = sa.select(Organization).outerjoin(Region, Organization.region_id == Region.id)
    if actor.role == Role.SUPERUSER:
        return query
    return query.where(region_clause(actor, Region.path))


def verify_organization(
    actor: User, org: Organization, approve: bool, reason: str | None = ""
) -> None:
    reason = (reason or "").strip()  # the approve button posts no reason at all
    _require_admin(actor)
    if not policy.administers_organization(actor, org):
        raise ServiceError(_l("This organization is outside your region."), 404)
    if not policy.can_decide(actor, org):
        raise ServiceError(_l("You may not verify your own organization."), 403)
    if org.kind != OrganizationKind.INDIVIDUAL and not org.credit_code:
        raise ServiceError(_l("An organization must give its unified social credit code."))
    if not approve and not reason:
        raise ServiceError(_l("Give a reason when you reject."), field="reason")
    # The state (verified again, rejected twice, someone else first): 409 from the workflow.
    left = policy.WORKFLOW.move(
        org,
        VerificationStatus.VERIFIED if approve else VerificationStatus.REJECTED,
        status_reason=reason,
        verified_by_id=actor.id,
        verified_at=utcnow(),
    )
    record_event(
        "organization_verified" if approve else "organization_rejected",
        actor,
        org,
        before={"status": left.value},
        after={"status": org.status.value, "reason": org.status_reason},
    )
    members = [m for m in org.members if m.active]
    if approve:
        notify(members, "organization_verified", "/dashboard", name=org.name)
    else:
        notify(members, "organization_rejected", "/dashboard", name=org.name, reason=reason)


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
        if not policy.can_create_user(actor, role):
            raise ServiceError(
                _l("Administrators create staff, administrators and auditors."), field="role"
            )
        if not policy.can_create_user(actor, role, regions):
            raise ServiceError(
                _l("Every region must lie inside your own region."), 403, field="regions"
            )
    _check_username_free(username)
    check_password_strength(password)
    if role in policy.SCOPE_LEVELS:
        _check_scope_regions(role, regions)
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


def _check_scope_regions(role: Role, regions: list[Region]) -> None:
    if not regions:
        raise ServiceError(_l("Choose at least one region for this account."), field="regions")
    if role != Role.STAFF and len(regions) != 1:
        raise ServiceError(
            _l("Administrators and auditors have exactly one region."), field="regions"
        )
    if any(r.level not in policy.SCOPE_LEVELS[role] for r in regions):
        raise ServiceError(
            _l(
                "Village staff are scoped to villages; administrators and auditors to a "
                "township, county, city or province."
            ),
            field="regions",
        )


def set_staff_villages(actor: User, user: User, villages: list[Region]) -> None:
    """Rotate a member of village staff (a 第一书记 moves on): their villages become these,
    every one inside the administrator's region."""
    _require_manager(actor, user)
    if not policy.can_assign_villages(actor, user):
        raise ServiceError(_l("Only village staff are assigned villages."))
    if not policy.inside_own_region(actor, villages):
        raise ServiceError(
            _l("Every region must lie inside your own region."), 403, field="regions"
        )
    _check_scope_regions(Role.STAFF, villages)
    before = [r.code for r in user.regions]
    user.regions = sorted(villages, key=lambda r: r.code)
    db.session.flush()
    record_event(
        "staff_villages_changed",
        actor,
        user,
        before={"regions": before},
        after={"regions": [r.code for r in user.regions]},
    )


def admins_over(region: Region) -> list[User]:
    """Active administrators whose region contains this one."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(user_region, user_region.c.user_id == User.id)
            .join(Region, Region.id == user_region.c.region_id)
            .where(
                User.role == Role.ADMIN,
                User.active.is_(True),
                sa.literal(region.path).startswith(Region.path),
            )
            .distinct()
        )
    )


def staff_of(village: Region) -> list[User]:
    """Active staff of this village."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(user_region, user_region.c.user_id == User.id)
            .where(
                User.role == Role.STAFF,
                User.active.is_(True),
                user_region.c.region_id == village.id,
            )
        )
    )


def users_in_scope(actor: User) -> sa.Select[Any]:
    """Accounts an administrator manages: those with a region inside the scope."""
    if actor.role == Role.SUPERUSER:
        return sa.select(User)
    inside = (
        sa.select(user_region.c.user_id)
        .join(Region, Region.id == user_region.c.region_id)
        .where(region_clause(actor, Region.path))
    )
    # Donors through their organization, as in organizations_in_scope.
    donors = (
        sa.select(User.id)
        .join(Organization, Organization.id == User.organization_id)
        .join(Region, Region.id == Organization.region_id)
        .where(User.role == Role.DONOR, region_clause(actor, Region.path))
    )
    return sa.select(User).where(sa.or_(User.id.in_(inside), User.id.in_(donors)))


def set_active(actor: User, user: User, active: bool) -> None:
    _require_manager(actor, user)
    before = {"active": user.active}
    user.active = active
    if not active:
        end_everything(user)
    record_event(
        "user_activated" if active else "user_deactivated",
        actor,
        user,
        before=before,
        after={"active": active},
    )


def unlock(actor: User, user: User) -> None:
    """Lift every address's wait for this account (the owner was throttled, say, from the
    office's shared address)."""
    _require_manager(actor, user)
    cleared = clear_throttles(user.username)
    record_event("user_unlocked", actor, user, after={"throttles_cleared": cleared})


# --- personal API tokens ------------------------------------------------------------------

TOKEN_PREFIX = "fp_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


BEIJING = timezone(timedelta(hours=8))


def today_in_beijing() -> date:
    return utcnow().astimezone(BEIJING).date()


def token_expired(token: ApiToken) -> bool:
    return token.expires_on is not None and token.expires_on < today_in_beijing()


def create_token(
    user: User,
    name: str,
    scope: TokenScope = TokenScope.READ,
    expires_on: date | None = None,
) -> tuple[ApiToken, str]:
    """A new token; the plain value is returned once and never stored."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ServiceError(_l("Give the token a name of up to 100 characters."), field="name")
    if expires_on is not None and expires_on < today_in_beijing():
        raise ServiceError(_l("The expiry date must not be in the past."), field="expires_on")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        token_hash=_token_digest(plain),
        prefix=plain[:10],
        scope=scope,
        expires_on=expires_on,
    )
    db.session.add(token)
    db.session.flush()
    record_event(
        "api_token_created",
        user,
        token,
        after={
            "name": name,
            "scope": scope.value,
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
    )
    return token, plain


def revoke_token(user: User, token: ApiToken) -> None:
    if token.user_id != user.id:
        raise ServiceError(_l("The page or record was not found."), 404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_event("api_token_revoked", user, token)


def token_for(plain: str) -> ApiToken | None:
    """The token in force with this value (not revoked, not expired, its user active)."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == _token_digest(plain))
    )
    if token is None or token.revoked_at is not None or token_expired(token):
        return None
    if not token.user.active or token.user.must_change_password:
        return None
    token.last_used_at = utcnow()
    return token


def user_for_token(plain: str) -> User | None:
    token = token_for(plain)
    return token.user if token is not None else None
