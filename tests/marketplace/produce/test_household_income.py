"""The household page shows the income help brought it: its shares of produce sold (confirmed
with the household) and what follow-ups recorded (wages), each linked, with the totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marketplace.followups import services as followups
from marketplace.produce import services
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.marketplace.followups import conftest as follow_up_fixtures
from tests.marketplace.followups.conftest import months_ago

# The follow-up tests' matches confirmed some months ago, used here too.
confirmed = follow_up_fixtures.confirmed


def _section(html: str) -> str:
    return html.split("data-household-income", 1)[1].split("</section>", 1)[0]


def _sell(db: Any, world: World, listing: Any, purchase: Any, quantity: int) -> Any:
    order = services.place_order(world.donor, listing, purchase, quantity)
    services.hand_over(world.staff, order, "过秤")
    services.receive(world.donor, order)
    services.pay(world.donor, order, beijing_today(), "网银 0009")
    services.confirm_payment(world.staff, order, beijing_today())
    db.session.commit()
    return order


def test_the_household_page_shows_its_income_from_sales_and_follow_ups(
    client: Any, login: Any, db: Any, world: World, confirmed: Any, make_listing: Any,
    make_household: Any, purchase: Any,
) -> None:  # fmt: skip
    match = confirmed("jobs", days_ago=months_ago(1) + 2)
    household = match.need.household
    first = followups.follow_ups_of(match)[0]
    followups.record(world.staff, first, followups.Outcome(beijing_today(), True, amount="2800"))
    db.session.commit()
    order = _sell(db, world, make_listing(household=household), purchase, 100)  # 450 yuan
    other = make_household(world.village)
    coop = make_listing(members=[household, other], product="靖远羊羔肉", unit="公斤",
                        price=Decimal("10.00"))  # fmt: skip
    shared = _sell(db, world, coop, purchase, 3)  # 30 yuan, 15 each
    login(world.staff)
    page = client.get(f"/households/{household.id}")
    assert page.status_code == 200
    section = _section(page.get_data(as_text=True))
    assert "帮扶带来的收入" in section
    assert "¥ 465.00" in section and "¥ 2800.00" in section and "¥ 3265.00" in section
    assert f'href="/produce/orders/{order.id}"' in section and "靖远小杂粮" in section
    assert f'href="/produce/orders/{shared.id}"' in section and "¥ 15.00" in section
    assert "¥ 30.00" in section  # the order a share comes from
    assert f'href="/matches/{match.id}"' in section and "1 个月" in section
    assert world.org.name in section and beijing_today().strftime("%Y-%m") in section
    # A household the help has not earned for yet says so.
    nothing = _section(client.get(f"/households/{world.household.id}").get_data(as_text=True))
    assert "尚无帮扶带来的收入记录" in nothing and "¥ 0.00" in nothing
    # The cooperative's other member has its own share, not the whole order.
    theirs = _section(client.get(f"/households/{other.id}").get_data(as_text=True))
    assert "¥ 15.00" in theirs and "¥ 450.00" not in theirs
