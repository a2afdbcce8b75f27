"""The audit trail, browsed by auditors and administrators within their scope."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from marketplace.accounts.models import Role
from marketplace.attachments.services import attachments_of
from marketplace.audit.models import AuditEvent
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.matches.models import Match, MatchStatus
from marketplace.oversight import exports, policy, trail
from marketplace.oversight import spot_checks as checks
from marketplace.oversight.forms import (
    AnswerForm,
    FindingForm,
    ReportForm,
    SpotCheckForm,
    TrailFilterForm,
    blank_choice,
)
from marketplace.oversight.models import CHECKS, SpotCheck
from marketplace.oversight.services import record_trail_export, trail_for
from marketplace.oversight.trail import TrailFilter
from marketplace.permissions import roles
from marketplace.regions.services import deployment_regions
from marketplace.timefmt import beijing_text
from marketplace.vocab import CATEGORY_TREE
from marketplace.web import form_status, paginate, submitted, uploaded_photo

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


def _trail_form() -> tuple[TrailFilterForm, TrailFilter]:
    """The filters as asked in the address, with their choices; a value that does not pass is
    shown at its field and not applied, the others are."""
    form = TrailFilterForm(request.args)
    form.action.choices = [
        SelectChoice("", _("All actions")),
        *(SelectChoice(code, a.label, optgroup=str(trail.GROUPS[a.group]))
          for code, a in trail.ACTIONS.items()),
    ]  # fmt: skip
    form.role.choices = [
        SelectChoice("", _("All roles")),
        *(SelectChoice(r.value, r.label) for r in Role),
        SelectChoice(trail.NOBODY, _("Not signed in, or the platform")),
    ]
    form.region.choices = [
        SelectChoice("", _("All regions")),
        *(SelectChoice(r.path, r.full_name) for r in trail.region_choices(current_user)),
    ]
    form.kind.choices = [
        SelectChoice("", _("All objects")),
        *(SelectChoice(k, label) for k, label in trail.OBJECT_KINDS.items()),
    ]
    form.validate()

    def good(field: Any) -> Any:
        return field.data if not field.errors else None

    wanted = TrailFilter(
        actor=(good(form.actor) or "").strip(), action=good(form.action) or "",
        role=good(form.role) or "", region_path=good(form.region) or "",
        kind=good(form.kind) or "", since=good(form.since), until=good(form.until),
        views=bool(form.views.data),
    )  # fmt: skip
    return form, wanted


@bp.route("/audit")
@roles(*Role.OVERSIGHT)
def audit() -> Any:
    """Events about the user's regions and by their people (everything for a superuser), as
    sentences, newest first; page views only when asked for."""
    form, wanted = _trail_form()
    page = paginate(wanted.apply(trail_for(current_user)).order_by(AuditEvent.id.desc()))
    status = 400 if form.errors else 200
    return render_template(
        "oversight/audit.html", page=page, lines=trail.lines(current_user, list(page.items)),
        form=form, filters=_filter_args(form),
    ), status  # fmt: skip


def _filter_args(form: TrailFilterForm) -> dict[str, str]:
    """The filters as given, for the pager and the export links."""
    names = ("action", "role", "region", "kind", "actor", "since", "until", "views")
    return {n: v for n in names if (v := request.args.get(n, ""))}


@bp.route("/audit/export.<any(xlsx, csv):fmt>")
@roles(*Role.OVERSIGHT)
def audit_export(fmt: str) -> Any:
    """The filtered trail as a workbook or a CSV file (at most ``exports.MAX_ROWS`` events,
    newest first); the export is itself recorded."""
    form, wanted = _trail_form()
    if form.errors:
        raise ServiceError(_l("Correct the filters before exporting."), 400)
    query = wanted.apply(trail_for(current_user)).order_by(AuditEvent.id.desc())
    told = exports.told_events(current_user, query)
    record_trail_export(current_user, fmt, len(told), _filter_args(form))
    stamp = beijing_text(utcnow(), "%Y%m%d-%H%M")
    if fmt == "xlsx":
        body, mimetype = exports.to_xlsx(told), exports.XLSX
    else:
        body, mimetype = exports.to_csv(told), "text/csv; charset=utf-8"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=audit-{stamp}.{fmt}"
    response.headers["Cache-Control"] = "no-store"
    return response


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
