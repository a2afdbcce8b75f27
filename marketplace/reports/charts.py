"""Report charts rendered on the server as inline SVG: no script, no external asset."""

from __future__ import annotations

import re
import sys
from typing import Any

import pygal
from flask_babel import gettext as _
from pygal.style import Style

from marketplace.reports.services import MonthReport, Row

# pygal puts a legacy import hook (for its pygal.maps plugins, unused here) on sys.meta_path,
# and Python warns about it at every later import of a new module: take it off.
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

# Fonts that carry Chinese on Windows, macOS, Linux and phones, then any sans-serif.
CJK_FONTS = (
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', "
    "'WenQuanYi Micro Hei', sans-serif"
)
STYLE = Style(
    font_family=CJK_FONTS,
    background="transparent",
    plot_background="#ffffff",
    colors=("#9c1c1c", "#d9822b", "#2b7a78", "#3f51b5", "#6d6875"),
    # Large enough to stay readable when a phone shrinks the 720-unit-wide chart by half.
    label_font_size=16,
    major_label_font_size=16,
    legend_font_size=18,
    title_font_size=20,
    value_font_size=14,
    tooltip_font_size=16,
)
SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def _render(chart: Any) -> str:
    # pygal adds a configuration <script> even with js=[]; the page needs none of it.
    return SCRIPT.sub("", chart.render(is_unicode=True))


def _options(title: str, height: int = 360) -> dict[str, Any]:
    return {
        "title": title, "style": STYLE, "js": [], "disable_xml_declaration": True,
        "height": height, "width": 720, "truncate_label": -1, "truncate_legend": -1,
        "legend_at_bottom": True, "print_zeroes": False, "no_data_text": _("No data"),
    }  # fmt: skip


def progress_chart(rows: list[Row], title: str) -> str:
    """Needs posted, matches approved and confirmations per region (or category)."""
    chart = pygal.Bar(x_label_rotation=30 if len(rows) > 4 else 0, **_options(title))
    chart.x_labels = [row.label for row in rows]
    for key, label in (
        ("posted", _("Needs posted")),
        ("matched", _("Matches approved")),
        ("fulfilled", _("Confirmed with household")),
    ):
        chart.add(label, [row.figures[key] for row in rows])
    return _render(chart)


def unmet_chart(rows: list[Row]) -> str:
    chart = pygal.HorizontalBar(show_legend=False, **_options(_("Unmet needs by category"), 400))
    shown = [row for row in rows if row.figures["unmet"]]
    chart.x_labels = [row.label for row in shown]
    chart.add(_("Unmet needs at month end"), [row.figures["unmet"] for row in shown])
    return _render(chart)


def income_chart(summary: dict[str, Any]) -> str:
    """Help that builds income against handouts, by value (by number when nothing has a value)."""
    by_value = summary["value_income"] + summary["value_handout"] > 0
    income, handout = (
        (summary["value_income"], summary["value_handout"])
        if by_value
        else (summary["matched"] * (summary["income_share_count"] or 0),
              summary["matched"] * (1 - (summary["income_share_count"] or 0)))
    )  # fmt: skip
    title = _("Income-building help against handouts") + (
        _(" (by value)") if by_value else _(" (by number of matches)")
    )
    chart = pygal.Pie(inner_radius=0.45, **_options(title, 320))
    if income or handout:
        chart.add(_("Builds income (industry, jobs, produce)"), round(income, 2))
        chart.add(_("Handouts (goods, money, services)"), round(handout, 2))
    return _render(chart)


def report_charts(report: MonthReport) -> dict[str, str]:
    rows = report.regions or report.categories
    title = _("Progress by region") if report.regions else _("Progress by category")
    return {
        "progress": progress_chart(rows, title),
        "unmet": unmet_chart(report.categories),
        "income": income_chart(report.summary),
    }
