"""One plan per household (一户一策): measures tied to the household's causes, each with a
responsible cadre, a target, a date and a status moved only along its workflow; needs posted
from a measure link back to it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.errors import ServiceError
from marketplace.extensions import db as _db
from marketplace.needs.models import Need, NeedStatus
from marketplace.plans import services
from marketplace.plans.models import Measure, MeasureStatus, Plan
from marketplace.plans.suggestions import GUARANTEE_CATEGORY, SUGGESTED_MEASURES
from marketplace.timefmt import beijing_today
from marketplace.vocab import CATEGORIES, PovertyCause
from tests.conftest import World
from tests.marketplace.plans.conftest import add_measure
from tests.pages import find_form, submit, submit_on
from tests.races import from_the_same_read

MOVES = [
    (MeasureStatus.PLANNED, MeasureStatus.UNDER_WAY, True),
    (MeasureStatus.PLANNED, MeasureStatus.DONE, True),
    (MeasureStatus.PLANNED, MeasureStatus.DROPPED, True),
    (MeasureStatus.PLANNED, MeasureStatus.PLANNED, False),
    (MeasureStatus.UNDER_WAY, MeasureStatus.DONE, True),
    (MeasureStatus.UNDER_WAY, MeasureStatus.DROPPED, True),
    (MeasureStatus.UNDER_WAY, MeasureStatus.PLANNED, False),
    (MeasureStatus.DONE, MeasureStatus.UNDER_WAY, False),
    (MeasureStatus.DONE, MeasureStatus.DROPPED, False),
    (MeasureStatus.DROPPED, MeasureStatus.UNDER_WAY, False),
    (MeasureStatus.DROPPED, MeasureStatus.DONE, False),
]


def _at(db: Any, world: World, status: MeasureStatus) -> Measure:
    measure = add_measure(db, world.household, world.staff)
    path = {
        MeasureStatus.UNDER_WAY: [MeasureStatus.UNDER_WAY],
        MeasureStatus.DONE: [MeasureStatus.DONE],
        MeasureStatus.DROPPED: [MeasureStatus.DROPPED],
    }.get(status, [])
    for step in path:
        services.move_measure(world.staff, measure, step, "不再需要")
    db.session.commit()
    assert measure.status == status
    return measure


@pytest.mark.parametrize(("source", "to", "legal"), MOVES)
def test_a_measure_moves_only_along_its_workflow(
    db: Any, plan_world: World, source: MeasureStatus, to: MeasureStatus, legal: bool
) -> None:
    measure = _at(db, plan_world, source)
    if legal:
        services.move_measure(plan_world.staff, measure, to, "户主已外出务工，另行安排")
        db.session.commit()
        assert measure.status == to
        if to in (MeasureStatus.DONE, MeasureStatus.DROPPED):
            assert measure.finished_at is not None
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "measure_moved")
            .order_by(AuditEvent.id.desc()).limit(1)
        )  # fmt: skip
        assert event.after == {"status": to.value}
        assert event.region_path == plan_world.village.path
    else:
        with pytest.raises(ServiceError) as refused:
            services.move_measure(plan_world.staff, measure, to, "理由")
        assert refused.value.status == 409
        db.session.rollback()
        assert db.session.get(Measure, measure.id).status == source


def test_dropping_needs_a_reason_and_only_the_villages_staff_move_measures(
    db: Any, plan_world: World
) -> None:
    measure = add_measure(db, plan_world.household, plan_world.staff)
    with pytest.raises(ServiceError) as no_reason:
        services.move_measure(plan_world.staff, measure, MeasureStatus.DROPPED, "  ")
    assert no_reason.value.status == 400 and no_reason.value.field == "reason"
    for outsider in (plan_world.other_staff, plan_world.admin, plan_world.auditor):
        with pytest.raises(ServiceError) as refused:
            services.move_measure(outsider, measure, MeasureStatus.UNDER_WAY)
        assert refused.value.status == 403
    db.session.rollback()
    assert db.session.get(Measure, measure.id).status == MeasureStatus.PLANNED


def test_two_people_moving_one_measure_at_once_one_is_told(
    app: Any, db: Any, plan_world: World
) -> None:
    measure_id = add_measure(db, plan_world.household, plan_world.staff).id
    staff_id = plan_world.staff.id

    def side(to: MeasureStatus) -> Any:
        def read() -> Any:
            from marketplace.accounts.models import User

            return _db.session.get(User, staff_id), _db.session.get(Measure, measure_id)

        def act(loaded: Any) -> None:
            user, measure = loaded
            services.move_measure(user, measure, to, "重复")

        return read, act

    first, second = from_the_same_read(app, side(MeasureStatus.DONE), side(MeasureStatus.DROPPED))
    assert first is None
    assert second is not None and second.status == 409
    db.session.expire_all()
    assert db.session.get(Measure, measure_id).status == MeasureStatus.DONE


def test_the_suggested_measures_cover_every_cause_and_name_real_categories() -> None:
    for cause in PovertyCause:
        assert SUGGESTED_MEASURES[cause], cause
        for suggestion in SUGGESTED_MEASURES[cause]:
            assert not CATEGORIES[suggestion.subcategory].is_top
    assert all(not CATEGORIES[c].is_top for c in GUARANTEE_CATEGORY.values())


def test_staff_add_a_suggested_measure_as_the_page_posts_it(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    household = plan_world.household
    login(plan_world.staff)
    plan_page = client.get(f"/plans/{household.id}").data.decode()
    links = re.findall(r'href="(/plans/\d+/measure\?cause=skills&amp;suggestion=\d)"', plan_page)
    assert links, "no suggested measure for the household's second cause"
    page = links[0].replace("&amp;", "&")
    form_html = client.get(page).data.decode()
    form = find_form(form_html, page=page)
    assert form.field("cause").options == ["illness", "skills"]  # the household's causes only
    assert form.field("responsible_id").value == str(plan_world.staff.id)
    due = (beijing_today() + timedelta(days=90)).isoformat()
    response = submit_on(client, form_html, {"due_on": due}, page=page)
    assert response.status_code == 302, response.data.decode()
    measure = db.session.scalar(sa.select(Measure))
    assert measure.cause == PovertyCause.SKILLS
    assert measure.subcategory == "jobs.training"
    assert measure.responsible_id == plan_world.staff.id
    assert measure.status == MeasureStatus.PLANNED
    assert db.session.scalar(sa.select(Plan.household_id)) == household.id
    shown = client.get(f"/plans/{household.id}").data.decode()
    assert measure.title in shown and "计划实施" in shown


def test_a_measure_without_a_cadre_or_with_a_past_date_is_refused_at_its_field(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    login(plan_world.staff)
    page = f"/plans/{plan_world.household.id}/measure"
    typed = {"title": "危房改造", "responsible_id": "0", "responsible_name": "",
             "due_on": (beijing_today() + timedelta(days=30)).isoformat()}  # fmt: skip
    refused = submit(client, page, typed)
    assert refused.status_code == 400
    html = refused.data.decode()
    assert "请选择帐号或填写帮扶责任人姓名" in html or "帮扶责任人" in html
    assert 'value="危房改造"' in html  # what was typed is kept
    past = submit(client, page, {**typed, "responsible_name": "王帮扶",
                                 "due_on": "2020-01-01"})  # fmt: skip
    assert past.status_code == 400 and "日期不能早于今天" in past.data.decode()
    named = submit(client, page, {**typed, "responsible_name": "王帮扶",
                                  "responsible_phone": "139 1234 5678"})  # fmt: skip
    assert named.status_code == 302
    measure = db.session.scalar(sa.select(Measure))
    assert (measure.responsible_id, measure.responsible_name, measure.responsible_phone) == (
        None, "王帮扶", "13912345678")  # fmt: skip


def test_a_need_posted_from_a_measure_links_back_to_it(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    household = plan_world.household
    measure = add_measure(db, household, plan_world.staff)
    login(plan_world.staff)
    plan_page = client.get(f"/plans/{household.id}").data.decode()
    link = f"/plans/{household.id}/need?measure={measure.id}"
    assert f'href="{link}"' in plan_page
    form_html = client.get(link).data.decode()
    form = find_form(form_html, page=link)
    assert form.field("subcategory").value == "medical.insurance"  # the measure's category
    assert "village" not in form.names and "household" not in form.names
    response = submit_on(client, form_html, {"unit": "人", "quantity": "3"}, page=link)
    assert response.status_code == 302, response.data.decode()[:2000]
    need = db.session.scalar(sa.select(Need).where(Need.measure_id == measure.id))
    assert need is not None and need.household_id == household.id
    assert need.subcategory == "medical.insurance" and need.status == NeedStatus.SUBMITTED
    db.session.expire_all()
    assert db.session.get(Measure, measure.id).status == MeasureStatus.UNDER_WAY
    need_page = client.get(f"/needs/{need.id}").data.decode()
    assert f"/plans/{household.id}#measure-{measure.id}" in need_page
    assert need.title in client.get(f"/plans/{household.id}").data.decode()
    assert household.register_number in client.get(f"/households/{household.id}").data.decode()


def test_no_need_from_a_closed_measure_or_another_households_measure(
    client: Any, db: Any, login: Any, plan_world: World, make_household: Any
) -> None:
    done = add_measure(db, plan_world.household, plan_world.staff)
    services.move_measure(plan_world.staff, done, MeasureStatus.DONE)
    db.session.commit()
    neighbour = make_household(plan_world.village, primary_cause=PovertyCause.ILLNESS)
    login(plan_world.staff)
    assert client.get(f"/plans/{plan_world.household.id}/need?measure={done.id}").status_code == 409
    assert client.get(f"/plans/{neighbour.id}/need?measure={done.id}").status_code == 404
    assert client.get(f"/plans/{neighbour.id}/measure?id={done.id}").status_code == 404
    assert client.get(f"/plans/{plan_world.household.id}/measure?id={done.id}").status_code == 409
    assert db.session.scalar(sa.select(sa.func.count(Need.id)).where(
        Need.measure_id.is_not(None))) == 0  # fmt: skip


@pytest.mark.parametrize(
    ("who", "plan", "measure_form"),
    [("staff", 200, 200), ("other_staff", 404, 404), ("admin", 200, 403), ("auditor", 200, 403),
     ("donor", 403, 403)],
)  # fmt: skip
def test_who_reads_and_who_keeps_a_plan(
    client: Any, db: Any, login: Any, plan_world: World, who: str, plan: int, measure_form: int
) -> None:
    login(getattr(plan_world, who))
    household = plan_world.household
    assert client.get(f"/plans/{household.id}").status_code == plan
    assert client.get(f"/plans/{household.id}/measure").status_code == measure_form
