"""Report tables, and their Excel and CSV renderings.

Cells are written as values, never formulas: text that a spreadsheet would read as a formula
(starting with =, +, -, @, tab or carriage return) gets a leading apostrophe, so a donor named
"=HYPERLINK(...)" stays text on every office computer that opens the file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.reports.figures import HOUSEHOLD_COUNTS
from marketplace.reports.services import MonthReport, Row

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHARES: tuple[str, ...] = ("income_share_count", "income_share_value")
MONEY: tuple[str, ...] = ("value_pledged", "value_delivered")
SHARES = (*SHARES, "follow_up_completion", "effective_share_6", "effective_share_12")
MONEY = (*MONEY, "income_follow_ups", "income_produce", "income_added")

COLUMN_LABELS: dict[str, LazyString] = {
    "posted": _l("Needs posted"),
    "verified": _l("Needs verified"),
    "matched": _l("Matches approved"),
    "fulfilled": _l("Confirmed with household"),
    "value_pledged": _l("Value pledged (yuan)"),
    "value_delivered": _l("Value delivered (yuan)"),
    "median_days_to_approval": _l("Median days from posting to approval"),
    "median_days_to_delivery": _l("Median days from posting to delivery"),
    "unmet": _l("Unmet needs at month end"),
    "aided_repeatedly": _l("Households aided more than once"),
    "income_share_count": _l("Income-building share (matches)"),
    "income_share_value": _l("Income-building share (value)"),
    # Follow-ups of results (跟踪问效): marketplace.followups.
    "follow_ups_due": _l("Follow-ups due"),
    "follow_ups_done": _l("Follow-ups recorded (of those due)"),
    "follow_up_completion": _l("Follow-up completion rate"),
    "checked_6": _l("Checks at 6 months"),
    "effective_6": _l("Still working at 6 months"),
    "effective_share_6": _l("Share still effective at 6 months"),
    "checked_12": _l("Checks at 12 months"),
    "effective_12": _l("Still working at 12 months"),
    "effective_share_12": _l("Share still effective at 12 months"),
    "income_follow_ups": _l("Income from follow-ups (yuan)"),
    "income_produce": _l("Income from produce sold (yuan)"),
    "income_added": _l("Income added to registered households (yuan)"),
    # Households (marketplace.plans): per household, in a table of their own by region.
    "guarantees_met": _l("Households with every guarantee met"),
    "guarantees_unmet": _l("Households with a guarantee not met"),
    "unmet_food": _l("Food not assured"),
    "unmet_clothing": _l("Clothing not assured"),
    "unmet_education": _l("Compulsory education not guaranteed"),
    "unmet_medical": _l("Basic medical care not guaranteed"),
    "unmet_housing": _l("Safe housing not guaranteed"),
    "unmet_water": _l("Safe drinking water not guaranteed"),
    "exited": _l("Households out of poverty by assessment"),
    "at_risk": _l("Households at risk of falling back"),
    "monitored": _l("Households monitored"),
}
HOUSEHOLD_COLUMNS = list(HOUSEHOLD_COUNTS)
REGION_COLUMNS = [c for c in COLUMN_LABELS if c not in HOUSEHOLD_COLUMNS]
# The five routes (五个一批): what was asked and given along each.
ROUTE_COLUMNS = ["posted", "verified", "matched", "fulfilled", "unmet", "value_pledged",
                 "value_delivered"]  # fmt: skip
# ... and whether it lasted (follow-ups of results), and the income it added.
ROUTE_COLUMNS += ["follow_ups_due", "follow_up_completion", "effective_share_6",
                  "effective_share_12", "income_added"]  # fmt: skip
# Repeated aid is counted per household, not per category or donor.
CATEGORY_COLUMNS = [c for c in REGION_COLUMNS if c != "aided_repeatedly"]
ORGANIZATION_COLUMNS = [
    "matched", "fulfilled", "value_pledged", "value_delivered", "median_days_to_approval",
    "median_days_to_delivery", "income_share_count", "income_share_value",
]  # fmt: skip
ORGANIZATION_COLUMNS += ["follow_ups_due", "follow_ups_done", "follow_up_completion",
                         "effective_share_6", "effective_share_12",
                         "income_follow_ups", "income_produce", "income_added"]  # fmt: skip


@dataclass
class Table:
    name: str  # stable, used in URLs: summary, regions, categories, organizations, ...
    title: str
    key_header: str
    label_header: str
    rows: list[Row]
    columns: list[str]
    _headers: list[str] | None = field(default=None, repr=False, compare=False)

    def headers(self) -> list[str]:
        """Translated once per table (the page asks for them column by column)."""
        if self._headers is None:
            labels = (str(COLUMN_LABELS[c]) for c in self.columns)
            self._headers = [self.key_header, self.label_header, *labels]
        return self._headers


def report_tables(report: MonthReport) -> list[Table]:
    summary = Row(report.region.code, report.region.name, report.summary, report.region)
    return [
        Table("summary", _("Summary"), _("Region code"), _("Region"), [summary],
              REGION_COLUMNS + HOUSEHOLD_COLUMNS),
        Table("regions", _("By region"), _("Region code"), _("Region"), report.regions,
              REGION_COLUMNS),
        Table("categories", _("By category"), _("Category code"), _("Category"),
              report.categories, CATEGORY_COLUMNS),
        Table("organizations", _("By donor"), _("Organization number"), _("Donor"),
              report.organizations, ORGANIZATION_COLUMNS),
        Table("households", _("Households by region"), _("Region code"), _("Region"),
              report.regions, HOUSEHOLD_COLUMNS),
        Table("routes", _("By route (five routes)"), _("Route code"), _("Route"), report.routes,
              ROUTE_COLUMNS),
    ]  # fmt: skip


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_xlsx(tables: list[Table], title: str) -> bytes:
    # openpyxl (and NumPy through it) only when a workbook is written, not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="9C1C1C")
    for table in tables:
        sheet = workbook.create_sheet(table.title[:31])
        sheet.append([neutralise(h) for h in table.headers()])
        for cell in sheet[1]:
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for row in table.rows:
            sheet.append(
                [row.key, neutralise(row.label), *(row.figures.get(c) for c in table.columns)]
            )
            cells = sheet[sheet.max_row]
            # Codes are identifiers: text, so that Excel keeps every digit.
            cells[0].data_type = "s"
            cells[0].number_format = "@"
            for cell, column in zip(cells[2:], table.columns, strict=True):
                if column in SHARES:
                    cell.number_format = "0.0%"
                elif column in MONEY:
                    cell.number_format = "#,##0.00"
        sheet.freeze_panes = "A2"
        sheet.row_dimensions[1].height = 36
        for index, width in enumerate([16, 24] + [14] * len(table.columns), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
    workbook.properties.title = title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in table.headers()])
    for row in table.rows:
        values: list[Any] = [row.figures.get(c) for c in table.columns]
        writer.writerow([row.key, neutralise(row.label), *("" if v is None else v for v in values)])
    # A byte-order mark, so that Excel opens the Chinese text as UTF-8.
    return buffer.getvalue().encode("utf-8-sig")


def format_cell(value: Any, column: str) -> str:
    """A figure as the page shows it: shares in per cent, money with separators, — for none."""
    if value is None:
        return "—"
    if column in SHARES:
        return f"{value:.1%}"
    if column in MONEY:
        return f"{value:,.2f}"
    return f"{value:g}" if isinstance(value, float) else str(value)
