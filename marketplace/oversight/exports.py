"""The filtered audit trail as an Excel workbook or a CSV file.

Written as the monthly reports' exports are (marketplace/reports/exports.py, a package above
this one, so the few lines are repeated here rather than imported): values, never formulas;
text a spreadsheet would read as a formula gets a leading apostrophe; CSV with a byte-order mark
so that Excel opens the Chinese as UTF-8. Times in Beijing time, and in UTC for machines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.oversight.trail import OBJECT_KINDS, Line, lines
from marketplace.timefmt import beijing_text, iso_utc

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 50_000  # a year of a county's events; narrow the filters for more
BATCH = 1000


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def told_events(reader: User, query: sa.Select[Any]) -> list[Line]:
    """The events of the query, told for the reader, in batches (each loads its objects)."""
    told: list[Line] = []
    for batch in _batches(query.limit(MAX_ROWS)):
        told.extend(lines(reader, batch))
    return told


def _batches(query: sa.Select[Any]) -> Iterator[list[AuditEvent]]:
    offset = 0
    while True:
        batch = list(db.session.scalars(query.offset(offset).limit(BATCH)))
        if not batch:
            return
        yield batch
        offset += len(batch)
        if len(batch) < BATCH:
            return


def headers() -> list[str]:
    return [
        _("No."), _("Time (Beijing)"), _("Time (UTC)"), _("Who"), _("User name"), _("Role"),
        _("Action"), _("What happened"), _("Object type"), _("Object"), _("Region"),
        _("Action code"), _("IP address"),
    ]  # fmt: skip


def row(line: Line) -> list[Any]:
    e = line.event
    kind = str(OBJECT_KINDS.get(e.object_type, e.object_type))
    return [
        e.id, beijing_text(e.created_at, "%Y-%m-%d %H:%M:%S"), iso_utc(e.created_at), line.who,
        line.username, line.role, line.label, line.text(), kind, line.what, line.region,
        e.action, e.ip,
    ]  # fmt: skip


def to_xlsx(told: list[Line]) -> bytes:
    # openpyxl (and NumPy through it): imported by the first export, not at start.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _("Audit trail")[:31]
    sheet.append([neutralise(h) for h in headers()])
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="9C1C1C")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for line in told:
        sheet.append([neutralise(v) if isinstance(v, str) else v for v in row(line)])
    sheet.freeze_panes = "A2"
    for index, width in enumerate([8, 20, 22, 14, 14, 12, 18, 60, 10, 30, 30, 24, 16], 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    workbook.properties.title = _("Audit trail")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(told: list[Line]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in headers()])
    for line in told:
        writer.writerow([neutralise(v) if isinstance(v, str) else v for v in row(line)])
    return buffer.getvalue().encode("utf-8-sig")
