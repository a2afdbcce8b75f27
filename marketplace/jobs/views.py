"""The administrators' page of the background jobs (every periodic task with its schedule,
its last run and how it went, and when it runs next), and the page of one piece of long work
for the user who asked for it: its progress while it runs, its result when done."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.forms import ReasonForm
from marketplace.jobs import policy
from marketplace.jobs.models import JobOutcome, JobRun, percent_of
from marketplace.jobs.runner import jobs_of
from marketplace.jobs.tasks import COUNT_LABELS, PERIODIC_BY_NAME
from marketplace.jobs.work import COUNT_LABELS as WORK_COUNT_LABELS
from marketplace.jobs.work import STAGES, WORK, cancel, output_path, waited_long
from marketplace.permissions import roles, signed_in
from marketplace.roles import Role
from marketplace.signals import start_work

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")
work_bp = Blueprint("work", __name__, url_prefix="/work")
REFRESH_SECONDS = 2
REFRESH_WAITED_SECONDS = 30  # no worker took it: refresh slowly while the notice says why

RECENT = 30
STORES = {
    "sqlite": _l("embedded (a SQLite file)"),
    "redis": _l("Redis (shared by several machines)"),
    "immediate": _l("immediate (run in the caller)"),
}


@bp.route("/")
@roles(*Role.ADMINS)
def index() -> Any:
    jobs = jobs_of(current_app)
    recent = db.session.scalars(
        sa.select(JobRun).order_by(JobRun.created_at.desc(), JobRun.id.desc()).limit(RECENT)
    ).all()
    return render_template(
        "jobs/index.html",
        rows=jobs.overview(),
        recent=recent,
        store=STORES[jobs.kind],
        labels={**COUNT_LABELS, **WORK_COUNT_LABELS},
        periodic=PERIODIC_BY_NAME,
        work=WORK,
        may_rebuild=policy.can_rebuild_search(current_user),
        rebuild_form=ReasonForm(),
    )


@bp.route("/search-rebuild", methods=["POST"])
@roles(*Role.ADMINS)
def rebuild_search() -> Any:
    """The whole index written again from the database, in the background."""
    if not policy.can_rebuild_search(current_user):
        raise ServiceError(_l("Only the superuser may rebuild the search index."), 403)
    if not ReasonForm().validate_on_submit():
        abort(400)
    run_id = start_work("search_rebuild", current_user, locale=str(get_locale()))
    return redirect(url_for("work.run", run_id=run_id))


def _followed_run(run_id: int) -> JobRun:
    run = db.session.get(JobRun, run_id)
    if run is None or run.name not in WORK or not policy.can_follow(current_user, run):
        abort(404)  # another user's work is as if it did not exist
    return run


@work_bp.route("/<int:run_id>")
@signed_in
def run(run_id: int) -> Any:
    """How far the work got; the page reloads itself (a Refresh header, no script) until it
    is done."""
    found = _followed_run(run_id)
    live = None
    if found.outcome in (JobOutcome.QUEUED, JobOutcome.RUNNING):
        live = jobs_of(current_app).live_progress(found.id)
    progress = live or {"stage": found.stage, "done": found.done, "total": found.total}
    percent = percent_of(int(progress.get("done") or 0), progress.get("total"))
    if found.outcome == JobOutcome.OK:
        percent = 100
    waited = waited_long(found)
    refresh = REFRESH_WAITED_SECONDS if waited else REFRESH_SECONDS
    response = Response(render_template(
        "jobs/run.html", run=found, work=WORK[found.name], progress=progress, percent=percent,
        stages=STAGES, labels=WORK_COUNT_LABELS, refresh=refresh, waited=waited,
        wait_minutes=current_app.config.get("WORK_WAIT_MINUTES", 5),
        may_cancel=policy.can_cancel(current_user, found), cancel_form=ReasonForm(),
        has_file=found.outcome == JobOutcome.OK and output_path(found.id).exists(),
    ))  # fmt: skip
    if found.outcome in (JobOutcome.QUEUED, JobOutcome.RUNNING):
        response.headers["Refresh"] = str(refresh)
    return response


@work_bp.route("/<int:run_id>/cancel", methods=["POST"])
@signed_in
def cancel_run(run_id: int) -> Any:
    """Withdraw a run no worker has taken yet (its page then says it was cancelled)."""
    found = _followed_run(run_id)
    if not ReasonForm().validate_on_submit():
        abort(400)
    cancel(found, current_user)
    return redirect(url_for("work.run", run_id=found.id))


@work_bp.route("/<int:run_id>/file")
@signed_in
def file(run_id: int) -> Any:
    found = _followed_run(run_id)
    path = output_path(found.id)
    name = str((found.counts or {}).get("file") or "")
    if found.outcome != JobOutcome.OK or not name or not path.exists():
        raise ServiceError(_l("This file is no longer kept: export again."), 404)
    response = Response(
        path.read_bytes(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    response.headers["Cache-Control"] = "no-store"
    return response
