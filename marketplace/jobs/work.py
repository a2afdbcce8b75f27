"""Long work a page hands to the background: what each kind does, with its label and where
its result leads.

A page asks through ``signals.start_work(name, actor, **params)``; the runner records a queued
run, enqueues it once the request commits, and a consumer runs the body in a transaction of its
own, as the actor, telling how far it got (stage, rows done of total) for the run's page. The
body commits nothing: the runner commits once at the end, or rolls back and records why.
Parameters are plain values and never personal data (an upload's token, ids, a month).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.db import utcnow
from marketplace.errors import ServiceError
from marketplace.extensions import db
from marketplace.jobs import policy
from marketplace.jobs.models import JobOutcome, JobRun

Counts = dict[str, Any]


class WorkRun(Protocol):
    run_id: int

    def progress(self, stage: str, done: int, total: int | None = None) -> None: ...


@dataclass(frozen=True)
class Work:
    name: str
    label: LazyString
    body: Callable[[WorkRun, User, dict[str, Any]], Counts]
    # Where the finished run's page sends the user on (None: a download of its own).
    next_endpoint: str | None
    next_label: LazyString
    # Where to start again after a failure.
    back_endpoint: str


class WorkRefused(ServiceError):
    """The work cannot be done as asked (the file changed since its check): the run fails with
    this message and its details, and changes nothing."""

    def __init__(self, message: Any, details: list[str]) -> None:
        super().__init__(message, 409)
        self.details = details


STAGES: dict[str, LazyString] = {
    "queued": _l("Waiting for a worker"),
    "checking": _l("Checking the rows again"),
    "writing": _l("Writing the rows"),
    "computing": _l("Computing the allocation"),
    "proposing": _l("Proposing the matches"),
    "reading": _l("Reading the figures"),
    "writing_file": _l("Writing the file"),
    "indexing": _l("Indexing"),
    "done": _l("Done"),
}

COUNT_LABELS: dict[str, LazyString] = {
    "households": _l("households"),
    "members": _l("members"),
    "needs": _l("needs"),
    "matches": _l("matches proposed"),
    "indexed": _l("documents indexed"),
    "rows": _l("rows"),
}


# --- the bodies ----------------------------------------------------------------------------


def confirm_import(run: WorkRun, actor: User, params: dict[str, Any]) -> Counts:
    """The upload checked again (the register may have changed), then every row written."""
    from marketplace.imports.pending import digest, discard_pending, pending
    from marketplace.imports.reading import read_upload
    from marketplace.imports.writing import import_rows

    token = str(params["token"])
    data = pending(actor, token)
    run.progress("checking", 0)
    preview = read_upload(actor, data, current_app.config["IMPORT_MAX_ROWS"])
    if not preview.ok:
        discard_pending(actor, token)
        details = [*preview.file_errors]
        for row in preview.rows_with_errors[:20]:
            details.append(row.describe())
        raise WorkRefused(
            _l("The register changed since the check: correct the rows and upload again."),
            details,
        )
    households, needs = import_rows(
        actor,
        preview,
        digest(data),
        progress=lambda done, total: run.progress("writing", done, total),
    )
    discard_pending(actor, token)
    return {"households": households, "members": len(preview.members), "needs": needs}


def allocate(run: WorkRun, actor: User, params: dict[str, Any]) -> Counts:
    """An allocation over a city or a province: computed and proposed in the background; the
    proposals wait in the approval queue, where they are reviewed one by one."""
    from marketplace.matches import services
    from marketplace.regions.models import Region
    from marketplace.resources.services import get_resource

    resource = get_resource(actor, int(params["resource_id"]))
    region = db.session.get(Region, int(params["region_id"]))
    if region is None:
        raise ServiceError(_l("The page or record was not found."), 404)
    run.progress("computing", 0)
    created = services.allocate(
        actor, resource, region, params.get("village_cap"), str(params["mode"]),
        str(params["group_level"]),
    )  # fmt: skip
    run.progress("proposing", len(created), len(created))
    return {"matches": len(created)}


def export_report(run: WorkRun, actor: User, params: dict[str, Any]) -> Counts:
    """A month's report as an Excel file, kept for its requester to download."""
    from marketplace.reports import services
    from marketplace.reports.exports import report_tables, to_xlsx

    run.progress("reading", 0)
    first = services.month_or_error(str(params["month"]))
    region = services.region_for(actor, str(params["region"]))
    report = services.month_report(region, first)
    run.progress("writing_file", 0)
    title = _("Monthly report %(month)s %(region)s", month=report.month, region=report.region.name)
    keep_output(run.run_id, to_xlsx(report_tables(report), title))
    services.record_export(actor, report, "xlsx")
    filename = f"report-{report.month}-{report.region.code}.xlsx"
    return {"file": filename}


def rebuild_search(run: WorkRun, actor: User, params: dict[str, Any]) -> Counts:
    from marketplace.search.services import rebuild, total_documents

    total = total_documents()
    run.progress("indexing", 0, total)
    documents = rebuild(progress=lambda done: run.progress("indexing", min(done, total), total))
    return {"indexed": documents}


WORK: dict[str, Work] = {
    work.name: work
    for work in [
        Work("import", _l("Import of the register"), confirm_import, "households.index",
             _l("To the register"), "imports.start"),
        Work("allocate", _l("Allocation of a resource"), allocate, "matches.approvals",
             _l("To the approval queue"), "resources.index"),
        Work("report_export", _l("Report export (Excel)"), export_report, None,
             _l("Download the file"), "reports.month"),
        Work("search_rebuild", _l("Rebuild of the search index"), rebuild_search, "jobs.index",
             _l("To the background jobs"), "jobs.index"),
    ]
}  # fmt: skip


KEEP_OUTPUT_HOURS = 24


def output_folder() -> Path:
    folder = Path(current_app.config["INSTANCE_DIR"]) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def keep_output(run_id: int, body: bytes) -> None:
    """Keep a run's file for its requester (readable by the owner only); files older than a
    day are removed on the way, as the import's pending uploads are."""
    cutoff = time.time() - KEEP_OUTPUT_HOURS * 3600
    for old in output_folder().glob("run-*.bin"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    path = output_path(run_id)
    path.write_bytes(body)
    path.chmod(0o600)


def output_path(run_id: int) -> Path:
    """The file a run wrote: named by the run, readable only through its page."""
    return output_folder() / f"run-{run_id}.bin"


# --- waiting and cancelling ----------------------------------------------------------------


def waited_long(run: JobRun, now: datetime | None = None) -> bool:
    """Queued past ``WORK_WAIT_MINUTES``: no worker took it (a site served with ``--no-jobs``
    and no ``marketplace worker``), so the page says so instead of refreshing in silence."""
    if run.outcome != JobOutcome.QUEUED or run.created_at is None:
        return False
    limit = timedelta(minutes=int(current_app.config.get("WORK_WAIT_MINUTES", 5)))
    created = run.created_at if run.created_at.tzinfo else run.created_at.replace(tzinfo=UTC)
    return (now or utcnow()) - created > limit


def cancel(run: JobRun, actor: User) -> None:
    """Its requester withdraws a run no worker has taken; a worker arriving later finds it no
    longer queued and leaves it (the same compare-and-set that claims a run)."""
    if not policy.can_follow(actor, run):
        raise ServiceError(_l("Not found"), 404)
    taken = db.session.execute(
        sa.update(JobRun)
        .where(JobRun.id == run.id, JobRun.outcome == JobOutcome.QUEUED)
        .values(outcome=JobOutcome.FAILED, finished_at=utcnow(), message=_("Cancelled."))
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        raise ServiceError(_l("This work has already started: it can no longer be cancelled."), 409)
    db.session.refresh(run)
