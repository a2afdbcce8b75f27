"""The monthly report's follow-up figures: completion, the share still effective at 6 and 12
months and the income recorded, by region (village, county, city), category and donor, and in
the workbook."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook

from marketplace.followups.models import FollowUp, FollowUpStatus
from marketplace.matches.models import Match, MatchStatus
from marketplace.reports.figures import compute_month
from tests.conftest import BAIYIN, JINGYUAN, World

OCTOBER = date(2026, 10, 1)
S = FollowUpStatus


def _match(db: Any, need: Any, resource: Any) -> Match:
    match = Match(need=need, resource=resource, quantity=1, status=MatchStatus.CONFIRMED,
                  created_at=datetime(2026, 3, 1, tzinfo=UTC),
                  decided_at=datetime(2026, 3, 2, tzinfo=UTC),
                  confirmed_at=datetime(2026, 3, 5, tzinfo=UTC),
                  received_on=date(2026, 3, 4))  # fmt: skip
    db.session.add(match)
    return match


def _follow_up(match: Match, months: int, due: date, **done: Any) -> FollowUp:
    return FollowUp(match=match, months=months, questions="jobs", due_on=due, answers={},
                    status=S.DONE if done else S.SCHEDULED, **done)  # fmt: skip


@pytest.fixture
def october(
    db: Any, world: World, region: Any, make_household: Any, make_need: Any, make_resource: Any,
    make_org: Any,
) -> World:  # fmt: skip
    """Follow-ups in Jingyuan's October 2026: two due (one recorded), 6-month checks recorded
    in the month (one still working, one not), a 12-month one still working; wages recorded
    for households, and a village's help whose income is not a household's."""
    jobs = make_resource(world.org, [region(JINGYUAN)], title="岗位",
                         categories=["jobs.employment"], unit="人",
                         unit_value=Decimal("30000"))  # fmt: skip
    other_org = make_org(name="养殖企业")
    sheep = make_resource(other_org, [region(JINGYUAN)], title="种羊", unit="只",
                          categories=["industry.livestock"])  # fmt: skip
    a = _match(db, make_need(world.village, world.household, subcategory="jobs.employment"), jobs)
    b = _match(db, make_need(world.other_village, make_household(world.other_village),
                             subcategory="jobs.employment"), jobs)  # fmt: skip
    c = _match(db, make_need(world.other_village, make_household(world.other_village),
                             subcategory="industry.livestock"), sheep)  # fmt: skip
    whole_village = _match(db, make_need(world.village, None, subcategory="industry.cooperative"),
                           sheep)  # fmt: skip
    db.session.add_all([
        # due in October, recorded (early November: still counts as recorded)
        _follow_up(a, 1, date(2026, 10, 4), visited_on=date(2026, 11, 2), effective=True,
                   income=Decimal("2500")),
        # due in October, overdue
        _follow_up(b, 1, date(2026, 10, 20)),
        # 6-month checks recorded in October
        _follow_up(a, 6, date(2026, 9, 28), visited_on=date(2026, 10, 1), effective=True,
                   income=Decimal("9000")),
        _follow_up(b, 6, date(2026, 9, 30), visited_on=date(2026, 10, 31), effective=False),
        # a 12-month check recorded in October
        _follow_up(c, 12, date(2026, 10, 10), visited_on=date(2026, 10, 12), effective=True,
                   income=Decimal("3000")),
        # the whole village's cooperative: checked, but its income is no household's
        _follow_up(whole_village, 6, date(2026, 10, 5), visited_on=date(2026, 10, 6),
                   effective=True, income=Decimal("50000")),
        # recorded in September: not October's
        _follow_up(c, 6, date(2026, 4, 10), visited_on=date(2026, 9, 30), effective=True,
                   income=Decimal("700")),
    ])  # fmt: skip
    db.session.commit()
    world.jobs, world.sheep, world.other_org = jobs, sheep, other_org
    return world


def test_follow_up_figures_roll_up_from_village_to_city(october: World, region: Any) -> None:
    data = compute_month(region(BAIYIN), OCTOBER)["regions"]
    for code in (BAIYIN, JINGYUAN):
        figures = data[code]["all"]
        assert figures["follow_ups_due"] == 4 and figures["follow_ups_done"] == 3
        assert figures["follow_up_completion"] == 0.75
        assert (figures["checked_6"], figures["effective_6"]) == (3, 2)
        assert figures["effective_share_6"] == round(2 / 3, 4)
        assert (figures["checked_12"], figures["effective_12"]) == (1, 1)
        assert figures["effective_share_12"] == 1.0
        assert figures["income_follow_ups"] == 9000 + 3000  # households, recorded in October
    village = data[october.village.code]["all"]
    assert village["follow_ups_due"] == 2 and village["checked_6"] == 2  # a's two, the coop's
    assert village["income_follow_ups"] == 9000.0
    other = data[october.other_village.code]["all"]
    assert (other["follow_ups_due"], other["follow_ups_done"]) == (2, 1)
    assert other["effective_share_6"] == 0.0 and other["income_follow_ups"] == 3000.0
    by_category = data[JINGYUAN]["category"]
    assert by_category["jobs"]["effective_share_6"] == 0.5
    assert by_category["industry"]["effective_share_12"] == 1.0
    by_route = data[JINGYUAN]["route"]  # jobs and industry: developing production and jobs
    assert by_route["production"]["follow_up_completion"] == 0.75
    assert by_route["production"]["income_follow_ups"] == 12000.0
    by_donor = data[JINGYUAN]["organization"]
    assert by_donor[str(october.org.id)]["income_follow_ups"] == 9000.0
    assert by_donor[str(october.other_org.id)]["income_follow_ups"] == 3000.0


def test_a_month_without_follow_ups_has_no_shares(october: World, region: Any) -> None:
    figures = compute_month(region(JINGYUAN), date(2026, 6, 1))["regions"]
    assert JINGYUAN not in figures or figures[JINGYUAN]["all"]["follow_up_completion"] is None


def test_the_month_page_and_the_workbook_show_them(client: Any, login: Any, october: World) -> None:
    login(october.admin)
    page = client.get(f"/reports/?month=2026-10&region={JINGYUAN}").get_data(as_text=True)
    section = page.split('id="follow-ups"', 1)[1].split("report-charts", 1)[0]
    assert "跟踪回访完成率" in section and "75.0%" in section
    assert "6个月仍见效比例" in section and "66.7%" in section
    assert "12,000.00" in section  # the income recorded for households in October
    routes = page.split("按五个一批", 1)[1].split("</table>", 1)[0]
    assert "跟踪回访完成率" in routes and "75.0%" in routes
    workbook = client.get(f"/reports/export.xlsx?month=2026-10&region={JINGYUAN}")
    sheet = load_workbook(BytesIO(workbook.data)).worksheets[0]
    headers = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    assert row[headers.index("跟踪回访完成率")] == 0.75
    assert row[headers.index("回访记录的收入（元）")] == 12000.0


def test_income_added_counts_produce_sold_and_the_follow_ups(
    db: Any, world: World, region: Any, make_resource: Any, confirmed: Any
) -> None:
    """Income added to registered households in a month: the wages and incomes the follow-ups
    recorded, and the households' shares of produce sales whose payment reached them then."""
    from marketplace.followups import services as follow_ups
    from marketplace.produce import services as produce
    from marketplace.resources.models import ResourceKind
    from marketplace.timefmt import beijing_today
    from tests.marketplace.followups.conftest import months_ago

    today = beijing_today()
    listing = produce.create_listing(
        world.staff, world.village, world.household, product="荞麦",
        category="consumption.produce", quantity=100, unit="斤", price=Decimal(5),
        available_from=date(2026, 1, 1),
    )  # fmt: skip
    produce.submit_listing(world.staff, listing)
    produce.verify_listing(world.admin, listing)
    purchase = make_resource(world.org, [region(JINGYUAN)], kind=ResourceKind.PURCHASE,
                             categories=["consumption.produce"], capacity=1000, unit="元",
                             unit_value=Decimal(1))  # fmt: skip
    order = produce.place_order(world.donor, listing, purchase, 40)
    produce.hand_over(world.staff, order)
    produce.receive(world.donor, order)
    produce.pay(world.donor, order, today, "转账 001")
    produce.confirm_payment(world.staff, order, today)
    jobs = confirmed("jobs", days_ago=months_ago(1) + 1)
    outcome = follow_ups.Outcome(today, True, amount="2600")
    follow_ups.record(world.staff, follow_ups.follow_ups_of(jobs)[0], outcome)
    db.session.commit()
    data = compute_month(region(BAIYIN), today.replace(day=1))["regions"]
    for code in (BAIYIN, JINGYUAN, world.village.code):
        figures = data[code]["all"]
        assert figures["income_produce"] == 200.0
        assert figures["income_follow_ups"] == 2600.0
        assert figures["income_added"] == 2800.0
    assert data[JINGYUAN]["category"]["consumption"]["income_produce"] == 200.0
    assert data[JINGYUAN]["organization"][str(world.org.id)]["income_added"] == 2800.0
