"""The API's household answer carries the household's plan (一户一策): its goal, its measures
with their responsible cadre (the phone masked unless the reader may see personal data) and the
needs posted from them, each guarantee's latest check, and whether it is at risk; the list
answer works the plans out at once, not a query per household."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import Role, TokenScope
from marketplace.accounts.services import create_token
from marketplace.extensions import db as _db
from marketplace.plans import services as plans
from marketplace.plans.models import Guarantee
from marketplace.privacy import mask_phone
from marketplace.timefmt import beijing_today
from marketplace.vocab import HouseholdStatus
from tests.conftest import World
from tests.marketplace.plans.conftest import add_measure, check_all

PLAN_KEYS = {"goal", "target_year", "measures", "guarantees", "at_risk"}
MEASURE_KEYS = {"id", "cause", "category", "title", "target", "due_on", "status",
                "responsible", "needs"}  # fmt: skip


def headers(db: Any, user: Any) -> dict[str, str]:
    _token, plain = create_token(user, "plan", scope=TokenScope.READ)
    db.session.commit()
    return {"Authorization": f"Bearer {plain}"}


def test_the_plan_in_the_household_answer_masked_by_the_reader(
    client: Any, db: Any, world: World, make_need: Any, make_user: Any
) -> None:
    household = world.household
    world.staff.phone = "13800001234"
    db.session.commit()
    plans.update_plan(world.staff, household, "两年内稳定增收", 2027)
    measure = add_measure(db, household, world.staff)
    need = make_need(world.village, household, measure_id=measure.id)
    check_all(db, household, world.staff, unmet=(Guarantee.HOUSING,))
    readers = {"staff": world.staff, "admin": world.admin, "auditor": world.auditor,
               "superuser": make_user(Role.SUPERUSER, username="root")}  # fmt: skip
    for name, user in readers.items():
        answer = client.get(f"/api/v1/households/{household.id}", headers=headers(db, user))
        assert answer.status_code == 200, name
        plan = answer.get_json()["plan"]
        assert set(plan) == PLAN_KEYS
        assert plan["goal"] == "两年内稳定增收" and plan["target_year"] == 2027
        (shown,) = plan["measures"]
        assert set(shown) == MEASURE_KEYS
        assert shown["id"] == measure.id and shown["cause"] == "illness"
        assert shown["category"] == "medical.insurance" and shown["status"] == "planned"
        assert shown["due_on"] == measure.due_on.isoformat() and shown["needs"] == [need.id]
        assert shown["responsible"]["name"] == world.staff.display_name
        # The cadre's phone as the household's own: in full only to readers of personal data.
        expected = "13800001234" if name != "auditor" else mask_phone("13800001234")
        assert shown["responsible"]["phone"] == expected, name
        if name == "auditor":
            assert "13800001234" not in answer.get_data(as_text=True)
        checks = {c["guarantee"]: c for c in plan["guarantees"]}
        assert list(checks) == [g.value for g in Guarantee]
        assert checks["housing"]["met"] is False and checks["food"]["met"] is True
        assert checks["water"]["checked_on"] == beijing_today().isoformat()
        assert plan["at_risk"] is False


def test_a_household_without_a_plan_and_one_at_risk(
    client: Any, db: Any, world: World, make_household: Any
) -> None:
    exited = make_household(world.village, status=HouseholdStatus.EXITED,
                            income_per_capita=Decimal("1000"))  # fmt: skip
    auth = headers(db, world.staff)
    blank = client.get(f"/api/v1/households/{world.household.id}", headers=auth).get_json()
    assert blank["plan"] == {
        "goal": "", "target_year": None, "measures": [], "at_risk": False,
        "guarantees": [{"guarantee": g.value, "met": None, "checked_on": None}
                       for g in Guarantee],
    }  # fmt: skip
    risky = client.get(f"/api/v1/households/{exited.id}", headers=auth).get_json()
    assert risky["plan"]["at_risk"] is True  # out of poverty, income below the line


def _statements(client: Any, path: str, auth: dict[str, str]) -> tuple[int, Any]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    engine = _db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(path, headers=auth)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen), answer


def test_the_list_works_the_plans_out_at_once(
    client: Any, db: Any, world: World, make_household: Any
) -> None:
    auth = headers(db, world.staff)
    add_measure(db, world.household, world.staff)
    few, answer = _statements(client, "/api/v1/households", auth)
    assert answer.status_code == 200
    for n in range(4):
        household = make_household(world.village)
        add_measure(db, household, world.staff, title=f"技能培训{n}", cause="illness")
        check_all(db, household, world.staff)
    more, answer = _statements(client, "/api/v1/households", auth)
    listed = answer.get_json()
    assert len(listed) >= 5 and all(len(h["plan"]["measures"]) == 1 for h in listed)
    assert more == few  # the same statements for five households as for one
