"""Report charts drawn on the server as inline SVG: no script, no external asset, no library.

Every chart is horizontal bars, each row's label on its own line above its bars: a label never
competes with its neighbours for room, so nothing is cut off on a 390 px phone, and the same
chart reads at a desk. The bars are laid out in percentages of the chart's width and the text in
the page's own font and size (no viewBox that a phone would shrink by half); a label too long for
a phone's width is shortened with an ellipsis, the full text in its tooltip (<title>) and in the
tables below the charts. The legend is HTML above the drawing, so it wraps like any text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from marketplace.reports.services import MonthReport, Row

COLORS = ("#9c1c1c", "#d9822b", "#2b7a78", "#3f51b5", "#6d6875")
BAR_SHARE = 82.0  # per cent of the width the longest bar takes; the rest holds its value
LABEL = 22  # px: a row's label line
BAR = 14  # px: one bar
GAP = 4  # px: between the bars of a row
ROW_GAP = 12  # px: between rows
LABEL_ROOM = 24.0  # a 390 px phone holds about 24 Chinese characters of 14 px on a line


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float]


def _width(text: str) -> float:
    """Width in Chinese characters: a wide character counts one, any other about a half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55 for c in text)


def shorten(text: str, room: float = LABEL_ROOM) -> str:
    """The text as it fits in ``room`` Chinese characters, an ellipsis where it was cut."""
    if _width(text) <= room:
        return text
    kept, used = [], 1.0  # the ellipsis
    for c in text:
        used += _width(c)
        if used > room:
            break
        kept.append(c)
    return "".join(kept).rstrip() + "…"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def _svg(height: int, summary: str, shapes: list[str]) -> str:
    """The drawing, read out by screen readers as one text: the figures it shows."""
    return (
        f'<svg class="chart-bars" width="100%" height="{height}" role="img" '
        f'aria-label="{escape(summary)}" xmlns="http://www.w3.org/2000/svg">{"".join(shapes)}</svg>'
    )


def _figure(
    title: str, body: str, legend: Sequence[tuple[str, str]] = (), note: str = ""
) -> Markup:
    """The chart as a figure: its title, the legend as a list, the drawing, a note under it."""
    items = "".join(
        f'<li><span class="chart-swatch" style="background:{color}" aria-hidden="true"></span>'
        f"{escape(text)}</li>"
        for color, text in legend
    )
    legend_html = f'<ul class="chart-legend" aria-hidden="true">{items}</ul>' if legend else ""
    return Markup(
        f'<figure class="chart"><figcaption class="chart-title">{escape(title)}</figcaption>'
        f"{legend_html}{body}{note}</figure>"
    )


def _none_for(labels: Sequence[str]) -> str:
    """The rows with nothing to draw, named in one line under the chart."""
    if not labels:
        return ""
    joiner = "、" if str(get_locale() or "zh").startswith("zh") else ", "
    colon = "：" if joiner == "、" else ": "
    return (
        f'<p class="chart-empty small mt-2 mb-0">{escape(_("No data"))}{colon}'
        f"{escape(joiner.join(labels))}</p>"
    )


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Markup:
    """Rows of horizontal bars: a label, then one bar per series with its value at its end. A
    row whose every value is nought gets no bars: its label is named under the chart."""
    drawn = [i for i in range(len(labels)) if any(s.values[i] for s in series)]
    left_out = [labels[i] for i in range(len(labels)) if i not in drawn]
    labels = [labels[i] for i in drawn]
    series = [Series(s.label, [s.values[i] for i in drawn]) for s in series]
    largest = max((v for s in series for v in s.values), default=0) or 0
    if not labels or largest <= 0:
        return _figure(title, f'<p class="chart-empty">{escape(_("No data"))}</p>')
    per_row = LABEL + len(series) * (BAR + GAP) - GAP + ROW_GAP
    parts: list[str] = []
    spoken: list[str] = []
    for i, label in enumerate(labels):
        top = i * per_row
        values = [s.values[i] or 0 for s in series]
        said = ", ".join(
            f"{s.label} {_number(v)}" if len(series) > 1 else _number(v)
            for s, v in zip(series, values, strict=True)
        )
        spoken.append(f"{label}: {said}")
        parts.append(f"<g><title>{escape(label)}: {escape(said)}</title>")
        parts.append(
            f'<text class="chart-label" x="0" y="{top + LABEL - 6}">{escape(shorten(label))}</text>'
        )
        for j, value in enumerate(values):
            y = top + LABEL + j * (BAR + GAP)
            share = BAR_SHARE * value / largest
            if value > 0:  # a value too small to see still shows a sliver
                parts.append(
                    f'<rect x="0" y="{y}" width="{max(share, 0.4):.2f}%" height="{BAR}" '
                    f'fill="{COLORS[j % len(COLORS)]}"/>'
                )
            parts.append(
                f'<text class="chart-value" x="{share + 1:.2f}%" y="{y + BAR - 2}">'
                f"{_number(value)}</text>"
            )
        parts.append("</g>")
    height = len(labels) * per_row - ROW_GAP
    body = _svg(height, f"{title}. " + "; ".join(spoken), parts)
    legend = (
        [(COLORS[j % len(COLORS)], s.label) for j, s in enumerate(series)]
        if len(series) > 1
        else []
    )
    return _figure(title, body, legend, _none_for(left_out))


def share_chart(title: str, parts: Sequence[tuple[str, float]]) -> Markup:
    """One bar split into the shares of a whole, each share named with its value and per cent
    in the legend."""
    total = sum(v for _label, v in parts)
    if total <= 0:
        return _figure(title, f'<p class="chart-empty">{escape(_("No data"))}</p>')
    shapes, legend, spoken, left = [], [], [], 0.0
    for j, (label, value) in enumerate(parts):
        share = 100.0 * value / total
        color = COLORS[j % len(COLORS)]
        if share > 0:
            shapes.append(
                f'<rect x="{left:.2f}%" y="0" width="{share:.2f}%" height="28" fill="{color}">'
                f"<title>{escape(label)}: {_number(value)} ({share:.0f}%)</title></rect>"
            )
        left += share
        legend.append((color, f"{label}: {_number(value)} ({share:.0f}%)"))
        spoken.append(f"{label} {_number(value)} ({share:.0f}%)")
    return _figure(title, _svg(28, f"{title}. " + "; ".join(spoken), shapes), legend)


def _figures(rows: list[Row], key: str) -> list[float]:
    return [float(row.figures.get(key) or 0) for row in rows]  # a frozen month may lack one


def progress_chart(rows: list[Row], title: str) -> Markup:
    """Needs posted, matches approved and confirmations per region (or category)."""
    return bar_chart(
        title,
        [row.label for row in rows],
        [
            Series(_("Needs posted"), _figures(rows, "posted")),
            Series(_("Matches approved"), _figures(rows, "matched")),
            Series(_("Confirmed with household"), _figures(rows, "fulfilled")),
        ],
    )


def unmet_chart(rows: list[Row]) -> Markup:
    """Unmet needs by category, the most first; a category with none is left out."""
    shown = sorted(
        (row for row in rows if row.figures.get("unmet")),
        key=lambda row: -float(row.figures.get("unmet") or 0),
    )
    return bar_chart(
        _("Unmet needs by category"),
        [row.label for row in shown],
        [Series(_("Unmet needs at month end"), _figures(shown, "unmet"))],
    )


def income_chart(summary: dict[str, Any]) -> Markup:
    """Help that builds income against handouts, by value (by number when nothing has a value)."""
    value_income = summary.get("value_income") or 0
    value_handout = summary.get("value_handout") or 0
    by_value = value_income + value_handout > 0
    share = summary.get("income_share_count") or 0
    matched = summary.get("matched") or 0
    income, handout = (
        (value_income, value_handout) if by_value else (matched * share, matched * (1 - share))
    )
    title = _("Income-building help against handouts") + (
        _(" (by value)") if by_value else _(" (by number of matches)")
    )
    return share_chart(
        title,
        [
            (_("Builds income (industry, jobs, produce)"), round(float(income), 2)),
            (_("Handouts (goods, money, services)"), round(float(handout), 2)),
        ],
    )


def report_charts(report: MonthReport) -> dict[str, Markup]:
    rows = report.regions or report.categories
    title = _("Progress by region") if report.regions else _("Progress by category")
    return {
        "progress": progress_chart(rows, title),
        "unmet": unmet_chart(report.categories),
        "income": income_chart(report.summary),
    }
