"""Report charts: horizontal bars whose labels each have a line of their own, laid out in per
cent of the width (nothing a phone's width can cut off), a long label shortened with its full
text kept in the tooltip; no script."""

from __future__ import annotations

from typing import Any

from marketplace.reports.charts import Series, bar_chart, income_chart, shorten, unmet_chart
from marketplace.reports.services import Row


def test_labels_fit_a_phone_and_keep_their_full_text(app: Any) -> None:
    long = "社会扶贫对接平台上一个非常非常长的类别名称用来测试截断效果"
    with app.test_request_context():
        svg = str(bar_chart("图", ["白银区", long], [Series("发布需求", [3, 5])]))
    assert "viewBox" not in svg and "<script" not in svg  # text at the page's own size
    assert shorten(long) in svg and shorten(long).endswith("…") and len(shorten(long)) <= 24
    assert f"<title>{long}: 5</title>" in svg  # the full label in the tooltip
    assert 'width="82.00%"' in svg  # the largest bar; its value beside it
    assert "白银区: 3" in svg and 'role="img"' in svg
    assert shorten("Consumption-based help") == "Consumption-based help"


def test_zero_rows_are_left_out_and_the_most_come_first(app: Any) -> None:
    rows = [
        Row("a", "教育", {"unmet": 2}),
        Row("b", "医疗", {"unmet": 0}),
        Row("c", "金融", {"unmet": 9}),
    ]
    with app.test_request_context():
        svg = str(unmet_chart(rows))
        empty = str(unmet_chart([Row("b", "医疗", {"unmet": 0})]))
    assert "医疗" not in svg and svg.index("金融") < svg.index("教育")
    assert "<svg" not in empty and "chart-empty" in empty


def test_income_share_splits_one_bar(app: Any) -> None:
    summary = {"value_income": 300.0, "value_handout": 100.0, "matched": 4}
    with app.test_request_context():
        svg = str(income_chart(summary))
    assert 'width="75.00%"' in svg and 'x="75.00%"' in svg and "(75%)" in svg


def test_a_region_with_nothing_is_named_under_the_chart_not_drawn(app: Any) -> None:
    with app.test_request_context():
        html = str(
            bar_chart(
                "各地区进展",
                ["北湾镇", "大芦镇", "平堡镇"],
                [Series("发布需求", [3, 0, 0]), Series("成功对接", [1, 0, 0])],
            )
        )
    drawing, note = html.split("</svg>")
    assert "北湾镇" in drawing and "大芦镇" not in drawing
    assert "暂无数据：大芦镇、平堡镇" in note
