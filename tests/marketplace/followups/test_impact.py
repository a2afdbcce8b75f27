"""A donor's impact (帮扶成效): what its confirmed help came to, counted and never named, and
the outcomes of its follow-ups; linked from the donor's dashboard."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from marketplace.followups import impact, services
from marketplace.households.models import Household
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.marketplace.followups.conftest import months_ago


def _visit(staff: Any, follow_up: Any, effective: bool, amount: str | None = None) -> None:
    outcome = services.Outcome(beijing_today(), effective, producing=True, amount=amount)
    services.record(staff, follow_up, outcome)


def _help(db: Any, world: World, confirmed: Any) -> dict[str, Any]:
    """Jobs for three households (one followed up to 6 months, one gone home at 6, one recent),
    a washer, a livestock grant in Huining followed up at 12 months."""
    kept = confirmed("jobs", days_ago=months_ago(6) + 1)
    for follow_up, wage in zip(services.follow_ups_of(kept), ("2500", "2800", "3000"), strict=True):
        _visit(world.staff, follow_up, True, wage)
    gone = confirmed("jobs", days_ago=months_ago(6) + 1)
    one, three, six = services.follow_ups_of(gone)
    _visit(world.staff, one, True, "2600")
    _visit(world.staff, three, True, "2600")
    _visit(world.staff, six, False)
    recent = confirmed("jobs", days_ago=months_ago(1) + 5)  # its 1-month check overdue
    washer = confirmed("goods", days_ago=3)
    sheep = confirmed("livestock", days_ago=months_ago(12) + 1, village=world.huining_village,
                      quantity=5)  # fmt: skip
    six_months, twelve = services.follow_ups_of(sheep)
    _visit(world.other_staff, six_months, True, "1200")
    _visit(world.other_staff, twelve, True, "3000")
    db.session.commit()
    return {"kept": kept, "gone": gone, "recent": recent, "washer": washer, "sheep": sheep}


def test_the_figures_of_an_organization(db: Any, world: World, confirmed: Any) -> None:
    scene = _help(db, world, confirmed)
    figures = impact.organization_impact(world.org)
    assert figures.confirmations == 5 and figures.household_count == 5
    assert figures.village_count == 2 and figures.village_needs == 0
    # value: 3 jobs at 30,000, a washer at 1,200, 5 sheep at 1,000
    assert figures.value == Decimal("96200")
    assert figures.value_income == Decimal("95000")
    assert figures.income_share_value == round(95000 / 96200, 4)
    assert figures.income_share_count == 0.8
    categories = {g.key: (g.household_count, g.matches, g.value) for g in figures.category_rows()}
    assert categories == {
        "jobs": (3, 3, Decimal("90000")),
        "necessities": (1, 1, Decimal("1200")),
        "industry": (1, 1, Decimal("5000")),
    }
    counties = {g.label: g.household_count for g in figures.county_rows()}
    assert counties == {"靖远县": 4, "会宁县": 1}
    fu = figures.follow_ups
    assert (fu.done, fu.overdue, fu.scheduled) == (8, 1, 3)
    assert fu.completion == round(8 / 9, 4)
    assert fu.at[6] == [3, 2] and fu.effective_share(6) == round(2 / 3, 4)
    assert fu.at[12] == [1, 1] and fu.effective_share(12) == 1.0
    # wages for the months each check covers (1 + 2 + 3), the sheep's incomes as reported
    assert fu.income == Decimal(2500 + 2800 * 2 + 3000 * 3 + 2600 + 2600 * 2 + 1200 + 3000)
    assert services.income_from_follow_ups(organization_id=world.org.id) == fu.income
    huining = world.huining_village.parent.parent
    assert services.income_from_follow_ups(within=huining) == Decimal("4200.00")
    assert figures.mean_satisfaction == 5.0 and figures.feedback[0]["text"] == "很好，谢谢"
    assert scene["recent"].id  # its 1-month check is the overdue one


def test_a_period_counts_the_help_confirmed_in_its_months(
    db: Any, world: World, confirmed: Any
) -> None:
    _help(db, world, confirmed)
    this_month = beijing_today().replace(day=1)
    figures = impact.organization_impact(world.org, this_month, this_month)
    # confirmed now (the test confirms today whatever the day received)
    assert figures.confirmations == 5
    before = (this_month - timedelta(days=1)).replace(day=1)
    assert impact.organization_impact(world.org, before, before).confirmations == 0


def test_the_impact_page_shows_the_figures_and_no_household(
    app: Any, client_of: Any, db: Any, world: World, confirmed: Any
) -> None:
    _help(db, world, confirmed)
    donor = client_of("donor")
    dashboard = donor.get("/dashboard").get_data(as_text=True)
    assert 'href="/impact/"' in dashboard
    page = donor.get("/impact/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "帮扶成效" in html and world.org.name in html
    figures = html.split('id="impact-figures"', 1)[1].split("</div>\n<div", 1)[0]
    assert re.search(r">5<", figures) and "96,200.00" in html
    assert "靖远县" in html and "会宁县" in html
    assert "66.7%" in html  # still effective at 6 months
    for household in db.session.query(Household):
        assert household.head_name not in html
        assert household.head_id_number not in html and household.phone not in html
    months = html.split('id="impact-months"', 1)[1].split("</table>", 1)[0]
    assert beijing_today().strftime("%Y-%m") in months
    # the same page by organization: for administrators and auditors, not other donors
    path = f"/impact/organizations/{world.org.id}"
    assert client_of("admin").get(path).status_code == 200
    assert client_of("auditor").get(path).status_code == 200
    assert client_of("staff").get(path).status_code == 404
    listing = client_of("admin").get("/impact/organizations/").get_data(as_text=True)
    assert path in listing


def test_another_donor_sees_only_its_own(
    client_of: Any, db: Any, world: World, confirmed: Any, make_org: Any, make_user: Any
) -> None:
    from marketplace.roles import Role

    _help(db, world, confirmed)
    other_org = make_org(name="另一家企业")
    make_user(Role.DONOR, org=other_org, username="otherdonor")
    other = client_of("otherdonor")
    assert other.get(f"/impact/organizations/{world.org.id}").status_code == 404
    mine = other.get("/impact/").get_data(as_text=True)
    assert "另一家企业" in mine and world.org.name not in mine
    assert other.get(f"/impact/certificate?org={world.org.id}").status_code == 404


def test_a_malformed_period_is_a_chinese_400(client_of: Any, db: Any, world: World) -> None:
    answer = client_of("donor").get("/impact/?from=2026-13")
    assert answer.status_code == 400
    assert "YYYY-MM" in answer.get_data(as_text=True)


def test_produce_bought_counts_as_help_that_builds_income(
    client_of: Any, db: Any, world: World, region: Any, make_resource: Any, confirmed: Any
) -> None:
    from datetime import date

    from marketplace.produce import services as produce
    from marketplace.resources.models import ResourceKind
    from tests.conftest import JINGYUAN

    confirmed("goods")  # a washer: 1,200 yuan of handout
    listing = produce.create_listing(
        world.staff, world.village, world.household, product="土豆",
        category="consumption.produce", quantity=1000, unit="斤", price=Decimal("1.2"),
        available_from=date(2026, 1, 1),
    )  # fmt: skip
    produce.submit_listing(world.staff, listing)
    produce.verify_listing(world.admin, listing)
    purchase = make_resource(world.org, [region(JINGYUAN)], kind=ResourceKind.PURCHASE,
                             categories=["consumption.produce"], capacity=5000, unit="元",
                             unit_value=Decimal(1))  # fmt: skip
    order = produce.place_order(world.donor, listing, purchase, 1000)
    produce.hand_over(world.staff, order)
    produce.receive(world.donor, order)
    produce.pay(world.donor, order, beijing_today(), "转账 002")
    produce.confirm_payment(world.staff, order, beijing_today())
    db.session.commit()
    figures = impact.organization_impact(world.org)
    assert figures.produce_value == Decimal("1200.00") and figures.produce_households == {
        world.household.id
    }
    assert figures.household_count == 2  # the washer's household and the seller
    assert figures.income_share_value == 0.5  # 1,200 of produce against a 1,200 washer
    page = client_of("donor").get("/impact/").get_data(as_text=True)
    assert "消费扶贫采购农户农产品：1 户，1,200.00 元" in page
