"""Monthly progress reports: figures by region, category and donor, Beijing-time months,
snapshots that later corrections do not rewrite, charts, and Excel/CSV exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.matches.models import Match, MatchStatus
from marketplace.needs.models import NeedStatus
from marketplace.reports import services
from marketplace.reports.figures import compute_month, month_bounds, parse_month
from marketplace.reports.models import ReportSnapshot
from tests.conftest import BAIYIN, JINGYUAN, World

OCTOBER = date(2026, 10, 1)


def at(day: int, hour: int = 12, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def october(db: Any, world: World, region: Any, make_household: Any, make_need: Any,
            make_resource: Any, make_org: Any) -> World:  # fmt: skip
    """October 2026 in Jingyuan: three needs posted, two helped (one income-building)."""
    world.need.created_at = at(2)
    world.need.verified_at = at(3)
    lamb_need = make_need(world.other_village, make_household(world.other_village),
                          subcategory="industry.livestock", title="需要种羊", unit="只",
                          created_at=at(5), verified_at=at(6))  # fmt: skip
    late = make_need(world.village, world.household, subcategory="education.grant",
                     title="助学", created_at=at(31, 17))  # fmt: skip  # 11-01 01:00 in Beijing
    sheep_org = make_org(name='=HYPERLINK("http://evil")羊场')
    sheep = make_resource(sheep_org, [region(JINGYUAN)], title="种羊", unit="只",
                          categories=["industry.livestock"], unit_value=Decimal("800"))  # fmt: skip
    washer = Match(need=world.need, resource=world.resource, quantity=1,
                   status=MatchStatus.CONFIRMED, created_at=at(4), decided_at=at(8),
                   delivered_at=at(12), confirmed_at=at(14))  # fmt: skip
    lambs = Match(need=lamb_need, resource=sheep, quantity=2, status=MatchStatus.APPROVED,
                  created_at=at(7), decided_at=at(10))  # fmt: skip
    # A second aid to the same household, approved in September: it counts as repeated aid.
    earlier = make_need(world.village, world.household, subcategory="necessities.clothing",
                        title="冬衣", created_at=at(1, month=9),
                        status=NeedStatus.FULFILLED)  # fmt: skip
    old = Match(need=earlier, resource=world.resource, quantity=1, status=MatchStatus.CONFIRMED,
                created_at=at(2, month=9), decided_at=at(3, month=9))  # fmt: skip
    rejected = Match(need=lamb_need, resource=sheep, quantity=5, status=MatchStatus.REJECTED,
                     created_at=at(9), decided_at=at(9))  # fmt: skip
    db.session.add_all([washer, lambs, old, rejected])
    db.session.commit()
    world.late_need, world.sheep_org = late, sheep_org
    return world


def test_month_parsing_and_beijing_bounds() -> None:
    assert parse_month("2026-10") == OCTOBER and parse_month("2026-3") == date(2026, 3, 1)
    for bad in ("", "2026", "2026-13", "10-2026", "abcd-ef", "1999-01"):
        with pytest.raises(ValueError):
            parse_month(bad)
    start, end = month_bounds(OCTOBER)
    assert start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert end == datetime(2026, 10, 31, 16, tzinfo=UTC)


def test_figures_roll_up_from_village_to_city(october: World, region: Any) -> None:
    data = compute_month(region(BAIYIN), OCTOBER)["regions"]
    county = data[JINGYUAN]["all"]
    # The need posted on 31 October after 16:00 UTC belongs to November in Beijing.
    assert county["posted"] == 2 and county["verified"] == 2
    assert county["matched"] == 2 and county["fulfilled"] == 1
    assert county["value_pledged"] == 1200 + 1600  # the rejected pledge is not counted
    assert county["value_delivered"] == 1200
    assert county["median_days_to_approval"] == 5.5  # 6 days and 5 days
    assert county["median_days_to_delivery"] == 10.0
    assert county["income_share_count"] == 0.5
    assert county["income_share_value"] == round(1600 / 2800, 4)
    assert county["aided_repeatedly"] == 1
    assert data[BAIYIN]["all"]["matched"] == 2
    village = data[october.village.code]
    assert village["all"]["posted"] == 1 and village["all"]["aided_repeatedly"] == 1
    assert data[october.other_village.code]["all"]["aided_repeatedly"] == 0
    assert village["category"]["necessities"]["fulfilled"] == 1
    orgs = data[JINGYUAN]["organization"]
    assert orgs[str(october.sheep_org.id)]["value_pledged"] == 1600
    assert orgs[str(october.org.id)]["fulfilled"] == 1
    november = compute_month(region(BAIYIN), date(2026, 11, 1))["regions"][JINGYUAN]["all"]
    assert november["posted"] >= 1


def test_report_drills_down_and_stays_in_scope(october: World, region: Any) -> None:
    report = services.month_report(region(JINGYUAN), OCTOBER)
    assert report.summary["matched"] == 2
    township = next(r for r in report.regions if r.figures["posted"])
    assert october.village.path.startswith(township.region.path)
    assert {r.key for r in report.categories} >= {"industry", "necessities"}
    assert report.organizations[0].label.startswith("=HYPERLINK")
    with pytest.raises(ServiceError) as refused:
        services.region_for(october.huining_admin, JINGYUAN)
    assert refused.value.status == 404
    assert services.region_for(october.admin, None).code == JINGYUAN


def test_snapshot_keeps_the_month_when_data_change_later(october: World, region: Any,
                                                         db: Any) -> None:  # fmt: skip
    services.take_snapshot(october.admin, region(JINGYUAN), OCTOBER)
    db.session.commit()
    # A correction after the month closed: a match is cancelled.
    match = db.session.scalar(sa.select(Match).where(Match.status == MatchStatus.APPROVED))
    match.status = MatchStatus.CANCELLED
    db.session.commit()
    assert compute_month(region(JINGYUAN), OCTOBER)["regions"][JINGYUAN]["all"]["matched"] == 1
    report = services.month_report(region(JINGYUAN), OCTOBER)
    assert report.snapshot is not None and report.summary["matched"] == 2
    # A village below the frozen county reads the frozen figures too.
    assert services.month_report(october.village, OCTOBER).snapshot is not None
    with pytest.raises(ServiceError) as twice:
        services.take_snapshot(october.admin, region(JINGYUAN), OCTOBER)
    assert twice.value.status == 409
    with pytest.raises(ServiceError):
        services.take_snapshot(october.admin, region(JINGYUAN), date(2099, 1, 1))
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "report_snapshot_taken")) == 1  # fmt: skip


def test_snapshot_command(app: Any, october: World, db: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reports", "snapshot", "--month", "2026-10", "--region", BAIYIN])
    assert result.exit_code == 0, result.output
    assert "frozen" in result.output
    again = runner.invoke(args=["reports", "snapshot", "--month", "2026-10", "--region", BAIYIN])
    assert again.exit_code != 0
    replaced = runner.invoke(
        args=["reports", "snapshot", "--month", "2026-10", "--region", BAIYIN, "--replace"]
    )
    assert replaced.exit_code == 0, replaced.output
    bad = runner.invoke(args=["reports", "snapshot", "--month", "October"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
    assert db.session.scalar(sa.select(sa.func.count(ReportSnapshot.id))) == 1


def test_report_page_with_charts(client: Any, login: Any, october: World) -> None:
    login(october.admin)
    page = client.get("/reports/?month=2026-10")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "<script" not in html.split("<svg", 1)[1].split("</svg>")[0]
    assert "靖远县" in html and "=HYPERLINK" in html  # shown as text, escaped
    assert client.get("/reports/?month=2026-13").status_code == 400
    assert client.get("/reports/?month=2026-10&region=" + BAIYIN).status_code == 404
    assert client.get("/reports/?region=%00").status_code in (400, 404)


def test_donors_have_no_reports(client: Any, login: Any, october: World) -> None:
    login(october.donor)
    assert client.get("/reports/").status_code == 403


def test_freeze_button(client: Any, login: Any, october: World, db: Any) -> None:
    login(october.admin)
    response = client.post("/reports/freeze", data={"month": "2026-10", "region": JINGYUAN})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(ReportSnapshot.id))) == 1
    assert client.post("/reports/freeze", data={"month": "2026-10"}).status_code == 409
    client.post("/logout")
    login(october.auditor)
    assert client.post("/reports/freeze", data={"month": "2026-09"}).status_code == 403


def test_excel_export_is_clean_and_audited(client: Any, login: Any, october: World,
                                           db: Any) -> None:  # fmt: skip
    login(october.admin)
    response = client.get(f"/reports/export.xlsx?month=2026-10&region={JINGYUAN}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    # summary, regions, categories, donors; households and routes (plans)
    assert len(book.sheetnames) == 6
    summary = book.worksheets[0]
    assert summary.freeze_panes == "A2" and summary["A1"].font.b
    assert summary["A2"].value == JINGYUAN and summary["A2"].data_type == "s"
    assert summary["A2"].number_format == "@"
    donors = book.worksheets[3]
    labels = [row[1].value for row in donors.iter_rows(min_row=2)]
    evil = next(v for v in labels if "HYPERLINK" in v)
    assert evil.startswith("'=")
    assert all(c.data_type != "f" for row in donors.iter_rows() for c in row)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "report_exported"))
    assert event.after["format"] == "xlsx" and event.after["region"] == JINGYUAN


def test_csv_export(client: Any, login: Any, october: World) -> None:
    login(october.admin)
    response = client.get("/reports/export.csv?month=2026-10&table=organizations")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert any(row[1].startswith("'=HYPERLINK") for row in rows[1:])
    assert client.get("/reports/export.csv?month=2026-10&table=nope").status_code == 404


def test_a_long_table_shows_its_first_rows_and_links_the_whole(
    client: Any, login: Any, october: World, monkeypatch: Any
) -> None:
    """A table longer than the page's rows (a city's thousand donors) shows the first ones, the
    largest donors first, and says where the whole table is; the CSV behind the link has all."""
    from marketplace.reports import views

    login(october.admin)
    whole = client.get("/reports/?month=2026-10").get_data(as_text=True)
    donors = whole.split("report-table", 4)[3]  # regions, categories, then donors
    names = re.findall(r'<th scope="row">([^<]+)</th>', donors.split("</table>")[0])
    assert len(names) >= 2
    monkeypatch.setattr(views, "ROWS_ON_PAGE", 1)
    html = client.get("/reports/?month=2026-10").get_data(as_text=True)
    shown = html.split("report-table", 4)[3].split("</table>")[0]
    assert re.findall(r'<th scope="row">([^<]+)</th>', shown) == names[:1]
    assert f"表中前 1 行，共 {len(names)} 行" in html
    # The places stay whole: they are the links down to their own reports.
    places = html.split("report-table", 2)[1].split("</table>")[0]
    assert len(re.findall(r'<th scope="row"><a href="/reports/', places)) >= 2
    link = re.search(r'href="([^"]*export\.csv[^"]*table=organizations[^"]*)"', html)
    assert link is not None
    rows = list(csv.reader(io.StringIO(
        client.get(link.group(1).replace("&amp;", "&")).data.decode("utf-8-sig"))))  # fmt: skip
    assert len(rows) - 1 == len(names)
