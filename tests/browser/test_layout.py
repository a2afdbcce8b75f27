"""Every page type of each role, as a phone (390 px) and a desk (1366 px) show it.

On the phone: the document is never wider than the screen, no table cell holding text is
narrower than 40 px (lists turn into cards, wide figures scroll inside their own region), and
axe-core (tests/browser/vendor, every rule it runs by default) finds nothing of any impact.
At the desk: the menu is one line inside the window on every page (no entry broken over two
lines either; in English too), the page no wider than the window, and axe finds nothing on
each role's first page (the menu as a desk shows it). On the phone the menu opens from its
button and marks the current section.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESK, PHONE, Site, as_user, ids_in_demo

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")

# The pages of each role; {name} is filled from the demo database (ids_in_demo below).
PAGES: dict[str | None, list[str]] = {
    None: [
        "/",
        "/resources/",
        "/resources/{resource}",
        "/needs/{need}",
        "/disclosure",
        "/disclosure/{approved}/objection",
        "/search?q=轮椅",
        "/login",
        "/login/forgot",
        "/register",
    ],
    "appliance": [
        "/dashboard",
        "/needs/browse",
        "/needs/{need}",
        "/resources/?mine=1",
        "/resources/new",
        "/resources/{own_resource}",
        "/resources/{own_resource}/edit",
        "/matches/",
        "/matches/{donor_match}",
        "/account/organization",
        "/account/password",
        "/account/tokens",
        "/notifications/",
    ],
    "jingyuan_staff": [
        "/dashboard",
        "/households/",
        "/households/new",
        "/households/{household}",
        "/households/{household}/edit",
        "/households/import",
        "/needs/",
        "/needs/new",
        "/needs/{need}",
        "/needs/{staff_need}/edit",
        "/matches/",
        "/matches/{staff_match}",
        "/reports/",
        "/notifications/",
        "/work/{import_run}",
    ],
    "city_admin": [
        "/dashboard",
        "/needs/",
        "/needs/review",
        "/matches/",
        "/matches/approvals",
        "/matches/disputes",
        "/matches/{staff_match}",
        "/resources/{allocatable}/allocate",
        "/admin/organizations?status=all",
        "/admin/users",
        "/admin/users/new",
        "/admin/users/{staff_user}/villages",
        "/reports/",
        "/oversight/audit",
        "/oversight/spot-checks",
        "/households/",
    ],
    "auditor": [
        "/dashboard",
        "/households/",
        "/oversight/audit",
        "/oversight/spot-checks",
        "/oversight/spot-checks/new",
        "/oversight/spot-checks/{spot_check}",
        "/reports/",
    ],
}
SIGNED_IN = [role for role in PAGES if role is not None]


@pytest.fixture(scope="module")
def ids(site: Site, browser: Any) -> dict[str, int]:
    """The demo's records each page needs, and one spot check drawn by the auditor."""
    auditor = as_user(browser, site.url, "auditor", DESK)
    auditor.goto(f"{site.url}/oversight/spot-checks/new")
    year = date.today().year
    auditor.fill("[name=period_start]", f"{year - 1}-01-01")
    auditor.fill("[name=period_end]", f"{year}-12-31")
    auditor.fill("[name=sample_size]", "2")
    auditor.click("main [type=submit]")
    auditor.wait_for_url("**/spot-checks/*")
    spot_check = int(auditor.url.rstrip("/").rsplit("/", 1)[1])
    auditor.context.close()
    return {**ids_in_demo(site), "spot_check": spot_check}


# What the page measures of itself: its width, the table cells holding text that are too
# narrow, and the menu's lines.
MEASURE = """() => {
  const narrow = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const box = cell.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    if (cell.innerText.trim() && box.width < 40)
      narrow.push(cell.innerText.trim().slice(0, 30) + ' (' + Math.round(box.width) + ' px)');
  }
  // The menu's lines: its entries side by side, none of them broken over two lines.
  const middles = [];
  let wrapped = 0, right = 0;
  for (const item of document.querySelectorAll('#mainnav > ul > li, #mainnav > form')) {
    const box = item.getBoundingClientRect();
    if (!box.height) continue;
    middles.push(box.top + box.height / 2);
    right = Math.max(right, box.right);
    const control = item.querySelector('a, button, input') || item;
    const style = getComputedStyle(control);
    const inner = control.getBoundingClientRect().height
      - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    if (inner > 1.5 * parseFloat(style.lineHeight)) wrapped += 1;
  }
  middles.sort((a, b) => a - b);
  const rows = middles.filter((m, i) => i === 0 || m - middles[i - 1] > 20).length;
  return {width: document.documentElement.scrollWidth, viewport: window.innerWidth,
          narrow: narrow, menuLines: rows + wrapped, menuRight: Math.ceil(right)};
}"""


def axe_violations(page: Any) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)  # through DevTools: the site's CSP rightly refuses inline scripts
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [json.dumps(v, ensure_ascii=False) for v in found]


def visit(page: Any, url: str) -> None:
    answer = page.goto(url)
    assert answer is not None and answer.status == 200, f"{url}: {answer and answer.status}"
    page.wait_for_load_state("load")


@pytest.mark.parametrize("role", list(PAGES), ids=lambda r: r or "public")
def test_every_page_on_a_phone(site: Site, browser: Any, ids: dict[str, int], role: str) -> None:
    page = as_user(browser, site.url, role, PHONE)
    problems: list[str] = []
    for path in PAGES[role]:
        url = site.url + path.format(**ids)
        visit(page, url)
        seen = page.evaluate(MEASURE)
        if seen["width"] > seen["viewport"]:
            problems.append(f"{path}: the document is {seen['width']} px wide on a 390 px phone")
        problems += [f"{path}: a table cell is too narrow: {cell}" for cell in seen["narrow"]]
        problems += [f"{path}: axe: {v}" for v in axe_violations(page)]
    page.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", list(PAGES), ids=lambda r: r or "public")
def test_every_page_at_a_desk(site: Site, browser: Any, ids: dict[str, int], role: str) -> None:
    page = as_user(browser, site.url, role, DESK)
    problems: list[str] = []
    for path in PAGES[role]:
        visit(page, site.url + path.format(**ids))
        seen = page.evaluate(MEASURE)
        if seen["menuLines"] != 1:
            problems.append(f"{path}: the menu takes {seen['menuLines']} lines at 1366 px")
        if seen["width"] > seen["viewport"]:
            problems.append(f"{path}: the document is {seen['width']} px wide at 1366 px")
        if seen["menuRight"] > seen["viewport"]:
            problems.append(f"{path}: the menu ends at {seen['menuRight']} px, past the window")
        if path == PAGES[role][0]:  # the menu and the layout of a desk, once a role
            problems += [f"{path}: axe: {v}" for v in axe_violations(page)]
    # English labels are longer: the menu still fits on one line.
    page.goto(f"{site.url}/lang/en")
    for path in PAGES[role][:2]:
        visit(page, site.url + path.format(**ids))
        seen = page.evaluate(MEASURE)
        if seen["menuLines"] != 1 or seen["menuRight"] > seen["viewport"]:
            problems.append(f"{path} in English: the menu is not one line inside the window")
    page.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", SIGNED_IN)
def test_the_phone_menu_opens_and_marks_the_section(site: Site, browser: Any, role: str) -> None:
    """On a phone the menu is one button; pressed, it shows the groups, the current one
    marked for screen readers too."""
    page = as_user(browser, site.url, role, PHONE)
    visit(page, site.url + "/dashboard")
    menu = page.locator("#mainnav")
    assert not menu.is_visible()
    page.click("button.navbar-toggler")
    page.wait_for_selector("#mainnav.show")  # the collapse has finished opening
    assert page.locator("#mainnav [aria-current]").count() >= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_violations(page) == []  # the open menu too
    page.context.close()


def test_the_keyboard_skips_to_the_content_with_focus_shown(site: Site, browser: Any) -> None:
    """The first Tab shows the skip link; Enter moves the focus into the page's content.
    Wherever the focus is, it is drawn: a 3 px ring."""
    page = as_user(browser, site.url, None, PHONE)
    visit(page, site.url + "/disclosure")
    page.keyboard.press("Tab")
    skip = page.evaluate(
        "(() => { const e = document.activeElement, b = e.getBoundingClientRect();"
        " return {href: e.getAttribute('href'), width: b.width,"
        " outline: getComputedStyle(e).outlineWidth}; })()"
    )
    assert skip["href"] == "#main" and skip["width"] > 0 and skip["outline"] == "3px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the first control of the content
    focused = page.evaluate(
        "(() => { const e = document.activeElement;"
        " return {inMain: !!e.closest('main'), outline: getComputedStyle(e).outlineWidth}; })()"
    )
    assert focused == {"inMain": True, "outline": "3px"}
    page.context.close()
