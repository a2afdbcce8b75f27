"""Follow-up pages (the list, a match's follow-ups with the record form), a donor's impact,
certificates of contribution and their public check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.accounts.models import Organization
from marketplace.config import ConfigError
from marketplace.errors import ServiceError
from marketplace.extensions import db, limiter
from marketplace.followups import certificates, impact, policy, services
from marketplace.followups.forms import CertificateForm, FollowUpForm, VerifyForm
from marketplace.followups.models import Certificate, FollowUp
from marketplace.followups.questions import QUESTION_SETS, parse_schedule
from marketplace.households import services as households
from marketplace.households.models import Household
from marketplace.matches import services as matches
from marketplace.matches.models import Match
from marketplace.permissions import public, roles, signed_in
from marketplace.roles import Role
from marketplace.signals import household_page
from marketplace.timefmt import beijing_today
from marketplace.web import form_status, paginate, submitted, uploaded_photo

bp = Blueprint("followups", __name__)


@bp.record_once
def _check_settings(state: Any) -> None:
    """A schedule the application cannot use stops the start, naming the setting."""
    raw = state.app.config.get("FOLLOW_UP_SCHEDULE")
    try:
        parse_schedule(raw)
    except ValueError as exc:
        raise ConfigError("FOLLOW_UP_SCHEDULE", raw, str(exc)) from exc


# --- pieces of other packages' pages ---------------------------------------------------------


@bp.app_template_global("follow_up_panel")
def follow_up_panel(match: Match) -> dict[str, Any]:
    """The match page's follow-ups (templates/followups/_match.html): the donor sees the
    outcomes of its help; staff's notes only those who may see personal data."""
    items = services.follow_ups_of(match)
    user = current_user if current_user.is_authenticated else None
    current = services.next_to_record(items)
    return {
        "rows": items,
        "notes": policy.can_read_notes(user, match),
        "may_record": bool(user and current and policy.can_record(user, current)),
        "today": beijing_today(),
        "sets": QUESTION_SETS,
    }


@bp.app_template_global("impact_link")
def impact_link(org: Organization | None) -> str | None:
    """The address of an organization's impact page for the reader, if they may open it."""
    user = current_user if current_user.is_authenticated else None
    if org is None or org.id is None or not policy.can_see_impact(user, org):
        return None
    return url_for("followups.organization", org_id=org.id)


# --- follow-ups ------------------------------------------------------------------------------


@bp.route("/follow-ups/")
@roles(*Role.REGION_READERS)
def index() -> Any:
    show = request.args.get("show", "overdue")
    if show not in services.LISTS:
        show = "overdue"
    page = paginate(services.listed(current_user, show))
    items: list[FollowUp] = list(page.items)
    found = [f.match.need.household for f in items if f.match.need.household]
    return render_template(
        "followups/list.html", page=page, show=show, items=items,
        identity=households.identity(current_user, found),
        may={f.id: policy.can_record(current_user, f) for f in items},
        overdue=services.overdue_count(current_user), today=beijing_today(), sets=QUESTION_SETS,
    )  # fmt: skip


@bp.route("/matches/<int:match_id>/follow-ups", methods=["GET", "POST"])
@signed_in
def match_follow_ups(match_id: int) -> Any:
    """A match's follow-ups, with the form for the next one when the reader may record it."""
    match = matches.get_match(current_user, match_id)
    items = services.follow_ups_of(match)
    current = services.next_to_record(items)
    may_record = current is not None and policy.can_record(current_user, current)
    form = None
    if current is not None and may_record:
        form = FollowUpForm(follow_up=str(current.id), visited_on=beijing_today())
        form.ask(services.question_set(current))
    if request.method == "POST":
        if form is None or current is None:
            if current is not None and not policy.records_here(current_user, match):
                abort(403)
            raise ServiceError(_l("There is no follow-up to record now. Reload the page."), 409)
        recording = current

        def run() -> None:
            if (form.follow_up.data or "") != str(recording.id):
                raise ServiceError(_l("This is not the follow-up due now. Reload the page."), 409)
            photo = uploaded_photo(form.photo)
            services.record(current_user, recording, services.Outcome(**form.answers()), photo)

        if submitted(form, run):
            flash(_("Follow-up recorded."), "success")
            return redirect(url_for("followups.match_follow_ups", match_id=match.id))
    household = match.need.household
    identity = households.identity(current_user, [household])[household.id] if household else None
    return render_template(
        "followups/match.html", match=match, items=items, current=current, form=form,
        identity=identity, notes=policy.can_read_notes(current_user, match), sets=QUESTION_SETS,
        today=beijing_today(),
    ), (form_status(form) if form is not None else 200)  # fmt: skip


# --- impact ----------------------------------------------------------------------------------


def _period() -> tuple[date | None, date | None]:
    """The months asked for (?from=YYYY-MM&to=YYYY-MM), each optional."""
    first = request.args.get("from") or None
    last = request.args.get("to") or None
    return (
        impact.parse_month(first) if first else None,
        impact.parse_month(last) if last else None,
    )


def _impact_page(org: Organization) -> Any:
    first, last = _period()
    figures = impact.organization_impact(org, first, last)
    return render_template(
        "followups/impact.html", org=org, impact=figures, first=first, last=last,
        certificates=certificates.certificates_of(org), own=policy.is_member(current_user, org),
        may=policy.impact_actions(current_user, org),
    )  # fmt: skip


@bp.route("/impact/")
@roles(Role.DONOR)
def mine() -> Any:
    """The donor's own organization: its impact, month by month."""
    org = current_user.organization
    if org is None:
        abort(404)
    return _impact_page(org)


@bp.route("/impact/organizations/")
@roles(*(Role.ADMINS | Role.OVERSIGHT))
def organizations() -> Any:
    return render_template("followups/organizations.html", rows=impact.organizations_with_help())


def _organization(org_id: int | None) -> Organization:
    org = db.session.get(Organization, org_id) if org_id else None
    if org is None or not policy.can_see_impact(current_user, org):
        abort(404)
    return org


@bp.route("/impact/organizations/<int:org_id>")
@signed_in
def organization(org_id: int) -> Any:
    return _impact_page(_organization(org_id))


@bp.route("/impact/certificate", methods=["GET", "POST"])
@signed_in
def certify() -> Any:
    """Issue a certificate of contribution: for the donor's own organization, or (an
    administrator) for the one named by ?org=."""
    org_id = request.args.get("org", type=int) or current_user.organization_id
    org = _organization(org_id)
    if not policy.can_issue_certificate(current_user, org):
        abort(403)
    first, last = impact.default_period()
    form = CertificateForm(first_month=impact.month_text(first), last_month=impact.month_text(last))

    def run() -> Certificate:
        months = {}
        for name in ("first_month", "last_month"):
            try:
                months[name] = impact.parse_month(getattr(form, name).data)
            except ServiceError as exc:
                raise ServiceError(exc.message, field=name) from exc
        return certificates.issue(current_user, org, months["first_month"], months["last_month"])

    done = submitted(form, run)
    if done and done.value is not None:
        flash(_("Certificate issued."), "success")
        return redirect(url_for("followups.certificate", certificate_id=done.value.id))
    return render_template("followups/certify.html", form=form, org=org), form_status(form)


@bp.route("/impact/certificates/<int:certificate_id>")
@signed_in
def certificate(certificate_id: int) -> Any:
    """The printable certificate (static/css/certificate.css prints it alone)."""
    found = db.session.get(Certificate, certificate_id)
    if found is None:
        abort(404)
    _organization(found.organization_id)
    return render_template(
        "followups/certificate.html",
        certificate=found,
        content=found.content,
        verify_url=_verify_url(found.code),
    )


def _verify_url(code: str) -> str:
    base = current_app.config.get("PUBLIC_URL") or request.host_url.rstrip("/")
    return f"{base}{url_for('followups.verify')}?code={code}"


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
@public
def verify() -> Any:
    """Anyone checks a certificate's code and sees what it certifies."""
    form = VerifyForm()
    found = None
    typed = request.args.get("code", "")
    if request.method == "GET" and typed:
        form = VerifyForm(formdata=None, code=typed[:40])
        try:
            found = certificates.verify(typed)
        except ServiceError as exc:
            form.code.errors = [str(exc.message)]
            return render_template("followups/verify.html", form=form, found=None), exc.status
    else:
        done = submitted(form, lambda: certificates.verify(form.code.data or ""))
        found = done.value if done else None
    return render_template("followups/verify.html", form=form, found=found), (
        form_status(form) if request.method == "POST" else 200
    )


@household_page.connect
def _household_income(_sender: Any, *, user: Any, household: Household) -> dict[str, Any]:
    """The household page's income recorded at follow-ups (wages, income from the help), and
    where each aid row's follow-ups stand."""
    found = services.income_of_household(household.id)
    return {
        "follow_up_progress": services.progress_of_household(household.id),
        "follow_up_income": found,
        "follow_up_income_total": sum((f.income or Decimal(0) for f in found), Decimal(0)),
    }
