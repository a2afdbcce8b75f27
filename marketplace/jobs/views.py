"""The administrators' page of the background jobs: every periodic task with its schedule,
its last run and how it went, and when it runs next."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template
from flask_babel import lazy_gettext as _l

from marketplace.extensions import db
from marketplace.jobs.models import JobRun
from marketplace.jobs.runner import jobs_of
from marketplace.jobs.tasks import COUNT_LABELS, PERIODIC_BY_NAME
from marketplace.permissions import roles
from marketplace.roles import Role

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

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
        labels=COUNT_LABELS,
        periodic=PERIODIC_BY_NAME,
    )
