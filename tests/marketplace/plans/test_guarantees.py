"""两不愁三保障: each guarantee recorded met or not, with the day and what was seen; the latest
check counts; an unmet one proposes a need in its category; the monthly reports count them
by village, township, county and city at the month's end."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.errors import ServiceError
from marketplace.needs.models import Need
from marketplace.plans import services
from marketplace.plans.models import Guarantee, GuaranteeCheck
from marketplace.reports.figures import compute_month
from marketplace.timefmt import beijing_today
from tests.conftest import BAIYIN, JINGYUAN, World
from tests.marketplace.plans.conftest import check_all
from tests.pages import find_form, submit, submit_on


def test_staff_record_a_visit_as_the_page_posts_it(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    household = plan_world.household
    login(plan_world.staff)
    page = f"/plans/{household.id}/guarantees"
    html = client.get(page).data.decode()
    form = find_form(html, page=page)
    assert form.field("checked_on").value == beijing_today().isoformat()
    assert form.field("water_met").options == ["", "met", "unmet"]
    typed = {"food_met": "met", "food_evidence": "存粮充足", "water_met": "unmet",
             "water_evidence": "水窖干涸，靠拉水"}  # fmt: skip
    response = submit_on(client, html, typed, page=page)
    assert response.status_code == 302
    checks = {c.guarantee: c for c in db.session.scalars(sa.select(GuaranteeCheck))}
    assert set(checks) == {Guarantee.FOOD, Guarantee.WATER}  # the others were not checked
    assert checks[Guarantee.FOOD].met and not checks[Guarantee.WATER].met
    assert checks[Guarantee.WATER].evidence == "水窖干涸，靠拉水"
    assert checks[Guarantee.WATER].recorded_by_id == plan_world.staff.id
    household_page = client.get(f"/households/{household.id}").data.decode()
    assert "两不愁三保障" in household_page and "饮水安全有保障" in household_page
    # The unmet guarantee proposes a need in its category, the form prefilled.
    link = f"/plans/{household.id}/need?guarantee=water"
    assert f'href="{link}"' in household_page
    need_form = client.get(link).data.decode()
    assert find_form(need_form, page=link).field("subcategory").value == "infrastructure.water"
    posted = submit_on(client, need_form, {"unit": "口"}, page=link)
    assert posted.status_code == 302
    need = db.session.scalar(sa.select(Need).order_by(Need.id.desc()).limit(1))
    assert (need.subcategory, need.household_id, need.measure_id) == (
        "infrastructure.water", household.id, None)  # fmt: skip


def test_a_check_without_evidence_or_in_the_future_is_refused(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    login(plan_world.staff)
    page = f"/plans/{plan_world.household.id}/guarantees"
    bare = submit(client, page, {"housing_met": "met"})
    assert bare.status_code == 400 and "请填写核查依据" in bare.data.decode()
    later = (beijing_today() + timedelta(days=2)).isoformat()
    future = submit(client, page, {"housing_met": "met", "housing_evidence": "砖房",
                                   "checked_on": later})  # fmt: skip
    assert future.status_code == 400 and "核查日期不能晚于今天" in future.data.decode()
    assert 'value="砖房"' in future.data.decode()
    nothing = submit(client, page, {})
    assert nothing.status_code == 400 and "请至少为一项保障填写" in nothing.data.decode()
    assert db.session.scalar(sa.select(sa.func.count(GuaranteeCheck.id))) == 0
    with pytest.raises(ServiceError) as outsider:
        services.record_guarantees(plan_world.other_staff, plan_world.household, beijing_today(),
                                   {Guarantee.FOOD: (True, "有")})  # fmt: skip
    assert outsider.value.status == 403


def test_the_latest_check_of_each_guarantee_counts(db: Any, plan_world: World) -> None:
    household = plan_world.household
    today = beijing_today()
    check_all(
        db, household, plan_world.staff, unmet=(Guarantee.HOUSING,), on=today - timedelta(days=30)
    )
    services.record_guarantees(plan_world.staff, household, today - timedelta(days=3),
                               {Guarantee.HOUSING: (True, "危房改造已完成")})  # fmt: skip
    # Recorded later, about an earlier day: the later day's check still counts.
    services.record_guarantees(plan_world.staff, household, today - timedelta(days=10),
                               {Guarantee.HOUSING: (False, "补录")})  # fmt: skip
    db.session.commit()
    state = services.latest_checks([household.id])[household.id]
    assert state[Guarantee.HOUSING].met and state[Guarantee.HOUSING].evidence == "危房改造已完成"
    earlier = services.latest_checks([household.id], on=today - timedelta(days=5))[household.id]
    assert not earlier[Guarantee.HOUSING].met
    assert all(row.met for row in services.guarantee_rows(household))


def test_the_monthly_report_counts_the_guarantees_by_region(
    db: Any, plan_world: World, make_household: Any, make_user: Any, region: Any
) -> None:
    """Three households of Jingyuan (two villages) and one of Huining: all met; water not met;
    housing and water not met, and a check after the month's end that does not count."""
    world = plan_world
    met = world.household
    thirsty = make_household(world.other_village)
    huining = make_household(world.huining_village)
    november = date(2026, 11, 10)
    huining_staff = world.other_staff
    other_staff = make_user(Role.STAFF, [world.other_village])
    check_all(db, met, world.staff, on=date(2026, 10, 5))
    check_all(db, thirsty, other_staff, unmet=(Guarantee.WATER,), on=date(2026, 10, 20))
    check_all(db, huining, huining_staff, unmet=(Guarantee.HOUSING, Guarantee.WATER),
              on=date(2026, 10, 31))  # fmt: skip
    # After October: the housing is safe by then, which October's figures must not know.
    services.record_guarantees(huining_staff, huining, november,
                               {Guarantee.HOUSING: (True, "新房")})  # fmt: skip
    db.session.commit()
    data = compute_month(region(BAIYIN), date(2026, 10, 1))["regions"]
    city, county = data[BAIYIN]["all"], data[JINGYUAN]["all"]
    assert (city["guarantees_met"], city["guarantees_unmet"]) == (1, 2)
    assert (city["unmet_water"], city["unmet_housing"], city["unmet_food"]) == (2, 1, 0)
    assert (county["guarantees_met"], county["guarantees_unmet"], county["unmet_water"]) == (
        1,
        1,
        1,
    )
    township = world.village.parent.code
    assert data[township]["all"]["guarantees_met"] == 1
    assert data[world.village.code]["all"]["guarantees_met"] == 1
    assert data[world.other_village.code]["all"]["unmet_water"] == 1
    assert data[world.huining_village.code]["all"]["unmet_housing"] == 1
    september = compute_month(region(BAIYIN), date(2026, 9, 1))["regions"]
    assert september.get(BAIYIN, {}).get("all", {}).get("guarantees_met", 0) == 0
    december = compute_month(region(BAIYIN), date(2026, 12, 1))["regions"][BAIYIN]["all"]
    assert (december["unmet_housing"], december["unmet_water"]) == (0, 2)
    # Per household: not in the categories' or donors' tallies.
    assert "guarantees_met" not in _category_columns()


def _category_columns() -> list[str]:
    from marketplace.reports.exports import CATEGORY_COLUMNS

    return CATEGORY_COLUMNS


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_check_keeps_a_photo_shown_to_who_may_see_the_household(
    client: Any, db: Any, login: Any, plan_world: World, make_user: Any, region: Any
) -> None:
    """A photo goes with a guarantee's check (optional, one per guarantee checked); the
    household page and the plan show it to its village's staff and its region's
    administrators, each view audited; auditors (who see the household masked) and anyone
    outside the region never get it."""
    from io import BytesIO

    from marketplace.attachments.models import Attachment
    from marketplace.audit.models import AuditEvent

    household = plan_world.household
    login(plan_world.staff)
    page = f"/plans/{household.id}/guarantees"
    html = client.get(page).data.decode()
    form = find_form(html, page=page)
    assert form.enctype == "multipart/form-data" and "housing_photo" in form.names
    data = form.data(housing_met="unmet", housing_evidence="土坯房墙体开裂",
                     food_met="met", food_evidence="存粮充足")  # fmt: skip
    data["housing_photo"] = (BytesIO(PNG), "house.png")
    done = client.post(page, data=data, content_type="multipart/form-data")
    assert done.status_code == 302, done.data.decode()[:2000]
    check = db.session.scalar(
        sa.select(GuaranteeCheck).where(GuaranteeCheck.guarantee == Guarantee.HOUSING)
    )
    photo = db.session.scalar(sa.select(Attachment))  # fmt: skip
    assert photo.owner_type == services.EVIDENCE_PHOTO and photo.owner_id == check.id
    assert photo.purpose == "evidence"
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "guarantees_checked")
    )
    assert event.after["photos"] == ["housing"]  # fmt: skip
    address = f"/plans/evidence/{photo.id}"
    shown_to = {}
    for who in ("staff", "admin", "auditor", "other_staff"):
        client.post("/logout")
        login(getattr(plan_world, who))
        shown_to[who] = address in client.get(f"/households/{household.id}").data.decode()
        with client.get(address) as answer:
            assert answer.status_code == {"staff": 200, "admin": 200, "auditor": 403,
                                          "other_staff": 404}[who], who  # fmt: skip
            if answer.status_code == 200:
                assert answer.data == PNG
    assert shown_to == {"staff": True, "admin": True, "auditor": False, "other_staff": False}
    client.post("/logout")
    login(plan_world.staff)
    assert address in client.get(f"/plans/{household.id}").data.decode()
    assert address not in client.get(f"/plans/{household.id}?copy=board").data.decode()
    db.session.commit()
    viewed = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "personal_data_viewed")).all()  # fmt: skip
    assert sum(1 for e in viewed if (e.after or {}).get("evidence_photos") == [photo.id]) == 2


def test_a_photo_needs_its_guarantee_checked_and_must_be_a_photo(
    client: Any, db: Any, login: Any, plan_world: World
) -> None:
    from io import BytesIO

    from marketplace.attachments.models import Attachment

    household = plan_world.household
    login(plan_world.staff)
    page = f"/plans/{household.id}/guarantees"
    form = find_form(client.get(page).data.decode(), page=page)
    data = form.data(food_met="met", food_evidence="存粮充足")
    data["water_photo"] = (BytesIO(PNG), "water.png")  # water not checked
    refused = client.post(page, data=data, content_type="multipart/form-data")
    html = refused.data.decode()
    assert refused.status_code == 400 and "照片随该项核查保存" in html and "存粮充足" in html
    data = form.data(food_met="met", food_evidence="存粮充足")
    data["food_photo"] = (BytesIO(b"not an image at all"), "x.png")
    refused = client.post(page, data=data, content_type="multipart/form-data")
    assert refused.status_code == 400 and "存粮充足" in refused.data.decode()
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(GuaranteeCheck.id))) == 0
