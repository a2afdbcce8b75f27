"""Monthly progress reports: the page with charts, Excel and CSV downloads, freezing a month."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.permissions import roles
from marketplace.regions.services import works_in_background
from marketplace.reports import policy, services
from marketplace.reports.charts import report_charts
from marketplace.reports.exports import format_cell, report_tables, to_csv, to_xlsx
from marketplace.roles import Role
from marketplace.signals import start_work

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.add_app_template_filter(format_cell, "report_cell")


def _requested_report() -> services.MonthReport:
    first = services.month_or_error(request.values.get("month"))
    region = services.region_for(current_user, request.values.get("region"))
    return services.month_report(region, first)


def _download(body: bytes, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


# A table's rows drawn on the page; the rest are in its CSV and the workbook. A city's donors
# run to a thousand rows at 1M households: 16,000 cells, 150 ms to draw and a long scroll on a
# phone (issue 17). Donors come by value pledged, so the page shows the largest. The places
# are drawn whole: they are the links down to their own reports.
ROWS_ON_PAGE = 50


@bp.route("/")
@roles(*Role.REGION_READERS)
def month() -> Any:
    report = _requested_report()
    trail = [r for r in report.trail if policy.can_read(current_user, r)]
    tables = report_tables(report)
    shown = {t.name: len(t.rows) if t.name == "regions" else ROWS_ON_PAGE for t in tables}
    return render_template(
        "reports/month.html", report=report, trail=trail, charts=report_charts(report),
        tables=tables, shown=shown, may=policy.actions(current_user, report),
        export_in_background=works_in_background(report.region),
    )  # fmt: skip


@bp.route("/export.xlsx")
@roles(*Role.REGION_READERS)
def export_xlsx() -> Any:
    first = services.month_or_error(request.values.get("month"))
    region = services.region_for(current_user, request.values.get("region"))
    if works_in_background(region):
        # A link that a browser prefetches or a user reloads must not queue work: the page's
        # button posts to start_export.
        flash(_("A report over this region is exported in the background: press "
                "“Download Excel” on the report."), "info")  # fmt: skip
        return redirect(url_for(".month", month=first.strftime("%Y-%m"), region=region.code))
    report = services.month_report(region, first)
    services.record_export(current_user, report, "xlsx")
    title = _("Monthly report %(month)s %(region)s", month=report.month, region=report.region.name)
    body = to_xlsx(report_tables(report), title)
    return _download(
        body, f"report-{report.month}-{report.region.code}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )  # fmt: skip


@bp.route("/export.xlsx", methods=["POST"])
@roles(*Role.REGION_READERS)
def start_export() -> Any:
    """A city's or a province's workbook, written in the background; its page offers the file
    when done. A smaller region's is the download itself."""
    first = services.month_or_error(request.form.get("month"))
    region = services.region_for(current_user, request.form.get("region"))
    if not works_in_background(region):
        return redirect(url_for(".export_xlsx", month=first.strftime("%Y-%m"), region=region.code))
    run_id = start_work(
        "report_export", current_user, subject=f"report:{region.code}",
        month=first.strftime("%Y-%m"), region=region.code, locale=str(get_locale()),
    )  # fmt: skip
    return redirect(url_for("work.run", run_id=run_id))


@bp.route("/export.csv")
@roles(*Role.REGION_READERS)
def export_csv() -> Any:
    report = _requested_report()
    tables = {t.name: t for t in report_tables(report)}
    table = tables.get(request.args.get("table") or "regions")
    if table is None:
        abort(404)
    services.record_export(current_user, report, "csv", table.name)
    return _download(
        to_csv(table), f"report-{report.month}-{report.region.code}-{table.name}.csv",
        "text/csv; charset=utf-8",
    )  # fmt: skip


@bp.route("/freeze", methods=["POST"])
@roles(*Role.ADMINS)
def freeze() -> Any:
    first = services.month_or_error(request.form.get("month"))
    region = services.region_for(current_user, request.form.get("region"))
    services.take_snapshot(current_user, region, first)
    flash(_("The figures of %(month)s are frozen.", month=first.strftime("%Y-%m")), "success")
    return redirect(url_for(".month", month=first.strftime("%Y-%m"), region=region.code))
