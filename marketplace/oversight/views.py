"""The audit trail, browsed by auditors and administrators within their scope."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.accounts.models import Role, User
from marketplace.accounts.services import users_in_scope
from marketplace.attachments.services import attachments_of
from marketplace.extensions import db
from marketplace.matches.models import Match, MatchStatus
from marketplace.oversight import spot_checks as checks
from marketplace.oversight.forms import FindingForm, ReportForm, SpotCheckForm, blank_choice
from marketplace.oversight.models import AuditEvent, SpotCheck
from marketplace.permissions import roles
from marketplace.regions.services import deployment_regions
from marketplace.vocab import CATEGORY_TREE
from marketplace.web import paginate, uploaded_photo

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


@bp.route("/audit")
@roles(Role.AUDITOR, Role.ADMIN, Role.SUPERUSER)
def audit() -> Any:
    """Events by the people of the user's regions (everything for a superuser)."""
    query = sa.select(AuditEvent)
    if current_user.role != Role.SUPERUSER:
        actors = users_in_scope(current_user).with_only_columns(User.id)
        query = query.where(AuditEvent.actor_id.in_(actors))
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
@roles(Role.AUDITOR, Role.ADMIN, Role.SUPERUSER)
def spot_checks() -> Any:

    page = paginate(checks.checks_for(current_user).order_by(SpotCheck.id.desc()))
    return render_template("oversight/spot_checks.html", page=page)


@bp.route("/spot-checks/new", methods=["GET", "POST"])
@roles(Role.AUDITOR, Role.SUPERUSER)
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
        db.session.commit()
        flash(_("Sample drawn with seed %(seed)s.", seed=check.seed), "success")
        return redirect(url_for("oversight.spot_check", check_id=check.id))
    return render_template("oversight/spot_check_new.html", form=form), (
        400 if form.errors else 200
    )


@bp.route("/spot-checks/<int:check_id>")
@roles(Role.AUDITOR, Role.ADMIN, Role.SUPERUSER)
def spot_check(check_id: int) -> Any:

    check = checks.get(current_user, check_id)
    matches = {
        m.id: m for m in db.session.scalars(sa.select(Match).where(Match.id.in_(check.sample)))
    }
    return render_template(
        "oversight/spot_check.html", check=check, matches=matches,
        reproducible=checks.redraw_matches(check), finding_form=FindingForm(),
        photos={i.id: attachments_of("match", i.match_id, checks.photo_purpose(i))
                for i in check.items},
        report_form=ReportForm(), mine=check.created_by_id == current_user.id,
    )  # fmt: skip


@bp.route("/spot-checks/<int:check_id>/items/<int:item_id>", methods=["POST"])
@roles(Role.AUDITOR, Role.SUPERUSER)
def spot_check_item(check_id: int, item_id: int) -> Any:

    check = checks.get(current_user, check_id)
    item = next((i for i in check.items if i.id == item_id), None)
    form = FindingForm()
    if item is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    findings = {n: getattr(form, n).data for n in ("people", "project", "funds", "measures")}
    photo = uploaded_photo(form.photo)
    checks.record_findings(current_user, item, findings, form.note.data or "", photo)
    db.session.commit()
    return redirect(url_for("oversight.spot_check", check_id=check.id))


@bp.route("/spot-checks/<int:check_id>/<any(close, answer):action>", methods=["POST"])
@roles(Role.AUDITOR, Role.ADMIN, Role.SUPERUSER)
def spot_check_report(check_id: int, action: str) -> Any:

    check = checks.get(current_user, check_id)
    form = ReportForm()
    if not form.validate_on_submit():
        abort(400)
    if action == "close":
        checks.close(current_user, check, form.text.data)
    else:
        checks.answer(current_user, check, form.text.data)
    db.session.commit()
    return redirect(url_for("oversight.spot_check", check_id=check.id))
