"""Sign-in, registration, passwords and their resets, API tokens, organization verification and
resubmission, user management."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from wtforms import SelectChoice

from marketplace.accounts import policy, services
from marketplace.accounts.forms import (
    ForgotPasswordForm,
    LoginForm,
    OrganizationForm,
    PasswordChangeForm,
    RegisterForm,
    ResetPasswordForm,
    StaffVillagesForm,
    TokenForm,
    UserCreateForm,
)
from marketplace.accounts.models import (
    ApiToken,
    Organization,
    OrganizationKind,
    Role,
    TokenScope,
    User,
)
from marketplace.errors import ServiceError
from marketplace.extensions import db, limiter
from marketplace.forms import ReasonForm
from marketplace.paging import paginate
from marketplace.permissions import public, region_clause, roles, signed_in
from marketplace.regions import services as region_services
from marketplace.regions.models import Region
from marketplace.web import form_status, keep_changes, submitted

bp = Blueprint("accounts", __name__)


# What a user who must change the password may still reach.
PASSWORD_CHANGE_OPEN = {
    "accounts.change_password",
    "accounts.logout",
    "home.set_language",
    "home.health",
    "static",
    "bootstrap.static",
}


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.dashboard")


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


@bp.before_app_request
def require_new_password() -> Any:
    """After an administrator's reset, every page leads to the password page until changed."""
    if g.get("token_auth") or not current_user.is_authenticated:
        return None
    if not current_user.must_change_password or request.endpoint in PASSWORD_CHANGE_OPEN:
        return None
    if request.path.startswith("/api/"):
        abort(403)
    flash(_("Your password was reset: choose a new one before you go on."), "warning")
    return redirect(url_for("accounts.change_password"))


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
            keep_changes()  # failures and throttles are recorded although refused
            form.form_errors.append(str(exc.message))
            response = make_response(render_template("accounts/login.html", form=form), exc.status)
            if isinstance(exc, services.SignInThrottled):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        login_user(user)
        if user.must_change_password:
            return redirect(url_for("accounts.change_password"))
        flash(_("Welcome, %(name)s.", name=user.display_name), "success")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form), form_status(form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout() -> Any:
    services.logout(current_user)
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("home.index"))


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@signed_in
def sign_out_everywhere() -> Any:
    services.sign_out_everywhere(current_user)
    logout_user()
    flash(_("Every session and every API token has ended: sign in again."), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/login/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def forgot_password() -> Any:
    """Self-service reset by e-mail when the site can send mail; the same answer whether or
    not the account exists."""
    enabled = services.self_service_reset_enabled()
    form = ForgotPasswordForm()
    if enabled and form.validate_on_submit():
        services.request_password_reset(form.identifier.data)
        flash(
            _(
                "If an active account with an e-mail address matches, a link to choose a new "
                "password is on its way. It works once, within an hour."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form, enabled=enabled), form_status(form)


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@public
def reset_password(token: str) -> Any:
    form = ResetPasswordForm()
    if services.user_for_reset_token(token) is None:
        return render_template("accounts/reset.html", form=None), 400
    if submitted(form, lambda: services.reset_password_with_token(token, form.password.data)):
        if current_user.is_authenticated:
            logout_user()
        flash(_("Your new password is set. Sign in with it."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), form_status(form)


def _region_choices() -> list[SelectChoice]:
    return [SelectChoice(0, _("(choose)"))] + [
        SelectChoice(r.id, r.full_name) for r in region_services.deployment_regions()
    ]


@bp.route("/register", methods=["GET", "POST"])
@public
def register() -> Any:
    form = RegisterForm()
    form.region.choices = _region_choices()

    def register() -> User:
        region = db.session.get(Region, form.region.data) if form.region.data else None
        return services.register_donor(
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

    if submitted(form, register):
        flash(
            _(
                "Registered. Sign in now; what you post becomes public once an administrator "
                "has verified your organization."
            ),
            "success",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/register.html", form=form), form_status(form)


@bp.route("/account/organization", methods=["GET", "POST"])
@roles(Role.DONOR)
def organization() -> Any:
    """A rejected (or still waiting) organization corrected by its member and sent again."""
    org = current_user.organization
    if org is None:
        abort(404)
    if not policy.can_resubmit(current_user, org):
        flash(_("Your organization is verified: ask an administrator to change its details."))
        return redirect(url_for("home.dashboard"))
    form = OrganizationForm(obj=org if request.method == "GET" else None)
    form.region.choices = _region_choices()
    if request.method == "GET":
        form.region.data = org.region_id or 0
        form.credit_code.data = org.credit_code or ""

    def resubmit() -> None:
        region = db.session.get(Region, form.region.data) if form.region.data else None
        services.resubmit_organization(
            current_user,
            org,
            name=form.name.data or "",
            credit_code=form.credit_code.data or None,
            region=region,
            contact_name=form.contact_name.data,
            contact_phone=form.contact_phone.data,
        )

    if submitted(form, resubmit):
        flash(_("Submitted again: an administrator will check your organization."), "success")
        return redirect(url_for("home.dashboard"))
    return render_template("accounts/organization.html", form=form, org=org), form_status(form)


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password() -> Any:
    form = PasswordChangeForm()
    user = current_user._get_current_object()
    if submitted(form, lambda: services.change_password(user, form.current.data, form.new.data)):
        logout_user()
        flash(_("Password changed. Every session has ended: sign in again."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/password.html", form=form), form_status(form)


@bp.route("/account/tokens", methods=["GET", "POST"])
@signed_in
def tokens() -> Any:
    """Personal API tokens: created here, shown once, revocable; a scope and an expiry."""
    form = TokenForm()
    created = submitted(
        form,
        lambda: services.create_token(
            current_user,
            form.name.data,
            TokenScope(form.scope.data),
            form.expires_on.data,
        ),
    )
    if created:
        form = TokenForm(formdata=None)
    rows = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.id)
    ).all()
    return render_template(
        "accounts/tokens.html",
        form=form,
        rows=rows,
        created=created.value[1] if created.value else None,
        expired=services.token_expired,
    ), form_status(form)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@signed_in
def revoke_token(token_id: int) -> Any:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    services.revoke_token(current_user, token)
    flash(_("Token revoked."), "info")
    return redirect(url_for("accounts.tokens"))


# --- administrators ----------------------------------------------------------------------


def _organizations_page(
    form: ReasonForm | None = None, failed: Organization | None = None, status_code: int = 200
) -> Any:
    status = request.args.get("status", "pending")
    query = services.organizations_in_scope(current_user).order_by(
        Organization.status.desc(), Organization.created_at.desc()
    )
    if status in ("pending", "verified", "rejected"):
        query = query.where(Organization.status == status)
    page = paginate(query)
    orgs = list(page.items)
    if failed is not None and failed not in orgs:
        orgs.insert(0, failed)
    return render_template(
        "accounts/organizations.html",
        page=page,
        orgs=orgs,
        status=status,
        form=form or ReasonForm(formdata=None),
        failed=failed,
        may={org.id: policy.organization_actions(current_user, org) for org in orgs},
    ), status_code


@bp.route("/admin/organizations")
@roles(*Role.ADMINS)
def organizations() -> Any:
    return _organizations_page()


@bp.route("/admin/organizations/<int:org_id>/<any(verify, reject):decision>", methods=["POST"])
@roles(*Role.ADMINS)
def decide_organization(org_id: int, decision: str) -> Any:
    org = db.session.scalar(
        services.organizations_in_scope(current_user).where(Organization.id == org_id)
    )
    if org is None:
        abort(404)
    form = ReasonForm()
    reason = form.reason.data or ""  # the approve button posts no reason
    if submitted(
        form,
        lambda: services.verify_organization(current_user, org, decision == "verify", reason),
    ):
        flash(_("Decision recorded for %(name)s.", name=org.name), "success")
        return redirect(url_for("accounts.organizations"))
    db.session.refresh(org)
    return _organizations_page(form, failed=org, status_code=form_status(form))


@bp.route("/admin/users")
@roles(*Role.ADMINS)
def users() -> Any:
    page = paginate(services.users_in_scope(current_user).order_by(User.role, User.username))
    page_users = list(page.items)
    throttled = services.throttled_usernames([u.username for u in page_users])
    return render_template(
        "accounts/users.html",
        page=page,
        users=page_users,
        may={
            u.id: policy.user_actions(current_user, u, throttled=u.username in throttled)
            for u in page_users
        },
        throttled=throttled,
    )


def _scope_region_choices(role: Role) -> list[SelectChoice]:
    levels = policy.SCOPE_LEVELS[role]
    query = sa.select(Region).where(
        Region.level.in_(levels), region_clause(current_user, Region.path)
    )
    if current_user.role == Role.SUPERUSER:
        # The whole country is too long a list: keep the deployed area.
        query = query.where(Region.path.in_(region_services.deployment_paths_query()))
    regions = db.session.scalars(query.order_by(Region.path).limit(3000)).all()
    return [SelectChoice(r.id, r.full_name) for r in regions]


def _all_scope_choices() -> list[SelectChoice]:
    seen: dict[int, SelectChoice] = {}
    for scoped_role in policy.SCOPE_LEVELS:
        seen.update((c.value, c) for c in _scope_region_choices(scoped_role))
    return sorted(seen.values(), key=lambda c: c.label)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles(*Role.ADMINS)
def create_user() -> Any:
    form = UserCreateForm()
    # Only the roles the form offers; any other value is refused at the field by the form.
    role = next((r for r in policy.SCOPE_LEVELS if r.value == form.role.data), None)
    if request.method == "POST" and role is not None:
        form.regions.choices = _scope_region_choices(role)
    else:
        form.regions.choices = _all_scope_choices()

    def create() -> User:
        assert role is not None  # the form's choices admit only these
        chosen = db.session.scalars(sa.select(Region).where(Region.id.in_(form.regions.data)))
        return services.create_user(
            current_user,
            username=form.username.data.strip(),
            display_name=form.display_name.data.strip(),
            role=role,
            regions=list(chosen),
            password=form.password.data,
            phone=form.phone.data or "",
            email=form.email.data or "",
        )

    result = submitted(form, create)
    if result.value is not None:
        flash(_("Account %(name)s created.", name=result.value.username), "success")
        return redirect(url_for("accounts.users"))
    return render_template("accounts/user_new.html", form=form), form_status(form)


def _managed_user(user_id: int) -> User:
    user = db.session.scalar(services.users_in_scope(current_user).where(User.id == user_id))
    if user is None or not policy.can_manage_user(current_user, user):
        abort(404)
    return user


@bp.route("/admin/users/<int:user_id>/<any(activate, deactivate, unlock):action>", methods=["POST"])
@roles(*Role.ADMINS)
def user_action(user_id: int, action: str) -> Any:
    user = _managed_user(user_id)
    try:
        if action == "unlock":
            services.unlock(current_user, user)
        else:
            services.set_active(current_user, user, action == "activate")
    except ServiceError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(url_for("accounts.users"))
    flash(_("Account %(name)s updated.", name=user.username), "success")
    return redirect(url_for("accounts.users"))


@bp.route("/admin/users/<int:user_id>/reset-password", methods=["POST"])
@roles(*Role.ADMINS)
def reset_user_password(user_id: int) -> Any:
    """A temporary password, shown on this page only, to be changed at the next sign-in."""
    user = _managed_user(user_id)
    temporary = services.reset_password(current_user, user)
    return render_template("accounts/reset_done.html", user=user, temporary=temporary)


@bp.route("/admin/users/<int:user_id>/villages", methods=["GET", "POST"])
@roles(*Role.ADMINS)
def staff_villages(user_id: int) -> Any:
    """Rotate village staff: the villages a member of staff looks after."""
    user = _managed_user(user_id)
    if not policy.can_assign_villages(current_user, user):
        abort(404)
    form = StaffVillagesForm()
    form.regions.choices = _scope_region_choices(Role.STAFF)
    if request.method == "GET":
        form.regions.data = [r.id for r in user.regions]

    def save() -> None:
        chosen = db.session.scalars(sa.select(Region).where(Region.id.in_(form.regions.data)))
        services.set_staff_villages(current_user, user, list(chosen))

    if submitted(form, save):
        flash(_("Account %(name)s updated.", name=user.username), "success")
        return redirect(url_for("accounts.users"))
    return render_template("accounts/staff_villages.html", form=form, user=user), form_status(form)
