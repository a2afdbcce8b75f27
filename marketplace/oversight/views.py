"""The audit trail, browsed by auditors and administrators within their scope."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.accounts.models import Role, User
from marketplace.attachments.services import attachments_of
from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.matches.models import Match, MatchStatus
from marketplace.oversight import policy
from marketplace.oversight import spot_checks as checks
from marketplace.oversight.forms import (
    AnswerForm,
    FindingForm,
    ReportForm,
    SpotCheckForm,
    blank_choice,
)
from marketplace.oversight.models import CHECKS, SpotCheck
from marketplace.oversight.services import trail_for
from marketplace.permissions import roles
from marketplace.regions.services import deployment_regions
from marketplace.vocab import CATEGORY_TREE
from marketplace.web import form_status, paginate, submitted, uploaded_photo

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


@bp.route("/audit")
@roles(*Role.OVERSIGHT)
def audit() -> Any:
    """Events about the user's regions and by their people (everything for a superuser)."""
    query = trail_for(current_user)
    action = (request.args.get("action") or "").strip()[:50]
    if action:
        query = query.where(AuditEvent.action == action)
    object_type = (request.args.get("object") or "").strip()[:30]
    if object_type:
        query = query.where(AuditEvent.object_type == object_type)
    username = (request.args.get("actor") or "").strip()[:50]
    if username:
        query = query.where(
            AuditEvent.actor_id.in_(sa.select(User.id).where(User.username == username))
        )
    start, end = _date(request.args.get("from")), _date(request.args.get("to"))
    if start:
        query = query.where(AuditEvent.created_at >= start)
    if end:
        query = query.where(AuditEvent.created_at < datetime.combine(end.date(), time.max, UTC))
    page = paginate(query.order_by(AuditEvent.id.desc()))
    names = dict(_usernames(list(page.items)))
    return render_template("oversight/audit.html", page=page, names=names, args=request.args)


def _usernames(events: list[AuditEvent]) -> list[tuple[int, str]]:
    """User names of the events' actors, in one query."""
    ids = {e.actor_id for e in events if e.actor_id}
    if not ids:
        return []
    return [(i, n) for i, n in db.session.execute(
        sa.select(User.id, User.username).where(User.id.in_(ids)))]  # fmt: skip


# --- random spot checks -------------------------------------------------------------------


@bp.route("/spot-checks")
@roles(*Role.OVERSIGHT)
def spot_checks() -> Any:

    page = paginate(checks.checks_for(current_user).order_by(SpotCheck.id.desc()))
    may = {"draw": policy.can_draw_spot_checks(current_user)}
    return render_template("oversight/spot_checks.html", page=page, may=may)


@bp.route("/spot-checks/new", methods=["GET", "POST"])
@roles(*Role.AUDITORS)
def new_spot_check() -> Any:

    form = SpotCheckForm()
    regions = list(current_user.regions) or deployment_regions()

    form.region.choices = [SelectChoice(r.id, r.full_name) for r in regions]
    form.category.choices = blank_choice(
        _("All categories"), [(top.code, top.label) for top, _subs in CATEGORY_TREE]
    )
    form.match_status.choices = blank_choice(_("All"), [(s.value, s.label) for s in MatchStatus])
    if form.validate_on_submit():
        region = next(r for r in regions if r.id == form.region.data)
        check = checks.create(
            current_user, region, form.period_start.data, form.period_end.data,
            form.category.data or "", form.match_status.data or "", form.sample_size.data,
            form.seed.data,
        )  # fmt: skip
        flash(_("Sample drawn with seed %(seed)s.", seed=check.seed), "success")
        return redirect(url_for("oversight.spot_check", check_id=check.id))
    return render_template("oversight/spot_check_new.html", form=form), (
        400 if form.errors else 200
    )


def _check_page(
    check: SpotCheck,
    *,
    report_form: ReportForm | None = None,
    answer_form: AnswerForm | None = None,
    finding_form: FindingForm | None = None,
    failed_item: int | None = None,
) -> Any:
    """The check's page; a form that was refused comes back with its input and messages."""
    matches = {
        m.id: m for m in db.session.scalars(sa.select(Match).where(Match.id.in_(check.sample)))
    }
    forms = [f for f in (report_form, answer_form, finding_form) if f is not None]
    status = max([form_status(f) for f in forms], default=200)
    return render_template(
        "oversight/spot_check.html", check=check, matches=matches,
        reproducible=checks.redraw_matches(check),
        finding_form=finding_form or FindingForm(formdata=None), failed_item=failed_item,
        photos={i.id: attachments_of("match", i.match_id, checks.photo_purpose(i))
                for i in check.items},
        report_form=report_form or ReportForm(formdata=None, text=check.report),
        answer_form=answer_form or AnswerForm(formdata=None),
        unchecked=checks.unchecked(check), may=policy.actions(current_user, check),
    ), status  # fmt: skip


@bp.route("/spot-checks/<int:check_id>")
@roles(*Role.OVERSIGHT)
def spot_check(check_id: int) -> Any:
    return _check_page(checks.get(current_user, check_id))


@bp.route("/spot-checks/<int:check_id>/items/<int:item_id>", methods=["POST"])
@roles(*Role.AUDITORS)
def spot_check_item(check_id: int, item_id: int) -> Any:
    check = checks.get(current_user, check_id)
    item = next((i for i in check.items if i.id == item_id), None)
    if item is None:
        abort(404)
    form = FindingForm()

    def record() -> None:
        findings = {n: getattr(form, n).data for n in CHECKS}
        photo = uploaded_photo(form.photo)
        checks.record_findings(current_user, item, findings, form.note.data or "", photo)

    checks.require_author_of_open(current_user, check)  # 403 / 409 pages, not the form again
    if not submitted(form, record):
        return _check_page(check, finding_form=form, failed_item=item.id)
    flash(_("Findings saved."), "success")
    return redirect(url_for("oversight.spot_check", check_id=check.id, _anchor=f"item-{item.id}"))


@bp.route("/spot-checks/<int:check_id>/report", methods=["POST"])
@roles(*Role.AUDITORS)
def spot_check_report(check_id: int) -> Any:
    """ "Save draft" keeps the report and the check open; "Close the check" is final. With
    checks still not done, closing first saves the draft and shows what is unchecked, with a
    button to close anyway (works without JavaScript)."""
    check = checks.get(current_user, check_id)
    form = ReportForm()
    report = form.text.data or ""
    closing = bool(form.close.data)
    pending = checks.unchecked(check)

    def act() -> bool:
        if closing and (form.confirmed.data or not pending):
            checks.close(current_user, check, report, allow_unchecked=bool(pending))
            return True
        if closing and not report.strip():
            raise ServiceError(_l("Write the report of findings."), field="text")
        checks.save_draft(current_user, check, report)
        return False

    done = submitted(form, act)
    if not done:
        return _check_page(check, report_form=form)
    if done.value:
        flash(_("Spot check closed."), "success")
    elif closing:  # the confirmation step; the text is kept as a draft meanwhile
        matches = {m.id: m for m in db.session.scalars(
            sa.select(Match).where(Match.id.in_([i.match_id for i, _n in pending])))}  # fmt: skip
        return render_template(
            "oversight/spot_check_close.html", check=check, form=form, pending=pending,
            matches=matches,
        )  # fmt: skip
    else:
        flash(_("Draft saved. The check stays open."), "success")
    return redirect(url_for("oversight.spot_check", check_id=check.id))


@bp.route("/spot-checks/<int:check_id>/answer", methods=["POST"])
@roles(*Role.ADMINS)
def spot_check_answer(check_id: int) -> Any:
    check = checks.get(current_user, check_id)
    form = AnswerForm()
    if not submitted(form, lambda: checks.answer(current_user, check, form.text.data or "")):
        return _check_page(check, answer_form=form)
    flash(_("Answer recorded."), "success")
    return redirect(url_for("oversight.spot_check", check_id=check.id))
