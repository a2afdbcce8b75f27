"""Exit (脱贫) is an assessment, not a field edit: every guarantee met and the income per person
above the line of the year → exited, dated, audited, and still eligible for aid (脱贫不脱政策).
Refused otherwise, with the reasons in Chinese. The household form no longer edits the status."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.demo import id_number
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.households.models import Household
from marketplace.needs import services as needs
from marketplace.needs.models import NeedStatus
from marketplace.plans import services
from marketplace.plans.models import Guarantee, StatusDecision
from marketplace.reports.figures import compute_month
from marketplace.timefmt import beijing_today
from marketplace.vocab import HouseholdStatus
from tests.conftest import World
from tests.marketplace.plans.conftest import check_all
from tests.pages import find_form
from tests.races import from_the_same_read


def _refusal(world: World) -> str:
    with pytest.raises(ServiceError) as refused:
        services.assess_exit(world.admin, world.household)
    assert refused.value.status == 409
    _db.session.rollback()
    assert _db.session.get(Household, world.household.id).status == HouseholdStatus.POOR
    assert _db.session.scalar(sa.select(sa.func.count(StatusDecision.id))) == 0
    return str(refused.value.message)


def test_exit_is_refused_while_a_guarantee_is_unmet_or_unchecked(
    db: Any, plan_world: World
) -> None:
    assert "以下保障尚未核查：不愁吃、不愁穿" in _refusal(plan_world)
    check_all(db, plan_world.household, plan_world.staff, unmet=(Guarantee.HOUSING,))
    reason = _refusal(plan_world)
    assert reason.startswith("不能退出：") and "以下保障未达标：住房安全有保障。" in reason
    assert "尚未核查" not in reason and "贫困线" not in reason  # the income is above it


@pytest.mark.parametrize("income", ["3500", "4000"])
def test_exit_is_refused_when_the_income_is_not_above_the_line(
    db: Any, plan_world: World, income: str
) -> None:
    check_all(db, plan_world.household, plan_world.staff)
    plan_world.household.income_per_capita = Decimal(income)
    db.session.commit()
    assert f"人均纯收入{income}元，未超过2026年贫困线4000元。" in _refusal(plan_world)
    plan_world.household.income_per_capita = None
    db.session.commit()
    assert "档案中没有登记人均纯收入" in _refusal(plan_world)


def test_the_line_is_a_setting_with_its_year(
    app: Any, db: Any, plan_world: World, monkeypatch: Any
) -> None:
    check_all(db, plan_world.household, plan_world.staff)
    monkeypatch.setitem(app.config, "POVERTY_LINE", 6000)
    monkeypatch.setitem(app.config, "POVERTY_LINE_YEAR", 2027)
    assert "未超过2027年贫困线6000元" in _refusal(plan_world)


def test_an_assessed_household_exits_dated_audited_and_still_eligible(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    household = plan_world.household
    check_all(db, household, plan_world.staff)
    login(plan_world.admin)
    page = f"/plans/{household.id}"
    html = client.get(page).data.decode()
    assert "尚不具备退出条件" not in html
    form = find_form(html, action=f"/plans/{household.id}/exit")
    response = client.post(form.target(page), data=form.data())
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, household.id).status == HouseholdStatus.EXITED
    decision = db.session.scalar(sa.select(StatusDecision))
    assert decision.decided_on == beijing_today() and decision.decided_by_id == plan_world.admin.id
    assert (decision.from_status, decision.to_status) == (HouseholdStatus.POOR,
                                                           HouseholdStatus.EXITED)  # fmt: skip
    assert (decision.income_per_capita, decision.poverty_line, decision.line_year) == (
        Decimal("5200"), Decimal("4000"), 2026)  # fmt: skip
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "household_exited"))
    assert event.before == {"status": "poor"} and event.after["status"] == "exited"
    assert event.region_path == plan_world.village.path
    shown = client.get(page).data.decode()
    assert "已脱贫" in shown and "脱贫不脱政策" in shown
    # 脱贫不脱政策: its needs are still posted and verified.
    need = needs.create_need(plan_world.staff, household.village, household,
                             subcategory="education.grant", title="助学", description="",
                             quantity=1, unit="人", estimated_value=0, urgency=2,
                             needed_by=None)  # fmt: skip
    needs.verify_need(plan_world.admin, need)
    db.session.commit()
    assert need.status == NeedStatus.VERIFIED
    # The exit counts in the month's report.
    first = date(beijing_today().year, beijing_today().month, 1)
    assert compute_month(plan_world.village, first)["regions"][plan_world.village.code]["all"][
        "exited"] == 1  # fmt: skip
    county = plan_world.village.parent.parent
    assert compute_month(county, first)["regions"][county.code]["all"]["exited"] == 1


def test_a_refused_exit_answers_with_the_reasons_in_chinese(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    check_all(db, plan_world.household, plan_world.staff, unmet=(Guarantee.WATER,))
    login(plan_world.admin)
    page = f"/plans/{plan_world.household.id}"
    html = client.get(page).data.decode()
    assert "尚不具备退出条件" in html and "饮水安全有保障" in html
    form = find_form(html, action=f"/plans/{plan_world.household.id}/exit")
    response = client.post(form.target(page), data=form.data())
    assert response.status_code == 409
    assert "不能退出：以下保障未达标：饮水安全有保障。" in response.data.decode()


def test_only_the_regions_administrators_assess(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    check_all(db, plan_world.household, plan_world.staff)
    for user in (plan_world.staff, plan_world.huining_admin, plan_world.auditor):
        with pytest.raises(ServiceError) as refused:
            services.assess_exit(user, plan_world.household)
        assert refused.value.status == 403
    login(plan_world.staff)
    assert client.post(f"/plans/{plan_world.household.id}/exit").status_code == 403
    assert "进行脱贫评估" not in client.get(f"/plans/{plan_world.household.id}").data.decode()


def test_two_administrators_assessing_at_once_one_is_told(
    app: Any, db: Any, plan_world: World
) -> None:
    check_all(db, plan_world.household, plan_world.staff)
    household_id, admin_id = plan_world.household.id, plan_world.admin.id

    def side() -> Any:
        def read() -> Any:
            from marketplace.accounts.models import User

            return _db.session.get(User, admin_id), _db.session.get(Household, household_id)

        def act(loaded: Any) -> None:
            services.assess_exit(*loaded)

        return read, act

    first, second = from_the_same_read(app, side(), side())
    assert first is None and second is not None and second.status == 409
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(StatusDecision.id))) == 1


def test_the_household_form_no_longer_edits_the_status(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    """The register's forms carry no status at all; a status posted anyway is ignored, and the
    service refuses to edit it (households.policy.STATUS_WORKFLOW moves it, by decisions)."""
    household = plan_world.household
    login(plan_world.staff)
    page = f"/households/{household.id}/edit"
    html = client.get(page).data.decode()
    form = find_form(html, page=page)
    assert "status" not in form.names
    sent = form.data()
    sent["status"] = "exited"  # a tampered post
    response = client.post(page, data=sent)
    assert response.status_code == 302, response.data.decode()[:500]
    db.session.expire_all()
    assert db.session.get(Household, household.id).status == HouseholdStatus.POOR
    created = client.get("/households/new").data.decode()
    new_form = find_form(created, page="/households/new")
    assert "status" not in new_form.names
    sent = new_form.data(
        register_number="62042100000199", head_name="李四",
        head_id_number=id_number("620421", date(1971, 3, 4), 16), member_count="2",
    )  # fmt: skip
    sent["status"] = "monitored"  # a tampered post
    response = client.post("/households/new", data=sent)
    assert response.status_code == 302, response.data.decode()[:3000]
    registered = db.session.scalar(
        sa.select(Household).where(Household.register_number == "62042100000199")
    )
    assert registered.status == HouseholdStatus.POOR
