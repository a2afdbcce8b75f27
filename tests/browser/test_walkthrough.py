"""A real browser (Debian's Chromium, driven by Playwright) walks the demo: a need goes from
posting to confirmation with the household, each role on its own pages, CSRF and all.

The site and the browser are fixtures of tests/browser/conftest.py (skipped where Chromium or
Playwright is missing).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from marketplace.timefmt import beijing_today
from tests.browser.conftest import as_user

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_need_to_confirmation_through_the_pages(server: str, browser: Any) -> None:
    staff = as_user(browser, server, "jingyuan_staff")
    staff.goto(f"{server}/needs/new")
    staff.select_option("[name=household]", "0")
    staff.select_option("[name=subcategory]", "necessities.appliance")
    staff.fill("[name=title]", "村委会活动室需要一台冰箱")
    staff.fill("[name=quantity]", "1")
    staff.fill("[name=unit]", "台")
    staff.click("main [type=submit]")
    staff.wait_for_url(re.compile(r".*/needs/\d+$"))
    need_url = staff.url
    assert "待审核" in staff.content()

    admin = as_user(browser, server, "jingyuan_admin")
    admin.goto(need_url)
    admin.click("main button:has-text('审核通过')")
    admin.wait_for_load_state()
    assert "已审核，待对接" in admin.content()

    donor = as_user(browser, server, "appliance")
    donor.goto(need_url)
    options = donor.eval_on_selector_all(
        "[name=resource] option", "els => els.map(e => [e.value, e.textContent])"
    )
    discount = next(value for value, text in options if "500元" in text)
    donor.select_option("[name=resource]", discount)
    donor.fill("[name=quantity]", "1")
    donor.click("main [type=submit][value='认领']")
    donor.wait_for_url(re.compile(r".*/matches/\d+$"))
    match_url = donor.url
    assert "已认领，待审批" in donor.content()

    approver = as_user(browser, server, "city_admin")
    approver.goto(match_url)
    approver.click("main button:has-text('审批通过')")
    approver.wait_for_load_state()
    assert "已审批" in approver.content()

    donor.goto(match_url)
    donor.fill("[name=note]", "已送到村委会")
    donor.click("main [type=submit][value='标记为已交付']")
    donor.wait_for_load_state()
    assert "已交付" in donor.content()

    staff.goto(match_url)
    staff.fill("[name=received_on]", beijing_today().isoformat())  # the site's day
    staff.fill("[name=feedback]", "冰箱已收到，谢谢")
    staff.click("main [type=submit][value='确认收到']")
    staff.wait_for_load_state()
    assert "农户已确认" in staff.content()
    assert "冰箱已收到，谢谢" in staff.content()

    # The approved match is disclosed to the public, the village need marked as such.
    public = browser.new_page()
    public.goto(f"{server}/disclosure")
    row = public.locator("tr", has_text="（全村）").first
    assert "白银爱心家电" in row.inner_text()


def test_monthly_report_and_import_on_a_phone(server: str, browser: Any, tmp_path: Any) -> None:
    """A county administrator reads this month's report with its charts and downloads Excel;
    village staff download the import template and upload it back, filled with one bad row."""
    admin = as_user(browser, server, "jingyuan_admin")
    admin.goto(f"{server}/reports/")
    assert admin.locator(".report-charts svg").count() == 3
    assert "靖远县" in admin.content()
    # Every chart label and value is drawn whole inside its chart, at the page's text size.
    cut = admin.evaluate(
        """() => [...document.querySelectorAll('.report-charts svg text')].flatMap(t => {
             const box = t.getBoundingClientRect();
             const frame = t.ownerSVGElement.getBoundingClientRect();
             const size = parseFloat(getComputedStyle(t).fontSize);
             return box.left < frame.left - 0.5 || box.right > frame.right + 0.5 || size < 12
               ? [t.textContent] : [];
           })"""
    )
    assert cut == []
    assert admin.locator(".report-charts svg text").count() > 10
    # Tables scroll sideways inside their box instead of widening the page.
    assert admin.evaluate("document.documentElement.scrollWidth") <= 390
    with admin.expect_download() as excel:
        admin.click("text=下载 Excel")
    assert excel.value.suggested_filename.endswith(".xlsx")

    staff = as_user(browser, server, "jingyuan_staff")
    staff.goto(f"{server}/households/import")
    with staff.expect_download() as template:
        staff.click("text=下载 Excel 模板")
    path = tmp_path / "register.xlsx"
    template.value.save_as(path)
    from openpyxl import load_workbook

    book = load_workbook(path)
    village = book["选项"]["A2"].value
    book["贫困户"].append(["BAD001", village, "测试户", "123", "", 2, "因病"])
    book.save(path)
    staff.set_input_files("input[name=file]", str(path))
    staff.click("main [type=submit]")
    staff.wait_for_load_state()
    assert "导入预览" in staff.content() and "BAD001" in staff.content()
    assert "身份证" in staff.locator("table").inner_text()
