"""Sign-in, registration, password change, organization verification and user management."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from wtforms import SelectChoice

from marketplace.accounts import services
from marketplace.accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    RegisterForm,
    TokenForm,
    UserCreateForm,
)
from marketplace.accounts.models import ApiToken, Organization, OrganizationKind, Role, User
from marketplace.errors import ServiceError
from marketplace.extensions import db, limiter
from marketplace.forms import ReasonForm
from marketplace.permissions import public, region_clause, roles, signed_in
from marketplace.regions import services as region_services
from marketplace.regions.models import Region

bp = Blueprint("accounts", __name__)

ADMINS = (Role.ADMIN, Role.SUPERUSER)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.dashboard")


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data)
        except ServiceError as exc:
            db.session.commit()  # failures and lock-outs are recorded
            flash(str(exc.message), "danger")
            return render_template("accounts/login.html", form=form), exc.status
        db.session.commit()
        login_user(user)
        flash(_("Welcome, %(name)s.", name=user.display_name), "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> Any:
    services.logout(current_user)
    db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("home.index"))


@bp.route("/register", methods=["GET", "POST"])
@public
def register() -> Any:
    form = RegisterForm()
    form.region.choices = [SelectChoice(0, _("(choose)"))] + [
        SelectChoice(r.id, r.full_name) for r in region_services.deployment_regions()
    ]
    if form.validate_on_submit():
        region = db.session.get(Region, form.region.data) if form.region.data else None
        try:
            services.register_donor(
                username=form.username.data.strip(),
                display_name=form.display_name.data.strip(),
                password=form.password.data,
                kind=OrganizationKind(form.kind.data),
                organization_name=(form.organization_name.data or "").strip(),
                credit_code=form.credit_code.data or None,
                region=region,
                contact_phone=form.phone.data,
                email=form.email.data or "",
            )
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return render_template("accounts/register.html", form=form), exc.status
        db.session.commit()
        flash(
            _(
                "Registered. Sign in now; what you post becomes public once an administrator "
                "has verified your organization."
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/register.html", form=form), 400 if form.errors else 200


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password() -> Any:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current.data, form.new.data)
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return render_template("accounts/password.html", form=form), exc.status
        db.session.commit()
        logout_user()
        flash(_("Password changed. Every session has ended: sign in again."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/password.html", form=form), 400 if form.errors else 200


@bp.route("/account/tokens", methods=["GET", "POST"])
@signed_in
def tokens() -> Any:
    """Personal API tokens: created here, shown once, revocable."""
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        _token, created = services.create_token(current_user, form.name.data)
        db.session.commit()
        form = TokenForm(formdata=None)
    rows = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id)
    ).all()
    return render_template("accounts/tokens.html", form=form, rows=rows, created=created)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@signed_in
def revoke_token(token_id: int) -> Any:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    services.revoke_token(current_user, token)
    db.session.commit()
    flash(_("Token revoked."), "info")
    return redirect(url_for("accounts.tokens"))


# --- administrators ----------------------------------------------------------------------


@bp.route("/admin/organizations")
@roles(*ADMINS)
def organizations() -> Any:
    query = services.organizations_in_scope(current_user).order_by(
        Organization.status.desc(), Organization.created_at.desc()
    )
    status = request.args.get("status", "pending")
    if status in ("pending", "verified", "rejected"):
        query = query.where(Organization.status == status)
    orgs = db.session.scalars(query.limit(500)).all()
    return render_template(
        "accounts/organizations.html", orgs=orgs, status=status, form=ReasonForm()
    )


@bp.route("/admin/organizations/<int:org_id>/<any(verify, reject):decision>", methods=["POST"])
@roles(*ADMINS)
def decide_organization(org_id: int, decision: str) -> Any:
    org = db.session.scalar(
        services.organizations_in_scope(current_user).where(Organization.id == org_id)
    )
    if org is None:
        abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.verify_organization(current_user, org, decision == "verify", form.reason.data)
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("accounts.organizations"))
    db.session.commit()
    flash(_("Decision recorded for %(name)s.", name=org.name), "success")
    return redirect(url_for("accounts.organizations"))


@bp.route("/admin/users")
@roles(*ADMINS)
def users() -> Any:
    page_users = db.session.scalars(
        services.users_in_scope(current_user).order_by(User.role, User.username).limit(500)
    ).all()
    return render_template("accounts/users.html", users=page_users)


def _scope_region_choices(role: Role) -> list[SelectChoice]:
    levels = services.SCOPE_LEVELS[role]
    query = sa.select(Region).where(
        Region.level.in_(levels), region_clause(current_user, Region.path)
    )
    if current_user.role == Role.SUPERUSER:
        # The whole country is too long a list: keep the deployed area.
        query = query.where(Region.path.in_(region_services.deployment_paths_query()))
    regions = db.session.scalars(query.order_by(Region.path).limit(3000)).all()
    return [SelectChoice(r.id, r.full_name) for r in regions]


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles(*ADMINS)
def create_user() -> Any:
    form = UserCreateForm()
    role = Role(form.role.data) if form.role.data in {r.value for r in Role} else Role.STAFF
    form.regions.choices = _scope_region_choices(role)
    if request.method == "GET":
        seen: dict[int, SelectChoice] = {}
        for scoped_role in services.SCOPE_LEVELS:
            seen.update((c.value, c) for c in _scope_region_choices(scoped_role))
        form.regions.choices = sorted(seen.values(), key=lambda c: c.label)
    if form.validate_on_submit():
        chosen = db.session.scalars(sa.select(Region).where(Region.id.in_(form.regions.data)))
        try:
            user = services.create_user(
                current_user,
                username=form.username.data.strip(),
                display_name=form.display_name.data.strip(),
                role=role,
                regions=list(chosen),
                password=form.password.data,
                phone=form.phone.data or "",
                email=form.email.data or "",
            )
        except ServiceError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
            return render_template("accounts/user_new.html", form=form), exc.status
        db.session.commit()
        flash(_("Account %(name)s created.", name=user.username), "success")
        return redirect(url_for("accounts.users"))
    return render_template("accounts/user_new.html", form=form), 400 if form.errors else 200


@bp.route("/admin/users/<int:user_id>/<any(activate, deactivate, unlock):action>", methods=["POST"])
@roles(*ADMINS)
def user_action(user_id: int, action: str) -> Any:
    user = db.session.scalar(services.users_in_scope(current_user).where(User.id == user_id))
    if user is None:
        abort(404)
    if not ReasonForm().validate_on_submit():
        abort(400)
    try:
        if action == "unlock":
            services.unlock(current_user, user)
        else:
            services.set_active(current_user, user, action == "activate")
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("accounts.users"))
    db.session.commit()
    flash(_("Account %(name)s updated.", name=user.username), "success")
    return redirect(url_for("accounts.users"))
