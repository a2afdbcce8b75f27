"""Monitoring (防返贫): an exited household is at risk when its income falls near the line or a
shock is recorded; administrators list the households at risk and monitored, put one under
monitoring and release it by the exit assessment once the risk is gone; the reports count
them; a donor may favour monitored households."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from marketplace.households.models import Household
from marketplace.plans import services
from marketplace.plans.models import Shock, ShockKind, StatusDecision
from marketplace.reports.figures import compute_month
from marketplace.resources.forms import ResourceForm
from marketplace.timefmt import beijing_today
from marketplace.vocab import HouseholdStatus
from tests.conftest import JINGYUAN, World
from tests.marketplace.plans.conftest import check_all
from tests.pages import find_form


def _exited(db: Any, world: World, household: Any = None, staff: Any = None) -> Any:
    household = household or world.household
    check_all(db, household, staff or world.staff)
    services.assess_exit(world.admin, household)
    db.session.commit()
    return household


@pytest.mark.parametrize(
    ("income", "at_risk"),
    [("3900", True), ("4000", True), ("4400", True), ("4400.01", False), ("5200", False)],
)
def test_an_exited_household_near_the_line_is_at_risk(
    db: Any, plan_world: World, income: str, at_risk: bool
) -> None:
    household = _exited(db, plan_world)
    household.income_per_capita = Decimal(income)
    db.session.commit()
    risk = services.risk_of(household)
    assert risk.at_risk == at_risk
    assert risk.below_line == (Decimal(income) <= 4000)
    flagged = db.session.scalars(sa.select(Household.id).where(services.at_risk_clause()))
    assert (household.id in set(flagged)) == at_risk


def test_a_shock_flags_it_until_it_is_over(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    household = _exited(db, plan_world)
    assert not services.risk_of(household).at_risk
    login(plan_world.staff)
    page = f"/plans/{household.id}/shock"
    html = client.get(page).data.decode()
    typed = {"kind": "illness", "occurred_on": (beijing_today() - timedelta(days=2)).isoformat(),
             "note": "户主突发脑梗住院"}  # fmt: skip
    form = find_form(html, page=page)
    assert client.post(page, data=form.data(**typed)).status_code == 302
    shock = db.session.scalar(sa.select(Shock))
    assert shock.kind == ShockKind.ILLNESS and shock.resolved_on is None
    assert services.risk_of(household).shocks == [shock]
    plan = client.get(f"/plans/{household.id}").data.decode()
    assert "有返贫风险" in plan and "户主突发脑梗住院" in plan
    # Readers without a right learn that there is a shock, not what it is.
    client.post("/logout")
    login(plan_world.auditor)
    masked = client.get(f"/plans/{household.id}").data.decode()
    assert "有返贫风险" in masked and "脑梗" not in masked and "大病重病" not in masked
    client.post("/logout")
    login(plan_world.staff)
    resolve = find_form(plan, action=f"/plans/shocks/{shock.id}/resolve")
    assert client.post(resolve.target(), data=resolve.data()).status_code == 302
    db.session.expire_all()
    assert db.session.get(Shock, shock.id).resolved_on == beijing_today()
    assert not services.risk_of(db.session.get(Household, household.id)).at_risk
    assert client.post(resolve.target(), data=resolve.data()).status_code == 409


def test_a_household_not_yet_out_of_poverty_is_not_flagged(db: Any, plan_world: World) -> None:
    household = plan_world.household
    household.income_per_capita = Decimal("4100")
    services.record_shock(plan_world.staff, household, ShockKind.DISASTER, beijing_today())
    db.session.commit()
    assert not services.risk_of(household).at_risk
    assert household.id not in set(
        db.session.scalars(sa.select(Household.id).where(services.at_risk_clause()))
    )


def test_a_shock_cannot_be_in_the_future_nor_recorded_by_outsiders(
    db: Any, plan_world: World
) -> None:
    tomorrow = beijing_today() + timedelta(days=1)
    with pytest.raises(ServiceError) as future:
        services.record_shock(plan_world.staff, plan_world.household, ShockKind.DISASTER, tomorrow)
    assert future.value.field == "occurred_on"
    for outsider in (plan_world.other_staff, plan_world.auditor, plan_world.huining_admin):
        with pytest.raises(ServiceError) as refused:
            services.record_shock(outsider, plan_world.household, ShockKind.JOB_LOSS,
                                  beijing_today())  # fmt: skip
        assert refused.value.status == 403


def test_administrators_list_monitor_and_release(
    client: Any, db: Any, login: Any, plan_world: World, make_household: Any
) -> None:
    household = _exited(db, plan_world)
    steady = _exited(
        db,
        plan_world,
        make_household(plan_world.village, head_name="赵钱孙", income_per_capita=Decimal(8000)),
    )
    household.income_per_capita = Decimal("4200")
    db.session.commit()
    login(plan_world.admin)
    listing = client.get("/plans/monitoring").data.decode()
    assert household.register_number in listing and steady.register_number not in listing
    assert "人均纯收入4200.00元，在贫困线以上10%以内" in listing
    assert household.head_name in listing  # administrators of the region see names
    monitor = find_form(listing, action=f"/plans/{household.id}/monitor")
    assert client.post(monitor.target(), data=monitor.data(reason="")).status_code == 400
    assert (
        client.post(monitor.target(), data=monitor.data(reason="收入接近贫困线")).status_code == 302
    )
    db.session.expire_all()
    assert db.session.get(Household, household.id).status == HouseholdStatus.MONITORED
    # Release is the exit assessment again, with the risk gone too.
    with pytest.raises(ServiceError) as still:
        services.assess_exit(plan_world.admin, db.session.get(Household, household.id))
    assert "仍在贫困线以上10%以内" in str(still.value.message)
    db.session.rollback()
    held = db.session.get(Household, household.id)
    held.income_per_capita = Decimal("6000")
    db.session.commit()
    services.assess_exit(plan_world.admin, held)
    db.session.commit()
    assert held.status == HouseholdStatus.EXITED
    moves = [(d.from_status, d.to_status) for d in db.session.scalars(
        sa.select(StatusDecision).where(StatusDecision.household_id == household.id)
        .order_by(StatusDecision.id))]  # fmt: skip
    assert moves == [(HouseholdStatus.POOR, HouseholdStatus.EXITED),
                     (HouseholdStatus.EXITED, HouseholdStatus.MONITORED),
                     (HouseholdStatus.MONITORED, HouseholdStatus.EXITED)]  # fmt: skip
    first = date(beijing_today().year, beijing_today().month, 1)
    # Releases from monitoring are not new exits.
    assert compute_month(plan_world.village, first)["regions"][plan_world.village.code]["all"][
        "exited"] == 2  # fmt: skip


def test_a_return_to_poverty_needs_a_reason(db: Any, plan_world: World) -> None:
    household = _exited(db, plan_world)
    with pytest.raises(ServiceError) as bare:
        services.return_to_poverty(plan_world.admin, household, " ")
    assert bare.value.field == "reason"
    services.return_to_poverty(plan_world.admin, household, "户主重病，收入骤降")
    db.session.commit()
    assert household.status == HouseholdStatus.POOR
    with pytest.raises(ServiceError) as again:
        services.return_to_poverty(plan_world.admin, household, "重复")
    assert again.value.status == 409


def test_the_monitoring_list_is_for_administrators_of_the_region(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    household = _exited(db, plan_world)
    services.record_shock(plan_world.staff, household, ShockKind.JOB_LOSS, beijing_today())
    db.session.commit()
    for user, status in ((plan_world.staff, 403), (plan_world.auditor, 403),
                         (plan_world.donor, 403)):  # fmt: skip
        client.post("/logout")
        login(user)
        assert client.get("/plans/monitoring").status_code == status
    client.post("/logout")
    login(plan_world.huining_admin)
    assert household.register_number not in client.get("/plans/monitoring").data.decode()


def test_the_reports_count_households_at_risk_and_monitored(
    db: Any, plan_world: World, make_household: Any, make_user: Any, region: Any
) -> None:
    at_risk = _exited(db, plan_world)
    services.record_shock(plan_world.staff, at_risk, ShockKind.DISASTER, beijing_today())
    neighbours = make_household(plan_world.other_village, income_per_capita=Decimal(7000))
    monitored = _exited(
        db, plan_world, neighbours, make_user(Role.STAFF, [plan_world.other_village])
    )
    services.start_monitoring(plan_world.admin, monitored, "因灾")
    db.session.commit()
    first = date(beijing_today().year, beijing_today().month, 1)
    data = compute_month(region(JINGYUAN), first)["regions"]
    assert (data[JINGYUAN]["all"]["at_risk"], data[JINGYUAN]["all"]["monitored"]) == (1, 1)
    assert data[plan_world.village.code]["all"]["at_risk"] == 1
    assert data[plan_world.other_village.code]["all"]["monitored"] == 1


def test_a_donor_may_declare_monitored_households_a_priority(app: Any) -> None:
    with app.test_request_context():
        offered = {c.value for c in ResourceForm().priority_statuses.choices}
    assert HouseholdStatus.MONITORED.value in offered
